//! Trains a small LeNet-style digit classifier with nanogan's own layers (convolutions, max
//! pooling, softmax cross-entropy, Adam, all in WGSL), reports its test accuracy and writes its
//! weights as f16 safetensors: the feature network that sample-quality metrics are built on.
//!
//!     cargo run --release --example classifier                      # bundled digits: 8,000 train, 2,000 test
//!     cargo run --release --example classifier -- --data DIR        # MNIST layout; DIR's t10k files are the test set
//!
//! Run with `--help` for every option.

use nanogan::cpu::random::InitRng;
use nanogan::gan::loss::record_softmax_xent;
use nanogan::io::checkpoint::{write_atomic, Checkpoint};
use nanogan::io::data::{read_idx, Dataset};
use nanogan::metrics::features::classifier;
use nanogan::nn::adam::{zero_grad, Adam};
use nanogan::nn::model::Sequential;
use nanogan::{Error, Gpu, Result, Step, Tensor};
use std::path::{Path, PathBuf};
use std::time::Instant;

const HELP: &str = "\
Train nanogan's digit classifier (LeNet-style) and report its test accuracy.

USAGE: cargo run --release --example classifier -- [OPTIONS]

  --data DIR     MNIST-format directory: trains on train-images/-labels and tests on
                 t10k-images/-labels when present (default: the bundled 10,000 digits,
                 the last 2,000 held out for testing)
  --epochs N     passes over the training images (default 20; the learning rate halves
                 for each quarter of them after the first half)
  --batch N      batch size (default 64)
  --lr LR        Adam learning rate (default 1e-3)
  --shift N      move each training image by up to N pixels along each axis, a fresh
                 random shift every time it is drawn (default 2; 0 turns it off)
  --seed N       initialisation and shuffling seed (default 0)
  --out FILE     f16 safetensors of the weights (default runs/classifier/classifier-f16.safetensors)
  --help         this text";

/// The bundled digits keep their last 2,000 for testing.
const BUNDLED_TEST: usize = 2000;

struct Split {
    images: Vec<u8>,
    labels: Vec<u8>,
}

impl Split {
    fn len(&self) -> usize {
        self.labels.len()
    }
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let (mut data, mut out): (Option<PathBuf>, Option<PathBuf>) = (None, None);
    let (mut epochs, mut batch, mut lr, mut seed, mut shift) = (20usize, 64usize, 1e-3f32, 0u64, 2usize);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| Error::Param(format!("{flag} needs a value (see --help)")));
        fn num<T: std::str::FromStr>(flag: &str, v: String) -> Result<T> {
            v.parse().map_err(|_| Error::Param(format!("{flag} {v}: not a valid number")))
        }
        match flag.as_str() {
            "--help" | "-h" => {
                println!("{HELP}");
                return Ok(());
            }
            "--data" => data = Some(PathBuf::from(value()?)),
            "--out" => out = Some(PathBuf::from(value()?)),
            "--epochs" => epochs = num(&flag, value()?)?,
            "--batch" => batch = num(&flag, value()?)?,
            "--lr" => lr = num(&flag, value()?)?,
            "--seed" => seed = num(&flag, value()?)?,
            "--shift" => shift = num(&flag, value()?)?,
            other => return Err(Error::Param(format!("unknown option '{other}' (see --help)"))),
        }
    }
    if batch == 0 || epochs == 0 {
        return Err(Error::Param("--batch and --epochs must be positive".into()));
    }
    if shift > 8 {
        return Err(Error::Param(format!("--shift {shift}: at most 8 pixels, or the digit leaves the picture")));
    }
    let (train, test, source) = load(data.as_deref())?;
    let gpu = Gpu::new_blocking()?;
    eprintln!("adapter: {}", gpu.describe());
    eprintln!("data: {} training and {} test images from {source}", train.len(), test.len());
    let net = classifier(&gpu, seed)?;
    eprint!("{}", net.summary(batch)?);

    // One recorded step, replayed after the host writes each batch; recorded again when the
    // learning rate changes (it is part of the step's uniforms).
    let acts = net.activations(&gpu, batch, Default::default())?;
    let labels = Tensor::zeros(&gpu, &[batch])?;
    let losses = gpu.storage("losses", 4)?;
    let record = |lr: f32| {
        let adam = Adam::new(lr, 0.9, 0.999, 1e-8)?;
        gpu.record_settled(|| {
            let mut s = Step::new(&gpu);
            zero_grad(&mut s, &net.arena);
            net.forward(&mut s, &acts, true, 0)?;
            record_softmax_xent(&mut s, acts.output_grad()?, &losses, 0, false, acts.output(), &labels)?;
            net.backward(&mut s, &acts, false, false)?;
            adam.step(&mut s, &net.arena)?;
            Ok(s.finish())
        })
    };

    let start = Instant::now();
    let mut rng = InitRng::new(seed ^ 0xC1A5);
    let steps_per_epoch = train.len() / batch;
    for epoch in 1..=epochs {
        // Full rate for the first half, then halved at each further quarter.
        let decay = (4 * (epoch - 1) / epochs).saturating_sub(1) as i32;
        let plan = record(lr * 0.5f32.powi(decay))?;
        let order = shuffled(train.len(), &mut rng);
        let mut loss_sum = 0.0;
        for step in 0..steps_per_epoch {
            let idx = &order[step * batch..(step + 1) * batch];
            let shifts = if shift > 0 { rng.uniform(0.0, 1.0, 2 * batch) } else { Vec::new() };
            acts.input().write(&gpu, &shifted_pixels(&train, idx, shift, &shifts))?;
            labels.write(&gpu, &idx.iter().map(|&i| train.labels[i] as f32).collect::<Vec<_>>())?;
            plan.submit(&gpu)?;
            // A read-back every 25 steps keeps the loss visible without waiting on every step.
            if step % 25 == 24 || step + 1 == steps_per_epoch {
                let l = gpu.read_f32_blocking(&losses, 1)?[0];
                if !l.is_finite() {
                    return Err(Error::NonFinite(format!("classifier loss {l} in epoch {epoch}, step {step}")));
                }
                loss_sum = l;
                eprint!("\repoch {epoch}/{epochs}  step {:>4}/{steps_per_epoch}  loss {l:.4}   ", step + 1);
            }
        }
        let accuracy = evaluate(&gpu, &net, &test, batch)?;
        eprintln!(
            "\repoch {epoch}/{epochs}  loss {loss_sum:.4}  test accuracy {:.2}%  ({:.0} s)          ",
            100.0 * accuracy,
            start.elapsed().as_secs_f64()
        );
    }
    let accuracy = evaluate(&gpu, &net, &test, batch)?;
    println!(
        "classifier: test accuracy {:.2}% on {} images ({source}) after {epochs} epochs, {:.0} s on {}",
        100.0 * accuracy,
        test.len(),
        start.elapsed().as_secs_f64(),
        gpu.info.name
    );
    let out = out.unwrap_or_else(|| PathBuf::from("runs/classifier/classifier-f16.safetensors"));
    let mut c = Checkpoint::default();
    pollster::block_on(c.capture(&gpu, &net, false))?;
    c.metadata.insert("model".into(), "classifier: LeNet-style, examples/classifier.rs".into());
    c.metadata.insert("test_accuracy".into(), format!("{accuracy:.4}"));
    c.metadata.insert("test_set".into(), format!("{} images of {source}", test.len()));
    write_atomic(&out, &c.to_bytes(true)?)?;
    eprintln!("weights: {}", out.display());
    Ok(())
}

/// Training and test splits and a description of where they came from.
fn load(dir: Option<&Path>) -> Result<(Split, Split, String)> {
    let split = |ds: Dataset, what: &str| -> Result<Split> {
        let labels =
            ds.labels.ok_or_else(|| Error::Format(format!("{what}: no labels file found beside the images")))?;
        if (ds.h, ds.w) != (28, 28) {
            return Err(Error::Shape(format!("{what}: the classifier needs 28×28 images, not {}×{}", ds.h, ds.w)));
        }
        if let Some(bad) = labels.iter().find(|&&l| l > 9) {
            return Err(Error::Format(format!("{what}: label {bad} is not a digit class 0-9")));
        }
        Ok(Split { images: ds.images, labels })
    };
    match dir {
        None => {
            let all = split(Dataset::bundled()?, "bundled digits")?;
            let cut = all.len() - BUNDLED_TEST;
            let train = Split { images: all.images[..cut * 784].to_vec(), labels: all.labels[..cut].to_vec() };
            let test = Split { images: all.images[cut * 784..].to_vec(), labels: all.labels[cut..].to_vec() };
            Ok((train, test, "the bundled digits".into()))
        }
        Some(dir) => {
            let train = split(Dataset::load(dir)?, &dir.display().to_string())?;
            let find = |stem: &str| [dir.join(stem), dir.join(format!("{stem}.gz"))].into_iter().find(|p| p.is_file());
            let images = find("t10k-images-idx3-ubyte")
                .ok_or_else(|| Error::Io(format!("{}: no t10k-images-idx3-ubyte[.gz] test set here", dir.display())))?;
            let labels = find("t10k-labels-idx1-ubyte")
                .ok_or_else(|| Error::Io(format!("{}: no t10k-labels-idx1-ubyte[.gz] test set here", dir.display())))?;
            let test = Dataset::from_idx(read_idx(&images)?, Some(read_idx(&labels)?), &images.display().to_string())?;
            Ok((train, split(test, &images.display().to_string())?, format!("the test set of {}", dir.display())))
        }
    }
}

/// Images `idx` scaled to [−1, 1], as the GAN sees them.
fn pixels(split: &Split, idx: &[usize]) -> Vec<f32> {
    idx.iter()
        .flat_map(|&i| split.images[i * 784..(i + 1) * 784].iter().map(|&v| v as f32 / 255.0 * 2.0 - 1.0))
        .collect()
}

/// Training images moved by up to `max` pixels along each axis (`u`: two uniform draws per
/// image), the background filling in: the network learns digits wherever they sit, which the
/// 8,000 bundled training digits alone do not teach it.
fn shifted_pixels(split: &Split, idx: &[usize], max: usize, u: &[f32]) -> Vec<f32> {
    let plain = pixels(split, idx);
    if max == 0 {
        return plain;
    }
    let span = 2 * max as i64 + 1;
    let mut out = vec![-1.0f32; plain.len()];
    for (k, img) in plain.chunks(784).enumerate() {
        let pick = |v: f32| ((v as f64 * span as f64) as i64).min(span - 1) - max as i64;
        let (dy, dx) = (pick(u[2 * k]), pick(u[2 * k + 1]));
        for y in 0..28i64 {
            for x in 0..28i64 {
                let (sy, sx) = (y - dy, x - dx);
                if (0..28).contains(&sy) && (0..28).contains(&sx) {
                    out[k * 784 + (y * 28 + x) as usize] = img[(sy * 28 + sx) as usize];
                }
            }
        }
    }
    out
}

/// A seeded Fisher–Yates shuffle of 0..n.
fn shuffled(n: usize, rng: &mut InitRng) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let u = rng.uniform(0.0, 1.0, n);
    for i in (1..n).rev() {
        let j = ((u[i] as f64 * (i + 1) as f64) as usize).min(i);
        order.swap(i, j);
    }
    order
}

/// Fraction of `split` whose largest logit is its label (eval mode, in batches).
fn evaluate(gpu: &Gpu, net: &Sequential, split: &Split, batch: usize) -> Result<f64> {
    let acts = net.inference_activations(gpu, batch)?;
    let mut right = 0usize;
    for start in (0..split.len()).step_by(batch) {
        let idx: Vec<usize> = (start..start + batch).map(|i| i.min(split.len() - 1)).collect();
        acts.input().write(gpu, &pixels(split, &idx))?;
        let mut s = Step::new(gpu);
        net.forward(&mut s, &acts, false, 0)?;
        s.submit()?;
        let logits = acts.output().read_blocking(gpu)?;
        for (row, &i) in idx.iter().enumerate().take(split.len() - start) {
            let scores = &logits[row * 10..(row + 1) * 10];
            let best = (0..10).max_by(|&a, &b| scores[a].total_cmp(&scores[b])).unwrap_or(0);
            right += (best == split.labels[i] as usize) as usize;
        }
    }
    Ok(right as f64 / split.len().max(1) as f64)
}
