//! Dropout and Dropout2d, inverted as in PyTorch: in training each value (Dropout) or each whole
//! (n, c) channel of an (N, C, H, W) input (Dropout2d) is zeroed with probability p and the rest
//! are scaled by 1/(1−p); in eval mode y = x.   x, y, mask: same shape.
//! The mask is drawn on the GPU from (seed, stream, clock[0] of the arena, pass), so a replayed
//! plan gets a new mask after every optimiser step; src/cpu/dropout.rs reproduces it exactly.

use crate::cpu::dropout::{scale, threshold};
use crate::cpu::random::split_seed;
use crate::error::{Error, Result};
use crate::gpu::arena::Arena;
use crate::gpu::kernels::{grid_1d, Kernel, WG};
use crate::gpu::step::Step;
use crate::gpu::tensor::{expect_shape, Tensor};
use crate::io::float_text::FloatText;

/// Mirrors `DropoutParams` in wgsl/dropout.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct DropoutParams {
    pub n: u32,
    pub group: u32,
    pub stream: u32,
    pub pass_id: u32,
    pub seed_lo: u32,
    pub seed_hi: u32,
    pub threshold: u32,
    pub scale: f32,
}

#[derive(Clone, Debug)]
pub struct Dropout {
    /// Probability of zeroing, 0 ≤ p < 1.
    pub p: f32,
    /// true: Dropout2d, one draw per (n, c) channel.
    pub spatial: bool,
    pub seed: u64,
    /// Separates this layer's draws from every other user of the same seed.
    pub stream: u32,
}

impl Dropout {
    pub fn new(p: f32, spatial: bool, seed: u64, stream: u32) -> Result<Dropout> {
        if !(0.0..1.0).contains(&p) {
            return Err(Error::Param(format!("Dropout probability must satisfy 0 ≤ p < 1, got {}", FloatText(p))));
        }
        Ok(Dropout { p, spatial, seed, stream })
    }

    fn name(&self) -> String {
        format!("{}(p={})", if self.spatial { "Dropout2d" } else { "Dropout" }, FloatText(self.p))
    }

    pub fn out_shape(&self, x: &[usize]) -> Result<Vec<usize>> {
        if self.spatial && x.len() != 4 {
            return Err(Error::Shape(format!("{} expects input (N, C, H, W), got {x:?}", self.name())));
        }
        Ok(x.to_vec())
    }

    /// Values sharing one draw: a whole H·W channel for Dropout2d, else one.
    fn group(&self, x: &[usize]) -> usize {
        if self.spatial {
            x[2] * x[3]
        } else {
            1
        }
    }

    /// y = x·mask with mask ∈ {0, 1/(1−p)} (written for backward); `pass` (0, 1, 2…) separates
    /// forward calls within one step. `train = false`: y = x, mask = 1.
    #[allow(clippy::too_many_arguments)]
    pub fn forward(
        &self,
        s: &mut Step,
        p: &Arena,
        y: &Tensor,
        mask: &Tensor,
        x: &Tensor,
        train: bool,
        pass: u32,
    ) -> Result<()> {
        let shape = self.out_shape(&x.shape)?;
        expect_shape(&format!("{} output", self.name()), y, &shape)?;
        expect_shape(&format!("{} mask", self.name()), mask, &shape)?;
        let [seed_lo, seed_hi] = split_seed(self.seed);
        let params = DropoutParams {
            n: x.len() as u32,
            group: self.group(&x.shape).max(1) as u32,
            stream: self.stream,
            pass_id: pass,
            seed_lo,
            seed_hi,
            threshold: if train { threshold(self.p) } else { 0 },
            scale: if train { scale(self.p) as f32 } else { 1.0 },
        };
        s.dispatch(Kernel::DropoutFwd, &params, &[&y.buf, &mask.buf, &x.buf, &p.clock], grid_1d(x.len() as u64, WG))
    }

    /// dx = dy·mask (overwrite).
    pub fn backward(&self, s: &mut Step, dx: &Tensor, dy: &Tensor, mask: &Tensor) -> Result<()> {
        let shape = self.out_shape(&dy.shape)?;
        expect_shape(&format!("{} input gradient", self.name()), dx, &shape)?;
        expect_shape(&format!("{} mask", self.name()), mask, &shape)?;
        let params = DropoutParams {
            n: dy.len() as u32,
            group: 1,
            stream: 0,
            pass_id: 0,
            seed_lo: 0,
            seed_hi: 0,
            threshold: 0,
            scale: 1.0,
        };
        s.dispatch(Kernel::DropoutBwdX, &params, &[&dx.buf, &dy.buf, &mask.buf], grid_1d(dy.len() as u64, WG))
    }
}
