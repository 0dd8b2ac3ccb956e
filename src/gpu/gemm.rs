//! The strided matrix product every Linear and convolution runs on (wgsl/matmul.wgsl):
//!   C[m, n] (+)= Σ_k A[m, k]·B[k, n] (+ bias)
//! `gemm` picks the style for the `Gpu`'s kernel variant and the operands' layout; the layers
//! never see the choice.

use crate::error::Result;
use crate::gpu::kernels::{grid_1d, GemmEpilogue, Kernel, Variant, WG};
use crate::gpu::step::Step;
use crate::gpu::Scratch;
use crate::nn::activation::Act;

/// Mirrors `GemmParams` in wgsl/matmul.wgsl; the stride convention is described there.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct GemmParams {
    pub m: u32,
    pub n: u32,
    pub k: u32,
    pub accumulate: u32,
    pub a_off: u32,
    pub a_ms: u32,
    pub a_ks: u32,
    pub b_off: u32,
    pub b_ks: u32,
    pub b_ns: u32,
    pub c_off: u32,
    pub c_ms: u32,
    pub bias_off: u32,
    pub bias_rows: u32,
    pub c_group: u32,
    pub c_gs: u32,
    pub k_chunk: u32,
    pub split_mn: u32,
    pub rows_fastest: u32,
    pub act: u32,
    pub act_slope: f32,
    pub k_block: u32,
    pub _pad: [u32; 2],
}

pub const NO_BIAS: u32 = u32::MAX;

impl GemmParams {
    /// The same product with `act` applied after the bias, before storing (forward only).
    pub fn with_act(self, act: Option<Act>) -> GemmParams {
        match act {
            Some(a) => GemmParams { act: a.kind() + 1, act_slope: a.slope(), ..self },
            None => self,
        }
    }

    /// C = A·B for row-major A (M, K), B (K, N), C (M, N), no bias; adjust fields from here.
    pub fn new(m: u32, n: u32, k: u32) -> GemmParams {
        GemmParams {
            m,
            n,
            k,
            accumulate: 0,
            a_off: 0,
            a_ms: k,
            a_ks: 1,
            b_off: 0,
            b_ks: n,
            b_ns: 1,
            c_off: 0,
            c_ms: n,
            bias_off: NO_BIAS,
            bias_rows: 0,
            c_group: 0,
            c_gs: 0,
            k_chunk: k,
            split_mn: 0,
            rows_fastest: 0,
            act: 0,
            act_slope: 0.0,
            k_block: k,
            _pad: [0; 2],
        }
    }
}

/// Tile of the `tiles` style (TM = TN and TK in wgsl/matmul.wgsl).
const TILE: u32 = 64;
const TILE_K: u32 = 16;

/// When to split K: until about `target` parallel units (workgroups of the tiles style,
/// invocations of the registers style) run, keeping at least `min_k` of K per split so the
/// partial sums stay cheaper than the product; and always so that no partial sum runs over more
/// than `MAX_SPLIT_K` terms, because a long serial f32 sum loses accuracy (the dcgan's weight
/// gradients reduce over batch × pixels = 12,544 terms; PyTorch's blocked sums are the bar).
struct SplitRule {
    target: u64,
    min_k: u32,
}

const MAX_SPLIT_K: u32 = 512;

/// A few workgroups per compute unit of a large GPU.
const TILES_SPLIT: SplitRule = SplitRule { target: 256, min_k: 64 };
/// Enough workgroups of 64 invocations for the threads of a software rasteriser; more splits
/// only add partial sums (measured on lavapipe: 4096 was 8% slower on the mlp than 512).
const REGISTERS_SPLIT: SplitRule = SplitRule { target: 512, min_k: 256 };

impl SplitRule {
    /// Splits that would bring a product with `units` parallel units up to the target.
    fn speed_splits(&self, units: u64, k: u32) -> u32 {
        self.target.div_ceil(units.max(1)).min((k / self.min_k).max(1) as u64) as u32
    }

    /// K per split (a multiple of 16) for a product with `units` parallel units before splitting.
    fn k_chunk(&self, units: u64, k: u32) -> u32 {
        let splits = self.speed_splits(units, k).max(k.div_ceil(MAX_SPLIT_K));
        k.div_ceil(splits).next_multiple_of(TILE_K).max(TILE_K)
    }
}

/// The tall style's rule. Measured on lavapipe (2 cores), with the kernel summing long K in
/// blocks itself: targets of 128 and 256 gave the same times (mlp 85 and 89 dispatches an
/// iteration, dcgan 152), 512 was slower on the mlp (96 dispatches).
const TALL_SPLIT: SplitRule = SplitRule { target: 256, min_k: 256 };

/// Records C (+)= A·B (+ bias) in the style of the `Gpu`'s variant.
pub fn gemm(
    s: &mut Step,
    p: &GemmParams,
    c: &wgpu::Buffer,
    a: &wgpu::Buffer,
    b: &wgpu::Buffer,
    bias: &wgpu::Buffer,
) -> Result<()> {
    if p.m == 0 || p.n == 0 {
        return Ok(());
    }
    match s.gpu.variant() {
        Variant::Registers => gemm_registers(s, p, c, a, b, bias, false),
        Variant::Tall => gemm_registers(s, p, c, a, b, bias, true),
        Variant::Tiles => gemm_tiles(s, p, c, a, b, bias),
    }
}

/// vec4 reads need four-aligned offsets and strides (buffers are padded to 16 bytes).
fn aligned(values: &[u32]) -> bool {
    values.iter().all(|v| v % 4 == 0)
}

/// The registers style, or with `tall` its 16 × 8 blocks (see `Variant::Tall`).
fn gemm_registers(
    s: &mut Step,
    p: &GemmParams,
    c: &wgpu::Buffer,
    a: &wgpu::Buffer,
    b: &wgpu::Buffer,
    bias: &wgpu::Buffer,
    tall: bool,
) -> Result<()> {
    let a_along_k = p.a_ks == 1 && aligned(&[p.a_off, p.a_ms]);
    let a_along_m = p.a_ms == 1 && aligned(&[p.a_off, p.a_ks]);
    let b_along_n = p.b_ns == 1 && aligned(&[p.b_off, p.b_ks]);
    let b_along_k = p.b_ks == 1 && aligned(&[p.b_off, p.b_ns]);
    let (block_rows, rule) = if tall { (16, &TALL_SPLIT) } else { (8, &REGISTERS_SPLIT) };
    if !(a_along_k || a_along_m) || !(b_along_n || b_along_k) {
        let (cols, rows) = (p.n.div_ceil(32), p.m.div_ceil(32));
        let k_chunk = rule.k_chunk(cols as u64 * rows as u64 * 64, p.k);
        return split_k(s, Kernel::Gemm, p, k_chunk, [c, a, bias, b], |splits| [cols, rows, splits]);
    }
    let blocks = p.m.div_ceil(block_rows) as u64 * p.n.div_ceil(8) as u64;
    let k_block = rule.k_chunk(blocks, p.k);
    // A K past MAX_SPLIT_K is summed in blocks for accuracy. Where speed alone would not split,
    // the tall kernel adds up those blocks itself, in the order matmul_split_sum would (the
    // same partition, so the same f32 result), without the workspace and the second dispatch.
    let k_chunk = if tall && rule.speed_splits(blocks, p.k) <= 1 { p.k.max(1) } else { k_block };
    let split = p.k.div_ceil(k_chunk) > 1;
    // Whole blocks in rows aligned to vec4s: the C the kernel writes (the split-K workspace is
    // M × N) allows vec4 stores.
    let rows_aligned = if split { aligned(&[p.n]) } else { aligned(&[p.c_off, p.c_ms]) };
    let epilogue = if p.c_group != 0 || !p.m.is_multiple_of(block_rows) || !p.n.is_multiple_of(8) || !rows_aligned {
        GemmEpilogue::Any
    } else if p.act != 0 && !split {
        GemmEpilogue::Act
    } else {
        GemmEpilogue::Plain
    };
    let kernel = if tall {
        Kernel::GemmTall { a_along_k, b_along_n, epilogue }
    } else {
        Kernel::GemmVec4 { a_along_k, b_along_n, epilogue }
    };
    // Neighbouring invocations share what they read along the faster axis, so number them down
    // the rows when B (K × N) is the larger operand: each of its column panels then streams
    // through the cache once. Measured on lavapipe: 2× on the dcgan's convolutions (B = im2col
    // columns), 5% on an mlp iteration (B = a weight, M = batch); the benchmark's repeated
    // dispatches keep both operands in cache and cannot see it.
    let p = &GemmParams { rows_fastest: (p.n > p.m) as u32, k_block, ..*p };
    split_k(s, kernel, p, k_chunk, [c, a, bias, b], |splits| grid_1d(blocks * splits as u64, WG))
}

/// Records `kernel` over splits of K of `k_chunk` each: straight into C when there is one,
/// else into the split-K workspace followed by `matmul_split_sum`. `grid` sizes the product's
/// dispatch for a number of splits.
fn split_k(
    s: &mut Step,
    kernel: Kernel,
    p: &GemmParams,
    k_chunk: u32,
    [c, a, bias, b]: [&wgpu::Buffer; 4],
    grid: impl Fn(u32) -> [u32; 3],
) -> Result<()> {
    let mn = p.m as u64 * p.n as u64;
    // The partial sums must fit one buffer: for huge batches (K of a weight gradient) take
    // longer splits rather than fail.
    let fit = (s.gpu.max_binding_bytes() / (mn * 4).max(1)).max(1) as u32;
    let k_chunk = if p.k.div_ceil(k_chunk) > fit { p.k.div_ceil(fit).next_multiple_of(TILE_K) } else { k_chunk };
    let splits = p.k.div_ceil(k_chunk).max(1);
    if splits == 1 {
        let q = GemmParams { k_chunk: p.k.max(1), split_mn: 0, ..*p };
        return s.dispatch(kernel, &q, &[c, a, bias, b], grid(1));
    }
    let parts = s.gpu.scratch(Scratch::SplitK, splits as u64 * mn * 4)?;
    let q = GemmParams { k_chunk, split_mn: mn as u32, ..*p };
    s.dispatch(kernel, &q, &[&parts, a, bias, b], grid(splits))?;
    s.dispatch(Kernel::SplitSum, &q, &[c, &parts, bias], grid_1d(mn, WG))
}

fn gemm_tiles(
    s: &mut Step,
    p: &GemmParams,
    c: &wgpu::Buffer,
    a: &wgpu::Buffer,
    b: &wgpu::Buffer,
    bias: &wgpu::Buffer,
) -> Result<()> {
    let (cols, rows) = (p.n.div_ceil(TILE), p.m.div_ceil(TILE));
    let k_chunk = TILES_SPLIT.k_chunk(cols as u64 * rows as u64, p.k);
    split_k(s, Kernel::GemmTiles, p, k_chunk, [c, a, bias, b], |splits| [cols, rows, splits])
}

/// The one-output-per-invocation baseline of `gemm` (benchmarks and tests only).
pub fn gemm_naive(
    s: &mut Step,
    p: &GemmParams,
    c: &wgpu::Buffer,
    a: &wgpu::Buffer,
    b: &wgpu::Buffer,
    bias: &wgpu::Buffer,
) -> Result<()> {
    let groups = [p.n.div_ceil(8), p.m.div_ceil(8), 1];
    s.dispatch(Kernel::GemmNaive, p, &[c, a, bias, b], groups)
}
