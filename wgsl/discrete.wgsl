// Boundary-seeking GAN for discrete data (Hjelm et al., ICLR 2018, algorithm 1). The generator
// outputs per-pixel logits l (N, P) of independent Bernoulli pixels; for each noise row n, M
// binary images x[n, m] are drawn, and D's logits on them, d[n, m] = log D − log(1 − D), are
// importance weights. With b = (x + 1)/2 ∈ {0, 1}, σ the logistic function and sp = softplus:
//   w̃[n, m] = exp(d[n, m]) / Σ_m' exp(d[n, m'])                    (a softmax over the M samples)
//   log g(x | z_n) = Σ_j b_j·l[n, j] − sp(l[n, j])                  (Bernoulli log-likelihood)
//   L = −(1/N) Σ_n Σ_m w̃[n, m]·log g(x[n, m] | z_n)
//     = (1/N) Σ_n Σ_j sp(l[n, j]) − l[n, j]·s[n, j],   s[n, j] = Σ_m w̃[n, m]·b[n, m, j]
//   ∂L/∂l[n, j] = (σ(l[n, j]) − s[n, j]) / N                       (w̃ held constant, Σ_m w̃ = 1)
// Samples are ±1, the range of the tanh images everywhere else, so D and the image writers
// need nothing new; sample (n, m) is row n·M + m.
// The REINFORCE estimator (estimator = 1) keeps the same loss with other constant weights:
// w[n, m] = (d[n, m] − mean_m' d[n, m']) / M, D's logit as the reward less the mean reward of
// the same z's samples as its baseline. They sum to 0 rather than 1, so the gradient is written
// for any weights: ∂L/∂l[n, j] = (σ(l[n, j])·W[n] − s[n, j]) / N, W[n] = Σ_m w[n, m]. That
// loss's value is 0 in expectation and says nothing, so for REINFORCE the logged G loss is the
// samples' plain mean negative log-likelihood instead (the same loss with w = 1/M).

struct DiscreteParams {
    n: u32,               // noise rows N
    len: u32,             // pixels per image P
    m: u32,               // samples per noise row M
    stream: u32,
    seed_lo: u32,
    seed_hi: u32,
    slot: u32,            // clock counter that supplies Philox's step word
    out_index: u32,       // losses[out_index] receives L
    estimator: u32,       // 0: BGAN's normalised importance weights, 1: REINFORCE
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<uniform> p: DiscreteParams;

// discrete_sample
@group(0) @binding(1) var<storage, read_write> samples: array<f32>;
@group(0) @binding(2) var<storage, read> sample_logits: array<f32>;
@group(0) @binding(3) var<storage, read> clock: array<u32>;

// discrete_weights
@group(0) @binding(1) var<storage, read_write> weights_out: array<f32>;
@group(0) @binding(2) var<storage, read> d_logits: array<f32>;

// discrete_bwd
@group(0) @binding(1) var<storage, read_write> dl: array<f32>;
@group(0) @binding(2) var<storage, read_write> terms: array<f32>;
@group(0) @binding(3) var<storage, read> logits: array<f32>;
@group(0) @binding(4) var<storage, read> drawn: array<f32>;
@group(0) @binding(5) var<storage, read> weights: array<f32>;

// discrete_loss_sum
@group(0) @binding(1) var<storage, read_write> losses: array<f32>;
@group(0) @binding(2) var<storage, read> loss_terms: array<f32>;

fn sigmoid(v: f32) -> f32 {
    return 1.0 / (1.0 + exp(-v));
}

fn softplus(v: f32) -> f32 {
    return max(v, 0.0) + log(1.0 + exp(-abs(v)));
}

// samples[i] = +1 if U_i < σ(l[n, j]) else −1, for i = (n·M + m)·P + j and U_i the uniform of
// Philox counter (i, stream, clock[slot], 0): each sample sees its own draws.
@compute @workgroup_size(WG, 1, 1)
fn discrete_sample(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= p.n * p.m * p.len) {
        return;
    }
    let j = i % p.len;
    let n = i / (p.len * p.m);
    let bits = philox(vec4<u32>(i, p.stream, clock[p.slot], 0u), vec2<u32>(p.seed_lo, p.seed_hi));
    samples[i] = select(-1.0, 1.0, to_unit(bits.x) < sigmoid(sample_logits[n * p.len + j]));
}

// weights_out[n·M + m] = softmax over m of d[n·M + m], with the maximum subtracted first; or
// for REINFORCE, (d[n·M + m] − their mean) / M.
@compute @workgroup_size(WG, 1, 1)
fn discrete_weights(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let n = flat_index(gid, nwg);
    if (n >= p.n) {
        return;
    }
    let base = n * p.m;
    if (p.estimator == 1u) {
        var mean = 0.0;
        for (var m = 0u; m < p.m; m++) {
            mean += d_logits[base + m];
        }
        mean /= f32(p.m);
        for (var m = 0u; m < p.m; m++) {
            weights_out[base + m] = (d_logits[base + m] - mean) / f32(p.m);
        }
        return;
    }
    var top = d_logits[base];
    for (var m = 1u; m < p.m; m++) {
        top = max(top, d_logits[base + m]);
    }
    var total = 0.0;
    for (var m = 0u; m < p.m; m++) {
        total += exp(d_logits[base + m] - top);
    }
    for (var m = 0u; m < p.m; m++) {
        weights_out[base + m] = exp(d_logits[base + m] - top) / total;
    }
}

// dl[n, j] = (σ(l)·W − s)/N, s = Σ_m w[n, m]·b[n, m, j], W = Σ_m w[n, m] (1 for the importance
// weights up to rounding, 0 for REINFORCE's); terms[n, j] = (sp(l) − l·s)/N for the importance
// weights, (sp(l) − l·mean_m b[n, m, j])/N for REINFORCE.
@compute @workgroup_size(WG, 1, 1)
fn discrete_bwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= p.n * p.len) {
        return;
    }
    let j = i % p.len;
    let n = i / p.len;
    var s = 0.0;
    var total = 0.0;
    var ones = 0.0;
    for (var m = 0u; m < p.m; m++) {
        let b = 0.5 * (drawn[(n * p.m + m) * p.len + j] + 1.0);
        let w = weights[n * p.m + m];
        s += w * b;
        total += w;
        ones += b;
    }
    let l = logits[i];
    let inv_n = 1.0 / f32(p.n);
    dl[i] = (sigmoid(l) * total - s) * inv_n;
    let logged = select(s, ones / f32(p.m), p.estimator == 1u);
    terms[i] = (softplus(l) - l * logged) * inv_n;
}

const SUM_WG: u32 = 256u;
var<workgroup> partial: array<f32, SUM_WG>;

// losses[out_index] = Σ terms over N·P values, in one workgroup so the order is fixed.
@compute @workgroup_size(SUM_WG, 1, 1)
fn discrete_loss_sum(@builtin(local_invocation_index) lid: u32) {
    var sum = 0.0;
    for (var i = lid; i < p.n * p.len; i += SUM_WG) {
        sum += loss_terms[i];
    }
    partial[lid] = sum;
    workgroupBarrier();
    for (var half = SUM_WG / 2u; half > 0u; half /= 2u) {
        if (lid < half) {
            partial[lid] += partial[lid + half];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        losses[p.out_index] = partial[0];
    }
}
