//! 2-D convolution, PyTorch's `Conv2d` without dilation or groups (s = stride, p = padding):
//!   x: (N, Cin, H, W)  weight: (Cout, Cin, K, K)  bias: (Cout)  y: (N, Cout, Ho, Wo)
//!   y[n,co,oh,ow] = bias[co] + Σ_{ci,kh,kw} x[n, ci, oh·s − p + kh, ow·s − p + kw] · weight[co,ci,kh,kw]
//!   Ho = (H + 2p − K) / s + 1
//! Runs as GEMMs over im2col columns (src/gpu/conv_gemm.rs); f64 twin in src/cpu/conv.rs.

use crate::cpu::random::InitRng;
use crate::error::{Error, Result};
use crate::gpu::arena::{Arena, ArenaBuilder, Slot};
use crate::gpu::conv_gemm::{self, ConvGeometry};
use crate::gpu::step::Step;
use crate::gpu::tensor::{expect_shape, numel_bytes, Tensor};
use crate::nn::activation::Act;
use crate::nn::init::{self, Init};
use crate::nn::linear::bias_grad;

/// Largest kernel size, stride or padding accepted: the kernels do index arithmetic in i32.
pub const MAX_GEOMETRY: usize = 1 << 16;

/// Checks what Conv2d and ConvTranspose2d share; `layer` describes the layer for messages.
pub(crate) fn check_geometry(
    layer: &str,
    c_in: usize,
    c_out: usize,
    k: usize,
    stride: usize,
    pad: usize,
) -> Result<()> {
    let problem = if c_in == 0 || c_out == 0 {
        "needs at least one input and one output channel"
    } else if k == 0 {
        "kernel size must be at least 1"
    } else if stride == 0 {
        "stride must be at least 1"
    } else if k.max(stride).max(pad) > MAX_GEOMETRY {
        "kernel size, stride and padding must be at most 65536"
    } else {
        return numel_bytes(&[c_out, c_in, k, k])
            .map(|_| ())
            .map_err(|_| Error::Limit(format!("{layer}: the weight is too large to index with 32 bits")));
    };
    Err(Error::Param(format!("{layer}: {problem}")))
}

/// Ho of a convolution over `len` pixels, or None when the kernel does not fit the padded input.
fn out_len(len: usize, k: usize, stride: usize, pad: usize) -> Option<usize> {
    Some(len.checked_add(2 * pad)?.checked_sub(k)? / stride + 1)
}

#[derive(Clone, Debug)]
pub struct Conv2d {
    pub w: Slot,
    pub b: Slot,
    pub c_in: usize,
    pub c_out: usize,
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
}

impl Conv2d {
    /// Registers `{name}.weight` (Cout, Cin, K, K) and `{name}.bias` (Cout) in the arena.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        arena: &mut ArenaBuilder,
        name: &str,
        c_in: usize,
        c_out: usize,
        k: usize,
        stride: usize,
        pad: usize,
        init: Init,
        rng: &mut InitRng,
    ) -> Result<Conv2d> {
        let layer = format!("{name}: Conv2d({c_in}→{c_out}, k{k} s{stride} p{pad})");
        check_geometry(&layer, c_in, c_out, k, stride, pad)?;
        let (w, b) = init::weight_and_bias(init, rng, c_out * c_in * k * k, c_out, c_in * k * k);
        let w = arena.param(&format!("{name}.weight"), &[c_out, c_in, k, k], w);
        let b = arena.param(&format!("{name}.bias"), &[c_out], b);
        Ok(Conv2d { w, b, c_in, c_out, k, stride, pad })
    }

    /// `Conv2d(1→64, k4 s2 p1)`, for messages.
    pub fn describe(&self) -> String {
        format!("Conv2d({}→{}, k{} s{} p{})", self.c_in, self.c_out, self.k, self.stride, self.pad)
    }

    pub fn out_shape(&self, x: &[usize]) -> Result<Vec<usize>> {
        let &[n, c, h, w] = x else {
            return Err(Error::Shape(format!("{} expects input (N, {}, H, W), got {x:?}", self.describe(), self.c_in)));
        };
        if c != self.c_in || h == 0 || w == 0 {
            return Err(Error::Shape(format!("{} expects input (N, {}, H, W), got {x:?}", self.describe(), self.c_in)));
        }
        match (out_len(h, self.k, self.stride, self.pad), out_len(w, self.k, self.stride, self.pad)) {
            (Some(ho), Some(wo)) => Ok(vec![n, self.c_out, ho, wo]),
            _ => Err(Error::Param(format!(
                "{}: kernel {}×{} is larger than the input {h}×{w} padded by {} on each side",
                self.describe(),
                self.k,
                self.k,
                self.pad
            ))),
        }
    }

    /// The convolution's two sides for input shape `x` and output shape `y` (both checked):
    /// x is the big side, y the small one.
    fn geometry(&self, x: &[usize], y: &[usize]) -> ConvGeometry {
        ConvGeometry {
            n: x[0],
            cb: self.c_in,
            h: x[2],
            w: x[3],
            cs: self.c_out,
            ho: y[2],
            wo: y[3],
            k: self.k,
            stride: self.stride,
            pad: self.pad,
        }
    }

    /// y = conv(x, weight) + bias.   x: (N, Cin, H, W)  y: (N, Cout, Ho, Wo)
    pub fn forward(&self, s: &mut Step, p: &Arena, y: &Tensor, x: &Tensor) -> Result<()> {
        self.forward_with_act(s, p, y, x, None)
    }

    /// y = act(conv(x, weight) + bias), the activation fused into the product's epilogue.
    pub fn forward_with_act(&self, s: &mut Step, p: &Arena, y: &Tensor, x: &Tensor, act: Option<Act>) -> Result<()> {
        let shape = self.out_shape(&x.shape)?;
        expect_shape(&format!("{} output", self.describe()), y, &shape)?;
        let g = self.geometry(&x.shape, &shape);
        conv_gemm::correlate(s, &g, y, x, &p.params, self.w.offset, Some(self.b.offset), act)
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
        conv_gemm::backward_to_big(s, &g, &p.params, grads, self.w.offset, dx, dy, x)?;
        if !frozen {
            bias_grad(s, &p.grads, self.b.offset, dy, shape[0], self.c_out, shape[2] * shape[3])?;
        }
        Ok(())
    }
}
