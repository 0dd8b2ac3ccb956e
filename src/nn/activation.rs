//! Elementwise activations: ReLU, LeakyReLU(slope), Tanh, Sigmoid.   x, y, dy, dx: any shape
//! Kernels in wgsl/activation.wgsl.

use crate::error::{Error, Result};
use crate::gpu::kernels::{grid_1d, Kernel, WG};
use crate::gpu::step::Step;
use crate::gpu::tensor::{expect_shape, Tensor};
use crate::io::float_text::FloatText;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Act {
    Relu,
    /// PyTorch's LeakyReLU(negative_slope); DCGAN's discriminator uses 0.2.
    LeakyRelu(f32),
    Tanh,
    Sigmoid,
}

impl Act {
    /// `kind` of `activate` in wgsl/common.wgsl.
    pub(crate) fn kind(self) -> u32 {
        match self {
            Act::Relu => 0,
            Act::LeakyRelu(_) => 1,
            Act::Tanh => 2,
            Act::Sigmoid => 3,
        }
    }

    pub(crate) fn slope(self) -> f32 {
        match self {
            Act::LeakyRelu(s) => s,
            _ => 0.0,
        }
    }
}

/// As `{:?}` writes it ("LeakyRelu(0.2)"), through `FloatText`.
impl std::fmt::Display for Act {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Act::Relu => f.write_str("Relu"),
            Act::LeakyRelu(s) => write!(f, "LeakyRelu({})", FloatText(*s)),
            Act::Tanh => f.write_str("Tanh"),
            Act::Sigmoid => f.write_str("Sigmoid"),
        }
    }
}

/// Mirrors `ActivationParams` in wgsl/activation.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ActivationParams {
    pub n: u32,
    pub kind: u32,
    pub slope: f32,
    pub _pad0: u32,
}

#[derive(Clone, Copy, Debug)]
pub struct Activation {
    pub act: Act,
}

impl Activation {
    pub fn new(act: Act) -> Activation {
        Activation { act }
    }

    /// Same shape as x.
    pub fn out_shape(&self, x: &[usize]) -> Result<Vec<usize>> {
        if !self.act.slope().is_finite() {
            return Err(Error::Param(format!("{} needs a finite slope", self.act)));
        }
        Ok(x.to_vec())
    }

    fn params(&self, n: usize) -> ActivationParams {
        ActivationParams { n: n as u32, kind: self.act.kind(), slope: self.act.slope(), _pad0: 0 }
    }

    /// Each invocation handles 4 elements.
    fn groups(n: usize) -> [u32; 3] {
        grid_1d((n as u64).div_ceil(4), WG)
    }

    /// y = f(x)
    pub fn forward(&self, s: &mut Step, y: &Tensor, x: &Tensor) -> Result<()> {
        let shape = self.out_shape(&x.shape)?;
        expect_shape(&format!("{} output", self.act), y, &shape)?;
        s.dispatch(Kernel::ActivationFwd, &self.params(x.len()), &[&y.buf, &x.buf], Self::groups(x.len()))
    }

    /// Whether f' can be read off y alone, so the forward may overwrite its input: all but a
    /// LeakyReLU with a negative slope (whose y > 0 on both sides of 0).
    pub fn can_run_in_place(&self) -> bool {
        !matches!(self.act, Act::LeakyRelu(s) if s < 0.0)
    }

    /// xy = f(xy), overwriting the input (see `can_run_in_place`).
    pub fn forward_in_place(&self, s: &mut Step, xy: &Tensor) -> Result<()> {
        self.out_shape(&xy.shape)?;
        if !self.can_run_in_place() {
            return Err(Error::Param(format!("{} cannot run in place: f' needs its input", self.act)));
        }
        s.dispatch(Kernel::ActivationFwdInPlace, &self.params(xy.len()), &[&xy.buf], Self::groups(xy.len()))
    }

    /// Overwrites dx = dy·f'(x) with f' read off the forward's output y alone.
    pub fn backward_from_y(&self, s: &mut Step, dx: &Tensor, dy: &Tensor, y: &Tensor) -> Result<()> {
        let shape = self.out_shape(&y.shape)?;
        let name = self.act.to_string();
        if !self.can_run_in_place() {
            return Err(Error::Param(format!("{name} needs its input for its gradient")));
        }
        expect_shape(&format!("{name} output gradient"), dy, &shape)?;
        expect_shape(&format!("{name} input gradient"), dx, &shape)?;
        let bufs = [&dx.buf, &y.buf, &dy.buf];
        s.dispatch(Kernel::ActivationBwdXFromY, &self.params(y.len()), &bufs, Self::groups(y.len()))
    }

    /// Overwrites dx = dy·f'(x); tanh and sigmoid take f' from the forward's output y.
    pub fn backward(&self, s: &mut Step, dx: &Tensor, dy: &Tensor, x: &Tensor, y: &Tensor) -> Result<()> {
        let shape = self.out_shape(&x.shape)?;
        let name = self.act.to_string();
        expect_shape(&format!("{name} forward output"), y, &shape)?;
        expect_shape(&format!("{name} output gradient"), dy, &shape)?;
        expect_shape(&format!("{name} input gradient"), dx, &shape)?;
        let bufs = [&dx.buf, &x.buf, &y.buf, &dy.buf];
        s.dispatch(Kernel::ActivationBwdX, &self.params(x.len()), &bufs, Self::groups(x.len()))
    }
}
