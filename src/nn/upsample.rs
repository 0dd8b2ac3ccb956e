//! Nearest-neighbour upsampling by 2 (torch `nn.Upsample(scale_factor=2)`).
//!   x, dx: (N, C, H, W)  y, dy: (N, C, 2H, 2W)
//! Kernels in wgsl/upsample.wgsl.

use crate::error::{Error, Result};
use crate::gpu::kernels::{grid_1d, Kernel, WG};
use crate::gpu::step::Step;
use crate::gpu::tensor::{expect_shape, numel_bytes, Tensor};

/// Mirrors `UpsampleParams` in wgsl/upsample.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct UpsampleParams {
    pub n: u32,
    pub h: u32,
    pub w: u32,
    pub _pad0: u32,
}

#[derive(Clone, Copy, Debug)]
pub struct Upsample2x;

impl Upsample2x {
    /// (N, C, H, W) -> (N, C, 2H, 2W)
    pub fn out_shape(&self, x: &[usize]) -> Result<Vec<usize>> {
        match x {
            [n, c, h, w] if x.iter().all(|&d| d > 0) => {
                let out = vec![*n, *c, 2 * h, 2 * w];
                numel_bytes(&out)?;
                Ok(out)
            }
            _ => Err(Error::Shape(format!("Upsample(scale 2, nearest) expects input (N, C, H, W), got {x:?}"))),
        }
    }

    fn params(x: &[usize]) -> UpsampleParams {
        UpsampleParams { n: x.iter().product::<usize>() as u32, h: x[2] as u32, w: x[3] as u32, _pad0: 0 }
    }

    /// y[n, c, 2h + a, 2w + b] = x[n, c, h, w]
    pub fn forward(&self, s: &mut Step, y: &Tensor, x: &Tensor) -> Result<()> {
        let shape = self.out_shape(&x.shape)?;
        expect_shape("Upsample output", y, &shape)?;
        let p = Self::params(&x.shape);
        s.dispatch(Kernel::UpsampleFwd, &p, &[&y.buf, &x.buf], grid_1d(p.n as u64, WG))
    }

    /// Overwrites dx[n, c, h, w] = Σ_{a, b ∈ {0, 1}} dy[n, c, 2h + a, 2w + b].
    pub fn backward(&self, s: &mut Step, dx: &Tensor, dy: &Tensor) -> Result<()> {
        let shape = self.out_shape(&dx.shape)?;
        expect_shape("Upsample output gradient", dy, &shape)?;
        let p = Self::params(&dx.shape);
        s.dispatch(Kernel::UpsampleBwdX, &p, &[&dx.buf, &dy.buf], grid_1d(p.n as u64, WG))
    }
}
