use crate::support::*;
use nanogan::cpu::activation as twin;
use nanogan::nn::activation::{Act, Activation};
use nanogan::nn::upsample::Upsample2x;
use nanogan::{Step, Tensor};

const ACTS: [Act; 4] = [Act::Relu, Act::LeakyRelu(0.2), Act::Tanh, Act::Sigmoid];

/// Seeded values in [-4, 4) with exact zeros (the kink) and saturating extremes mixed in.
fn input(len: usize) -> Vec<f64> {
    let extremes = [0.0, -0.0, 50.0, -50.0, 1e4, -1e4, 1e-7];
    let mut x: Vec<f64> = rand(1, len).iter().map(|v| 4.0 * v).collect();
    for (i, e) in extremes.iter().enumerate() {
        if let Some(v) = x.get_mut(i * 7) {
            *v = *e;
        }
    }
    x
}

fn check_activation(a: Act, shape: &[usize]) {
    let Some(gpu) = gpu() else { return };
    let layer = Activation::new(a);
    let x = rounded(&input(shape.iter().product()));
    let dy = rounded(&rand(2, x.len()));
    let xt = Tensor::from_slice(gpu, shape, &to_f32(&x)).unwrap();
    let yt = Tensor::zeros(gpu, shape).unwrap();
    let dyt = Tensor::from_slice(gpu, shape, &to_f32(&dy)).unwrap();
    let dxt = Tensor::zeros(gpu, shape).unwrap();
    let mut s = Step::new(gpu);
    layer.forward(&mut s, &yt, &xt).unwrap();
    layer.backward(&mut s, &dxt, &dyt, &xt, &yt).unwrap();
    s.submit().unwrap();
    let y_gpu = yt.read_blocking(gpu).unwrap();
    let y = twin::forward(a, &x);
    assert_close(&format!("{a:?} {shape:?} y"), &y_gpu, &y, 1e-6, 1e-5);
    // The derivative comes from the GPU's own y, as it does in training.
    let y_used: Vec<f64> = y_gpu.iter().map(|&v| v as f64).collect();
    let dx = twin::backward(a, &dy, &x, &y_used);
    assert_close(&format!("{a:?} {shape:?} dx"), &dxt.read_blocking(gpu).unwrap(), &dx, 1e-6, 1e-5);

    // In place: the same y over x's own buffer, and the same dx from y alone.
    let xyt = Tensor::from_slice(gpu, shape, &to_f32(&x)).unwrap();
    let dx2t = Tensor::zeros(gpu, shape).unwrap();
    let mut s = Step::new(gpu);
    layer.forward_in_place(&mut s, &xyt).unwrap();
    layer.backward_from_y(&mut s, &dx2t, &dyt, &xyt).unwrap();
    s.submit().unwrap();
    assert_close(&format!("{a:?} {shape:?} y in place"), &xyt.read_blocking(gpu).unwrap(), &y, 1e-6, 1e-5);
    assert_close(&format!("{a:?} {shape:?} dx from y"), &dx2t.read_blocking(gpu).unwrap(), &dx, 1e-6, 1e-5);
}

/// A LeakyReLU with a negative slope is positive on both sides of 0: y cannot tell f'.
#[test]
fn negative_slope_refuses_to_run_in_place() {
    let Some(gpu) = gpu() else { return };
    let layer = Activation::new(Act::LeakyRelu(-0.5));
    assert!(!layer.can_run_in_place());
    let t = Tensor::zeros(gpu, &[4]).unwrap();
    let err = layer.forward_in_place(&mut Step::new(gpu), &t).unwrap_err().to_string();
    assert!(err.contains("in place"), "{err}");
    assert!(layer.backward_from_y(&mut Step::new(gpu), &t, &t, &t).is_err());
}

#[test]
fn activations_on_awkward_and_gan_sizes() {
    for shape in [&[1][..], &[63], &[65], &[3, 67], &[64, 784], &[64, 64, 14, 14]] {
        for a in ACTS {
            check_activation(a, shape);
        }
    }
}

#[test]
fn activation_derivative_at_zero_is_pytorchs() {
    let Some(gpu) = gpu() else { return };
    for (a, want) in [(Act::Relu, 0.0), (Act::LeakyRelu(0.2), 0.2)] {
        let t = |v: f32| Tensor::from_slice(gpu, &[1], &[v]).unwrap();
        let (x, y, dy, dx) = (t(0.0), t(1.0), t(1.0), t(1.0));
        let mut s = Step::new(gpu);
        Activation::new(a).forward(&mut s, &y, &x).unwrap();
        Activation::new(a).backward(&mut s, &dx, &dy, &x, &y).unwrap();
        s.submit().unwrap();
        assert_eq!(dx.read_blocking(gpu).unwrap(), vec![want], "{a:?}");
    }
}

#[test]
fn activation_rejects_wrong_shapes() {
    let Some(gpu) = gpu() else { return };
    let t = |shape: &[usize]| Tensor::zeros(gpu, shape).unwrap();
    let layer = Activation::new(Act::Tanh);
    let err = layer.forward(&mut Step::new(gpu), &t(&[4, 3]), &t(&[3, 4])).unwrap_err().to_string();
    assert!(err.contains("[4, 3]") && err.contains("[3, 4]") && err.contains("Tanh"), "{err}");
    let (x, y) = (t(&[3, 4]), t(&[3, 4]));
    let err = layer.backward(&mut Step::new(gpu), &x, &t(&[12]), &x, &y).unwrap_err().to_string();
    assert!(err.contains("[12]"), "{err}");
    let bad = Activation::new(Act::LeakyRelu(f32::NAN));
    assert!(bad.forward(&mut Step::new(gpu), &y, &x).is_err());
}

fn check_upsample(shape: [usize; 4]) {
    let Some(gpu) = gpu() else { return };
    let [n, c, h, w] = shape;
    let up = Upsample2x;
    let out = up.out_shape(&shape).unwrap();
    assert_eq!(out, vec![n, c, 2 * h, 2 * w]);
    let x = rounded(&rand(1, n * c * h * w));
    let dy = rounded(&rand(2, 4 * x.len()));
    let xt = Tensor::from_slice(gpu, &shape, &to_f32(&x)).unwrap();
    let yt = Tensor::zeros(gpu, &out).unwrap();
    let dyt = Tensor::from_slice(gpu, &out, &to_f32(&dy)).unwrap();
    let dxt = Tensor::zeros(gpu, &shape).unwrap();
    let mut s = Step::new(gpu);
    up.forward(&mut s, &yt, &xt).unwrap();
    up.backward(&mut s, &dxt, &dyt).unwrap();
    s.submit().unwrap();
    let y = twin::upsample_forward(&x, n * c, h, w);
    assert_close(&format!("upsample {shape:?} y"), &yt.read_blocking(gpu).unwrap(), &y, 0.0, 0.0);
    let dx = twin::upsample_backward(&dy, n * c, h, w);
    assert_close(&format!("upsample {shape:?} dx"), &dxt.read_blocking(gpu).unwrap(), &dx, 1e-6, 1e-6);
}

#[test]
fn upsample_on_awkward_and_gan_sizes() {
    // Inputs of 1, 63, 65 and 97 (prime) values, then the DCGAN generator's upsamplings.
    for shape in [[1, 1, 1, 1], [1, 1, 7, 9], [1, 5, 1, 13], [1, 1, 97, 1], [3, 3, 5, 7], [64, 1, 28, 28]] {
        check_upsample(shape);
    }
    for shape in [[64, 128, 7, 7], [64, 64, 14, 14]] {
        check_upsample(shape);
    }
}

#[test]
fn upsample_rejects_wrong_shapes() {
    let Some(gpu) = gpu() else { return };
    let t = |shape: &[usize]| Tensor::zeros(gpu, shape).unwrap();
    let up = Upsample2x;
    let err = up.forward(&mut Step::new(gpu), &t(&[2, 3, 8, 8]), &t(&[2, 3, 16])).unwrap_err().to_string();
    assert!(err.contains("[2, 3, 16]") && err.contains("(N, C, H, W)"), "{err}");
    let err = up.forward(&mut Step::new(gpu), &t(&[2, 3, 8, 9]), &t(&[2, 3, 4, 4])).unwrap_err().to_string();
    assert!(err.contains("[2, 3, 8, 9]") && err.contains("[2, 3, 8, 8]"), "{err}");
    let err = up.backward(&mut Step::new(gpu), &t(&[2, 3, 4, 4]), &t(&[2, 3, 4, 4])).unwrap_err().to_string();
    assert!(err.contains("[2, 3, 4, 4]") && err.contains("[2, 3, 8, 8]"), "{err}");
}
