//! 2-D transposed convolution, PyTorch's `ConvTranspose2d` without dilation or groups
//! (s = stride, p = padding, op = output_padding); the input-gradient of a Conv2d, run forward:
//!   x: (N, Cin, H, W)  weight: (Cin, Cout, K, K)  bias: (Cout)  y: (N, Cout, Ho, Wo)
//!   y[n, co, ih·s − p + kh, iw·s − p + kw] += x[n,ci,ih,iw] · weight[ci,co,kh,kw], plus bias[co]
//!   Ho = (H − 1)·s − 2p + K + op
//! Kernels in wgsl/conv_transpose2d.wgsl, f64 twin in src/cpu/conv.rs.

use crate::arena::{Arena, ArenaBuilder, Slot};
use crate::conv2d::{check_geometry, grid, BLOCK};
use crate::cpu::random::InitRng;
use crate::error::{Error, Result};
use crate::init::{self, Init};
use crate::kernels::{grid_1d, Kernel};
use crate::linear::bias_grad;
use crate::step::Step;
use crate::tensor::{expect_shape, Tensor};

/// Mirrors `ConvTranspose2dParams` in wgsl/conv_transpose2d.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ConvTranspose2dParams {
    pub n: u32,
    pub c_in: u32,
    pub h: u32,
    pub w: u32,
    pub c_out: u32,
    pub ho: u32,
    pub wo: u32,
    pub k: u32,
    pub stride: u32,
    pub pad: u32,
    pub w_off: u32,
    pub b_off: u32,
}

/// Ho of a transposed convolution over `len` ≥ 1 pixels, or None when it would be empty.
fn out_len(len: usize, k: usize, stride: usize, pad: usize, output_pad: usize) -> Option<usize> {
    let full = (len - 1).checked_mul(stride)?.checked_add(k + output_pad)?;
    full.checked_sub(2 * pad).filter(|&o| o >= 1)
}

#[derive(Clone, Debug)]
pub struct ConvTranspose2d {
    pub w: Slot,
    pub b: Slot,
    pub c_in: usize,
    pub c_out: usize,
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
    pub output_pad: usize,
}

impl ConvTranspose2d {
    /// Registers `{name}.weight` (Cin, Cout, K, K) and `{name}.bias` (Cout) in the arena.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        arena: &mut ArenaBuilder,
        name: &str,
        c_in: usize,
        c_out: usize,
        k: usize,
        stride: usize,
        pad: usize,
        output_pad: usize,
        init: Init,
        rng: &mut InitRng,
    ) -> Result<ConvTranspose2d> {
        let layer = format!("{name}: ConvTranspose2d({c_in}→{c_out}, k{k} s{stride} p{pad} op{output_pad})");
        check_geometry(&layer, c_in, c_out, k, stride, pad)?;
        // PyTorch's rule (with dilation 1): output padding must be smaller than the stride.
        if output_pad >= stride {
            return Err(Error::Param(format!("{layer}: output padding must be smaller than the stride")));
        }
        // PyTorch computes fan_in from the weight's dimension 1, which here is Cout.
        let (w, b) = init::weight_and_bias(init, rng, c_in * c_out * k * k, c_out, c_out * k * k);
        let w = arena.param(&format!("{name}.weight"), &[c_in, c_out, k, k], w);
        let b = arena.param(&format!("{name}.bias"), &[c_out], b);
        Ok(ConvTranspose2d { w, b, c_in, c_out, k, stride, pad, output_pad })
    }

    /// `ConvTranspose2d(128→64, k4 s2 p1 op0)`, for messages.
    pub fn describe(&self) -> String {
        format!(
            "ConvTranspose2d({}→{}, k{} s{} p{} op{})",
            self.c_in, self.c_out, self.k, self.stride, self.pad, self.output_pad
        )
    }

    pub fn out_shape(&self, x: &[usize]) -> Result<Vec<usize>> {
        let &[n, c, h, w] = x else {
            return Err(Error::Shape(format!("{} expects input (N, {}, H, W), got {x:?}", self.describe(), self.c_in)));
        };
        if c != self.c_in || h == 0 || w == 0 {
            return Err(Error::Shape(format!("{} expects input (N, {}, H, W), got {x:?}", self.describe(), self.c_in)));
        }
        let out = |len| out_len(len, self.k, self.stride, self.pad, self.output_pad);
        match (out(h), out(w)) {
            (Some(ho), Some(wo)) => Ok(vec![n, self.c_out, ho, wo]),
            _ => Err(Error::Param(format!(
                "{}: input {h}×{w} gives an empty output; (H − 1)·{} + {} + {} must exceed 2·{}",
                self.describe(),
                self.stride,
                self.k,
                self.output_pad,
                self.pad
            ))),
        }
    }

    /// The uniform for input shape `x` and output shape `y` (both already checked).
    fn params(&self, x: &[usize], y: &[usize]) -> ConvTranspose2dParams {
        ConvTranspose2dParams {
            n: x[0] as u32,
            c_in: self.c_in as u32,
            h: x[2] as u32,
            w: x[3] as u32,
            c_out: self.c_out as u32,
            ho: y[2] as u32,
            wo: y[3] as u32,
            k: self.k as u32,
            stride: self.stride as u32,
            pad: self.pad as u32,
            w_off: self.w.offset,
            b_off: self.b.offset,
        }
    }

    /// y = conv_transpose(x, weight) + bias.   x: (N, Cin, H, W)  y: (N, Cout, Ho, Wo)
    pub fn forward(&self, s: &mut Step, p: &Arena, y: &Tensor, x: &Tensor) -> Result<()> {
        let shape = self.out_shape(&x.shape)?;
        expect_shape(&format!("{} output", self.describe()), y, &shape)?;
        let g = self.params(&x.shape, &shape);
        let (n, ho, wo, stride) = (g.n as u64, g.ho as u64, g.wo as u64, g.stride as u64);
        // Each output row's columns split into `stride` residue classes of BLOCK-column blocks.
        let cols = stride * wo.div_ceil(stride).div_ceil(BLOCK);
        let invocations = n * (self.c_out as u64).div_ceil(BLOCK) * ho * cols;
        let groups = grid(Kernel::ConvTranspose2dFwd, invocations)?;
        s.dispatch(Kernel::ConvTranspose2dFwd, &g, &[&y.buf, &x.buf, &p.params], groups)
    }

    /// Overwrites dx (if asked); accumulates dW and db into `p.grads` unless `frozen`.
    ///   dy: (N, Cout, Ho, Wo)  x, dx: (N, Cin, H, W)
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
        expect_shape(&format!("{} output gradient", self.describe()), dy, &shape)?;
        if let Some(dx) = dx {
            expect_shape(&format!("{} input gradient", self.describe()), dx, &x.shape)?;
        }
        let g = self.params(&x.shape, &shape);
        let (n, h, w) = (g.n as u64, g.h as u64, g.w as u64);
        let (c_in, c_out) = (self.c_in as u64, self.c_out as u64);
        if let Some(dx) = dx {
            let invocations = n * c_in.div_ceil(BLOCK) * h * w.div_ceil(BLOCK);
            let groups = grid(Kernel::ConvTranspose2dBwdX, invocations)?;
            s.dispatch(Kernel::ConvTranspose2dBwdX, &g, &[&dx.buf, &dy.buf, &p.params], groups)?;
        }
        if !frozen {
            // One workgroup per (BLOCK × BLOCK channel pairs, tap).
            let groups = c_in.div_ceil(BLOCK) * c_out.div_ceil(BLOCK) * (self.k * self.k) as u64;
            s.dispatch(Kernel::ConvTranspose2dBwdW, &g, &[&p.grads, &x.buf, &dy.buf], grid_1d(groups, 1))?;
            bias_grad(s, &p.grads, self.b.offset, dy, shape[0], self.c_out, shape[2] * shape[3])?;
        }
        Ok(())
    }
}
