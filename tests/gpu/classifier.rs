//! A small convolutional classifier (conv, ReLU, max pooling, linear, softmax cross-entropy,
//! Adam) recorded once and replayed: it must learn to tell the bundled digits apart.

use crate::support::*;
use nanogan::gan::loss::record_softmax_xent;
use nanogan::nn::activation::Act;
use nanogan::nn::adam::{zero_grad, Adam};
use nanogan::nn::model::SequentialBuilder;
use nanogan::{Dataset, Init, Step, Tensor};

#[test]
fn conv_pool_classifier_learns_digits() {
    let Some(gpu) = gpu() else { return };
    let digits = Dataset::bundled().unwrap();
    let labels = digits.labels.as_ref().unwrap();
    let net = SequentialBuilder::new(gpu, "classifier", &[1, 28, 28], Init::Torch, 3)
        .conv2d(4, 5, 1, 0)
        .and_then(|b| b.act(Act::Relu))
        .and_then(|b| b.max_pool(4))
        .and_then(|b| b.reshape(&[4 * 6 * 6]))
        .and_then(|b| b.linear(10))
        .and_then(|b| b.build())
        .unwrap();
    let n = 64;
    let batch = |first: usize| -> (Vec<f32>, Vec<f32>) {
        let x = digits.images[first * 784..(first + n) * 784].iter().map(|&v| v as f32 / 127.5 - 1.0).collect();
        (x, labels[first..first + n].iter().map(|&l| l as f32).collect())
    };
    let acts = net.activations(gpu, n, Default::default()).unwrap();
    let y = Tensor::zeros(gpu, &[n]).unwrap();
    let losses = Tensor::zeros(gpu, &[1]).unwrap();
    let adam = Adam::new(3e-3, 0.9, 0.999, 1e-8).unwrap();
    let mut s = Step::new(gpu);
    zero_grad(&mut s, &net.arena);
    net.forward(&mut s, &acts, true, 0).unwrap();
    record_softmax_xent(&mut s, acts.output_grad().unwrap(), &losses.buf, 0, false, acts.output(), &y).unwrap();
    net.backward(&mut s, &acts, false, false).unwrap();
    adam.step(&mut s, &net.arena).unwrap();
    let plan = s.finish();

    let mut first_loss = None;
    for step in 0..120 {
        let (x, l) = batch((step % 40) * n);
        acts.input().write(gpu, &x).unwrap();
        y.write(gpu, &l).unwrap();
        plan.submit(gpu).unwrap();
        first_loss.get_or_insert_with(|| losses.read_blocking(gpu).unwrap()[0]);
    }
    let last = losses.read_blocking(gpu).unwrap()[0];
    let first = first_loss.unwrap();
    assert!((2.0..2.6).contains(&first), "untrained loss {first}, expected about ln 10");
    // Held-out images (past the 40 training batches): most must be classified right.
    let (x, l) = batch(50 * n);
    let eval = net.inference_activations(gpu, n).unwrap();
    eval.input().write(gpu, &x).unwrap();
    let mut s = Step::new(gpu);
    net.forward(&mut s, &eval, false, 0).unwrap();
    s.submit().unwrap();
    let logits = eval.output().read_blocking(gpu).unwrap();
    let right = (0..n)
        .filter(|&r| {
            let row = &logits[r * 10..(r + 1) * 10];
            (0..10).max_by(|&a, &b| row[a].total_cmp(&row[b])) == Some(l[r] as usize)
        })
        .count();
    assert!(last < 0.5 * first && right >= n * 3 / 4, "loss {first} -> {last}, {right}/{n} held-out right");
}
