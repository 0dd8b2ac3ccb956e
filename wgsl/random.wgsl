// Counter-based random fills. Element i of a draw is Philox4x32-10 of
//   counter (i, stream, clock[slot], 0), key (seed_lo, seed_hi),
// the same counter src/cpu/random.rs `draw` uses, so the GPU and the host agree bit for bit.
// The step word comes from the `clock` buffer rather than the uniform: a plan recorded once and
// replayed every step then draws fresh numbers after each `random_clock_tick`.

struct RandomParams {
    n: u32,
    stream: u32,
    seed_lo: u32, seed_hi: u32,
    slot: u32,            // which clock counter supplies the step word
    _pad0: u32,
    a: f32,               // uniform: lo;     normal: mean
    b: f32,               // uniform: hi − lo; normal: std
}

@group(0) @binding(0) var<uniform> p: RandomParams;

// random_uniform, random_normal
@group(0) @binding(1) var<storage, read_write> t: array<f32>;
@group(0) @binding(2) var<storage, read> clock: array<u32>;

// random_clock_tick
@group(0) @binding(1) var<storage, read_write> counter: array<u32>;

fn draw(i: u32) -> vec4<u32> {
    return philox(vec4<u32>(i, p.stream, clock[p.slot], 0u), vec2<u32>(p.seed_lo, p.seed_hi));
}

// t[i] = lo + (hi − lo)·U(0, 1)
@compute @workgroup_size(WG, 1, 1)
fn random_uniform(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= p.n) {
        return;
    }
    t[i] = p.a + p.b * to_unit(draw(i).x);
}

// t[i] = mean + std·N(0, 1)
@compute @workgroup_size(WG, 1, 1)
fn random_normal(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= p.n) {
        return;
    }
    t[i] = p.a + p.b * to_normal(draw(i));
}

// counter[slot] += 1, by a single invocation so no atomics are needed.
@compute @workgroup_size(1, 1, 1)
fn random_clock_tick(@builtin(global_invocation_id) gid: vec3<u32>) {
    if (gid.x != 0u) {
        return;
    }
    counter[p.slot] += 1u;
}
