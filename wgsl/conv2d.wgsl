// 2-D convolution, PyTorch's Conv2d without dilation or groups (s = stride, pad = padding):
//   x: (N, Cin, H, W)  w: (Cout, Cin, K, K)  b: (Cout)  y: (N, Cout, Ho, Wo),  Ho = (H + 2·pad − K) / s + 1
//   y[n,co,oh,ow] = b[co] + Σ_{ci,kh,kw} x[n, ci, oh·s − pad + kh, ow·s − pad + kw] · w[co,ci,kh,kw]
// with x = 0 outside the image. w and b live in the parameter arena at w_off and b_off; dW
// accumulates at w_off in the grads arena.
// Register blocking: an invocation owns CB channels × PB pixels (16 accumulators), so each value
// it loads is used four times from registers. Software rasterisers (lavapipe, SwiftShader) reward
// this and punish workgroup-memory tiling.

struct Conv2dParams {
    n: u32, c_in: u32, h: u32, w: u32,
    c_out: u32, ho: u32, wo: u32, k: u32,
    stride: u32, pad: u32, w_off: u32, b_off: u32,
}

@group(0) @binding(0) var<uniform> p: Conv2dParams;
// conv2d_fwd:   y | x, prm
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> prm: array<f32>;
// conv2d_bwd_x: dx | dy, prm
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
// conv2d_bwd_w: gw | x, dy_w. It reads both x and dy, which the other two entry points bind at 2,
// so dy has a second name at binding 3 here.
@group(0) @binding(1) var<storage, read_write> gw: array<f32>;
@group(0) @binding(3) var<storage, read> dy_w: array<f32>;

const CB: u32 = 4u; // channels per invocation (src/conv2d.rs BLOCK)
const PB: u32 = 4u; // pixels per invocation (src/conv2d.rs BLOCK)

// x[row + c0 + t·step] for t = 0..3, 0 where the column is outside [0, W).
fn x_cols(row: u32, c0: i32, step: i32) -> vec4<f32> {
    var v = vec4<f32>(0.0);
    for (var t = 0; t < 4; t++) {
        let c = c0 + t * step;
        if (c >= 0 && c < i32(p.w)) {
            v[t] = x[row + u32(c)];
        }
    }
    return v;
}

// dy[row + c0 + t] for t = 0..3, 0 where the column is outside [0, Wo).
fn dy_cols(row: u32, c0: i32) -> vec4<f32> {
    var v = vec4<f32>(0.0);
    for (var t = 0; t < 4; t++) {
        let c = c0 + t;
        if (c >= 0 && c < i32(p.wo)) {
            v[t] = dy[row + u32(c)];
        }
    }
    return v;
}

// Invocation (n, co block, oh, ow block), ow block fastest; acc[j][t] = y[n, co0 + j, oh, ow0 + t].
@compute @workgroup_size(WG, 1, 1)
fn conv2d_fwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let cols = (p.wo + PB - 1u) / PB;
    let chans = (p.c_out + CB - 1u) / CB;
    var i = flat_index(gid, nwg);
    if (i >= p.n * chans * p.ho * cols) {
        return;
    }
    let ow0 = (i % cols) * PB;
    i /= cols;
    let oh = i % p.ho;
    i /= p.ho;
    let co0 = (i % chans) * CB;
    let n = i / chans;

    let kk = p.k * p.k;
    // w[co0 + j, 0, 0, 0]; channels past Cout read the last one and are never stored.
    var wrow: array<u32, 4>;
    for (var j = 0u; j < CB; j++) {
        wrow[j] = p.w_off + min(co0 + j, p.c_out - 1u) * p.c_in * kk;
    }
    let iw0 = i32(ow0 * p.stride) - i32(p.pad);
    var acc: array<vec4<f32>, 4>;
    for (var ci = 0u; ci < p.c_in; ci++) {
        for (var kh = 0u; kh < p.k; kh++) {
            let ih = i32(oh * p.stride + kh) - i32(p.pad);
            if (ih < 0 || ih >= i32(p.h)) {
                continue;
            }
            let xrow = ((n * p.c_in + ci) * p.h + u32(ih)) * p.w;
            let wtap = (ci * p.k + kh) * p.k;
            for (var kw = 0u; kw < p.k; kw++) {
                let xv = x_cols(xrow, iw0 + i32(kw), i32(p.stride));
                let t = wtap + kw;
                acc[0] += prm[wrow[0] + t] * xv;
                acc[1] += prm[wrow[1] + t] * xv;
                acc[2] += prm[wrow[2] + t] * xv;
                acc[3] += prm[wrow[3] + t] * xv;
            }
        }
    }
    for (var j = 0u; j < CB; j++) {
        let co = co0 + j;
        if (co >= p.c_out) {
            break;
        }
        let bias = prm[p.b_off + co];
        let yrow = ((n * p.c_out + co) * p.ho + oh) * p.wo;
        for (var t = 0u; t < PB; t++) {
            if (ow0 + t >= p.wo) {
                break;
            }
            y[yrow + ow0 + t] = acc[j][t] + bias;
        }
    }
}

// dx[n,ci,ih,iw] = Σ_{co,kh,kw} dy[n,co,oh,ow] · w[co,ci,kh,kw]
//   over the taps with ih + pad − kh = oh·s, iw + pad − kw = ow·s, 0 ≤ oh < Ho, 0 ≤ ow < Wo.
// A gather, so no atomics: only kh ≡ ih + pad (mod s) reaches row ih, so kh steps by s. The PB
// pixels of an invocation are columns iw_t = r + (PB·q + t)·s of one row, one residue class r of
// columns mod s: they share their valid kw, and their ow = (r + pad − kw)/s + PB·q + t are consecutive.
// Invocation (n, ci block, ih, column block (q, r)); acc[j][t] = dx[n, ci0 + j, ih, iw_t].
@compute @workgroup_size(WG, 1, 1)
fn conv2d_bwd_x(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let s = p.stride;
    let per_class = (p.w + s - 1u) / s;
    let cols = s * ((per_class + PB - 1u) / PB);
    let chans = (p.c_in + CB - 1u) / CB;
    var i = flat_index(gid, nwg);
    if (i >= p.n * chans * p.h * cols) {
        return;
    }
    let r = (i % cols) % s;
    let q = (i % cols) / s;
    i /= cols;
    let ih = i % p.h;
    i /= p.h;
    let ci0 = (i % chans) * CB;
    let n = i / chans;

    let kk = p.k * p.k;
    // w[0, ci0 + j, 0, 0]; channels past Cin read the last one and are never stored.
    var wcol: array<u32, 4>;
    for (var j = 0u; j < CB; j++) {
        wcol[j] = p.w_off + min(ci0 + j, p.c_in - 1u) * kk;
    }
    // kh0, kw0: the first taps that reach this row and these columns, landing at oh0 and (column
    // t = 0) ow0; each later tap, s further on, lands one row or column earlier: no division in the loops.
    let kh0 = (ih + p.pad) % s;
    let kw0 = (r + p.pad) % s;
    let oh0 = i32((ih + p.pad) / s);
    let ow0 = i32((r + p.pad) / s + q * PB);
    var acc: array<vec4<f32>, 4>;
    for (var co = 0u; co < p.c_out; co++) {
        var oh = oh0;
        for (var kh = kh0; kh < p.k && oh >= 0; kh += s) {
            if (oh < i32(p.ho)) {
                let dyrow = ((n * p.c_out + co) * p.ho + u32(oh)) * p.wo;
                let wtap = (co * p.c_in * p.k + kh) * p.k;
                var ow = ow0;
                for (var kw = kw0; kw < p.k; kw += s) {
                    let dv = dy_cols(dyrow, ow);
                    let t = wtap + kw;
                    acc[0] += prm[wcol[0] + t] * dv;
                    acc[1] += prm[wcol[1] + t] * dv;
                    acc[2] += prm[wcol[2] + t] * dv;
                    acc[3] += prm[wcol[3] + t] * dv;
                    ow -= 1;
                }
            }
            oh -= 1;
        }
    }
    for (var j = 0u; j < CB; j++) {
        let ci = ci0 + j;
        if (ci >= p.c_in) {
            break;
        }
        let dxrow = ((n * p.c_in + ci) * p.h + ih) * p.w;
        for (var t = 0u; t < PB; t++) {
            let iw = r + (q * PB + t) * s;
            if (iw >= p.w) {
                break;
            }
            dx[dxrow + iw] = acc[j][t];
        }
    }
}

// Per-invocation partial sums of conv2d_bwd_w, summed by a fixed-order tree (same result every run).
var<workgroup> partial: array<array<vec4<f32>, 4>, WG>;

// dW[co,ci,kh,kw] += Σ_{n,oh,ow} dy[n,co,oh,ow] · x[n, ci, oh·s − pad + kh, ow·s − pad + kw]
// One workgroup per (CB output channels × CB input channels, one tap (kh, kw)), numbered
// (co block, ci block, tap) with the tap fastest; its invocations share out the (n, oh) rows.
// acc[j][m] = dW[co0 + j, ci0 + m, kh, kw].
@compute @workgroup_size(WG, 1, 1)
fn conv2d_bwd_w(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let kk = p.k * p.k;
    let co_blocks = (p.c_out + CB - 1u) / CB;
    let ci_blocks = (p.c_in + CB - 1u) / CB;
    var b = wid.x + wid.y * nwg.x;
    // Depends on the workgroup only, so the barriers below stay in uniform control flow.
    if (b >= co_blocks * ci_blocks * kk) {
        return;
    }
    let tap = b % kk;
    b /= kk;
    let kh = tap / p.k;
    let kw = tap % p.k;
    let ci0 = (b % ci_blocks) * CB;
    let co0 = (b / ci_blocks) * CB;

    var acc: array<vec4<f32>, 4>;
    for (var row = lid; row < p.n * p.ho; row += WG) {
        let n = row / p.ho;
        let oh = row % p.ho;
        let ih = i32(oh * p.stride + kh) - i32(p.pad);
        if (ih < 0 || ih >= i32(p.h)) {
            continue;
        }
        // x[n, ci0 + m, ih, 0] and dy[n, co0 + j, oh, 0], channels clamped as in the other kernels.
        var xrow: array<u32, 4>;
        var dyrow: array<u32, 4>;
        for (var j = 0u; j < CB; j++) {
            xrow[j] = ((n * p.c_in + min(ci0 + j, p.c_in - 1u)) * p.h + u32(ih)) * p.w;
            dyrow[j] = ((n * p.c_out + min(co0 + j, p.c_out - 1u)) * p.ho + oh) * p.wo;
        }
        for (var ow = 0u; ow < p.wo; ow++) {
            let iw = i32(ow * p.stride + kw) - i32(p.pad);
            if (iw < 0 || iw >= i32(p.w)) {
                continue;
            }
            let c = u32(iw);
            let xv = vec4<f32>(x[xrow[0] + c], x[xrow[1] + c], x[xrow[2] + c], x[xrow[3] + c]);
            acc[0] += dy_w[dyrow[0] + ow] * xv;
            acc[1] += dy_w[dyrow[1] + ow] * xv;
            acc[2] += dy_w[dyrow[2] + ow] * xv;
            acc[3] += dy_w[dyrow[3] + ow] * xv;
        }
    }
    partial[lid] = acc;
    workgroupBarrier();
    for (var half = WG / 2u; half > 0u; half /= 2u) {
        if (lid < half) {
            for (var j = 0u; j < CB; j++) {
                partial[lid][j] += partial[lid + half][j];
            }
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        for (var j = 0u; j < CB; j++) {
            let co = co0 + j;
            for (var m = 0u; m < CB; m++) {
                let ci = ci0 + m;
                if (co < p.c_out && ci < p.c_in) {
                    gw[p.w_off + (co * p.c_in + ci) * kk + tap] += partial[0][j][m];
                }
            }
        }
    }
}
