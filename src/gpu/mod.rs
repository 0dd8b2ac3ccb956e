//! The device and what runs on it: adapter and queue, the kernel table and pipeline cache,
//! recorded steps, the parameter arena, tensors, and the GEMM and convolution lowering every
//! layer shares.

pub mod arena;
pub mod conv_gemm;
pub mod device;
pub mod gemm;
pub mod kernels;
pub mod random;
pub mod step;
pub mod tensor;
pub mod wgsl_text;

pub use device::*;
