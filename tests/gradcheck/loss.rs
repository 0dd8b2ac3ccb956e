use crate::fd::*;
use nanogan::cpu::loss::loss;
use nanogan::loss::Term;

#[test]
fn loss_gradients() {
    let y: Vec<f64> = rand(1, 7).iter().map(|v| 3.0 * v).collect();
    let t = rand(2, 7);
    for term in
        [Term::Mse, Term::LeastSquares(1.0), Term::LeastSquares(-1.0), Term::BceLogits(1.0), Term::BceLogits(0.0)]
    {
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
