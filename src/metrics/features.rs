//! The feature network the metrics compare samples in: nanogan's own LeNet-style digit classifier
//! (trained by `examples/classifier.rs`), run on the GPU in eval mode. Its 128 penultimate
//! activations are the features (FID, KID); its softmax is the class posterior (IS, modes).

use crate::error::{Error, Result};
use crate::gpu::step::Step;
use crate::gpu::Gpu;
use crate::io::checkpoint::Checkpoint;
use crate::nn::activation::Act;
use crate::nn::init::Init;
use crate::nn::model::{Sequential, SequentialBuilder};

/// Width of the feature vector (the classifier's penultimate layer).
pub const FEATURES: usize = 128;
/// Digit classes.
pub const CLASSES: usize = 10;
/// Images per forward pass when extracting features.
const BATCH: usize = 250;

/// The shipped weights: `cargo run --release --example classifier` on the bundled digits.
#[cfg(not(target_arch = "wasm32"))]
pub const BUNDLED_WEIGHTS: &[u8] = include_bytes!("../../assets/classifier-f16.safetensors");

/// LeNet-5's shape, wider, with ReLU and max pooling: 28×28 → 16@24×24 → 16@12×12 → 32@8×8 →
/// 32@4×4 → 128 → 10 logits.
pub fn classifier(gpu: &Gpu, seed: u64) -> Result<Sequential> {
    SequentialBuilder::new(gpu, "classifier", &[1, 28, 28], Init::Torch, seed)
        .conv2d(16, 5, 1, 0)?
        .act(Act::Relu)?
        .max_pool(2)?
        .conv2d(32, 5, 1, 0)?
        .act(Act::Relu)?
        .max_pool(2)?
        .reshape(&[32 * 4 * 4])?
        .linear(FEATURES)?
        .act(Act::Relu)?
        .linear(CLASSES)?
        .build()
}

/// Features and class probabilities of a set of images, in f64, row-major.
#[derive(Clone, Debug, Default)]
pub struct Features {
    pub n: usize,
    /// n × FEATURES penultimate activations.
    pub features: Vec<f64>,
    /// n × CLASSES softmax of the logits.
    pub probs: Vec<f64>,
}

/// The classifier with its weights loaded.
pub struct FeatureNet {
    pub net: Sequential,
}

impl FeatureNet {
    /// The classifier with weights from a safetensors checkpoint (`classifier.*` tensors).
    pub fn from_checkpoint(gpu: &Gpu, weights: &Checkpoint) -> Result<FeatureNet> {
        let net = classifier(gpu, 0)?;
        weights.restore(gpu, &net).map_err(|e| Error::Format(format!("classifier weights: {e}")))?;
        Ok(FeatureNet { net })
    }

    /// The classifier with the weights shipped in the crate.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn bundled(gpu: &Gpu) -> Result<FeatureNet> {
        Self::from_checkpoint(gpu, &Checkpoint::from_bytes(BUNDLED_WEIGHTS, "bundled classifier weights")?)
    }

    /// Features of `images` (n × 28·28 values in [−1, 1], as the GAN sees them).
    pub async fn features(&self, gpu: &Gpu, images: &[f32]) -> Result<Features> {
        let len = 28 * 28;
        if images.is_empty() || !images.len().is_multiple_of(len) {
            return Err(Error::Shape(format!("{} values are not a whole number of 28×28 images", images.len())));
        }
        if let Some(bad) = images.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite(format!("image {} holds a NaN or infinite pixel", bad / len)));
        }
        let n = images.len() / len;
        let mut out =
            Features { n, features: Vec::with_capacity(n * FEATURES), probs: Vec::with_capacity(n * CLASSES) };
        // Buffers of its own for each call, so callers on several threads cannot overwrite
        // each other's batches.
        let acts = self.net.inference_activations(gpu, BATCH)?;
        let penultimate = &acts.xs[acts.xs.len() - 2];
        for start in (0..n).step_by(BATCH) {
            let rows = BATCH.min(n - start);
            // The last batch is padded with copies of its last image; their rows are dropped.
            let mut batch = images[start * len..(start + rows) * len].to_vec();
            let last = batch[(rows - 1) * len..].to_vec();
            for _ in rows..BATCH {
                batch.extend_from_slice(&last);
            }
            acts.input().write(gpu, &batch)?;
            let mut s = Step::new(gpu);
            self.net.forward(&mut s, &acts, false, 0)?;
            s.submit()?;
            let features = penultimate.read(gpu).await?;
            let logits = acts.output().read(gpu).await?;
            out.features.extend(features[..rows * FEATURES].iter().map(|&v| v as f64));
            for row in logits[..rows * CLASSES].chunks(CLASSES) {
                out.probs.extend(softmax(row));
            }
        }
        Ok(out)
    }
}

/// Softmax in f64, shifted by the largest logit so it cannot overflow.
fn softmax(logits: &[f32]) -> Vec<f64> {
    let max = logits.iter().fold(f64::NEG_INFINITY, |m, &l| m.max(l as f64));
    let e: Vec<f64> = logits.iter().map(|&l| (l as f64 - max).exp()).collect();
    let sum: f64 = e.iter().sum();
    e.into_iter().map(|v| v / sum).collect()
}

impl Features {
    /// The predicted class of each row.
    pub fn predictions(&self) -> Vec<usize> {
        self.probs.chunks(CLASSES).map(|p| (0..CLASSES).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap_or(0)).collect()
    }
}
