//! The parameter arena: every trainable tensor of a model lives in one `params` buffer, with its
//! gradient, Adam first and second moments at the same offset in `grads`, `m` and `v`.
//! Non-trained state (BatchNorm running statistics) lives in `state`. A small `clock` buffer
//! holds per-model counters (slot 0: optimiser steps taken), read by the RNG and Adam kernels, so a
//! recorded plan can be replayed with no host-side updates.

use crate::error::{Error, Result};
use crate::gpu::Gpu;

/// Where one tensor lives in an arena buffer, in f32 elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    pub offset: u32,
    pub len: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Trained: has a gradient and Adam moments.
    Param,
    /// Saved with the model, not trained (running mean/var).
    State,
}

#[derive(Clone, Debug)]
pub struct Entry {
    /// PyTorch `state_dict` name, e.g. `generator.0.weight`.
    pub name: String,
    pub shape: Vec<usize>,
    pub kind: Kind,
    pub slot: Slot,
}

/// Collects tensors while a model is built; `build` allocates the GPU buffers.
#[derive(Default)]
pub struct ArenaBuilder {
    pub entries: Vec<Entry>,
    params: Vec<f32>,
    state: Vec<f32>,
}

/// Slots start at multiples of 4 floats so kernels may load them as vec4.
fn pad4(v: &mut Vec<f32>) {
    while !v.len().is_multiple_of(4) {
        v.push(0.0);
    }
}

impl ArenaBuilder {
    pub fn new() -> ArenaBuilder {
        ArenaBuilder::default()
    }

    pub fn param(&mut self, name: &str, shape: &[usize], init: Vec<f32>) -> Slot {
        self.push(name, shape, init, Kind::Param)
    }

    pub fn state(&mut self, name: &str, shape: &[usize], init: Vec<f32>) -> Slot {
        self.push(name, shape, init, Kind::State)
    }

    fn push(&mut self, name: &str, shape: &[usize], init: Vec<f32>, kind: Kind) -> Slot {
        debug_assert_eq!(init.len(), shape.iter().product::<usize>(), "{name}");
        let store = match kind {
            Kind::Param => &mut self.params,
            Kind::State => &mut self.state,
        };
        let slot = Slot { offset: store.len() as u32, len: init.len() as u32 };
        store.extend_from_slice(&init);
        pad4(store);
        self.entries.push(Entry { name: name.to_string(), shape: shape.to_vec(), kind, slot });
        slot
    }

    pub fn build(self, gpu: &Gpu) -> Result<Arena> {
        let bytes = (self.params.len() * 4) as u64;
        Ok(Arena {
            params: gpu.storage_init("params", bytemuck::cast_slice(&self.params))?,
            grads: gpu.storage("grads", bytes)?,
            m: gpu.storage("adam_m", bytes)?,
            v: gpu.storage("adam_v", bytes)?,
            state: gpu.storage_init("state", bytemuck::cast_slice(&self.state))?,
            clock: gpu.storage("clock", (CLOCK_SLOTS * 4) as u64)?,
            params_len: self.params.len(),
            state_len: self.state.len(),
            entries: self.entries,
        })
    }
}

pub const CLOCK_SLOTS: usize = 4;

pub struct Arena {
    pub params: wgpu::Buffer,
    pub grads: wgpu::Buffer,
    pub m: wgpu::Buffer,
    pub v: wgpu::Buffer,
    pub state: wgpu::Buffer,
    pub clock: wgpu::Buffer,
    /// Floats in `params` (and `grads`, `m`, `v`), padding included.
    pub params_len: usize,
    pub state_len: usize,
    pub entries: Vec<Entry>,
}

impl Arena {
    pub fn entry(&self, name: &str) -> Result<&Entry> {
        self.entries
            .iter()
            .find(|e| e.name == name)
            .ok_or_else(|| Error::Param(format!("no tensor named '{name}' in this model")))
    }

    /// Number of trained scalars (padding excluded).
    pub fn param_count(&self) -> usize {
        self.entries.iter().filter(|e| e.kind == Kind::Param).map(|e| e.slot.len as usize).sum()
    }

    /// The buffer an entry lives in (and its gradient's buffer for parameters).
    pub fn buffer_of(&self, kind: Kind) -> &wgpu::Buffer {
        match kind {
            Kind::Param => &self.params,
            Kind::State => &self.state,
        }
    }

    /// Reads one tensor back by name.
    pub async fn read(&self, gpu: &Gpu, name: &str) -> Result<Vec<f32>> {
        let e = self.entry(name)?;
        let all = gpu.read_f32(self.buffer_of(e.kind), (e.slot.offset + e.slot.len) as usize).await?;
        Ok(all[e.slot.offset as usize..].to_vec())
    }

    /// Reads one tensor's gradient back by name.
    pub async fn read_grad(&self, gpu: &Gpu, name: &str) -> Result<Vec<f32>> {
        let e = self.entry(name)?;
        if e.kind != Kind::Param {
            return Err(Error::Param(format!("'{name}' is not trained and has no gradient")));
        }
        let all = gpu.read_f32(&self.grads, (e.slot.offset + e.slot.len) as usize).await?;
        Ok(all[e.slot.offset as usize..].to_vec())
    }

    /// Overwrites one tensor by name (checkpoint loading, tests).
    pub fn write(&self, gpu: &Gpu, name: &str, data: &[f32]) -> Result<()> {
        let e = self.entry(name)?;
        if data.len() != e.slot.len as usize {
            return Err(Error::Shape(format!(
                "'{name}' has shape {:?} ({} values) but {} values were given",
                e.shape,
                e.slot.len,
                data.len()
            )));
        }
        gpu.queue.write_buffer(self.buffer_of(e.kind), e.slot.offset as u64 * 4, bytemuck::cast_slice(data));
        Ok(())
    }

    /// Frees the gradient and optimiser buffers of an arena that is never trained (a generator
    /// EMA, a sampler): each becomes one vec4, so binding it still works but it holds nothing.
    pub fn drop_training_state(&mut self, gpu: &Gpu) -> Result<()> {
        self.grads = gpu.storage("grads (untrained)", 16)?;
        self.m = gpu.storage("adam_m (untrained)", 16)?;
        self.v = gpu.storage("adam_v (untrained)", 16)?;
        Ok(())
    }

    /// Sets the clock counters (resuming a run).
    pub fn write_clock(&self, gpu: &Gpu, values: [u32; CLOCK_SLOTS]) {
        gpu.queue.write_buffer(&self.clock, 0, bytemuck::cast_slice(&values));
    }

    pub async fn read_clock(&self, gpu: &Gpu) -> Result<[u32; CLOCK_SLOTS]> {
        let bytes = gpu.read_bytes(&self.clock, (CLOCK_SLOTS * 4) as u64).await?;
        let mut out = [0u32; CLOCK_SLOTS];
        out.copy_from_slice(bytemuck::cast_slice(&bytes));
        Ok(out)
    }
}
