//! Optimisers over a whole parameter arena (wgsl/adam.wgsl): Adam and SGD with momentum, as
//! torch.optim.Adam and torch.optim.SGD. Each `step` records a tick of the arena's clock[0]
//! (optimiser steps taken, also the step word of Dropout's masks) and then one update of every
//! parameter; the kernel reads t from clock[0], so a recorded plan can be replayed as is.
//! Moments live in `arena.m` (Adam m, SGD momentum buffer) and `arena.v`; twins in src/cpu/adam.rs.

use crate::error::{Error, Result};
use crate::gpu::arena::Arena;
use crate::gpu::kernels::{grid_1d, Kernel, WG};
use crate::gpu::random::tick;
use crate::gpu::step::Step;
use crate::io::float_text::FloatText;

/// Mirrors `AdamParams` in wgsl/adam.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct AdamParams {
    /// vec4s in the arena (params_len / 4; slots are padded to multiples of 4)
    pub n4: u32,
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub momentum: f32,
    /// Optimistic Adam's k (0: plain Adam).
    pub optimism: f32,
    pub _pad: u32,
}

fn check_lr(what: &str, lr: f32) -> Result<()> {
    if !(lr.is_finite() && lr > 0.0) {
        return Err(Error::Param(format!("{what}: learning rate must be finite and > 0, got {}", FloatText(lr))));
    }
    Ok(())
}

fn dispatch(s: &mut Step, kernel: Kernel, params: &AdamParams, buffers: &[&wgpu::Buffer]) -> Result<()> {
    s.dispatch(kernel, params, buffers, grid_1d(params.n4 as u64, WG))
}

fn vec4s(p: &Arena) -> u32 {
    // ArenaBuilder pads every slot to 4 floats, so this is exact.
    (p.params_len / 4) as u32
}

#[derive(Clone, Copy, Debug)]
pub struct Adam {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    /// k of optimistic Adam, p −= (1+k)·u_t − k·u_{t−1} with u_t Adam's step (0: plain Adam).
    /// It damps the rotation that simultaneous updates of two players fall into.
    pub optimism: f32,
}

/// The largest optimism `Adam::optimistic` accepts: past a few units the extrapolation swamps
/// the step itself.
pub const MAX_OPTIMISM: f32 = 10.0;

impl Adam {
    pub fn new(lr: f32, beta1: f32, beta2: f32, eps: f32) -> Result<Adam> {
        check_lr("Adam", lr)?;
        for (name, b) in [("beta1", beta1), ("beta2", beta2)] {
            if !(0.0..1.0).contains(&b) {
                return Err(Error::Param(format!("Adam: {name} must satisfy 0 ≤ {name} < 1, got {}", FloatText(b))));
            }
        }
        if !(eps.is_finite() && eps > 0.0) {
            return Err(Error::Param(format!("Adam: eps must be finite and > 0, got {}", FloatText(eps))));
        }
        Ok(Adam { lr, beta1, beta2, eps, optimism: 0.0 })
    }

    /// Optimistic Adam (Daskalakis et al., "Training GANs with Optimism", ICLR 2018) with
    /// optimism k: each step moves by (1+k)·u_t − k·u_{t−1}, u_t being plain Adam's step; the
    /// paper's form is k = 1. k = 0 is plain Adam.
    pub fn optimistic(self, k: f32) -> Result<Adam> {
        if !(0.0..=MAX_OPTIMISM).contains(&k) {
            // MAX_OPTIMISM written out: one float formatted, not two, in the size-bound wasm.
            return Err(Error::Param(format!("Adam: optimism must lie between 0 and 10, got {}", FloatText(k))));
        }
        Ok(Adam { optimism: k, ..self })
    }

    /// Records clock[0] += 1 (t), then m, v and every parameter's update for step t.
    pub fn step(&self, s: &mut Step, p: &Arena) -> Result<()> {
        tick(s, &p.clock, 0)?;
        let params = AdamParams {
            n4: vec4s(p),
            lr: self.lr,
            beta1: self.beta1,
            beta2: self.beta2,
            eps: self.eps,
            momentum: 0.0,
            optimism: self.optimism,
            _pad: 0,
        };
        if params.n4 == 0 {
            return Ok(());
        }
        dispatch(s, Kernel::AdamStep, &params, &[&p.params, &p.m, &p.v, &p.grads, &p.clock])
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Sgd {
    pub lr: f32,
    pub momentum: f32,
}

impl Sgd {
    pub fn new(lr: f32, momentum: f32) -> Result<Sgd> {
        check_lr("SGD", lr)?;
        if !(momentum.is_finite() && momentum >= 0.0) {
            return Err(Error::Param(format!("SGD: momentum must be finite and ≥ 0, got {}", FloatText(momentum))));
        }
        Ok(Sgd { lr, momentum })
    }

    /// Records clock[0] += 1, then buf = μ·buf + g (buf = g on the first step, as the buffer
    /// starts at zero) and p −= lr·buf.
    pub fn step(&self, s: &mut Step, p: &Arena) -> Result<()> {
        tick(s, &p.clock, 0)?;
        let params = AdamParams {
            n4: vec4s(p),
            lr: self.lr,
            beta1: 0.0,
            beta2: 0.0,
            eps: 0.0,
            momentum: self.momentum,
            optimism: 0.0,
            _pad: 0,
        };
        if params.n4 == 0 {
            return Ok(());
        }
        dispatch(s, Kernel::SgdStep, &params, &[&p.params, &p.m, &p.grads])
    }
}

/// An exponential moving average of a model's parameters (the generator EMA): after each step
/// of `source`, `ema = d·ema + (1−d)·source` with d = min(decay, (1+t)/(10+t)) at the source's
/// step t, so short runs are not dominated by the initial weights. Running statistics are not
/// averaged: statistics averaged alongside the weights fit neither, so the trainer recomputes
/// the average's own before it is used. `average` must be built like `source` (same layers, so
/// the same arena layout).
pub fn record_ema(s: &mut Step, average: &Arena, source: &Arena, decay: f32) -> Result<()> {
    if !(0.0..1.0).contains(&decay) {
        return Err(Error::Param(format!("EMA decay must satisfy 0 ≤ decay < 1, got {}", FloatText(decay))));
    }
    if (average.params_len, average.state_len) != (source.params_len, source.state_len) {
        return Err(Error::Shape("EMA: the average and its source are not the same model".into()));
    }
    let params = AdamParams {
        n4: vec4s(source),
        lr: 0.0,
        beta1: decay,
        beta2: 0.0,
        eps: 0.0,
        momentum: 0.0,
        optimism: 0.0,
        _pad: 0,
    };
    if params.n4 == 0 {
        return Ok(());
    }
    dispatch(s, Kernel::EmaUpdate, &params, &[&average.params, &source.params, &source.clock])
}

/// The optimiser a trainer steps each model with.
#[derive(Clone, Copy, Debug)]
pub enum Optimizer {
    Adam(Adam),
    Sgd(Sgd),
}

impl Optimizer {
    pub fn step(&self, s: &mut Step, p: &Arena) -> Result<()> {
        match self {
            Optimizer::Adam(a) => a.step(s, p),
            Optimizer::Sgd(o) => o.step(s, p),
        }
    }
}

/// Records zeroing every gradient of the arena.
pub fn zero_grad(s: &mut Step, p: &Arena) {
    s.clear(&p.grads);
}
