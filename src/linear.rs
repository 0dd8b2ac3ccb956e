//! Fully connected: y = x·Wᵀ + b.   x: (N, I)  W: (O, I)  b: (O)  y: (N, O)
//! Forward and both backward products are one strided GEMM kernel (wgsl/matmul.wgsl).

use crate::arena::{Arena, ArenaBuilder, Slot};
use crate::cpu::random::InitRng;
use crate::error::{Error, Result};
use crate::init::{self, Init};
use crate::kernels::Kernel;
use crate::step::Step;
use crate::tensor::{expect_shape, Tensor};

/// Mirrors `GemmParams` in wgsl/matmul.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct GemmParams {
    pub m: u32,
    pub n: u32,
    pub k: u32,
    pub accumulate: u32,
    pub a_off: u32,
    pub a_ms: u32,
    pub a_ks: u32,
    pub b_off: u32,
    pub b_ks: u32,
    pub b_ns: u32,
    pub c_off: u32,
    pub c_ms: u32,
    pub bias_off: u32,
    pub _pad: [u32; 3],
}

pub const NO_BIAS: u32 = u32::MAX;

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

/// Records C (+)= A·B (+ bias); see wgsl/matmul.wgsl for the stride convention.
pub fn gemm(
    s: &mut Step,
    p: &GemmParams,
    c: &wgpu::Buffer,
    a: &wgpu::Buffer,
    b: &wgpu::Buffer,
    bias: &wgpu::Buffer,
) -> Result<()> {
    let groups = [p.n.div_ceil(32), p.m.div_ceil(32), 1];
    s.dispatch(Kernel::Gemm, p, &[c, a, b, bias], groups)
}

/// The one-output-per-invocation baseline of `gemm` (benchmarks and tests only).
pub fn gemm_naive(
    s: &mut Step,
    p: &GemmParams,
    c: &wgpu::Buffer,
    a: &wgpu::Buffer,
    b: &wgpu::Buffer,
    bias: &wgpu::Buffer,
) -> Result<()> {
    let groups = [p.n.div_ceil(8), p.m.div_ceil(8), 1];
    s.dispatch(Kernel::GemmNaive, p, &[c, a, b, bias], groups)
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
        let shape = self.out_shape(&x.shape)?;
        expect_shape("Linear output", y, &shape)?;
        let (n, i, o) = (shape[0] as u32, self.i as u32, self.o as u32);
        let g = GemmParams {
            m: n,
            n: o,
            k: i,
            accumulate: 0,
            a_off: 0,
            a_ms: i,
            a_ks: 1,
            b_off: self.w.offset,
            b_ks: 1,
            b_ns: i,
            c_off: 0,
            c_ms: o,
            bias_off: self.b.offset,
            _pad: [0; 3],
        };
        gemm(s, &g, &y.buf, &x.buf, &p.params, &p.params)
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
            let g = GemmParams {
                m: n,
                n: i,
                k: o,
                accumulate: 0,
                a_off: 0,
                a_ms: o,
                a_ks: 1,
                b_off: self.w.offset,
                b_ks: i,
                b_ns: 1,
                c_off: 0,
                c_ms: i,
                bias_off: NO_BIAS,
                _pad: [0; 3],
            };
            gemm(s, &g, &dx.buf, &dy.buf, &p.params, &p.params)?;
        }
        if !frozen {
            let g = GemmParams {
                m: o,
                n: i,
                k: n,
                accumulate: 1,
                a_off: 0,
                a_ms: 1,
                a_ks: o,
                b_off: 0,
                b_ks: i,
                b_ns: 1,
                c_off: self.w.offset,
                c_ms: i,
                bias_off: NO_BIAS,
                _pad: [0; 3],
            };
            gemm(s, &g, &p.grads, &dy.buf, &x.buf, &x.buf)?;
            bias_grad(s, &p.grads, self.b.offset, dy, n as usize, o as usize, 1)?;
        }
        Ok(())
    }
}
