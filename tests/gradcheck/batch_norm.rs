use crate::fd::*;
use nanogan::cpu::batch_norm::{backward, forward_train};

/// The loss goes through the batch statistics, so dx must include their gradient.
fn check(n: usize, c: usize, inner: usize) {
    let len = n * c * inner;
    let eps = 1e-5;
    // An offset and a scale per element, so mean and variance are far from 0 and 1.
    let x: Vec<f64> = rand(1, len).iter().map(|v| 2.0 + 3.0 * v).collect();
    let gamma: Vec<f64> = rand(2, c).iter().map(|v| 1.0 + 0.5 * v).collect();
    let (beta, r) = (rand(3, c), rand(4, len));
    let y = |x: &[f64], g: &[f64], b: &[f64]| forward_train(x, g, b, eps, n, c, inner);
    let (dx, dg, db) = backward(&r, &x, &gamma, eps, n, c, inner);
    let what = format!("batch_norm ({n}, {c}, {inner})");
    assert_grad(&format!("{what} dx"), &dx, &numeric_grad(&x, |x| dot(&y(x, &gamma, &beta), &r)));
    assert_grad(&format!("{what} dgamma"), &dg, &numeric_grad(&gamma, |g| dot(&y(&x, g, &beta), &r)));
    assert_grad(&format!("{what} dbeta"), &db, &numeric_grad(&beta, |b| dot(&y(&x, &gamma, b), &r)));
}

#[test]
fn batch_norm_1d_gradients() {
    check(5, 3, 1);
}

#[test]
fn batch_norm_2d_gradients() {
    check(3, 2, 5 * 7);
}

#[test]
fn batch_norm_batch_one_2d_gradients() {
    check(1, 3, 2 * 3);
}
