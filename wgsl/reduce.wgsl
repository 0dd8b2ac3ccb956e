// Bias gradient: dy viewed as (outer, C, inner);
//   db[c] (+)= Σ_{o < outer} Σ_{i < inner} dy[(o·C + c)·inner + i]
// One workgroup per channel; each invocation sums a strided share, then a fixed-order tree
// in workgroup memory, so the result is the same on every run.

struct ReduceParams {
    outer: u32, channels: u32, inner: u32,
    out_off: u32,
    accumulate: u32,
    _pad0: u32, _pad1: u32, _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: ReduceParams;
@group(0) @binding(1) var<storage, read_write> db: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG, 1, 1)
fn reduce_bias_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let ch = wid.x;
    let count = p.outer * p.inner;
    var sum = 0.0;
    if (ch < p.channels) {
        for (var j = lid; j < count; j += WG) {
            let o = j / p.inner;
            let i = j % p.inner;
            sum += dy[(o * p.channels + ch) * p.inner + i];
        }
    }
    partial[lid] = sum;
    workgroupBarrier();
    for (var half = WG / 2u; half > 0u; half /= 2u) {
        if (lid < half) {
            partial[lid] += partial[lid + half];
        }
        workgroupBarrier();
    }
    if (lid == 0u && ch < p.channels) {
        if (p.accumulate == 1u) {
            db[p.out_off + ch] += partial[0];
        } else {
            db[p.out_off + ch] = partial[0];
        }
    }
}

// Registers variant, small outer·inner (src/nn/linear.rs picks it): one invocation per channel
// sums its values itself in runs of WG, with no workgroup memory or barriers (see
// batch_norm_stats_serial).
@compute @workgroup_size(WG, 1, 1)
fn reduce_bias_grad_serial(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let ch = flat_index(gid, nwg);
    if (ch >= p.channels) {
        return;
    }
    let count = p.outer * p.inner;
    var sum = 0.0;
    for (var j0 = 0u; j0 < count; j0 += WG) {
        var run = 0.0;
        for (var j = j0; j < min(j0 + WG, count); j++) {
            run += dy[((j / p.inner) * p.channels + ch) * p.inner + j % p.inner];
        }
        sum += run;
    }
    db[p.out_off + ch] = sum + select(0.0, db[p.out_off + ch], p.accumulate == 1u);
}
