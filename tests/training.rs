//! The trainer on the real bundled digits: short seeded runs of every loss, resume, NaN
//! handling, checkpoints and sampling. Runs on the GPU (lavapipe in CI).

mod common;

use common::{digits, gpu};
use nanogan::gan::config::{Config, Estimator, GanLoss, Schedule};
use nanogan::gan::presets::Preset;
use nanogan::gan::sample::{fixed_noise, View};
use nanogan::gan::train::Trainer;
use nanogan::io::checkpoint::Checkpoint;
use nanogan::io::data::Binarize;
use nanogan::Gpu;

/// Mean over pixels of the per-pixel standard deviation across samples (0 for a constant output).
fn spread(images: &[f32], n: usize) -> f64 {
    let len = images.len() / n;
    let mut total = 0.0;
    for j in 0..len {
        let mean = (0..n).map(|i| images[i * len + j] as f64).sum::<f64>() / n as f64;
        let var = (0..n).map(|i| (images[i * len + j] as f64 - mean).powi(2)).sum::<f64>() / n as f64;
        total += var.sqrt();
    }
    total / len as f64
}

fn run(gpu: &Gpu, config: Config, steps: u64) -> Trainer {
    let mut t = Trainer::new(gpu, config, digits()).unwrap();
    pollster::block_on(t.train(gpu, steps, |_| {})).unwrap();
    t
}

/// A few hundred seeded steps of the mlp pair with one loss: losses stay finite and in the
/// range the objective allows, D learns to beat chance, and samples differ from one another.
fn mlp_trains_with(loss: GanLoss, d_max: f32, g_max: f32) {
    let Some(gpu) = gpu() else { return };
    let config = Config { loss, batch: 32, seed: 7, log_every: 25, ..Config::for_model(Preset::Mlp) };
    let t = run(gpu, config, 200);
    assert_eq!(t.log.len(), 200);
    for e in &t.log {
        assert!(e.d_loss.is_finite() && e.g_loss.is_finite(), "{loss:?} step {}: {e:?}", e.step);
        assert!((0.0..d_max).contains(&e.d_loss), "{loss:?} step {}: D loss {}", e.step, e.d_loss);
        assert!((0.0..g_max).contains(&e.g_loss), "{loss:?} step {}: G loss {}", e.step, e.g_loss);
    }
    // D starts at chance (0.5 for LSGAN's 0/1 codes, 1.0 for −1/1, 2·ln 2 for BCE) and must learn
    // to beat it; later G catches up, so the minimum, not the last value, shows D learning.
    let first = t.log[0].d_loss;
    let best = t.log.iter().map(|e| e.d_loss).fold(f32::INFINITY, f32::min);
    assert!(
        best < 0.9 * first,
        "{loss:?}: D loss never fell below 90% of chance ({first:.4} at step 1, best {best:.4})"
    );
    let z = fixed_noise(1, 64, 100);
    let images = pollster::block_on(t.sample(gpu, &z)).unwrap();
    assert!(images.iter().all(|v| v.is_finite() && (-1.0..=1.0).contains(v)));
    let s = spread(&images, 64);
    eprintln!("{loss:?}: D loss {first:.4} at step 1, best {best:.4}; sample spread {s:.4}");
    assert!(s > 0.05, "{loss:?}: samples nearly constant (mean per-pixel std {s:.4})");
}

#[test]
fn mlp_trains_with_lsgan() {
    mlp_trains_with(GanLoss::Lsgan { a: 0.0, b: 1.0, c: 1.0 }, 1.5, 3.0);
}

#[test]
fn mlp_trains_with_lsgan_minus_one_one_zero() {
    mlp_trains_with(GanLoss::Lsgan { a: -1.0, b: 1.0, c: 0.0 }, 3.0, 3.0);
}

#[test]
fn mlp_trains_with_bgan() {
    mlp_trains_with(GanLoss::Bgan, 3.0, 20.0);
}

#[test]
fn mlp_trains_with_standard_gan() {
    mlp_trains_with(GanLoss::Standard, 3.0, 10.0);
}

/// The minimax objective trains through the same machinery; its G loss E[log(1 − D(G(z)))] is
/// never positive, and D learns to reject the early fakes, where this loss saturates.
#[test]
fn mlp_runs_with_minimax_gan() {
    let Some(gpu) = gpu() else { return };
    let config = Config { loss: GanLoss::Minimax, batch: 32, seed: 7, log_every: 25, ..Config::for_model(Preset::Mlp) };
    let t = run(gpu, config, 50);
    for e in &t.log {
        assert!(e.d_loss.is_finite() && e.g_loss.is_finite(), "step {}: {e:?}", e.step);
        assert!(e.g_loss <= 0.0, "step {}: G loss {} > 0", e.step, e.g_loss);
    }
    let best = t.log.iter().map(|e| e.d_loss).fold(f32::INFINITY, f32::min);
    assert!(best < 0.9 * t.log[0].d_loss, "D never beat chance: {} at step 1, best {best}", t.log[0].d_loss);
}

/// The discrete BGAN (Bernoulli generator, M samples per noise vector, importance-weighted
/// G loss) on thresholded digits: a few hundred seeded steps keep the losses finite, D beats
/// chance, G's loss (the weighted negative log-likelihood of its samples) falls, and the samples
/// are binary and differ from one another.
#[test]
fn mlp_trains_discrete_bgan_on_binary_digits() {
    trains_on_binary_digits(Estimator::Importance);
}

/// The same with the REINFORCE estimator, whose logged G loss is the samples' plain mean
/// negative log-likelihood.
#[test]
fn mlp_trains_discrete_reinforce_on_binary_digits() {
    trains_on_binary_digits(Estimator::Reinforce);
}

fn trains_on_binary_digits(estimator: Estimator) {
    let Some(gpu) = gpu() else { return };
    let config = Config {
        loss: GanLoss::BganDiscrete { samples: 8, estimator },
        binarize: Binarize::Threshold,
        batch: 16,
        lr_d: 1e-3,
        lr_g: 1e-3,
        seed: 5,
        log_every: 50,
        ..Config::for_model(Preset::Mlp)
    };
    let t = run(gpu, config, 300);
    assert!(t.log.iter().all(|e| e.d_loss.is_finite() && e.g_loss.is_finite()), "{:?}", t.log);
    let chance = 2.0 * std::f32::consts::LN_2;
    let best_d = t.log.iter().map(|e| e.d_loss).fold(f32::INFINITY, f32::min);
    assert!(best_d < 0.5 * chance, "{estimator:?}: D never beat chance ({chance}): best D loss {best_d}");
    // At the start every pixel is a coin flip: about 784·ln 2 ≈ 543 nats per image.
    let (first, last) = (t.log[0].g_loss, t.log[t.log.len() - 1].g_loss);
    assert!(first > 400.0 && last < 0.8 * first, "{estimator:?}: G loss {first} at step 1, {last} at the end");
    let images = pollster::block_on(t.sample(gpu, &fixed_noise(2, 16, 100))).unwrap();
    assert!(images.iter().all(|&v| v == 1.0 || v == -1.0), "samples are not binary");
    assert!(spread(&images, 16) > 0.1, "samples barely differ: spread {}", spread(&images, 16));
    let mean = pollster::block_on(t.sample_view(gpu, &fixed_noise(2, 16, 100), View::Mean)).unwrap();
    assert!(mean.iter().all(|v| (-1.0..=1.0).contains(v)) && mean.iter().any(|&v| v.abs() < 0.99));
}

/// Plain SGD (with momentum) instead of Adam trains both models: finite losses, and D learns.
#[test]
fn mlp_trains_with_sgd() {
    let Some(gpu) = gpu() else { return };
    let config = Config {
        sgd_momentum: Some(0.5),
        lr_d: 0.02,
        lr_g: 0.02,
        loss: GanLoss::Standard,
        batch: 16,
        seed: 4,
        log_every: 20,
        ..Config::for_model(Preset::Mlp)
    };
    let t = run(gpu, config, 60);
    assert!(t.log.iter().all(|e| e.d_loss.is_finite() && e.g_loss.is_finite()), "{:?}", t.log);
    let best = t.log.iter().map(|e| e.d_loss).fold(f32::INFINITY, f32::min);
    assert!(best < 0.9 * t.log[0].d_loss, "D never beat chance under SGD: {} at step 1, best {best}", t.log[0].d_loss);
}

/// The merged schedule's one step against its definition, on the same real batch and noise:
/// its D update is the alternating D step's, and its G update is a G step through D as it was
/// before D's update (the alternating schedule run with a D that cannot move: SGD at a learning
/// rate below every weight's ulp). Both schedules step with optimistic Adam here, the merged
/// schedule's default. A seeded merged run then trains.
#[test]
fn merged_step_equals_its_definition() {
    let Some(gpu) = gpu() else { return };
    let n = 8;
    let x: Vec<f32> = digits().images[..n * 784].iter().map(|&v| v as f32 / 255.0 * 2.0 - 1.0).collect();
    let z = fixed_noise(3, n, 100);
    let step = |config: Config| {
        let mut t = Trainer::with_host_inputs(gpu, config).unwrap();
        t.write_inputs(gpu, &x, &z, &z).unwrap();
        pollster::block_on(t.train(gpu, 1, |_| {})).unwrap();
        let c = pollster::block_on(t.checkpoint(gpu)).unwrap();
        (t.log[0], c)
    };
    let same = |what: &str, a: &Checkpoint, b: &Checkpoint, prefix: &str| {
        let mut compared = 0;
        for (name, t) in a.tensors.iter().filter(|(k, _)| k.starts_with(prefix) && !k.contains("running_")) {
            let u = &b.tensors[name];
            for (i, (p, q)) in t.data.iter().zip(&u.data).enumerate() {
                assert!((p - q).abs() <= 1e-6 * (1.0 + q.abs()), "{what}: {name}[{i}] merged {p}, definition {q}");
            }
            compared += 1;
        }
        assert!(compared >= 6, "{what}: only {compared} tensors compared");
    };
    let base = Config { batch: n, log_every: 1, seed: 3, optimism: Some(1.0), ..Config::for_model(Preset::Mlp) };
    let merged = Config { schedule: Schedule::Merged, optimism: None, ..base.clone() };
    assert_eq!(merged.optimism(), 1.0, "the merged schedule's default optimism");
    let (m, mc) = step(merged.clone());
    let (a, ac) = step(base.clone());
    assert_eq!(m.d_loss, a.d_loss, "D's loss");
    same("D after one step", &mc, &ac, "discriminator.");
    same("D's Adam moments", &mc, &ac, "optim.discriminator.");

    // D moves in the merged run, and must not matter to G's update; the reference's D is still.
    let sgd = |c: Config, lr_d: f32| Config { sgd_momentum: Some(0.0), optimism: None, lr_d, lr_g: 0.05, ..c };
    let (m, mc) = step(sgd(merged.clone(), 0.05));
    let (a, ac) = step(sgd(base, 1e-30));
    assert_eq!(m.g_loss, a.g_loss, "G's loss through the same D");
    same("G after one step", &mc, &ac, "generator.");

    let t = run(gpu, Config { batch: 32, seed: 7, log_every: 25, ..merged }, 100);
    assert!(t.log.iter().all(|e| e.d_loss.is_finite() && e.g_loss.is_finite()));
    let best = t.log.iter().map(|e| e.d_loss).fold(f32::INFINITY, f32::min);
    assert!(best < 0.9 * t.log[0].d_loss, "D never beat chance: {} at step 1, best {best}", t.log[0].d_loss);
    let images = pollster::block_on(t.sample(gpu, &fixed_noise(2, 16, 100))).unwrap();
    assert!(spread(&images, 16) > 0.05, "samples barely differ: {}", spread(&images, 16));
}

/// Resuming from a checkpoint reproduces the uninterrupted run bit for bit.
#[test]
fn resume_reproduces_the_uninterrupted_run() {
    resume_reproduces(Config { batch: 8, seed: 3, log_every: 2, ..Config::for_model(Preset::Mlp) });
}

/// Optimistic Adam's previous step is rebuilt from the saved moments, so the merged schedule
/// resumes exactly too.
#[test]
fn merged_resume_reproduces_the_uninterrupted_run() {
    resume_reproduces(Config {
        batch: 8,
        seed: 3,
        log_every: 2,
        schedule: Schedule::Merged,
        ..Config::for_model(Preset::Mlp)
    });
}

/// The same for the discrete BGAN, whose binarized batches and samples are drawn on the GPU too
/// (with REINFORCE, so a checkpoint that lost the estimator would train differently).
#[test]
fn resume_reproduces_the_uninterrupted_discrete_run() {
    let loss = GanLoss::BganDiscrete { samples: 4, estimator: Estimator::Reinforce };
    let binarize = Binarize::Stochastic;
    resume_reproduces(Config { loss, binarize, batch: 8, seed: 3, log_every: 2, ..Config::for_model(Preset::Mlp) });
}

fn resume_reproduces(config: Config) {
    let Some(gpu) = gpu() else { return };
    let straight = run(gpu, config.clone(), 6);
    let first = run(gpu, config, 3);
    let bytes = pollster::block_on(first.checkpoint(gpu)).unwrap().to_bytes(false).unwrap();
    drop(first);
    let c = Checkpoint::from_bytes(&bytes, "resume test").unwrap();
    let mut resumed = Trainer::resume(gpu, &c, digits()).unwrap();
    assert_eq!(resumed.step, 3);
    pollster::block_on(resumed.train(gpu, 3, |_| {})).unwrap();
    assert_eq!(&straight.log[3..], &resumed.log[..], "losses after resuming");
    let a = pollster::block_on(straight.checkpoint(gpu)).unwrap();
    let b = pollster::block_on(resumed.checkpoint(gpu)).unwrap();
    assert_eq!(a.tensors.len(), b.tensors.len());
    for (name, t) in &a.tensors {
        let u = &b.tensors[name];
        assert!(t.data.iter().zip(&u.data).all(|(x, y)| x.to_bits() == y.to_bits()), "{name} differs after resume");
    }
    assert_eq!(a.metadata.get("generator.clock"), b.metadata.get("generator.clock"));
}

/// With an EMA the average resumes too, and the checkpoint carries it.
#[test]
fn resume_reproduces_the_uninterrupted_run_with_ema() {
    resume_reproduces(Config { batch: 8, seed: 4, log_every: 2, ema: Some(0.99), ..Config::for_model(Preset::Mlp) });
}

/// The EMA is G's average, not G: it samples differently from G after training, and it is what
/// `sample` and the generator-only export use.
#[test]
fn ema_generator_samples_and_exports() {
    let Some(gpu) = gpu() else { return };
    let config = Config { batch: 8, seed: 5, log_every: 2, ema: Some(0.999), ..Config::for_model(Preset::Mlp) };
    let t = run(gpu, config.clone(), 20);
    let z = fixed_noise(6, 8, 100);
    let averaged = pollster::block_on(t.sample(gpu, &z)).unwrap();
    let raw = pollster::block_on(nanogan::gan::sample::sample(gpu, &t.g, 100, &z)).unwrap();
    let apart = averaged.iter().zip(&raw).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    assert!(apart > 1e-3, "EMA samples equal G's ({apart})");
    let avg = t.g_ema.as_ref().unwrap();
    assert!(avg.arena.grads.size() + avg.arena.m.size() + avg.arena.v.size() <= 48, "the EMA holds no training state");
    let c = pollster::block_on(t.checkpoint(gpu)).unwrap();
    assert!(c.tensors.contains_key("generator_ema.0.weight"));
    // The average's running statistics are its own, recomputed for its weights (not PyTorch's
    // initial 0 and 1, not G's), the same every time.
    let stats = |c: &Checkpoint, name: &str| c.tensors[name].data.clone();
    let ema_mean = stats(&c, "generator_ema.3.running_mean");
    assert!(ema_mean.iter().any(|v| v.abs() > 1e-3), "EMA running mean left at 0");
    assert!(stats(&c, "generator_ema.3.running_var").iter().any(|v| (v - 1.0).abs() > 1e-3));
    assert_ne!(ema_mean, stats(&c, "generator.3.running_mean"));
    t.calibrate_ema(gpu).unwrap();
    let again = pollster::block_on(t.checkpoint(gpu)).unwrap();
    assert_eq!(stats(&again, "generator_ema.3.running_mean"), ema_mean, "calibration is not deterministic");
    // A checkpoint after further steps recalibrates for the newer weights by itself.
    let mut t = t;
    pollster::block_on(t.train(gpu, 2, |_| {})).unwrap();
    let later = pollster::block_on(t.checkpoint(gpu)).unwrap();
    t.calibrate_ema(gpu).unwrap();
    let recalibrated = pollster::block_on(t.checkpoint(gpu)).unwrap();
    assert_ne!(stats(&later, "generator_ema.3.running_mean"), ema_mean, "stale EMA statistics");
    assert_eq!(stats(&later, "generator_ema.3.running_mean"), stats(&recalibrated, "generator_ema.3.running_mean"));
    assert!(!c.tensors.keys().any(|k| k.starts_with("optim.generator_ema")), "the EMA has no optimiser state");
    let only = c.generator_only();
    assert!(only.tensors.keys().all(|k| k.starts_with("generator.")), "{:?}", only.tensors.keys());
    assert_eq!(only.metadata.get("generator_weights").map(String::as_str), Some("ema"));
    let g = config.generator(gpu).unwrap();
    only.restore(gpu, &g).unwrap();
    let exported = pollster::block_on(nanogan::gan::sample::sample(gpu, &g, 100, &z)).unwrap();
    assert_eq!(exported, averaged, "the export samples like the trainer's EMA");
    // Without an EMA the export is G itself.
    let plain = run(gpu, Config { ema: None, ..config }, 2);
    let c = pollster::block_on(plain.checkpoint(gpu)).unwrap();
    assert_eq!(c.generator_only().metadata.get("generator_weights").map(String::as_str), Some("trained"));
}

/// The convolutional pair runs a few iterations with finite losses and correct sample shapes.
#[test]
fn dcgan_takes_a_few_steps() {
    let Some(gpu) = gpu() else { return };
    let config = Config { batch: 8, seed: 1, log_every: 2, ..Config::for_model(Preset::Dcgan) };
    let t = run(gpu, config, 3);
    assert_eq!(t.log.len(), 3);
    assert!(t.log.iter().all(|e| e.d_loss.is_finite() && e.g_loss.is_finite()), "{:?}", t.log);
    let images = pollster::block_on(t.sample(gpu, &fixed_noise(2, 4, 100))).unwrap();
    assert_eq!(images.len(), 4 * 784);
    assert!(spread(&images, 4) > 1e-4);
}

/// A NaN loss stops training with an error naming the step.
#[test]
fn nan_loss_stops_training_with_the_step() {
    let Some(gpu) = gpu() else { return };
    let config = Config { batch: 4, log_every: 5, ..Config::for_model(Preset::Mlp) };
    let mut t = Trainer::new(gpu, config, digits()).unwrap();
    pollster::block_on(t.train(gpu, 2, |_| {})).unwrap();
    let mut w = pollster::block_on(t.d.arena.read(gpu, "discriminator.4.weight")).unwrap();
    w[0] = f32::NAN;
    t.d.arena.write(gpu, "discriminator.4.weight", &w).unwrap();
    let e = pollster::block_on(t.train(gpu, 3, |_| {})).unwrap_err().to_string();
    assert!(e.contains("at step 3") && e.contains("NaN"), "{e}");
}

/// f16 generator checkpoints sample like the f32 model they came from.
#[test]
fn f16_generator_checkpoint_samples_like_f32() {
    let Some(gpu) = gpu() else { return };
    let config = Config { batch: 8, log_every: 2, ..Config::for_model(Preset::Mlp) };
    let t = run(gpu, config.clone(), 2);
    let mut c = pollster::block_on(t.checkpoint(gpu)).unwrap();
    c.tensors.retain(|n, _| n.starts_with("generator."));
    let half = Checkpoint::from_bytes(&c.to_bytes(true).unwrap(), "f16").unwrap();
    assert!(half.tensors.keys().all(|n| !n.contains("exp_avg")));
    let g = config.model.generator(gpu, config.z, config.init, 99, nanogan::gan::presets::Head::Tanh).unwrap();
    half.restore(gpu, &g).unwrap();
    let z = fixed_noise(5, 16, 100);
    let a = pollster::block_on(t.sample(gpu, &z)).unwrap();
    let b = pollster::block_on(nanogan::gan::sample::sample(gpu, &g, 100, &z)).unwrap();
    let max = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    assert!(max < 0.05, "f16 samples differ by up to {max}");
    // A checkpoint of the wrong model is refused by name.
    let d = config.model.discriminator(gpu, config.init, 0).unwrap();
    let e = half.restore(gpu, &d).unwrap_err().to_string();
    assert!(e.contains("discriminator.0.weight"), "{e}");
}

#[test]
fn config_text_round_trips() {
    let c = Config {
        loss: GanLoss::Lsgan { a: -1.0, b: 1.0, c: 0.0 },
        lr_d: 4e-4,
        d_steps: 2,
        seed: u64::MAX,
        ..Config::for_model(Preset::Dcgan)
    };
    assert_eq!(Config::from_text(&c.to_text()).unwrap(), c);
    assert!(Config::from_text("model=gan").unwrap_err().to_string().contains("unknown model"));
    let d = Config {
        loss: GanLoss::BganDiscrete { samples: 7, estimator: Estimator::Importance },
        binarize: Binarize::Stochastic,
        ..Config::default()
    };
    assert_eq!(Config::from_text(&d.to_text()).unwrap(), d);
    assert!(!d.to_text().contains("estimator"), "the default estimator is left out: {}", d.to_text());
    let r = Config { loss: GanLoss::BganDiscrete { samples: 7, estimator: Estimator::Reinforce }, ..d };
    assert_eq!(Config::from_text(&r.to_text()).unwrap(), r);
    let e = Config::from_text("loss=gan estimator=reinforce").unwrap_err().to_string();
    assert!(e.contains("only bgan-discrete"), "{e}");
    let sgd = Config {
        sgd_momentum: Some(0.9),
        lr_d: 0.05,
        schedule: Schedule::Merged,
        ema: Some(0.999),
        ..Config::default()
    };
    assert_eq!(Config::from_text(&sgd.to_text()).unwrap(), sgd);
    // The optimism is written only when chosen, and then read back, zero included.
    let merged = Config { schedule: Schedule::Merged, ..Config::default() };
    assert!(!merged.to_text().contains("optimism"), "{}", merged.to_text());
    assert_eq!(Config::from_text(&merged.to_text()).unwrap().optimism(), 1.0);
    for k in [0.0, 0.5] {
        let c = Config { optimism: Some(k), ..merged.clone() };
        assert_eq!(Config::from_text(&c.to_text()).unwrap(), c);
    }
    assert_eq!(Config::default().optimism(), 0.0);
    let e = Config::from_text("optimizer=sgd optimism=1").unwrap_err().to_string();
    assert!(e.contains("SGD takes none"), "{e}");
    let e = Config::from_text("optimism=-1").unwrap_err().to_string();
    assert!(e.contains("optimism must lie between 0 and 10"), "{e}");
    assert!(Config::from_text("optimizer=rmsprop").unwrap_err().to_string().contains("expected adam or sgd"));
    // Binary data by default for the discrete loss; never silently grey levels.
    assert_eq!(Config::from_text("loss=bgan-discrete").unwrap().binarize, Binarize::Threshold);
    let e = Config::from_text("loss=bgan-discrete binarize=off").unwrap_err().to_string();
    assert!(e.contains("binarize"), "{e}");
    let e = Config::from_text("loss=bgan-discrete bgan_samples=0").unwrap_err().to_string();
    assert!(e.contains("not 0"), "{e}");
    let e = Config::from_text("init=xavier").unwrap_err().to_string();
    assert!(e.contains("init=xavier: expected torch or dcgan"), "{e}");
    for bad in ["ema=1", "ema=0", "ema=-0.5", "ema=NaN"] {
        let e = Config::from_text(bad).unwrap_err().to_string();
        assert!(e.contains("EMA decay"), "{bad}: {e}");
    }
}
