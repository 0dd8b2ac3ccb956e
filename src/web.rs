//! The browser API: thin `#[wasm_bindgen]` wrappers over the same `Gpu`, `Trainer` and
//! `Checkpoint` the native binaries use. Errors cross into JavaScript as `Error`s carrying the
//! crate's own messages (this is the only place `JsError` appears).
//!
//! ```js
//! import init, { Lab } from "./pkg/nanogan.js";
//! await init();
//! const lab = await Lab.open();                      // navigator.gpu, WebGPU default limits
//! await lab.setDataset(imagesGz, labelsGz);          // IDX bytes, gzipped or raw
//! lab.start("model=mlp loss=lsgan batch=64 seed=0"); // Config's text form
//! const losses = await lab.train(10);                // [step, d, g, step, d, g, ...]
//! const grid = await lab.grid(true, 64, 8, 2);       // fixed-noise samples as RGBA
//! ctx.putImageData(new ImageData(grid.rgba, grid.width, grid.height), 0, 0);
//! ```
//!
//! Every method that touches the GPU is async: the page never blocks. A method that needs the
//! trainer while another call still holds it fails with a "busy" error instead of waiting.

use crate::error::{Error, Result};
use crate::gan::config::Config;
use crate::gan::sample::{self, fixed_noise, interpolate};
use crate::gan::train::{LogEntry, Trainer};
use crate::gpu::Gpu;
use crate::io::checkpoint::Checkpoint;
use crate::io::data::{is_gzip, parse_idx, Dataset};
use crate::io::image;
use crate::metrics::features::FeatureNet;
use crate::metrics::Reference;
use crate::nn::model::Sequential;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::Clamped;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console)]
    fn error(message: &str);
}

// The browser's own inflate: a Rust one (flate2) would add about 27 KB to the gzipped wasm.
#[wasm_bindgen(inline_js = "export function gunzip(bytes) {
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
    return new Response(stream).arrayBuffer();
}")]
extern "C" {
    #[wasm_bindgen(catch)]
    async fn gunzip(bytes: &[u8]) -> std::result::Result<JsValue, JsValue>;
}

/// `bytes` decompressed if they are gzip, else as they are. `what` names them in errors.
async fn maybe_gunzip(bytes: Vec<u8>, what: &str) -> std::result::Result<Vec<u8>, JsError> {
    if !is_gzip(&bytes) {
        return Ok(bytes);
    }
    match gunzip(&bytes).await {
        Ok(buffer) => Ok(js_sys::Uint8Array::new(&buffer).to_vec()),
        Err(e) => {
            let reason = e.as_string().or_else(|| js_sys::Error::from(e).message().as_string()).unwrap_or_default();
            Err(js(Error::Format(format!("{what}: not a valid gzip stream (truncated or corrupt?): {reason}"))))
        }
    }
}

/// Sends Rust panics to the console (they would otherwise show only as "unreachable").
#[wasm_bindgen(start)]
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| error(&format!("nanogan panicked: {info}"))));
}

fn js(e: Error) -> JsError {
    JsError::new(&e.to_string())
}

/// A generator loaded for sampling only (e.g. the page's bundled pretrained one).
struct Generator {
    g: Sequential,
    config: Config,
    /// Its scores, when the file carries them (`eval --export-f16` writes them).
    metrics: String,
}

/// An image ready for `new ImageData(grid.rgba, grid.width, grid.height)`.
#[wasm_bindgen]
pub struct Grid {
    width: usize,
    height: usize,
    rgba: Vec<u8>,
}

#[wasm_bindgen]
impl Grid {
    #[wasm_bindgen(getter)]
    pub fn width(&self) -> usize {
        self.width
    }
    #[wasm_bindgen(getter)]
    pub fn height(&self) -> usize {
        self.height
    }
    /// Pixels as a Uint8ClampedArray, 4 bytes (grey, grey, grey, 255) each.
    #[wasm_bindgen(getter)]
    pub fn rgba(&self) -> Clamped<Vec<u8>> {
        Clamped(self.rgba.clone())
    }
}

/// One page's GPU, dataset, trainer and pretrained generator.
#[wasm_bindgen]
pub struct Lab {
    gpu: Gpu,
    dataset: RefCell<Option<Dataset>>,
    trainer: RefCell<Option<Trainer>>,
    pretrained: RefCell<Option<Generator>>,
    /// True while an async call has the trainer out of its cell.
    busy: Cell<bool>,
    /// The trainer's step and config, readable even while a call has it out.
    step: Cell<u64>,
    config: RefCell<String>,
    /// The metrics' classifier and its real-data references (grey and binary), fitted on the
    /// dataset the first time each is needed.
    classifier: RefCell<Option<Rc<FeatureNet>>>,
    references: RefCell<[Option<Rc<Reference>>; 2]>,
}

/// Real images FID's Gaussian is fitted on in the browser (the native default is up to 10,000).
const WEB_STATS: usize = 2000;

#[wasm_bindgen]
impl Lab {
    /// Opens the browser's WebGPU adapter; rejects with a clear message where there is none.
    pub async fn open() -> std::result::Result<Lab, JsError> {
        let gpu = Gpu::new().await.map_err(js)?;
        Ok(Lab {
            gpu,
            dataset: RefCell::new(None),
            trainer: RefCell::new(None),
            pretrained: RefCell::new(None),
            busy: Cell::new(false),
            step: Cell::new(0),
            config: RefCell::new(String::new()),
            classifier: RefCell::new(None),
            references: RefCell::new([None, None]),
        })
    }

    /// The adapter in use, for the page to show.
    pub fn adapter(&self) -> String {
        self.gpu.describe()
    }

    /// Loads the training images (IDX, gzipped or raw; e.g. train-images-idx3-ubyte.gz) and
    /// optional labels. Resolves with the number of images.
    #[wasm_bindgen(js_name = setDataset)]
    pub async fn set_dataset(&self, images: Vec<u8>, labels: Option<Vec<u8>>) -> std::result::Result<usize, JsError> {
        let images = maybe_gunzip(images, "train-images").await?;
        let labels = match labels {
            Some(l) => Some(maybe_gunzip(l, "train-labels").await?),
            None => None,
        };
        let images = parse_idx(&images, "train-images").map_err(js)?;
        let labels = labels.map(|l| parse_idx(&l, "train-labels")).transpose().map_err(js)?;
        let ds = Dataset::from_idx(images, labels, "train-images").map_err(js)?;
        let n = ds.n;
        *self.dataset.borrow_mut() = Some(ds);
        *self.references.borrow_mut() = [None, None];
        Ok(n)
    }

    /// A fresh trainer from `Config`'s text form (`model=dcgan loss=bgan lr_d=2e-4 ...`; keys
    /// left out take their defaults, `init` the preset's usual one). Replaces any trainer.
    pub fn start(&self, config: &str) -> std::result::Result<(), JsError> {
        let mut c = Config::from_text(config).map_err(js)?;
        if !config.split_whitespace().any(|kv| kv.starts_with("init=")) {
            c.init = c.model.default_init();
        }
        let t = {
            let ds = self.dataset.borrow();
            let ds = ds.as_ref().ok_or_else(no_dataset)?;
            Trainer::new(&self.gpu, c, ds).map_err(js)?
        };
        self.put_trainer(t)
    }

    /// Loads the metrics' classifier (safetensors bytes: the `classifier-f16.safetensors`
    /// web/build.sh copies beside the digits). Forgets references fitted with an earlier one.
    #[wasm_bindgen(js_name = setClassifier)]
    pub fn set_classifier(&self, bytes: &[u8]) -> std::result::Result<(), JsError> {
        let c = Checkpoint::from_bytes(bytes, "classifier weights").map_err(js)?;
        let net = FeatureNet::from_checkpoint(&self.gpu, &c).map_err(js)?;
        *self.classifier.borrow_mut() = Some(Rc::new(net));
        *self.references.borrow_mut() = [None, None];
        Ok(())
    }

    /// Scores `n` samples of the trainer's generator (its EMA when kept) from fixed noise
    /// against the loaded dataset: resolves with [FID, IS, modes, then the 10 classes' counts].
    /// The first call also fits the real images' reference (a few seconds). KID and the KDE are
    /// left to the native `eval` (they need thousands of samples and the CPU).
    pub async fn evaluate(&self, n: u32) -> std::result::Result<Vec<f64>, JsError> {
        let net = self.classifier.borrow().clone().ok_or_else(|| {
            JsError::new("no classifier loaded: call setClassifier(bytes) with classifier-f16.safetensors first")
        })?;
        let t = self.take_trainer()?;
        let result = self.score(&net, &t, n as usize).await;
        self.give_back(t);
        let r = result.map_err(js)?;
        let mut out = vec![r.fid, r.inception_score, r.modes as f64];
        out.extend(r.histogram.iter().map(|&c| c as f64));
        Ok(out)
    }

    /// What the benchmark page reports beside its timings: [dispatches per iteration, FLOPs of
    /// one iteration's matrix products, bytes of GPU buffers this Lab has created].
    #[wasm_bindgen(js_name = benchInfo)]
    pub fn bench_info(&self) -> std::result::Result<Vec<f64>, JsError> {
        let t = self.trainer.borrow();
        let t = t.as_ref().ok_or_else(no_trainer)?;
        let flops = t.iteration_flops().map_err(js)?;
        Ok(vec![t.iteration_dispatches() as f64, flops, self.gpu.allocated_bytes() as f64])
    }

    #[wasm_bindgen(js_name = hasTrainer)]
    pub fn has_trainer(&self) -> bool {
        self.busy.get() || self.trainer.borrow().is_some()
    }

    #[wasm_bindgen(js_name = hasGenerator)]
    pub fn has_generator(&self) -> bool {
        self.pretrained.borrow().is_some()
    }

    /// The running trainer's config in text form (empty without a trainer).
    pub fn config(&self) -> String {
        self.config.borrow().clone()
    }

    /// Iterations the trainer has completed.
    pub fn step(&self) -> f64 {
        self.step.get() as f64
    }

    /// Runs `steps` iterations and resolves with their losses as a Float32Array of
    /// (step, D loss, G loss) triples. Rejects on a NaN/Inf loss, naming the step.
    pub async fn train(&self, steps: u32) -> std::result::Result<Vec<f32>, JsError> {
        let mut t = self.take_trainer()?;
        let result = run(&self.gpu, &mut t, steps).await;
        self.give_back(t);
        result.map_err(js)
    }

    /// `n` samples tiled `cols` wide, each pixel drawn `scale`×`scale`, from the trainer's
    /// generator (`trained`) or the pretrained one. The noise is the fixed noise of `seed`, or of
    /// the generator's own training seed when `seed` is undefined (as in the native sample grids).
    pub async fn grid(
        &self,
        trained: bool,
        n: u32,
        cols: u32,
        scale: u32,
        seed: Option<u32>,
    ) -> std::result::Result<Grid, JsError> {
        let z = |c: &Config| fixed_noise(seed.map_or(c.seed, u64::from), n as usize, c.z);
        self.draw(trained, z, cols, scale).await
    }

    /// A walk through latent space: `steps` images on the straight line between noise vectors
    /// drawn with seeds `from` and `to`, in one row.
    pub async fn walk(
        &self,
        trained: bool,
        from: u32,
        to: u32,
        steps: u32,
        scale: u32,
    ) -> std::result::Result<Grid, JsError> {
        let z = |c: &Config| {
            let a = fixed_noise(from as u64, 1, c.z);
            let b = fixed_noise(to as u64, 1, c.z);
            interpolate(&a, &b, steps.max(1) as usize)
        };
        self.draw(trained, z, steps.max(1), scale).await
    }

    /// The trainer's full checkpoint (f32 weights, Adam moments, clocks, config, step) as
    /// safetensors bytes; with `f16`, the generator alone in half precision (for sampling).
    pub async fn checkpoint(&self, f16: bool) -> std::result::Result<Vec<u8>, JsError> {
        let t = self.take_trainer()?;
        let c = t.checkpoint(&self.gpu).await;
        self.give_back(t);
        let mut c = c.map_err(js)?;
        if f16 {
            c = c.generator_only();
        }
        c.to_bytes(f16).map_err(js)
    }

    /// Loads safetensors bytes. A full training checkpoint resumes training (resolves
    /// "trainer"); a generator-only file (f16 or f32) becomes the pretrained sampler
    /// (resolves "generator"). `name` is used in error messages.
    pub fn load(&self, bytes: &[u8], name: &str) -> std::result::Result<String, JsError> {
        let c = Checkpoint::from_bytes(bytes, name).map_err(js)?;
        let full = c.tensors.keys().any(|k| k.starts_with("discriminator.")) && c.metadata.contains_key("step");
        if full {
            let t = {
                let ds = self.dataset.borrow();
                let ds = ds.as_ref().ok_or_else(no_dataset)?;
                Trainer::resume(&self.gpu, &c, ds).map_err(js)?
            };
            self.put_trainer(t)?;
            return Ok("trainer".into());
        }
        let config = Config::from_checkpoint(&c).map_err(|e| js(with_name(e, name)))?;
        let g = config.generator(&self.gpu).map_err(js)?;
        c.generator_only().restore(&self.gpu, &g).map_err(|e| js(with_name(e, name)))?;
        let metrics = c.metadata.get("metrics").cloned().unwrap_or_default();
        *self.pretrained.borrow_mut() = Some(Generator { g, config, metrics });
        Ok("generator".into())
    }

    /// The pretrained generator's scores as `eval` printed them (empty when the file has none).
    #[wasm_bindgen(js_name = pretrainedMetrics)]
    pub fn pretrained_metrics(&self) -> String {
        self.pretrained.borrow().as_ref().map(|p| p.metrics.clone()).unwrap_or_default()
    }

    /// The pretrained generator's config in text form (empty when none is loaded).
    #[wasm_bindgen(js_name = pretrainedConfig)]
    pub fn pretrained_config(&self) -> String {
        self.pretrained.borrow().as_ref().map(|p| p.config.to_text()).unwrap_or_default()
    }
}

impl Lab {
    fn take_trainer(&self) -> std::result::Result<Trainer, JsError> {
        if self.busy.get() {
            return Err(JsError::new("the trainer is busy with another call; await it before the next"));
        }
        let t = self.trainer.borrow_mut().take().ok_or_else(no_trainer)?;
        self.busy.set(true);
        Ok(t)
    }

    fn put_trainer(&self, t: Trainer) -> std::result::Result<(), JsError> {
        if self.busy.get() {
            return Err(JsError::new("the trainer is busy with another call; await it before replacing it"));
        }
        self.config.replace(t.config.to_text());
        self.step.set(t.step);
        self.trainer.replace(Some(t));
        Ok(())
    }

    async fn score(&self, net: &FeatureNet, t: &Trainer, n: usize) -> Result<crate::metrics::Report> {
        let binary = t.config.binarize != crate::io::data::Binarize::Off;
        let cached = self.references.borrow()[binary as usize].clone();
        let reference = match cached {
            Some(r) => r,
            None => {
                // Cloned out so no RefCell borrow is held across the await.
                let ds = self.dataset.borrow().clone().ok_or(Error::Param("no dataset loaded".into()))?;
                let r = Rc::new(
                    Reference::from_dataset_sized(&self.gpu, net, &ds, binary, "train-images", WEB_STATS).await?,
                );
                self.references.borrow_mut()[binary as usize] = Some(r.clone());
                r
            }
        };
        let z = fixed_noise(t.config.seed ^ 0xE7A1, n, t.config.z);
        let samples = t.sample(&self.gpu, &z).await?;
        reference.evaluate_quick(&self.gpu, net, &samples).await
    }

    fn give_back(&self, t: Trainer) {
        self.step.set(t.step);
        self.trainer.replace(Some(t));
        self.busy.set(false);
    }

    /// Samples noise `z(config)` through the chosen generator and tiles the images as RGBA.
    async fn draw(
        &self,
        trained: bool,
        z: impl Fn(&Config) -> Vec<f32>,
        cols: u32,
        scale: u32,
    ) -> std::result::Result<Grid, JsError> {
        let images = if trained {
            let t = self.take_trainer()?;
            let noise = z(&t.config);
            let images = t.sample(&self.gpu, &noise).await;
            self.give_back(t);
            images
        } else {
            // Taken out so no RefCell borrow is held across the await.
            let p = self.pretrained.borrow_mut().take().ok_or_else(|| {
                JsError::new("no pretrained generator is loaded (or it is busy); load a .safetensors file first")
            })?;
            let noise = z(&p.config);
            let view = sample::View::Binary { seed: p.config.seed };
            let images = sample::sample(&self.gpu, &p.g, p.config.z, &noise).await;
            let images = images.map(|raw| sample::images(raw, p.config.loss.head(), view));
            self.pretrained.replace(Some(p));
            images
        };
        let (width, height, grey) =
            image::grid(&images.map_err(js)?, 28, 28, cols as usize, 2, scale as usize).map_err(js)?;
        let rgba = grey.iter().flat_map(|&v| [v, v, v, 255]).collect();
        Ok(Grid { width, height, rgba })
    }
}

/// Submits `steps` iterations, reading the losses back whenever the history is full and once
/// at the end, so every call resolves with all of its losses.
async fn run(gpu: &Gpu, t: &mut Trainer, steps: u32) -> Result<Vec<f32>> {
    let mut out = Vec::with_capacity(steps as usize * 3);
    let mut push = |entries: Vec<LogEntry>| {
        out.extend(entries.iter().flat_map(|e| [e.step as f32, e.d_loss, e.g_loss]));
    };
    for _ in 0..steps {
        t.submit_iteration(gpu)?;
        if t.log_due() {
            push(t.read_losses(gpu).await?);
        }
    }
    push(t.read_losses(gpu).await?);
    Ok(out)
}

fn with_name(e: Error, name: &str) -> Error {
    match e {
        Error::Format(m) => Error::Format(format!("{name}: {m}")),
        other => other,
    }
}

fn no_dataset() -> JsError {
    JsError::new("no dataset loaded: call setDataset(imagesIdxGz) first")
}

fn no_trainer() -> JsError {
    JsError::new("no trainer: call start(config) (or load a checkpoint) first")
}
