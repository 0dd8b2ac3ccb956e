//! The train example's command line: every option, its checks and its errors (the tests
//! include this file to hold the messages to the bad-input table in the README).

use nanogan::gan::config::{Config, Estimator, GanLoss, Schedule, DEFAULT_BGAN_SAMPLES};
use nanogan::gan::presets::Preset;
use nanogan::io::data::Binarize;
use nanogan::{Error, Init, Result};
use std::path::PathBuf;

pub const HELP: &str = "\
Train a GAN on MNIST-format images with nanogan.

USAGE: cargo run --release --example train -- [OPTIONS]

  --model mlp|dcgan     model pair (default mlp)
  --loss lsgan|bgan|gan|mmgan|bgan-discrete
                        GAN objective (default lsgan); gan is the non-saturating form,
                        mmgan the original minimax one (its G gradient vanishes early);
                        bgan-discrete learns binary images with a Bernoulli generator
  --bgan-samples M      bgan-discrete: binary samples per noise vector (default 20)
  --estimator importance|reinforce
                        bgan-discrete: BGAN's normalised importance weights (default),
                        or REINFORCE with D's logit as reward and the mean over the
                        same noise vector's samples as baseline (the paper's comparison)
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
  --optimizer adam|sgd  optimiser of both models (default adam)
  --momentum M          SGD momentum (default 0)
  --d-steps K           discriminator steps per generator step (default 1)
  --schedule alternating|merged
                        merged: one step updates D and G from one fake batch, G's
                        gradient through D before D's update (default alternating)
  --optimism K          optimistic Adam: each step moves (1+K)·u_t − K·u_(t−1), u being
                        Adam's step (default 1 with --schedule merged, else 0)
  --ema DECAY|off       the decay of the exponential moving average of G's weights that
                        samples, metrics and --f16 use (default 0.999; off: G itself)
  --eval-every N        every N iterations and at the end, score 2,000 samples (FID, KID,
                        IS, KDE, modes; see `--example eval`) into out/metrics.csv (default 0: off)
  --eval-samples N      samples per evaluation (default 2000)
  --classifier FILE     the metrics' feature network (default: the digit classifier shipped
                        with nanogan; for other data, train one with `--example classifier`)
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

/// The train command's EMA decay unless `--ema` says otherwise.
pub const DEFAULT_EMA: f32 = 0.999;

pub struct Args {
    pub config: Config,
    pub steps: u64,
    pub data: Option<PathBuf>,
    pub out: Option<PathBuf>,
    pub sample_every: u64,
    pub checkpoint_every: u64,
    pub resume: Option<PathBuf>,
    pub npy: usize,
    pub f16: bool,
    pub quiet: bool,
    pub eval_every: u64,
    pub eval_samples: usize,
    pub classifier: Option<PathBuf>,
}

/// Parses the command line (without the program name); `None` when `--help` was printed.
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Args>> {
    let mut a = Args {
        // The EMA scored better than G itself at equal budget (README, Sample quality).
        config: Config { ema: Some(DEFAULT_EMA), ..Config::default() },
        steps: 3000,
        data: None,
        out: None,
        sample_every: 500,
        checkpoint_every: 1000,
        resume: None,
        npy: 0,
        f16: false,
        quiet: false,
        eval_every: 0,
        eval_samples: 2000,
        classifier: None,
    };
    let mut init: Option<Init> = None;
    let (mut la, mut lb, mut lc) = (0.0f32, 1.0f32, 1.0f32);
    let mut loss = "lsgan".to_string();
    let (mut binarize, mut samples, mut estimator) = (None, DEFAULT_BGAN_SAMPLES, Estimator::Importance);
    // Options that belong to one loss, so one given with another is refused, not ignored.
    let mut loss_options: Vec<(String, &str)> = Vec::new();
    let mut optimizer_options: Vec<(String, &str)> = Vec::new();
    let (mut optimizer, mut momentum) = ("adam".to_string(), 0.0f32);
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| Error::Param(format!("{flag} needs a value (see --help)")));
        fn num<T: std::str::FromStr>(flag: &str, v: String) -> Result<T> {
            v.parse().map_err(|_| Error::Param(format!("{flag} {v}: not a valid number")))
        }
        match flag.as_str() {
            "--a" | "--b" | "--c" => loss_options.push((flag.clone(), "lsgan")),
            "--bgan-samples" | "--estimator" => loss_options.push((flag.clone(), "bgan-discrete")),
            "--beta1" | "--beta2" | "--optimism" => optimizer_options.push((flag.clone(), "adam")),
            "--momentum" => optimizer_options.push((flag.clone(), "sgd")),
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
            "--estimator" => estimator = Estimator::parse(&value()?)?,
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
            "--optimizer" => optimizer = value()?,
            "--schedule" => a.config.schedule = Schedule::parse(&value()?)?,
            "--optimism" => a.config.optimism = Some(num(&flag, value()?)?),
            "--momentum" => momentum = num(&flag, value()?)?,
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
            "--ema" => {
                a.config.ema = match value()?.as_str() {
                    "off" | "0" => None,
                    v => Some(num(&flag, v.to_string())?),
                }
            }
            "--eval-every" => a.eval_every = num(&flag, value()?)?,
            "--eval-samples" => a.eval_samples = num(&flag, value()?)?,
            "--classifier" => a.classifier = Some(PathBuf::from(value()?)),
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
        GanLoss::BganDiscrete { .. } => GanLoss::BganDiscrete { samples, estimator },
        other => other,
    };
    a.config.binarize = binarize.unwrap_or(a.config.loss.default_binarize());
    a.config.sgd_momentum = match optimizer.as_str() {
        "adam" => None,
        "sgd" => Some(momentum),
        other => return Err(Error::Param(format!("--optimizer {other}: expected adam or sgd"))),
    };
    if let Some((flag, owner)) = optimizer_options.iter().find(|(_, owner)| *owner != optimizer) {
        return Err(Error::Param(format!(
            "{flag} applies only to --optimizer {owner}, and this run's optimiser is {optimizer}; drop it or change --optimizer"
        )));
    }
    a.config.init = init.unwrap_or(a.config.model.default_init());
    if a.eval_samples < 2 || a.eval_samples > 50_000 {
        return Err(Error::Param(format!("--eval-samples {}: from 2 to 50,000", a.eval_samples)));
    }
    a.config.validate()?;
    Ok(Some(a))
}
