//! Formats: MNIST-format (IDX) data, safetensors checkpoints, PNG grids and NPY arrays.

pub mod checkpoint;
#[cfg(not(target_arch = "wasm32"))]
pub mod csv_log;
pub mod data;
pub mod image;
pub mod safetensors;
