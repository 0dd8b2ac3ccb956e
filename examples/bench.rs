//! Kernel benchmarks at the GAN shapes: time per dispatch and GFLOP/s, with the adapter on every
//! line. GPU time comes from timestamp queries where the adapter has them, wall clock otherwise.
//!
//!     cargo run --release --example bench            # all kernels
//!     cargo run --release --example bench -- matmul  # only cases whose name contains "matmul"

use nanogan::conv2d::Conv2d;
use nanogan::conv_transpose2d::ConvTranspose2d;
use nanogan::linear::{gemm, gemm_naive, GemmParams, NO_BIAS};
use nanogan::{wgpu, ArenaBuilder, Gpu, Init, InitRng, Plan, Result, Step, Tensor};
use std::time::Instant;

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
    let filter = std::env::args().nth(1).unwrap_or_default();
    let gpu = Gpu::new_blocking()?;
    let adapter = format!("{} [{:?}]", gpu.info.name, gpu.info.backend);
    eprintln!("adapter: {} ({})", gpu.describe(), if gpu.has_timestamps() { "timestamps" } else { "wall clock" });
    let n = 64;
    for case in cases() {
        if !case.name.contains(&filter) {
            continue;
        }
        let (plan, flops) = (case.build)(&gpu, n)?;
        let ms = time_plan(&gpu, &plan)? / REPS as f64;
        println!(
            "{:<34} {:>9.3} ms {:>8.2} GFLOP/s  batch {n}  {}  on {adapter}",
            case.name,
            ms,
            flops / (ms * 1e6),
            case.sizes
        );
    }
    Ok(())
}

struct Case {
    name: &'static str,
    sizes: &'static str,
    /// Records REPS dispatches of the kernel; returns the plan and FLOPs per dispatch.
    build: fn(&Gpu, usize) -> Result<(Plan, f64)>,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "matmul fwd (x·Wᵀ) blocked 4×4",
            sizes: "64×784 · 784×1024",
            build: |g, n| matmul(g, n, 0, false),
        },
        Case { name: "matmul fwd (x·Wᵀ) naive", sizes: "64×784 · 784×1024", build: |g, n| matmul(g, n, 0, true) },
        Case {
            name: "matmul bwd_x (dy·W) blocked 4×4",
            sizes: "64×1024 · 1024×784",
            build: |g, n| matmul(g, n, 1, false),
        },
        Case {
            name: "matmul bwd_x (dy·W) naive", sizes: "64×1024 · 1024×784", build: |g, n| matmul(g, n, 1, true)
        },
        Case {
            name: "matmul bwd_w (dyᵀ·x) blocked 4×4",
            sizes: "1024×64 · 64×784",
            build: |g, n| matmul(g, n, 2, false),
        },
        Case {
            name: "matmul bwd_w (dyᵀ·x) naive", sizes: "1024×64 · 64×784", build: |g, n| matmul(g, n, 2, true)
        },
        Case { name: "conv2d 1→64 fwd", sizes: "k4 s2 p1 28×28→14×14", build: |g, n| conv(g, n, 1, 64, 28, 0) },
        Case { name: "conv2d 1→64 bwd_w", sizes: "k4 s2 p1 28×28→14×14", build: |g, n| conv(g, n, 1, 64, 28, 2) },
        Case { name: "conv2d 64→128 fwd", sizes: "k4 s2 p1 14×14→7×7", build: |g, n| conv(g, n, 64, 128, 14, 0) },
        Case {
            name: "conv2d 64→128 bwd_x", sizes: "k4 s2 p1 14×14→7×7", build: |g, n| conv(g, n, 64, 128, 14, 1)
        },
        Case {
            name: "conv2d 64→128 bwd_w", sizes: "k4 s2 p1 14×14→7×7", build: |g, n| conv(g, n, 64, 128, 14, 2)
        },
        Case {
            name: "conv_transpose2d 128→64 fwd",
            sizes: "k4 s2 p1 7×7→14×14",
            build: |g, n| convt(g, n, 128, 64, 7, 0),
        },
        Case {
            name: "conv_transpose2d 128→64 bwd_x",
            sizes: "k4 s2 p1 7×7→14×14",
            build: |g, n| convt(g, n, 128, 64, 7, 1),
        },
        Case {
            name: "conv_transpose2d 128→64 bwd_w",
            sizes: "k4 s2 p1 7×7→14×14",
            build: |g, n| convt(g, n, 128, 64, 7, 2),
        },
        Case {
            name: "conv_transpose2d 64→1 fwd",
            sizes: "k4 s2 p1 14×14→28×28",
            build: |g, n| convt(g, n, 64, 1, 14, 0),
        },
        Case {
            name: "conv_transpose2d 64→1 bwd_x",
            sizes: "k4 s2 p1 14×14→28×28",
            build: |g, n| convt(g, n, 64, 1, 14, 1),
        },
        Case {
            name: "conv_transpose2d 64→1 bwd_w",
            sizes: "k4 s2 p1 14×14→28×28",
            build: |g, n| convt(g, n, 64, 1, 14, 2),
        },
    ]
}

/// Which product: 0 forward, 1 input gradient, 2 weight gradient.
fn matmul(gpu: &Gpu, n: usize, which: usize, naive: bool) -> Result<(Plan, f64)> {
    let (i, o) = (784usize, 1024usize);
    let x = Tensor::zeros(gpu, &[n, i])?;
    let w = Tensor::zeros(gpu, &[o, i])?;
    let y = Tensor::zeros(gpu, &[n, o])?;
    let (n, i, o) = (n as u32, i as u32, o as u32);
    let base = GemmParams {
        m: 0,
        n: 0,
        k: 0,
        accumulate: 0,
        a_off: 0,
        a_ms: 0,
        a_ks: 0,
        b_off: 0,
        b_ks: 0,
        b_ns: 0,
        c_off: 0,
        c_ms: 0,
        bias_off: NO_BIAS,
        _pad: [0; 3],
    };
    let (p, c, a, b) = match which {
        0 => (GemmParams { m: n, n: o, k: i, a_ms: i, a_ks: 1, b_ks: 1, b_ns: i, c_ms: o, ..base }, &y, &x, &w),
        1 => (GemmParams { m: n, n: i, k: o, a_ms: o, a_ks: 1, b_ks: i, b_ns: 1, c_ms: i, ..base }, &x, &y, &w),
        _ => (
            GemmParams { m: o, n: i, k: n, accumulate: 1, a_ms: 1, a_ks: o, b_ks: i, b_ns: 1, c_ms: i, ..base },
            &w,
            &y,
            &x,
        ),
    };
    let mut s = Step::new(gpu);
    for _ in 0..REPS {
        if naive {
            gemm_naive(&mut s, &p, &c.buf, &a.buf, &b.buf, &b.buf)?;
        } else {
            gemm(&mut s, &p, &c.buf, &a.buf, &b.buf, &b.buf)?;
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
