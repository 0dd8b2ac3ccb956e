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

pub mod activation;
pub mod adam;
pub mod arena;
pub mod batch_norm;
pub mod checkpoint;
pub mod config;
pub mod conv2d;
pub mod conv_gemm;
pub mod conv_transpose2d;
pub mod cpu;
pub mod data;
pub mod dropout;
pub mod error;
pub mod gemm;
pub mod gpu;
pub mod image;
pub mod init;
pub mod kernels;
pub mod linear;
pub mod loss;
pub mod model;
pub mod presets;
pub mod random;
pub mod step;
pub mod tensor;
pub mod train;
pub mod upsample;
#[cfg(target_arch = "wasm32")]
pub mod web;

pub use activation::{Act, Activation};
pub use adam::{zero_grad, Adam, Sgd};
pub use arena::{Arena, ArenaBuilder, Slot};
pub use batch_norm::BatchNorm;
pub use checkpoint::Checkpoint;
pub use config::{Config, GanLoss};
pub use conv2d::Conv2d;
pub use conv_transpose2d::ConvTranspose2d;
pub use cpu::random::InitRng;
pub use data::Dataset;
pub use dropout::Dropout;
pub use error::{Error, Result};
pub use gpu::{Gpu, Scratch};
pub use init::Init;
pub use kernels::{Family, Kernel, Variant};
pub use linear::Linear;
pub use model::{Layer, Sequential, SequentialBuilder};
pub use presets::Preset;
pub use step::{Plan, Step};
pub use tensor::Tensor;
pub use train::Trainer;
pub use upsample::Upsample2x;
/// The wgpu this crate is built on, for applications that share their device (`Gpu::from_device`).
pub use wgpu;
