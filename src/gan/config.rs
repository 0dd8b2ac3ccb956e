//! Training configuration: the GAN objective, model preset and optimiser settings, and their
//! one-line text form stored in checkpoints.

use crate::error::{Error, Result};
use crate::gan::loss::Term;
use crate::gan::presets::{Head, Preset};
use crate::gpu::Gpu;
use crate::io::checkpoint::Checkpoint;
use crate::io::data::Binarize;
use crate::io::float_text::FloatText;
use crate::nn::adam::{Adam, Optimizer, Sgd};
use crate::nn::init::Init;
use crate::nn::model::Sequential;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum GanLoss {
    /// Least squares GAN (Mao et al.) with codes a (fake), b (real) and c (what G wants D to say):
    /// D minimises ½E[(D(x)−b)²] + ½E[(D(G(z))−a)²], G minimises ½E[(D(G(z))−c)²].
    Lsgan { a: f32, b: f32, c: f32 },
    /// Boundary-seeking GAN (Hjelm et al.), continuous data: D is the usual BCE classifier, G
    /// minimises ½E[(log D(G(z)) − log(1 − D(G(z))))²] = ½E[logit²].
    Bgan,
    /// Goodfellow's GAN with the non-saturating generator loss, on logits: G minimises
    /// −E[log D(G(z))].
    Standard,
    /// Goodfellow's original minimax GAN: G minimises E[log(1 − D(G(z)))], whose gradient
    /// vanishes while D rejects the fakes confidently (why the non-saturating form exists).
    Minimax,
    /// Boundary-seeking GAN for discrete data: G outputs Bernoulli logits, `samples` binary
    /// images are drawn per noise vector, D is the usual BCE classifier, and G minimises the
    /// importance-weighted negative log-likelihood of its own samples (src/gan/discrete.rs).
    BganDiscrete { samples: usize, estimator: Estimator },
}

/// How `bgan-discrete` turns D's logits on the M samples of each noise vector into constant
/// weights on their log-likelihoods (wgsl/discrete.wgsl).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Estimator {
    /// BGAN's: normalised importance weights, a softmax of D's logits over the M samples.
    #[default]
    Importance,
    /// REINFORCE, which the BGAN paper compares against: D's logit as the reward, less the
    /// mean reward of the same noise vector's samples as a baseline, over M.
    Reinforce,
}

impl Estimator {
    pub fn name(self) -> &'static str {
        match self {
            Estimator::Importance => "importance",
            Estimator::Reinforce => "reinforce",
        }
    }

    pub fn parse(s: &str) -> Result<Estimator> {
        match s {
            "importance" => Ok(Estimator::Importance),
            "reinforce" => Ok(Estimator::Reinforce),
            _ => Err(Error::Param(format!("unknown estimator '{s}' (expected importance or reinforce)"))),
        }
    }
}

/// How one training iteration updates the two models.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Schedule {
    /// D steps (`d_steps` of them), then a G step with fresh noise through the updated D.
    #[default]
    Alternating,
    /// One step for both: maximise over D and G together
    /// E[log D(x)] + E[log(1 − D(sg(G(z))))] + λ·E[log D(G(z)) − log D(sg(G(z)))]
    /// (sg: stop-gradient; the analogous form for the other losses). One G forward and one D forward of the fake batch serve both updates: D's
    /// gradient is its own loss's (the λ term's cancels), G's comes through D before D's update,
    /// and λ is the ratio of G's learning rate to D's. The λ term's value is always 0, so the
    /// logged G loss is the ordinary one. Simultaneous steps of two players orbit where
    /// alternating ones settle, so both models take optimistic Adam steps by default
    /// (`Schedule::default_optimism`).
    Merged,
}

impl Schedule {
    pub fn name(self) -> &'static str {
        match self {
            Schedule::Alternating => "alternating",
            Schedule::Merged => "merged",
        }
    }

    /// Adam's optimism when the config names none: 1 (Daskalakis et al.'s optimistic Adam) for
    /// the merged schedule, which trains far worse without it (README, Sample quality), and 0 for
    /// alternating steps.
    pub fn default_optimism(self) -> f32 {
        match self {
            Schedule::Alternating => 0.0,
            Schedule::Merged => 1.0,
        }
    }

    pub fn parse(s: &str) -> Result<Schedule> {
        match s {
            "alternating" => Ok(Schedule::Alternating),
            "merged" => Ok(Schedule::Merged),
            _ => Err(Error::Param(format!("unknown schedule '{s}' (expected alternating or merged)"))),
        }
    }
}

/// Samples per noise vector of `bgan-discrete` when none is given (the paper's M = 20).
pub const DEFAULT_BGAN_SAMPLES: usize = 20;
/// A bound that keeps the D pass over N·M samples within reason.
pub const MAX_BGAN_SAMPLES: usize = 1024;

impl GanLoss {
    /// (D's term on real data, D's term on fakes).
    pub fn d_terms(self) -> (Term, Term) {
        match self {
            GanLoss::Lsgan { a, b, .. } => (Term::LeastSquares(b), Term::LeastSquares(a)),
            _ => (Term::BceLogits(1.0), Term::BceLogits(0.0)),
        }
    }

    /// G's term on D's output for its samples; `None` for `BganDiscrete`, whose generator loss
    /// is not a function of D's output alone.
    pub fn g_term(self) -> Option<Term> {
        match self {
            GanLoss::Lsgan { c, .. } => Some(Term::LeastSquares(c)),
            GanLoss::Bgan => Some(Term::LeastSquares(0.0)),
            GanLoss::Standard => Some(Term::BceLogits(1.0)),
            GanLoss::Minimax => Some(Term::NegBceLogits(0.0)),
            GanLoss::BganDiscrete { .. } => None,
        }
    }

    /// Thresholded data for a loss of discrete data, grey levels for the others.
    pub fn default_binarize(self) -> Binarize {
        match self {
            GanLoss::BganDiscrete { .. } => Binarize::Threshold,
            _ => Binarize::Off,
        }
    }

    /// The generator head this loss trains.
    pub fn head(self) -> Head {
        match self {
            GanLoss::BganDiscrete { .. } => Head::BernoulliLogits,
            _ => Head::Tanh,
        }
    }

    /// Binary samples per noise vector for a loss of discrete data, else `None`.
    pub fn discrete_samples(self) -> Option<usize> {
        match self {
            GanLoss::BganDiscrete { samples, .. } => Some(samples),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            GanLoss::Lsgan { .. } => "lsgan",
            GanLoss::Bgan => "bgan",
            GanLoss::Standard => "gan",
            GanLoss::Minimax => "mmgan",
            GanLoss::BganDiscrete { .. } => "bgan-discrete",
        }
    }

    /// `lsgan` (a=0, b=1, c=1), `bgan`, `gan`, `mmgan`, `bgan-discrete` (20 samples).
    pub fn parse(s: &str) -> Result<GanLoss> {
        match s {
            "lsgan" => Ok(GanLoss::Lsgan { a: 0.0, b: 1.0, c: 1.0 }),
            "bgan" => Ok(GanLoss::Bgan),
            "gan" | "standard" => Ok(GanLoss::Standard),
            "mmgan" | "minimax" => Ok(GanLoss::Minimax),
            "bgan-discrete" => {
                Ok(GanLoss::BganDiscrete { samples: DEFAULT_BGAN_SAMPLES, estimator: Estimator::Importance })
            }
            _ => Err(Error::Param(format!("unknown loss '{s}' (expected lsgan, bgan, gan, mmgan or bgan-discrete)"))),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub model: Preset,
    pub loss: GanLoss,
    /// Latent size Z.
    pub z: usize,
    pub batch: usize,
    pub lr_d: f32,
    pub lr_g: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    /// Discriminator steps per generator step.
    pub d_steps: usize,
    pub seed: u64,
    pub init: Init,
    /// Iterations between loss read-backs.
    pub log_every: usize,
    /// Real images as grey levels or binary (`bgan-discrete` needs binary ones).
    pub binarize: Binarize,
    /// Adam (with `beta1`, `beta2`, `eps`), or SGD with this momentum (`None`: Adam).
    pub sgd_momentum: Option<f32>,
    pub schedule: Schedule,
    /// Optimistic Adam's k for both models (`Adam::optimistic`); `None`: the schedule's default.
    /// SGD takes none.
    pub optimism: Option<f32>,
    /// Decay of the generator's exponential moving average (`None`: no EMA). With one, samples,
    /// metrics and generator-only exports use the average.
    pub ema: Option<f32>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            model: Preset::Mlp,
            loss: GanLoss::Lsgan { a: 0.0, b: 1.0, c: 1.0 },
            z: 100,
            batch: 64,
            lr_d: 2e-4,
            lr_g: 2e-4,
            beta1: 0.5,
            beta2: 0.999,
            eps: 1e-8,
            d_steps: 1,
            seed: 0,
            init: Init::Torch,
            log_every: 10,
            binarize: Binarize::Off,
            sgd_momentum: None,
            schedule: Schedule::Alternating,
            optimism: None,
            ema: None,
        }
    }
}

/// Upper bounds `validate` holds a config to, so a config from a file (a checkpoint's metadata,
/// the web page's text) cannot make the trainer overflow or allocate without bound. Latent size:
/// the dcgan generator's first layer holds 6272·z weights, 103 MB at 4096, within the 128 MiB a
/// storage buffer may bind by default.
pub const MAX_Z: usize = 4096;
/// Discriminator steps per generator step: each is one more replay of the D plan per iteration.
pub const MAX_D_STEPS: usize = 1000;
/// Iterations between loss read-backs: one recorded copy plan and 8 bytes of history for each.
pub const MAX_LOG_EVERY: usize = 10_000;

impl Config {
    /// The defaults for a preset (its usual initialisation).
    /// The optimiser of a model trained at learning rate `lr`.
    pub fn optimizer(&self, lr: f32) -> Result<Optimizer> {
        Ok(match self.sgd_momentum {
            None => Optimizer::Adam(Adam::new(lr, self.beta1, self.beta2, self.eps)?.optimistic(self.optimism())?),
            Some(momentum) => Optimizer::Sgd(Sgd::new(lr, momentum)?),
        })
    }

    /// Adam's optimism this run uses: the config's, else its schedule's default.
    pub fn optimism(&self) -> f32 {
        self.optimism.unwrap_or(self.schedule.default_optimism())
    }

    /// The generator this config trains, initialised from its seed.
    pub fn generator(&self, gpu: &Gpu) -> Result<Sequential> {
        self.model.generator(gpu, self.z, self.init, self.seed, self.loss.head())
    }

    pub fn for_model(model: Preset) -> Config {
        Config { model, init: model.default_init(), ..Config::default() }
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str| Err(Error::Param(what.to_string()));
        if self.z == 0 {
            return bad("latent size z must be positive");
        }
        if self.z > MAX_Z {
            return bad(&format!("latent size z = {} is over the limit of {MAX_Z}", self.z));
        }
        if self.batch == 0 {
            return bad("batch must be positive");
        }
        if self.d_steps == 0 || self.d_steps > MAX_D_STEPS {
            return bad(&format!(
                "d_steps (discriminator steps per generator step) must be from 1 to {MAX_D_STEPS}, not {}",
                self.d_steps
            ));
        }
        if self.log_every == 0 || self.log_every > MAX_LOG_EVERY {
            return bad(&format!("log_every must be from 1 to {MAX_LOG_EVERY}, not {}", self.log_every));
        }
        if let GanLoss::Lsgan { a, b, c } = self.loss {
            if ![a, b, c].iter().all(|v| v.is_finite()) {
                return bad("LSGAN codes a, b, c must be finite");
            }
        }
        if let (Some(_), Some(k)) = (self.sgd_momentum, self.optimism) {
            if k != 0.0 {
                return bad("optimism is an option of Adam; SGD takes none");
            }
        }
        self.optimizer(self.lr_d)?;
        self.optimizer(self.lr_g)?;
        if self.schedule == Schedule::Merged {
            if self.d_steps != 1 {
                return bad("the merged schedule updates D and G once each per step: d_steps must be 1");
            }
            if self.loss.g_term().is_none() {
                return bad("the merged schedule needs a generator loss on D's output; bgan-discrete has none");
            }
        }
        if let Some(decay) = self.ema {
            if !(decay > 0.0 && decay < 1.0) {
                return bad(&format!(
                    "the EMA decay must lie strictly between 0 and 1 (e.g. 0.999), not {}",
                    FloatText(decay)
                ));
            }
        }
        if let GanLoss::BganDiscrete { samples, .. } = self.loss {
            if !(1..=MAX_BGAN_SAMPLES).contains(&samples) {
                return Err(Error::Param(format!(
                    "bgan-discrete draws 1 to {MAX_BGAN_SAMPLES} samples per noise vector, not {samples}"
                )));
            }
            if self.binarize == Binarize::Off {
                return bad(
                    "bgan-discrete learns binary images: binarize the data (--binarize threshold or stochastic)",
                );
            }
        }
        Ok(())
    }

    /// `key=value` pairs separated by spaces (stored as checkpoint metadata).
    pub fn to_text(&self) -> String {
        let (a, b, c) = match self.loss {
            GanLoss::Lsgan { a, b, c } => (a, b, c),
            _ => (0.0, 1.0, 1.0),
        };
        let init = match self.init {
            Init::Torch => "torch",
            Init::Dcgan => "dcgan",
        };
        format!(
            "model={} loss={} a={} b={} c={} z={} batch={} lr_d={} lr_g={} beta1={} beta2={} eps={} d_steps={} seed={} init={init} log_every={} binarize={} bgan_samples={}{}",
            self.model.name(),
            self.loss.name(),
            FloatText(a),
            FloatText(b),
            FloatText(c),
            self.z,
            self.batch,
            FloatText(self.lr_d),
            FloatText(self.lr_g),
            FloatText(self.beta1),
            FloatText(self.beta2),
            FloatText(self.eps),
            self.d_steps,
            self.seed,
            self.log_every,
            self.binarize.name(),
            self.loss.discrete_samples().unwrap_or(DEFAULT_BGAN_SAMPLES),
            // Only SGD runs name an optimiser, so Adam configs read as they always have (and so on
            // for the other non-defaults).
            self.sgd_momentum.map(|m| format!(" optimizer=sgd momentum={}", FloatText(m))).unwrap_or_default()
                + if self.schedule == Schedule::Merged { " schedule=merged" } else { "" }
                + &self.optimism.map(|k| format!(" optimism={}", FloatText(k))).unwrap_or_default()
                + &self.ema.map(|d| format!(" ema={}", FloatText(d))).unwrap_or_default()
                + match self.loss {
                    GanLoss::BganDiscrete { estimator: Estimator::Reinforce, .. } => " estimator=reinforce",
                    _ => "",
                }
        )
    }

    pub fn from_text(text: &str) -> Result<Config> {
        let mut c = Config::default();
        let (mut a, mut b, mut cc) = (0.0, 1.0, 1.0);
        let mut loss = "lsgan".to_string();
        let (mut binarize, mut samples, mut estimator) = (None, DEFAULT_BGAN_SAMPLES, Estimator::Importance);
        let (mut sgd, mut momentum) = (false, 0.0f32);
        for pair in text.split_whitespace() {
            let (k, v) =
                pair.split_once('=').ok_or_else(|| Error::Format(format!("config entry '{pair}' is not key=value")))?;
            let num = |v: &str| v.parse::<f64>().map_err(|_| Error::Format(format!("config {k}={v}: not a number")));
            let count =
                |v: &str| v.parse::<usize>().map_err(|_| Error::Format(format!("config {k}={v}: not a whole number")));
            match k {
                "model" => c.model = Preset::parse(v)?,
                "loss" => loss = v.to_string(),
                "a" => a = num(v)? as f32,
                "b" => b = num(v)? as f32,
                "c" => cc = num(v)? as f32,
                "z" => c.z = count(v)?,
                "batch" => c.batch = count(v)?,
                "lr_d" => c.lr_d = num(v)? as f32,
                "lr_g" => c.lr_g = num(v)? as f32,
                "beta1" => c.beta1 = num(v)? as f32,
                "beta2" => c.beta2 = num(v)? as f32,
                "eps" => c.eps = num(v)? as f32,
                "d_steps" => c.d_steps = count(v)?,
                "seed" => c.seed = v.parse().map_err(|_| Error::Format(format!("config seed={v}: not an integer")))?,
                "init" => {
                    c.init = match v {
                        "torch" => Init::Torch,
                        "dcgan" => Init::Dcgan,
                        _ => return Err(Error::Format(format!("config init={v}: expected torch or dcgan"))),
                    }
                }
                "log_every" => c.log_every = count(v)?,
                "binarize" => binarize = Some(Binarize::parse(v)?),
                "optimizer" => {
                    sgd = match v {
                        "adam" => false,
                        "sgd" => true,
                        _ => return Err(Error::Format(format!("config optimizer={v}: expected adam or sgd"))),
                    }
                }
                "momentum" => momentum = num(v)? as f32,
                "schedule" => c.schedule = Schedule::parse(v)?,
                "optimism" => c.optimism = Some(num(v)? as f32),
                "ema" => c.ema = Some(num(v)? as f32),
                "bgan_samples" => samples = count(v)?,
                "estimator" => estimator = Estimator::parse(v)?,
                _ => return Err(Error::Format(format!("unknown config key '{k}'"))),
            }
        }
        c.loss = match GanLoss::parse(&loss)? {
            GanLoss::Lsgan { .. } => GanLoss::Lsgan { a, b, c: cc },
            GanLoss::BganDiscrete { .. } => GanLoss::BganDiscrete { samples, estimator },
            _ if estimator != Estimator::Importance => {
                return Err(Error::Format(format!("config estimator={}: only bgan-discrete has one", estimator.name())))
            }
            other => other,
        };
        c.binarize = binarize.unwrap_or(c.loss.default_binarize());
        c.sgd_momentum = sgd.then_some(momentum);
        c.validate()?;
        Ok(c)
    }

    pub fn from_checkpoint(c: &Checkpoint) -> Result<Config> {
        let text = c
            .metadata
            .get("config")
            .ok_or_else(|| Error::Format("checkpoint has no training config; was it written by the trainer?".into()))?;
        Config::from_text(text)
    }
}
