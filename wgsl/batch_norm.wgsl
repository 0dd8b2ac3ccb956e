// Batch normalisation over x viewed as (N, C, inner), inner = H·W (1 for (N, C) input).
// Per channel c, over its M = N·inner values:
//   mean[c] = Σ x / M,  var[c] = Σ (x − mean)² / M (biased),  rstd[c] = 1 / √(var + eps)
//   x̂ = (x − mean)·rstd,  y = γ[c]·x̂ + β[c]
// `stats` is the layer's (4, C) tensor: rows mean, rstd, Σdy, Σdy·x̂ (the last two for backward).
// Reductions run one workgroup per channel: each invocation sums a strided share, then a
// fixed-order tree in workgroup memory, so results are the same on every run.

struct BatchNormParams {
    c: u32, inner: u32,
    count: u32,           // M = N·inner
    n: u32,               // N·C·inner
    gamma_off: u32, beta_off: u32,
    mean_off: u32, var_off: u32,   // running statistics in the arena's state buffer
    eps: f32, momentum: f32,
    train: u32,           // fwd: 1 normalises with the batch statistics, 0 with the running ones
    frozen: u32,          // bwd_w: 1 computes the sums for bwd_x but leaves dγ, dβ alone
    act: u32,             // fwd: 0, or the next layer's activation fused in (activate's kind + 1)
    act_slope: f32,
    _pad0: u32, _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: BatchNormParams;
// batch_norm_stats, batch_norm_bwd_w
@group(0) @binding(1) var<storage, read_write> stats: array<f32>;
@group(0) @binding(2) var<storage, read_write> running: array<f32>;   // stats only
@group(0) @binding(2) var<storage, read_write> grads: array<f32>;     // bwd_w only
// batch_norm_fwd, batch_norm_bwd_x
@group(0) @binding(1) var<storage, read_write> y: array<f32>;         // fwd only
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;        // bwd_x only
@group(0) @binding(2) var<storage, read> weights: array<f32>;         // arena params (γ, β)
// all
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;              // bwd_w, bwd_x
@group(0) @binding(4) var<storage, read> running_in: array<f32>;      // fwd only
@group(0) @binding(5) var<storage, read> saved: array<f32>;           // fwd, bwd_x: `stats`
// The `4` kernels (inner a multiple of 4, so four neighbours share a channel): vec4 views.
@group(0) @binding(1) var<storage, read_write> y4: array<vec4<f32>>;      // fwd4
@group(0) @binding(1) var<storage, read_write> dx4: array<vec4<f32>>;     // bwd_x4
@group(0) @binding(3) var<storage, read> x4: array<vec4<f32>>;            // fwd4, bwd_x4
@group(0) @binding(4) var<storage, read> dy4: array<vec4<f32>>;           // bwd_x4
// The fused `_serial` kernels (after their `stats`, `running` or `grads`, `x` and `dy`):
@group(0) @binding(4) var<storage, read_write> y_out: array<f32>;     // fwd_serial
@group(0) @binding(5) var<storage, read> prm: array<f32>;             // fwd_serial: γ, β
@group(0) @binding(5) var<storage, read_write> dx_out: array<f32>;    // bwd_serial
@group(0) @binding(6) var<storage, read> prm_b: array<f32>;           // bwd_serial: γ

var<workgroup> partial: array<f32, WG>;
var<workgroup> partial2: array<f32, WG>;

// Index of the j-th value (j < M) of channel ch: x[n, ch, i] with n = j / inner, i = j % inner.
fn at(ch: u32, j: u32) -> u32 {
    return ((j / p.inner) * p.c + ch) * p.inner + j % p.inner;
}

// Σ over the workgroup of each invocation's `v`, in a fixed order; every invocation gets it.
fn workgroup_sum(lid: u32, v: f32) -> f32 {
    partial[lid] = v;
    workgroupBarrier();
    for (var half = WG / 2u; half > 0u; half /= 2u) {
        if (lid < half) {
            partial[lid] += partial[lid + half];
        }
        workgroupBarrier();
    }
    let total = partial[0];
    // Nobody may overwrite partial[0] with the next sum before everyone has read this one.
    workgroupBarrier();
    return total;
}

// Two sums at once (Σdy and Σdy·(x − mean) in bwd_w).
fn workgroup_sum2(lid: u32, v: vec2<f32>) -> vec2<f32> {
    partial[lid] = v.x;
    partial2[lid] = v.y;
    workgroupBarrier();
    for (var half = WG / 2u; half > 0u; half /= 2u) {
        if (lid < half) {
            partial[lid] += partial[lid + half];
            partial2[lid] += partial2[lid + half];
        }
        workgroupBarrier();
    }
    let total = vec2<f32>(partial[0], partial2[0]);
    workgroupBarrier();
    return total;
}

// stats[0, c] = mean, stats[1, c] = rstd; then, as PyTorch,
//   running_mean = (1 − momentum)·running_mean + momentum·mean
//   running_var  = (1 − momentum)·running_var  + momentum·var·M/(M − 1)   (unbiased)
// Two passes over x (mean first, then squared deviations) to avoid E[x²] − mean² cancellation.
@compute @workgroup_size(WG, 1, 1)
fn batch_norm_stats(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let ch = wid.x;
    if (ch >= p.c) {
        return;
    }
    var s = 0.0;
    for (var j = lid; j < p.count; j += WG) {
        s += x[at(ch, j)];
    }
    let m = f32(p.count);
    let mean = workgroup_sum(lid, s) / m;
    var q = 0.0;
    for (var j = lid; j < p.count; j += WG) {
        let d = x[at(ch, j)] - mean;
        q += d * d;
    }
    let var_b = workgroup_sum(lid, q) / m;
    if (lid == 0u) {
        finish_stats(ch, mean, var_b);
    }
}

fn finish_stats(ch: u32, mean: f32, var_b: f32) {
    let m = f32(p.count);
    stats[ch] = mean;
    stats[p.c + ch] = 1.0 / sqrt(var_b + p.eps);
    // The host refuses training with M = 1, where the unbiased variance is undefined.
    let var_u = var_b * m / max(m - 1.0, 1.0);
    let k = p.momentum;
    running[p.mean_off + ch] = (1.0 - k) * running[p.mean_off + ch] + k * mean;
    running[p.var_off + ch] = (1.0 - k) * running[p.var_off + ch] + k * var_u;
}

// The `_serial` reductions (registers variant, small M; src/nn/batch_norm.rs picks them): one
// invocation per channel sums its M values itself, in runs of WG added to a running total, so
// no partial sum is longer than the workgroup version's. No workgroup memory and no barriers,
// at each of which a software rasteriser switches through every invocation of the workgroup.
@compute @workgroup_size(WG, 1, 1)
fn batch_norm_stats_serial(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let ch = flat_index(gid, nwg);
    if (ch >= p.c) {
        return;
    }
    let mean_var = channel_mean_var(ch);
    finish_stats(ch, mean_var.x, mean_var.y);
}

// (mean, biased variance) of channel ch, summed serially (see batch_norm_stats_serial).
fn channel_mean_var(ch: u32) -> vec2<f32> {
    var s = 0.0;
    for (var j0 = 0u; j0 < p.count; j0 += WG) {
        var run = 0.0;
        for (var j = j0; j < min(j0 + WG, p.count); j++) {
            run += x[at(ch, j)];
        }
        s += run;
    }
    let mean = s / f32(p.count);
    var q = 0.0;
    for (var j0 = 0u; j0 < p.count; j0 += WG) {
        var run = 0.0;
        for (var j = j0; j < min(j0 + WG, p.count); j++) {
            let d = x[at(ch, j)] - mean;
            run += d * d;
        }
        q += run;
    }
    return vec2<f32>(mean, q / f32(p.count));
}

// Training forward in one dispatch: the statistics of channel ch, then its outputs
// y = γ·(x − mean)·rstd + β (one dispatch fewer than stats + fwd, where a software
// rasteriser pays for each).
@compute @workgroup_size(WG, 1, 1)
fn batch_norm_fwd_serial(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let ch = flat_index(gid, nwg);
    if (ch >= p.c) {
        return;
    }
    let mean_var = channel_mean_var(ch);
    finish_stats(ch, mean_var.x, mean_var.y);
    // The same expression as batch_norm_fwd's.
    let mean = mean_var.x;
    let rstd = 1.0 / sqrt(mean_var.y + p.eps);
    let gamma = prm[p.gamma_off + ch];
    let beta = prm[p.beta_off + ch];
    for (var j = 0u; j < p.count; j++) {
        let i = at(ch, j);
        y_out[i] = bn_out(gamma * (x[i] - mean) * rstd + beta);
    }
}

// The forward's output: the activation that follows the layer in place applied here instead, a
// dispatch fewer (its backward takes f' from y; batch norm's own backward reads x, not y).
fn bn_out(v: f32) -> f32 {
    if (p.act == 0u) {
        return v;
    }
    return activate(p.act - 1u, p.act_slope, v);
}

fn bn_out4(v: vec4<f32>) -> vec4<f32> {
    if (p.act == 0u) {
        return v;
    }
    let kind = p.act - 1u;
    return vec4<f32>(activate(kind, p.act_slope, v.x), activate(kind, p.act_slope, v.y), activate(kind, p.act_slope, v.z), activate(kind, p.act_slope, v.w));
}

// Elementwise kernels: invocation f handles the 4 elements
//   (f / WG)·4·WG + f % WG + k·WG,  k < 4
// so a workgroup covers 4·WG consecutive elements and neighbours touch neighbours.
fn first_of(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    let f = flat_index(gid, nwg);
    return (f / WG) * 4u * WG + f % WG;
}

// (mean, rstd) of channel ch for the forward: the batch's (train) or the running ones.
fn mean_rstd(ch: u32) -> vec2<f32> {
    if (p.train == 1u) {
        return vec2<f32>(saved[ch], saved[p.c + ch]);
    }
    return vec2<f32>(running_in[p.mean_off + ch], 1.0 / sqrt(running_in[p.var_off + ch] + p.eps));
}

// y = γ[c]·(x − mean[c])·rstd[c] + β[c], with the batch statistics (train) or the running ones.
@compute @workgroup_size(WG, 1, 1)
fn batch_norm_fwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let first = first_of(gid, nwg);
    if (first >= p.n) {
        return;
    }
    for (var k = 0u; k < 4u; k++) {
        let i = first + k * WG;
        if (i >= p.n) {
            break;
        }
        let ch = (i / p.inner) % p.c;
        let norm = mean_rstd(ch);
        y[i] = bn_out(weights[p.gamma_off + ch] * (x[i] - norm.x) * norm.y + weights[p.beta_off + ch]);
    }
}

// batch_norm_fwd for inner a multiple of 4: invocation f handles values 4f .. 4f + 3, one
// channel, as one vec4 (a quarter of the memory steps on a software rasteriser).
@compute @workgroup_size(WG, 1, 1)
fn batch_norm_fwd4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let f = flat_index(gid, nwg);
    if (4u * f >= p.n) {
        return;
    }
    let ch = (4u * f / p.inner) % p.c;
    let norm = mean_rstd(ch);
    y4[f] = bn_out4(weights[p.gamma_off + ch] * (x4[f] - norm.x) * norm.y + weights[p.beta_off + ch]);
}

// stats[2, c] = Σ dy,  stats[3, c] = Σ dy·x̂ = rstd·Σ dy·(x − mean);
// unless frozen: dβ[c] += Σ dy, dγ[c] += Σ dy·x̂.
@compute @workgroup_size(WG, 1, 1)
fn batch_norm_bwd_w(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let ch = wid.x;
    if (ch >= p.c) {
        return;
    }
    let mean = stats[ch];
    var s = vec2<f32>(0.0, 0.0);
    for (var j = lid; j < p.count; j += WG) {
        let i = at(ch, j);
        let g = dy[i];
        s += vec2<f32>(g, g * (x[i] - mean));
    }
    let total = workgroup_sum2(lid, s);
    if (lid == 0u) {
        finish_bwd_w(ch, total);
    }
}

// total = (Σ dy, Σ dy·(x − mean)) of channel ch.
fn finish_bwd_w(ch: u32, total: vec2<f32>) {
    let sum_dy = total.x;
    let sum_dy_xhat = total.y * stats[p.c + ch];
    stats[2u * p.c + ch] = sum_dy;
    stats[3u * p.c + ch] = sum_dy_xhat;
    if (p.frozen == 0u) {
        grads[p.gamma_off + ch] += sum_dy_xhat;
        grads[p.beta_off + ch] += sum_dy;
    }
}

@compute @workgroup_size(WG, 1, 1)
fn batch_norm_bwd_w_serial(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let ch = flat_index(gid, nwg);
    if (ch >= p.c) {
        return;
    }
    finish_bwd_w(ch, channel_grad_sums(ch));
}

// (Σ dy, Σ dy·(x − mean)) of channel ch, summed serially.
fn channel_grad_sums(ch: u32) -> vec2<f32> {
    let mean = stats[ch];
    var s = vec2<f32>(0.0, 0.0);
    for (var j0 = 0u; j0 < p.count; j0 += WG) {
        var run = vec2<f32>(0.0, 0.0);
        for (var j = j0; j < min(j0 + WG, p.count); j++) {
            let i = at(ch, j);
            let g = dy[i];
            run += vec2<f32>(g, g * (x[i] - mean));
        }
        s += run;
    }
    return s;
}

// Training backward in one dispatch: bwd_w's sums of channel ch, then its
// dx = γ·rstd·(dy − Σdy/M − x̂·Σdy·x̂/M) as batch_norm_bwd_x computes it.
@compute @workgroup_size(WG, 1, 1)
fn batch_norm_bwd_serial(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let ch = flat_index(gid, nwg);
    if (ch >= p.c) {
        return;
    }
    let sums = channel_grad_sums(ch);
    finish_bwd_w(ch, sums);
    let inv_m = 1.0 / f32(p.count);
    let mean = stats[ch];
    let rstd = stats[p.c + ch];
    let mean_dy = sums.x * inv_m;
    let mean_dy_xhat = sums.y * rstd * inv_m;
    let gamma = prm_b[p.gamma_off + ch];
    for (var j = 0u; j < p.count; j++) {
        let i = at(ch, j);
        let xhat = (x[i] - mean) * rstd;
        dx_out[i] = gamma * rstd * (dy[i] - mean_dy - xhat * mean_dy_xhat);
    }
}

// (mean, rstd, Σdy/M, Σdy·x̂/M) of channel ch from the saved statistics, for dx.
fn dx_terms(ch: u32) -> vec4<f32> {
    let inv_m = 1.0 / f32(p.count);
    return vec4<f32>(saved[ch], saved[p.c + ch], saved[2u * p.c + ch] * inv_m, saved[3u * p.c + ch] * inv_m);
}

// dx = γ·rstd·(dy − Σdy/M − x̂·Σdy·x̂/M), the gradient through the batch statistics.
@compute @workgroup_size(WG, 1, 1)
fn batch_norm_bwd_x(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let first = first_of(gid, nwg);
    if (first >= p.n) {
        return;
    }
    for (var k = 0u; k < 4u; k++) {
        let i = first + k * WG;
        if (i >= p.n) {
            break;
        }
        let ch = (i / p.inner) % p.c;
        let t = dx_terms(ch);
        let xhat = (x[i] - t.x) * t.y;
        dx[i] = weights[p.gamma_off + ch] * t.y * (dy[i] - t.z - xhat * t.w);
    }
}

// batch_norm_bwd_x for inner a multiple of 4, one vec4 per invocation (see batch_norm_fwd4).
@compute @workgroup_size(WG, 1, 1)
fn batch_norm_bwd_x4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let f = flat_index(gid, nwg);
    if (4u * f >= p.n) {
        return;
    }
    let ch = (4u * f / p.inner) % p.c;
    let t = dx_terms(ch);
    let xhat = (x4[f] - t.x) * t.y;
    dx4[f] = weights[p.gamma_off + ch] * t.y * (dy4[f] - t.z - xhat * t.w);
}
