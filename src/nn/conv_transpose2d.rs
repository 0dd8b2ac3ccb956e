//! 2-D transposed convolution, PyTorch's `ConvTranspose2d` without dilation or groups
//! (s = stride, p = padding, op = output_padding); the input-gradient of a Conv2d, run forward:
//!   x: (N, Cin, H, W)  weight: (Cin, Cout, K, K)  bias: (Cout)  y: (N, Cout, Ho, Wo)
//!   y[n, co, ih·s − p + kh, iw·s − p + kw] += x[n,ci,ih,iw] · weight[ci,co,kh,kw], plus bias[co]
//!   Ho = (H − 1)·s − 2p + K + op
//! Conv2d's passes with the sides swapped (src/gpu/conv_gemm.rs): its forward is Conv2d's input
//! gradient and its input gradient Conv2d's forward. f64 twin in src/cpu/conv.rs.

use crate::cpu::random::InitRng;
use crate::error::{Error, Result};
use crate::gpu::arena::{Arena, ArenaBuilder, Slot};
use crate::gpu::conv_gemm::{self, ConvGeometry};
use crate::gpu::step::Step;
use crate::gpu::tensor::{expect_shape, Tensor};
use crate::nn::conv2d::check_geometry;
use crate::nn::init::{self, Init};
use crate::nn::linear::bias_grad;

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

    /// The convolution's two sides for input shape `x` and output shape `y` (both checked):
    /// y is the big side, x the small one, and the weight (Cin, Cout, K, K) is (Cs, Cb, K, K).
    fn geometry(&self, x: &[usize], y: &[usize]) -> ConvGeometry {
        ConvGeometry {
            n: x[0],
            cb: self.c_out,
            h: y[2],
            w: y[3],
            cs: self.c_in,
            ho: x[2],
            wo: x[3],
            k: self.k,
            stride: self.stride,
            pad: self.pad,
        }
    }

    /// y = conv_transpose(x, weight) + bias.   x: (N, Cin, H, W)  y: (N, Cout, Ho, Wo)
    pub fn forward(&self, s: &mut Step, p: &Arena, y: &Tensor, x: &Tensor) -> Result<()> {
        let shape = self.out_shape(&x.shape)?;
        expect_shape(&format!("{} output", self.describe()), y, &shape)?;
        let g = self.geometry(&x.shape, &shape);
        conv_gemm::spread(s, &g, y, x, &p.params, self.w.offset, Some(self.b.offset))
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
        let g = self.geometry(&x.shape, &shape);
        let grads = (!frozen).then_some(&p.grads);
        conv_gemm::backward_to_small(s, &g, &p.params, grads, self.w.offset, dx, x, dy)?;
        if !frozen {
            bias_grad(s, &p.grads, self.b.offset, dy, shape[0], self.c_out, shape[2] * shape[3])?;
        }
        Ok(())
    }
}
