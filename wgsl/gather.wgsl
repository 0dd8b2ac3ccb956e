// Batches from a dataset kept on the GPU as bytes, four to a u32 (little-endian).
//   gather_indices: idx[b] = ⌊bits·count / 2³²⌋ for bits = Philox(b, stream, clock[slot]).x
//                   (uniform with replacement; integer maths, so the CPU twin agrees exactly)
//   gather_batch:   x[b, j] = images[idx[b]·len + j] / 255 · 2 − 1      (pixels into [−1, 1], like
//                   torchvision's ToTensor + Normalize(0.5, 0.5))
//   gather_batch_binary: the same pixels as ±1. binarize 1 thresholds intensity v/255 at ½
//                   (v ≥ 128); binarize 2 draws +1 with probability v/255, from Philox counter
//                   (b·len + j, stream, clock[slot], 0): ⌊255·bits/2³²⌋ < v, integer maths again.

struct GatherParams {
    batch: u32,
    image_len: u32,
    count: u32,
    stream: u32,
    seed_lo: u32,
    seed_hi: u32,
    clock_slot: u32,
    binarize: u32,
}

@group(0) @binding(0) var<uniform> p: GatherParams;
// gather_indices
@group(0) @binding(1) var<storage, read_write> idx_out: array<u32>;
@group(0) @binding(2) var<storage, read> clock: array<u32>;
// gather_batch
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> images: array<u32>;
@group(0) @binding(3) var<storage, read> idx: array<u32>;
// gather_batch_binary: as gather_batch, then
@group(0) @binding(4) var<storage, read> binarize_clock: array<u32>;

@compute @workgroup_size(WG, 1, 1)
fn gather_indices(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let b = flat_index(gid, nwg);
    if (b >= p.batch) {
        return;
    }
    let bits = philox(vec4<u32>(b, p.stream, clock[p.clock_slot], 0u), vec2<u32>(p.seed_lo, p.seed_hi));
    idx_out[b] = mulhilo(bits.x, p.count).x;
}

@compute @workgroup_size(WG, 1, 1)
fn gather_batch(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= p.batch * p.image_len) {
        return;
    }
    let b = i / p.image_len;
    let j = i % p.image_len;
    x[i] = f32(pixel(b, j)) * (2.0 / 255.0) - 1.0;
}

fn pixel(b: u32, j: u32) -> u32 {
    let byte_index = idx[b] * p.image_len + j;
    let word = images[byte_index / 4u];
    return (word >> (8u * (byte_index % 4u))) & 0xffu;
}

@compute @workgroup_size(WG, 1, 1)
fn gather_batch_binary(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= p.batch * p.image_len) {
        return;
    }
    let v = pixel(i / p.image_len, i % p.image_len);
    let bits = philox(vec4<u32>(i, p.stream, binarize_clock[p.clock_slot], 0u), vec2<u32>(p.seed_lo, p.seed_hi));
    // Both tests computed and one selected: software rasterisers would run both branches anyway.
    let level = select(128u, mulhilo(bits.x, 255u).x + 1u, p.binarize == 2u);
    x[i] = select(-1.0, 1.0, v >= level);
}
