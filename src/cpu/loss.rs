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

/// Softmax cross-entropy of logits (N rows of `classes`) against class indices: (mean loss,
/// dL/dlogits).
pub fn softmax_xent(y: &[f64], labels: &[usize], classes: usize) -> (f64, Vec<f64>) {
    let n = labels.len();
    let mut total = 0.0;
    let mut dy = vec![0.0; y.len()];
    for (r, &label) in labels.iter().enumerate() {
        let row = &y[r * classes..(r + 1) * classes];
        let top = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = row.iter().map(|v| (v - top).exp()).sum();
        total += top + sum.ln() - row[label];
        for c in 0..classes {
            let one = if c == label { 1.0 } else { 0.0 };
            dy[r * classes + c] = ((row[c] - top).exp() / sum - one) / n as f64;
        }
    }
    (total / n as f64, dy)
}
