//! Twin of wgsl/gather.wgsl.

use crate::cpu::random::draw;

/// Batch indices: ⌊bits·count / 2³²⌋ of Philox draw b.
pub fn indices(seed: u64, stream: u32, step: u32, batch: usize, count: usize) -> Vec<u32> {
    (0..batch as u32).map(|b| ((draw(seed, stream, step, b)[0] as u64 * count as u64) >> 32) as u32).collect()
}

/// Images at `idx` scaled to [−1, 1].
pub fn batch(images: &[u8], idx: &[u32], image_len: usize) -> Vec<f64> {
    idx.iter()
        .flat_map(|&i| images[i as usize * image_len..(i as usize + 1) * image_len].iter())
        .map(|&v| v as f64 * (2.0 / 255.0) - 1.0)
        .collect()
}
