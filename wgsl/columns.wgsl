// Rearrangements that turn a convolution into GEMMs (src/gpu/conv_gemm.rs), for the samples
// n0 .. n0 + nc of a batch. A convolution relates a "big" side (N, Cb, H, W) and a "small" side
// (N, Cs, Ho, Wo) through w: (Cs, Cb, K, K) (s = stride, pad = padding):
//   small[n,cs,oh,ow] = Σ_{cb,kh,kw} w[cs,cb,kh,kw] · big[n, cb, oh·s − pad + kh, ow·s − pad + kw]
// Conv2d's forward is that product (big = x); ConvTranspose2d's forward is its transpose (big = y).
// The columns hold, for r = (cb, kh, kw) and j = (n − n0, oh, ow):
//   cols[r·ld + j] = big[n, cb, oh·s − pad + kh, ow·s − pad + kw]   (0 outside the image)
// with rows ld ≥ nc·Ho·Wo apart (a multiple of 4, the tail zero, so the GEMMs read vec4s).
// Each invocation walks a whole image row or plane: integer division is scalar on software
// rasterisers, so the indices are divided once per row, not once per element.

struct ColumnsParams {
    n0: u32, nc: u32, cb: u32, h: u32,
    w: u32, cs: u32, ho: u32, wo: u32,
    k: u32, stride: u32, pad: u32, ld: u32,
    bias_off: u32,        // columns_col2im: 0xffffffff, or bias[cb] at this offset of prm
    _pad0: u32, _pad1: u32, _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: ColumnsParams;
// columns_im2col: cols | big
@group(0) @binding(1) var<storage, read_write> cols: array<f32>;
@group(0) @binding(2) var<storage, read> big: array<f32>;
// columns_col2im: big_out | cols_in, prm
@group(0) @binding(1) var<storage, read_write> big_out: array<f32>;
@group(0) @binding(2) var<storage, read> cols_in: array<f32>;
@group(0) @binding(3) var<storage, read> prm: array<f32>;
// columns_channel_major: small_t | small
@group(0) @binding(1) var<storage, read_write> small_t: array<f32>;
@group(0) @binding(2) var<storage, read> small: array<f32>;

// Invocation (r, sample n − n0, oh), oh fastest: the Wo entries of one output row. The extra
// sample index nc writes the zero tail of the row r.
@compute @workgroup_size(WG, 1, 1)
fn columns_im2col(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    let kk = p.k * p.k;
    if (i >= p.cb * kk * (p.nc + 1u) * p.ho) {
        return;
    }
    let oh = i % p.ho;
    let m = (i / p.ho) % (p.nc + 1u);
    let r = i / (p.ho * (p.nc + 1u));
    let pixels = p.ho * p.wo;
    if (m == p.nc) {
        if (oh == 0u) {
            for (var j = p.nc * pixels; j < p.ld; j++) {
                cols[r * p.ld + j] = 0.0;
            }
        }
        return;
    }
    let cb = r / kk;
    let kh = (r % kk) / p.k;
    let kw = r % p.k;
    let out = r * p.ld + m * pixels + oh * p.wo;
    let ih = i32(oh * p.stride + kh) - i32(p.pad);
    if (ih < 0 || ih >= i32(p.h)) {
        for (var ow = 0u; ow < p.wo; ow++) {
            cols[out + ow] = 0.0;
        }
        return;
    }
    let row = (((p.n0 + m) * p.cb + cb) * p.h + u32(ih)) * p.w;
    var iw = i32(kw) - i32(p.pad);
    for (var ow = 0u; ow < p.wo; ow++) {
        var v = 0.0;
        if (iw >= 0 && iw < i32(p.w)) {
            v = big[row + u32(iw)];
        }
        cols[out + ow] = v;
        iw += i32(p.stride);
    }
}

// The transpose of im2col, as a gather (no atomics): every column entry that im2col would read
// from big[n, cb, ih, iw] is summed back into it, plus bias[cb] when there is one.
//   big[n,cb,ih,iw] = Σ_{kh,kw} cols[(cb,kh,kw)·ld + (n − n0, oh, ow)]
//     over oh·s = ih + pad − kh, ow·s = iw + pad − kw, 0 ≤ oh < Ho, 0 ≤ ow < Wo.
// Only kh ≡ ih + pad (mod s) reach row ih, so kh steps by s and oh by −1 (likewise kw, ow).
// Invocation (sample n − n0, cb, ih): one row of big.
@compute @workgroup_size(WG, 1, 1)
fn columns_col2im(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= p.nc * p.cb * p.h) {
        return;
    }
    let ih = i % p.h;
    let cb = (i / p.h) % p.cb;
    let m = i / (p.h * p.cb);
    let s = p.stride;
    var bias = 0.0;
    if (p.bias_off != 0xffffffffu) {
        bias = prm[p.bias_off + cb];
    }
    let row0 = cb * p.k * p.k;
    let sample = m * p.ho * p.wo;
    let out = (((p.n0 + m) * p.cb + cb) * p.h + ih) * p.w;
    let kh0 = (ih + p.pad) % s;
    let oh0 = i32((ih + p.pad) / s);
    for (var iw = 0u; iw < p.w; iw++) {
        var v = bias;
        var oh = oh0;
        for (var kh = kh0; kh < p.k && oh >= 0; kh += s) {
            if (oh < i32(p.ho)) {
                var ow = i32((iw + p.pad) / s);
                for (var kw = (iw + p.pad) % s; kw < p.k && ow >= 0; kw += s) {
                    if (ow < i32(p.wo)) {
                        let r = row0 + kh * p.k + kw;
                        v += cols_in[r * p.ld + sample + u32(oh) * p.wo + u32(ow)];
                    }
                    ow -= 1;
                }
            }
            oh -= 1;
        }
        big_out[out + iw] = v;
    }
}

// small (N, Cs, Ho, Wo) → small_t (Cs, ld): small_t[cs·ld + (n − n0, oh, ow)] = small[n, cs, oh, ow],
// the tail of each row zero. Invocation (cs, sample n − n0), the sample fastest: one plane; the
// extra sample index nc writes the tail.
@compute @workgroup_size(WG, 1, 1)
fn columns_channel_major(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= p.cs * (p.nc + 1u)) {
        return;
    }
    let m = i % (p.nc + 1u);
    let cs = i / (p.nc + 1u);
    let pixels = p.ho * p.wo;
    if (m == p.nc) {
        for (var j = p.nc * pixels; j < p.ld; j++) {
            small_t[cs * p.ld + j] = 0.0;
        }
        return;
    }
    let src_at = ((p.n0 + m) * p.cs + cs) * pixels;
    let dst_at = cs * p.ld + m * pixels;
    for (var j = 0u; j < pixels; j++) {
        small_t[dst_at + j] = small[src_at + j];
    }
}
