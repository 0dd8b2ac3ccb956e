//! Trains a GAN on MNIST-format digits and writes sample grids, checkpoints and a loss log.
//!
//!     cargo run --release --example train -- --model dcgan --loss lsgan --steps 5000 --out runs/lsgan
//!
//! Run with `--help` for every option.

use nanogan::gan::config::{Config, GanLoss, DEFAULT_BGAN_SAMPLES};
use nanogan::gan::presets::Preset;
use nanogan::gan::train::{fixed_noise, LogEntry, Trainer};
use nanogan::io::checkpoint::{self, write_atomic};
use nanogan::io::data::{Binarize, Dataset};
use nanogan::io::image::{grid, npy_f32, png_grey};
use nanogan::{Error, Gpu, Init, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

const HELP: &str = "\
Train a GAN on MNIST-format images with nanogan.

USAGE: cargo run --release --example train -- [OPTIONS]

  --model mlp|dcgan     model pair (default mlp)
  --loss lsgan|bgan|gan|mmgan|bgan-discrete
                        GAN objective (default lsgan); gan is the non-saturating form,
                        mmgan the original minimax one (its G gradient vanishes early);
                        bgan-discrete learns binary images with a Bernoulli generator
  --bgan-samples M      bgan-discrete: binary samples per noise vector (default 20)
  --binarize threshold|stochastic|off
                        binary real images: pixel >= 128, or +1 with probability
                        pixel/255 drawn afresh each batch (default threshold for
                        bgan-discrete, off otherwise)
  --a A --b B --c C     LSGAN codes (default 0 1 1; also try -1 1 0)
  --steps N             iterations (default 3000)
  --batch N             batch size (default 64)
  --z N                 latent size (default 100)
  --lr LR               learning rate of both D and G (default 2e-4)
  --lr-d LR, --lr-g LR  separate learning rates (TTUR)
  --beta1 B --beta2 B   Adam betas (default 0.5 0.999)
  --d-steps K           discriminator steps per generator step (default 1)
  --init torch|dcgan    initialisation (default: torch for mlp, dcgan for dcgan)
  --seed N              seed of initialisation, noise and batches (default 0)
  --data PATH           directory with train-images-idx3-ubyte[.gz] (MNIST or Fashion-MNIST
                        layout) or an images file (default: the bundled 10,000 digits)
  --out DIR             output directory (default runs/<model>-<loss>)
  --sample-every N      write a sample grid every N iterations (default 500; 0: only at the end)
  --checkpoint-every N  write out/checkpoint.safetensors every N iterations (default 1000)
  --log-every N         read losses back every N iterations (default 10)
  --resume FILE         continue from a checkpoint (its config wins over the options above)
  --npy N               also write N samples to out/samples.npy (float32, (N, 28, 28), in [0, 1])
  --f16                 also write out/generator-f16.safetensors (half-precision weights)
  --quiet               no progress bar
  --help                this text

Environment: NANOGAN_ADAPTER=<name substring> picks the GPU adapter.";

struct Args {
    config: Config,
    steps: u64,
    data: Option<PathBuf>,
    out: Option<PathBuf>,
    sample_every: u64,
    checkpoint_every: u64,
    resume: Option<PathBuf>,
    npy: usize,
    f16: bool,
    quiet: bool,
}

fn parse_args() -> Result<Option<Args>> {
    let mut a = Args {
        config: Config::default(),
        steps: 3000,
        data: None,
        out: None,
        sample_every: 500,
        checkpoint_every: 1000,
        resume: None,
        npy: 0,
        f16: false,
        quiet: false,
    };
    let mut init: Option<Init> = None;
    let (mut la, mut lb, mut lc) = (0.0f32, 1.0f32, 1.0f32);
    let mut loss = "lsgan".to_string();
    let (mut binarize, mut samples) = (None, DEFAULT_BGAN_SAMPLES);
    // Options that belong to one loss, so one given with another is refused, not ignored.
    let mut loss_options: Vec<(String, &str)> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| Error::Param(format!("{flag} needs a value (see --help)")));
        fn num<T: std::str::FromStr>(flag: &str, v: String) -> Result<T> {
            v.parse().map_err(|_| Error::Param(format!("{flag} {v}: not a valid number")))
        }
        match flag.as_str() {
            "--a" | "--b" | "--c" => loss_options.push((flag.clone(), "lsgan")),
            "--bgan-samples" => loss_options.push((flag.clone(), "bgan-discrete")),
            _ => {}
        }
        match flag.as_str() {
            "--help" | "-h" => {
                println!("{HELP}");
                return Ok(None);
            }
            "--model" => a.config.model = Preset::parse(&value()?)?,
            "--loss" => loss = value()?,
            "--a" => la = num(&flag, value()?)?,
            "--b" => lb = num(&flag, value()?)?,
            "--c" => lc = num(&flag, value()?)?,
            "--bgan-samples" => samples = num(&flag, value()?)?,
            "--binarize" => binarize = Some(Binarize::parse(&value()?)?),
            "--steps" => a.steps = num(&flag, value()?)?,
            "--batch" => a.config.batch = num(&flag, value()?)?,
            "--z" => a.config.z = num(&flag, value()?)?,
            "--lr" => {
                let lr: f32 = num(&flag, value()?)?;
                a.config.lr_d = lr;
                a.config.lr_g = lr;
            }
            "--lr-d" => a.config.lr_d = num(&flag, value()?)?,
            "--lr-g" => a.config.lr_g = num(&flag, value()?)?,
            "--beta1" => a.config.beta1 = num(&flag, value()?)?,
            "--beta2" => a.config.beta2 = num(&flag, value()?)?,
            "--d-steps" => a.config.d_steps = num(&flag, value()?)?,
            "--init" => {
                init = Some(match value()?.as_str() {
                    "torch" => Init::Torch,
                    "dcgan" => Init::Dcgan,
                    other => return Err(Error::Param(format!("--init {other}: expected torch or dcgan"))),
                })
            }
            "--seed" => a.config.seed = num(&flag, value()?)?,
            "--data" => a.data = Some(PathBuf::from(value()?)),
            "--out" => a.out = Some(PathBuf::from(value()?)),
            "--sample-every" => a.sample_every = num(&flag, value()?)?,
            "--checkpoint-every" => a.checkpoint_every = num(&flag, value()?)?,
            "--log-every" => a.config.log_every = num(&flag, value()?)?,
            "--resume" => a.resume = Some(PathBuf::from(value()?)),
            "--npy" => a.npy = num(&flag, value()?)?,
            "--f16" => a.f16 = true,
            "--quiet" => a.quiet = true,
            other => return Err(Error::Param(format!("unknown option '{other}' (see --help)"))),
        }
    }
    let parsed = GanLoss::parse(&loss)?;
    if let Some((flag, owner)) = loss_options.iter().find(|(_, owner)| *owner != parsed.name()) {
        return Err(Error::Param(format!(
            "{flag} applies only to --loss {owner}, and this run's loss is {}; drop it or change --loss",
            parsed.name()
        )));
    }
    a.config.loss = match parsed {
        GanLoss::Lsgan { .. } => GanLoss::Lsgan { a: la, b: lb, c: lc },
        GanLoss::BganDiscrete { .. } => GanLoss::BganDiscrete { samples },
        other => other,
    };
    a.config.binarize = binarize.unwrap_or(a.config.loss.default_binarize());
    a.config.init = init.unwrap_or(a.config.model.default_init());
    a.config.validate()?;
    Ok(Some(a))
}

fn main() {
    match parse_args().and_then(|a| a.map(run).unwrap_or(Ok(()))) {
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
    eprint!("{}", trainer.g.summary(config.batch)?);
    eprint!("{}", trainer.d.summary(config.batch)?);

    let noise = fixed_noise(config.seed, 100, config.z);
    let target = trainer.step + args.steps;
    let start = Instant::now();
    let first_step = trainer.step;
    let csv = out.join("losses.csv");
    if trainer.step == 0 {
        std::fs::write(&csv, "step,d_loss,g_loss\n").map_err(|e| nanogan::error::io_error(&csv, e))?;
    }
    while trainer.step < target {
        trainer.submit_iteration(&gpu)?;
        let end = trainer.step == target;
        if trainer.log_due() || end {
            let entries = pollster::block_on(trainer.read_losses(&gpu))?;
            append_losses(&csv, &entries)?;
            if let (Some(last), false) = (entries.last(), args.quiet) {
                progress(trainer.step - first_step, args.steps, start, last.d_loss, last.g_loss);
            }
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
    let last = trainer.log.last().copied();
    eprintln!(
        "done: {} iterations in {:.1} s ({:.2} steps/s) on {}; final D loss {:.4}, G loss {:.4}",
        trainer.step - first_step,
        seconds,
        (trainer.step - first_step) as f64 / seconds.max(1e-9),
        gpu.info.name,
        last.map_or(f32::NAN, |l| l.d_loss),
        last.map_or(f32::NAN, |l| l.g_loss)
    );
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
        let mut g_only = c.clone();
        g_only.tensors.retain(|name, _| name.starts_with("generator."));
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

fn progress(done: u64, total: u64, start: Instant, d: f32, g: f32) {
    let width = 30;
    let filled = (done as usize * width) / total.max(1) as usize;
    let rate = done as f64 / start.elapsed().as_secs_f64().max(1e-9);
    let eta = (total - done) as f64 / rate.max(1e-9);
    eprint!(
        "\r[{}{}] {done}/{total}  {rate:.2} steps/s  D {d:.4}  G {g:.4}  ETA {:.0} s   ",
        "#".repeat(filled),
        ".".repeat(width - filled),
        eta
    );
    let _ = std::io::stderr().flush();
}
