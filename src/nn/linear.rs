//! Fully connected: y = x·Wᵀ + b.   x: (N, I)  W: (O, I)  b: (O)  y: (N, O)
//! Forward and both backward products are one strided GEMM kernel (wgsl/matmul.wgsl).

use crate::cpu::random::InitRng;
use crate::error::{Error, Result};
use crate::gpu::arena::{Arena, ArenaBuilder, Slot};
pub use crate::gpu::gemm::{gemm, gemm_naive, GemmParams, NO_BIAS};
use crate::gpu::kernels::{grid_1d, serial_reduce, Kernel, WG};
use crate::gpu::step::Step;
use crate::gpu::tensor::{expect_shape, Tensor};
use crate::nn::activation::Act;
use crate::nn::init::{self, Init};

/// Mirrors `ReduceParams` in wgsl/reduce.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ReduceParams {
    pub outer: u32,
    pub channels: u32,
    pub inner: u32,
    pub out_off: u32,
    pub accumulate: u32,
    pub _pad: [u32; 3],
}

/// Records db[c] (+)= Σ dy over every axis but the channel axis of dy viewed as (outer, C, inner).
pub fn bias_grad(
    s: &mut Step,
    db: &wgpu::Buffer,
    db_off: u32,
    dy: &Tensor,
    outer: usize,
    channels: usize,
    inner: usize,
) -> Result<()> {
    let p = ReduceParams {
        outer: outer as u32,
        channels: channels as u32,
        inner: inner as u32,
        out_off: db_off,
        accumulate: 1,
        _pad: [0; 3],
    };
    if serial_reduce(s.gpu.variant(), (outer * inner) as u32) {
        return s.dispatch(Kernel::BiasGradSerial, &p, &[db, &dy.buf], grid_1d(channels as u64, WG));
    }
    s.dispatch(Kernel::BiasGrad, &p, &[db, &dy.buf], [channels as u32, 1, 1])
}

#[derive(Clone, Debug)]
pub struct Linear {
    pub w: Slot,
    pub b: Slot,
    pub i: usize,
    pub o: usize,
}

impl Linear {
    /// Registers `{name}.weight` (O, I) and `{name}.bias` (O) in the arena.
    pub fn new(
        arena: &mut ArenaBuilder,
        name: &str,
        i: usize,
        o: usize,
        init: Init,
        rng: &mut InitRng,
    ) -> Result<Linear> {
        if i == 0 || o == 0 {
            return Err(Error::Param(format!("{name}: Linear({i}, {o}) needs positive sizes")));
        }
        let (w, b) = init::weight_and_bias(init, rng, o * i, o, i);
        let w = arena.param(&format!("{name}.weight"), &[o, i], w);
        let b = arena.param(&format!("{name}.bias"), &[o], b);
        Ok(Linear { w, b, i, o })
    }

    pub fn out_shape(&self, x: &[usize]) -> Result<Vec<usize>> {
        match x {
            [n, i] if *i == self.i => Ok(vec![*n, self.o]),
            _ => Err(Error::Shape(format!("Linear({}, {}) expects input (N, {}), got {x:?}", self.i, self.o, self.i))),
        }
    }

    /// y = x·Wᵀ + b
    pub fn forward(&self, s: &mut Step, p: &Arena, y: &Tensor, x: &Tensor) -> Result<()> {
        self.forward_with_act(s, p, y, x, None)
    }

    /// y = act(x·Wᵀ + b), the activation fused into the product's epilogue (one pass, no
    /// pre-activation stored: its backward must take f' from y).
    pub fn forward_with_act(&self, s: &mut Step, p: &Arena, y: &Tensor, x: &Tensor, act: Option<Act>) -> Result<()> {
        let shape = self.out_shape(&x.shape)?;
        expect_shape("Linear output", y, &shape)?;
        let (n, i, o) = (shape[0] as u32, self.i as u32, self.o as u32);
        // B[k, n] = W[n, k]
        let g =
            GemmParams { b_off: self.w.offset, b_ks: 1, b_ns: i, bias_off: self.b.offset, ..GemmParams::new(n, o, i) };
        gemm(s, &g.with_act(act), &y.buf, &x.buf, &p.params, &p.params)
    }

    /// Overwrites dx = dy·W (if asked); accumulates dW += dyᵀ·x and db += Σ_n dy unless `frozen`.
    pub fn backward(
        &self,
        s: &mut Step,
        p: &Arena,
        dx: Option<&Tensor>,
        dy: &Tensor,
        x: &Tensor,
        frozen: bool,
    ) -> Result<()> {
        let shape = self.out_shape(&x.shape)?;
        expect_shape("Linear output gradient", dy, &shape)?;
        let (n, i, o) = (shape[0] as u32, self.i as u32, self.o as u32);
        if let Some(dx) = dx {
            expect_shape("Linear input gradient", dx, &x.shape)?;
            let g = GemmParams { b_off: self.w.offset, ..GemmParams::new(n, i, o) };
            gemm(s, &g, &dx.buf, &dy.buf, &p.params, &p.params)?;
        }
        if !frozen {
            // A[m, k] = dy[k, m]
            let g = GemmParams { accumulate: 1, a_ms: 1, a_ks: o, c_off: self.w.offset, ..GemmParams::new(o, i, n) };
            gemm(s, &g, &p.grads, &dy.buf, &x.buf, &x.buf)?;
            bias_grad(s, &p.grads, self.b.offset, dy, n as usize, o as usize, 1)?;
        }
        Ok(())
    }
}
