//! 2-D convolution, PyTorch's `Conv2d` without dilation or groups (s = stride, p = padding):
//!   x: (N, Cin, H, W)  weight: (Cout, Cin, K, K)  bias: (Cout)  y: (N, Cout, Ho, Wo)
//!   y[n,co,oh,ow] = bias[co] + Σ_{ci,kh,kw} x[n, ci, oh·s − p + kh, ow·s − p + kw] · weight[co,ci,kh,kw]
//!   Ho = (H + 2p − K) / s + 1
//! Kernels in wgsl/conv2d.wgsl, f64 twin in src/cpu/conv.rs.

use crate::arena::{Arena, ArenaBuilder, Slot};
use crate::cpu::random::InitRng;
use crate::error::{Error, Result};
use crate::init::{self, Init};
use crate::kernels::{grid_1d, Kernel, WG};
use crate::linear::bias_grad;
use crate::step::Step;
use crate::tensor::{expect_shape, numel_bytes, Tensor};

/// Mirrors `Conv2dParams` in wgsl/conv2d.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Conv2dParams {
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

/// Channels and pixels each invocation owns (`CB`, `PB` in wgsl/conv2d.wgsl and
/// wgsl/conv_transpose2d.wgsl); the weight-gradient kernels take BLOCK × BLOCK channel pairs
/// per workgroup.
pub const BLOCK: u64 = 4;

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

/// Workgroups of a 1-D kernel of `invocations` invocations, whose flat index must fit a u32.
pub(crate) fn grid(kernel: Kernel, invocations: u64) -> Result<[u32; 3]> {
    if invocations > u32::MAX as u64 {
        return Err(Error::Limit(format!("{} would need {invocations} invocations (at most 2³² − 1)", kernel.entry())));
    }
    Ok(grid_1d(invocations, WG))
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

    /// The uniform for input shape `x` and output shape `y` (both already checked).
    fn params(&self, x: &[usize], y: &[usize]) -> Conv2dParams {
        Conv2dParams {
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

    /// y = conv(x, weight) + bias.   x: (N, Cin, H, W)  y: (N, Cout, Ho, Wo)
    pub fn forward(&self, s: &mut Step, p: &Arena, y: &Tensor, x: &Tensor) -> Result<()> {
        let shape = self.out_shape(&x.shape)?;
        expect_shape(&format!("{} output", self.describe()), y, &shape)?;
        let g = self.params(&x.shape, &shape);
        let (n, ho, wo) = (g.n as u64, g.ho as u64, g.wo as u64);
        let invocations = n * (self.c_out as u64).div_ceil(BLOCK) * ho * wo.div_ceil(BLOCK);
        s.dispatch(Kernel::Conv2dFwd, &g, &[&y.buf, &x.buf, &p.params], grid(Kernel::Conv2dFwd, invocations)?)
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
        let (n, h, w, stride) = (g.n as u64, g.h as u64, g.w as u64, g.stride as u64);
        let (c_in, c_out) = (self.c_in as u64, self.c_out as u64);
        if let Some(dx) = dx {
            // Each row's columns split into `stride` residue classes of BLOCK-column blocks.
            let cols = stride * w.div_ceil(stride).div_ceil(BLOCK);
            let invocations = n * c_in.div_ceil(BLOCK) * h * cols;
            let groups = grid(Kernel::Conv2dBwdX, invocations)?;
            s.dispatch(Kernel::Conv2dBwdX, &g, &[&dx.buf, &dy.buf, &p.params], groups)?;
        }
        if !frozen {
            // One workgroup per (BLOCK × BLOCK channel pairs, tap).
            let groups = c_out.div_ceil(BLOCK) * c_in.div_ceil(BLOCK) * (self.k * self.k) as u64;
            s.dispatch(Kernel::Conv2dBwdW, &g, &[&p.grads, &x.buf, &dy.buf], grid_1d(groups, 1))?;
            bias_grad(s, &p.grads, self.b.offset, dy, shape[0], self.c_out, shape[2] * shape[3])?;
        }
        Ok(())
    }
}
