//! f64 twin of wgsl/loss.wgsl: (L, dL/dy).

use crate::gan::loss::Term;

fn softplus(v: f64) -> f64 {
    v.max(0.0) + (-v.abs()).exp().ln_1p()
}

pub fn loss(term: Term, y: &[f64], t: &[f64]) -> (f64, Vec<f64>) {
    let n = y.len().max(1) as f64;
    let mut total = 0.0;
    let dy = y
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let (l, g) = match term {
                Term::Mse => ((v - t[i]).powi(2), 2.0 * (v - t[i])),
                Term::LeastSquares(c) => (0.5 * (v - c as f64).powi(2), v - c as f64),
                Term::BceLogits(c) => (softplus(v) - c as f64 * v, 1.0 / (1.0 + (-v).exp()) - c as f64),
                Term::NegBceLogits(c) => (c as f64 * v - softplus(v), c as f64 - 1.0 / (1.0 + (-v).exp())),
            };
            total += l;
            g / n
        })
        .collect();
    (total / n, dy)
}
