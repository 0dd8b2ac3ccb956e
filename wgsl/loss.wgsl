// Losses over a network output y (N values: a discriminator's logits, or a regression output)
// and their gradient dy = ∂L/∂y, in one dispatch of one workgroup: outputs are small (the
// batch), and one workgroup gives a fixed summation order, so losses are reproducible.
//   kind 0  MSE to a target tensor t:      L = mean((y − t)²)                 dy = 2(y − t)/N
//   kind 1  least squares to a constant c: L = ½·mean((y − c)²)               dy = (y − c)/N
//   kind 2  BCE on logits, label c ∈ [0,1]: L = mean(max(y,0) − c·y + log(1 + e^−|y|))
//                                                                              dy = (σ(y) − c)/N
//   kind 3  kind 2 negated: the minimax generator's E[log(1 − D(G(z)))] is −(kind 2 with c = 0),
//           from the logit, so D(G(z)) → 0 gives a loss near 0 and a vanishing gradient, not log 0.
// BGAN's generator loss ½·mean((log D − log(1 − D))²) is kind 1 with c = 0, because
// log σ(y) − log(1 − σ(y)) = y exactly: computing it from the logit never takes log(0).
// The loss lands in losses[out_index] (added to it if accumulate = 1, as D's real and fake terms).
// loss_softmax_xent, for classifiers: y (N, C) logits, t (N) class indices (as f32),
//   L = mean_n(logsumexp(y[n, ·]) − y[n, t[n]]),   dy[n, c] = (softmax(y[n, ·])[c] − [c = t[n]]) / N

struct LossParams {
    n: u32,
    kind: u32,
    c: f32,
    out_index: u32,
    accumulate: u32,
    classes: u32,         // C, loss_softmax_xent only
    _pad1: u32, _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: LossParams;
@group(0) @binding(1) var<storage, read_write> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> losses: array<f32>;
@group(0) @binding(3) var<storage, read> y: array<f32>;
@group(0) @binding(4) var<storage, read> t: array<f32>;

const LOSS_WG: u32 = 256u;
var<workgroup> partial: array<f32, LOSS_WG>;

fn softplus(v: f32) -> f32 {
    return max(v, 0.0) + log(1.0 + exp(-abs(v)));
}

@compute @workgroup_size(LOSS_WG, 1, 1)
fn loss_fwd_bwd(@builtin(local_invocation_index) lid: u32) {
    let inv_n = 1.0 / f32(max(p.n, 1u));
    var sum = 0.0;
    for (var i = lid; i < p.n; i += LOSS_WG) {
        let v = y[i];
        var l = 0.0;
        var g = 0.0;
        if (p.kind == 0u) {
            let d = v - t[i];
            l = d * d;
            g = 2.0 * d;
        } else if (p.kind == 1u) {
            let d = v - p.c;
            l = 0.5 * d * d;
            g = d;
        } else {
            // A sign rather than a branch for kind 3: software rasterisers run both sides.
            let sign = select(1.0, -1.0, p.kind == 3u);
            l = sign * (softplus(v) - p.c * v);
            g = sign * (1.0 / (1.0 + exp(-v)) - p.c);
        }
        sum += l;
        dy[i] = g * inv_n;
    }
    store_mean(lid, sum, inv_n);
}

// Sums the invocations' partial sums in a fixed order and stores sum·inv_n into the loss slot.
fn store_mean(lid: u32, sum: f32, inv_n: f32) {
    partial[lid] = sum;
    workgroupBarrier();
    for (var half = LOSS_WG / 2u; half > 0u; half /= 2u) {
        if (lid < half) {
            partial[lid] += partial[lid + half];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        let total = partial[0] * inv_n;
        if (p.accumulate == 1u) {
            losses[p.out_index] += total;
        } else {
            losses[p.out_index] = total;
        }
    }
}

@compute @workgroup_size(LOSS_WG, 1, 1)
fn loss_softmax_xent(@builtin(local_invocation_index) lid: u32) {
    let inv_n = 1.0 / f32(max(p.n, 1u));
    var sum = 0.0;
    for (var r = lid; r < p.n; r += LOSS_WG) {
        let base = r * p.classes;
        var top = y[base];
        for (var c = 1u; c < p.classes; c++) {
            top = max(top, y[base + c]);
        }
        var total = 0.0;
        for (var c = 0u; c < p.classes; c++) {
            total += exp(y[base + c] - top);
        }
        // The host checks labels; the clamp only keeps a bad one inside its row.
        let label = min(u32(max(t[r], 0.0)), p.classes - 1u);
        sum += top + log(total) - y[base + label];
        for (var c = 0u; c < p.classes; c++) {
            dy[base + c] = (exp(y[base + c] - top) / total - select(0.0, 1.0, c == label)) * inv_n;
        }
    }
    store_mean(lid, sum, inv_n);
}
