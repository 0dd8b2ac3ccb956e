//! End-to-end benchmark: whole training iterations and generator sampling at the presets'
//! shapes, then (where the adapter has timestamp queries) one iteration timed kernel by kernel.
//!
//!     cargo run --release --example bench -- --e2e          # every case
//!     cargo run --release --example bench -- --e2e mlp      # cases whose name contains "mlp"
//!     cargo run --release --example bench -- --e2e --quick  # batch 64 only, fewer runs
//!
//! The kernel breakdown costs a few more iterations, so a case slower than `SLOW_MS` an
//! iteration gets it only at the smallest batch, or when a filter picked the cases.
//!
//! Times are wall clock up to `gpu.wait()`, so they include encoding and submitting each
//! iteration (the plans are recorded once), as a training loop pays them. Each case opens its
//! own `Gpu`, so its buffer figure counts only what that case allocated.

use nanogan::gan::config::{Config, GanLoss, Schedule};
use nanogan::gan::sample::fixed_noise;
use nanogan::gpu::step::profile;
use nanogan::{Dataset, Gpu, Kernel, Preset, Result, Step, Trainer};
use std::collections::HashMap;
use std::time::Instant;

/// A timed run aims to last this long, so short iterations are not swamped by the final wait.
const RUN_MS: f64 = 1000.0;
/// Timed runs per case; the median is reported with the range.
const RUNS: usize = 5;
/// Runs per case when an iteration takes longer than `SLOW_MS` or `--quick` is given: a slow
/// software adapter would otherwise take many minutes for the whole table.
const FEW_RUNS: usize = 3;
const SLOW_MS: f64 = 2000.0;
/// Most iterations profiled per case (fewer when an iteration is slow, see `train_case`).
const PROFILE_ITERATIONS: usize = 5;
/// Kernels listed per breakdown; the rest are summed on one line.
const TOP_KERNELS: usize = 8;

pub fn run(args: &[String]) -> Result<()> {
    let quick = args.iter().any(|a| a == "--quick") || std::env::var_os("NANOGAN_BENCH_QUICK").is_some();
    let filter = args.iter().find(|a| !a.starts_with("--")).map_or("", String::as_str);
    let gpu = Gpu::new_blocking()?;
    let adapter = gpu.describe();
    let timing = if gpu.has_timestamps() { "per-kernel breakdown from timestamps" } else { "no timestamps" };
    println!("adapter: {adapter} ({timing})");
    drop(gpu);
    let dataset = Dataset::bundled()?;
    let runs = if quick { FEW_RUNS } else { RUNS };
    let (train_batches, sample_batches): (&[usize], &[usize]) =
        if quick { (&[64], &[64]) } else { (&[64, 256], &[64, 1024]) };
    let losses = [GanLoss::parse("lsgan")?, GanLoss::Bgan];

    println!();
    println!("training: one iteration = d_steps D steps + 1 G step in one submit (merged: one step for both);");
    println!("  R iterations per run, then wait");
    println!("  ms     per iteration, median of the runs (min–max)");
    println!("  img/s  batch × iterations/s (real images; G also draws d_steps·batch + batch fakes per iteration)");
    println!("  GFLOP  matrix products per iteration (Linear, conv, conv-transpose; fwd, dx, dW as recorded);");
    println!("         batch norm, activations, losses and Adam not counted");
    println!("  MiB    GPU storage the case created: models, Adam state, activations, workspaces,");
    println!("         dataset {:.1} MiB", mib(dataset.images.len() as u64));
    header("dispatch/it");
    let mut profiles = Vec::new();
    for preset in [Preset::Mlp, Preset::Dcgan] {
        for loss in losses {
            for &batch in train_batches {
                let name = format!("train {} {} b{batch}", preset.name(), loss.name());
                if name.contains(filter) {
                    let config = Config { loss, batch, ..Config::for_model(preset) };
                    let always_profile = !filter.is_empty() || batch == train_batches[0];
                    profiles.extend(train_case(&name, config, runs, always_profile, &dataset)?);
                }
            }
        }
        // The merged schedule: one G forward and one D forward of the fakes per iteration.
        let name = format!("train {} lsgan b{} merged", preset.name(), train_batches[0]);
        if name.contains(filter) {
            let config = Config { batch: train_batches[0], schedule: Schedule::Merged, ..Config::for_model(preset) };
            profiles.extend(train_case(&name, config, runs, !filter.is_empty(), &dataset)?);
        }
    }

    println!();
    println!("sampling: generator forward in eval mode, one submit per batch; columns as above");
    header("dispatches");
    for preset in [Preset::Mlp, Preset::Dcgan] {
        for &batch in sample_batches {
            let name = format!("sample {} b{batch}", preset.name());
            if name.contains(filter) {
                sample_case(&name, preset, batch, runs)?;
            }
        }
    }

    if !profiles.is_empty() {
        println!();
        println!("per-kernel breakdown: every dispatch of an iteration in its own compute pass between two");
        println!("timestamps; per kernel entry point: dispatches, GPU ms per iteration, share of the kernel time.");
        println!(
            "Cases over {:.0} s an iteration are profiled at the smallest batch only, unless a filter is given.",
            SLOW_MS / 1e3
        );
    }
    for p in &profiles {
        p.print(&adapter);
    }
    Ok(())
}

/// Times training iterations; then, when timestamps allow (and the case is quick or
/// `always_profile`), profiles a few more kernel by kernel.
fn train_case(
    name: &str,
    config: Config,
    runs: usize,
    always_profile: bool,
    dataset: &Dataset,
) -> Result<Option<Profile>> {
    let gpu = Gpu::new_blocking()?;
    let batch = config.batch;
    let before = gpu.allocated_bytes();
    let mut trainer = Trainer::new(&gpu, config, dataset)?;
    let t = time(&gpu, runs, || trainer.submit_iteration(&gpu))?;
    // A kernel that got fast by getting wrong usually shows up as a NaN loss.
    pollster::block_on(trainer.read_losses(&gpu))?;
    let bytes = gpu.allocated_bytes() - before;
    let flops = trainer.iteration_flops()?;
    row(name, &t, batch, flops, trainer.iteration_dispatches(), bytes, &gpu.describe());
    if !gpu.has_timestamps() || !(always_profile || t.median <= SLOW_MS) {
        return Ok(None);
    }
    // One iteration's timestamps are noisy on a busy CPU adapter; take each dispatch's median
    // over as many iterations as fit in a run.
    let iterations = (0..t.reps.min(PROFILE_ITERATIONS))
        .map(|_| pollster::block_on(profile(&gpu, &trainer.iteration_plans())))
        .collect::<Result<Vec<_>>>()?;
    let Some(first) = iterations.first() else { return Ok(None) };
    let dispatches = first
        .iter()
        .enumerate()
        .map(|(i, &(kernel, _))| {
            let mut ms: Vec<f64> = iterations.iter().filter_map(|it| it.get(i).map(|d| d.1)).collect();
            ms.sort_by(f64::total_cmp);
            (kernel, ms[ms.len() / 2])
        })
        .collect();
    Ok(Some(Profile { name: name.to_string(), iterations: iterations.len(), iteration_ms: t.median, dispatches }))
}

/// Times the generator's eval-mode forward pass, recorded once and replayed.
fn sample_case(name: &str, preset: Preset, batch: usize, runs: usize) -> Result<()> {
    let gpu = Gpu::new_blocking()?;
    let config = Config::for_model(preset);
    let before = gpu.allocated_bytes();
    let g = config.generator(&gpu)?;
    let acts = g.inference_activations(&gpu, batch)?;
    acts.input().write(&gpu, &fixed_noise(1, batch, config.z))?;
    let plan = gpu.record_settled(|| {
        let mut s = Step::new(&gpu);
        g.forward(&mut s, &acts, false, 0)?;
        Ok(s.finish())
    })?;
    let t = time(&gpu, runs, || plan.submit(&gpu))?;
    let bytes = gpu.allocated_bytes() - before;
    row(name, &t, batch, g.forward_flops(batch)?, plan.dispatches(), bytes, &gpu.describe());
    Ok(())
}

/// Milliseconds per submit: median, min and max over `runs` runs of `reps` submits each.
struct Timing {
    median: f64,
    min: f64,
    max: f64,
    reps: usize,
    runs: usize,
}

/// One warm-up submit, one to size the runs (`reps` so a run lasts about `RUN_MS`), then the runs.
/// A warm-up slower than `SLOW_MS` sizes them itself: such a case runs one submit per run anyway.
fn time(gpu: &Gpu, runs: usize, mut submit: impl FnMut() -> Result<()>) -> Result<Timing> {
    let warm_up = wall_ms(gpu, 1, &mut submit)?;
    let probe = if warm_up > SLOW_MS { warm_up } else { wall_ms(gpu, 1, &mut submit)? };
    let reps = ((RUN_MS / probe.max(1e-3)).round() as usize).clamp(1, 10_000);
    let runs = if probe > SLOW_MS { runs.min(FEW_RUNS) } else { runs };
    let mut times = (0..runs).map(|_| wall_ms(gpu, reps, &mut submit)).collect::<Result<Vec<f64>>>()?;
    times.sort_by(f64::total_cmp);
    Ok(Timing { median: times[runs / 2], min: times[0], max: times[runs - 1], reps, runs })
}

fn wall_ms(gpu: &Gpu, reps: usize, submit: &mut impl FnMut() -> Result<()>) -> Result<f64> {
    let start = Instant::now();
    for _ in 0..reps {
        submit()?;
    }
    gpu.wait()?;
    Ok(start.elapsed().as_secs_f64() * 1e3 / reps as f64)
}

fn header(dispatches: &str) {
    println!(
        "{:<24} {:>10} {:>21} {:>9} {:>8} {:>7} {:>11} {:>7} {:>7}",
        "case", "ms", "(min–max)", "img/s", "GFLOP/s", "GFLOP", dispatches, "MiB", "R×runs"
    );
}

fn row(name: &str, t: &Timing, batch: usize, flops: f64, dispatches: usize, bytes: u64, adapter: &str) {
    let range = format!("({:.1}–{:.1})", t.min, t.max);
    println!(
        "{name:<24} {:>10.1} {range:>21} {:>9.1} {:>8.2} {:>7.3} {dispatches:>11} {:>7.1} {:>7}  on {adapter}",
        t.median,
        batch as f64 / (t.median / 1e3),
        flops / (t.median * 1e6),
        flops / 1e9,
        mib(bytes),
        format!("{}×{}", t.reps, t.runs),
    );
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// GPU time of each dispatch of one iteration, in order (medians over `iterations`).
struct Profile {
    name: String,
    iterations: usize,
    iteration_ms: f64,
    dispatches: Vec<(Kernel, f64)>,
}

impl Profile {
    /// Kernels by total time, the top few listed and the rest summed.
    fn print(&self, adapter: &str) {
        let mut by_kernel: HashMap<&'static str, (usize, f64)> = HashMap::new();
        for (kernel, ms) in &self.dispatches {
            let entry = by_kernel.entry(kernel.entry()).or_default();
            entry.0 += 1;
            entry.1 += ms;
        }
        let mut kernels: Vec<_> = by_kernel.into_iter().collect();
        kernels.sort_by(|a, b| b.1 .1.total_cmp(&a.1 .1).then(a.0.cmp(b.0)));
        let total: f64 = self.dispatches.iter().map(|d| d.1).sum();
        let share = |ms: f64| if total > 0.0 { 100.0 * ms / total } else { 0.0 };
        println!();
        let profiled = match self.iterations {
            1 => "one profiled iteration".to_string(),
            n => format!("per-dispatch median of {n} profiled iterations"),
        };
        println!(
            "{}: {} dispatches, kernel time {total:.1} ms ({profiled}) of a {:.1} ms iteration, on {adapter}",
            self.name,
            self.dispatches.len(),
            self.iteration_ms,
        );
        println!("  {:<36} {:>5} {:>10} {:>7}", "kernel", "count", "total ms", "share");
        for (entry, (count, ms)) in kernels.iter().take(TOP_KERNELS) {
            println!("  {entry:<36} {count:>5} {ms:>10.2} {:>6.1}%", share(*ms));
        }
        if kernels.len() > TOP_KERNELS {
            let rest = &kernels[TOP_KERNELS..];
            let count: usize = rest.iter().map(|k| k.1 .0).sum();
            let ms: f64 = rest.iter().map(|k| k.1 .1).sum();
            let label = format!("({} other kernels)", rest.len());
            println!("  {label:<36} {count:>5} {ms:>10.2} {:>6.1}%", share(ms));
        }
    }
}
