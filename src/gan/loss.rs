//! Loss values and gradients on the GPU (wgsl/loss.wgsl). The GAN objectives (issue: trainer)
//! are built from these three terms.

use crate::error::{Error, Result};
use crate::gpu::kernels::Kernel;
use crate::gpu::step::Step;
use crate::gpu::tensor::{expect_shape, Tensor};
use crate::io::float_text::FloatText;

/// One loss term over a network output y of N values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Term {
    /// mean((y − t)²) against a target tensor.
    Mse,
    /// ½·mean((y − c)²): LSGAN's terms, and BGAN's generator loss with c = 0.
    LeastSquares(f32),
    /// mean(BCE(σ(y), c)) computed on logits.
    BceLogits(f32),
    /// −mean(BCE(σ(y), c)): with c = 0, the minimax generator's E[log(1 − σ(y))].
    NegBceLogits(f32),
}

/// Mirrors `LossParams` in wgsl/loss.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct LossParams {
    pub n: u32,
    pub kind: u32,
    pub c: f32,
    pub out_index: u32,
    pub accumulate: u32,
    pub classes: u32,
    pub _pad: [u32; 2],
}

/// Records dy = ∂L/∂y (overwrite) and L into `losses[out_index]` (added if `accumulate`).
#[allow(clippy::too_many_arguments)]
pub fn record(
    s: &mut Step,
    term: Term,
    dy: &Tensor,
    losses: &wgpu::Buffer,
    out_index: u32,
    accumulate: bool,
    y: &Tensor,
    target: Option<&Tensor>,
) -> Result<()> {
    expect_shape("loss gradient", dy, &y.shape)?;
    let (kind, c) = match term {
        Term::Mse => (0, 0.0),
        Term::LeastSquares(c) => (1, c),
        Term::BceLogits(c) => (2, c),
        Term::NegBceLogits(c) => (3, c),
    };
    if !c.is_finite() {
        return Err(Error::Param(format!("loss target {} is not finite", FloatText(c))));
    }
    let t = match (term, target) {
        (Term::Mse, Some(t)) => {
            expect_shape("MSE target", t, &y.shape)?;
            t
        }
        (Term::Mse, None) => return Err(Error::Param("MSE loss needs a target tensor".into())),
        (_, _) => y,
    };
    let p =
        LossParams { n: y.len() as u32, kind, c, out_index, accumulate: accumulate as u32, classes: 0, _pad: [0; 2] };
    s.dispatch(Kernel::Loss, &p, &[&dy.buf, losses, &y.buf, &t.buf], [1, 1, 1])
}

/// Records the softmax cross-entropy of `logits` (N, C) against `labels` (N class indices, as
/// f32): dlogits (overwritten) and the mean loss into `losses[out_index]` (added if `accumulate`).
pub fn record_softmax_xent(
    s: &mut Step,
    dlogits: &Tensor,
    losses: &wgpu::Buffer,
    out_index: u32,
    accumulate: bool,
    logits: &Tensor,
    labels: &Tensor,
) -> Result<()> {
    let [n, classes] = logits.shape[..] else {
        return Err(Error::Shape(format!("softmax cross-entropy expects logits (N, C), got {:?}", logits.shape)));
    };
    if classes == 0 {
        return Err(Error::Shape("softmax cross-entropy needs at least one class".into()));
    }
    expect_shape("logit gradient", dlogits, &logits.shape)?;
    if labels.len() != n {
        return Err(Error::Shape(format!("{} labels for {n} rows of logits", labels.len())));
    }
    let p = LossParams {
        n: n as u32,
        kind: 0,
        c: 0.0,
        out_index,
        accumulate: accumulate as u32,
        classes: classes as u32,
        _pad: [0; 2],
    };
    s.dispatch(Kernel::SoftmaxXent, &p, &[&dlogits.buf, losses, &logits.buf, &labels.buf], [1, 1, 1])
}
