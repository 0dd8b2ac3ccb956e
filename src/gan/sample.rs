//! Sampling a trained generator: its outputs for given noise, shown as images (tanh outputs
//! as they are, a Bernoulli generator's as binary draws or probabilities), and the host-side
//! noise of sample grids and latent walks, the same on every platform.

use crate::error::{Error, Result};
use crate::gan::presets::Head;
use crate::gpu::step::Step;
use crate::gpu::Gpu;
use crate::nn::model::Sequential;

/// Host-side stream of the fixed noise used for sample grids.
pub const STREAM_FIXED_NOISE: u32 = 99;
/// Host-side stream of the binary draws that show a Bernoulli generator's samples.
const STREAM_VIEW_SAMPLES: u32 = 98;

/// What a Bernoulli generator's samples show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// ±1 pixels drawn from the probabilities with the host's Philox stream keyed on `seed`,
    /// so a grid is the same on every platform.
    Binary { seed: u64 },
    /// Each pixel's probability σ(logit), mapped to [−1, 1]: the mean of the binary samples.
    Mean,
}

/// A generator's raw outputs as images in [−1, 1]: tanh outputs as they are, Bernoulli logits
/// as `view` says.
pub fn images(outputs: Vec<f32>, head: Head, view: View) -> Vec<f32> {
    let sigmoid = |l: f32| 1.0 / (1.0 + (-l as f64).exp());
    match (head, view) {
        (Head::Tanh, _) => outputs,
        (Head::BernoulliLogits, View::Mean) => outputs.iter().map(|&l| (2.0 * sigmoid(l) - 1.0) as f32).collect(),
        (Head::BernoulliLogits, View::Binary { seed }) => outputs
            .iter()
            .enumerate()
            .map(|(i, &l)| {
                let u =
                    crate::cpu::random::to_unit(crate::cpu::random::draw(seed, STREAM_VIEW_SAMPLES, 0, i as u32)[0]);
                if u < sigmoid(l) {
                    1.0
                } else {
                    -1.0
                }
            })
            .collect(),
    }
}

/// Runs a generator on `z` (N·Z values) in eval mode: its raw outputs, (N·28·28) values in
/// [−1, 1] for a tanh head, logits for a Bernoulli one (see `images`).
pub async fn sample(gpu: &Gpu, g: &Sequential, z_dim: usize, z: &[f32]) -> Result<Vec<f32>> {
    if z_dim == 0 || z.is_empty() || !z.len().is_multiple_of(z_dim) {
        return Err(Error::Shape(format!("{} noise values do not form rows of Z = {z_dim}", z.len())));
    }
    let acts = g.inference_activations(gpu, z.len() / z_dim)?;
    acts.input().write(gpu, z)?;
    let mut s = Step::new(gpu);
    g.forward(&mut s, &acts, false, 0)?;
    s.submit()?;
    acts.output().read(gpu).await
}

/// Standard normal noise computed on the host with the same Philox stream on every platform.
pub fn fixed_noise(seed: u64, n: usize, z: usize) -> Vec<f32> {
    crate::cpu::random::normal(seed, STREAM_FIXED_NOISE, 0, n * z).into_iter().map(|v| v as f32).collect()
}

/// Linear interpolation between two noise vectors, `steps` points including both ends.
pub fn interpolate(a: &[f32], b: &[f32], steps: usize) -> Vec<f32> {
    (0..steps)
        .flat_map(|i| {
            let t = if steps > 1 { i as f32 / (steps - 1) as f32 } else { 0.0 };
            a.iter().zip(b).map(move |(x, y)| x + t * (y - x))
        })
        .collect()
}
