//! The two model pairs of the trainer, for 28×28 grey images, usable with every loss.

use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::nn::activation::Act;
use crate::nn::init::Init;
use crate::nn::model::{Sequential, SequentialBuilder};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// Fully connected G and D.
    Mlp,
    /// Radford et al.'s convolutional pair, sized for 28×28.
    Dcgan,
}

impl Preset {
    pub fn parse(s: &str) -> Result<Preset> {
        match s {
            "mlp" => Ok(Preset::Mlp),
            "dcgan" => Ok(Preset::Dcgan),
            _ => Err(Error::Param(format!("unknown model '{s}' (expected mlp or dcgan)"))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Preset::Mlp => "mlp",
            Preset::Dcgan => "dcgan",
        }
    }

    /// The initialisation each preset is usually trained with.
    pub fn default_init(self) -> Init {
        match self {
            Preset::Mlp => Init::Torch,
            Preset::Dcgan => Init::Dcgan,
        }
    }

    /// G: z (N, Z) → image (N, 1, 28, 28) for dcgan, (N, 784) for mlp: through tanh into
    /// [−1, 1], or, with `Head::BernoulliLogits`, the last layer's output as per-pixel logits.
    pub fn generator(self, gpu: &Gpu, z: usize, init: Init, seed: u64, head: Head) -> Result<Sequential> {
        let b = SequentialBuilder::new(gpu, "generator", &[z], init, seed);
        let lrelu = Act::LeakyRelu(0.2);
        let body = match self {
            Preset::Mlp => b
                .linear(128)?
                .act(lrelu)?
                .linear(256)?
                .batch_norm()?
                .act(lrelu)?
                .linear(512)?
                .batch_norm()?
                .act(lrelu)?
                .linear(1024)?
                .batch_norm()?
                .act(lrelu)?
                .linear(784)?,
            Preset::Dcgan => b
                .linear(128 * 7 * 7)?
                .batch_norm()?
                .act(Act::Relu)?
                .reshape(&[128, 7, 7])?
                .conv_transpose2d(64, 4, 2, 1)?
                .batch_norm()?
                .act(Act::Relu)?
                .conv_transpose2d(1, 4, 2, 1)?,
        };
        match head {
            Head::Tanh => body.act(Act::Tanh)?.build(),
            Head::BernoulliLogits => body.build(),
        }
    }

    /// D: image → one logit (N, 1). The seed differs from G's so the two never share draws.
    pub fn discriminator(self, gpu: &Gpu, init: Init, seed: u64) -> Result<Sequential> {
        let lrelu = Act::LeakyRelu(0.2);
        let seed = seed ^ 0xD15C_0000_0000;
        match self {
            Preset::Mlp => SequentialBuilder::new(gpu, "discriminator", &[784], init, seed)
                .linear(512)?
                .act(lrelu)?
                .linear(256)?
                .act(lrelu)?
                .linear(1)?
                .build(),
            Preset::Dcgan => SequentialBuilder::new(gpu, "discriminator", &[1, 28, 28], init, seed)
                .conv2d(64, 4, 2, 1)?
                .act(lrelu)?
                .conv2d(128, 4, 2, 1)?
                .batch_norm()?
                .act(lrelu)?
                .reshape(&[128 * 7 * 7])?
                .linear(1)?
                .build(),
        }
    }
}

/// What a generator's last layer produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Head {
    /// Images in [−1, 1].
    Tanh,
    /// Logits of independent Bernoulli pixels (binary images, `bgan-discrete`).
    BernoulliLogits,
}
