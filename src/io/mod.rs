//! Formats: MNIST-format (IDX) data, safetensors checkpoints, PNG grids, NPY arrays and f32s as
//! text.

pub mod checkpoint;
#[cfg(not(target_arch = "wasm32"))]
pub mod csv_log;
pub mod data;
pub mod float_text;
pub mod image;
pub mod safetensors;
