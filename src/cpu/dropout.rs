//! f64 twin of Dropout / Dropout2d (inverted scaling).   x, mask, y: any shape, `n` values,
//! `group` consecutive values sharing one draw (1 for Dropout, H·W for Dropout2d on (N, C, H, W)).

use crate::cpu::random::{philox, split_seed};

/// Draws below this are dropped: round(p·2³²), so P(drop) = p to within 2⁻³².
pub fn threshold(p: f32) -> u32 {
    (p as f64 * 4_294_967_296.0).round().min(u32::MAX as f64) as u32
}

/// 1/(1−p): kept values are scaled so E[y] = x.
pub fn scale(p: f32) -> f64 {
    1.0 / (1.0 - p as f64)
}

/// mask[i] ∈ {0, 1/(1−p)}; group g = i / group is dropped when
/// philox((g, stream, step, pass), seed).x < threshold(p). `train = false` gives all ones.
#[allow(clippy::too_many_arguments)]
pub fn mask(p: f32, seed: u64, stream: u32, step: u32, pass: u32, n: usize, group: usize, train: bool) -> Vec<f64> {
    if !train {
        return vec![1.0; n];
    }
    let (cut, keep) = (threshold(p), scale(p));
    (0..n)
        .map(|i| {
            let bits = philox([(i / group) as u32, stream, step, pass], split_seed(seed));
            if cut != 0 && bits[0] < cut {
                0.0
            } else {
                keep
            }
        })
        .collect()
}

/// y = x·mask
pub fn forward(x: &[f64], mask: &[f64]) -> Vec<f64> {
    x.iter().zip(mask).map(|(x, m)| x * m).collect()
}

/// dx = dy·mask
pub fn backward(dy: &[f64], mask: &[f64]) -> Vec<f64> {
    dy.iter().zip(mask).map(|(g, m)| g * m).collect()
}
