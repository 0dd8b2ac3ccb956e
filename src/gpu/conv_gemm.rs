//! Convolutions as GEMMs over im2col columns, shared by Conv2d and ConvTranspose2d.
//!
//! A convolution relates a big side (N, Cb, H, W) and a small side (N, Cs, Ho, Wo) through a
//! weight (Cs, Cb, K, K). With the columns cols[(cb, kh, kw), (n, oh, ow)] of the big side
//! (wgsl/columns.wgsl) every pass is one GEMM, R = Cb·K·K, P = Ho·Wo:
//!   correlate      small[cs, (n,p)]  = W (Cs × R) · cols (R × N·P)      Conv2d fwd, ConvT bwd_x
//!   spread         cols              = Wᵀ (R × Cs) · small (Cs × N·P),  then col2im into big:
//!                                                                        Conv2d bwd_x, ConvT fwd
//!   weight_grad    dW (Cs × R)      += small (Cs × N·P) · colsᵀ          both bwd_w
//! so a convolution runs at the speed of the GEMM style the adapter gets, and its weight
//! gradient, a reduction over N·P, is split along that K like any skinny product. The layers
//! call `correlate` or `spread` forward, and one of `backward_to_big` (Conv2d: weight gradient
//! and spread share dy's channel-major copy) or `backward_to_small` (ConvTranspose2d: weight
//! gradient and correlate share dy's columns) backward.
//! The columns are materialised in a shared workspace (at most `COLUMN_BUDGET` bytes; larger
//! batches run in chunks of samples) because the register style reads them as vec4s.

use crate::error::{Error, Result};
use crate::gpu::gemm::{gemm, GemmParams, NO_BIAS};
use crate::gpu::kernels::{grid_1d, Kernel, WG};
use crate::gpu::step::Step;
use crate::gpu::tensor::Tensor;
use crate::gpu::Scratch;
use crate::nn::activation::Act;

/// Mirrors `ColumnsParams` in wgsl/columns.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ColumnsParams {
    pub n0: u32,
    pub nc: u32,
    pub cb: u32,
    pub h: u32,
    pub w: u32,
    pub cs: u32,
    pub ho: u32,
    pub wo: u32,
    pub k: u32,
    pub stride: u32,
    pub pad: u32,
    pub ld: u32,
    pub bias_off: u32,
    pub _pad: [u32; 3],
}

/// Largest workspace one chunk of samples may use for its columns. 8 MiB keeps the dcgan at
/// batch 64 under 64 MiB of GPU buffers (two chunks of 32 samples in its 64 → 128 layers,
/// whose columns are 200 KB a sample), while each chunk's products stay thousands of columns
/// wide.
const COLUMN_BUDGET: usize = 8 << 20;

/// The two sides of a convolution and how they meet (already checked by the layer).
#[derive(Clone, Copy, Debug)]
pub struct ConvGeometry {
    pub n: usize,
    /// Big side (N, Cb, H, W).
    pub cb: usize,
    pub h: usize,
    pub w: usize,
    /// Small side (N, Cs, Ho, Wo).
    pub cs: usize,
    pub ho: usize,
    pub wo: usize,
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
}

/// Samples n0 .. n0 + nc of the batch, and the row stride of their columns.
#[derive(Clone, Copy)]
struct Chunk {
    n0: usize,
    nc: usize,
    ld: usize,
}

impl ConvGeometry {
    fn rows(&self) -> usize {
        self.cb * self.k * self.k
    }

    fn pixels(&self) -> usize {
        self.ho * self.wo
    }

    /// The batch in chunks whose columns (and channel-major copy) fit the budget.
    fn chunks(&self) -> Result<Vec<Chunk>> {
        let per_sample = self.rows().max(self.cs) * self.pixels() * 4;
        let most = (COLUMN_BUDGET / per_sample.max(1)).clamp(1, self.n.max(1));
        // Chunks of equal size rather than full ones and a small remainder.
        let size = self.n.max(1).div_ceil(self.n.max(1).div_ceil(most));
        let chunks: Vec<Chunk> = (0..self.n)
            .step_by(size)
            .map(|n0| {
                let nc = size.min(self.n - n0);
                Chunk { n0, nc, ld: (nc * self.pixels()).next_multiple_of(4) }
            })
            .collect();
        // Every index the kernels compute must fit in 32 bits.
        let biggest =
            [self.rows() * size * self.pixels(), self.n * self.cb * self.h * self.w, self.n * self.cs * self.pixels()];
        if biggest.iter().any(|&v| v + 4 > u32::MAX as usize) {
            return Err(Error::Limit(format!("{self:?} is too large to index with 32 bits")));
        }
        Ok(chunks)
    }

    fn params(&self, c: Chunk, bias_off: u32) -> ColumnsParams {
        ColumnsParams {
            n0: c.n0 as u32,
            nc: c.nc as u32,
            cb: self.cb as u32,
            h: self.h as u32,
            w: self.w as u32,
            cs: self.cs as u32,
            ho: self.ho as u32,
            wo: self.wo as u32,
            k: self.k as u32,
            stride: self.stride as u32,
            pad: self.pad as u32,
            ld: c.ld as u32,
            bias_off,
            _pad: [0; 3],
        }
    }

    /// Records im2col of `big` for chunk `c`; returns the columns (R × ld).
    fn columns(&self, s: &mut Step, c: Chunk, big: &Tensor) -> Result<wgpu::Buffer> {
        let cols = s.gpu.scratch(Scratch::Columns, (self.rows() * c.ld * 4) as u64)?;
        let p = self.params(c, NO_BIAS);
        let rows = self.rows() * (c.nc + 1) * self.ho;
        s.dispatch(Kernel::Im2col, &p, &[&cols, &big.buf], grid_1d(rows as u64, WG))?;
        Ok(cols)
    }

    /// Records the channel-major copy (Cs × ld) of `small` for chunk `c`.
    fn channel_major(&self, s: &mut Step, c: Chunk, small: &Tensor) -> Result<wgpu::Buffer> {
        let t = s.gpu.scratch(Scratch::ChannelMajor, (self.cs * c.ld * 4) as u64)?;
        let p = self.params(c, NO_BIAS);
        let planes = self.cs * (c.nc + 1);
        s.dispatch(Kernel::ChannelMajor, &p, &[&t, &small.buf], grid_1d(planes as u64, WG))?;
        Ok(t)
    }
}

/// small = act(W ⋆ big (+ bias[cs])); overwrites small.   W at `w_off` of `prm`, (Cs, Cb, K, K).
/// Conv2d's forward.
#[allow(clippy::too_many_arguments)]
pub fn correlate(
    s: &mut Step,
    g: &ConvGeometry,
    small: &Tensor,
    big: &Tensor,
    prm: &wgpu::Buffer,
    w_off: u32,
    bias_off: Option<u32>,
    act: Option<Act>,
) -> Result<()> {
    for c in g.chunks()? {
        let cols = g.columns(s, c, big)?;
        correlate_chunk(s, g, c, small, &cols, prm, w_off, bias_off, act)?;
    }
    Ok(())
}

/// big = Wᵀ ⋆ small (+ bias[cb]); overwrites big.   ConvTranspose2d's forward.
pub fn spread(
    s: &mut Step,
    g: &ConvGeometry,
    big: &Tensor,
    small: &Tensor,
    prm: &wgpu::Buffer,
    w_off: u32,
    bias_off: Option<u32>,
) -> Result<()> {
    for c in g.chunks()? {
        let small_t = g.channel_major(s, c, small)?;
        spread_chunk(s, g, c, big, &small_t, prm, w_off, bias_off)?;
    }
    Ok(())
}

/// Conv2d's backward, small = dy and big = x: dW += dy ⊗ x into `grads` (if given) and
/// d_big = Wᵀ ⋆ dy (if given), sharing dy's channel-major copy.
#[allow(clippy::too_many_arguments)]
pub fn backward_to_big(
    s: &mut Step,
    g: &ConvGeometry,
    prm: &wgpu::Buffer,
    grads: Option<&wgpu::Buffer>,
    w_off: u32,
    d_big: Option<&Tensor>,
    small: &Tensor,
    big: &Tensor,
) -> Result<()> {
    if grads.is_none() && d_big.is_none() {
        return Ok(());
    }
    for c in g.chunks()? {
        let small_t = g.channel_major(s, c, small)?;
        if let Some(grads) = grads {
            let cols = g.columns(s, c, big)?;
            weight_grad_chunk(s, g, c, grads, w_off, &small_t, &cols)?;
        }
        if let Some(d_big) = d_big {
            spread_chunk(s, g, c, d_big, &small_t, prm, w_off, None)?;
        }
    }
    Ok(())
}

/// ConvTranspose2d's backward, small = x and big = dy: dW += x ⊗ dy into `grads` (if given)
/// and d_small = W ⋆ dy (if given), sharing dy's columns.
#[allow(clippy::too_many_arguments)]
pub fn backward_to_small(
    s: &mut Step,
    g: &ConvGeometry,
    prm: &wgpu::Buffer,
    grads: Option<&wgpu::Buffer>,
    w_off: u32,
    d_small: Option<&Tensor>,
    small: &Tensor,
    big: &Tensor,
) -> Result<()> {
    if grads.is_none() && d_small.is_none() {
        return Ok(());
    }
    for c in g.chunks()? {
        let cols = g.columns(s, c, big)?;
        if let Some(d_small) = d_small {
            correlate_chunk(s, g, c, d_small, &cols, prm, w_off, None, None)?;
        }
        if let Some(grads) = grads {
            let small_t = g.channel_major(s, c, small)?;
            weight_grad_chunk(s, g, c, grads, w_off, &small_t, &cols)?;
        }
    }
    Ok(())
}

/// small (chunk c) = act(W · cols (+ bias[cs])).
#[allow(clippy::too_many_arguments)]
fn correlate_chunk(
    s: &mut Step,
    g: &ConvGeometry,
    c: Chunk,
    small: &Tensor,
    cols: &wgpu::Buffer,
    prm: &wgpu::Buffer,
    w_off: u32,
    bias_off: Option<u32>,
    act: Option<Act>,
) -> Result<()> {
    let pixels = g.pixels() as u32;
    // small[n, cs, p] at column (n − n0)·P + p of row cs: groups of P columns, Cs·P apart.
    let p = GemmParams {
        a_off: w_off,
        b_ks: c.ld as u32,
        c_off: (c.n0 * g.cs) as u32 * pixels,
        c_ms: pixels,
        c_group: pixels,
        c_gs: g.cs as u32 * pixels,
        bias_off: bias_off.unwrap_or(NO_BIAS),
        bias_rows: 1,
        ..GemmParams::new(g.cs as u32, c.nc as u32 * pixels, g.rows() as u32)
    };
    gemm(s, &p.with_act(act), &small.buf, prm, cols, prm)
}

/// big (chunk c) = col2im(Wᵀ · small_t) (+ bias[cb]).
#[allow(clippy::too_many_arguments)]
fn spread_chunk(
    s: &mut Step,
    g: &ConvGeometry,
    c: Chunk,
    big: &Tensor,
    small_t: &wgpu::Buffer,
    prm: &wgpu::Buffer,
    w_off: u32,
    bias_off: Option<u32>,
) -> Result<()> {
    let r = g.rows() as u32;
    let cols = s.gpu.scratch(Scratch::Columns, (g.rows() * c.ld * 4) as u64)?;
    // A[r, cs] = W[cs, r]
    let p = GemmParams {
        a_off: w_off,
        a_ms: 1,
        a_ks: r,
        b_ks: c.ld as u32,
        c_ms: c.ld as u32,
        ..GemmParams::new(r, (c.nc * g.pixels()) as u32, g.cs as u32)
    };
    gemm(s, &p, &cols, prm, small_t, prm)?;
    let cp = g.params(c, bias_off.unwrap_or(NO_BIAS));
    let rows = (c.nc * g.cb * g.h) as u64;
    s.dispatch(Kernel::Col2im, &cp, &[&big.buf, &cols, prm], grid_1d(rows, WG))
}

/// dW += small_t · colsᵀ over chunk c: dW[cs, r] += Σ_j small_t[cs, j] · cols[r, j].
fn weight_grad_chunk(
    s: &mut Step,
    g: &ConvGeometry,
    c: Chunk,
    grads: &wgpu::Buffer,
    w_off: u32,
    small_t: &wgpu::Buffer,
    cols: &wgpu::Buffer,
) -> Result<()> {
    // K runs over the padded columns too: both operands are zero there. B[j, r] = cols[r, j].
    let ld = c.ld as u32;
    let p = GemmParams {
        accumulate: 1,
        a_ms: ld,
        b_ks: 1,
        b_ns: ld,
        c_off: w_off,
        ..GemmParams::new(g.cs as u32, g.rows() as u32, ld)
    };
    gemm(s, &p, grads, small_t, cols, cols)
}
