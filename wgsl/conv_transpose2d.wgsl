// 2-D transposed convolution, PyTorch's ConvTranspose2d without dilation or groups
// (s = stride, pad = padding, op = output_padding): the input-gradient of a Conv2d, run forward.
//   x: (N, Cin, H, W)  w: (Cin, Cout, K, K)  b: (Cout)  y: (N, Cout, Ho, Wo),  Ho = (H − 1)·s − 2·pad + K + op
//   y[n,co,oh,ow] = b[co] + Σ_{ci,ih,iw,kh,kw : oh = ih·s − pad + kh, ow = iw·s − pad + kw} x[n,ci,ih,iw] · w[ci,co,kh,kw]
// w and b live in the parameter arena at w_off and b_off; dW accumulates at w_off in the grads arena.
// The three kernels mirror wgsl/conv2d.wgsl with the roles of x and y swapped: fwd is the gather of
// conv2d_bwd_x, bwd_x is conv2d_fwd without bias, bwd_w is conv2d_bwd_w. Same register blocking:
// CB channels × PB pixels per invocation.

struct ConvTranspose2dParams {
    n: u32, c_in: u32, h: u32, w: u32,
    c_out: u32, ho: u32, wo: u32, k: u32,
    stride: u32, pad: u32, w_off: u32, b_off: u32,
}

@group(0) @binding(0) var<uniform> p: ConvTranspose2dParams;
// conv_transpose2d_fwd:   y | x, prm
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> prm: array<f32>;
// conv_transpose2d_bwd_x: dx | dy, prm
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
// conv_transpose2d_bwd_w: gw | x, dy_w. It reads both x and dy, which the other two entry points
// bind at 2, so dy has a second name at binding 3 here.
@group(0) @binding(1) var<storage, read_write> gw: array<f32>;
@group(0) @binding(3) var<storage, read> dy_w: array<f32>;

const CB: u32 = 4u; // channels per invocation (src/conv2d.rs BLOCK)
const PB: u32 = 4u; // pixels per invocation (src/conv2d.rs BLOCK)

// x[row + c0 + t] for t = 0..3, 0 where the column is outside [0, W).
fn x_cols(row: u32, c0: i32) -> vec4<f32> {
    var v = vec4<f32>(0.0);
    for (var t = 0; t < 4; t++) {
        let c = c0 + t;
        if (c >= 0 && c < i32(p.w)) {
            v[t] = x[row + u32(c)];
        }
    }
    return v;
}

// dy[row + c0 + t·step] for t = 0..3, 0 where the column is outside [0, Wo).
fn dy_cols(row: u32, c0: i32, step: i32) -> vec4<f32> {
    var v = vec4<f32>(0.0);
    for (var t = 0; t < 4; t++) {
        let c = c0 + t * step;
        if (c >= 0 && c < i32(p.wo)) {
            v[t] = dy[row + u32(c)];
        }
    }
    return v;
}

// As a gather: y[n,co,oh,ow] = b[co] + Σ_{ci,kh,kw} x[n,ci,ih,iw] · w[ci,co,kh,kw]
//   over the taps with oh + pad − kh = ih·s, ow + pad − kw = iw·s, 0 ≤ ih < H, 0 ≤ iw < W.
// Only kh ≡ oh + pad (mod s) reaches row oh, so kh steps by s. The PB pixels of an invocation are
// columns ow_t = r + (PB·q + t)·s of one row, one residue class r of columns mod s: they share their
// valid kw, and their iw = (r + pad − kw)/s + PB·q + t are consecutive.
// Invocation (n, co block, oh, column block (q, r)); acc[j][t] = y[n, co0 + j, oh, ow_t].
@compute @workgroup_size(WG, 1, 1)
fn conv_transpose2d_fwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let s = p.stride;
    let per_class = (p.wo + s - 1u) / s;
    let cols = s * ((per_class + PB - 1u) / PB);
    let chans = (p.c_out + CB - 1u) / CB;
    var i = flat_index(gid, nwg);
    if (i >= p.n * chans * p.ho * cols) {
        return;
    }
    let r = (i % cols) % s;
    let q = (i % cols) / s;
    i /= cols;
    let oh = i % p.ho;
    i /= p.ho;
    let co0 = (i % chans) * CB;
    let n = i / chans;

    let kk = p.k * p.k;
    // w[0, co0 + j, 0, 0]; channels past Cout read the last one and are never stored.
    var wcol: array<u32, 4>;
    for (var j = 0u; j < CB; j++) {
        wcol[j] = p.w_off + min(co0 + j, p.c_out - 1u) * kk;
    }
    // kh0, kw0: the first taps that reach this row and these columns, landing at ih0 and (column
    // t = 0) iw0; each later tap, s further on, lands one row or column earlier: no division in the loops.
    let kh0 = (oh + p.pad) % s;
    let kw0 = (r + p.pad) % s;
    let ih0 = i32((oh + p.pad) / s);
    let iw0 = i32((r + p.pad) / s + q * PB);
    var acc: array<vec4<f32>, 4>;
    for (var ci = 0u; ci < p.c_in; ci++) {
        var ih = ih0;
        for (var kh = kh0; kh < p.k && ih >= 0; kh += s) {
            if (ih < i32(p.h)) {
                let xrow = ((n * p.c_in + ci) * p.h + u32(ih)) * p.w;
                let wtap = (ci * p.c_out * p.k + kh) * p.k;
                var iw = iw0;
                for (var kw = kw0; kw < p.k; kw += s) {
                    let xv = x_cols(xrow, iw);
                    let t = wtap + kw;
                    acc[0] += prm[wcol[0] + t] * xv;
                    acc[1] += prm[wcol[1] + t] * xv;
                    acc[2] += prm[wcol[2] + t] * xv;
                    acc[3] += prm[wcol[3] + t] * xv;
                    iw -= 1;
                }
            }
            ih -= 1;
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
            let ow = r + (q * PB + t) * s;
            if (ow >= p.wo) {
                break;
            }
            y[yrow + ow] = acc[j][t] + bias;
        }
    }
}

// dx[n,ci,ih,iw] = Σ_{co,kh,kw} dy[n, co, ih·s − pad + kh, iw·s − pad + kw] · w[ci,co,kh,kw]
// with dy = 0 outside (Ho, Wo). Invocation (n, ci block, ih, iw block), iw block fastest;
// acc[j][t] = dx[n, ci0 + j, ih, iw0 + t].
@compute @workgroup_size(WG, 1, 1)
fn conv_transpose2d_bwd_x(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let cols = (p.w + PB - 1u) / PB;
    let chans = (p.c_in + CB - 1u) / CB;
    var i = flat_index(gid, nwg);
    if (i >= p.n * chans * p.h * cols) {
        return;
    }
    let iw0 = (i % cols) * PB;
    i /= cols;
    let ih = i % p.h;
    i /= p.h;
    let ci0 = (i % chans) * CB;
    let n = i / chans;

    let kk = p.k * p.k;
    // w[ci0 + j, 0, 0, 0]; channels past Cin read the last one and are never stored.
    var wrow: array<u32, 4>;
    for (var j = 0u; j < CB; j++) {
        wrow[j] = p.w_off + min(ci0 + j, p.c_in - 1u) * p.c_out * kk;
    }
    let ow0 = i32(iw0 * p.stride) - i32(p.pad);
    var acc: array<vec4<f32>, 4>;
    for (var co = 0u; co < p.c_out; co++) {
        for (var kh = 0u; kh < p.k; kh++) {
            let oh = i32(ih * p.stride + kh) - i32(p.pad);
            if (oh < 0 || oh >= i32(p.ho)) {
                continue;
            }
            let dyrow = ((n * p.c_out + co) * p.ho + u32(oh)) * p.wo;
            let wtap = (co * p.k + kh) * p.k;
            for (var kw = 0u; kw < p.k; kw++) {
                let dv = dy_cols(dyrow, ow0 + i32(kw), i32(p.stride));
                let t = wtap + kw;
                acc[0] += prm[wrow[0] + t] * dv;
                acc[1] += prm[wrow[1] + t] * dv;
                acc[2] += prm[wrow[2] + t] * dv;
                acc[3] += prm[wrow[3] + t] * dv;
            }
        }
    }
    for (var j = 0u; j < CB; j++) {
        let ci = ci0 + j;
        if (ci >= p.c_in) {
            break;
        }
        let dxrow = ((n * p.c_in + ci) * p.h + ih) * p.w;
        for (var t = 0u; t < PB; t++) {
            if (iw0 + t >= p.w) {
                break;
            }
            dx[dxrow + iw0 + t] = acc[j][t];
        }
    }
}

// Per-invocation partial sums of conv_transpose2d_bwd_w, summed by a fixed-order tree.
var<workgroup> partial: array<array<vec4<f32>, 4>, WG>;

// dW[ci,co,kh,kw] += Σ_{n,ih,iw} x[n,ci,ih,iw] · dy[n, co, ih·s − pad + kh, iw·s − pad + kw]
// One workgroup per (CB input channels × CB output channels, one tap (kh, kw)), numbered
// (ci block, co block, tap) with the tap fastest; its invocations share out the (n, ih) rows.
// acc[j][m] = dW[ci0 + j, co0 + m, kh, kw].
@compute @workgroup_size(WG, 1, 1)
fn conv_transpose2d_bwd_w(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let kk = p.k * p.k;
    let ci_blocks = (p.c_in + CB - 1u) / CB;
    let co_blocks = (p.c_out + CB - 1u) / CB;
    var b = wid.x + wid.y * nwg.x;
    // Depends on the workgroup only, so the barriers below stay in uniform control flow.
    if (b >= ci_blocks * co_blocks * kk) {
        return;
    }
    let tap = b % kk;
    b /= kk;
    let kh = tap / p.k;
    let kw = tap % p.k;
    let co0 = (b % co_blocks) * CB;
    let ci0 = (b / co_blocks) * CB;

    var acc: array<vec4<f32>, 4>;
    for (var row = lid; row < p.n * p.h; row += WG) {
        let n = row / p.h;
        let ih = row % p.h;
        let oh = i32(ih * p.stride + kh) - i32(p.pad);
        if (oh < 0 || oh >= i32(p.ho)) {
            continue;
        }
        // x[n, ci0 + j, ih, 0] and dy[n, co0 + m, oh, 0], channels clamped as in the other kernels.
        var xrow: array<u32, 4>;
        var dyrow: array<u32, 4>;
        for (var j = 0u; j < CB; j++) {
            xrow[j] = ((n * p.c_in + min(ci0 + j, p.c_in - 1u)) * p.h + ih) * p.w;
            dyrow[j] = ((n * p.c_out + min(co0 + j, p.c_out - 1u)) * p.ho + u32(oh)) * p.wo;
        }
        for (var iw = 0u; iw < p.w; iw++) {
            let ow = i32(iw * p.stride + kw) - i32(p.pad);
            if (ow < 0 || ow >= i32(p.wo)) {
                continue;
            }
            let c = u32(ow);
            let dv = vec4<f32>(dy_w[dyrow[0] + c], dy_w[dyrow[1] + c], dy_w[dyrow[2] + c], dy_w[dyrow[3] + c]);
            acc[0] += x[xrow[0] + iw] * dv;
            acc[1] += x[xrow[1] + iw] * dv;
            acc[2] += x[xrow[2] + iw] * dv;
            acc[3] += x[xrow[3] + iw] * dv;
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
            let ci = ci0 + j;
            for (var m = 0u; m < CB; m++) {
                let co = co0 + m;
                if (ci < p.c_in && co < p.c_out) {
                    gw[p.w_off + (ci * p.c_out + co) * kk + tap] += partial[0][j][m];
                }
            }
        }
    }
}
