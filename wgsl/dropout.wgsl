// Inverted dropout, training only: y = x·mask with mask ∈ {0, 1/(1−p)}.
// Element i belongs to mask group g = i / group (group = 1 for Dropout; H·W for Dropout2d, so
// g = n·C + c and a whole channel shares one draw). Group g is dropped when the first word of
//   philox((g, stream, clock[0], pass), (seed_lo, seed_hi))
// is below threshold = round(p·2³²): an integer compare, so src/cpu/dropout.rs reproduces every
// decision exactly. threshold = 0 (p = 0 or eval mode) keeps everything without drawing.

struct DropoutParams {
    n: u32,
    group: u32,
    stream: u32,
    pass_id: u32,         // separates the masks of several forward calls in one step
    seed_lo: u32, seed_hi: u32,
    threshold: u32,
    scale: f32,           // 1/(1−p); 1 in eval mode
}

@group(0) @binding(0) var<uniform> p: DropoutParams;

// dropout_fwd
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> mask: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> clock: array<u32>;

// dropout_bwd_x
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> saved_mask: array<f32>;

// mask[i] = (bits(i / group).x ≥ threshold) · scale;  y[i] = x[i]·mask[i]
@compute @workgroup_size(WG, 1, 1)
fn dropout_fwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= p.n) {
        return;
    }
    var m = p.scale;
    if (p.threshold != 0u) {
        let bits = philox(vec4<u32>(i / p.group, p.stream, clock[0], p.pass_id), vec2<u32>(p.seed_lo, p.seed_hi));
        if (bits.x < p.threshold) {
            m = 0.0;
        }
    }
    mask[i] = m;
    y[i] = x[i] * m;
}

// dx[i] = dy[i]·mask[i]
@compute @workgroup_size(WG, 1, 1)
fn dropout_bwd_x(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= p.n) {
        return;
    }
    dx[i] = dy[i] * saved_mask[i];
}
