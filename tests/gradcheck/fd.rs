//! Finite-difference helpers shared by the gradient checks.

/// Seeded values in [-1, 1).
pub fn rand(seed: u64, n: usize) -> Vec<f64> {
    nanogan::cpu::random::uniform(seed, 11, 0, n).into_iter().map(|u| 2.0 * u - 1.0).collect()
}

pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Central differences of `loss` with respect to every element of `at`.
pub fn numeric_grad(at: &[f64], loss: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    let h = 1e-6;
    let mut p = at.to_vec();
    (0..at.len())
        .map(|i| {
            let orig = p[i];
            p[i] = orig + h;
            let up = loss(&p);
            p[i] = orig - h;
            let down = loss(&p);
            p[i] = orig;
            (up - down) / (2.0 * h)
        })
        .collect()
}

/// Panics, naming `what` and the first mismatch, unless analytic ≈ numeric.
pub fn assert_grad(what: &str, analytic: &[f64], numeric: &[f64]) {
    assert_eq!(analytic.len(), numeric.len(), "{what}: length");
    for (i, (a, n)) in analytic.iter().zip(numeric).enumerate() {
        assert!((a - n).abs() <= 1e-6 + 1e-5 * n.abs(), "{what}[{i}]: analytic {a} vs finite difference {n}");
    }
}
