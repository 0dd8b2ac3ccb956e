//! f64 twins of the elementwise layers: activations (any shape) and nearest Upsample ×2
//! (x: (N, C, H, W) -> y: (N, C, 2H, 2W)).

use crate::nn::activation::Act;

pub fn act(a: Act, x: f64) -> f64 {
    match a {
        Act::Relu => x.max(0.0),
        Act::LeakyRelu(s) => {
            if x > 0.0 {
                x
            } else {
                s as f64 * x
            }
        }
        Act::Tanh => x.tanh(),
        Act::Sigmoid => 1.0 / (1.0 + (-x).exp()),
    }
}

/// f'(x), as PyTorch takes it: 0 for ReLU and `slope` for LeakyReLU at exactly x = 0;
/// tanh and sigmoid from their output y.
pub fn act_grad(a: Act, x: f64, y: f64) -> f64 {
    match a {
        Act::Relu => (x > 0.0) as u8 as f64,
        Act::LeakyRelu(s) => {
            if x > 0.0 {
                1.0
            } else {
                s as f64
            }
        }
        Act::Tanh => 1.0 - y * y,
        Act::Sigmoid => y * (1.0 - y),
    }
}

pub fn forward(a: Act, x: &[f64]) -> Vec<f64> {
    x.iter().map(|&v| act(a, v)).collect()
}

/// dx = dy·f'(x), with y = forward(x).
pub fn backward(a: Act, dy: &[f64], x: &[f64], y: &[f64]) -> Vec<f64> {
    (0..x.len()).map(|i| dy[i] * act_grad(a, x[i], y[i])).collect()
}

/// y[n, c, 2h + a, 2w + b] = x[n, c, h, w]; `planes` = N·C.
pub fn upsample_forward(x: &[f64], planes: usize, h: usize, w: usize) -> Vec<f64> {
    let mut y = vec![0.0; planes * 4 * h * w];
    for p in 0..planes {
        for r in 0..2 * h {
            for c in 0..2 * w {
                y[(p * 2 * h + r) * 2 * w + c] = x[(p * h + r / 2) * w + c / 2];
            }
        }
    }
    y
}

/// dx[n, c, h, w] = Σ of the four dy it fed.
pub fn upsample_backward(dy: &[f64], planes: usize, h: usize, w: usize) -> Vec<f64> {
    let mut dx = vec![0.0; planes * h * w];
    for p in 0..planes {
        for r in 0..2 * h {
            for c in 0..2 * w {
                dx[(p * h + r / 2) * w + c / 2] += dy[(p * 2 * h + r) * 2 * w + c];
            }
        }
    }
    dx
}
