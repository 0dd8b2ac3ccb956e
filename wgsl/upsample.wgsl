// Nearest-neighbour upsampling by 2: x (N, C, H, W) -> y (N, C, 2H, 2W),
//   y[n, c, 2h + a, 2w + b] = x[n, c, h, w],  a, b ∈ {0, 1}
// One invocation per input element, which owns the 2×2 block of y it feeds, so neither pass
// needs atomics: backward sums that block.

struct UpsampleParams {
    n: u32,               // N·C·H·W, the input's size
    h: u32, w: u32,
    _pad0: u32,
}

@group(0) @binding(0) var<uniform> p: UpsampleParams;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;      // fwd only
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;     // bwd_x only
@group(0) @binding(2) var<storage, read> x: array<f32>;            // fwd only
@group(0) @binding(2) var<storage, read> dy: array<f32>;           // bwd_x only

// Index in y of y[plane, 2h, 2w] for input element i = (plane·H + h)·W + w.
fn top_left(i: u32) -> u32 {
    let plane = i / (p.h * p.w);
    let r = i % (p.h * p.w);
    return plane * 4u * p.h * p.w + (r / p.w) * 4u * p.w + (r % p.w) * 2u;
}

// y[2×2 block of i] = x[i]
@compute @workgroup_size(WG, 1, 1)
fn upsample_fwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= p.n) {
        return;
    }
    let o = top_left(i);
    let row = 2u * p.w;
    let v = x[i];
    y[o] = v;
    y[o + 1u] = v;
    y[o + row] = v;
    y[o + row + 1u] = v;
}

// dx[i] = Σ dy over the 2×2 block of i
@compute @workgroup_size(WG, 1, 1)
fn upsample_bwd_x(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= p.n) {
        return;
    }
    let o = top_left(i);
    let row = 2u * p.w;
    dx[i] = (dy[o] + dy[o + 1u]) + (dy[o + row] + dy[o + row + 1u]);
}
