// General strided matrix product, used by Linear's three products and by the convolutions
// (as implicit GEMMs over im2col columns):
//   C[m, n] (+)= Σ_k A[m, k]·B[k, n] (+ bias)
// with A[m, k] = a[a_off + m·a_ms + k·a_ks], B[k, n] = b[b_off + k·b_ks + n·b_ns], so transposes
// are just strides and A or B may sit in an arena. C[m, n] is c[c_off + m·c_ms + n], or, with
// c_group > 0, columns come in groups of c_group laid c_gs apart:
//   c[c_off + m·c_ms + (n / c_group)·c_gs + n % c_group]
// which writes a (C, N·H·W) product straight into an (N, C, H, W) tensor.
//
// The epilogue may add a bias per row or per column and apply an activation (Linear and
// Conv2d fuse a following one; see src/nn/model.rs).
//
// Several styles of the same math (src/gpu/gemm.rs picks one per adapter, see `Variant`):
// - registers (software rasterisers): `matmul_gemm_vec4_*` (8 × 8 outputs per invocation from
//   vec4 reads along whichever axis of A and of B is contiguous; one entry point per layout
//   and epilogue), and `matmul_gemm` (any strides, 4 × 4 scalar blocks) for what is not
//   aligned to 4. No workgroup memory, no barriers. Both also split K when there are too few
//   blocks to keep every core busy (a weight gradient over a large batch).
// - tiles (GPUs): `matmul_gemm_tiles`, 64 × 64 tiles through workgroup memory with coalesced
//   loads, split along K into partial sums that `matmul_split_sum` adds in a fixed order.
// - `matmul_gemm_naive`, one output per invocation: the baseline every style must beat.

struct GemmParams {
    m: u32, n: u32, k: u32,
    accumulate: u32,      // 1: C += A·B (weight gradients); 0: C = A·B
    a_off: u32, a_ms: u32, a_ks: u32,
    b_off: u32, b_ks: u32, b_ns: u32,
    c_off: u32, c_ms: u32,
    bias_off: u32,        // 0xffffffff: no bias
    bias_rows: u32,       // 1: bias[m] (convolutions, one per output channel); 0: bias[n] (Linear)
    c_group: u32,         // 0: plain rows
    c_gs: u32,
    k_chunk: u32,         // split-K: the split z covers [z·k_chunk, min((z + 1)·k_chunk, K))
    split_mn: u32,        // 0 stores C; else split z stores its partial sums at z·split_mn + m·N + n
    rows_fastest: u32,    // registers: 1 numbers invocations down the rows first (B is the larger operand)
    act: u32,             // 0: none; k + 1: the activation of kind k (common.wgsl) after the bias
    act_slope: f32,
    k_block: u32,         // tall: a split's K summed in blocks of k_block, block sums added in order
    _pad1: u32, _pad2: u32,
}

const NO_BIAS: u32 = 0xffffffffu;

@group(0) @binding(0) var<uniform> p: GemmParams;
@group(0) @binding(1) var<storage, read_write> c: array<f32>;
// C as vec4s, for the plain epilogues of matmul_gemm_vec4_*, which own whole aligned vec4s.
// Nothing writes single components of it: some compilers turn such a write into a read and
// write of the whole vector, which would race with the invocation writing its neighbour.
@group(0) @binding(1) var<storage, read_write> c4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> b: array<f32>;
// The same buffers seen as vec4s, for the styles that read four contiguous values at once
// (src/nn/linear.rs only picks them when offsets and strides are multiples of 4).
@group(0) @binding(2) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> b4: array<vec4<f32>>;
// matmul_split_sum: the partial sums, written by matmul_gemm_tiles into the split-K workspace.
@group(0) @binding(2) var<storage, read> parts: array<f32>;

// Writes one finished element of C: bias, activation, column grouping, accumulation.
fn store(row: u32, col: u32, sum: f32) {
    var v = sum;
    if (p.bias_off != NO_BIAS) {
        v += bias[p.bias_off + select(col, row, p.bias_rows == 1u)];
    }
    if (p.act != 0u) {
        v = activate(p.act - 1u, p.act_slope, v);
    }
    var at = p.c_off + row * p.c_ms + col;
    if (p.c_group != 0u) {
        at = p.c_off + row * p.c_ms + (col / p.c_group) * p.c_gs + col % p.c_group;
    }
    if (p.accumulate == 1u) {
        c[at] += v;
    } else {
        c[at] = v;
    }
}

// Stores a row's four columns col0..col0 + 3, those inside C: finished values, or split z's
// partial sums for matmul_split_sum.
fn store4(row: u32, col0: u32, v: vec4<f32>, z: u32) {
    if (row >= p.m) {
        return;
    }
    // The common case without per-element work: plain rows, no bias or activation, all four
    // columns inside.
    if (p.split_mn == 0u && p.c_group == 0u && p.bias_off == NO_BIAS && p.act == 0u && col0 + 3u < p.n) {
        for (var t = 0u; t < 4u; t++) {
            let at = p.c_off + row * p.c_ms + col0 + t;
            if (p.accumulate == 1u) {
                c[at] += v[t];
            } else {
                c[at] = v[t];
            }
        }
        return;
    }
    for (var t = 0u; t < 4u; t++) {
        let col = col0 + t;
        if (col < p.n) {
            if (p.split_mn == 0u) {
                store(row, col, v[t]);
            } else {
                c[z * p.split_mn + row * p.n + col] = v[t];
            }
        }
    }
}

// (split of K, first row, first column) of flat invocation `i` of a product in blocks of
// `rows` × `cols`. Neighbouring invocations share the operand read along the faster axis, so
// the slower axis should be the larger operand's: it then streams through the cache once.
fn block_of(i: u32, rows: u32, cols: u32) -> vec3<u32> {
    let col_blocks = (p.n + cols - 1u) / cols;
    let row_blocks = (p.m + rows - 1u) / rows;
    let blocks = col_blocks * row_blocks;
    let b = i % blocks;
    if (p.rows_fastest == 1u) {
        return vec3<u32>(i / blocks, (b % row_blocks) * rows, (b / row_blocks) * cols);
    }
    return vec3<u32>(i / blocks, (b / col_blocks) * rows, (b % col_blocks) * cols);
}

// ---- registers -------------------------------------------------------------------------

// 4 × 4 scalar blocks (16 accumulators, 8 loads per k) for any strides; split z = gid.z.
@compute @workgroup_size(8, 8, 1)
fn matmul_gemm(@builtin(global_invocation_id) gid: vec3<u32>) {
    let m0 = gid.y * 4u;
    let n0 = gid.x * 4u;
    let k_begin = gid.z * p.k_chunk;
    if (m0 >= p.m || n0 >= p.n || k_begin >= max(p.k, 1u)) {
        return;
    }
    let k_end = min(k_begin + p.k_chunk, p.k);
    // Rows/columns past the edge read a clamped (valid) address and are never stored.
    var arow: array<u32, 4>;
    var bcol: array<u32, 4>;
    for (var t = 0u; t < 4u; t++) {
        arow[t] = p.a_off + min(m0 + t, p.m - 1u) * p.a_ms;
        bcol[t] = p.b_off + min(n0 + t, p.n - 1u) * p.b_ns;
    }
    var acc: array<vec4<f32>, 4>;
    for (var kk = k_begin; kk < k_end; kk++) {
        let ak = kk * p.a_ks;
        let bk = kk * p.b_ks;
        let bv = vec4<f32>(b[bcol[0] + bk], b[bcol[1] + bk], b[bcol[2] + bk], b[bcol[3] + bk]);
        acc[0] += a[arow[0] + ak] * bv;
        acc[1] += a[arow[1] + ak] * bv;
        acc[2] += a[arow[2] + ak] * bv;
        acc[3] += a[arow[3] + ak] * bv;
    }
    for (var i = 0u; i < 4u; i++) {
        store4(m0 + i, n0, acc[i], gid.z);
    }
}

// 8 × 8 outputs per invocation from 4 × 4 blocks of A and B read as vec4s along whichever axis
// of each is contiguous, four steps of k at a time. A software rasteriser runs each invocation
// as one SIMD lane and loads every lane's address one by one, so what pays is many
// multiply-adds per load: here 16 per value loaded. A vec4 on a SIMD lane is four registers,
// so transposing a block costs nothing.
//
// Conditions (src/gpu/gemm.rs): A along k: a_ks = 1, a_off and a_ms multiples of 4; A along m:
// a_ms = 1, a_off and a_ks multiples of 4; the same for B with n in place of m; k_chunk a
// multiple of 4.

// Column t is A[m0 + i, k + t] for i in 0..4: along k, rows start at `rows` (in vec4s); along
// m, A[m0, 0] is at `base`.
fn a_block(k: u32, along_k: bool, rows: vec4<u32>, base: u32) -> mat4x4<f32> {
    if (along_k) {
        let q = k / 4u;
        return transpose(mat4x4<f32>(a4[rows.x + q], a4[rows.y + q], a4[rows.z + q], a4[rows.w + q]));
    }
    let s = p.a_ks / 4u;
    let at = base + k * s;
    return mat4x4<f32>(a4[at], a4[at + s], a4[at + 2u * s], a4[at + 3u * s]);
}

// Column j is B[k + t, n0 + j] for t in 0..4, likewise.
fn b_block(k: u32, along_n: bool, cols: vec4<u32>, base: u32) -> mat4x4<f32> {
    if (along_n) {
        let s = p.b_ks / 4u;
        let at = base + k * s;
        return transpose(mat4x4<f32>(b4[at], b4[at + s], b4[at + 2u * s], b4[at + 3u * s]));
    }
    let q = k / 4u;
    return mat4x4<f32>(b4[cols.x + q], b4[cols.y + q], b4[cols.z + q], b4[cols.w + q]);
}

// c + x·y, each element summed in k order.
fn multiply_add(c: mat4x4<f32>, x: mat4x4<f32>, y: mat4x4<f32>) -> mat4x4<f32> {
    return mat4x4<f32>(
        fma(x[3], vec4<f32>(y[0].w), fma(x[2], vec4<f32>(y[0].z), fma(x[1], vec4<f32>(y[0].y), fma(x[0], vec4<f32>(y[0].x), c[0])))),
        fma(x[3], vec4<f32>(y[1].w), fma(x[2], vec4<f32>(y[1].z), fma(x[1], vec4<f32>(y[1].y), fma(x[0], vec4<f32>(y[1].x), c[1])))),
        fma(x[3], vec4<f32>(y[2].w), fma(x[2], vec4<f32>(y[2].z), fma(x[1], vec4<f32>(y[2].y), fma(x[0], vec4<f32>(y[2].x), c[2])))),
        fma(x[3], vec4<f32>(y[3].w), fma(x[2], vec4<f32>(y[3].z), fma(x[1], vec4<f32>(y[3].y), fma(x[0], vec4<f32>(y[3].x), c[3])))),
    );
}

// Rows m0 .. m0 + 3 (columns n0 .. n0 + 3), clamped to the last: read, never stored.
fn clamped(first: u32, count: u32) -> vec4<u32> {
    return min(vec4<u32>(first) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(count - 1u));
}

// Four elements of A (of B) at flat offsets `at`, read through the vec4 view (an entry point
// may not bind both views of a buffer).
fn a_scalars(at: vec4<u32>) -> vec4<f32> {
    return vec4<f32>(a4[at.x / 4u][at.x % 4u], a4[at.y / 4u][at.y % 4u], a4[at.z / 4u][at.z % 4u], a4[at.w / 4u][at.w % 4u]);
}

fn b_scalars(at: vec4<u32>) -> vec4<f32> {
    return vec4<f32>(b4[at.x / 4u][at.x % 4u], b4[at.y / 4u][at.y % 4u], b4[at.z / 4u][at.z % 4u], b4[at.w / 4u][at.w % 4u]);
}

// c + x·yᵀ: one step of K for a 4 × 4 quarter.
fn rank_one(c: mat4x4<f32>, x: vec4<f32>, y: vec4<f32>) -> mat4x4<f32> {
    return mat4x4<f32>(fma(x, vec4<f32>(y.x), c[0]), fma(x, vec4<f32>(y.y), c[1]), fma(x, vec4<f32>(y.z), c[2]), fma(x, vec4<f32>(y.w), c[3]));
}

fn activate4(v: vec4<f32>) -> vec4<f32> {
    let kind = p.act - 1u;
    return vec4<f32>(activate(kind, p.act_slope, v.x), activate(kind, p.act_slope, v.y), activate(kind, p.act_slope, v.z), activate(kind, p.act_slope, v.w));
}

// How a block is stored (each entry point stores one way: src/gpu/gemm.rs picks the entry point).
// A software rasteriser runs both sides of every branch whose condition it cannot prove the
// same for all lanes, masked, so the general per-element epilogue costs its loops and stores
// even where it is skipped; measured on lavapipe, the plain epilogue alone made products with
// K = 64 twice as fast.
// - any (`store_block_any`): element by element: edges, grouped columns, unaligned C.
// - plain (`store_block_plain`): the whole block inside C, plain rows aligned to vec4s: one
//   vec4 store per half row, with bias, accumulation and split-K partial sums done by
//   arithmetic.
// - act: plain, then the fused activation.

// One output for `store_block_any`, with every choice made by `select` rather than by branches
// (which a software rasteriser would run both sides of): the bias and what C held are always
// read, from valid addresses, and dropped when not in use.
fn put_any(row: u32, col: u32, sum: f32, z: u32) {
    if (row >= p.m || col >= p.n) {
        return;
    }
    let split = p.split_mn != 0u;
    let bias_at = select(p.bias_off, 0u, p.bias_off == NO_BIAS) + select(col, row, p.bias_rows == 1u);
    var v = sum + select(0.0, bias[bias_at], p.bias_off != NO_BIAS && !split);
    if (p.act != 0u && !split) {
        v = activate(p.act - 1u, p.act_slope, v);
    }
    let grouped = p.c_off + row * p.c_ms + (col / max(p.c_group, 1u)) * p.c_gs + col % max(p.c_group, 1u);
    let plain = select(p.c_off + row * p.c_ms + col, grouped, p.c_group != 0u);
    let at = select(plain, z * p.split_mn + row * p.n + col, split);
    let keep = p.accumulate == 1u && !split;
    c[at] = v + select(0.0, c[at], keep);
}

// Eight outputs of one row (`lo`, `hi`) for the plain epilogues: `to`, where the first goes (in
// vec4s); the bias of each (or 0); `keep`: add what C holds.
fn put_plain_row(to: u32, lo: vec4<f32>, hi: vec4<f32>, bias_lo: vec4<f32>, bias_hi: vec4<f32>, keep: bool, act: bool) {
    var x = lo + bias_lo;
    var y = hi + bias_hi;
    if (act) {
        x = activate4(x);
        y = activate4(y);
    }
    // select, not a product with 0/1, so that whatever C held (NaN included) is not read in.
    c4[to] = x + select(vec4<f32>(0.0), c4[to], keep);
    c4[to + 1u] = y + select(vec4<f32>(0.0), c4[to + 1u], keep);
}

// Invocation (split, row block, column block) as `block_of` says; its 8 × 8 block in four
// quarters c_ij (rows 4i.., columns 4j..).
// An invocation's finished 8 × 8 block: rows 0..3 in r00 (columns 0..3) and r01 (4..7),
// rows 4..7 in r10 and r11 (each matrix's column i is one row).
struct Block {
    live: bool,
    z: u32, m0: u32, n0: u32,
    r00: mat4x4<f32>, r01: mat4x4<f32>, r10: mat4x4<f32>, r11: mat4x4<f32>,
}

fn gemm_vec4(gid: vec3<u32>, nwg: vec3<u32>, a_along_k: bool, b_along_n: bool) -> Block {
    var g: Block;
    let zmn = block_of(flat_index(gid, nwg), 8u, 8u);
    let k_begin = zmn.x * p.k_chunk;
    g.live = k_begin < max(p.k, 1u);
    if (!g.live) {
        return g;
    }
    let k_end = min(k_begin + p.k_chunk, p.k);
    let k_whole = k_begin + (k_end - k_begin) / 4u * 4u;
    let m0 = zmn.y;
    let n0 = zmn.z;
    // Past the edge: a clamped row (column) along k; along m (n), the next vec4s, which are
    // inside the buffer or read as zero or some value inside it (WebGPU's robust access).
    let rows0 = (vec4<u32>(p.a_off) + clamped(m0, p.m) * p.a_ms) / 4u;
    let rows1 = (vec4<u32>(p.a_off) + clamped(m0 + 4u, p.m) * p.a_ms) / 4u;
    let cols0 = (vec4<u32>(p.b_off) + clamped(n0, p.n) * p.b_ns) / 4u;
    let cols1 = (vec4<u32>(p.b_off) + clamped(n0 + 4u, p.n) * p.b_ns) / 4u;
    let a_base = (p.a_off + m0) / 4u;
    let b_base = (p.b_off + n0) / 4u;
    var c00 = mat4x4<f32>();
    var c01 = mat4x4<f32>();
    var c10 = mat4x4<f32>();
    var c11 = mat4x4<f32>();
    for (var k = k_begin; k < k_whole; k += 4u) {
        let x0 = a_block(k, a_along_k, rows0, a_base);
        let x1 = a_block(k, a_along_k, rows1, a_base + 1u);
        let y0 = b_block(k, b_along_n, cols0, b_base);
        let y1 = b_block(k, b_along_n, cols1, b_base + 1u);
        c00 = multiply_add(c00, x0, y0);
        c01 = multiply_add(c01, x0, y1);
        c10 = multiply_add(c10, x1, y0);
        c11 = multiply_add(c11, x1, y1);
    }
    // The steps of K past its last multiple of 4, one k at a time, in one loop for the whole
    // block (one loop to compile, not one per quarter).
    let ms0 = vec4<u32>(p.a_off) + clamped(m0, p.m) * p.a_ms;
    let ms1 = vec4<u32>(p.a_off) + clamped(m0 + 4u, p.m) * p.a_ms;
    let ns0 = vec4<u32>(p.b_off) + clamped(n0, p.n) * p.b_ns;
    let ns1 = vec4<u32>(p.b_off) + clamped(n0 + 4u, p.n) * p.b_ns;
    for (var k = k_whole; k < k_end; k++) {
        let x0 = a_scalars(ms0 + k * p.a_ks);
        let x1 = a_scalars(ms1 + k * p.a_ks);
        let y0 = b_scalars(ns0 + k * p.b_ks);
        let y1 = b_scalars(ns1 + k * p.b_ks);
        c00 = rank_one(c00, x0, y0);
        c01 = rank_one(c01, x0, y1);
        c10 = rank_one(c10, x1, y0);
        c11 = rank_one(c11, x1, y1);
    }
    g.z = zmn.x;
    g.m0 = m0;
    g.n0 = n0;
    g.r00 = transpose(c00);
    g.r01 = transpose(c01);
    g.r10 = transpose(c10);
    g.r11 = transpose(c11);
    return g;
}

// The block's rows as a loop over an array: each half row is lo (even index) or hi (odd).
// Loops, not 8 × 8 unrolled stores, because a shader compiler without loop unrolling (the
// browser's SwiftShader) then builds one store and one activation instead of 64 of each: the
// unrolled epilogues took 1–3 s each of a first training step's pipeline builds there.
fn block_rows(g: Block) -> array<vec4<f32>, 16> {
    return array<vec4<f32>, 16>(
        g.r00[0], g.r01[0], g.r00[1], g.r01[1], g.r00[2], g.r01[2], g.r00[3], g.r01[3],
        g.r10[0], g.r11[0], g.r10[1], g.r11[1], g.r10[2], g.r11[2], g.r10[3], g.r11[3],
    );
}

// The any epilogue: element by element.
fn store_block_any(g: Block) {
    if (!g.live) {
        return;
    }
    var rows = block_rows(g);
    for (var h = 0u; h < 16u; h++) {
        let v = rows[h];
        let col0 = g.n0 + (h % 2u) * 4u;
        for (var t = 0u; t < 4u; t++) {
            put_any(g.m0 + h / 2u, col0 + t, v[t], g.z);
        }
    }
}

// The plain (act false) and act (act true) epilogues: one vec4 per half row.
fn store_block_plain(g: Block, act: bool) {
    if (!g.live) {
        return;
    }
    let z = g.z;
    let m0 = g.m0;
    let n0 = g.n0;
    // Split-K partial sums go plain into the workspace; matmul_split_sum does the epilogue.
    let split = p.split_mn != 0u;
    let to = select(p.c_off + m0 * p.c_ms + n0, z * p.split_mn + m0 * p.n + n0, split) / 4u;
    let stride = select(p.c_ms, p.n, split) / 4u;
    let keep = p.accumulate == 1u && !split;
    // The bias buffer is always bound, so both kinds of bias are read and `select` keeps the
    // one in use (a product with 0 would let an Inf or NaN read there through).
    let has_bias = p.bias_off != NO_BIAS && !split;
    let use_cols = has_bias && p.bias_rows == 0u;
    let use_rows = has_bias && p.bias_rows == 1u;
    let o = select(p.bias_off, 0u, p.bias_off == NO_BIAS);
    let zero = vec4<f32>(0.0);
    let cols_lo = select(zero, vec4<f32>(bias[o + n0], bias[o + n0 + 1u], bias[o + n0 + 2u], bias[o + n0 + 3u]), use_cols);
    let cols_hi = select(zero, vec4<f32>(bias[o + n0 + 4u], bias[o + n0 + 5u], bias[o + n0 + 6u], bias[o + n0 + 7u]), use_cols);
    let rows_lo = select(zero, vec4<f32>(bias[o + m0], bias[o + m0 + 1u], bias[o + m0 + 2u], bias[o + m0 + 3u]), use_rows);
    let rows_hi = select(zero, vec4<f32>(bias[o + m0 + 4u], bias[o + m0 + 5u], bias[o + m0 + 6u], bias[o + m0 + 7u]), use_rows);
    let row_bias = array<vec4<f32>, 2>(rows_lo, rows_hi);
    var rows = block_rows(g);
    for (var r = 0u; r < 8u; r++) {
        let rb = row_bias[r / 4u][r % 4u];
        put_plain_row(to + r * stride, rows[2u * r], rows[2u * r + 1u], cols_lo + rb, cols_hi + rb, keep, act);
    }
}

// A along k, B along n: dy·W, and the convolutions' W·columns.
@compute @workgroup_size(WG, 1, 1)
fn matmul_gemm_vec4_kn(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    store_block_any(gemm_vec4(gid, nwg, true, true));
}

@compute @workgroup_size(WG, 1, 1)
fn matmul_gemm_vec4_kn_plain(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    store_block_plain(gemm_vec4(gid, nwg, true, true), false);
}

@compute @workgroup_size(WG, 1, 1)
fn matmul_gemm_vec4_kn_act(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    store_block_plain(gemm_vec4(gid, nwg, true, true), true);
}

// A and B along k: x·Wᵀ.
@compute @workgroup_size(WG, 1, 1)
fn matmul_gemm_vec4_kk(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    store_block_any(gemm_vec4(gid, nwg, true, false));
}

@compute @workgroup_size(WG, 1, 1)
fn matmul_gemm_vec4_kk_plain(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    store_block_plain(gemm_vec4(gid, nwg, true, false), false);
}

@compute @workgroup_size(WG, 1, 1)
fn matmul_gemm_vec4_kk_act(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    store_block_plain(gemm_vec4(gid, nwg, true, false), true);
}

// A along m, B along n: dyᵀ·x.
@compute @workgroup_size(WG, 1, 1)
fn matmul_gemm_vec4_mn(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    store_block_any(gemm_vec4(gid, nwg, false, true));
}

@compute @workgroup_size(WG, 1, 1)
fn matmul_gemm_vec4_mn_plain(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    store_block_plain(gemm_vec4(gid, nwg, false, true), false);
}

@compute @workgroup_size(WG, 1, 1)
fn matmul_gemm_vec4_mn_act(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    store_block_plain(gemm_vec4(gid, nwg, false, true), true);
}

// A along m, B along k.
@compute @workgroup_size(WG, 1, 1)
fn matmul_gemm_vec4_mk(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    store_block_any(gemm_vec4(gid, nwg, false, false));
}

@compute @workgroup_size(WG, 1, 1)
fn matmul_gemm_vec4_mk_plain(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    store_block_plain(gemm_vec4(gid, nwg, false, false), false);
}

@compute @workgroup_size(WG, 1, 1)
fn matmul_gemm_vec4_mk_act(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    store_block_plain(gemm_vec4(gid, nwg, false, false), true);
}

// ---- tall: the registers style with 16 × 8 blocks (lavapipe) ------------------------------
//
// The same product with 16 rows a block, so each value of B loaded feeds twice the
// multiply-adds. lavapipe (Mesa 22) loads storage buffers lane by lane with a bounds check per
// component, so there it took 1.05–1.35× off the 8 × 8 blocks' time (`bench matmul`, the mlp's
// shapes and 512³); SwiftShader ran the mlp 1.36× slower with it and built its pipelines in
// twice the time, so the browser keeps 8 × 8 (src/gpu/kernels.rs, Variant). A long K is summed
// in blocks of k_block inside the invocation (src/gpu/gemm.rs).
// Invocation (split, row block, column block) as `block_of` says; its 16 × 8 block in eight
// quarters c_ij (rows 4i.., columns 4j..).
// An invocation's finished 16 × 8 block: rows 4i..4i + 3 in ri0 (columns 0..3) and ri1 (4..7),
// each matrix's column j being one row.
struct TallBlock {
    live: bool,
    z: u32, m0: u32, n0: u32,
    r00: mat4x4<f32>, r01: mat4x4<f32>, r10: mat4x4<f32>, r11: mat4x4<f32>,
    r20: mat4x4<f32>, r21: mat4x4<f32>, r30: mat4x4<f32>, r31: mat4x4<f32>,
}

const TALL_ROWS: u32 = 16u;
const TALL_COLS: u32 = 8u;

fn gemm_tall(gid: vec3<u32>, nwg: vec3<u32>, a_along_k: bool, b_along_n: bool) -> TallBlock {
    var g: TallBlock;
    let zmn = block_of(flat_index(gid, nwg), TALL_ROWS, TALL_COLS);
    let k_begin = zmn.x * p.k_chunk;
    g.live = k_begin < max(p.k, 1u);
    if (!g.live) {
        return g;
    }
    let k_end = min(k_begin + p.k_chunk, p.k);
    let m0 = zmn.y;
    let n0 = zmn.z;
    // Past the edge: a clamped row (column) along k; along m (n), the next vec4s, which are
    // inside the buffer or read as zero or some value inside it (WebGPU's robust access).
    let rows0 = (vec4<u32>(p.a_off) + clamped(m0, p.m) * p.a_ms) / 4u;
    let rows1 = (vec4<u32>(p.a_off) + clamped(m0 + 4u, p.m) * p.a_ms) / 4u;
    let rows2 = (vec4<u32>(p.a_off) + clamped(m0 + 8u, p.m) * p.a_ms) / 4u;
    let rows3 = (vec4<u32>(p.a_off) + clamped(m0 + 12u, p.m) * p.a_ms) / 4u;
    let cols0 = (vec4<u32>(p.b_off) + clamped(n0, p.n) * p.b_ns) / 4u;
    let cols1 = (vec4<u32>(p.b_off) + clamped(n0 + 4u, p.n) * p.b_ns) / 4u;
    let a_base = (p.a_off + m0) / 4u;
    let b_base = (p.b_off + n0) / 4u;
    // The same, as flat offsets, for the scalar steps of K.
    let ms0 = vec4<u32>(p.a_off) + clamped(m0, p.m) * p.a_ms;
    let ms1 = vec4<u32>(p.a_off) + clamped(m0 + 4u, p.m) * p.a_ms;
    let ms2 = vec4<u32>(p.a_off) + clamped(m0 + 8u, p.m) * p.a_ms;
    let ms3 = vec4<u32>(p.a_off) + clamped(m0 + 12u, p.m) * p.a_ms;
    let ns0 = vec4<u32>(p.b_off) + clamped(n0, p.n) * p.b_ns;
    let ns1 = vec4<u32>(p.b_off) + clamped(n0 + 4u, p.n) * p.b_ns;
    // Sums of the whole split, block by block: s = (0 + block 0) + block 1 + ..., as
    // matmul_split_sum adds split partial sums, so one invocation looping over blocks gives the
    // f32 result of splitting at those blocks (src/gpu/gemm.rs).
    var s00 = mat4x4<f32>();
    var s01 = mat4x4<f32>();
    var s10 = mat4x4<f32>();
    var s11 = mat4x4<f32>();
    var s20 = mat4x4<f32>();
    var s21 = mat4x4<f32>();
    var s30 = mat4x4<f32>();
    var s31 = mat4x4<f32>();
    let block_len = max(p.k_block, 4u);
    for (var kb = k_begin; kb < k_end; kb += block_len) {
        let kb_end = min(kb + block_len, k_end);
        let k_whole = kb + (kb_end - kb) / 4u * 4u;
        var c00 = mat4x4<f32>();
        var c01 = mat4x4<f32>();
        var c10 = mat4x4<f32>();
        var c11 = mat4x4<f32>();
        var c20 = mat4x4<f32>();
        var c21 = mat4x4<f32>();
        var c30 = mat4x4<f32>();
        var c31 = mat4x4<f32>();
        for (var k = kb; k < k_whole; k += 4u) {
            let y0 = b_block(k, b_along_n, cols0, b_base);
            let y1 = b_block(k, b_along_n, cols1, b_base + 1u);
            let x0 = a_block(k, a_along_k, rows0, a_base);
            c00 = multiply_add(c00, x0, y0);
            c01 = multiply_add(c01, x0, y1);
            let x1 = a_block(k, a_along_k, rows1, a_base + 1u);
            c10 = multiply_add(c10, x1, y0);
            c11 = multiply_add(c11, x1, y1);
            let x2 = a_block(k, a_along_k, rows2, a_base + 2u);
            c20 = multiply_add(c20, x2, y0);
            c21 = multiply_add(c21, x2, y1);
            let x3 = a_block(k, a_along_k, rows3, a_base + 3u);
            c30 = multiply_add(c30, x3, y0);
            c31 = multiply_add(c31, x3, y1);
        }
        // The steps of K past its last multiple of 4, one k at a time, in one loop for the whole
        // block (one loop to compile, not one per quarter).
        for (var k = k_whole; k < kb_end; k++) {
            let y0 = b_scalars(ns0 + k * p.b_ks);
            let y1 = b_scalars(ns1 + k * p.b_ks);
            let x0 = a_scalars(ms0 + k * p.a_ks);
            let x1 = a_scalars(ms1 + k * p.a_ks);
            let x2 = a_scalars(ms2 + k * p.a_ks);
            let x3 = a_scalars(ms3 + k * p.a_ks);
            c00 = rank_one(c00, x0, y0);
            c01 = rank_one(c01, x0, y1);
            c10 = rank_one(c10, x1, y0);
            c11 = rank_one(c11, x1, y1);
            c20 = rank_one(c20, x2, y0);
            c21 = rank_one(c21, x2, y1);
            c30 = rank_one(c30, x3, y0);
            c31 = rank_one(c31, x3, y1);
        }
        s00 += c00;
        s01 += c01;
        s10 += c10;
        s11 += c11;
        s20 += c20;
        s21 += c21;
        s30 += c30;
        s31 += c31;
    }
    g.z = zmn.x;
    g.m0 = m0;
    g.n0 = n0;
    g.r00 = transpose(s00);
    g.r01 = transpose(s01);
    g.r10 = transpose(s10);
    g.r11 = transpose(s11);
    g.r20 = transpose(s20);
    g.r21 = transpose(s21);
    g.r30 = transpose(s30);
    g.r31 = transpose(s31);
    return g;
}

// The block's rows as a loop over an array: each half row is lo (even index) or hi (odd).
// Loops, not 16 × 8 unrolled stores, because a shader compiler without loop unrolling (the
// browser's SwiftShader) then builds one store and one activation instead of 128 of each: the
// unrolled epilogues took 1–3 s each of a first training step's pipeline builds there.
fn tall_rows(g: TallBlock) -> array<vec4<f32>, 32> {
    return array<vec4<f32>, 32>(
        g.r00[0], g.r01[0], g.r00[1], g.r01[1], g.r00[2], g.r01[2], g.r00[3], g.r01[3],
        g.r10[0], g.r11[0], g.r10[1], g.r11[1], g.r10[2], g.r11[2], g.r10[3], g.r11[3],
        g.r20[0], g.r21[0], g.r20[1], g.r21[1], g.r20[2], g.r21[2], g.r20[3], g.r21[3],
        g.r30[0], g.r31[0], g.r30[1], g.r31[1], g.r30[2], g.r31[2], g.r30[3], g.r31[3],
    );
}

// The tall any epilogue: element by element.
fn store_tall_any(g: TallBlock) {
    if (!g.live) {
        return;
    }
    var rows = tall_rows(g);
    for (var h = 0u; h < 2u * TALL_ROWS; h++) {
        let v = rows[h];
        let col0 = g.n0 + (h % 2u) * 4u;
        for (var t = 0u; t < 4u; t++) {
            put_any(g.m0 + h / 2u, col0 + t, v[t], g.z);
        }
    }
}

// Four consecutive bias values from `at` (or 0 when `use_it` is false).
fn bias4(at: u32, use_it: bool) -> vec4<f32> {
    return select(vec4<f32>(0.0), vec4<f32>(bias[at], bias[at + 1u], bias[at + 2u], bias[at + 3u]), use_it);
}

// The tall plain (act false) and act (act true) epilogues: one vec4 per half row.
fn store_tall_plain(g: TallBlock, act: bool) {
    if (!g.live) {
        return;
    }
    let z = g.z;
    let m0 = g.m0;
    let n0 = g.n0;
    // Split-K partial sums go plain into the workspace; matmul_split_sum does the epilogue.
    let split = p.split_mn != 0u;
    let to = select(p.c_off + m0 * p.c_ms + n0, z * p.split_mn + m0 * p.n + n0, split) / 4u;
    let stride = select(p.c_ms, p.n, split) / 4u;
    let keep = p.accumulate == 1u && !split;
    // The bias buffer is always bound, so both kinds of bias are read and `select` keeps the
    // one in use (a product with 0 would let an Inf or NaN read there through).
    let has_bias = p.bias_off != NO_BIAS && !split;
    let use_cols = has_bias && p.bias_rows == 0u;
    let use_rows = has_bias && p.bias_rows == 1u;
    let o = select(p.bias_off, 0u, p.bias_off == NO_BIAS);
    let cols_lo = bias4(o + n0, use_cols);
    let cols_hi = bias4(o + n0 + 4u, use_cols);
    let row_bias = array<vec4<f32>, 4>(bias4(o + m0, use_rows), bias4(o + m0 + 4u, use_rows), bias4(o + m0 + 8u, use_rows), bias4(o + m0 + 12u, use_rows));
    var rows = tall_rows(g);
    for (var r = 0u; r < TALL_ROWS; r++) {
        let rb = row_bias[r / 4u][r % 4u];
        put_plain_row(to + r * stride, rows[2u * r], rows[2u * r + 1u], cols_lo + rb, cols_hi + rb, keep, act);
    }
}

// A along k, B along n.
@compute @workgroup_size(WG, 1, 1)
fn matmul_tall_kn(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    store_tall_any(gemm_tall(gid, nwg, true, true));
}

@compute @workgroup_size(WG, 1, 1)
fn matmul_tall_kn_plain(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    store_tall_plain(gemm_tall(gid, nwg, true, true), false);
}

@compute @workgroup_size(WG, 1, 1)
fn matmul_tall_kn_act(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    store_tall_plain(gemm_tall(gid, nwg, true, true), true);
}

// A and B along k.
@compute @workgroup_size(WG, 1, 1)
fn matmul_tall_kk(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    store_tall_any(gemm_tall(gid, nwg, true, false));
}

@compute @workgroup_size(WG, 1, 1)
fn matmul_tall_kk_plain(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    store_tall_plain(gemm_tall(gid, nwg, true, false), false);
}

@compute @workgroup_size(WG, 1, 1)
fn matmul_tall_kk_act(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    store_tall_plain(gemm_tall(gid, nwg, true, false), true);
}

// A along m, B along n.
@compute @workgroup_size(WG, 1, 1)
fn matmul_tall_mn(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    store_tall_any(gemm_tall(gid, nwg, false, true));
}

@compute @workgroup_size(WG, 1, 1)
fn matmul_tall_mn_plain(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    store_tall_plain(gemm_tall(gid, nwg, false, true), false);
}

@compute @workgroup_size(WG, 1, 1)
fn matmul_tall_mn_act(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    store_tall_plain(gemm_tall(gid, nwg, false, true), true);
}

// A along m, B along k.
@compute @workgroup_size(WG, 1, 1)
fn matmul_tall_mk(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    store_tall_any(gemm_tall(gid, nwg, false, false));
}

@compute @workgroup_size(WG, 1, 1)
fn matmul_tall_mk_plain(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    store_tall_plain(gemm_tall(gid, nwg, false, false), false);
}

@compute @workgroup_size(WG, 1, 1)
fn matmul_tall_mk_act(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    store_tall_plain(gemm_tall(gid, nwg, false, false), true);
}

// ---- tiles -----------------------------------------------------------------------------

// Tile sizes; src/nn/linear.rs TILE and TILE_K must agree. 256 invocations, each 4 × 4 outputs.
const TM: u32 = 64u;
const TN: u32 = 64u;
const TK: u32 = 16u;
// tile_a[kk·TM/4 + mq][t] = A[m_base + 4·mq + t, k0 + kk]; tile_b likewise along n. 8 KiB.
var<workgroup> tile_a: array<vec4<f32>, 256>;
var<workgroup> tile_b: array<vec4<f32>, 256>;

// A[m, k], or 0 outside the product or the split.
fn a_at(m: u32, k: u32, k_end: u32) -> f32 {
    if (m < p.m && k < k_end) {
        return a[p.a_off + m * p.a_ms + k * p.a_ks];
    }
    return 0.0;
}

// B[k, n], or 0 outside the product or the split.
fn b_at(k: u32, n: u32, k_end: u32) -> f32 {
    if (n < p.n && k < k_end) {
        return b[p.b_off + k * p.b_ks + n * p.b_ns];
    }
    return 0.0;
}

// Workgroup (column tile, row tile, split z). Each step of k stages a TK-deep slice of A's and
// B's tiles: every invocation reads four neighbouring rows (columns) at one k and stores them as
// one vec4, numbered so that neighbouring invocations read neighbouring addresses along
// whichever axis is contiguous. Then every invocation does 4 × 4 × TK multiply-adds from
// workgroup memory.
@compute @workgroup_size(16, 16, 1)
fn matmul_gemm_tiles(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let m_base = wid.y * TM;
    let n_base = wid.x * TN;
    // Depend on the workgroup only, so the barriers stay in uniform control flow.
    let k_begin = wid.z * p.k_chunk;
    let k_end = min(k_begin + p.k_chunk, p.k);
    // (k, group of four rows) this invocation stages: k fastest when A is contiguous along k.
    var ak = li / (TM / 4u);
    var aq = li % (TM / 4u);
    if (p.a_ks == 1u) {
        ak = li % TK;
        aq = li / TK;
    }
    var bk = li / (TN / 4u);
    var bq = li % (TN / 4u);
    if (p.b_ns != 1u && p.b_ks == 1u) {
        bk = li % TK;
        bq = li / TK;
    }
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var k0 = k_begin; k0 < k_end; k0 += TK) {
        let m = m_base + 4u * aq;
        let ka = k0 + ak;
        tile_a[ak * (TM / 4u) + aq] =
            vec4<f32>(a_at(m, ka, k_end), a_at(m + 1u, ka, k_end), a_at(m + 2u, ka, k_end), a_at(m + 3u, ka, k_end));
        let n = n_base + 4u * bq;
        let kb = k0 + bk;
        tile_b[bk * (TN / 4u) + bq] =
            vec4<f32>(b_at(kb, n, k_end), b_at(kb, n + 1u, k_end), b_at(kb, n + 2u, k_end), b_at(kb, n + 3u, k_end));
        workgroupBarrier();
        for (var kk = 0u; kk < TK; kk++) {
            let av = tile_a[kk * (TM / 4u) + lid.y];
            let bv = tile_b[kk * (TN / 4u) + lid.x];
            acc0 = fma(vec4<f32>(av.x), bv, acc0);
            acc1 = fma(vec4<f32>(av.y), bv, acc1);
            acc2 = fma(vec4<f32>(av.z), bv, acc2);
            acc3 = fma(vec4<f32>(av.w), bv, acc3);
        }
        workgroupBarrier();
    }
    let row0 = m_base + lid.y * 4u;
    let col0 = n_base + lid.x * 4u;
    store4(row0, col0, acc0, wid.z);
    store4(row0 + 1u, col0, acc1, wid.z);
    store4(row0 + 2u, col0, acc2, wid.z);
    store4(row0 + 3u, col0, acc3, wid.z);
}

// C[m, n] (+)= Σ_z partial_z[m, n] (+ bias), z in order, so a run is reproducible.
@compute @workgroup_size(WG, 1, 1)
fn matmul_split_sum(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= p.m * p.n) {
        return;
    }
    let splits = (p.k + p.k_chunk - 1u) / p.k_chunk;
    var v = 0.0;
    for (var z = 0u; z < splits; z++) {
        v += parts[z * p.split_mn + i];
    }
    store(i / p.n, i % p.n, v);
}

// ---- baseline ----------------------------------------------------------------------------

// One output per invocation: the baseline the other styles must beat in examples/bench.rs,
// and a second opinion in the tests.
@compute @workgroup_size(8, 8, 1)
fn matmul_gemm_naive(@builtin(global_invocation_id) gid: vec3<u32>) {
    let row = gid.y;
    let col = gid.x;
    if (row >= p.m || col >= p.n) {
        return;
    }
    var v = 0.0;
    for (var kk = 0u; kk < p.k; kk++) {
        v += a[p.a_off + row * p.a_ms + kk * p.a_ks] * b[p.b_off + kk * p.b_ks + col * p.b_ns];
    }
    store(row, col, v);
}
