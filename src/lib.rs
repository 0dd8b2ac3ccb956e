//! nanogan: train and sample small GANs on the GPU with WGSL compute shaders, natively (wgpu:
//! Vulkan, Metal, DX12) and in the browser (WebGPU).
//!
//! Every layer has an explicit forward and backward pass written as compute shaders in `wgsl/`,
//! each with an f64 twin in [`cpu`] that the tests hold it to.
//!
//! ```no_run
//! use nanogan::{Arena, ArenaBuilder, Gpu, Init, InitRng, Linear, Step, Tensor};
//! # fn main() -> nanogan::Result<()> {
//! let gpu = Gpu::new_blocking()?;
//! let mut params = ArenaBuilder::new();
//! let mut rng = InitRng::new(0);
//! let fc = Linear::new(&mut params, "fc", 3, 2, Init::Torch, &mut rng)?;
//! let arena: Arena = params.build(&gpu)?;
//! let x = Tensor::from_slice(&gpu, &[1, 3], &[1.0, 2.0, 3.0])?;
//! let y = Tensor::zeros(&gpu, &[1, 2])?;
//! let mut step = Step::new(&gpu);
//! fc.forward(&mut step, &arena, &y, &x)?;
//! step.submit()?;
//! println!("{:?}", y.read_blocking(&gpu)?);
//! # Ok(()) }
//! ```

pub mod cpu;
pub mod error;
pub mod gan;
pub mod gpu;
pub mod io;
pub mod metrics;
pub mod nn;
#[cfg(target_arch = "wasm32")]
pub mod web;

pub use cpu::random::InitRng;
pub use error::{Error, Result};
pub use gan::config::{Config, GanLoss};
pub use gan::presets::Preset;
pub use gan::train::Trainer;
pub use gpu::arena::{Arena, ArenaBuilder, Slot};
pub use gpu::kernels::{Family, Kernel, Variant};
pub use gpu::step::{Plan, Step};
pub use gpu::tensor::Tensor;
pub use gpu::{Gpu, Scratch};
pub use io::checkpoint::Checkpoint;
pub use io::data::Dataset;
pub use nn::activation::{Act, Activation};
pub use nn::adam::{zero_grad, Adam, Sgd};
pub use nn::batch_norm::BatchNorm;
pub use nn::conv2d::Conv2d;
pub use nn::conv_transpose2d::ConvTranspose2d;
pub use nn::dropout::Dropout;
pub use nn::init::Init;
pub use nn::linear::Linear;
pub use nn::model::{Layer, Sequential, SequentialBuilder};
pub use nn::upsample::Upsample2x;
/// The wgpu this crate is built on, for applications that share their device (`Gpu::from_device`).
pub use wgpu;
