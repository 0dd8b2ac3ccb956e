//! Soak test: many training iterations in one process, checking that nothing grows. Every
//! `--every` iterations it prints the process's resident memory (which on a software rasteriser
//! also holds the "GPU" buffers) and the bytes of GPU buffers nanogan has created (training must
//! create none; each sample grid and checkpoint read-back in between makes and frees a few);
//! fails on a NaN loss, on any buffer created by training, or when resident memory grows past
//! the warm-up figure by more than `--slack-mib`.
//!
//!     cargo run --release --example soak -- --steps 20000
//!
//! Not run by CI (20,000 mlp iterations take about half an hour on lavapipe, a minute on a GPU).

use nanogan::gan::config::{Config, GanLoss};
use nanogan::gan::presets::Preset;
use nanogan::gan::sample::fixed_noise;
use nanogan::gan::train::Trainer;
use nanogan::io::data::Dataset;
use nanogan::{Error, Gpu, Result};
use std::time::Instant;

const HELP: &str = "\
USAGE: cargo run --release --example soak -- [--model mlp|dcgan] [--loss L] [--steps N] [--every N] [--slack-mib M]

  --steps N       iterations (default 20000)
  --every N       report every N iterations (default 1000)
  --slack-mib M   allowed growth of resident memory after warm-up (default 16)";

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// Resident set size of this process in bytes (Linux), or `None` elsewhere.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn run() -> Result<()> {
    let mut config = Config::for_model(Preset::Mlp);
    let (mut steps, mut every, mut slack) = (20_000u64, 1000u64, 16.0f64);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| Error::Param(format!("{flag} needs a value")));
        let num = |v: String| v.parse::<f64>().map_err(|_| Error::Param(format!("{v}: not a number")));
        match flag.as_str() {
            "--model" => config = Config { loss: config.loss, ..Config::for_model(Preset::parse(&value()?)?) },
            "--loss" => config.loss = GanLoss::parse(&value()?)?,
            "--steps" => steps = num(value()?)? as u64,
            "--every" => every = (num(value()?)? as u64).max(1),
            "--slack-mib" => slack = num(value()?)?,
            "--help" | "-h" => {
                println!("{HELP}");
                return Ok(());
            }
            other => return Err(Error::Param(format!("unknown option '{other}'\n{HELP}"))),
        }
    }
    config.binarize = config.loss.default_binarize();
    config.log_every = every.min(100) as usize;
    let gpu = Gpu::new_blocking()?;
    eprintln!("adapter: {}", gpu.describe());
    let mut trainer = Trainer::new(&gpu, config.clone(), &Dataset::bundled()?)?;
    println!(
        "soak: {} {} batch {}, {steps} iterations on {}",
        config.model.name(),
        config.loss.name(),
        config.batch,
        gpu.info.name
    );
    println!(
        "{:>8} {:>10} {:>10} {:>14} {:>10} {:>10}",
        "step", "D loss", "G loss", "trainer MiB", "RSS MiB", "steps/s"
    );
    let noise = fixed_noise(0, 16, config.z);
    let start = Instant::now();
    let held = gpu.allocated_bytes();
    let mut first_rss: Option<u64> = None;
    let mut worst = 0.0f64;
    while trainer.step < steps {
        let chunk = every.min(steps - trainer.step);
        let before = gpu.allocated_bytes();
        pollster::block_on(trainer.train(&gpu, chunk, |_| {}))?;
        if gpu.allocated_bytes() != before {
            return Err(Error::Param(format!(
                "training created GPU buffers: {} bytes more after step {}",
                gpu.allocated_bytes() - before,
                trainer.step
            )));
        }
        // Sampling and checkpoints allocate and free host and GPU memory: exercise them too.
        pollster::block_on(trainer.sample(&gpu, &noise))?;
        pollster::block_on(trainer.checkpoint(&gpu))?.to_bytes(false)?;
        let rss = resident_bytes().unwrap_or(0);
        let last = trainer.log.last().copied().ok_or_else(|| Error::Param("no losses were logged".into()))?;
        println!(
            "{:>8} {:>10.4} {:>10.4} {:>14.1} {:>10.1} {:>10.2}",
            trainer.step,
            last.d_loss,
            last.g_loss,
            mib(held),
            mib(rss),
            trainer.step as f64 / start.elapsed().as_secs_f64()
        );
        // The first report is the warm-up: pipelines, workspaces and allocator pools settle.
        let r0 = *first_rss.get_or_insert(rss);
        worst = worst.max(mib(rss) - mib(r0));
        if mib(rss) - mib(r0) > slack {
            return Err(Error::Param(format!("resident memory grew by {:.1} MiB since warm-up", mib(rss) - mib(r0))));
        }
    }
    println!(
        "soak passed: {} iterations in {:.0} s, no NaN, the trainer's {:.1} MiB of GPU buffers unchanged (training created none), resident memory {:.1} MiB after the first {every} iterations and {:.1} MiB at the end (largest growth {worst:.1} MiB)",
        trainer.step,
        start.elapsed().as_secs_f64(),
        mib(held),
        mib(first_rss.unwrap_or(0)),
        mib(resident_bytes().unwrap_or(0))
    );
    Ok(())
}
