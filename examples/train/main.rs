//! Trains a GAN on MNIST-format digits and writes sample grids, checkpoints and a loss log.
//!
//!     cargo run --release --example train -- --model dcgan --loss lsgan --steps 5000 --out runs/lsgan
//!
//! Run with `--help` for every option.

mod args;

use args::{parse_args, Args};
use nanogan::gan::sample::fixed_noise;
use nanogan::gan::train::{LogEntry, Trainer};
use nanogan::io::checkpoint::{self, write_atomic};
use nanogan::io::csv_log::forget_after;
use nanogan::io::data::Dataset;
use nanogan::io::image::{grid, npy_f32, png_grey};
use nanogan::metrics::features::FeatureNet;
use nanogan::metrics::{Reference, Report};
use nanogan::{Gpu, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn main() {
    match parse_args(std::env::args().skip(1)).and_then(|a| a.map(run).unwrap_or(Ok(()))) {
        Ok(()) => {}
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}

fn run(args: Args) -> Result<()> {
    let gpu = Gpu::new_blocking()?;
    eprintln!("adapter: {}", gpu.describe());
    let dataset = match &args.data {
        Some(p) => Dataset::load(p)?,
        None => Dataset::bundled()?,
    };
    let source = args.data.as_ref().map_or("bundled MNIST digits".to_string(), |p| p.display().to_string());
    eprintln!("data: {} images of {}×{} from {source}", dataset.n, dataset.h, dataset.w);
    let mut trainer = match &args.resume {
        Some(path) => {
            let t = Trainer::resume(&gpu, &checkpoint::load(path)?, &dataset)?;
            eprintln!("resumed from {} at step {}", path.display(), t.step);
            t
        }
        None => Trainer::new(&gpu, args.config.clone(), &dataset)?,
    };
    let config = trainer.config.clone();
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("runs/{}-{}", config.model.name(), config.loss.name())));
    std::fs::create_dir_all(&out).map_err(|e| nanogan::error::io_error(&out, e))?;
    eprintln!("config: {}", config.to_text());
    if config.sgd_momentum.is_none() && config.optimism() != 0.0 {
        eprintln!("optimiser: optimistic Adam, optimism {} (both models)", config.optimism());
    }
    eprint!("{}", trainer.g.summary(config.batch)?);
    eprint!("{}", trainer.d.summary(config.batch)?);

    let noise = fixed_noise(config.seed, 100, config.z);
    // The metrics' classifier and real-data statistics, computed once.
    let eval = match args.eval_every {
        0 => None,
        _ => {
            let net = match &args.classifier {
                Some(path) => FeatureNet::from_checkpoint(&gpu, &checkpoint::load(path)?)?,
                None => FeatureNet::bundled(&gpu)?,
            };
            let binary = config.binarize != nanogan::io::data::Binarize::Off;
            let reference = pollster::block_on(Reference::from_dataset(&gpu, &net, &dataset, binary, &source))?;
            let path = out.join("metrics.csv");
            if trainer.step == 0 || !path.exists() {
                write_atomic(&path, format!("step,{}\n", Report::CSV_HEADER).as_bytes())?;
            } else {
                forget_after(&path, trainer.step)?;
            }
            Some(Eval { net, reference, path, samples: args.eval_samples, last: None })
        }
    };
    let mut eval = eval;
    let target = trainer.step + args.steps;
    let start = Instant::now();
    let first_step = trainer.step;
    let csv = out.join("losses.csv");
    if trainer.step == 0 {
        std::fs::write(&csv, "step,d_loss,g_loss\n").map_err(|e| nanogan::error::io_error(&csv, e))?;
    } else {
        // A run that died after its last checkpoint logged steps the resumed run will redo.
        forget_after(&csv, trainer.step)?;
    }
    while trainer.step < target {
        trainer.submit_iteration(&gpu)?;
        let end = trainer.step == target;
        if trainer.log_due() || end {
            let entries = pollster::block_on(trainer.read_losses(&gpu))?;
            append_losses(&csv, &entries)?;
            if let (Some(last), false) = (entries.last(), args.quiet) {
                let scores = eval.as_ref().and_then(|e| e.last.as_ref()).map(Report::short).unwrap_or_default();
                progress(trainer.step - first_step, args.steps, start, last.d_loss, last.g_loss, &scores);
            }
        }
        if let Some(e) = eval.as_mut().filter(|_| trainer.step % args.eval_every == 0 || end) {
            e.run(&gpu, &trainer)?;
        }
        if args.sample_every > 0 && trainer.step % args.sample_every == 0 && !end {
            write_grid(&gpu, &trainer, &noise, &out.join(format!("samples_{:06}.png", trainer.step)))?;
        }
        if args.checkpoint_every > 0 && trainer.step % args.checkpoint_every == 0 && !end {
            // Losses are read (and checked finite) before a checkpoint is written.
            let entries = pollster::block_on(trainer.read_losses(&gpu))?;
            append_losses(&csv, &entries)?;
            save(&gpu, &trainer, &out, false)?;
        }
    }
    if !args.quiet {
        eprintln!();
    }
    let seconds = start.elapsed().as_secs_f64();
    save(&gpu, &trainer, &out, args.f16)?;
    let grid_path = out.join("samples.png");
    write_grid(&gpu, &trainer, &noise, &grid_path)?;
    if args.npy > 0 {
        let z = fixed_noise(config.seed ^ 0x4E50, args.npy, config.z);
        let images = pollster::block_on(trainer.sample(&gpu, &z))?;
        let unit: Vec<f32> = images.iter().map(|v| (v.clamp(-1.0, 1.0) + 1.0) / 2.0).collect();
        write_atomic(&out.join("samples.npy"), &npy_f32(&[args.npy, 28, 28], &unit)?)?;
    }
    let last = match trainer.log.last() {
        Some(l) => format!("final D loss {:.4}, G loss {:.4}", l.d_loss, l.g_loss),
        None => "no losses yet".into(),
    };
    eprintln!(
        "done: {} iterations in {:.1} s ({:.2} steps/s) on {}; {last}",
        trainer.step - first_step,
        seconds,
        (trainer.step - first_step) as f64 / seconds.max(1e-9),
        gpu.info.name,
    );
    if let Some(report) = eval.as_ref().and_then(|e| e.last.as_ref()) {
        eprintln!("metrics at step {}: {report}", trainer.step);
    }
    eprintln!("samples: {}\ncheckpoint: {}", grid_path.display(), out.join("checkpoint.safetensors").display());
    Ok(())
}

fn write_grid(gpu: &Gpu, trainer: &Trainer, noise: &[f32], path: &Path) -> Result<()> {
    let images = pollster::block_on(trainer.sample(gpu, noise))?;
    let (w, h, pixels) = grid(&images, 28, 28, 10, 2, 2)?;
    write_atomic(path, &png_grey(w, h, &pixels)?)
}

fn save(gpu: &Gpu, trainer: &Trainer, out: &Path, f16: bool) -> Result<()> {
    let c = pollster::block_on(trainer.checkpoint(gpu))?;
    write_atomic(&out.join("checkpoint.safetensors"), &c.to_bytes(false)?)?;
    if f16 {
        let g_only = c.generator_only();
        write_atomic(&out.join("generator-f16.safetensors"), &g_only.to_bytes(true)?)?;
    }
    Ok(())
}

fn append_losses(path: &Path, entries: &[LogEntry]) -> Result<()> {
    let text: String = entries.iter().map(|e| format!("{},{},{}\n", e.step, e.d_loss, e.g_loss)).collect();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| nanogan::error::io_error(path, e))?;
    f.write_all(text.as_bytes()).map_err(|e| nanogan::error::io_error(path, e))
}

/// What `--eval-every` keeps between evaluations.
struct Eval {
    net: FeatureNet,
    reference: Reference,
    path: PathBuf,
    samples: usize,
    last: Option<Report>,
}

impl Eval {
    /// Scores samples of fixed noise (the same at every evaluation) and appends them to metrics.csv.
    fn run(&mut self, gpu: &Gpu, trainer: &Trainer) -> Result<()> {
        let z = fixed_noise(trainer.config.seed ^ 0xE7A1, self.samples, trainer.config.z);
        let images = pollster::block_on(trainer.sample(gpu, &z))?;
        let report = pollster::block_on(self.reference.evaluate(gpu, &self.net, &images))?;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(|e| nanogan::error::io_error(&self.path, e))?;
        writeln!(f, "{},{}", trainer.step, report.csv_row()).map_err(|e| nanogan::error::io_error(&self.path, e))?;
        self.last = Some(report);
        Ok(())
    }
}

fn progress(done: u64, total: u64, start: Instant, d: f32, g: f32, scores: &str) {
    let width = 30;
    let filled = (done as usize * width) / total.max(1) as usize;
    let rate = done as f64 / start.elapsed().as_secs_f64().max(1e-9);
    let eta = (total - done) as f64 / rate.max(1e-9);
    eprint!(
        "\r[{}{}] {done}/{total}  {rate:.2} steps/s  D {d:.4}  G {g:.4}  {scores}  ETA {:.0} s   ",
        "#".repeat(filled),
        ".".repeat(width - filled),
        eta
    );
    let _ = std::io::stderr().flush();
}
