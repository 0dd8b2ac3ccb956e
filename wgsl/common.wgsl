// Helpers shared by every kernel family. No bindings and no entry points live here: each
// family file is appended to this one to form its module (see src/gpu/kernels.rs).

// Invocations per workgroup of every 1-D kernel; src/gpu/kernels.rs `WG` must agree.
const WG: u32 = 64u;

// Flat invocation index of a 1-D kernel dispatched by `grid_1d`, which spills into y past
// 65535 workgroups.
fn flat_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * WG;
}

// (hi, lo) words of the 64-bit product a·b, from 16-bit halves because WGSL has no u64.
fn mulhilo(a: u32, b: u32) -> vec2<u32> {
    let a_lo = a & 0xffffu;
    let a_hi = a >> 16u;
    let b_lo = b & 0xffffu;
    let b_hi = b >> 16u;
    let ll = a_lo * b_lo;
    let lh = a_lo * b_hi;
    let hl = a_hi * b_lo;
    let hh = a_hi * b_hi;
    let mid = (ll >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
    let hi = hh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
    return vec2<u32>(hi, a * b);
}

// Philox4x32-10 (Salmon et al. 2011): counter-based, so any element's random numbers depend only
// on (key, counter) and come out the same natively, in the browser and in src/cpu/random.rs.
fn philox(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    var c = counter;
    var k = key;
    for (var round = 0u; round < 10u; round++) {
        let p0 = mulhilo(0xD2511F53u, c.x);
        let p1 = mulhilo(0xCD9E8D57u, c.z);
        c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
        k = k + vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
    }
    return c;
}

// u32 -> uniform in the open interval (0, 1): 24 random bits, centred in their bucket.
fn to_unit(bits: u32) -> f32 {
    return (f32(bits >> 8u) + 0.5) * (1.0 / 16777216.0);
}

// Box–Muller on two uniforms of one Philox draw.
fn to_normal(bits: vec4<u32>) -> f32 {
    let u1 = to_unit(bits.x);
    let u2 = to_unit(bits.y);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

// The activations by kind (src/nn/activation.rs `Act::kind`): 0 ReLU, 1 LeakyReLU(slope), 2 tanh,
// 3 sigmoid. Shared by the activation kernels and the GEMM epilogue that fuses one.
fn activate(kind: u32, slope: f32, v: f32) -> f32 {
    switch kind {
        case 0u: {
            // select rather than max so a NaN input stays NaN and the loss check sees it.
            return select(v, 0.0, v <= 0.0);
        }
        case 1u: {
            return select(v, slope * v, v <= 0.0);
        }
        case 2u: {
            // tanh(±10) is ±1 in f32; some drivers' tanh turns huge inputs into NaN (e^2x / e^2x).
            return tanh(clamp(v, -10.0, 10.0));
        }
        default: {
            return 1.0 / (1.0 + exp(-v));
        }
    }
}
