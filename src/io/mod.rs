//! Formats: MNIST-format (IDX) data, safetensors checkpoints, PNG grids and NPY arrays.

pub mod checkpoint;
pub mod data;
pub mod image;
