//! End to end: a small MLP recorded once as a plan (zero-grad, forward, loss, backward, Adam)
//! and replayed; it must fit a fixed regression target, the loss dropping at least 100×.

use crate::support::*;
use nanogan::gan::loss::{record, Term};
use nanogan::nn::activation::Act;
use nanogan::nn::adam::{zero_grad, Adam};
use nanogan::nn::model::SequentialBuilder;
use nanogan::{Init, Step, Tensor};

#[test]
fn mlp_fits_a_regression_target() {
    let Some(gpu) = gpu() else { return };
    let (n, i) = (64, 8);
    let net = SequentialBuilder::new(gpu, "net", &[i], Init::Torch, 5)
        .linear(32)
        .and_then(|b| b.act(Act::LeakyRelu(0.2)))
        .and_then(|b| b.linear(32))
        .and_then(|b| b.act(Act::Tanh))
        .and_then(|b| b.linear(1))
        .and_then(|b| b.build())
        .unwrap();
    let a = net.activations(gpu, n, Default::default()).unwrap();
    let x = rand(1, n * i);
    // A smooth target every sample can reach: t = 0.5·sin(x0 + 2·x1) + 0.3·x2·x3.
    let t: Vec<f64> =
        (0..n).map(|r| 0.5 * (x[r * i] + 2.0 * x[r * i + 1]).sin() + 0.3 * x[r * i + 2] * x[r * i + 3]).collect();
    a.input().write(gpu, &to_f32(&x)).unwrap();
    let target = Tensor::from_slice(gpu, &[n, 1], &to_f32(&t)).unwrap();
    let losses = Tensor::zeros(gpu, &[1]).unwrap();
    let adam = Adam::new(1e-2, 0.9, 0.999, 1e-8).unwrap();

    let mut s = Step::new(gpu);
    zero_grad(&mut s, &net.arena);
    net.forward(&mut s, &a, true, 0).unwrap();
    record(&mut s, Term::Mse, a.output_grad().unwrap(), &losses.buf, 0, false, a.output(), Some(&target)).unwrap();
    net.backward(&mut s, &a, false, false).unwrap();
    adam.step(&mut s, &net.arena).unwrap();
    let plan = s.finish();

    plan.submit(gpu).unwrap();
    let first = losses.read_blocking(gpu).unwrap()[0];
    for _ in 0..600 {
        plan.submit(gpu).unwrap();
    }
    let last = losses.read_blocking(gpu).unwrap()[0];
    assert!(first.is_finite() && last.is_finite(), "{first} -> {last}");
    assert!(last * 100.0 < first, "loss only went from {first} to {last}");
}

/// Inference activations (sampling) run the same forward pass without gradient buffers, and
/// refuse a backward pass with a clear error instead of touching memory they do not have.
#[test]
fn inference_activations_match_and_refuse_backward() {
    let Some(gpu) = gpu() else { return };
    let (n, i) = (5, 12);
    let net = SequentialBuilder::new(gpu, "net", &[i], Init::Torch, 9)
        .linear(16)
        .and_then(|b| b.batch_norm())
        .and_then(|b| b.act(Act::Relu))
        .and_then(|b| b.linear(3))
        .and_then(|b| b.act(Act::Tanh))
        .and_then(|b| b.build())
        .unwrap();
    let train = net.activations(gpu, n, Default::default()).unwrap();
    let infer = net.inference_activations(gpu, n).unwrap();
    let x = to_f32(&rand(4, n * i));
    train.input().write(gpu, &x).unwrap();
    infer.input().write(gpu, &x).unwrap();
    let mut s = Step::new(gpu);
    net.forward(&mut s, &train, false, 0).unwrap();
    net.forward(&mut s, &infer, false, 0).unwrap();
    s.submit().unwrap();
    let want: Vec<f64> = train.output().read_blocking(gpu).unwrap().iter().map(|&v| v as f64).collect();
    assert_close("inference output", &infer.output().read_blocking(gpu).unwrap(), &want, 0.0, 0.0);
    let err = net.backward(&mut Step::new(gpu), &infer, false, false).unwrap_err().to_string();
    assert!(err.contains("inference"), "{err}");
}
