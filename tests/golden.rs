//! Golden test: nanogan trains exactly like PyTorch.
//!
//! `reference/twin.py` builds nanogan's model pairs in PyTorch 2.x from nanogan's own initial
//! weights (a numpy Philox4x32-10 reproducing `InitRng`), runs two of nanogan's iterations on
//! fixed inputs with torch.optim.Adam, and dumps what it saw to tests/golden/ (one safetensors
//! file per preset × loss, inputs shared in inputs.safetensors). This test replays the same
//! inputs through `Trainer::with_host_inputs` and compares, after each iteration: both losses,
//! D's logits on the real and fake batch and G's output of the D step, every parameter, every
//! BatchNorm running statistic and both Adam moments; and, before training, the initial weights.
//! Neither Python nor torch is needed here. Regenerate the dumps as reference/README.md says.
//!
//! Tensors over 4096 values are dumped as 512 values at indices ⌊j·(n−1)/511⌋ plus
//! [Σx, Σ|x|, √Σx²]; smaller ones whole.
//!
//! Tolerances (f32 on both sides, different summation orders): `|got − want| ≤ atol + rtol·|want|`
//! where atol is a fraction of the magnitude of the tensor (moments: of the layer), so values
//! near zero are judged on their tensor's scale. Weights get one more allowance: Adam's first
//! steps move a weight by about lr·sign(g), so where the reference gradient is within the
//! exp_avg tolerance of zero the step's direction is not determined by f32 arithmetic, and such a
//! weight may differ by up to ~3·lr per step (see `step_allowance`). Those undetermined weights
//! would make the next iteration differ by ~1% (two flipped weights of dcgan's transposed conv
//! do), so after checking iteration k the test writes PyTorch's values of them over nanogan's
//! (`patch{k}/…` in the dump) and iteration k + 1 again starts from the same state.
//! `NANOGAN_GOLDEN_DIR` points the test at other dumps (e.g. deliberately broken ones);
//! `NANOGAN_GOLDEN_SAVE=dir` writes nanogan's state after each iteration there, for digging.

mod common;

use common::gpu;
use nanogan::gan::config::{Config, Estimator};
use nanogan::gan::presets::Preset;
use nanogan::gan::train::Trainer;
use nanogan::io::checkpoint::{Checkpoint, Stored};
use nanogan::nn::model::{Activations, Layer, Sequential, Shared};
use nanogan::{Gpu, Step};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

const SMALL: usize = 4096;
const SAMPLE: usize = 512;

/// The test device. Without an adapter the test fails, unless `NANOGAN_ALLOW_NO_GPU=1` says a
/// developer without Vulkan wants these tests skipped (CI never sets it).
fn golden_dir() -> PathBuf {
    match std::env::var_os("NANOGAN_GOLDEN_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden"),
    }
}

fn load(name: &str) -> Checkpoint {
    let path = golden_dir().join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (see reference/README.md)", path.display()));
    Checkpoint::from_bytes(&bytes, &path.display().to_string()).unwrap()
}

/// The dump's indices for a tensor of n > SMALL values: ⌊j·(n−1)/(SAMPLE−1)⌋.
fn sample_indices(n: usize) -> Vec<usize> {
    (0..SAMPLE as u64).map(|j| (j * (n as u64 - 1) / (SAMPLE as u64 - 1)) as usize).collect()
}

/// A dumped tensor: whole, or a sample with [Σx, Σ|x|, √Σx²] of the whole.
struct Want {
    values: Vec<f32>,
    /// Indices of `values` in the full tensor (None: whole).
    at: Option<Vec<usize>>,
    stats: Option<[f64; 3]>,
}

impl Want {
    fn get(dump: &Checkpoint, key: &str, n: usize) -> Want {
        let t = |k: &str| dump.tensors.get(k).map(|s: &Stored| s.data.clone());
        if n <= SMALL {
            let values = t(key).unwrap_or_else(|| panic!("dump has no '{key}'"));
            assert_eq!(values.len(), n, "{key}: dumped length");
            return Want { values, at: None, stats: None };
        }
        let values = t(&format!("{key}.sample")).unwrap_or_else(|| panic!("dump has no '{key}.sample'"));
        let s = t(&format!("{key}.stats")).unwrap_or_else(|| panic!("dump has no '{key}.stats'"));
        Want { values, at: Some(sample_indices(n)), stats: Some([s[0] as f64, s[1] as f64, s[2] as f64]) }
    }

    /// The compared elements of a full tensor.
    fn pick(&self, full: &[f32]) -> Vec<f32> {
        match &self.at {
            None => full.to_vec(),
            Some(at) => at.iter().map(|&i| full[i]).collect(),
        }
    }

    fn scale(&self) -> f64 {
        self.values.iter().fold(0.0f64, |m, v| m.max(v.abs() as f64))
    }
}

fn stats(x: &[f32]) -> [f64; 3] {
    let (mut s, mut a, mut q) = (0.0f64, 0.0f64, 0.0f64);
    for &v in x {
        let v = v as f64;
        s += v;
        a += v.abs();
        q += v * v;
    }
    [s, a, q.sqrt()]
}

/// Failures, and per category the worst |diff| / allowed seen (the margin left).
#[derive(Default)]
struct Report {
    failures: Vec<String>,
    worst: BTreeMap<&'static str, (f64, String)>,
}

impl Report {
    /// Elementwise |got − want| ≤ allowed[i]. For a sampled tensor also the full tensor's
    /// [Σx, Σ|x|, √Σx²]: if every element is within its allowance a, these are within Σa, Σa
    /// and √Σa²; the sample's allowances stand in for all n (twice over, for safety).
    fn check(&mut self, cat: &'static str, what: &str, full: &[f32], want: &Want, allowed: &[f64]) {
        let got = want.pick(full);
        assert_eq!(got.len(), want.values.len(), "{what}: compared length");
        let mut bad = Vec::new();
        let mut worst = 0.0f64;
        for (i, (&g, &w)) in got.iter().zip(&want.values).enumerate() {
            let d = (g as f64 - w as f64).abs();
            // Written so that NaN counts as a mismatch.
            let within = d <= allowed[i];
            if !within {
                let at = want.at.as_ref().map_or(i, |a| a[i]);
                bad.push(format!("[{at}] got {g:e} want {w:e} (allowed {:.1e})", allowed[i]));
            }
            worst = worst.max(if d.is_nan() { f64::INFINITY } else { d / allowed[i] });
        }
        if let Some(ws) = want.stats {
            let gs = stats(full);
            let n = full.len() as f64;
            let mean = allowed.iter().sum::<f64>() / allowed.len() as f64;
            let mean_sq = allowed.iter().map(|a| a * a).sum::<f64>() / allowed.len() as f64;
            let tol = [2.0 * n * mean, 2.0 * n * mean, 2.0 * (n * mean_sq).sqrt()];
            for k in 0..3 {
                let d = (gs[k] - ws[k]).abs();
                worst = worst.max(d / tol[k]);
                let within = d <= tol[k];
                if !within {
                    let name = ["sum", "sum|x|", "l2"][k];
                    bad.push(format!("{name} got {:e} want {:e} (allowed ±{:.1e})", gs[k], ws[k], tol[k]));
                }
            }
        }
        if !bad.is_empty() {
            let n = bad.len();
            bad.truncate(4);
            self.failures.push(format!("{what}: {n} mismatches, e.g. {}", bad.join(", ")));
        }
        let e = self.worst.entry(cat).or_insert((0.0, String::new()));
        if worst > e.0 {
            *e = (worst, what.to_string());
        }
    }

    /// |got − want| ≤ atol·scale + rtol·|want| elementwise.
    fn close(
        &mut self,
        cat: &'static str,
        what: &str,
        full: &[f32],
        want: &Want,
        scale: f64,
        (atol, rtol): (f64, f64),
    ) {
        let allowed: Vec<f64> = want.values.iter().map(|&w| atol * scale + rtol * w.abs() as f64 + 1e-30).collect();
        self.check(cat, what, full, want, &allowed);
    }
}

/// Tolerances, as fractions of a tensor's magnitude (atol) and of each value (rtol). Both sides
/// start each iteration from the same state up to f32 rounding, so they differ by summation
/// order only (PyTorch's own f32 run differs from its f64 run by ≤ 2e-6 of the scale in
/// iteration 1: `reference/twin.py --spread`).
const ACT: (f64, f64) = (2e-5, 1e-4); // D logits, G images, running stats
const LOSS: (f64, f64) = (1e-6, 1e-4);
const MOMENT: (f64, f64) = (2e-5, 1e-3); // exp_avg (the gradient), exp_avg_sq
/// A bias right before a BatchNorm has a true gradient of exactly 0 (the BatchNorm subtracts
/// the batch mean), so both sides compute rounding noise, seen up to ~1e-5 of the layer's
/// gradient scale even between PyTorch's own f32 and f64 runs: they must agree that it is noise.
const ZERO_GRAD_ATOL: f64 = 2e-4;
const WEIGHT_ATOL: f64 = 1e-6; // weights whose steps are determined: 8 f32 ulps at |w| = 1 (BN γ)

/// The difference one Adam step may make to a weight: it moves it by lr·m̂/(√v̂ + eps), and where
/// m (the dumped exp_avg) is only known to ±tol_m the step may differ by up to
/// lr·min(2, 2·tol_m/|m|)·|m̂/√v̂|, with |m̂/√v̂| ≤ 1.5 in Adam's first two steps at β = (0.5, 0.999).
fn step_allowance(lr: f64, m: &Want, layer_scale: f64) -> Vec<f64> {
    m.values
        .iter()
        .map(|&mi| {
            let mi = mi.abs() as f64;
            let tol = MOMENT.0 * layer_scale + MOMENT.1 * mi;
            1.5 * lr * (2.0 * tol / mi.max(1e-30)).min(2.0)
        })
        .collect()
}

/// Runs G (train mode) on z and D (train mode) on x_real and on G's output, as the D step does,
/// then restores every running statistic the forwards moved.
struct Probe {
    g: Activations,
    real: Activations,
    fake: Activations,
}

impl Probe {
    fn new(gpu: &Gpu, t: &Trainer) -> Probe {
        let n = t.config.batch;
        let g = t.g.activations(gpu, n, Shared::default()).unwrap();
        let real = t.d.activations(gpu, n, Shared::default()).unwrap();
        let fake = t.d.activations(gpu, n, Shared { input: Some(g.output()), ..Default::default() }).unwrap();
        Probe { g, real, fake }
    }

    /// (D(x_real), D(G(z_d)), G(z_d)) with the trainer's current weights.
    fn run(&self, gpu: &Gpu, t: &Trainer, x_real: &[f32], z_d: &[f32]) -> [Vec<f32>; 3] {
        let mut saved = Checkpoint::default();
        pollster::block_on(saved.capture(gpu, &t.g, false)).unwrap();
        pollster::block_on(saved.capture(gpu, &t.d, false)).unwrap();
        self.g.input().write(gpu, z_d).unwrap();
        self.real.input().write(gpu, x_real).unwrap();
        let mut s = Step::new(gpu);
        t.g.forward(&mut s, &self.g, true, 0).unwrap();
        t.d.forward(&mut s, &self.real, true, 0).unwrap();
        t.d.forward(&mut s, &self.fake, true, 1).unwrap();
        s.submit().unwrap();
        let read = |a: &Activations| a.output().read_blocking(gpu).unwrap();
        let out = [read(&self.real), read(&self.fake), read(&self.g)];
        saved.restore(gpu, &t.g).unwrap();
        saved.restore(gpu, &t.d).unwrap();
        out
    }
}

/// `optim.generator.2.bias.exp_avg` → (`generator.2.bias`, `exp_avg`).
fn moment_of(name: &str) -> Option<(&str, &'static str)> {
    let rest = name.strip_prefix("optim.")?;
    for moment in ["exp_avg_sq", "exp_avg"] {
        if let Some(param) = rest.strip_suffix(moment).and_then(|p| p.strip_suffix('.')) {
            return Some((param, moment));
        }
    }
    None
}

/// `generator.2.bias` → `generator.2`.
fn layer_of(param: &str) -> &str {
    param.rsplit_once('.').map_or(param, |(layer, _)| layer)
}

/// Names of the biases right before a BatchNorm (`generator.2.bias` when layer 3 is one).
fn biases_before_batch_norm(models: [&Sequential; 2]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for m in models {
        for (i, pair) in m.layers.windows(2).enumerate() {
            let biased = matches!(pair[0], Layer::Linear(_) | Layer::Conv2d(_) | Layer::ConvTranspose2d(_));
            if biased && matches!(pair[1], Layer::BatchNorm(_)) {
                out.insert(format!("{}.{i}.bias", m.name));
            }
        }
    }
    out
}

fn capture(gpu: &Gpu, t: &Trainer, optimizer: bool) -> Checkpoint {
    let mut c = Checkpoint::default();
    pollster::block_on(c.capture(gpu, &t.g, optimizer)).unwrap();
    pollster::block_on(c.capture(gpu, &t.d, optimizer)).unwrap();
    c
}

/// Replays the dump `file` with `config` (the dump's own unless given); returns the failures.
fn replay(gpu: &Gpu, file: &str, config: Option<Config>) -> Vec<String> {
    let dump = load(file);
    let inputs = load("inputs.safetensors");
    let config = config.unwrap_or_else(|| Config::from_text(&dump.metadata["config"]).unwrap());
    let iterations: usize = dump.metadata["iterations"].parse().unwrap();
    let (n, z) = (config.batch, config.z);
    assert_eq!(config.init, Preset::parse(&dump.metadata["preset"]).unwrap().default_init(), "{file}: init");
    assert_eq!(config.lr_d, config.lr_g);
    let patch: f64 = dump.metadata["patch"].parse().unwrap();
    // Unpatched weights then have |m| > patch·scale > tol_m: their first step is determined.
    assert!(patch >= 2.0 * MOMENT.0, "patch threshold {patch} too small for the exp_avg tolerance");
    let mut t = Trainer::with_host_inputs(gpu, config.clone()).unwrap();
    let mut r = Report::default();

    // Initial weights: the twin's Philox draws are nanogan's (f64 maths, one f32 rounding).
    for (name, s) in &capture(gpu, &t, false).tensors {
        let want = Want::get(&dump, &format!("init/{name}"), s.data.len());
        let allowed: Vec<f64> = want.values.iter().map(|&w| w.abs() as f64 * 2.4e-7 + 1e-30).collect();
        r.check("init", &format!("init {name}"), &s.data, &want, &allowed);
    }

    let probe = Probe::new(gpu, &t);
    let (x, zd, zg) = (&inputs.tensors["x_real"].data, &inputs.tensors["z_d"].data, &inputs.tensors["z_g"].data);
    let losses = &dump.tensors["losses"].data;
    let mut state = State {
        dump: &dump,
        lr: config.lr_d as f64,
        zero_grad: biases_before_batch_norm([&t.g, &t.d]),
        carried: BTreeMap::new(),
        patched: 0,
    };
    for it in 0..iterations {
        let x = &x[it * n * 784..(it + 1) * n * 784];
        let (zd, zg) = (&zd[it * n * z..(it + 1) * n * z], &zg[it * n * z..(it + 1) * n * z]);
        let k = it + 1;
        let [y_real, y_fake, x_fake] = probe.run(gpu, &t, x, zd);
        for (key, got) in [("y_real", &y_real), ("y_fake", &y_fake), ("x_fake", &x_fake)] {
            let want = Want::get(&dump, &format!("iter{k}/{key}"), got.len());
            r.close("outputs", &format!("iter {k} {key}"), got, &want, want.scale(), ACT);
        }

        t.write_inputs(gpu, x, zd, zg).unwrap();
        t.submit_iteration(gpu).unwrap();
        let log = pollster::block_on(t.read_losses(gpu)).unwrap();
        let want = Want { values: losses[2 * it..2 * it + 2].to_vec(), at: None, stats: None };
        r.close("losses", &format!("iter {k} losses [D, G]"), &[log[0].d_loss, log[0].g_loss], &want, 1.0, LOSS);

        let mut c = capture(gpu, &t, true);
        if let Some(dir) = std::env::var_os("NANOGAN_GOLDEN_SAVE") {
            // nanogan's side of the comparison, for digging into a failure from Python.
            let path =
                PathBuf::from(dir).join(format!("{}.iter{k}.safetensors", file.trim_end_matches(".safetensors")));
            std::fs::write(&path, c.to_bytes(false).unwrap()).unwrap();
        }
        let patches = state.check(&mut r, &c, k);
        if k < iterations {
            // PyTorch's values for the weights whose step was undetermined, then on from there.
            for (name, at) in &patches {
                let data = &mut c.tensors.get_mut(name).unwrap().data;
                for &(i, v) in at {
                    data[i] = v;
                }
                state.patched += at.len();
            }
            c.restore(gpu, &t.g).unwrap();
            c.restore(gpu, &t.d).unwrap();
        }
    }

    let margins: Vec<String> = r.worst.iter().map(|(c, (w, what))| format!("{c} {w:.3} ({what})")).collect();
    println!("{file}: {} undetermined weights patched; worst |diff|/allowed: {}", state.patched, margins.join("; "));
    r.failures
}

/// What the checks of the model state carry from one iteration to the next.
struct State<'a> {
    dump: &'a Checkpoint,
    lr: f64,
    /// Biases right before a BatchNorm (true gradient 0).
    zero_grad: BTreeSet<String>,
    /// Per weight, at its compared positions: the difference allowed so far.
    carried: BTreeMap<String, Vec<f64>>,
    patched: usize,
}

impl State<'_> {
    /// Checks parameters, running statistics and Adam moments after iteration k against the
    /// dump; returns, per weight, PyTorch's values of its undetermined elements (`patch{k}/…`).
    fn check(&mut self, r: &mut Report, c: &Checkpoint, k: usize) -> BTreeMap<String, Vec<(usize, f32)>> {
        let lr = self.lr;
        let wants: BTreeMap<&String, Want> = c
            .tensors
            .iter()
            .map(|(name, s)| (name, Want::get(self.dump, &format!("iter{k}/{name}"), s.data.len())))
            .collect();
        // A moment's magnitude is judged on its whole layer's: a Linear's bias before a BatchNorm
        // has a true gradient of exactly 0, so its computed one is rounding noise on the scale of
        // the layer's weight gradient (and Adam turns that noise into ±lr steps on both sides).
        let mut layer_scale: BTreeMap<(String, &str), f64> = BTreeMap::new();
        for (name, want) in &wants {
            if let Some((param, moment)) = moment_of(name) {
                let e = layer_scale.entry((layer_of(param).to_string(), moment)).or_insert(0.0);
                *e = e.max(want.scale());
            }
        }
        let mut patches = BTreeMap::new();
        for (name, s) in &c.tensors {
            let (want, what) = (&wants[name], format!("iter {k} {name}"));
            if let Some((param, moment)) = moment_of(name) {
                let scale = layer_scale[&(layer_of(param).to_string(), moment)];
                let atol = if self.zero_grad.contains(param) { ZERO_GRAD_ATOL } else { MOMENT.0 };
                r.close("adam moments", &what, &s.data, want, scale, (atol, MOMENT.1));
            } else if name.contains("running_") {
                // A bias right before a BatchNorm takes noise-driven steps of up to 3·lr (not
                // patched: in training the BatchNorm removes it), which shift the batch mean by as
                // much. With s steps taken before a forward, that forward moves the running mean
                // ≤ 0.1·3·lr·s; summed over D's forwards (real and fake after k−1 steps, the G
                // step's after k) that is 0.3·lr·(3k² − k)/2, more than G's.
                let extra = if name.ends_with("running_mean") { 0.15 * lr * (3 * k * k - k) as f64 } else { 0.0 };
                let scale = want.scale() + extra / ACT.0;
                r.close("running stats", &what, &s.data, want, scale, ACT);
            } else {
                let m = &wants[&format!("optim.{name}.exp_avg")];
                let step = match self.zero_grad.contains(name) {
                    true => vec![3.0 * lr; m.values.len()], // noise-driven: any direction
                    false => step_allowance(lr, m, layer_scale[&(layer_of(name).to_string(), "exp_avg")]),
                };
                let before = self.carried.entry(name.clone()).or_insert_with(|| vec![WEIGHT_ATOL; step.len()]);
                let allowed: Vec<f64> = before.iter().zip(&step).map(|(a, b)| a + b).collect();
                r.check("weights", &what, &s.data, want, &allowed);
                *before = allowed;
                let Some(idx) = self.dump.tensors.get(&format!("patch{k}/{name}.index")) else { continue };
                let values = &self.dump.tensors[&format!("patch{k}/{name}.value")].data;
                let at: Vec<(usize, f32)> = idx.data.iter().map(|&i| i as usize).zip(values.iter().copied()).collect();
                // Patched weights are PyTorch's again: nothing carried over at those positions.
                let set: BTreeSet<usize> = at.iter().map(|p| p.0).collect();
                let positions = want.at.clone().unwrap_or_else(|| (0..s.data.len()).collect());
                for (pos, i) in positions.iter().enumerate() {
                    if set.contains(i) {
                        before[pos] = WEIGHT_ATOL;
                    }
                }
                patches.insert(name.clone(), at);
            }
        }
        patches
    }
}

fn golden(preset: &str, loss: &str) {
    let Some(gpu) = gpu() else { return };
    let file = format!("{preset}_{loss}.safetensors");
    let failures = replay(gpu, &file, None);
    assert!(failures.is_empty(), "{file} disagrees with PyTorch:\n  {}", failures.join("\n  "));
}

#[test]
fn mlp_lsgan() {
    golden("mlp", "lsgan");
}

#[test]
fn mlp_lsgan_a_minus1_b1_c0() {
    golden("mlp", "lsgan_a-1_b1_c0");
}

#[test]
fn mlp_bgan() {
    golden("mlp", "bgan");
}

#[test]
fn mlp_gan() {
    golden("mlp", "gan");
}

#[test]
fn dcgan_lsgan() {
    golden("dcgan", "lsgan");
}

#[test]
fn dcgan_lsgan_a_minus1_b1_c0() {
    golden("dcgan", "lsgan_a-1_b1_c0");
}

#[test]
fn dcgan_bgan() {
    golden("dcgan", "bgan");
}

#[test]
fn dcgan_gan() {
    golden("dcgan", "gan");
}

/// The comparison must be able to fail: the right dump replayed with a wrong LSGAN code c
/// (what G wants D to say) is caught, in the G loss, and in every generator gradient.
#[test]
fn wrong_config_is_caught() {
    let Some(gpu) = gpu() else { return };
    let mut config = Config::from_text(&load("mlp_lsgan.safetensors").metadata["config"]).unwrap();
    config.loss = nanogan::gan::config::GanLoss::Lsgan { a: 0.0, b: 1.0, c: 0.9 };
    let failures = replay(gpu, "mlp_lsgan.safetensors", Some(config));
    println!("with c = 0.9:\n  {}", failures.join("\n  "));
    assert!(failures.iter().any(|f| f.starts_with("iter 1 losses")), "G loss with c = 0.9 not caught");
    assert!(
        failures.iter().any(|f| f.starts_with("iter 1 optim.generator.0.weight.exp_avg:")),
        "G gradient not caught"
    );
    assert!(!failures.iter().any(|f| f.starts_with("iter 1 optim.discriminator")), "D's first step does not use c");
}

/// The discrete BGAN's generator loss against `reference/discrete_bgan.py`: the paper's formula
/// written directly in NumPy (log-space weights, Bernoulli log-likelihood, finite-difference
/// gradient), on fixed numbers. Both the f64 twin and the GPU kernels are held to it.
#[test]
fn discrete_bgan_matches_numpy() {
    discrete_matches_numpy("discrete_bgan.safetensors", Estimator::Importance);
}

/// The same for the REINFORCE estimator: its weights, the loss G descends and its gradient, and
/// the mean negative log-likelihood it logs instead.
#[test]
fn discrete_reinforce_matches_numpy() {
    discrete_matches_numpy("discrete_reinforce.safetensors", Estimator::Reinforce);
}

fn discrete_matches_numpy(file: &str, estimator: Estimator) {
    let bytes = std::fs::read(golden_dir().join(file)).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let get = |name: &str| -> (Vec<usize>, Vec<f64>) {
        let t = st.tensor(name).unwrap();
        let values = match t.dtype() {
            safetensors::Dtype::F32 => {
                bytemuck::pod_collect_to_vec::<u8, f32>(t.data()).iter().map(|&v| v as f64).collect()
            }
            safetensors::Dtype::F64 => bytemuck::pod_collect_to_vec::<u8, f64>(t.data()),
            other => panic!("{name}: unexpected {other:?}"),
        };
        (t.shape().to_vec(), values)
    };
    let (shape, logits) = get("logits");
    let (n, len) = (shape[0], shape[1]);
    let (_, samples) = get("samples");
    let (_, d) = get("d_logits");
    let m = d.len() / n;
    let (_, weights) = get("weights");
    let (_, loss) = get("loss");
    let (_, grad) = get("grad");

    let close = |what: &str, got: &[f64], want: &[f64], tol: f64| {
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!((g - w).abs() <= tol * (1.0 + w.abs()), "{what}[{i}]: {g} against NumPy's {w}");
        }
    };
    use nanogan::cpu::discrete as twin;
    let (w, logged) = match estimator {
        Estimator::Importance => (twin::weights(&d, m), loss.clone()),
        Estimator::Reinforce => (twin::reinforce_weights(&d, m), get("logged").1),
    };
    close("twin weights", &w, &weights, 1e-12);
    close("twin loss", &[twin::loss(&logits, &samples, &w, len, m)], &loss, 1e-12);
    if estimator == Estimator::Reinforce {
        let uniform = twin::uniform_weights(n, m);
        close("twin logged loss", &[twin::loss(&logits, &samples, &uniform, len, m)], &logged, 1e-12);
    }
    // NumPy's gradient is a central difference with h = 1e-6.
    close("twin gradient", &twin::loss_grad(&logits, &samples, &w, len, m), &grad, 1e-7);

    let Some(gpu) = gpu() else { return };
    let f32s = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<_>>();
    let lt = nanogan::Tensor::from_slice(gpu, &[n, len], &f32s(&logits)).unwrap();
    let xt = nanogan::Tensor::from_slice(gpu, &[n * m, len], &f32s(&samples)).unwrap();
    let dt = nanogan::Tensor::from_slice(gpu, &[n * m, 1], &f32s(&d)).unwrap();
    let dl = nanogan::Tensor::zeros(gpu, &[n, len]).unwrap();
    let losses = nanogan::Tensor::zeros(gpu, &[2]).unwrap();
    let g = nanogan::gan::discrete::GeneratorLoss::new(gpu, n, len, m, estimator).unwrap();
    let mut s = Step::new(gpu);
    g.record(&mut s, &dl, &losses.buf, 1, &lt, &xt, &dt).unwrap();
    s.submit().unwrap();
    let read = |t: &nanogan::Tensor| t.read_blocking(gpu).unwrap().iter().map(|&v| v as f64).collect::<Vec<_>>();
    close("GPU weights", &read(&g.weights), &weights, 1e-6);
    close("GPU logged loss", &read(&losses)[1..], &logged, 1e-6);
    close("GPU gradient", &read(&dl), &grad, 1e-6);
}
