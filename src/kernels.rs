//! Every WGSL entry point the crate dispatches, and the composed source of each family.
//!
//! WGSL has no `#include`: each family's module is `common.wgsl` followed by its own file.
//! Binding convention for every entry point: `@binding(0)` is the family's uniform, then the
//! outputs (`read_write`), then the inputs (`read`), numbered without gaps, because pipelines use
//! the layout derived from the entry point and `Step::dispatch` binds buffers in that order.

macro_rules! family_source {
    ($file:literal) => {
        concat!(include_str!("../wgsl/common.wgsl"), "\n", include_str!(concat!("../wgsl/", $file)))
    };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    Matmul,
    Reduce,
    Conv2d,
    ConvTranspose2d,
    BatchNorm,
    Activation,
    Upsample,
    Dropout,
    Random,
    Adam,
    Loss,
    Gather,
}

impl Family {
    pub const ALL: [Family; 12] = [
        Family::Matmul,
        Family::Reduce,
        Family::Conv2d,
        Family::ConvTranspose2d,
        Family::BatchNorm,
        Family::Activation,
        Family::Upsample,
        Family::Dropout,
        Family::Random,
        Family::Adam,
        Family::Loss,
        Family::Gather,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Family::Matmul => "matmul",
            Family::Reduce => "reduce",
            Family::Conv2d => "conv2d",
            Family::ConvTranspose2d => "conv_transpose2d",
            Family::BatchNorm => "batch_norm",
            Family::Activation => "activation",
            Family::Upsample => "upsample",
            Family::Dropout => "dropout",
            Family::Random => "random",
            Family::Adam => "adam",
            Family::Loss => "loss",
            Family::Gather => "gather",
        }
    }

    /// The composed WGSL module: common helpers + the family's kernels.
    pub fn source(self) -> &'static str {
        match self {
            Family::Matmul => family_source!("matmul.wgsl"),
            Family::Reduce => family_source!("reduce.wgsl"),
            Family::Conv2d => family_source!("conv2d.wgsl"),
            Family::ConvTranspose2d => family_source!("conv_transpose2d.wgsl"),
            Family::BatchNorm => family_source!("batch_norm.wgsl"),
            Family::Activation => family_source!("activation.wgsl"),
            Family::Upsample => family_source!("upsample.wgsl"),
            Family::Dropout => family_source!("dropout.wgsl"),
            Family::Random => family_source!("random.wgsl"),
            Family::Adam => family_source!("adam.wgsl"),
            Family::Loss => family_source!("loss.wgsl"),
            Family::Gather => family_source!("gather.wgsl"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// C = op(A)·op(B) (+ bias) with arbitrary strides; Linear's three products.
    Gemm,
    /// One output per invocation: the baseline Gemm is measured against.
    GemmNaive,
    /// db[c] += Σ_{outer, inner} dy[outer, c, inner]
    BiasGrad,
    Conv2dFwd,
    Conv2dBwdX,
    Conv2dBwdW,
    ConvTranspose2dFwd,
    ConvTranspose2dBwdX,
    ConvTranspose2dBwdW,
    /// Per-channel batch mean and 1/std; running-stat update.
    BatchNormStats,
    /// y = γ·x̂ + β with batch or running statistics.
    BatchNormFwd,
    /// Per-channel Σdy and Σdy·x̂; accumulates dγ, dβ unless frozen.
    BatchNormBwdW,
    BatchNormBwdX,
    ActivationFwd,
    ActivationBwdX,
    UpsampleFwd,
    UpsampleBwdX,
    DropoutFwd,
    DropoutBwdX,
    RandomUniform,
    RandomNormal,
    /// clock[slot] += 1; the per-step counter read by RNG and Adam kernels.
    ClockTick,
    AdamStep,
    SgdStep,
    /// A loss value and its gradient for one network output (MSE, least squares, BCE on logits).
    Loss,
    /// Random batch indices into the GPU-resident dataset.
    GatherIndices,
    /// Bytes of the chosen images to f32 in [−1, 1].
    GatherBatch,
}

impl Kernel {
    pub const ALL: [Kernel; 27] = [
        Kernel::Gemm,
        Kernel::GemmNaive,
        Kernel::BiasGrad,
        Kernel::Conv2dFwd,
        Kernel::Conv2dBwdX,
        Kernel::Conv2dBwdW,
        Kernel::ConvTranspose2dFwd,
        Kernel::ConvTranspose2dBwdX,
        Kernel::ConvTranspose2dBwdW,
        Kernel::BatchNormStats,
        Kernel::BatchNormFwd,
        Kernel::BatchNormBwdW,
        Kernel::BatchNormBwdX,
        Kernel::ActivationFwd,
        Kernel::ActivationBwdX,
        Kernel::UpsampleFwd,
        Kernel::UpsampleBwdX,
        Kernel::DropoutFwd,
        Kernel::DropoutBwdX,
        Kernel::RandomUniform,
        Kernel::RandomNormal,
        Kernel::ClockTick,
        Kernel::AdamStep,
        Kernel::SgdStep,
        Kernel::Loss,
        Kernel::GatherIndices,
        Kernel::GatherBatch,
    ];

    pub fn entry(self) -> &'static str {
        match self {
            Kernel::Gemm => "matmul_gemm",
            Kernel::GemmNaive => "matmul_gemm_naive",
            Kernel::BiasGrad => "reduce_bias_grad",
            Kernel::Conv2dFwd => "conv2d_fwd",
            Kernel::Conv2dBwdX => "conv2d_bwd_x",
            Kernel::Conv2dBwdW => "conv2d_bwd_w",
            Kernel::ConvTranspose2dFwd => "conv_transpose2d_fwd",
            Kernel::ConvTranspose2dBwdX => "conv_transpose2d_bwd_x",
            Kernel::ConvTranspose2dBwdW => "conv_transpose2d_bwd_w",
            Kernel::BatchNormStats => "batch_norm_stats",
            Kernel::BatchNormFwd => "batch_norm_fwd",
            Kernel::BatchNormBwdW => "batch_norm_bwd_w",
            Kernel::BatchNormBwdX => "batch_norm_bwd_x",
            Kernel::ActivationFwd => "activation_fwd",
            Kernel::ActivationBwdX => "activation_bwd_x",
            Kernel::UpsampleFwd => "upsample_fwd",
            Kernel::UpsampleBwdX => "upsample_bwd_x",
            Kernel::DropoutFwd => "dropout_fwd",
            Kernel::DropoutBwdX => "dropout_bwd_x",
            Kernel::RandomUniform => "random_uniform",
            Kernel::RandomNormal => "random_normal",
            Kernel::ClockTick => "random_clock_tick",
            Kernel::AdamStep => "adam_step",
            Kernel::SgdStep => "adam_sgd_step",
            Kernel::Loss => "loss_fwd_bwd",
            Kernel::GatherIndices => "gather_indices",
            Kernel::GatherBatch => "gather_batch",
        }
    }

    pub fn family(self) -> Family {
        match self {
            Kernel::Gemm | Kernel::GemmNaive => Family::Matmul,
            Kernel::BiasGrad => Family::Reduce,
            Kernel::Conv2dFwd | Kernel::Conv2dBwdX | Kernel::Conv2dBwdW => Family::Conv2d,
            Kernel::ConvTranspose2dFwd | Kernel::ConvTranspose2dBwdX | Kernel::ConvTranspose2dBwdW => {
                Family::ConvTranspose2d
            }
            Kernel::BatchNormStats | Kernel::BatchNormFwd | Kernel::BatchNormBwdW | Kernel::BatchNormBwdX => {
                Family::BatchNorm
            }
            Kernel::ActivationFwd | Kernel::ActivationBwdX => Family::Activation,
            Kernel::UpsampleFwd | Kernel::UpsampleBwdX => Family::Upsample,
            Kernel::DropoutFwd | Kernel::DropoutBwdX => Family::Dropout,
            Kernel::RandomUniform | Kernel::RandomNormal | Kernel::ClockTick => Family::Random,
            Kernel::AdamStep | Kernel::SgdStep => Family::Adam,
            Kernel::Loss => Family::Loss,
            Kernel::GatherIndices | Kernel::GatherBatch => Family::Gather,
        }
    }
}

/// Invocations per workgroup of every 1-D kernel (`WG` in common.wgsl).
pub const WG: u32 = 64;
/// WebGPU's limit on workgroups per dimension.
pub const MAX_GROUPS: u32 = 65535;

/// Workgroups covering `n` invocations of a 1-D kernel of `wg` invocations each; spills into y
/// past 65535 groups. The kernel recovers its flat index with `flat_index` in common.wgsl.
pub fn grid_1d(n: u64, wg: u32) -> [u32; 3] {
    let groups = n.div_ceil(wg as u64).max(1);
    if groups <= MAX_GROUPS as u64 {
        [groups as u32, 1, 1]
    } else {
        let y = groups.div_ceil(MAX_GROUPS as u64);
        [MAX_GROUPS, y as u32, 1]
    }
}
