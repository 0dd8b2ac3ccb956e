//! Tensor = one contiguous f32 storage buffer + a row-major shape. No views, no strides.

use crate::error::{Error, Result};
use crate::gpu::Gpu;

#[derive(Clone, Debug)]
pub struct Tensor {
    pub buf: wgpu::Buffer,
    pub shape: Vec<usize>,
}

pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

impl Tensor {
    pub fn zeros(gpu: &Gpu, shape: &[usize]) -> Result<Tensor> {
        let bytes = numel_bytes(shape)?;
        Ok(Tensor { buf: gpu.storage("tensor", bytes)?, shape: shape.to_vec() })
    }

    pub fn from_slice(gpu: &Gpu, shape: &[usize], data: &[f32]) -> Result<Tensor> {
        numel_bytes(shape)?;
        if numel(shape) != data.len() {
            return Err(Error::Shape(format!(
                "shape {shape:?} holds {} values but {} were given",
                numel(shape),
                data.len()
            )));
        }
        Ok(Tensor { buf: gpu.storage_init("tensor", bytemuck::cast_slice(data))?, shape: shape.to_vec() })
    }

    pub fn len(&self) -> usize {
        numel(&self.shape)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The same buffer under another shape with as many elements; no copy.
    pub fn reshape(&self, shape: &[usize]) -> Result<Tensor> {
        if numel(shape) != self.len() {
            return Err(Error::Shape(format!(
                "cannot reshape {:?} ({} values) to {shape:?} ({} values)",
                self.shape,
                self.len(),
                numel(shape)
            )));
        }
        Ok(Tensor { buf: self.buf.clone(), shape: shape.to_vec() })
    }

    /// Overwrites the contents (queued; lands before the next submit).
    pub fn write(&self, gpu: &Gpu, data: &[f32]) -> Result<()> {
        if data.len() != self.len() {
            return Err(Error::Shape(format!("writing {} values into a tensor of shape {:?}", data.len(), self.shape)));
        }
        gpu.queue.write_buffer(&self.buf, 0, bytemuck::cast_slice(data));
        Ok(())
    }

    pub async fn read(&self, gpu: &Gpu) -> Result<Vec<f32>> {
        gpu.read_f32(&self.buf, self.len()).await
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn read_blocking(&self, gpu: &Gpu) -> Result<Vec<f32>> {
        gpu.read_f32_blocking(&self.buf, self.len())
    }
}

/// Byte size of an f32 tensor of `shape`, refusing sizes whose indices overflow the u32 that
/// kernels index with.
pub fn numel_bytes(shape: &[usize]) -> Result<u64> {
    let n = shape.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d as u64));
    match n {
        Some(n) if n <= u32::MAX as u64 / 4 => Ok(n * 4),
        _ => Err(Error::Limit(format!("tensor of shape {shape:?} is too large to index with 32 bits"))),
    }
}

/// Checks `t` has exactly `shape`, naming `what` in the error.
pub fn expect_shape(what: &str, t: &Tensor, shape: &[usize]) -> Result<()> {
    if t.shape != shape {
        return Err(Error::Shape(format!("{what}: expected shape {shape:?}, got {:?}", t.shape)));
    }
    Ok(())
}
