//! Layers, each with its forward and backward pass in WGSL, the `Sequential` that chains them,
//! parameter initialisation and the optimisers.

pub mod activation;
pub mod adam;
pub mod batch_norm;
pub mod conv2d;
pub mod conv_transpose2d;
pub mod dropout;
pub mod init;
pub mod linear;
pub mod model;
pub mod pool;
pub mod upsample;
