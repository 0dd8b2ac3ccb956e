//! Parameter initialisation, on the host with the seeded Philox generator.

use crate::cpu::random::InitRng;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Init {
    /// PyTorch's defaults: weights and biases U(-1/√fan_in, 1/√fan_in) (what
    /// `kaiming_uniform_(a=√5)` works out to), BatchNorm weight 1 and bias 0.
    #[default]
    Torch,
    /// Radford et al.'s DCGAN: weights N(0, 0.02), biases 0, BatchNorm weight N(1, 0.02), bias 0.
    Dcgan,
}

/// (weight, bias) for a layer whose weight has `weight_len` values and whose PyTorch `fan_in`
/// is `fan_in`.
pub fn weight_and_bias(
    init: Init,
    rng: &mut InitRng,
    weight_len: usize,
    bias_len: usize,
    fan_in: usize,
) -> (Vec<f32>, Vec<f32>) {
    match init {
        Init::Torch => {
            let bound = 1.0 / (fan_in.max(1) as f32).sqrt();
            (rng.uniform(-bound, bound, weight_len), rng.uniform(-bound, bound, bias_len))
        }
        Init::Dcgan => (rng.normal(0.0, 0.02, weight_len), vec![0.0; bias_len]),
    }
}

/// (gamma, beta) of a BatchNorm over `channels`.
pub fn batch_norm(init: Init, rng: &mut InitRng, channels: usize) -> (Vec<f32>, Vec<f32>) {
    match init {
        Init::Torch => (vec![1.0; channels], vec![0.0; channels]),
        Init::Dcgan => (rng.normal(1.0, 0.02, channels), vec![0.0; channels]),
    }
}
