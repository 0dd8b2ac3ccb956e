//! Every WGSL entry point the crate dispatches, and the composed source of each family.
//!
//! WGSL has no `#include`: each family's module is `common.wgsl` followed by its own file,
//! without comments or indentation (src/gpu/wgsl_text.rs).
//! Binding convention for every entry point: `@binding(0)` is the family's uniform, then the
//! outputs (`read_write`), then the inputs (`read`), numbered without gaps, because pipelines use
//! the layout derived from the entry point and `Step::dispatch` binds buffers in that order.

macro_rules! family_source {
    ($file:literal) => {
        crate::gpu::wgsl_text::stripped_wgsl!(include_str!(concat!("../../wgsl/", $file)))
    };
}

/// common.wgsl, stripped: stored once and put before each family when its module is built,
/// rather than embedded in front of all thirteen.
const COMMON: &str = crate::gpu::wgsl_text::stripped_wgsl!(include_str!("../../wgsl/common.wgsl"));

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    Matmul,
    Reduce,
    Columns,
    BatchNorm,
    Activation,
    Upsample,
    Dropout,
    Random,
    Adam,
    Loss,
    Gather,
    Discrete,
    Pool,
}

impl Family {
    pub const ALL: [Family; 13] = [
        Family::Matmul,
        Family::Reduce,
        Family::Columns,
        Family::BatchNorm,
        Family::Activation,
        Family::Upsample,
        Family::Dropout,
        Family::Random,
        Family::Adam,
        Family::Loss,
        Family::Gather,
        Family::Discrete,
        Family::Pool,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Family::Matmul => "matmul",
            Family::Reduce => "reduce",
            Family::Columns => "columns",
            Family::BatchNorm => "batch_norm",
            Family::Activation => "activation",
            Family::Upsample => "upsample",
            Family::Dropout => "dropout",
            Family::Random => "random",
            Family::Adam => "adam",
            Family::Loss => "loss",
            Family::Gather => "gather",
            Family::Discrete => "discrete",
            Family::Pool => "pool",
        }
    }

    /// The composed WGSL module: common helpers, a blank line, the family's kernels (so a
    /// compiler's line numbers are those of the two files one after the other).
    pub fn source(self) -> String {
        format!("{COMMON}\n{}", self.own_source())
    }

    fn own_source(self) -> &'static str {
        match self {
            Family::Matmul => family_source!("matmul.wgsl"),
            Family::Reduce => family_source!("reduce.wgsl"),
            Family::Columns => family_source!("columns.wgsl"),
            Family::BatchNorm => family_source!("batch_norm.wgsl"),
            Family::Activation => family_source!("activation.wgsl"),
            Family::Upsample => family_source!("upsample.wgsl"),
            Family::Dropout => family_source!("dropout.wgsl"),
            Family::Random => family_source!("random.wgsl"),
            Family::Adam => family_source!("adam.wgsl"),
            Family::Loss => family_source!("loss.wgsl"),
            Family::Gather => family_source!("gather.wgsl"),
            Family::Discrete => family_source!("discrete.wgsl"),
            Family::Pool => family_source!("pool.wgsl"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// C = op(A)·op(B) (+ bias) with arbitrary strides, 4 × 4 scalar blocks (registers variant).
    Gemm,
    /// Registers variant, 8 × 8 blocks from vec4 loads along the contiguous axis of each
    /// operand: A along k (else along m), B along n (else along k); stored as `epilogue` says.
    GemmVec4 {
        a_along_k: bool,
        b_along_n: bool,
        epilogue: GemmEpilogue,
    },
    /// Tall variant: `GemmVec4` with 16 × 8 blocks, a long K summed in blocks inside the
    /// invocation.
    GemmTall {
        a_along_k: bool,
        b_along_n: bool,
        epilogue: GemmEpilogue,
    },
    /// Tiles variant: 64 × 64 workgroup-memory tiles, optionally split along K.
    GemmTiles,
    /// Adds the split-K partial sums of `GemmTiles` in a fixed order, with the epilogue.
    SplitSum,
    /// One output per invocation: the baseline Gemm is measured against.
    GemmNaive,
    /// db[c] += Σ_{outer, inner} dy[outer, c, inner]
    BiasGrad,
    /// `BiasGrad` with one invocation per channel and no barriers (registers variant, few terms).
    BiasGradSerial,
    /// Convolution columns of the big side (src/gpu/conv_gemm.rs).
    Im2col,
    /// The columns' gradient summed back into the big side (+ bias).
    Col2im,
    /// The small side of a convolution as (C, N·H·W).
    ChannelMajor,
    /// Per-channel batch mean and 1/std; running-stat update.
    BatchNormStats,
    /// `BatchNormStats` with one invocation per channel and no barriers (registers, small M).
    BatchNormStatsSerial,
    /// `BatchNormStatsSerial` and the training forward in one dispatch.
    BatchNormFwdSerial,
    /// y = γ·x̂ + β with batch or running statistics.
    BatchNormFwd,
    /// `BatchNormFwd` as vec4s, for inner sizes that are multiples of 4.
    BatchNormFwd4,
    /// Per-channel Σdy and Σdy·x̂; accumulates dγ, dβ unless frozen.
    BatchNormBwdW,
    /// `BatchNormBwdW` with one invocation per channel and no barriers (registers, small M).
    BatchNormBwdWSerial,
    /// `BatchNormBwdWSerial` and `BatchNormBwdX` in one dispatch.
    BatchNormBwdSerial,
    BatchNormBwdX,
    /// `BatchNormBwdX` as vec4s, for inner sizes that are multiples of 4.
    BatchNormBwdX4,
    ActivationFwd,
    ActivationBwdX,
    /// The activation overwriting its input.
    ActivationFwdInPlace,
    /// The activation's input gradient from its output alone.
    ActivationBwdXFromY,
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
    /// An exponential moving average of one arena buffer into another's (generator EMA).
    EmaUpdate,
    /// A loss value and its gradient for one network output (MSE, least squares, BCE on logits).
    Loss,
    /// Random batch indices into the GPU-resident dataset.
    GatherIndices,
    /// Bytes of the chosen images to f32 in [−1, 1].
    GatherBatch,
    /// Bytes of the chosen images to ±1, thresholded or drawn (`Binarize`).
    GatherBatchBinary,
    /// M binary images per row of Bernoulli logits (discrete BGAN).
    DiscreteSample,
    /// Softmax cross-entropy against class labels (classifiers).
    SoftmaxXent,
    PoolMaxFwd,
    /// Max pooling's input gradient, the maximum found again from x.
    PoolMaxBwdX,
    /// Importance weights: a softmax of D's logits over each row's M samples.
    DiscreteWeights,
    /// The discrete BGAN generator loss's per-pixel terms and its gradient in the logits.
    DiscreteBwd,
    /// The sum of those terms into the loss slot.
    DiscreteLossSum,
}

impl Kernel {
    pub const ALL: [Kernel; 68] = [
        Kernel::Gemm,
        Kernel::GemmVec4 { a_along_k: true, b_along_n: true, epilogue: GemmEpilogue::Any },
        Kernel::GemmVec4 { a_along_k: true, b_along_n: true, epilogue: GemmEpilogue::Plain },
        Kernel::GemmVec4 { a_along_k: true, b_along_n: true, epilogue: GemmEpilogue::Act },
        Kernel::GemmVec4 { a_along_k: true, b_along_n: false, epilogue: GemmEpilogue::Any },
        Kernel::GemmVec4 { a_along_k: true, b_along_n: false, epilogue: GemmEpilogue::Plain },
        Kernel::GemmVec4 { a_along_k: true, b_along_n: false, epilogue: GemmEpilogue::Act },
        Kernel::GemmVec4 { a_along_k: false, b_along_n: true, epilogue: GemmEpilogue::Any },
        Kernel::GemmVec4 { a_along_k: false, b_along_n: true, epilogue: GemmEpilogue::Plain },
        Kernel::GemmVec4 { a_along_k: false, b_along_n: true, epilogue: GemmEpilogue::Act },
        Kernel::GemmVec4 { a_along_k: false, b_along_n: false, epilogue: GemmEpilogue::Any },
        Kernel::GemmVec4 { a_along_k: false, b_along_n: false, epilogue: GemmEpilogue::Plain },
        Kernel::GemmVec4 { a_along_k: false, b_along_n: false, epilogue: GemmEpilogue::Act },
        Kernel::GemmTall { a_along_k: true, b_along_n: true, epilogue: GemmEpilogue::Any },
        Kernel::GemmTall { a_along_k: true, b_along_n: true, epilogue: GemmEpilogue::Plain },
        Kernel::GemmTall { a_along_k: true, b_along_n: true, epilogue: GemmEpilogue::Act },
        Kernel::GemmTall { a_along_k: true, b_along_n: false, epilogue: GemmEpilogue::Any },
        Kernel::GemmTall { a_along_k: true, b_along_n: false, epilogue: GemmEpilogue::Plain },
        Kernel::GemmTall { a_along_k: true, b_along_n: false, epilogue: GemmEpilogue::Act },
        Kernel::GemmTall { a_along_k: false, b_along_n: true, epilogue: GemmEpilogue::Any },
        Kernel::GemmTall { a_along_k: false, b_along_n: true, epilogue: GemmEpilogue::Plain },
        Kernel::GemmTall { a_along_k: false, b_along_n: true, epilogue: GemmEpilogue::Act },
        Kernel::GemmTall { a_along_k: false, b_along_n: false, epilogue: GemmEpilogue::Any },
        Kernel::GemmTall { a_along_k: false, b_along_n: false, epilogue: GemmEpilogue::Plain },
        Kernel::GemmTall { a_along_k: false, b_along_n: false, epilogue: GemmEpilogue::Act },
        Kernel::GemmTiles,
        Kernel::SplitSum,
        Kernel::GemmNaive,
        Kernel::BiasGrad,
        Kernel::BiasGradSerial,
        Kernel::Im2col,
        Kernel::Col2im,
        Kernel::ChannelMajor,
        Kernel::BatchNormStats,
        Kernel::BatchNormStatsSerial,
        Kernel::BatchNormFwdSerial,
        Kernel::BatchNormFwd,
        Kernel::BatchNormFwd4,
        Kernel::BatchNormBwdW,
        Kernel::BatchNormBwdWSerial,
        Kernel::BatchNormBwdSerial,
        Kernel::BatchNormBwdX,
        Kernel::BatchNormBwdX4,
        Kernel::ActivationFwd,
        Kernel::ActivationBwdX,
        Kernel::ActivationFwdInPlace,
        Kernel::ActivationBwdXFromY,
        Kernel::UpsampleFwd,
        Kernel::UpsampleBwdX,
        Kernel::DropoutFwd,
        Kernel::DropoutBwdX,
        Kernel::RandomUniform,
        Kernel::RandomNormal,
        Kernel::ClockTick,
        Kernel::AdamStep,
        Kernel::SgdStep,
        Kernel::EmaUpdate,
        Kernel::Loss,
        Kernel::GatherIndices,
        Kernel::GatherBatch,
        Kernel::GatherBatchBinary,
        Kernel::DiscreteSample,
        Kernel::SoftmaxXent,
        Kernel::PoolMaxFwd,
        Kernel::PoolMaxBwdX,
        Kernel::DiscreteWeights,
        Kernel::DiscreteBwd,
        Kernel::DiscreteLossSum,
    ];

    pub fn entry(self) -> &'static str {
        match self {
            Kernel::Gemm => "matmul_gemm",
            Kernel::GemmVec4 { a_along_k, b_along_n, epilogue } => {
                const NAMES: [[&str; 3]; 4] = [
                    ["matmul_gemm_vec4_mk", "matmul_gemm_vec4_mk_plain", "matmul_gemm_vec4_mk_act"],
                    ["matmul_gemm_vec4_mn", "matmul_gemm_vec4_mn_plain", "matmul_gemm_vec4_mn_act"],
                    ["matmul_gemm_vec4_kk", "matmul_gemm_vec4_kk_plain", "matmul_gemm_vec4_kk_act"],
                    ["matmul_gemm_vec4_kn", "matmul_gemm_vec4_kn_plain", "matmul_gemm_vec4_kn_act"],
                ];
                NAMES[a_along_k as usize * 2 + b_along_n as usize][epilogue as usize]
            }
            Kernel::GemmTall { a_along_k, b_along_n, epilogue } => {
                const NAMES: [[&str; 3]; 4] = [
                    ["matmul_tall_mk", "matmul_tall_mk_plain", "matmul_tall_mk_act"],
                    ["matmul_tall_mn", "matmul_tall_mn_plain", "matmul_tall_mn_act"],
                    ["matmul_tall_kk", "matmul_tall_kk_plain", "matmul_tall_kk_act"],
                    ["matmul_tall_kn", "matmul_tall_kn_plain", "matmul_tall_kn_act"],
                ];
                NAMES[a_along_k as usize * 2 + b_along_n as usize][epilogue as usize]
            }
            Kernel::GemmTiles => "matmul_gemm_tiles",
            Kernel::SplitSum => "matmul_split_sum",
            Kernel::GemmNaive => "matmul_gemm_naive",
            Kernel::BiasGrad => "reduce_bias_grad",
            Kernel::BiasGradSerial => "reduce_bias_grad_serial",
            Kernel::Im2col => "columns_im2col",
            Kernel::Col2im => "columns_col2im",
            Kernel::ChannelMajor => "columns_channel_major",
            Kernel::BatchNormStats => "batch_norm_stats",
            Kernel::BatchNormStatsSerial => "batch_norm_stats_serial",
            Kernel::BatchNormFwdSerial => "batch_norm_fwd_serial",
            Kernel::BatchNormFwd => "batch_norm_fwd",
            Kernel::BatchNormFwd4 => "batch_norm_fwd4",
            Kernel::BatchNormBwdW => "batch_norm_bwd_w",
            Kernel::BatchNormBwdWSerial => "batch_norm_bwd_w_serial",
            Kernel::BatchNormBwdSerial => "batch_norm_bwd_serial",
            Kernel::BatchNormBwdX => "batch_norm_bwd_x",
            Kernel::BatchNormBwdX4 => "batch_norm_bwd_x4",
            Kernel::ActivationFwd => "activation_fwd",
            Kernel::ActivationBwdX => "activation_bwd_x",
            Kernel::ActivationFwdInPlace => "activation_fwd_in_place",
            Kernel::ActivationBwdXFromY => "activation_bwd_x_from_y",
            Kernel::UpsampleFwd => "upsample_fwd",
            Kernel::UpsampleBwdX => "upsample_bwd_x",
            Kernel::DropoutFwd => "dropout_fwd",
            Kernel::DropoutBwdX => "dropout_bwd_x",
            Kernel::RandomUniform => "random_uniform",
            Kernel::RandomNormal => "random_normal",
            Kernel::ClockTick => "random_clock_tick",
            Kernel::AdamStep => "adam_step",
            Kernel::SgdStep => "adam_sgd_step",
            Kernel::EmaUpdate => "adam_ema",
            Kernel::Loss => "loss_fwd_bwd",
            Kernel::GatherIndices => "gather_indices",
            Kernel::GatherBatch => "gather_batch",
            Kernel::GatherBatchBinary => "gather_batch_binary",
            Kernel::DiscreteSample => "discrete_sample",
            Kernel::SoftmaxXent => "loss_softmax_xent",
            Kernel::PoolMaxFwd => "pool_max_fwd",
            Kernel::PoolMaxBwdX => "pool_max_bwd_x",
            Kernel::DiscreteWeights => "discrete_weights",
            Kernel::DiscreteBwd => "discrete_bwd",
            Kernel::DiscreteLossSum => "discrete_loss_sum",
        }
    }

    pub fn family(self) -> Family {
        match self {
            Kernel::Gemm
            | Kernel::GemmVec4 { .. }
            | Kernel::GemmTall { .. }
            | Kernel::GemmTiles
            | Kernel::SplitSum
            | Kernel::GemmNaive => Family::Matmul,
            Kernel::BiasGrad | Kernel::BiasGradSerial => Family::Reduce,
            Kernel::Im2col | Kernel::Col2im | Kernel::ChannelMajor => Family::Columns,
            Kernel::BatchNormStats
            | Kernel::BatchNormStatsSerial
            | Kernel::BatchNormFwdSerial
            | Kernel::BatchNormFwd
            | Kernel::BatchNormFwd4
            | Kernel::BatchNormBwdW
            | Kernel::BatchNormBwdWSerial
            | Kernel::BatchNormBwdSerial
            | Kernel::BatchNormBwdX
            | Kernel::BatchNormBwdX4 => Family::BatchNorm,
            Kernel::ActivationFwd
            | Kernel::ActivationBwdX
            | Kernel::ActivationFwdInPlace
            | Kernel::ActivationBwdXFromY => Family::Activation,
            Kernel::UpsampleFwd | Kernel::UpsampleBwdX => Family::Upsample,
            Kernel::DropoutFwd | Kernel::DropoutBwdX => Family::Dropout,
            Kernel::RandomUniform | Kernel::RandomNormal | Kernel::ClockTick => Family::Random,
            Kernel::AdamStep | Kernel::SgdStep | Kernel::EmaUpdate => Family::Adam,
            Kernel::Loss | Kernel::SoftmaxXent => Family::Loss,
            Kernel::PoolMaxFwd | Kernel::PoolMaxBwdX => Family::Pool,
            Kernel::GatherIndices | Kernel::GatherBatch | Kernel::GatherBatchBinary => Family::Gather,
            Kernel::DiscreteSample | Kernel::DiscreteWeights | Kernel::DiscreteBwd | Kernel::DiscreteLossSum => {
                Family::Discrete
            }
        }
    }
}

/// How `GemmVec4` stores its block (wgsl/matmul.wgsl says why these are separate pipelines).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GemmEpilogue {
    /// Element by element: edges, grouped columns, unaligned C.
    Any = 0,
    /// Whole blocks in plain rows aligned to vec4s; bias and accumulation, no activation.
    Plain = 1,
    /// `Plain`, then the fused activation.
    Act = 2,
}

/// Per-channel reductions (bias gradients, batch-norm statistics) over at most this many terms
/// run as one invocation per channel on the registers variant: without barriers, which a
/// software rasteriser pays for by switching through every invocation of the workgroup. Over
/// more, one workgroup per channel spreads the terms over its invocations.
pub const SERIAL_REDUCE_MAX: u32 = 1024;

/// Whether the `Gpu`'s variant reduces `terms` values per channel serially (`SERIAL_REDUCE_MAX`).
pub fn serial_reduce(variant: Variant, terms: u32) -> bool {
    variant != Variant::Tiles && terms <= SERIAL_REDUCE_MAX
}

/// Styles of the same math for different kinds of adapter. Chosen once per `Gpu` from the
/// adapter type (`NANOGAN_KERNELS=registers|tall|tiles` forces one); layers never branch on it, the
/// dispatch helpers that record a family's kernels do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Variant {
    /// Register blocks of 8 × 8, vec4 loads along the contiguous axis, no workgroup memory and
    /// no barriers: what software rasterisers run fastest; the browser's (SwiftShader) get it.
    Registers,
    /// `Registers` with 16 × 8 blocks and long K summed inside the invocation: native software
    /// rasterisers (lavapipe, where it measured 1.2× faster per iteration; SwiftShader was
    /// 1.36× slower with it).
    Tall,
    /// Workgroup-memory tiles with coalesced loads and split-K, so skinny products still launch
    /// hundreds of workgroups: for GPUs.
    Tiles,
}

impl Variant {
    pub const ALL: [Variant; 3] = [Variant::Registers, Variant::Tall, Variant::Tiles];

    pub fn name(self) -> &'static str {
        match self {
            Variant::Registers => "registers",
            Variant::Tall => "tall",
            Variant::Tiles => "tiles",
        }
    }

    pub fn parse(s: &str) -> Option<Variant> {
        Variant::ALL.into_iter().find(|v| v.name() == s)
    }

    /// Software rasterisers get `Tall` natively (lavapipe) and `Registers` in the browser
    /// (SwiftShader), every GPU `Tiles`.
    pub fn for_device(device_type: wgpu::DeviceType) -> Variant {
        match device_type {
            wgpu::DeviceType::Cpu if cfg!(target_arch = "wasm32") => Variant::Registers,
            wgpu::DeviceType::Cpu => Variant::Tall,
            _ => Variant::Tiles,
        }
    }

    /// The variant `NANOGAN_KERNELS` forces, if it is set (native only); an unknown name is an
    /// error naming the known ones.
    pub fn from_env() -> Result<Option<Variant>, String> {
        #[cfg(not(target_arch = "wasm32"))]
        {
            match std::env::var("NANOGAN_KERNELS").ok().filter(|s| !s.is_empty()) {
                None => Ok(None),
                Some(s) => Variant::parse(&s).map(Some).ok_or_else(|| {
                    let known: Vec<&str> = Variant::ALL.iter().map(|v| v.name()).collect();
                    format!("NANOGAN_KERNELS='{s}' is not a kernel variant (known: {})", known.join(", "))
                }),
            }
        }
        #[cfg(target_arch = "wasm32")]
        {
            Ok(None)
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
