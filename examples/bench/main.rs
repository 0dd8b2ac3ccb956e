//! Kernel benchmarks at the GAN shapes: time per dispatch and GFLOP/s, with the adapter on every
//! line. GPU time comes from timestamp queries where the adapter has them, wall clock otherwise.
//!
//!     cargo run --release --example bench            # all kernels
//!     cargo run --release --example bench -- matmul  # only cases whose name contains "matmul"
//!     cargo run --release --example bench -- --e2e   # whole iterations instead (see e2e.rs)
//!     cargo run --release --example bench -- --compile   # pipeline build times (compile.rs)

use nanogan::gpu::gemm::{gemm, gemm_naive, GemmParams};
use nanogan::nn::conv2d::Conv2d;
use nanogan::nn::conv_transpose2d::ConvTranspose2d;
use nanogan::{wgpu, ArenaBuilder, Gpu, Init, InitRng, Plan, Result, Step, Tensor, Variant};
use std::time::Instant;

mod compile;
mod e2e;

/// Dispatches per submit, so submit overhead does not swamp short kernels.
const REPS: usize = 8;
/// Timed submits; the median is reported.
const RUNS: usize = 5;

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--e2e") {
        return e2e::run(&args);
    }
    if args.iter().any(|a| a == "--compile") {
        return compile::run();
    }
    let filter = args.first().cloned().unwrap_or_default();
    let gpu = Gpu::new_blocking()?;
    let adapter = format!("{} [{:?}]", gpu.info.name, gpu.info.backend);
    eprintln!("adapter: {} ({})", gpu.describe(), if gpu.has_timestamps() { "timestamps" } else { "wall clock" });
    let n = 64;
    // Every kernel variant on this adapter (the chosen one first), then the GEMM baseline.
    let chosen = gpu.variant();
    let mut styles: Vec<Style> = vec![Style::Variant(chosen)];
    styles.extend(Variant::ALL.into_iter().filter(|&v| v != chosen).map(Style::Variant));
    styles.push(Style::Naive);
    for case in cases() {
        if !case.name.contains(&filter) {
            continue;
        }
        for &style in &styles {
            if style == Style::Naive && !case.has_naive {
                continue;
            }
            let styled = match style {
                Style::Variant(v) => gpu.with_variant(v),
                Style::Naive => gpu.with_variant(chosen),
            };
            let (plan, flops) = (case.build)(&styled, n, style)?;
            let ms = time_plan(&gpu, &plan)? / REPS as f64;
            println!(
                "{:<42} {:>9.3} ms {:>8.2} GFLOP/s  batch {n}  {}  on {adapter}",
                format!("{} {}", case.name, style.name()),
                ms,
                flops / (ms * 1e6),
                case.sizes
            );
        }
    }
    Ok(())
}

/// A kernel variant, or the one-output-per-invocation GEMM every variant must beat.
#[derive(Clone, Copy, PartialEq)]
enum Style {
    Variant(Variant),
    Naive,
}

impl Style {
    fn name(self) -> &'static str {
        match self {
            Style::Variant(v) => v.name(),
            Style::Naive => "naive",
        }
    }
}

struct Case {
    name: &'static str,
    sizes: &'static str,
    /// Records REPS dispatches of the kernel; returns the plan and FLOPs per dispatch.
    build: fn(&Gpu, usize, Style) -> Result<(Plan, f64)>,
    /// Whether the case has a naive baseline (the GEMMs).
    has_naive: bool,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "matmul fwd (x·Wᵀ)",
            sizes: "64×784 · 784×1024",
            build: |g, n, st| matmul(g, n, 0, st),
            has_naive: true,
        },
        Case {
            name: "matmul bwd_x (dy·W)",
            sizes: "64×1024 · 1024×784",
            build: |g, n, st| matmul(g, n, 1, st),
            has_naive: true,
        },
        Case {
            name: "matmul bwd_w (dyᵀ·x)",
            sizes: "1024×64 · 64×784",
            build: |g, n, st| matmul(g, n, 2, st),
            has_naive: true,
        },
        Case {
            name: "matmul square",
            sizes: "512×512 · 512×512",
            build: |g, _, st| matmul(g, 512, 3, st),
            has_naive: true,
        },
        Case {
            name: "conv2d 1→64 fwd",
            sizes: "k4 s2 p1 28×28→14×14",
            build: |g, n, _| conv(g, n, 1, 64, 28, 0),
            has_naive: false,
        },
        Case {
            name: "conv2d 1→64 bwd_w",
            sizes: "k4 s2 p1 28×28→14×14",
            build: |g, n, _| conv(g, n, 1, 64, 28, 2),
            has_naive: false,
        },
        Case {
            name: "conv2d 64→128 fwd",
            sizes: "k4 s2 p1 14×14→7×7",
            build: |g, n, _| conv(g, n, 64, 128, 14, 0),
            has_naive: false,
        },
        Case {
            name: "conv2d 64→128 bwd_x",
            sizes: "k4 s2 p1 14×14→7×7",
            build: |g, n, _| conv(g, n, 64, 128, 14, 1),
            has_naive: false,
        },
        Case {
            name: "conv2d 64→128 bwd_w",
            sizes: "k4 s2 p1 14×14→7×7",
            build: |g, n, _| conv(g, n, 64, 128, 14, 2),
            has_naive: false,
        },
        Case {
            name: "conv_transpose2d 128→64 fwd",
            sizes: "k4 s2 p1 7×7→14×14",
            build: |g, n, _| convt(g, n, 128, 64, 7, 0),
            has_naive: false,
        },
        Case {
            name: "conv_transpose2d 128→64 bwd_x",
            sizes: "k4 s2 p1 7×7→14×14",
            build: |g, n, _| convt(g, n, 128, 64, 7, 1),
            has_naive: false,
        },
        Case {
            name: "conv_transpose2d 128→64 bwd_w",
            sizes: "k4 s2 p1 7×7→14×14",
            build: |g, n, _| convt(g, n, 128, 64, 7, 2),
            has_naive: false,
        },
        Case {
            name: "conv_transpose2d 64→1 fwd",
            sizes: "k4 s2 p1 14×14→28×28",
            build: |g, n, _| convt(g, n, 64, 1, 14, 0),
            has_naive: false,
        },
        Case {
            name: "conv_transpose2d 64→1 bwd_x",
            sizes: "k4 s2 p1 14×14→28×28",
            build: |g, n, _| convt(g, n, 64, 1, 14, 1),
            has_naive: false,
        },
        Case {
            name: "conv_transpose2d 64→1 bwd_w",
            sizes: "k4 s2 p1 14×14→28×28",
            build: |g, n, _| convt(g, n, 64, 1, 14, 2),
            has_naive: false,
        },
    ]
}

/// Which product: 0 forward, 1 input gradient, 2 weight gradient, 3 an n × n × n square.
fn matmul(gpu: &Gpu, n: usize, which: usize, style: Style) -> Result<(Plan, f64)> {
    let (i, o) = if which == 3 { (n, n) } else { (784usize, 1024usize) };
    let x = Tensor::zeros(gpu, &[n, i])?;
    let w = Tensor::zeros(gpu, &[o, i])?;
    let y = Tensor::zeros(gpu, &[n, o])?;
    let (n, i, o) = (n as u32, i as u32, o as u32);
    let (p, c, a, b) = match which {
        // B[k, n] = W[n, k]
        0 => (GemmParams { b_ks: 1, b_ns: i, ..GemmParams::new(n, o, i) }, &y, &x, &w),
        1 | 3 => (GemmParams::new(n, i, o), &x, &y, &w),
        // A[m, k] = dy[k, m]
        _ => (GemmParams { accumulate: 1, a_ms: 1, a_ks: o, ..GemmParams::new(o, i, n) }, &w, &y, &x),
    };
    let mut s = Step::new(gpu);
    for _ in 0..REPS {
        match style {
            Style::Naive => gemm_naive(&mut s, &p, &c.buf, &a.buf, &b.buf, &b.buf)?,
            Style::Variant(_) => gemm(&mut s, &p, &c.buf, &a.buf, &b.buf, &b.buf)?,
        }
    }
    Ok((s.finish(), 2.0 * (p.m as f64) * (p.n as f64) * (p.k as f64)))
}

fn conv(gpu: &Gpu, n: usize, c_in: usize, c_out: usize, hw: usize, which: usize) -> Result<(Plan, f64)> {
    let mut b = ArenaBuilder::new();
    let layer = Conv2d::new(&mut b, "c", c_in, c_out, 4, 2, 1, Init::Torch, &mut InitRng::new(0))?;
    let arena = b.build(gpu)?;
    let x = Tensor::zeros(gpu, &[n, c_in, hw, hw])?;
    let shape = layer.out_shape(&x.shape)?;
    let y = Tensor::zeros(gpu, &shape)?;
    let dx = Tensor::zeros(gpu, &x.shape)?;
    let flops = 2.0 * (n * c_out * shape[2] * shape[3] * c_in * 16) as f64;
    let mut s = Step::new(gpu);
    for _ in 0..REPS {
        match which {
            0 => layer.forward(&mut s, &arena, &y, &x)?,
            1 => layer.backward(&mut s, &arena, Some(&dx), &y, &x, true)?,
            _ => layer.backward(&mut s, &arena, None, &y, &x, false)?,
        }
    }
    Ok((s.finish(), flops))
}

fn convt(gpu: &Gpu, n: usize, c_in: usize, c_out: usize, hw: usize, which: usize) -> Result<(Plan, f64)> {
    let mut b = ArenaBuilder::new();
    let layer = ConvTranspose2d::new(&mut b, "t", c_in, c_out, 4, 2, 1, 0, Init::Torch, &mut InitRng::new(0))?;
    let arena = b.build(gpu)?;
    let x = Tensor::zeros(gpu, &[n, c_in, hw, hw])?;
    let y = Tensor::zeros(gpu, &layer.out_shape(&x.shape)?)?;
    let dx = Tensor::zeros(gpu, &x.shape)?;
    let flops = 2.0 * (n * c_in * hw * hw * c_out * 16) as f64;
    let mut s = Step::new(gpu);
    for _ in 0..REPS {
        match which {
            0 => layer.forward(&mut s, &arena, &y, &x)?,
            1 => layer.backward(&mut s, &arena, Some(&dx), &y, &x, true)?,
            _ => layer.backward(&mut s, &arena, None, &y, &x, false)?,
        }
    }
    Ok((s.finish(), flops))
}

/// Median milliseconds of one plan submit (warm-up first).
fn time_plan(gpu: &Gpu, plan: &Plan) -> Result<f64> {
    plan.submit(gpu)?;
    gpu.wait()?;
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        times.push(if gpu.has_timestamps() { gpu_ms(gpu, plan)? } else { wall_ms(gpu, plan)? });
    }
    times.sort_by(f64::total_cmp);
    Ok(times[RUNS / 2])
}

fn wall_ms(gpu: &Gpu, plan: &Plan) -> Result<f64> {
    let start = Instant::now();
    plan.submit(gpu)?;
    gpu.wait()?;
    Ok(start.elapsed().as_secs_f64() * 1e3)
}

fn gpu_ms(gpu: &Gpu, plan: &Plan) -> Result<f64> {
    let queries = gpu.device.create_query_set(&wgpu::QuerySetDescriptor {
        label: Some("bench"),
        ty: wgpu::QueryType::Timestamp,
        count: 2,
    });
    let resolved = gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("timestamps"),
        size: 16,
        usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let mut encoder = gpu.device.create_command_encoder(&Default::default());
    plan.encode_timed(&mut encoder, Some(&queries));
    encoder.resolve_query_set(&queries, 0..2, &resolved, 0);
    gpu.queue.submit([encoder.finish()]);
    let bytes = pollster::block_on(gpu.read_bytes(&resolved, 16))?;
    let ticks: &[u64] = bytemuck::cast_slice(&bytes);
    Ok(ticks[1].saturating_sub(ticks[0]) as f64 * gpu.queue.get_timestamp_period() as f64 / 1e6)
}
