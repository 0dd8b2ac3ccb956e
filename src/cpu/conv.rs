//! f64 twins of Conv2d and ConvTranspose2d (no dilation, no groups), in scatter form: each
//! x·w product is added where it lands, independently of the gather form the WGSL uses.
//!   Conv2d:          x (N, Cin, H, W)  w (Cout, Cin, K, K)  b (Cout)  y (N, Cout, Ho, Wo)
//!                    Ho = (H + 2·pad − K) / stride + 1
//!   ConvTranspose2d: x (N, Cin, H, W)  w (Cin, Cout, K, K)  b (Cout)  y (N, Cout, Ho, Wo)
//!                    Ho = (H − 1)·stride − 2·pad + K + output_pad
//! Both layers are a sum of products x[xi]·w[wi] into y[yi] over a fixed set of index triples, so
//! each forward and backward is one walk over that set.

/// Sizes of one convolution. `output_pad` only matters to ConvTranspose2d.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvDims {
    pub n: usize,
    pub c_in: usize,
    pub c_out: usize,
    pub h: usize,
    pub w: usize,
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
    pub output_pad: usize,
}

impl ConvDims {
    /// (Ho, Wo) of Conv2d.
    pub fn conv2d_out(&self) -> (usize, usize) {
        let out = |len: usize| (len + 2 * self.pad - self.k) / self.stride + 1;
        (out(self.h), out(self.w))
    }

    /// (Ho, Wo) of ConvTranspose2d.
    pub fn conv_transpose2d_out(&self) -> (usize, usize) {
        let out = |len: usize| (len - 1) * self.stride + self.k + self.output_pad - 2 * self.pad;
        (out(self.h), out(self.w))
    }
}

/// Calls `f(xi, wi, yi)` for every product x[xi]·w[wi] that Conv2d adds into y[yi]:
/// y[n,co,oh,ow] += x[n, ci, oh·s − pad + kh, ow·s − pad + kw] · w[co,ci,kh,kw].
/// Rows and columns are compared in padded coordinates (ih + pad), which stay unsigned.
fn conv2d_taps(d: &ConvDims, mut f: impl FnMut(usize, usize, usize)) {
    let (ho, wo) = d.conv2d_out();
    let (s, pad, k) = (d.stride, d.pad, d.k);
    for n in 0..d.n {
        for co in 0..d.c_out {
            for ci in 0..d.c_in {
                let x_plane = (n * d.c_in + ci) * d.h * d.w;
                let y_plane = (n * d.c_out + co) * ho * wo;
                for kh in 0..k {
                    for oh in 0..ho {
                        let ih_pad = oh * s + kh;
                        if ih_pad < pad || ih_pad >= d.h + pad {
                            continue;
                        }
                        let (x_row, y_row) = (x_plane + (ih_pad - pad) * d.w, y_plane + oh * wo);
                        for kw in 0..k {
                            let wi = ((co * d.c_in + ci) * k + kh) * k + kw;
                            for ow in 0..wo {
                                let iw_pad = ow * s + kw;
                                if iw_pad >= pad && iw_pad < d.w + pad {
                                    f(x_row + iw_pad - pad, wi, y_row + ow);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Calls `f(xi, wi, yi)` for every product x[xi]·w[wi] that ConvTranspose2d adds into y[yi]:
/// y[n, co, ih·s − pad + kh, iw·s − pad + kw] += x[n,ci,ih,iw] · w[ci,co,kh,kw].
/// Rows and columns are compared in padded coordinates (oh + pad), which stay unsigned.
fn conv_transpose2d_taps(d: &ConvDims, mut f: impl FnMut(usize, usize, usize)) {
    let (ho, wo) = d.conv_transpose2d_out();
    let (s, pad, k) = (d.stride, d.pad, d.k);
    for n in 0..d.n {
        for ci in 0..d.c_in {
            for co in 0..d.c_out {
                let x_plane = (n * d.c_in + ci) * d.h * d.w;
                let y_plane = (n * d.c_out + co) * ho * wo;
                for kh in 0..k {
                    for ih in 0..d.h {
                        let oh_pad = ih * s + kh;
                        if oh_pad < pad || oh_pad >= ho + pad {
                            continue;
                        }
                        let (x_row, y_row) = (x_plane + ih * d.w, y_plane + (oh_pad - pad) * wo);
                        for kw in 0..k {
                            let wi = ((ci * d.c_out + co) * k + kh) * k + kw;
                            for iw in 0..d.w {
                                let ow_pad = iw * s + kw;
                                if ow_pad >= pad && ow_pad < wo + pad {
                                    f(x_row + iw, wi, y_row + ow_pad - pad);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// y[n,c,i] = b[c] for y viewed as (N, C, Ho·Wo).
fn broadcast_bias(b: &[f64], n: usize, c: usize, inner: usize) -> Vec<f64> {
    (0..n * c * inner).map(|i| b[(i / inner) % c]).collect()
}

/// db[c] = Σ_{n,i} dy[n,c,i] for dy viewed as (N, C, Ho·Wo).
fn bias_grad(dy: &[f64], c: usize, inner: usize) -> Vec<f64> {
    let mut db = vec![0.0; c];
    for (i, g) in dy.iter().enumerate() {
        db[(i / inner) % c] += g;
    }
    db
}

pub fn conv2d_forward(x: &[f64], w: &[f64], b: &[f64], d: &ConvDims) -> Vec<f64> {
    let (ho, wo) = d.conv2d_out();
    let mut y = broadcast_bias(b, d.n, d.c_out, ho * wo);
    conv2d_taps(d, |xi, wi, yi| y[yi] += x[xi] * w[wi]);
    y
}

/// (dx, dw, db)
pub fn conv2d_backward(dy: &[f64], x: &[f64], w: &[f64], d: &ConvDims) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (ho, wo) = d.conv2d_out();
    let mut dx = vec![0.0; x.len()];
    let mut dw = vec![0.0; w.len()];
    conv2d_taps(d, |xi, wi, yi| {
        dx[xi] += dy[yi] * w[wi];
        dw[wi] += dy[yi] * x[xi];
    });
    (dx, dw, bias_grad(dy, d.c_out, ho * wo))
}

pub fn conv_transpose2d_forward(x: &[f64], w: &[f64], b: &[f64], d: &ConvDims) -> Vec<f64> {
    let (ho, wo) = d.conv_transpose2d_out();
    let mut y = broadcast_bias(b, d.n, d.c_out, ho * wo);
    conv_transpose2d_taps(d, |xi, wi, yi| y[yi] += x[xi] * w[wi]);
    y
}

/// (dx, dw, db)
pub fn conv_transpose2d_backward(dy: &[f64], x: &[f64], w: &[f64], d: &ConvDims) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (ho, wo) = d.conv_transpose2d_out();
    let mut dx = vec![0.0; x.len()];
    let mut dw = vec![0.0; w.len()];
    conv_transpose2d_taps(d, |xi, wi, yi| {
        dx[xi] += dy[yi] * w[wi];
        dw[wi] += dy[yi] * x[xi];
    });
    (dx, dw, bias_grad(dy, d.c_out, ho * wo))
}
