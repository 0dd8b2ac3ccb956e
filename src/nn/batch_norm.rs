//! Batch normalisation, like torch's BatchNorm1d over (N, C) and BatchNorm2d over (N, C, H, W).
//!   x̂ = (x − mean[c])·rstd[c],  y = γ[c]·x̂ + β[c],  rstd = 1/√(var + eps)
//! Training uses the batch's statistics (biased variance) and updates the running ones like
//! PyTorch; evaluation uses the running statistics. Kernels in wgsl/batch_norm.wgsl.

use crate::cpu::random::InitRng;
use crate::error::{Error, Result};
use crate::gpu::arena::{Arena, ArenaBuilder, Slot};
use crate::gpu::kernels::{grid_1d, serial_reduce, Kernel, MAX_GROUPS, WG};
use crate::gpu::step::Step;
use crate::gpu::tensor::{expect_shape, numel_bytes, Tensor};
use crate::gpu::Gpu;
use crate::io::float_text::FloatText;
use crate::nn::activation::Act;
use crate::nn::init::{self, Init};

/// Mirrors `BatchNormParams` in wgsl/batch_norm.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct BatchNormParams {
    pub c: u32,
    pub inner: u32,
    pub count: u32,
    pub n: u32,
    pub gamma_off: u32,
    pub beta_off: u32,
    pub mean_off: u32,
    pub var_off: u32,
    pub eps: f32,
    pub momentum: f32,
    pub train: u32,
    pub frozen: u32,
    /// 0, or the fused activation's `Act::kind` + 1 (forward only)
    pub act: u32,
    pub act_slope: f32,
    pub _pad: [u32; 2],
}

#[derive(Clone, Debug)]
pub struct BatchNorm {
    pub gamma: Slot,
    pub beta: Slot,
    pub running_mean: Slot,
    pub running_var: Slot,
    pub c: usize,
    pub eps: f32,
    pub momentum: f32,
    /// (4, C): batch mean, rstd (written by a training forward), Σdy, Σdy·x̂ (by backward).
    /// One per layer, so a layer's backward must follow its own forward before the next forward.
    pub saved: Tensor,
}

impl BatchNorm {
    /// Registers `{name}.weight` (γ) and `{name}.bias` (β) as parameters and
    /// `{name}.running_mean` (zeros), `{name}.running_var` (ones) as state.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        arena: &mut ArenaBuilder,
        gpu: &Gpu,
        name: &str,
        c: usize,
        eps: f32,
        momentum: f32,
        init: Init,
        rng: &mut InitRng,
    ) -> Result<BatchNorm> {
        if c == 0 {
            return Err(Error::Param(format!("{name}: BatchNorm({c}) needs a positive channel count")));
        }
        if c > MAX_GROUPS as usize {
            // One workgroup per channel in the reductions.
            return Err(Error::Limit(format!("{name}: BatchNorm({c}) supports at most {MAX_GROUPS} channels")));
        }
        if !(eps > 0.0 && eps.is_finite()) {
            return Err(Error::Param(format!("{name}: BatchNorm({c}) needs eps > 0, got {}", FloatText(eps))));
        }
        if !(0.0..=1.0).contains(&momentum) {
            return Err(Error::Param(format!(
                "{name}: BatchNorm({c}) needs momentum in [0, 1], got {}",
                FloatText(momentum)
            )));
        }
        let (g, b) = init::batch_norm(init, rng, c);
        let gamma = arena.param(&format!("{name}.weight"), &[c], g);
        let beta = arena.param(&format!("{name}.bias"), &[c], b);
        let running_mean = arena.state(&format!("{name}.running_mean"), &[c], vec![0.0; c]);
        let running_var = arena.state(&format!("{name}.running_var"), &[c], vec![1.0; c]);
        let saved = Tensor::zeros(gpu, &[4, c])?;
        Ok(BatchNorm { gamma, beta, running_mean, running_var, c, eps, momentum, saved })
    }

    /// Same shape; x must be (N, C) or (N, C, H, W).
    pub fn out_shape(&self, x: &[usize]) -> Result<Vec<usize>> {
        let ok = match x {
            [n, c] | [n, c, _, _] => *c == self.c && *n > 0 && x.iter().all(|&d| d > 0),
            _ => false,
        };
        if !ok {
            return Err(Error::Shape(format!(
                "BatchNorm({c}) expects input (N, {c}) or (N, {c}, H, W), got {x:?}",
                c = self.c
            )));
        }
        numel_bytes(x)?;
        Ok(x.to_vec())
    }

    fn params(&self, x: &[usize], train: bool, frozen: bool) -> BatchNormParams {
        let inner: usize = x[2..].iter().product();
        BatchNormParams {
            c: self.c as u32,
            inner: inner as u32,
            count: (x[0] * inner) as u32,
            n: (x[0] * self.c * inner) as u32,
            gamma_off: self.gamma.offset,
            beta_off: self.beta.offset,
            mean_off: self.running_mean.offset,
            var_off: self.running_var.offset,
            eps: self.eps,
            momentum: self.momentum,
            train: train as u32,
            frozen: frozen as u32,
            act: 0,
            act_slope: 0.0,
            _pad: [0; 2],
        }
    }

    /// Elementwise kernels handle 4 elements per invocation (four strided scalars, or one vec4).
    fn elementwise_groups(n: u32) -> [u32; 3] {
        grid_1d((n as u64).div_ceil(4), WG)
    }

    /// y = γ·x̂ + β.   x, y: (N, C) or (N, C, H, W)
    /// train: batch statistics, saved for backward, and the running statistics updated with
    /// momentum (unbiased variance); otherwise the running statistics.
    pub fn forward(&self, s: &mut Step, p: &Arena, y: &Tensor, x: &Tensor, train: bool) -> Result<()> {
        self.forward_with_act(s, p, y, x, train, None)
    }

    /// y = act(γ·x̂ + β): the activation that follows in place, applied as y is written, so it
    /// costs no dispatch of its own. Backward is unchanged (it reads x); the activation's
    /// backward takes f' from y.
    pub fn forward_with_act(
        &self,
        s: &mut Step,
        p: &Arena,
        y: &Tensor,
        x: &Tensor,
        train: bool,
        act: Option<Act>,
    ) -> Result<()> {
        let shape = self.out_shape(&x.shape)?;
        expect_shape("BatchNorm output", y, &shape)?;
        let mut bp = self.params(&shape, train, false);
        if let Some(a) = act {
            bp.act = a.kind() + 1;
            bp.act_slope = a.slope();
        }
        if train {
            if bp.count < 2 {
                return Err(Error::Shape(format!(
                    "BatchNorm({}) in training needs more than 1 value per channel (as PyTorch), got input {:?}",
                    self.c, x.shape
                )));
            }
            if serial_reduce(s.gpu.variant(), bp.count) {
                let bufs = [&self.saved.buf, &p.state, &x.buf, &y.buf, &p.params];
                return s.dispatch(Kernel::BatchNormFwdSerial, &bp, &bufs, grid_1d(bp.c as u64, WG));
            }
            s.dispatch(Kernel::BatchNormStats, &bp, &[&self.saved.buf, &p.state, &x.buf], [bp.c, 1, 1])?;
        }
        let bufs = [&y.buf, &p.params, &x.buf, &p.state, &self.saved.buf];
        let kernel = if bp.inner.is_multiple_of(4) { Kernel::BatchNormFwd4 } else { Kernel::BatchNormFwd };
        s.dispatch(kernel, &bp, &bufs, Self::elementwise_groups(bp.n))
    }

    /// Training-mode backward with the statistics saved by the last forward(train = true) on x.
    /// Overwrites dx = γ·rstd·(dy − mean(dy) − x̂·mean(dy·x̂)) if asked; accumulates
    /// dγ += Σ dy·x̂, dβ += Σ dy unless `frozen`.   dy, x, dx: the forward's shape
    pub fn backward(
        &self,
        s: &mut Step,
        p: &Arena,
        dx: Option<&Tensor>,
        dy: &Tensor,
        x: &Tensor,
        frozen: bool,
    ) -> Result<()> {
        let shape = self.out_shape(&x.shape)?;
        expect_shape("BatchNorm output gradient", dy, &shape)?;
        if let Some(dx) = dx {
            expect_shape("BatchNorm input gradient", dx, &shape)?;
        } else if frozen {
            return Ok(());
        }
        let bp = self.params(&shape, true, frozen);
        // The per-channel sums are needed by dx even when frozen.
        let bufs = [&self.saved.buf, &p.grads, &x.buf, &dy.buf];
        if serial_reduce(s.gpu.variant(), bp.count) {
            let groups = grid_1d(bp.c as u64, WG);
            return match dx {
                Some(dx) => {
                    let bufs = [&self.saved.buf, &p.grads, &x.buf, &dy.buf, &dx.buf, &p.params];
                    s.dispatch(Kernel::BatchNormBwdSerial, &bp, &bufs, groups)
                }
                None => s.dispatch(Kernel::BatchNormBwdWSerial, &bp, &bufs, groups),
            };
        }
        s.dispatch(Kernel::BatchNormBwdW, &bp, &bufs, [bp.c, 1, 1])?;
        if let Some(dx) = dx {
            let bufs = [&dx.buf, &p.params, &x.buf, &dy.buf, &self.saved.buf];
            let kernel = if bp.inner.is_multiple_of(4) { Kernel::BatchNormBwdX4 } else { Kernel::BatchNormBwdX };
            s.dispatch(kernel, &bp, &bufs, Self::elementwise_groups(bp.n))?;
        }
        Ok(())
    }
}
