//! The trainer: one GAN iteration (k discriminator steps, one generator step) recorded once as
//! plans and replayed with one submit per iteration. Losses land in a small GPU history buffer
//! that is read back every `log_every` iterations, so the loop never waits on the GPU per step.
//!
//! Randomness is keyed on the models' clocks (optimiser steps taken, on the GPU): noise and batch
//! indices for D step t come from (seed, stream, D.clock = t), for G step t from G.clock = t.
//! So a run is reproducible, and a checkpoint (weights, Adam moments, clocks) resumes it exactly.

use crate::error::{Error, Result};
use crate::gan::config::{Config, Estimator, GanLoss, Schedule};
use crate::gan::discrete::{record_samples, GeneratorLoss};
use crate::gan::loss;
use crate::gan::sample::{images, sample, View};
use crate::gpu::random::{fill_normal, tick};
use crate::gpu::step::{Plan, Step};
use crate::gpu::tensor::Tensor;
use crate::gpu::Gpu;
use crate::io::checkpoint::Checkpoint;
use crate::io::data::{Dataset, GpuDataset};
use crate::io::float_text::FloatText;
use crate::nn::adam::{record_ema, zero_grad};
use crate::nn::model::{Activations, Sequential, Shared};

/// Random streams, so no two kinds of draw ever share Philox counters.
const STREAM_D_NOISE: u32 = 1;
const STREAM_G_NOISE: u32 = 2;
const STREAM_DATA: u32 = 3;
const STREAM_BINARIZE: u32 = 4;
const STREAM_D_SAMPLES: u32 = 5;
const STREAM_G_SAMPLES: u32 = 6;
const STREAM_EMA_NOISE: u32 = 7;
/// Train-mode forwards that recompute the EMA generator's BatchNorm running statistics for its
/// averaged weights: from PyTorch's initial (0, 1) at momentum 0.1, 0.9^50 < 0.6% of the
/// start is left.
const EMA_CALIBRATION_PASSES: usize = 50;
/// `pass` of each discriminator forward in one iteration (separate dropout masks).
const PASS_REAL: u32 = 0;
const PASS_FAKE: u32 = 1;
const PASS_GEN: u32 = 2;

/// Discriminator and generator loss after one iteration.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LogEntry {
    pub step: u64,
    pub d_loss: f32,
    pub g_loss: f32,
}

pub struct Trainer {
    pub config: Config,
    pub g: Sequential,
    /// The exponential moving average of G's weights, updated after each G step (`config.ema`).
    pub g_ema: Option<Sequential>,
    /// Recomputes the average's running statistics ("standing statistics") before it is used.
    ema_calibration: Option<Calibration>,
    pub d: Sequential,
    /// Iterations completed.
    pub step: u64,
    /// Every loss read back so far.
    pub log: Vec<LogEntry>,
    d_plan: Plan,
    /// `None` with the merged schedule, whose one plan (`d_plan`) updates both models.
    g_plan: Option<Plan>,
    /// Plan j copies this iteration's two losses into history slot j.
    log_plans: Vec<Plan>,
    history: wgpu::Buffer,
    /// Iterations whose losses sit in `history` unread.
    pending: u64,
    /// Where x_real and the noise come from.
    inputs: Inputs,
    _acts: [Option<Activations>; 4],
}

/// A plan that resets a model's running statistics to their initial values and re-estimates them
/// with train-mode forwards on fixed noise: the same statistics for the same weights, every time.
struct Calibration {
    plan: Plan,
    _initial_state: wgpu::Buffer,
    _acts: Activations,
}

impl Calibration {
    fn new(gpu: &Gpu, g: &Sequential, batch: usize, seed: u64) -> Result<Option<Calibration>> {
        let bytes = (g.arena.state_len * 4) as u64;
        if bytes == 0 {
            return Ok(None);
        }
        // The state as the model was built (PyTorch's running mean 0, variance 1), kept on the GPU.
        let initial_state = gpu.storage("initial running statistics", bytes)?;
        let mut s = Step::new(gpu);
        s.copy(&g.arena.state, 0, &initial_state, 0, bytes);
        s.submit()?;
        let acts = g.inference_activations(gpu, batch)?;
        let plan = gpu.record_settled(|| {
            let mut s = Step::new(gpu);
            s.copy(&initial_state, 0, &g.arena.state, 0, bytes);
            s.clear(&g.arena.clock);
            for _ in 0..EMA_CALIBRATION_PASSES {
                tick(&mut s, &g.arena.clock, 0)?;
                fill_normal(&mut s, acts.input(), 0.0, 1.0, seed, STREAM_EMA_NOISE, &g.arena.clock, 0)?;
                g.forward(&mut s, &acts, true, 0)?;
            }
            Ok(s.finish())
        })?;
        Ok(Some(Calibration { plan, _initial_state: initial_state, _acts: acts }))
    }
}

/// What the discrete BGAN adds: M samples per noise vector and D's pass over all of them.
struct Discrete {
    m: usize,
    /// (N·M, ...) binary images, sample m of noise row n at row n·M + m.
    samples: Tensor,
    acts: Activations,
    loss: GeneratorLoss,
}

/// Batches and noise drawn on the GPU from the dataset, or written by the host each iteration
/// (to replay another framework's exact inputs, as the PyTorch golden test does).
enum Inputs {
    Gpu(GpuDataset),
    Host { x_real: Tensor, z_d: Tensor, z_g: Tensor },
}

impl Trainer {
    pub fn new(gpu: &Gpu, config: Config, dataset: &Dataset) -> Result<Trainer> {
        if (dataset.h, dataset.w) != (28, 28) {
            return Err(Error::Shape(format!(
                "the {} preset needs 28×28 images; the dataset's are {}×{}",
                config.model.name(),
                dataset.h,
                dataset.w
            )));
        }
        let data = GpuDataset::upload(gpu, dataset)?;
        Trainer::build(gpu, config, Some(data))
    }

    /// A trainer whose real batch and noise are written by the host before each iteration
    /// with `write_inputs`, instead of drawn on the GPU.
    pub fn with_host_inputs(gpu: &Gpu, config: Config) -> Result<Trainer> {
        Trainer::build(gpu, config, None)
    }

    /// Sets the next iteration's inputs (host-input trainers only): x_real (N·784 values in
    /// [−1, 1]), z_d the D step's noise, z_g the G step's noise (N·Z values each).
    pub fn write_inputs(&self, gpu: &Gpu, x_real: &[f32], z_d: &[f32], z_g: &[f32]) -> Result<()> {
        match &self.inputs {
            Inputs::Host { x_real: x, z_d: zd, z_g: zg } => {
                x.write(gpu, x_real)?;
                zd.write(gpu, z_d)?;
                zg.write(gpu, z_g)
            }
            Inputs::Gpu(_) => Err(Error::Param("this trainer draws its own inputs on the GPU".into())),
        }
    }

    fn build(gpu: &Gpu, config: Config, data: Option<GpuDataset>) -> Result<Trainer> {
        config.validate()?;
        let g = config.generator(gpu)?;
        // Built like G from the same seed, so the average starts at G's initial weights.
        let g_ema = match config.ema {
            Some(_) => {
                let mut avg = config.generator(gpu)?.renamed("generator_ema");
                avg.arena.drop_training_state(gpu)?;
                Some(avg)
            }
            None => None,
        };
        let d = config.model.discriminator(gpu, config.init, config.seed)?;
        let n = config.batch;
        check_batch(gpu, &config, &g, &d)?;
        let inputs = match data {
            Some(data) => Inputs::Gpu(data),
            None => Inputs::Host {
                x_real: Tensor::zeros(gpu, &[n, 1, 28, 28])?,
                z_d: Tensor::zeros(gpu, &[n, config.z])?,
                z_g: Tensor::zeros(gpu, &[n, config.z])?,
            },
        };

        // The fake image and its gradient are shared: G's output is D's input, and D's input
        // gradient (computed with D frozen) is G's output gradient. For discrete data G's output
        // is logits, D sees binary samples of them, and the gradient reaches the logits from
        // the importance-weighted loss instead.
        let g_out = g.shapes(n)?.pop().unwrap_or_default();
        let x_fake = Tensor::zeros(gpu, &g_out)?;
        let dx_fake = Tensor::zeros(gpu, &g_out)?;
        let x_real = match &inputs {
            Inputs::Host { x_real, .. } => x_real.clone(),
            Inputs::Gpu(_) => Tensor::zeros(gpu, &[n, 1, 28, 28])?,
        };
        let g_acts =
            g.activations(gpu, n, Shared { output: Some(&x_fake), output_grad: Some(&dx_fake), ..Default::default() })?;
        let real = d.activations(gpu, n, Shared { input: Some(&x_real), ..Default::default() })?;
        let discrete = match config.loss.discrete_samples() {
            None => None,
            Some(m) => {
                let samples = Tensor::zeros(gpu, &[&[n * m][..], &g_out[1..]].concat())?;
                let acts = d.activations(gpu, n * m, Shared { input: Some(&samples), ..Default::default() })?;
                let estimator = match config.loss {
                    GanLoss::BganDiscrete { estimator, .. } => estimator,
                    _ => Estimator::Importance,
                };
                let loss = GeneratorLoss::new(gpu, n, x_fake.len() / n, m, estimator)?;
                Some(Discrete { m, samples, acts, loss })
            }
        };
        // The real and the fake pass of D run one after the other, so they share activations.
        let fake = d.activations_like(&real, &x_fake, Some(&dx_fake))?;
        let fake = if discrete.is_none() { Some(fake) } else { None };
        let idx = gpu.storage("batch indices", (n * 4) as u64)?;
        let losses = gpu.storage("losses", 8)?;
        let history = gpu.storage("loss history", (config.log_every * 8) as u64)?;
        let (real_term, fake_term) = config.loss.d_terms();
        let opt_d = config.optimizer(config.lr_d)?;
        let opt_g = config.optimizer(config.lr_g)?;
        let seed = config.seed;

        // Both plans in one closure: a workspace first grown by the G step would otherwise stay
        // bound, at its smaller size, in the D step's plan.
        let merged = config.schedule == Schedule::Merged;
        let average = |s: &mut Step| -> Result<()> {
            match (&g_ema, config.ema) {
                (Some(avg), Some(decay)) => record_ema(s, &avg.arena, &g.arena, decay),
                _ => Ok(()),
            }
        };
        let record = || -> Result<(Plan, Option<Plan>)> {
            // Discriminator step: ½E[(D(x) − b)²] + ½E[(D(G(z)) − a)²] or its BCE counterpart.
            let mut s = Step::new(gpu);
            zero_grad(&mut s, &d.arena);
            if merged {
                zero_grad(&mut s, &g.arena);
            }
            match &inputs {
                Inputs::Gpu(data) => {
                    data.record_indices(&mut s, &idx, n, seed, STREAM_DATA, &d.arena.clock, 0)?;
                    let clock = &d.arena.clock;
                    data.record_binary_batch(&mut s, &x_real, &idx, config.binarize, seed, STREAM_BINARIZE, clock, 0)?;
                    fill_normal(&mut s, g_acts.input(), 0.0, 1.0, seed, STREAM_D_NOISE, &d.arena.clock, 0)?;
                }
                Inputs::Host { z_d, .. } => s.copy(&z_d.buf, 0, &g_acts.input().buf, 0, (z_d.len() * 4) as u64),
            }
            g.forward(&mut s, &g_acts, true, 0)?;
            d.forward(&mut s, &real, true, PASS_REAL)?;
            loss::record(&mut s, real_term, real.output_grad()?, &losses, 0, false, real.output(), None)?;
            d.backward(&mut s, &real, false, false)?;
            // D's fakes: G's images, or M binary samples of G's logits per noise vector.
            let fake_pass = match (&discrete, &fake) {
                (Some(q), _) => {
                    record_samples(&mut s, &q.samples, &x_fake, q.m, seed, STREAM_D_SAMPLES, &d.arena.clock, 0)?;
                    &q.acts
                }
                (None, Some(fake)) => fake,
                (None, None) => return Err(no_fake_pass()),
            };
            d.forward(&mut s, fake_pass, true, PASS_FAKE)?;
            loss::record(&mut s, fake_term, fake_pass.output_grad()?, &losses, 0, true, fake_pass.output(), None)?;
            d.backward(&mut s, fake_pass, false, false)?;
            if let (true, Some(gen_term)) = (merged, config.loss.g_term()) {
                // The merged step: G's loss on the same fake batch, back through D as it was
                // before its update (frozen: input gradient only), then both updates.
                let out = fake_pass.output();
                loss::record(&mut s, gen_term, fake_pass.output_grad()?, &losses, 1, false, out, None)?;
                d.backward(&mut s, fake_pass, true, true)?;
                g.backward(&mut s, &g_acts, false, false)?;
                opt_d.step(&mut s, &d.arena)?;
                opt_g.step(&mut s, &g.arena)?;
                average(&mut s)?;
                return Ok((s.finish(), None));
            }
            opt_d.step(&mut s, &d.arena)?;
            let d_plan = s.finish();

            // Generator step, through D frozen (D's weights and gradients untouched).
            let mut s = Step::new(gpu);
            zero_grad(&mut s, &g.arena);
            match &inputs {
                Inputs::Gpu(_) => {
                    fill_normal(&mut s, g_acts.input(), 0.0, 1.0, seed, STREAM_G_NOISE, &g.arena.clock, 0)?
                }
                Inputs::Host { z_g, .. } => s.copy(&z_g.buf, 0, &g_acts.input().buf, 0, (z_g.len() * 4) as u64),
            }
            g.forward(&mut s, &g_acts, true, 0)?;
            match (&discrete, &fake, config.loss.g_term()) {
                (None, Some(fake), Some(gen_term)) => {
                    d.forward(&mut s, fake, true, PASS_GEN)?;
                    loss::record(&mut s, gen_term, fake.output_grad()?, &losses, 1, false, fake.output(), None)?;
                    d.backward(&mut s, fake, true, true)?;
                }
                (Some(q), _, _) => {
                    // D only weighs the samples: no gradient flows through it or them.
                    record_samples(&mut s, &q.samples, &x_fake, q.m, seed, STREAM_G_SAMPLES, &g.arena.clock, 0)?;
                    d.forward(&mut s, &q.acts, true, PASS_GEN)?;
                    q.loss.record(&mut s, &dx_fake, &losses, 1, &x_fake, &q.samples, q.acts.output())?;
                }
                (None, _, _) => return Err(no_fake_pass()),
            }
            g.backward(&mut s, &g_acts, false, false)?;
            opt_g.step(&mut s, &g.arena)?;
            average(&mut s)?;
            let g_plan = s.finish();
            Ok((d_plan, Some(g_plan)))
        };
        let (d_plan, g_plan) = gpu.record_settled(record)?;
        let ema_calibration = match &g_ema {
            Some(avg) => Calibration::new(gpu, avg, n, seed)?,
            None => None,
        };
        let log_plans = (0..config.log_every as u64)
            .map(|j| {
                let mut s = Step::new(gpu);
                s.copy(&losses, 0, &history, j * 8, 8);
                s.finish()
            })
            .collect();
        Ok(Trainer {
            config,
            g,
            g_ema,
            ema_calibration,
            d,
            step: 0,
            log: Vec::new(),
            d_plan,
            g_plan,
            log_plans,
            history,
            pending: 0,
            inputs,
            _acts: [Some(g_acts), Some(real), fake, discrete.map(|q| q.acts)],
        })
    }

    /// Submits one iteration (k D steps and one G step) without waiting for it.
    pub fn submit_iteration(&mut self, gpu: &Gpu) -> Result<()> {
        let mut encoder = gpu.device.create_command_encoder(&Default::default());
        for plan in self.iteration_plans() {
            plan.encode(&mut encoder);
        }
        gpu.queue.submit([encoder.finish()]);
        self.step += 1;
        self.pending += 1;
        gpu.check()
    }

    /// The plans the next iteration replays, in order: the D step `d_steps` times, the G step,
    /// then the copy of its losses into the history (for benchmarks and profiles).
    pub fn iteration_plans(&self) -> Vec<&Plan> {
        let slot = (self.step % self.config.log_every as u64) as usize;
        let mut plans = vec![&self.d_plan; self.config.d_steps];
        plans.extend(self.g_plan.as_ref());
        plans.extend(self.log_plans.get(slot));
        plans
    }

    /// Compute dispatches one iteration submits.
    pub fn iteration_dispatches(&self) -> usize {
        self.iteration_plans().iter().map(|p| p.dispatches()).sum()
    }

    /// FLOPs of one iteration's matrix products (see `Flops`), counted for what `build` records:
    /// each D step runs G forward, then D forward and backward (weights, no input gradient) on
    /// the real and on the fake batch; the G step runs G forward, D forward, D backward frozen
    /// (input gradient only) and G backward (weights, no gradient of the noise). The discrete
    /// BGAN's fake batch is its N·M samples, and its G step has no D backward.
    pub fn iteration_flops(&self) -> Result<f64> {
        let (g, d, n) = (&self.g, &self.d, self.config.batch);
        let d_pass = |rows| -> Result<f64> { Ok(d.forward_flops(rows)? + d.backward_flops(rows, false, false)?) };
        let (d_step, g_step) = match self.config.loss.discrete_samples() {
            // One G forward and one D forward of the fakes serve both updates.
            None if self.config.schedule == Schedule::Merged => {
                (g.forward_flops(n)? + 2.0 * d_pass(n)?, d.backward_flops(n, true, true)?)
            }
            None => (
                g.forward_flops(n)? + 2.0 * d_pass(n)?,
                g.forward_flops(n)? + d.forward_flops(n)? + d.backward_flops(n, true, true)?,
            ),
            // D learns from the N·M samples, and only weighs them (forward) for G.
            Some(m) => {
                (g.forward_flops(n)? + d_pass(n)? + d_pass(n * m)?, g.forward_flops(n)? + d.forward_flops(n * m)?)
            }
        };
        let g_step = g_step + g.backward_flops(n, false, false)?;
        Ok(self.config.d_steps as f64 * d_step + g_step)
    }

    /// True when the loss history is full and must be read before the next iteration.
    pub fn log_due(&self) -> bool {
        self.pending as usize >= self.config.log_every
    }

    /// Reads back the losses of the iterations since the last read (waits for them), appends
    /// them to `log`, and fails on the first non-finite loss, naming its step.
    pub async fn read_losses(&mut self, gpu: &Gpu) -> Result<Vec<LogEntry>> {
        if self.pending == 0 {
            return Ok(Vec::new());
        }
        let values = gpu.read_f32(&self.history, self.config.log_every * 2).await?;
        let first = self.step - self.pending;
        let mut out = Vec::with_capacity(self.pending as usize);
        for step in first..self.step {
            let slot = (step % self.config.log_every as u64) as usize;
            let entry = LogEntry { step: step + 1, d_loss: values[2 * slot], g_loss: values[2 * slot + 1] };
            if !entry.d_loss.is_finite() || !entry.g_loss.is_finite() {
                self.pending = 0;
                return Err(Error::NonFinite(format!(
                    "at step {}: D loss {}, G loss {} (try a lower learning rate; the last checkpoint written is untouched)",
                    entry.step,
                    FloatText(entry.d_loss),
                    FloatText(entry.g_loss)
                )));
            }
            out.push(entry);
        }
        self.pending = 0;
        self.log.extend_from_slice(&out);
        Ok(out)
    }

    /// Runs `steps` iterations, reading losses back every `log_every`; `on_log` sees each batch.
    pub async fn train(&mut self, gpu: &Gpu, steps: u64, mut on_log: impl FnMut(&[LogEntry])) -> Result<()> {
        for _ in 0..steps {
            self.submit_iteration(gpu)?;
            if self.log_due() {
                let entries = self.read_losses(gpu).await?;
                on_log(&entries);
            }
        }
        let entries = self.read_losses(gpu).await?;
        on_log(&entries);
        Ok(())
    }

    /// The generator that samples: the EMA when the run keeps one.
    pub fn sampler(&self) -> &Sequential {
        self.g_ema.as_ref().unwrap_or(&self.g)
    }

    /// Submits the recomputation of the EMA's running statistics for its current weights (no-op
    /// without an EMA or without BatchNorm). Sampling and checkpoints do this themselves.
    pub fn calibrate_ema(&self, gpu: &Gpu) -> Result<()> {
        match &self.ema_calibration {
            Some(c) => c.plan.submit(gpu),
            None => Ok(()),
        }
    }

    /// Samples of the generator (its EMA when kept) for the given noise (N·Z values), in eval
    /// mode, as (N, 28·28) in [−1, 1]; binary ones (drawn with the config's seed) for a Bernoulli generator.
    pub async fn sample(&self, gpu: &Gpu, z: &[f32]) -> Result<Vec<f32>> {
        self.sample_view(gpu, z, View::Binary { seed: self.config.seed }).await
    }

    /// `sample` with a choice of what a Bernoulli generator shows (ignored for tanh heads).
    pub async fn sample_view(&self, gpu: &Gpu, z: &[f32], view: View) -> Result<Vec<f32>> {
        self.calibrate_ema(gpu)?;
        Ok(images(sample(gpu, self.sampler(), self.config.z, z).await?, self.config.loss.head(), view))
    }

    /// Captures everything needed to resume: weights, running stats, Adam moments, clocks,
    /// config and step.
    pub async fn checkpoint(&self, gpu: &Gpu) -> Result<Checkpoint> {
        let mut c = Checkpoint::default();
        c.capture(gpu, &self.g, true).await?;
        c.capture(gpu, &self.d, true).await?;
        if let Some(avg) = &self.g_ema {
            self.calibrate_ema(gpu)?;
            c.capture(gpu, avg, false).await?;
        }
        c.metadata.insert("config".into(), self.config.to_text());
        c.metadata.insert("step".into(), self.step.to_string());
        c.metadata.insert("format".into(), "nanogan-1".into());
        Ok(c)
    }

    /// A trainer continuing from `c` (its config, weights, optimiser state and clocks).
    pub fn resume(gpu: &Gpu, c: &Checkpoint, dataset: &Dataset) -> Result<Trainer> {
        let config = Config::from_checkpoint(c)?;
        let step = c
            .metadata
            .get("step")
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| Error::Format("checkpoint has no step count; was it written by the trainer?".into()))?;
        let mut t = Trainer::new(gpu, config, dataset)?;
        if !c.tensors.keys().any(|name| name.starts_with("discriminator.")) {
            return Err(Error::Format(
                "this checkpoint holds a generator only (as --f16 and sample --export-f16 write); resuming training \
                 needs the full checkpoint.safetensors, with the discriminator and the optimiser state"
                    .into(),
            ));
        }
        c.restore(gpu, &t.g)?;
        c.restore(gpu, &t.d)?;
        if let Some(avg) = &t.g_ema {
            c.restore(gpu, avg)?;
        }
        t.step = step;
        Ok(t)
    }
}

/// Fails early, naming the largest batch that fits, when one activation of a batch of
/// `config.batch` would not fit in a storage buffer of this device.
fn check_batch(gpu: &Gpu, config: &Config, g: &Sequential, d: &Sequential) -> Result<()> {
    // D sees M samples per noise vector in the discrete BGAN.
    let d_rows = config.loss.discrete_samples().unwrap_or(1);
    let per_sample = |model: &Sequential, rows: usize| -> Result<usize> {
        Ok(model.shapes(1)?.iter().map(|s| s.iter().product::<usize>() * rows).max().unwrap_or(0))
    };
    let floats = per_sample(g, 1)?.max(per_sample(d, d_rows)?).max(1);
    let largest = gpu.max_binding_bytes() / (4 * floats as u64);
    if config.batch as u64 > largest {
        return Err(Error::Limit(format!(
            "batch {} does not fit this device: one activation would need {} bytes, and {} binds at most {} \
             bytes per buffer; the largest batch for {} {} here is {largest}",
            config.batch,
            4 * floats as u64 * config.batch as u64,
            gpu.info.name,
            gpu.max_binding_bytes(),
            config.model.name(),
            config.loss.name()
        )));
    }
    Ok(())
}

fn no_fake_pass() -> Error {
    Error::Param("a continuous loss needs D's fake-batch activations and a generator term".into())
}
