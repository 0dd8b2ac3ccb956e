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

/// Images at `idx` as ±1: `stochastic` draws +1 with probability pixel/255 from Philox draw
/// (i, stream, step) of element i, else a pixel is +1 when it is at least 128.
pub fn binary_batch(
    images: &[u8],
    idx: &[u32],
    image_len: usize,
    stochastic: bool,
    (seed, stream, step): (u64, u32, u32),
) -> Vec<f64> {
    idx.iter()
        .flat_map(|&i| images[i as usize * image_len..(i as usize + 1) * image_len].iter())
        .enumerate()
        .map(|(e, &v)| {
            let level = if stochastic { ((draw(seed, stream, step, e as u32)[0] as u64 * 255) >> 32) + 1 } else { 128 };
            if v as u64 >= level {
                1.0
            } else {
                -1.0
            }
        })
        .collect()
}
