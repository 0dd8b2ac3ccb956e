//! f64 reference of every kernel, in plain loops: the spec the WGSL is the fast form of.
//! One file per kernel family; tests hold the twins to finite differences and to the GPU.

pub mod activation;
pub mod adam;
pub mod batch_norm;
pub mod conv;
pub mod discrete;
pub mod dropout;
pub mod gather;
pub mod linear;
pub mod loss;
pub mod pool;
pub mod random;
