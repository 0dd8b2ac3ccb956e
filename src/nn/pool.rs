//! Max pooling over non-overlapping k × k windows (torch `nn.MaxPool2d(k)`), for classifiers.
//!   x, dx: (N, C, H, W)  y, dy: (N, C, H/k, W/k), H and W multiples of k
//! Kernels in wgsl/pool.wgsl; twin in src/cpu/pool.rs.

use crate::error::{Error, Result};
use crate::gpu::kernels::{grid_1d, Kernel, WG};
use crate::gpu::step::Step;
use crate::gpu::tensor::{expect_shape, Tensor};

/// Mirrors `PoolParams` in wgsl/pool.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct PoolParams {
    pub n: u32,
    pub h: u32,
    pub w: u32,
    pub k: u32,
}

#[derive(Clone, Copy, Debug)]
pub struct MaxPool2d {
    pub k: usize,
}

impl MaxPool2d {
    pub fn new(k: usize) -> Result<MaxPool2d> {
        if k == 0 {
            return Err(Error::Param("MaxPool2d needs a window of at least 1".into()));
        }
        Ok(MaxPool2d { k })
    }

    /// (N, C, H, W) -> (N, C, H/k, W/k)
    pub fn out_shape(&self, x: &[usize]) -> Result<Vec<usize>> {
        match x {
            [n, c, h, w] if h % self.k == 0 && w % self.k == 0 && *h > 0 && *w > 0 => {
                Ok(vec![*n, *c, h / self.k, w / self.k])
            }
            _ => Err(Error::Shape(format!(
                "MaxPool2d({k}) expects input (N, C, H, W) with H and W multiples of {k}, got {x:?}",
                k = self.k
            ))),
        }
    }

    fn params(&self, x: &[usize]) -> Result<PoolParams> {
        let y = self.out_shape(x)?;
        Ok(PoolParams { n: y.iter().product::<usize>() as u32, h: x[2] as u32, w: x[3] as u32, k: self.k as u32 })
    }

    /// y = the maximum of each window of x.
    pub fn forward(&self, s: &mut Step, y: &Tensor, x: &Tensor) -> Result<()> {
        expect_shape("MaxPool2d output", y, &self.out_shape(&x.shape)?)?;
        let p = self.params(&x.shape)?;
        s.dispatch(Kernel::PoolMaxFwd, &p, &[&y.buf, &x.buf], grid_1d(p.n as u64, WG))
    }

    /// Overwrites dx: each window's dy at its first maximum in x, 0 elsewhere.
    pub fn backward(&self, s: &mut Step, dx: &Tensor, dy: &Tensor, x: &Tensor) -> Result<()> {
        expect_shape("MaxPool2d input gradient", dx, &x.shape)?;
        expect_shape("MaxPool2d output gradient", dy, &self.out_shape(&x.shape)?)?;
        let p = self.params(&x.shape)?;
        s.dispatch(Kernel::PoolMaxBwdX, &p, &[&dx.buf, &x.buf, &dy.buf], grid_1d(p.n as u64, WG))
    }
}
