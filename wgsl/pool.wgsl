// Max pooling over non-overlapping k × k windows (torch `nn.MaxPool2d(k)` with H, W multiples
// of k): x (N, C, H, W) -> y (N, C, H/k, W/k),
//   y[n, c, i, j] = max_{a, b < k} x[n, c, k·i + a, k·j + b]
// Backward sends each window's gradient to its first maximum (row-major, as PyTorch's CPU
// kernel does): dx = dy there, 0 elsewhere in the window. One invocation per window, which
// owns its k·k inputs, so backward needs neither atomics nor a stored mask: it finds the
// maximum again from x.

struct PoolParams {
    n: u32,               // windows: N·C·(H/k)·(W/k)
    h: u32, w: u32,       // the input's height and width
    k: u32,
}

@group(0) @binding(0) var<uniform> p: PoolParams;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;      // fwd only
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;     // bwd_x only
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;           // bwd_x only

// Index in x of window o's top-left input.
fn window_origin(o: u32) -> u32 {
    let ow = p.w / p.k;
    let oh = p.h / p.k;
    let plane = o / (oh * ow);
    let r = o % (oh * ow);
    return plane * p.h * p.w + (r / ow) * p.k * p.w + (r % ow) * p.k;
}

// Offset within the window of its first maximum.
fn first_max(origin: u32) -> u32 {
    var best = x[origin];
    var at = 0u;
    for (var a = 0u; a < p.k; a++) {
        for (var b = 0u; b < p.k; b++) {
            let v = x[origin + a * p.w + b];
            // Strictly greater keeps the first of equal values; NaN propagates as PyTorch's does.
            if (v > best || (v != v && best == best)) {
                best = v;
                at = a * p.w + b;
            }
        }
    }
    return at;
}

@compute @workgroup_size(WG, 1, 1)
fn pool_max_fwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let o = flat_index(gid, nwg);
    if (o >= p.n) {
        return;
    }
    let origin = window_origin(o);
    y[o] = x[origin + first_max(origin)];
}

@compute @workgroup_size(WG, 1, 1)
fn pool_max_bwd_x(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let o = flat_index(gid, nwg);
    if (o >= p.n) {
        return;
    }
    let origin = window_origin(o);
    let at = first_max(origin);
    for (var a = 0u; a < p.k; a++) {
        for (var b = 0u; b < p.k; b++) {
            let offset = a * p.w + b;
            dx[origin + offset] = select(0.0, dy[o], offset == at);
        }
    }
}
