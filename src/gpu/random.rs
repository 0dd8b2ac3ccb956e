//! Random fills on the GPU (wgsl/random.wgsl): uniform and normal tensors from the counter-based
//! Philox generator, keyed by (seed, stream) with the step word read from a `clock` counter on the
//! GPU, so a recorded plan draws fresh numbers each time it is replayed after a `tick`.
//! Element i equals `cpu::random::draw(seed, stream, clock[slot], i)` mapped as in src/cpu/random.rs.

use crate::cpu::random::split_seed;
use crate::error::{Error, Result};
use crate::gpu::kernels::{grid_1d, Kernel, WG};
use crate::gpu::step::Step;
use crate::gpu::tensor::Tensor;
use crate::io::float_text::FloatText;

/// Mirrors `RandomParams` in wgsl/random.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct RandomParams {
    pub n: u32,
    pub stream: u32,
    pub seed_lo: u32,
    pub seed_hi: u32,
    pub slot: u32,
    pub _pad0: u32,
    /// uniform: lo; normal: mean
    pub a: f32,
    /// uniform: hi − lo; normal: std
    pub b: f32,
}

/// Checks `slot` names a u32 counter inside `clock`.
pub fn check_slot(clock: &wgpu::Buffer, slot: u32) -> Result<()> {
    let slots = clock.size() / 4;
    if slot as u64 >= slots {
        return Err(Error::Param(format!(
            "clock slot {slot} is out of range: the clock buffer holds {slots} counters"
        )));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn fill(
    s: &mut Step,
    kernel: Kernel,
    t: &Tensor,
    a: f32,
    b: f32,
    seed: u64,
    stream: u32,
    clock: &wgpu::Buffer,
    slot: u32,
) -> Result<()> {
    check_slot(clock, slot)?;
    let [seed_lo, seed_hi] = split_seed(seed);
    let p = RandomParams { n: t.len() as u32, stream, seed_lo, seed_hi, slot, _pad0: 0, a, b };
    s.dispatch(kernel, &p, &[&t.buf, clock], grid_1d(t.len() as u64, WG))
}

/// Records t = lo + (hi−lo)·U(0,1) elementwise, from (seed, stream, clock[slot]).
#[allow(clippy::too_many_arguments)]
pub fn fill_uniform(
    s: &mut Step,
    t: &Tensor,
    lo: f32,
    hi: f32,
    seed: u64,
    stream: u32,
    clock: &wgpu::Buffer,
    slot: u32,
) -> Result<()> {
    if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
        return Err(Error::Param(format!(
            "uniform fill needs finite lo ≤ hi, got lo {}, hi {}",
            FloatText(lo),
            FloatText(hi)
        )));
    }
    fill(s, Kernel::RandomUniform, t, lo, hi - lo, seed, stream, clock, slot)
}

/// Records t = mean + std·N(0,1) elementwise, from (seed, stream, clock[slot]).
#[allow(clippy::too_many_arguments)]
pub fn fill_normal(
    s: &mut Step,
    t: &Tensor,
    mean: f32,
    std: f32,
    seed: u64,
    stream: u32,
    clock: &wgpu::Buffer,
    slot: u32,
) -> Result<()> {
    if !(mean.is_finite() && std.is_finite() && std >= 0.0) {
        return Err(Error::Param(format!(
            "normal fill needs a finite mean and a finite std ≥ 0, got mean {}, std {}",
            FloatText(mean),
            FloatText(std)
        )));
    }
    fill(s, Kernel::RandomNormal, t, mean, std, seed, stream, clock, slot)
}

/// Records clock[slot] += 1.
pub fn tick(s: &mut Step, clock: &wgpu::Buffer, slot: u32) -> Result<()> {
    check_slot(clock, slot)?;
    let p = RandomParams { n: 1, stream: 0, seed_lo: 0, seed_hi: 0, slot, _pad0: 0, a: 0.0, b: 0.0 };
    s.dispatch(Kernel::ClockTick, &p, &[clock], [1, 1, 1])
}
