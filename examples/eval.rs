//! Scores a generator's samples with nanogan's metrics (FID, KID, IS, KDE, mode coverage), in
//! the feature space of the digit classifier that ships with the crate, and prints them on one
//! line.
//!
//!     cargo run --release --example eval -- --checkpoint runs/mlp-lsgan/checkpoint.safetensors
//!     cargo run --release --example eval -- --npy runs/mlp-lsgan/samples.npy
//!     cargo run --release --example eval -- --real      # the floor: held-out digits
//!
//! Run with `--help` for every option.

use nanogan::gan::config::Config;
use nanogan::gan::sample::{fixed_noise, images, sample, View};
use nanogan::io::checkpoint::{self, write_atomic, Checkpoint};
use nanogan::io::data::{Binarize, Dataset};
use nanogan::io::image::parse_npy;
use nanogan::metrics::features::FeatureNet;
use nanogan::metrics::{Reference, Report, DEFAULT_SAMPLES};
use nanogan::{Error, Gpu, Result};
use std::path::PathBuf;

const HELP: &str = "\
Score generated digits: FID, KID, Inception Score, Parzen-window log-likelihood and modes.

USAGE: cargo run --release --example eval -- (--checkpoint FILE | --npy FILE | --real) [OPTIONS]

  --checkpoint FILE   a checkpoint or generator-only file written by train (its EMA weights
                      when the run kept an average); samples are drawn from fixed noise
  --npy FILE          samples as an NPY array (N, 28, 28) or (N, 784) of float32 in [0, 1]
                      (as train --npy and sample --npy write) or uint8
  --real              score the 2,000 held-out real images instead: the floor a perfect
                      generator would reach at that N
  --n N               samples drawn from a checkpoint (default 2000; compare FIDs at equal N)
  --seed N            noise seed (default 0)
  --data PATH         the real images (MNIST layout directory or images file; default: the
                      bundled 10,000 digits). Cut from the end: 2,000 held out, 500 + 500 for
                      the KDE's test and validation splits, up to 10,000 of the rest for FID/KID
  --binary            threshold the real images at 1/2 (default: when the checkpoint's run
                      binarized its data)
  --classifier FILE   the feature network's weights (default: the ones shipped with nanogan,
                      from `cargo run --release --example classifier`)
  --csv               print a CSV header and row instead of the one-line summary
  --export-f16 FILE   with --checkpoint: also write its generator (the EMA when kept) as f16
                      safetensors with these scores in its metadata (`metrics`), as the web
                      page's pretrained sampler shows them
  --help              this text";

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

enum Source {
    Checkpoint(PathBuf),
    Npy(PathBuf),
    Real,
}

fn run() -> Result<()> {
    let (mut source, mut data, mut weights) = (None, None, None);
    let (mut n, mut seed, mut binary, mut csv) = (DEFAULT_SAMPLES, 0u64, None, false);
    let mut export: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| Error::Param(format!("{flag} needs a value (see --help)")));
        let mut set = |s: Source| match source.replace(s) {
            Some(_) => Err(Error::Param("give one of --checkpoint, --npy and --real".into())),
            None => Ok(()),
        };
        match flag.as_str() {
            "--help" | "-h" => {
                println!("{HELP}");
                return Ok(());
            }
            "--checkpoint" => set(Source::Checkpoint(PathBuf::from(value()?)))?,
            "--npy" => set(Source::Npy(PathBuf::from(value()?)))?,
            "--real" => set(Source::Real)?,
            "--n" => {
                let v = value()?;
                n = v.parse().map_err(|_| Error::Param(format!("--n {v}: not a whole number")))?;
            }
            "--seed" => {
                let v = value()?;
                seed = v.parse().map_err(|_| Error::Param(format!("--seed {v}: not a whole number")))?;
            }
            "--data" => data = Some(PathBuf::from(value()?)),
            "--classifier" => weights = Some(PathBuf::from(value()?)),
            "--binary" => binary = Some(true),
            "--csv" => csv = true,
            "--export-f16" => export = Some(PathBuf::from(value()?)),
            other => return Err(Error::Param(format!("unknown option '{other}' (see --help)"))),
        }
    }
    let source =
        source.ok_or_else(|| Error::Param("give --checkpoint FILE, --npy FILE or --real (see --help)".into()))?;
    if !(2..=50_000).contains(&n) {
        return Err(Error::Param(format!("--n {n}: from 2 to 50,000")));
    }
    if export.is_some() && !matches!(source, Source::Checkpoint(_)) {
        return Err(Error::Param("--export-f16 needs --checkpoint: it writes that checkpoint's generator".into()));
    }
    let gpu = Gpu::new_blocking()?;
    eprintln!("adapter: {}", gpu.describe());
    let net = match &weights {
        Some(path) => FeatureNet::from_checkpoint(&gpu, &checkpoint::load(path)?)?,
        None => FeatureNet::bundled(&gpu)?,
    };
    let ckpt: Option<(Checkpoint, Config)> = match &source {
        Source::Checkpoint(path) => {
            let c = checkpoint::load(path)?;
            let config = Config::from_checkpoint(&c)?;
            Some((c, config))
        }
        _ => None,
    };
    let binary = binary.unwrap_or_else(|| ckpt.as_ref().is_some_and(|(_, c)| c.binarize != Binarize::Off));
    let (dataset, what) = match &data {
        Some(p) => (Dataset::load(p)?, p.display().to_string()),
        None => (Dataset::bundled()?, "the bundled digits".to_string()),
    };
    let reference = pollster::block_on(Reference::from_dataset(&gpu, &net, &dataset, binary, &what))?;
    let mut generator: Option<Checkpoint> = None;
    let (samples, label) = match (&source, ckpt) {
        (Source::Checkpoint(path), Some((c, config))) => {
            generator = Some(c.generator_only());
            let g = config.generator(&gpu)?;
            c.generator_only().restore(&gpu, &g)?;
            let z = fixed_noise(seed ^ 0xE7A1, n, config.z);
            let raw = pollster::block_on(sample(&gpu, &g, config.z, &z))?;
            (images(raw, config.loss.head(), View::Binary { seed }), path.display().to_string())
        }
        (Source::Npy(path), _) => {
            let bytes = std::fs::read(path).map_err(|e| nanogan::error::io_error(path, e))?;
            let (shape, values) = parse_npy(&bytes, &path.display().to_string())?;
            let per_image: usize = shape.iter().skip(1).product();
            if shape.is_empty() || per_image != 784 {
                return Err(Error::Shape(format!(
                    "{}: shape {shape:?}; expected (N, 28, 28) or (N, 784)",
                    path.display()
                )));
            }
            if let Some(v) = values.iter().find(|v| !(0.0..=1.0).contains(*v)) {
                return Err(Error::Format(format!("{}: value {v} outside [0, 1]", path.display())));
            }
            (values.iter().map(|v| v * 2.0 - 1.0).collect(), path.display().to_string())
        }
        _ => (reference.held_out.clone(), format!("held-out real images of {what}")),
    };
    let report = pollster::block_on(reference.evaluate(&gpu, &net, &samples))?;
    if let (Some(file), Some(mut g)) = (&export, generator) {
        g.metadata.insert("metrics".into(), format!("{report} vs {what}"));
        write_atomic(file, &g.to_bytes(true)?)?;
        eprintln!("wrote {} (generator, f16, with its scores)", file.display());
    }
    if csv {
        println!("source,{}\n{label},{}", Report::CSV_HEADER, report.csv_row());
    } else {
        println!("{report}  — {label} vs {what}");
    }
    Ok(())
}
