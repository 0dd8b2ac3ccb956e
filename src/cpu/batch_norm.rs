//! f64 twin of BatchNorm.   x, y, dy, dx: (N, C, inner) with inner = H·W (1 for (N, C))
//! γ, β, mean, var: (C)

/// Index of x[n, c, i].
fn at(n: usize, c: usize, i: usize, channels: usize, inner: usize) -> usize {
    (n * channels + c) * inner + i
}

/// Per-channel batch mean and biased variance.
pub fn batch_stats(x: &[f64], n: usize, c: usize, inner: usize) -> (Vec<f64>, Vec<f64>) {
    let m = (n * inner) as f64;
    let mut mean = vec![0.0; c];
    let mut var = vec![0.0; c];
    for ch in 0..c {
        for b in 0..n {
            for i in 0..inner {
                mean[ch] += x[at(b, ch, i, c, inner)];
            }
        }
        mean[ch] /= m;
        for b in 0..n {
            for i in 0..inner {
                let d = x[at(b, ch, i, c, inner)] - mean[ch];
                var[ch] += d * d;
            }
        }
        var[ch] /= m;
    }
    (mean, var)
}

/// y = γ·(x − mean)/√(var + eps) + β with the given per-channel statistics.
#[allow(clippy::too_many_arguments)]
pub fn normalize(
    x: &[f64],
    gamma: &[f64],
    beta: &[f64],
    mean: &[f64],
    var: &[f64],
    eps: f64,
    n: usize,
    c: usize,
    inner: usize,
) -> Vec<f64> {
    let mut y = vec![0.0; n * c * inner];
    for b in 0..n {
        for ch in 0..c {
            let rstd = 1.0 / (var[ch] + eps).sqrt();
            for i in 0..inner {
                let k = at(b, ch, i, c, inner);
                y[k] = gamma[ch] * (x[k] - mean[ch]) * rstd + beta[ch];
            }
        }
    }
    y
}

/// Training forward: normalises with the batch statistics. Returns y.
pub fn forward_train(x: &[f64], gamma: &[f64], beta: &[f64], eps: f64, n: usize, c: usize, inner: usize) -> Vec<f64> {
    let (mean, var) = batch_stats(x, n, c, inner);
    normalize(x, gamma, beta, &mean, &var, eps, n, c, inner)
}

/// The running statistics after one training forward on x (PyTorch: the unbiased batch variance
/// goes into running_var). Returns (running_mean, running_var).
pub fn update_running(
    running_mean: &[f64],
    running_var: &[f64],
    x: &[f64],
    momentum: f64,
    n: usize,
    c: usize,
    inner: usize,
) -> (Vec<f64>, Vec<f64>) {
    let (mean, var) = batch_stats(x, n, c, inner);
    let m = (n * inner) as f64;
    let rm = (0..c).map(|ch| (1.0 - momentum) * running_mean[ch] + momentum * mean[ch]).collect();
    let rv = (0..c).map(|ch| (1.0 - momentum) * running_var[ch] + momentum * var[ch] * m / (m - 1.0)).collect();
    (rm, rv)
}

/// Training-mode backward through the batch statistics: (dx, dγ, dβ).
pub fn backward(
    dy: &[f64],
    x: &[f64],
    gamma: &[f64],
    eps: f64,
    n: usize,
    c: usize,
    inner: usize,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (mean, var) = batch_stats(x, n, c, inner);
    let m = (n * inner) as f64;
    let mut dx = vec![0.0; n * c * inner];
    let mut dgamma = vec![0.0; c];
    let mut dbeta = vec![0.0; c];
    for ch in 0..c {
        let rstd = 1.0 / (var[ch] + eps).sqrt();
        for b in 0..n {
            for i in 0..inner {
                let k = at(b, ch, i, c, inner);
                dbeta[ch] += dy[k];
                dgamma[ch] += dy[k] * (x[k] - mean[ch]) * rstd;
            }
        }
        for b in 0..n {
            for i in 0..inner {
                let k = at(b, ch, i, c, inner);
                let xhat = (x[k] - mean[ch]) * rstd;
                dx[k] = gamma[ch] * rstd * (dy[k] - dbeta[ch] / m - xhat * dgamma[ch] / m);
            }
        }
    }
    (dx, dgamma, dbeta)
}
