//! The boundary-seeking GAN for discrete data (Hjelm et al., ICLR 2018): a generator of
//! Bernoulli pixel logits, M binary samples per noise row drawn on the GPU, and the importance-
//! weighted generator loss whose gradient reaches the logits without passing through the samples
//! (the math is in wgsl/discrete.wgsl; the f64 twin in src/cpu/discrete.rs).

use crate::cpu::random::split_seed;
use crate::error::{Error, Result};
use crate::gan::config::Estimator;
use crate::gpu::kernels::{grid_1d, Kernel, WG};
use crate::gpu::random::check_slot;
use crate::gpu::step::Step;
use crate::gpu::tensor::{expect_shape, Tensor};
use crate::gpu::Gpu;

/// Mirrors `DiscreteParams` in wgsl/discrete.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct DiscreteParams {
    pub n: u32,
    pub len: u32,
    pub m: u32,
    pub stream: u32,
    pub seed_lo: u32,
    pub seed_hi: u32,
    pub slot: u32,
    pub out_index: u32,
    pub estimator: u32,
    pub pad: [u32; 3],
}

/// Rows and pixels of a logit tensor (N, ...).
fn rows_and_len(logits: &Tensor) -> Result<(usize, usize)> {
    let n = logits.shape.first().copied().unwrap_or(0);
    if n == 0 {
        return Err(Error::Shape(format!("Bernoulli logits of shape {:?} have no rows", logits.shape)));
    }
    Ok((n, logits.len() / n))
}

/// Records `samples` (N·M rows shaped like `logits`' rows) = ±1 draws of Bernoulli(σ(logits)),
/// M per row, from (seed, stream, clock[slot]).
#[allow(clippy::too_many_arguments)]
pub fn record_samples(
    s: &mut Step,
    samples: &Tensor,
    logits: &Tensor,
    m: usize,
    seed: u64,
    stream: u32,
    clock: &wgpu::Buffer,
    slot: u32,
) -> Result<()> {
    let (n, _) = rows_and_len(logits)?;
    let mut shape = logits.shape.clone();
    shape[0] = n * m;
    expect_shape("Bernoulli samples", samples, &shape)?;
    check_slot(clock, slot)?;
    let p = params(logits, m, seed, stream, slot, 0, Estimator::Importance)?;
    s.dispatch(Kernel::DiscreteSample, &p, &[&samples.buf, &logits.buf, clock], grid_1d(samples.len() as u64, WG))
}

fn params(
    logits: &Tensor,
    m: usize,
    seed: u64,
    stream: u32,
    slot: u32,
    out_index: u32,
    estimator: Estimator,
) -> Result<DiscreteParams> {
    let (n, len) = rows_and_len(logits)?;
    if m == 0 {
        return Err(Error::Param("samples per noise row (--bgan-samples) must be at least 1".into()));
    }
    let [seed_lo, seed_hi] = split_seed(seed);
    let estimator = match estimator {
        Estimator::Importance => 0,
        Estimator::Reinforce => 1,
    };
    Ok(DiscreteParams {
        n: n as u32,
        len: len as u32,
        m: m as u32,
        stream,
        seed_lo,
        seed_hi,
        slot,
        out_index,
        estimator,
        pad: [0; 3],
    })
}

/// The generator's side of the discrete BGAN for one batch shape: workspaces for the weights
/// (N·M) and the loss terms (N·P).
pub struct GeneratorLoss {
    pub weights: Tensor,
    terms: Tensor,
    m: usize,
    estimator: Estimator,
}

impl GeneratorLoss {
    /// For `n` noise rows of `len` pixels and `m` samples each.
    pub fn new(gpu: &Gpu, n: usize, len: usize, m: usize, estimator: Estimator) -> Result<GeneratorLoss> {
        let (weights, terms) = (Tensor::zeros(gpu, &[n, m])?, Tensor::zeros(gpu, &[n, len])?);
        Ok(GeneratorLoss { weights, terms, m, estimator })
    }

    /// Records the weights (the estimator's, from `d_logits` (N·M, 1)), dl = ∂L/∂logits
    /// (overwritten), and L into `losses[out_index]`.
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &self,
        s: &mut Step,
        dl: &Tensor,
        losses: &wgpu::Buffer,
        out_index: u32,
        logits: &Tensor,
        samples: &Tensor,
        d_logits: &Tensor,
    ) -> Result<()> {
        let (n, len) = rows_and_len(logits)?;
        expect_shape("logit gradient", dl, &logits.shape)?;
        expect_shape("loss terms", &self.terms, &[n, len])?;
        expect_shape("discriminator logits", d_logits, &[n * self.m, 1])?;
        if samples.len() != n * self.m * len {
            return Err(Error::Shape(format!(
                "{} sample values are not {n} rows × {} samples × {len} pixels",
                samples.len(),
                self.m
            )));
        }
        let p = params(logits, self.m, 0, 0, 0, out_index, self.estimator)?;
        s.dispatch(Kernel::DiscreteWeights, &p, &[&self.weights.buf, &d_logits.buf], grid_1d(n as u64, WG))?;
        s.dispatch(
            Kernel::DiscreteBwd,
            &p,
            &[&dl.buf, &self.terms.buf, &logits.buf, &samples.buf, &self.weights.buf],
            grid_1d((n * len) as u64, WG),
        )?;
        s.dispatch(Kernel::DiscreteLossSum, &p, &[losses, &self.terms.buf], [1, 1, 1])
    }
}
