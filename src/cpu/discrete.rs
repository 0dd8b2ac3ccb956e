//! Twin of wgsl/discrete.wgsl: the boundary-seeking GAN's generator objective for discrete data.
//! Shapes: logits l (N, P), samples x (N·M, P) of ±1 with sample (n, m) at row n·M + m, D's
//! logits d (N·M); weights w (N·M) from `weights` (BGAN) or `reinforce_weights`.

use crate::cpu::random::{draw, to_unit};

fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

fn softplus(v: f64) -> f64 {
    v.max(0.0) + (-v.abs()).exp().ln_1p()
}

/// M binary images per logit row: +1 where U < σ(l), U the uniform of Philox draw i of the
/// sample's flat index i = (n·M + m)·P + j.
pub fn sample(logits: &[f64], len: usize, m: usize, (seed, stream, step): (u64, u32, u32)) -> Vec<f64> {
    let n = logits.len() / len;
    (0..n * m * len)
        .map(|i| {
            let (row, j) = (i / (len * m), i % len);
            let u = to_unit(draw(seed, stream, step, i as u32)[0]);
            if u < sigmoid(logits[row * len + j]) {
                1.0
            } else {
                -1.0
            }
        })
        .collect()
}

/// w̃[n, m]: a softmax of D's logits over each row's M samples (BGAN's importance weights).
pub fn weights(d: &[f64], m: usize) -> Vec<f64> {
    d.chunks(m)
        .flat_map(|row| {
            let top = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let total: f64 = row.iter().map(|v| (v - top).exp()).sum();
            row.iter().map(move |v| (v - top).exp() / total)
        })
        .collect()
}

/// REINFORCE's weights: (d[n, m] − mean over the row's M samples) / M, D's logit as the reward
/// and the row's mean reward as the baseline.
pub fn reinforce_weights(d: &[f64], m: usize) -> Vec<f64> {
    d.chunks(m)
        .flat_map(|row| {
            let mean = row.iter().sum::<f64>() / m as f64;
            row.iter().map(move |v| (v - mean) / m as f64)
        })
        .collect()
}

/// 1/M for every sample: with them `loss` is the samples' mean negative log-likelihood.
pub fn uniform_weights(n: usize, m: usize) -> Vec<f64> {
    vec![1.0 / m as f64; n * m]
}

/// L = −(1/N) Σ_n Σ_m w[n, m]·log g(x[n, m] | z_n), computed term by term as written (no
/// rearrangement), for constant weights w (N·M): `weights` or `reinforce_weights` for the loss
/// G descends, `uniform_weights` for what REINFORCE runs log.
pub fn loss(logits: &[f64], samples: &[f64], w: &[f64], len: usize, m: usize) -> f64 {
    let n = logits.len() / len;
    let mut total = 0.0;
    for row in 0..n {
        for k in 0..m {
            let x = &samples[(row * m + k) * len..(row * m + k + 1) * len];
            let log_g: f64 = (0..len)
                .map(|j| {
                    let (l, b) = (logits[row * len + j], 0.5 * (x[j] + 1.0));
                    b * l - softplus(l)
                })
                .sum();
            total -= w[row * m + k] * log_g;
        }
    }
    total / n as f64
}

/// ∂L/∂l with the weights held constant: (σ(l[n, j])·Σ_m w[n, m] − Σ_m w[n, m]·b[n, m, j]) / N.
pub fn loss_grad(logits: &[f64], samples: &[f64], w: &[f64], len: usize, m: usize) -> Vec<f64> {
    let n = logits.len() / len;
    (0..n * len)
        .map(|i| {
            let (row, j) = (i / len, i % len);
            let total: f64 = w[row * m..(row + 1) * m].iter().sum();
            let s: f64 = (0..m).map(|k| w[row * m + k] * 0.5 * (samples[(row * m + k) * len + j] + 1.0)).sum();
            (sigmoid(logits[i]) * total - s) / n as f64
        })
        .collect()
}
