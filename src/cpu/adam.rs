//! f64 twins of the optimisers, one parameter vector at a time, in PyTorch's order of operations.
//! Hyper-parameters are f32 (what the GPU is given), widened to f64.

/// One Adam step t (1-based) of torch.optim.Adam:
///   m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;
///   p −= (lr / (1−β1^t)) · m / (sqrt(v) / sqrt(1−β2^t) + eps)
#[allow(clippy::too_many_arguments)]
pub fn adam_step(
    p: &mut [f64],
    m: &mut [f64],
    v: &mut [f64],
    g: &[f64],
    t: u32,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
) {
    for i in 0..p.len() {
        p[i] -= adam_update(&mut m[i], &mut v[i], g[i], t, lr, beta1, beta2, eps);
    }
}

/// One step t of optimistic Adam (Daskalakis et al. 2018) with optimism k, written as the paper
/// does, keeping the previous step u_{t−1} (`previous`, zeros before step 1) rather than
/// recomputing it as the GPU does: u_t = Adam's step; p −= (1+k)·u_t − k·u_{t−1}.
#[allow(clippy::too_many_arguments)]
pub fn optimistic_adam_step(
    p: &mut [f64],
    m: &mut [f64],
    v: &mut [f64],
    previous: &mut [f64],
    g: &[f64],
    t: u32,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    optimism: f32,
) {
    let k = optimism as f64;
    for i in 0..p.len() {
        let u = adam_update(&mut m[i], &mut v[i], g[i], t, lr, beta1, beta2, eps);
        p[i] -= (1.0 + k) * u - k * previous[i];
        previous[i] = u;
    }
}

/// Updates one parameter's moments for step t and returns Adam's step for it.
#[allow(clippy::too_many_arguments)]
fn adam_update(m: &mut f64, v: &mut f64, g: f64, t: u32, lr: f32, beta1: f32, beta2: f32, eps: f32) -> f64 {
    let (lr, b1, b2, eps) = (lr as f64, beta1 as f64, beta2 as f64, eps as f64);
    *m = b1 * *m + (1.0 - b1) * g;
    *v = b2 * *v + (1.0 - b2) * g * g;
    let step_size = lr / (1.0 - b1.powi(t as i32));
    let bc2_sqrt = (1.0 - b2.powi(t as i32)).sqrt();
    step_size * *m / (v.sqrt() / bc2_sqrt + eps)
}

/// One step t (1-based) of torch.optim.SGD (dampening 0, no Nesterov): with momentum μ ≠ 0,
/// buf = g on the first step, else buf = μ·buf + g; then p −= lr·buf. μ = 0: p −= lr·g.
pub fn sgd_step(p: &mut [f64], buf: &mut [f64], g: &[f64], t: u32, lr: f32, momentum: f32) {
    let (lr, mu) = (lr as f64, momentum as f64);
    for i in 0..p.len() {
        let d = if mu == 0.0 {
            g[i]
        } else {
            buf[i] = if t == 1 { g[i] } else { mu * buf[i] + g[i] };
            buf[i]
        };
        p[i] -= lr * d;
    }
}

/// One update of an exponential moving average after the source's step t (1-based):
/// d = min(decay, (1+t)/(10+t)); avg = d·avg + (1−d)·src.
pub fn ema_update(avg: &mut [f64], src: &[f64], t: u32, decay: f32) {
    let d = (decay as f64).min((1.0 + t as f64) / (10.0 + t as f64));
    for (a, s) in avg.iter_mut().zip(src) {
        *a = d * *a + (1.0 - d) * s;
    }
}
