use crate::support::*;
use nanogan::cpu::conv::{self as twin, ConvDims};
use nanogan::nn::conv2d::Conv2d;
use nanogan::nn::conv_transpose2d::ConvTranspose2d;
use nanogan::{Arena, ArenaBuilder, Error, Gpu, Init, InitRng, Kernel, Result, Step, Tensor};

/// [N, Cin, Cout, H, W, K, stride, pad, output_pad]
fn dims([n, c_in, c_out, h, w, k, stride, pad, output_pad]: [usize; 9]) -> ConvDims {
    ConvDims { n, c_in, c_out, h, w, k, stride, pad, output_pad }
}

/// Either layer, so one harness drives both.
enum Layer {
    Conv(Conv2d),
    Transpose(ConvTranspose2d),
}

impl Layer {
    fn new(b: &mut ArenaBuilder, d: &ConvDims, transpose: bool) -> Layer {
        let rng = &mut InitRng::new(5);
        let (ci, co, k, s, p) = (d.c_in, d.c_out, d.k, d.stride, d.pad);
        if transpose {
            Layer::Transpose(ConvTranspose2d::new(b, "c", ci, co, k, s, p, d.output_pad, Init::Torch, rng).unwrap())
        } else {
            Layer::Conv(Conv2d::new(b, "c", ci, co, k, s, p, Init::Torch, rng).unwrap())
        }
    }

    fn forward(&self, s: &mut Step, p: &Arena, y: &Tensor, x: &Tensor) -> Result<()> {
        match self {
            Layer::Conv(l) => l.forward(s, p, y, x),
            Layer::Transpose(l) => l.forward(s, p, y, x),
        }
    }

    fn backward(
        &self,
        s: &mut Step,
        p: &Arena,
        dx: Option<&Tensor>,
        dy: &Tensor,
        x: &Tensor,
        frozen: bool,
    ) -> Result<()> {
        match self {
            Layer::Conv(l) => l.backward(s, p, dx, dy, x, frozen),
            Layer::Transpose(l) => l.backward(s, p, dx, dy, x, frozen),
        }
    }
}

/// Random f32-exact weights, bias, x and dy for `d`, written to the GPU: (layer, arena, twin inputs, GPU tensors).
struct Setup {
    layer: Layer,
    arena: Arena,
    w: Vec<f64>,
    x: Vec<f64>,
    dy: Vec<f64>,
    bias: Vec<f64>,
    xt: Tensor,
    yt: Tensor,
    dxt: Tensor,
    dyt: Tensor,
}

fn setup(gpu: &Gpu, d: &ConvDims, transpose: bool) -> Setup {
    let mut b = ArenaBuilder::new();
    let layer = Layer::new(&mut b, d, transpose);
    let arena = b.build(gpu).unwrap();
    let (ho, wo) = if transpose { d.conv_transpose2d_out() } else { d.conv2d_out() };
    let w = rounded(&rand(1, d.c_in * d.c_out * d.k * d.k));
    let bias = rounded(&rand(2, d.c_out));
    arena.write(gpu, "c.weight", &to_f32(&w)).unwrap();
    arena.write(gpu, "c.bias", &to_f32(&bias)).unwrap();
    let (xs, ys) = ([d.n, d.c_in, d.h, d.w], [d.n, d.c_out, ho, wo]);
    let x = rounded(&rand(3, xs.iter().product()));
    let dy = rounded(&rand(4, ys.iter().product()));
    let xt = Tensor::from_slice(gpu, &xs, &to_f32(&x)).unwrap();
    let dyt = Tensor::from_slice(gpu, &ys, &to_f32(&dy)).unwrap();
    let (yt, dxt) = (Tensor::zeros(gpu, &ys).unwrap(), Tensor::zeros(gpu, &xs).unwrap());
    Setup { layer, arena, w, x, dy, bias, xt, yt, dxt, dyt }
}

/// |diff| allowed for a sum of `terms` f32 products of values in [-1, 1].
fn tol(terms: usize) -> f64 {
    1e-5 * (terms as f64).sqrt().max(1.0)
}

/// GPU forward and backward against the twin, with every kernel variant. Backward runs `passes`
/// times: dW and db must accumulate (`passes`× the twin), dx must be overwritten (1×).
fn check(case: [usize; 9], transpose: bool, passes: usize) {
    for gpu in gpus() {
        check_on(gpu, case, transpose, passes);
    }
}

fn check_on(gpu: &Gpu, case: [usize; 9], transpose: bool, passes: usize) {
    let d = dims(case);
    let t = setup(gpu, &d, transpose);
    let mut s = Step::new(gpu);
    t.layer.forward(&mut s, &t.arena, &t.yt, &t.xt).unwrap();
    for _ in 0..passes {
        t.layer.backward(&mut s, &t.arena, Some(&t.dxt), &t.dyt, &t.xt, false).unwrap();
    }
    s.submit().unwrap();
    let (y, (dx, dw, db)) = if transpose {
        let y = twin::conv_transpose2d_forward(&t.x, &t.w, &t.bias, &d);
        (y, twin::conv_transpose2d_backward(&t.dy, &t.x, &t.w, &d))
    } else {
        (twin::conv2d_forward(&t.x, &t.w, &t.bias, &d), twin::conv2d_backward(&t.dy, &t.x, &t.w, &d))
    };
    let layer = if transpose { "conv_transpose2d" } else { "conv2d" };
    let what = format!("{layer} {case:?} ({} kernels)", gpu.variant().name());
    let (kk, pixels) = (d.k * d.k, d.n * (t.yt.shape[2] * t.yt.shape[3]).max(d.h * d.w));
    let times = |v: Vec<f64>| v.into_iter().map(|g| passes as f64 * g).collect::<Vec<_>>();
    assert_close(&format!("{what} y"), &t.yt.read_blocking(gpu).unwrap(), &y, tol(d.c_in * kk), 1e-5);
    assert_close(&format!("{what} dx"), &t.dxt.read_blocking(gpu).unwrap(), &dx, tol(d.c_out * kk), 1e-5);
    let gw = pollster::block_on(t.arena.read_grad(gpu, "c.weight")).unwrap();
    let gb = pollster::block_on(t.arena.read_grad(gpu, "c.bias")).unwrap();
    assert_close(&format!("{what} dw"), &gw, &times(dw), tol(pixels), 1e-5);
    assert_close(&format!("{what} db"), &gb, &times(db), tol(pixels), 1e-5);
}

#[test]
fn conv2d_awkward_shapes() {
    for case in [
        [1, 1, 1, 1, 1, 1, 1, 0, 0],
        [1, 3, 5, 5, 7, 3, 1, 1, 0],
        [3, 3, 3, 5, 7, 3, 2, 1, 0],
        [3, 2, 7, 7, 5, 4, 2, 1, 0],
        [1, 3, 6, 5, 7, 1, 1, 0, 0],
        [3, 5, 3, 5, 7, 4, 2, 2, 0],
        [2, 3, 9, 7, 13, 3, 3, 0, 0],
        [1, 2, 3, 3, 3, 3, 1, 2, 0],
        [2, 3, 4, 7, 7, 1, 2, 0, 0],
        [1, 7, 65, 5, 7, 4, 2, 1, 0],
    ] {
        check(case, false, 2);
    }
}

#[test]
fn conv_transpose2d_awkward_shapes() {
    for case in [
        [1, 1, 1, 1, 1, 1, 1, 0, 0],
        [1, 3, 5, 5, 7, 3, 1, 1, 0],
        [3, 3, 2, 5, 7, 3, 2, 1, 1],
        [3, 5, 3, 4, 3, 4, 2, 1, 0],
        [1, 2, 3, 5, 7, 1, 1, 0, 0],
        [2, 3, 7, 5, 7, 4, 2, 2, 1],
        [2, 2, 3, 3, 5, 2, 3, 0, 2],
        [1, 65, 7, 5, 7, 4, 2, 1, 0],
    ] {
        check(case, true, 2);
    }
}

// The DCGAN layers at batch 64, one test each so they run side by side.
#[test]
fn conv2d_gan_1_to_64() {
    check([64, 1, 64, 28, 28, 4, 2, 1, 0], false, 1);
}

#[test]
fn conv2d_gan_64_to_128() {
    check([64, 64, 128, 14, 14, 4, 2, 1, 0], false, 1);
}

#[test]
fn conv_transpose2d_gan_128_to_64() {
    check([64, 128, 64, 7, 7, 4, 2, 1, 0], true, 1);
}

#[test]
fn conv_transpose2d_gan_64_to_1() {
    check([64, 64, 1, 14, 14, 4, 2, 1, 0], true, 1);
}

/// A batch whose columns exceed the workspace budget runs in chunks of samples (one each here).
#[test]
fn conv_large_columns_run_in_chunks() {
    check([2, 64, 4, 64, 64, 8, 1, 0, 0], false, 1);
    check([2, 4, 64, 57, 57, 8, 1, 0, 0], true, 1);
}

/// frozen = true records only the input-gradient pass (Conv2d: a spread ending in col2im;
/// ConvTranspose2d: a correlation starting with im2col) and leaves the grads arena as it was.
#[test]
fn conv_frozen_backward_leaves_grads() {
    let Some(gpu) = gpu() else { return };
    for transpose in [false, true] {
        let d = dims([2, 3, 5, 5, 7, 3, 2, 1, 1]);
        let t = setup(gpu, &d, transpose);
        let mut s = Step::new(gpu);
        t.layer.backward(&mut s, &t.arena, Some(&t.dxt), &t.dyt, &t.xt, true).unwrap();
        let kernels = s.finish().kernels();
        let (first, last) = (kernels.first().copied(), kernels.last().copied());
        if transpose {
            assert_eq!(first, Some(Kernel::Im2col), "{kernels:?}");
        } else {
            assert_eq!((first, last), (Some(Kernel::ChannelMajor), Some(Kernel::Col2im)), "{kernels:?}");
        }
        assert!(!kernels.contains(&Kernel::BiasGrad), "{kernels:?}");
        let mut s = Step::new(gpu);
        t.layer.backward(&mut s, &t.arena, None, &t.dyt, &t.xt, true).unwrap();
        assert!(s.finish().is_empty());

        let mut s = Step::new(gpu);
        t.layer.backward(&mut s, &t.arena, None, &t.dyt, &t.xt, false).unwrap();
        t.layer.backward(&mut s, &t.arena, Some(&t.dxt), &t.dyt, &t.xt, true).unwrap();
        s.submit().unwrap();
        let (dx, dw, db) = if transpose {
            twin::conv_transpose2d_backward(&t.dy, &t.x, &t.w, &d)
        } else {
            twin::conv2d_backward(&t.dy, &t.x, &t.w, &d)
        };
        let gw = pollster::block_on(t.arena.read_grad(gpu, "c.weight")).unwrap();
        let gb = pollster::block_on(t.arena.read_grad(gpu, "c.bias")).unwrap();
        assert_close("frozen dx", &t.dxt.read_blocking(gpu).unwrap(), &dx, 1e-4, 1e-5);
        assert_close("grads after frozen backward: dw", &gw, &dw, 1e-4, 1e-5);
        assert_close("grads after frozen backward: db", &gb, &db, 1e-4, 1e-5);
    }
}

fn param_error<T: std::fmt::Debug>(r: Result<T>) -> String {
    match r {
        Err(e @ Error::Param(_)) => e.to_string(),
        other => panic!("expected Error::Param, got {other:?}"),
    }
}

fn shape_error<T: std::fmt::Debug>(r: Result<T>) -> String {
    match r {
        Err(e @ Error::Shape(_)) => e.to_string(),
        other => panic!("expected Error::Shape, got {other:?}"),
    }
}

#[test]
fn conv_rejects_bad_parameters() {
    let b = &mut ArenaBuilder::new();
    let rng = &mut InitRng::new(0);
    let conv = |b: &mut ArenaBuilder, ci, co, k, s, rng: &mut InitRng| {
        Conv2d::new(b, "d.0", ci, co, k, s, 1, Init::Torch, rng)
    };
    assert!(param_error(conv(b, 1, 64, 4, 0, rng)).contains("stride"));
    assert!(param_error(conv(b, 1, 64, 0, 2, rng)).contains("kernel"));
    assert!(param_error(conv(b, 0, 64, 4, 2, rng)).contains("channel"));
    assert!(param_error(conv(b, 1, 0, 4, 2, rng)).contains("channel"));
    let tconv = |b: &mut ArenaBuilder, s, op, rng: &mut InitRng| {
        ConvTranspose2d::new(b, "g.0", 8, 4, 4, s, 1, op, Init::Torch, rng)
    };
    let err = param_error(tconv(b, 2, 2, rng));
    assert!(err.contains("g.0") && err.contains("output padding"), "{err}");
    param_error(tconv(b, 1, 1, rng));
    param_error(tconv(b, 0, 0, rng));
    assert!(tconv(b, 2, 1, rng).is_ok());

    // Kernel larger than the padded input.
    let c = conv(b, 1, 64, 4, 2, rng).unwrap();
    let err = param_error(c.out_shape(&[64, 1, 1, 1]));
    assert!(err.contains("1×1") && err.contains("Conv2d(1→64, k4 s2 p1)"), "{err}");
    assert_eq!(c.out_shape(&[64, 1, 2, 2]).unwrap(), [64, 64, 1, 1]);
    let t = ConvTranspose2d::new(b, "g.1", 8, 4, 1, 1, 1, 0, Init::Torch, rng).unwrap();
    param_error(t.out_shape(&[2, 8, 1, 1]));
    assert_eq!(t.out_shape(&[2, 8, 3, 5]).unwrap(), [2, 4, 1, 3]);
}

#[test]
fn conv_rejects_wrong_shapes() {
    let b = &mut ArenaBuilder::new();
    let rng = &mut InitRng::new(0);
    let c = Conv2d::new(b, "d.0", 1, 64, 4, 2, 1, Init::Torch, rng).unwrap();
    let t = ConvTranspose2d::new(b, "g.0", 128, 64, 4, 2, 1, 0, Init::Torch, rng).unwrap();
    let err = shape_error(c.out_shape(&[64, 3, 28, 28]));
    assert!(err.contains("Conv2d(1→64, k4 s2 p1) expects input (N, 1, H, W), got [64, 3, 28, 28]"), "{err}");
    assert!(shape_error(c.out_shape(&[64, 784])).contains("[64, 784]"));
    let err = shape_error(t.out_shape(&[64, 64, 7, 7]));
    assert!(err.contains("(N, 128, H, W)") && err.contains("[64, 64, 7, 7]"), "{err}");
    assert_eq!(t.out_shape(&[64, 128, 7, 7]).unwrap(), [64, 64, 14, 14]);

    let Some(gpu) = gpu() else { return };
    let arena = std::mem::take(b).build(gpu).unwrap();
    let z = |shape: &[usize]| Tensor::zeros(gpu, shape).unwrap();
    let s = &mut Step::new(gpu);
    let (x, y) = (z(&[2, 1, 8, 8]), z(&[2, 64, 4, 4]));
    let err = shape_error(c.forward(s, &arena, &z(&[2, 64, 8, 8]), &x));
    assert!(err.contains("[2, 64, 4, 4]") && err.contains("[2, 64, 8, 8]"), "{err}");
    let err = shape_error(c.backward(s, &arena, Some(&z(&[2, 1, 8, 7])), &y, &x, false));
    assert!(err.contains("input gradient") && err.contains("[2, 1, 8, 7]"), "{err}");
    let err = shape_error(c.backward(s, &arena, None, &z(&[2, 64, 4, 5]), &x, false));
    assert!(err.contains("output gradient") && err.contains("[2, 64, 4, 5]"), "{err}");
    let err = shape_error(t.forward(s, &arena, &z(&[2, 64, 8, 8]), &z(&[2, 128, 3, 3])));
    assert!(err.contains("[2, 64, 6, 6]") && err.contains("[2, 64, 8, 8]"), "{err}");
    assert!(s.gpu.check().is_ok());
}
