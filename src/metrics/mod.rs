//! Sample-quality metrics, in the classifier's feature space (see `features`), each with the
//! weakness the GAN literature knows it for:
//!
//! - **FID** (Fréchet Inception Distance): distance between Gaussians fitted to the real and the
//!   generated features; lower is better. Biased upwards at small N, so compare only at equal N,
//!   and blind to anything a Gaussian fit of the features misses.
//! - **KID** (Kernel Inception Distance): unbiased MMD² with a cubic polynomial kernel, mean ±
//!   standard deviation over random subsets; lower is better. Unbiased at any N, but noisier.
//! - **IS** (Inception Score, here with the digit classifier): exp E[KL(p(y|x) ‖ p(y))]; higher is
//!   better, at most 10. Sees only confident, balanced classes: it cannot see mode collapse within
//!   a class, and ignores the real data altogether.
//! - **KDE** (Parzen-window log-likelihood): mean log density, in nats, of held-out real images
//!   under a Gaussian kernel density on the samples' pixels, its bandwidth chosen on a validation
//!   split; higher is better. Known to be a poor likelihood estimate in 784 dimensions: it
//!   rewards blurry samples and ranks models unreliably (Theis et al., 2016).
//! - **Modes**: the classifier's histogram of the samples, and how many classes hold at least a
//!   tenth of a fair share. Catches whole missing digits, not missing styles.

pub mod features;
pub mod stats;

use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::io::data::Dataset;
use features::{FeatureNet, Features, CLASSES, FEATURES};
use stats::{Gaussian, Kid, Parzen};

/// Real images whose features are fitted as FID's reference, at most.
const STATS_MAX: usize = 10_000;
/// Real images of the KDE's validation split and of its test split, each.
pub const KDE_SPLIT: usize = 500;
/// Held-out real images that measure the floor (real vs real), and the default number of samples.
pub const DEFAULT_SAMPLES: usize = 2000;
/// KID's subsets, and their size at most.
const KID_SUBSETS: usize = 50;
const KID_SUBSET_SIZE: usize = 1000;
/// Rows of the reference features KID compares against: its kernel matrices are n².
const KID_REFERENCE: usize = 2000;
/// Parzen bandwidths tried on the validation split (pixels in [0, 1]), as Goodfellow et al. (2014).
pub fn kde_bandwidths() -> Vec<f64> {
    (0..10).map(|i| 10f64.powf(-1.0 + i as f64 / 9.0)).collect()
}

/// What samples are measured against: a data set cut into disjoint parts.
pub struct Reference {
    /// Where the real images came from, for reports.
    pub what: String,
    pub gaussian: Gaussian,
    kid_features: Vec<f64>,
    kde_validation: Vec<f64>,
    kde_test: Vec<f64>,
    /// Held-out real images (in [−1, 1]) that no other part uses: the floor's "samples".
    pub held_out: Vec<f32>,
}

/// Every metric for one set of samples.
#[derive(Clone, Debug)]
pub struct Report {
    pub n: usize,
    pub fid: f64,
    pub kid: Kid,
    pub inception_score: f64,
    pub kde: Parzen,
    pub histogram: Vec<usize>,
    pub modes: usize,
}

impl Reference {
    /// Cuts `ds` (28×28 images, at least `DEFAULT_SAMPLES + 2·KDE_SPLIT + 1000`), in a fixed
    /// random order (data sets are often sorted or blocked by class, the bundled digits among
    /// them), into disjoint parts: 2,000 held out, 500 for the KDE's validation split, 500 for
    /// its test split, and up to 10,000 of the rest fitted for FID and KID. With `binary`, the
    /// real images are thresholded at ½ (±1), to measure a generator of binary images.
    pub async fn from_dataset(
        gpu: &Gpu,
        net: &FeatureNet,
        ds: &Dataset,
        binary: bool,
        what: &str,
    ) -> Result<Reference> {
        Self::from_dataset_sized(gpu, net, ds, binary, what, STATS_MAX).await
    }

    /// `from_dataset` fitting FID's Gaussian on at most `stats_max` real images (the browser
    /// uses fewer, to start sooner).
    pub async fn from_dataset_sized(
        gpu: &Gpu,
        net: &FeatureNet,
        ds: &Dataset,
        binary: bool,
        what: &str,
        stats_max: usize,
    ) -> Result<Reference> {
        if (ds.h, ds.w) != (28, 28) {
            return Err(Error::Shape(format!("{what}: the metrics need 28×28 images, not {}×{}", ds.h, ds.w)));
        }
        let min = DEFAULT_SAMPLES + 2 * KDE_SPLIT + 1000;
        if ds.n < min {
            return Err(Error::Shape(format!("{what}: {} images; the metrics need at least {min}", ds.n)));
        }
        let order = shuffled(ds.n);
        let images = |range: std::ops::Range<usize>| -> Vec<f32> {
            let mut out = Vec::with_capacity(range.len() * 784);
            for &i in &order[range] {
                let pixels = ds.images[i * 784..(i + 1) * 784].iter();
                match binary {
                    true => out.extend(pixels.map(|&v| if v >= 128 { 1.0 } else { -1.0 })),
                    false => out.extend(pixels.map(|&v| v as f32 / 127.5 - 1.0)),
                }
            }
            out
        };
        let (validation, test, stats) = (DEFAULT_SAMPLES, DEFAULT_SAMPLES + KDE_SPLIT, DEFAULT_SAMPLES + 2 * KDE_SPLIT);
        Reference::new(
            gpu,
            net,
            &images(stats..ds.n.min(stats + stats_max.max(2))),
            &images(validation..test),
            &images(test..stats),
            images(0..validation),
            what,
        )
        .await
    }

    /// A reference from explicit parts (images in [−1, 1], 28×28 each).
    pub async fn new(
        gpu: &Gpu,
        net: &FeatureNet,
        stats_images: &[f32],
        kde_validation: &[f32],
        kde_test: &[f32],
        held_out: Vec<f32>,
        what: &str,
    ) -> Result<Reference> {
        let real = net.features(gpu, stats_images).await?;
        if real.n < 2 {
            return Err(Error::Shape(format!("{what}: at least 2 real images are needed, not {}", real.n)));
        }
        let kid_rows = real.n.min(KID_REFERENCE);
        Ok(Reference {
            what: what.to_string(),
            gaussian: stats::gaussian_fit(&real.features, FEATURES),
            kid_features: real.features[..kid_rows * FEATURES].to_vec(),
            kde_validation: unit_pixels(kde_validation),
            kde_test: unit_pixels(kde_test),
            held_out,
        })
    }

    /// Every metric of `samples` (n × 28·28 values in [−1, 1], n ≥ 2).
    pub async fn evaluate(&self, gpu: &Gpu, net: &FeatureNet, samples: &[f32]) -> Result<Report> {
        let (mut report, fake) = self.scores(gpu, net, samples).await?;
        let kid_size = KID_SUBSET_SIZE.min(fake.n).min(self.kid_features.len() / FEATURES);
        report.kid = stats::kid(&self.kid_features, &fake.features, FEATURES, KID_SUBSETS, kid_size, 0);
        report.kde =
            stats::parzen_select(&unit_pixels(samples), &self.kde_validation, &self.kde_test, 784, &kde_bandwidths());
        Ok(report)
    }

    /// FID, IS and modes only (KID and KDE are NaN): what the browser shows live, where the
    /// KDE's distances over 784 pixels would stall the page (and its code would grow the wasm).
    pub async fn evaluate_quick(&self, gpu: &Gpu, net: &FeatureNet, samples: &[f32]) -> Result<Report> {
        Ok(self.scores(gpu, net, samples).await?.0)
    }

    async fn scores(&self, gpu: &Gpu, net: &FeatureNet, samples: &[f32]) -> Result<(Report, Features)> {
        let fake = net.features(gpu, samples).await?;
        if fake.n < 2 {
            return Err(Error::Shape(format!("the metrics need at least 2 samples, not {}", fake.n)));
        }
        let histogram = stats::class_histogram(&fake.probs, CLASSES);
        let report = Report {
            n: fake.n,
            fid: stats::frechet_distance(&self.gaussian, &stats::gaussian_fit(&fake.features, FEATURES)),
            kid: Kid { mean: f64::NAN, std: f64::NAN, subsets: 0, subset_size: 0 },
            inception_score: stats::inception_score(&fake.probs, CLASSES),
            kde: Parzen { sigma: f64::NAN, log_likelihood: f64::NAN, std_err: f64::NAN },
            modes: stats::modes_covered(&histogram),
            histogram,
        };
        Ok((report, fake))
    }
}

/// A fixed permutation of 0..n (seeded Fisher–Yates), the same on every platform.
fn shuffled(n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let u = crate::cpu::random::InitRng::new(0x05EE_DF1D).uniform(0.0, 1.0, n);
    for i in (1..n).rev() {
        let j = ((u[i] as f64 * (i + 1) as f64) as usize).min(i);
        order.swap(i, j);
    }
    order
}

/// [−1, 1] → [0, 1] in f64: the pixel scale Parzen-window likelihoods are quoted at.
fn unit_pixels(images: &[f32]) -> Vec<f64> {
    images.iter().map(|&v| (v as f64 + 1.0) / 2.0).collect()
}

impl Report {
    /// Column names of `csv_row`.
    pub const CSV_HEADER: &'static str =
        "n,fid,kid,kid_std,inception_score,kde_nats,kde_stderr,kde_sigma,modes,histogram";

    /// One CSV row; the histogram's counts are joined by spaces.
    pub fn csv_row(&self) -> String {
        let hist: Vec<String> = self.histogram.iter().map(|c| c.to_string()).collect();
        format!(
            "{},{:.4},{:.6},{:.6},{:.4},{:.3},{:.3},{:.4},{},{}",
            self.n,
            self.fid,
            self.kid.mean,
            self.kid.std,
            self.inception_score,
            self.kde.log_likelihood,
            self.kde.std_err,
            self.kde.sigma,
            self.modes,
            hist.join(" ")
        )
    }

    /// The short form for progress lines.
    pub fn short(&self) -> String {
        format!("FID {:.2}  modes {}/{CLASSES}", self.fid, self.modes)
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "FID {:.2}  KID {:.4} ± {:.4}  IS {:.2}  KDE {:.1} ± {:.1} nats (σ {:.3})  modes {}/{CLASSES} [{}]  (n = {})",
            self.fid,
            self.kid.mean,
            self.kid.std,
            self.inception_score,
            self.kde.log_likelihood,
            self.kde.std_err,
            self.kde.sigma,
            self.modes,
            self.histogram.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(" "),
            self.n
        )
    }
}
