//! Shared by the GPU tests: one device for the whole binary, seeded data, and comparison that
//! prints the first mismatches.

#[path = "../common/mod.rs"]
mod common;
pub use common::{digits, gpu};
use nanogan::{Gpu, Variant};
use std::sync::OnceLock;

/// The test device. Without an adapter the test fails, unless `NANOGAN_ALLOW_NO_GPU=1` says a
/// developer without Vulkan wants these tests skipped (CI never sets it).
/// The test device once per kernel variant, so every style is held to the same twins on every
/// adapter (CI's lavapipe runs the GPU variants too). Empty only where `gpu()` allows skipping.
pub fn gpus() -> Vec<&'static Gpu> {
    static GPUS: OnceLock<Vec<Gpu>> = OnceLock::new();
    let Some(base) = gpu() else { return Vec::new() };
    GPUS.get_or_init(|| Variant::ALL.iter().map(|&v| base.with_variant(v)).collect()).iter().collect()
}

/// Seeded values in [-1, 1).
pub fn rand(seed: u64, n: usize) -> Vec<f64> {
    nanogan::cpu::random::uniform(seed, 7, 0, n).into_iter().map(|u| 2.0 * u - 1.0).collect()
}

pub fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

/// The f32 values the GPU sees, back in f64, so the twin computes on exactly the same inputs.
pub fn rounded(v: &[f64]) -> Vec<f64> {
    v.iter().map(|&x| x as f32 as f64).collect()
}

/// |gpu − cpu| ≤ atol + rtol·|cpu| everywhere, or a panic naming the first mismatches.
pub fn assert_close(what: &str, gpu: &[f32], cpu: &[f64], atol: f64, rtol: f64) {
    assert_eq!(gpu.len(), cpu.len(), "{what}: length");
    let mut bad = Vec::new();
    let mut max_diff = 0.0f64;
    for (i, (&g, &c)) in gpu.iter().zip(cpu).enumerate() {
        let d = (g as f64 - c).abs();
        max_diff = max_diff.max(d);
        // Written so that a NaN on either side counts as a mismatch.
        let within = d <= atol + rtol * c.abs();
        if !within {
            bad.push((i, g, c));
        }
    }
    if !bad.is_empty() {
        let first: Vec<String> = bad.iter().take(8).map(|(i, g, c)| format!("[{i}] gpu {g} cpu {c}")).collect();
        panic!(
            "{what}: {} of {} values differ (max |diff| {max_diff:.3e}, atol {atol:.0e}, rtol {rtol:.0e}); first: {}",
            bad.len(),
            gpu.len(),
            first.join(", ")
        );
    }
}
