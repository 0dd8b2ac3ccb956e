use crate::fd::*;
use nanogan::cpu::discrete::{loss, loss_grad, reinforce_weights, weights};

/// A small fixed case: N = 3 noise rows, P = 5 pixels, M = 4 samples each.
fn case() -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (n, len, m) = (3, 5, 4);
    let logits: Vec<f64> = rand(11, n * len).iter().map(|v| 4.0 * v).collect();
    let samples: Vec<f64> = rand(12, n * m * len).iter().map(|&v| if v > 0.0 { 1.0 } else { -1.0 }).collect();
    let d: Vec<f64> = rand(13, n * m).iter().map(|v| 6.0 * v).collect();
    (logits, samples, d)
}

/// Both estimators' weights: the gradient holds them constant, so one formula serves both.
#[test]
fn discrete_gradient_in_the_logits() {
    let (logits, samples, d) = case();
    for (estimator, w) in [("importance", weights(&d, 4)), ("REINFORCE", reinforce_weights(&d, 4))] {
        let analytic = loss_grad(&logits, &samples, &w, 5, 4);
        let numeric = numeric_grad(&logits, |l| loss(l, &samples, &w, 5, 4));
        assert_grad(&format!("discrete BGAN ({estimator}) dL/dlogits"), &analytic, &numeric);
    }
}

#[test]
fn reinforce_weights_are_centred_rewards() {
    let (_, _, d) = case();
    let w = reinforce_weights(&d, 4);
    for (row, (ws, ds)) in w.chunks(4).zip(d.chunks(4)).enumerate() {
        let total: f64 = ws.iter().sum();
        assert!(total.abs() < 1e-12, "row {row}: REINFORCE weights sum to {total}, not 0");
        // A higher reward (D's logit) weighs more, by exactly the difference over M.
        for i in 0..4 {
            assert!(((ws[i] - ws[0]) - (ds[i] - ds[0]) / 4.0).abs() < 1e-12, "row {row}");
        }
    }
}

#[test]
fn importance_weights_are_a_softmax_per_noise_row() {
    let (_, _, d) = case();
    let w = weights(&d, 4);
    for (row, (ws, ds)) in w.chunks(4).zip(d.chunks(4)).enumerate() {
        let total: f64 = ws.iter().sum();
        assert!((total - 1.0).abs() < 1e-12, "row {row}: weights sum to {total}");
        // Larger D logits weigh more: the order of the weights is the order of the logits.
        for i in 0..4 {
            for j in 0..4 {
                assert_eq!(ws[i] < ws[j], ds[i] < ds[j], "row {row}");
            }
        }
    }
    // Huge logits neither overflow nor lose the normalisation.
    let w = weights(&[1000.0, 999.0, -1000.0], 3);
    assert!(w.iter().all(|v| v.is_finite()) && (w.iter().sum::<f64>() - 1.0).abs() < 1e-12, "{w:?}");
}
