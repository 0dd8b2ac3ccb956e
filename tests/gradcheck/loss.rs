use crate::fd::*;
use nanogan::cpu::loss::loss;
use nanogan::gan::loss::Term;

#[test]
fn loss_gradients() {
    let y: Vec<f64> = rand(1, 7).iter().map(|v| 3.0 * v).collect();
    let t = rand(2, 7);
    for term in [
        Term::Mse,
        Term::LeastSquares(1.0),
        Term::LeastSquares(-1.0),
        Term::BceLogits(1.0),
        Term::BceLogits(0.0),
        Term::NegBceLogits(0.0),
    ] {
        let (_, dy) = loss(term, &y, &t);
        assert_grad(&format!("{term:?}"), &dy, &numeric_grad(&y, |y| loss(term, y, &t).0));
    }
}

#[test]
fn bgan_generator_loss_is_least_squares_on_the_logit() {
    // ½(log D − log(1 − D))² with D = σ(y) equals ½y².
    for y in [-5.0f64, -0.3, 0.0, 2.0] {
        let d = 1.0 / (1.0 + (-y).exp());
        let direct = 0.5 * (d.ln() - (1.0 - d).ln()).powi(2);
        let (l, _) = loss(Term::LeastSquares(0.0), &[y], &[0.0]);
        assert!((direct - l).abs() < 1e-9, "y={y}: {direct} vs {l}");
    }
}

#[test]
fn minimax_generator_loss_is_log_one_minus_d_and_saturates() {
    for y in [-30.0f64, -5.0, -0.3, 0.0, 2.0] {
        let d = 1.0 / (1.0 + (-y).exp());
        let (l, dy) = loss(Term::NegBceLogits(0.0), &[y], &[0.0]);
        assert!((l - (1.0 - d).ln()).abs() < 1e-12, "y = {y}: {l} against ln(1 − D) = {}", (1.0 - d).ln());
        assert!((dy[0] + d).abs() < 1e-12, "y = {y}: dL/dy {} against −D = {}", dy[0], -d);
    }
    // Where D rejects a fake confidently (logit −10), the minimax gradient all but vanishes
    // while the non-saturating one is near its largest: the reason the latter is the default.
    let (_, minimax) = loss(Term::NegBceLogits(0.0), &[-10.0], &[0.0]);
    let (_, non_saturating) = loss(Term::BceLogits(1.0), &[-10.0], &[0.0]);
    assert!(minimax[0].abs() < 1e-4 && non_saturating[0].abs() > 0.99, "{minimax:?} {non_saturating:?}");
}
