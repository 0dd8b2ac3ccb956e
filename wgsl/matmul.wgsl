// General strided matrix product, the three products of Linear in one kernel:
//   C[m, n] (+)= Σ_k A[m, k]·B[k, n] (+ bias[n])
// with A[m, k] = a[a_off + m·a_ms + k·a_ks], B[k, n] = b[b_off + k·b_ks + n·b_ns],
// C[m, n] = c[c_off + m·c_ms + n], so transposes are just strides and A or B may sit in an arena.
// Register blocking: each invocation owns a 4×4 block of C (16 accumulators, 8 loads per k),
// which software rasterisers (lavapipe, SwiftShader) reward over workgroup-memory tiling.

struct GemmParams {
    m: u32, n: u32, k: u32,
    accumulate: u32,      // 1: C += A·B (weight gradients); 0: C = A·B
    a_off: u32, a_ms: u32, a_ks: u32,
    b_off: u32, b_ks: u32, b_ns: u32,
    c_off: u32, c_ms: u32,
    bias_off: u32,        // 0xffffffff: no bias
    _pad0: u32, _pad1: u32, _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: GemmParams;
@group(0) @binding(1) var<storage, read_write> c: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

const TILE: u32 = 4u;

@compute @workgroup_size(8, 8, 1)
fn matmul_gemm(@builtin(global_invocation_id) gid: vec3<u32>) {
    let m0 = gid.y * TILE;
    let n0 = gid.x * TILE;
    if (m0 >= p.m || n0 >= p.n) {
        return;
    }
    // Rows/columns past the edge read a clamped (valid) address and are never stored.
    var arow: array<u32, 4>;
    var bcol: array<u32, 4>;
    for (var t = 0u; t < TILE; t++) {
        arow[t] = p.a_off + min(m0 + t, p.m - 1u) * p.a_ms;
        bcol[t] = p.b_off + min(n0 + t, p.n - 1u) * p.b_ns;
    }
    var acc: array<vec4<f32>, 4>;
    for (var kk = 0u; kk < p.k; kk++) {
        let ak = kk * p.a_ks;
        let bk = kk * p.b_ks;
        let bv = vec4<f32>(b[bcol[0] + bk], b[bcol[1] + bk], b[bcol[2] + bk], b[bcol[3] + bk]);
        acc[0] += a[arow[0] + ak] * bv;
        acc[1] += a[arow[1] + ak] * bv;
        acc[2] += a[arow[2] + ak] * bv;
        acc[3] += a[arow[3] + ak] * bv;
    }
    for (var i = 0u; i < TILE; i++) {
        let row = m0 + i;
        if (row >= p.m) {
            break;
        }
        for (var j = 0u; j < TILE; j++) {
            let col = n0 + j;
            if (col >= p.n) {
                break;
            }
            var v = acc[i][j];
            if (p.bias_off != 0xffffffffu) {
                v += bias[p.bias_off + col];
            }
            let at = p.c_off + row * p.c_ms + col;
            if (p.accumulate == 1u) {
                c[at] += v;
            } else {
                c[at] = v;
            }
        }
    }
}

// The simple form, one output per invocation: the baseline `matmul_gemm` must beat in
// examples/bench.rs, and a second opinion in the tests.
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
    if (p.bias_off != 0xffffffffu) {
        v += bias[p.bias_off + col];
    }
    let at = p.c_off + row * p.c_ms + col;
    if (p.accumulate == 1u) {
        c[at] += v;
    } else {
        c[at] = v;
    }
}
