// Optimiser updates over the whole parameter arena, four floats per invocation (every arena slot
// is padded to a multiple of 4 with zero gradients, and a zero gradient on zero moments moves
// nothing). t, the step count, is read from clock[0] after the tick recorded just before, so a
// replayed plan needs no host writes.
//
// Adam (PyTorch's order of operations, with β^t formed without cancellation, see one_minus_pow):
//   m = β1·m + (1−β1)·g;   v = β2·v + (1−β2)·g²
//   p −= (lr / (1−β1^t)) · m / (sqrt(v) / sqrt(1−β2^t) + eps)
// Optimistic Adam (Daskalakis et al., ICLR 2018) with optimism k > 0: if u_t is the step above,
//   p −= (1+k)·u_t − k·u_{t−1}   (u_0 = 0)
// u_{t−1} is recomputed from m and v as they were before this step, so it needs no buffer of
// its own and a checkpoint's moments resume it exactly. k = 0 is plain Adam, the same floats.
// EMA with decay β (beta1), after the source model's step t (its clock[0]):
//   ema = d·ema + (1−d)·src,   d = min(β, (1+t)/(10+t))
// The warm-up d keeps the average from dwelling on the initial weights in short runs (as
// TensorFlow's ExponentialMovingAverage with num_updates); by t ≈ 9,000 it is β = 0.999.
// SGD with momentum μ (PyTorch, dampening 0): buf = μ·buf + g (buf starts at 0, so the first
// step's buf is g);  p −= lr·buf.  μ = 0: p −= lr·g and buf is untouched.

struct AdamParams {
    n4: u32,              // vec4s in the arena
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    momentum: f32,
    optimism: f32,
    _pad0: u32,
}

@group(0) @binding(0) var<uniform> p: AdamParams;

// adam_step
@group(0) @binding(1) var<storage, read_write> params: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> m: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> grads: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> clock: array<u32>;

// adam_sgd_step
@group(0) @binding(1) var<storage, read_write> sgd_params: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> sgd_buf: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> sgd_grads: array<vec4<f32>>;

// adam_ema
@group(0) @binding(1) var<storage, read_write> ema: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> ema_src: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> ema_clock: array<u32>;

// 1 − β^t from q = 1 − β by binary exponentiation on complements: with c_k = 1 − β^k,
//   c_{2k} = c_k·(2 − c_k)   and   c_{j+k} = c_j + c_k·(1 − c_j),
// all sums of non-negative terms, so 1 − 0.999^t keeps full precision where 1 − pow(β, t)
// would cancel (and pow itself is only accurate to a few ulps on some devices).
fn one_minus_pow(q: f32, t: u32) -> f32 {
    var result = 0.0;
    var base = q;
    var e = t;
    while (e != 0u) {
        if ((e & 1u) != 0u) {
            result = result + base * (1.0 - result);
        }
        base = base * (2.0 - base);
        e = e >> 1u;
    }
    return result;
}

// Adam's move u_t from the moments after step t.
fn adam_move(first: vec4<f32>, second: vec4<f32>, t: u32) -> vec4<f32> {
    let step_size = p.lr / one_minus_pow(1.0 - p.beta1, t);
    return step_size * (first / (sqrt(second) / sqrt(one_minus_pow(1.0 - p.beta2, t)) + p.eps));
}

@compute @workgroup_size(WG, 1, 1)
fn adam_step(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= p.n4) {
        return;
    }
    let t = clock[0];
    let g = grads[i];
    let m_old = m[i];
    let v_old = v[i];
    let mi = p.beta1 * m_old + (1.0 - p.beta1) * g;
    let vi = p.beta2 * v_old + (1.0 - p.beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    // (1 + 0)·u is u exactly, and u_0 = 0: plain Adam and the first step need no u_{t−1}.
    let update = (1.0 + p.optimism) * adam_move(mi, vi, t);
    if (p.optimism == 0.0 || t == 1u) {
        params[i] -= update;
        return;
    }
    params[i] -= update - p.optimism * adam_move(m_old, v_old, t - 1u);
}

@compute @workgroup_size(WG, 1, 1)
fn adam_sgd_step(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= p.n4) {
        return;
    }
    var d = sgd_grads[i];
    if (p.momentum != 0.0) {
        d = p.momentum * sgd_buf[i] + d;
        sgd_buf[i] = d;
    }
    sgd_params[i] -= p.lr * d;
}

@compute @workgroup_size(WG, 1, 1)
fn adam_ema(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= p.n4) {
        return;
    }
    let t = f32(ema_clock[0]);
    let d = min(p.beta1, (1.0 + t) / (10.0 + t));
    ema[i] = d * ema[i] + (1.0 - d) * ema_src[i];
}
