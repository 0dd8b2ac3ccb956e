//! Samples from a trained generator: a grid PNG, an NPY for other tools, and a latent-space
//! interpolation strip.
//!
//!     cargo run --release --example sample -- --checkpoint runs/mlp-lsgan/checkpoint.safetensors

use nanogan::gan::config::Config;
use nanogan::gan::sample::{fixed_noise, images, interpolate, sample, View};
use nanogan::io::checkpoint::{self, write_atomic};
use nanogan::io::image::{grid, npy_f32, png_grey};
use nanogan::{Error, Gpu, Result};
use std::path::PathBuf;

const HELP: &str = "\
Sample from a nanogan generator checkpoint (f32 or f16 safetensors, full or generator-only).

USAGE: cargo run --release --example sample -- --checkpoint FILE [OPTIONS]

  --checkpoint FILE  checkpoint written by the train example (required)
  --out DIR          output directory (default: the checkpoint's directory)
  --n N              images in the grid, 10 per row (default 100)
  --npy N            images in samples.npy (float32, (N, 28, 28), in [0, 1]; default 1000, 0: none)
  --steps N          points per interpolation row (default 10; 0: no strip)
  --seed N           noise seed (default 1)
  --mean             for a bgan-discrete generator: each pixel's probability, not binary draws
  --export-f16 FILE  also write the generator alone, half precision (for the web page)
  --help             this text";

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let (mut ckpt, mut out, mut n, mut npy, mut steps, mut seed) = (None, None, 100usize, 1000usize, 10usize, 1u64);
    let mut export: Option<PathBuf> = None;
    let mut mean = false;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| Error::Param(format!("{flag} needs a value (see --help)")));
        let num = |v: String| v.parse::<u64>().map_err(|_| Error::Param(format!("{v}: not a whole number")));
        match flag.as_str() {
            "--help" | "-h" => {
                println!("{HELP}");
                return Ok(());
            }
            "--checkpoint" => ckpt = Some(PathBuf::from(value()?)),
            "--out" => out = Some(PathBuf::from(value()?)),
            "--n" => n = num(value()?)? as usize,
            "--npy" => npy = num(value()?)? as usize,
            "--steps" => steps = num(value()?)? as usize,
            "--seed" => seed = num(value()?)?,
            "--export-f16" => export = Some(PathBuf::from(value()?)),
            "--mean" => mean = true,
            other => return Err(Error::Param(format!("unknown option '{other}' (see --help)"))),
        }
    }
    let path = ckpt.ok_or_else(|| Error::Param("--checkpoint FILE is required (see --help)".into()))?;
    let out = out.unwrap_or_else(|| path.parent().map(PathBuf::from).unwrap_or_default());
    let gpu = Gpu::new_blocking()?;
    eprintln!("adapter: {}", gpu.describe());
    let c = checkpoint::load(&path)?;
    let config = Config::from_checkpoint(&c)?;
    let g = config.generator(&gpu)?;
    // The EMA's weights when the run kept one.
    c.generator_only().restore(&gpu, &g)?;
    eprintln!("generator: {} preset, Z = {}, from {}", config.model.name(), config.z, path.display());
    let view = if mean { View::Mean } else { View::Binary { seed } };
    let draw = |z: &[f32]| -> Result<Vec<f32>> {
        Ok(images(pollster::block_on(sample(&gpu, &g, config.z, z))?, config.loss.head(), view))
    };

    let images = draw(&fixed_noise(seed, n, config.z))?;
    let (w, h, pixels) = grid(&images, 28, 28, 10, 2, 2)?;
    let grid_path = out.join("sample_grid.png");
    write_atomic(&grid_path, &png_grey(w, h, &pixels)?)?;
    eprintln!("wrote {}", grid_path.display());

    if npy > 0 {
        let images = draw(&fixed_noise(seed ^ 0x4E50, npy, config.z))?;
        let unit: Vec<f32> = images.iter().map(|v| (v.clamp(-1.0, 1.0) + 1.0) / 2.0).collect();
        let npy_path = out.join("samples.npy");
        write_atomic(&npy_path, &npy_f32(&[npy, 28, 28], &unit)?)?;
        eprintln!("wrote {} ({npy} images)", npy_path.display());
    }

    if let Some(file) = export {
        let g_only = c.generator_only();
        write_atomic(&file, &g_only.to_bytes(true)?)?;
        eprintln!("wrote {} (generator, f16)", file.display());
    }

    if steps > 0 {
        // Eight rows, each walking in a straight line between two random points of latent space.
        let ends = fixed_noise(seed ^ 0x1E4F, 16, config.z);
        let z: Vec<f32> = (0..8)
            .flat_map(|r| {
                interpolate(
                    &ends[2 * r * config.z..(2 * r + 1) * config.z],
                    &ends[(2 * r + 1) * config.z..(2 * r + 2) * config.z],
                    steps,
                )
            })
            .collect();
        let images = draw(&z)?;
        let (w, h, pixels) = grid(&images, 28, 28, steps, 2, 2)?;
        let strip = out.join("interpolation.png");
        write_atomic(&strip, &png_grey(w, h, &pixels)?)?;
        eprintln!("wrote {}", strip.display());
    }
    Ok(())
}
