// Elementwise activations over n values, by `kind`:
//   0 ReLU        y = max(x, 0)            dx = dy·(x > 0 ? 1 : 0)
//   1 LeakyReLU   y = x > 0 ? x : slope·x  dx = dy·(x > 0 ? 1 : slope)
//   2 Tanh        y = tanh(x)              dx = dy·(1 − y²)
//   3 Sigmoid     y = 1 / (1 + e^−x)       dx = dy·y·(1 − y)
// Invocation f handles the 4 elements (f / WG)·4·WG + f % WG + k·WG, k < 4, so a workgroup
// covers 4·WG consecutive elements and neighbouring invocations touch neighbouring elements.

struct ActivationParams {
    n: u32,
    kind: u32,
    slope: f32,
    _pad0: u32,
}

@group(0) @binding(0) var<uniform> p: ActivationParams;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;      // fwd only
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;     // bwd_x only
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> y_in: array<f32>;         // bwd_x: the forward's y
@group(0) @binding(4) var<storage, read> dy: array<f32>;           // bwd_x
// In place (src/nn/model.rs uses these where nothing else needs the activation's input): the
// forward overwrites x with y, and the backward takes f' from y alone, which holds for ReLU,
// LeakyReLU with slope ≥ 0 (y > 0 exactly when x > 0), tanh and sigmoid.
// Both read and write vec4s, one per invocation: on a software rasteriser every lane's access
// is a separate step, so four values a step is what pays (buffers are padded to 16 bytes).
@group(0) @binding(1) var<storage, read_write> xy4: array<vec4<f32>>;   // fwd_in_place
@group(0) @binding(1) var<storage, read_write> dx4: array<vec4<f32>>;   // bwd_x_from_y
@group(0) @binding(2) var<storage, read> y_saved4: array<vec4<f32>>;    // bwd_x_from_y
@group(0) @binding(3) var<storage, read> dy_in4: array<vec4<f32>>;      // bwd_x_from_y

fn first_of(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    let f = flat_index(gid, nwg);
    return (f / WG) * 4u * WG + f % WG;
}

fn act(v: f32) -> f32 {
    return activate(p.kind, p.slope, v);
}

// f'(x) from x (ReLU family) or from y (tanh, sigmoid).
fn act_grad(xv: f32, yv: f32) -> f32 {
    switch p.kind {
        case 0u: {
            return select(0.0, 1.0, xv > 0.0);
        }
        case 1u: {
            return select(p.slope, 1.0, xv > 0.0);
        }
        case 2u: {
            return 1.0 - yv * yv;
        }
        default: {
            return yv * (1.0 - yv);
        }
    }
}

// y[i] = f(x[i])
@compute @workgroup_size(WG, 1, 1)
fn activation_fwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let first = first_of(gid, nwg);
    if (first >= p.n) {
        return;
    }
    for (var k = 0u; k < 4u; k++) {
        let i = first + k * WG;
        if (i >= p.n) {
            break;
        }
        y[i] = act(x[i]);
    }
}

// dx[i] = dy[i]·f'(x[i]) (overwrite)
@compute @workgroup_size(WG, 1, 1)
fn activation_bwd_x(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let first = first_of(gid, nwg);
    if (first >= p.n) {
        return;
    }
    for (var k = 0u; k < 4u; k++) {
        let i = first + k * WG;
        if (i >= p.n) {
            break;
        }
        dx[i] = dy[i] * act_grad(x[i], y_in[i]);
    }
}

// Which of the four values 4f .. 4f + 3 lie inside the n.
fn inside4(f: u32) -> vec4<bool> {
    return vec4<u32>(4u * f) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(p.n);
}

// xy[i] = f(xy[i]); past n the padding keeps its value.
@compute @workgroup_size(WG, 1, 1)
fn activation_fwd_in_place(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let f = flat_index(gid, nwg);
    if (4u * f >= p.n) {
        return;
    }
    let v = xy4[f];
    let out = vec4<f32>(act(v.x), act(v.y), act(v.z), act(v.w));
    xy4[f] = select(v, out, inside4(f));
}

// dx[i] = dy[i]·f'(x[i]) with f' read off y[i] (overwrite); past n, zeros into the padding.
@compute @workgroup_size(WG, 1, 1)
fn activation_bwd_x_from_y(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let f = flat_index(gid, nwg);
    if (4u * f >= p.n) {
        return;
    }
    let yv = y_saved4[f];
    // y > 0 exactly when x > 0 for the ReLU family with slope ≥ 0.
    let g = vec4<f32>(act_grad(yv.x, yv.x), act_grad(yv.y, yv.y), act_grad(yv.z, yv.z), act_grad(yv.w, yv.w));
    dx4[f] = select(vec4<f32>(0.0), dy_in4[f] * g, inside4(f));
}
