use crate::fd::*;
use nanogan::cpu::loss::softmax_xent;
use nanogan::cpu::pool::{max_pool, max_pool_backward};

#[test]
fn max_pool_gradient() {
    // Random inputs have no ties, so the maximum (and the gradient) is locally constant.
    for (h, w, k) in [(4, 4, 2), (6, 9, 3), (2, 2, 1)] {
        let x = rand(31 + k as u64, 2 * 3 * h * w);
        let r = rand(32, 2 * 3 * (h / k) * (w / k));
        let analytic = max_pool_backward(&x, &r, h, w, k);
        let numeric = numeric_grad(&x, |x| dot(&max_pool(x, h, w, k).0, &r));
        assert_grad(&format!("MaxPool2d({k}) on {h}×{w}"), &analytic, &numeric);
    }
}

#[test]
fn softmax_cross_entropy_gradient() {
    for (n, classes) in [(1, 1), (3, 10), (5, 4)] {
        let y: Vec<f64> = rand(40 + n as u64, n * classes).iter().map(|v| 5.0 * v).collect();
        let labels: Vec<usize> = (0..n).map(|r| (r * 7) % classes).collect();
        let (_, analytic) = softmax_xent(&y, &labels, classes);
        let numeric = numeric_grad(&y, |y| softmax_xent(y, &labels, classes).0);
        assert_grad(&format!("softmax cross-entropy N {n} C {classes}"), &analytic, &numeric);
    }
    // log C for uniform logits, and 0 for a confident right answer.
    let (l, _) = softmax_xent(&[0.0; 10], &[3], 10);
    assert!((l - 10f64.ln()).abs() < 1e-12);
    let (l, _) = softmax_xent(&[0.0, 100.0], &[1], 2);
    assert!(l.abs() < 1e-12 && l.is_finite());
}
