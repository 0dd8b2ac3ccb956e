use crate::support::*;
use nanogan::cpu::dropout as dtwin;
use nanogan::cpu::random::{self as rtwin, draw, to_unit};
use nanogan::gpu::random::{fill_normal, fill_uniform, tick};
use nanogan::nn::dropout::Dropout;
use nanogan::{Arena, ArenaBuilder, Gpu, Step, Tensor};

const SEED: u64 = 0x0123_4567_89ab_cdef;

/// A clock buffer with the given counters.
fn clock(gpu: &Gpu, values: [u32; 4]) -> wgpu::Buffer {
    gpu.storage_init("clock", bytemuck::cast_slice(&values)).unwrap()
}

fn uniform(
    gpu: &Gpu,
    n: usize,
    (lo, hi): (f32, f32),
    seed: u64,
    stream: u32,
    clock: &wgpu::Buffer,
    slot: u32,
) -> Vec<f32> {
    let t = Tensor::zeros(gpu, &[n]).unwrap();
    let mut s = Step::new(gpu);
    fill_uniform(&mut s, &t, lo, hi, seed, stream, clock, slot).unwrap();
    s.submit().unwrap();
    t.read_blocking(gpu).unwrap()
}

fn normal(gpu: &Gpu, n: usize, seed: u64, stream: u32, clock: &wgpu::Buffer, slot: u32) -> Vec<f32> {
    let t = Tensor::zeros(gpu, &[n]).unwrap();
    let mut s = Step::new(gpu);
    fill_normal(&mut s, &t, 0.0, 1.0, seed, stream, clock, slot).unwrap();
    s.submit().unwrap();
    t.read_blocking(gpu).unwrap()
}

fn equal_count(a: &[f32], b: &[f32]) -> usize {
    a.iter().zip(b).filter(|(x, y)| x == y).count()
}

#[test]
fn random_uniform_matches_philox_twin() {
    let Some(gpu) = gpu() else { return };
    // The step word comes from slot 2 of the clock; the other slots must not matter.
    let c = clock(gpu, [9, 1, 5, 7]);
    for n in [1, 63, 65, 997] {
        let u = uniform(gpu, n, (0.0, 1.0), SEED, 3, &c, 2);
        // GPU to_unit rounds (b + 0.5) to f32's 24 bits: at most 2⁻²⁵ from the exact value.
        assert_close("uniform(0, 1)", &u, &rtwin::uniform(SEED, 3, 5, n), 3e-8, 0.0);
        let u = uniform(gpu, n, (-2.0, 3.0), SEED, 3, &c, 2);
        let want: Vec<f64> = rtwin::uniform(SEED, 3, 5, n).iter().map(|u| -2.0 + 5.0 * u).collect();
        assert_close("uniform(-2, 3)", &u, &want, 1e-6, 1e-6);
    }
}

#[test]
fn random_normal_matches_philox_twin() {
    let Some(gpu) = gpu() else { return };
    let c = clock(gpu, [4, 0, 0, 0]);
    let n = 4099;
    let z = normal(gpu, n, SEED, 1, &c, 0);
    let want = rtwin::normal(SEED, 1, 4, n);
    // sqrt(−2 ln u1) is ill-conditioned as u1 → 1: allow what an f32 log's absolute error of
    // ~2⁻²² does there, d/dx sqrt(x) = 1/(2 sqrt(x)), on top of the usual tolerance.
    for i in 0..n {
        let b = draw(SEED, 1, 4, i as u32);
        let r2 = -2.0 * to_unit(b[0]).ln();
        let tol = 2e-5 * (1.0 + want[i].abs()) + 1e-6 / r2.sqrt();
        let d = (z[i] as f64 - want[i]).abs();
        assert!(d <= tol, "normal[{i}]: gpu {} cpu {} (|diff| {d:.2e} > {tol:.2e})", z[i], want[i]);
    }
    let t = Tensor::zeros(gpu, &[n]).unwrap();
    let mut s = Step::new(gpu);
    fill_normal(&mut s, &t, 3.0, 0.5, SEED, 1, &c, 0).unwrap();
    s.submit().unwrap();
    let shifted: Vec<f64> = t.read_blocking(gpu).unwrap().iter().map(|&v| (v as f64 - 3.0) / 0.5).collect();
    let diff = shifted.iter().zip(&z).map(|(a, &b)| (a - b as f64).abs()).fold(0.0, f64::max);
    assert!(diff < 1e-5, "mean/std scaling: max |diff| {diff}");
}

#[test]
fn random_streams_seeds_and_clock_separate_draws() {
    let Some(gpu) = gpu() else { return };
    let c = clock(gpu, [0, 0, 0, 0]);
    let n = 1000;
    let base = uniform(gpu, n, (0.0, 1.0), SEED, 0, &c, 0);
    assert_eq!(base, uniform(gpu, n, (0.0, 1.0), SEED, 0, &c, 0), "same seed, same numbers");
    for (what, other) in [
        ("seed lo", uniform(gpu, n, (0.0, 1.0), SEED ^ 1, 0, &c, 0)),
        ("seed hi", uniform(gpu, n, (0.0, 1.0), SEED ^ (1 << 40), 0, &c, 0)),
        ("stream", uniform(gpu, n, (0.0, 1.0), SEED, 1, &c, 0)),
    ] {
        assert!(equal_count(&base, &other) < 5, "changing the {what} must change the numbers");
    }
    // After a tick the same plan draws new numbers, and the new ones are the twin's step 1.
    let t = Tensor::zeros(gpu, &[n]).unwrap();
    let mut s = Step::new(gpu);
    tick(&mut s, &c, 0).unwrap();
    fill_uniform(&mut s, &t, 0.0, 1.0, SEED, 0, &c, 0).unwrap();
    let plan = s.finish();
    plan.submit(gpu).unwrap();
    let after1 = t.read_blocking(gpu).unwrap();
    assert!(equal_count(&base, &after1) < 5, "a tick must change the numbers");
    assert_close("uniform after one tick", &after1, &rtwin::uniform(SEED, 0, 1, n), 3e-8, 0.0);
    plan.submit(gpu).unwrap();
    assert_close("uniform after two ticks", &t.read_blocking(gpu).unwrap(), &rtwin::uniform(SEED, 0, 2, n), 3e-8, 0.0);
    let counters: Vec<u32> = bytemuck::pod_collect_to_vec(&pollster::block_on(gpu.read_bytes(&c, 16)).unwrap());
    assert_eq!(counters, [2, 0, 0, 0]);
    // Slots are independent counters.
    let mut s = Step::new(gpu);
    tick(&mut s, &c, 3).unwrap();
    assert!(tick(&mut s, &c, 4).is_err(), "slot past the buffer");
    s.submit().unwrap();
    let counters: Vec<u32> = bytemuck::pod_collect_to_vec(&pollster::block_on(gpu.read_bytes(&c, 16)).unwrap());
    assert_eq!(counters, [2, 0, 0, 1]);
}

#[test]
fn random_statistics() {
    let Some(gpu) = gpu() else { return };
    let c = clock(gpu, [0; 4]);
    let n = 1 << 20;
    let sqrt_n = (n as f64).sqrt();
    let z = normal(gpu, n, 42, 0, &c, 0);
    let mean = z.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
    let var = z.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n as f64;
    assert!(mean.abs() < 5.0 / sqrt_n, "normal mean {mean}");
    // Var of the sample variance of N(0, 1) is 2/n.
    assert!((var - 1.0).abs() < 5.0 * 2f64.sqrt() / sqrt_n, "normal variance {var}");
    let u = uniform(gpu, n, (0.0, 1.0), 42, 0, &c, 0);
    let mean = u.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
    assert!((mean - 0.5).abs() < 5.0 * (1.0f64 / 12.0).sqrt() / sqrt_n, "uniform mean {mean}");
    assert!(u.iter().all(|&v| v > 0.0 && v < 1.0), "uniform outside (0, 1)");
}

#[test]
fn random_fill_spills_into_2d_grid() {
    let Some(gpu) = gpu() else { return };
    let c = clock(gpu, [6, 0, 0, 0]);
    let n = 65535 * 64 + 777;
    let u = uniform(gpu, n, (0.0, 1.0), SEED, 2, &c, 0);
    // Indices from both grid rows, including the last element and the first past row 0.
    for i in (0..200).chain(65535 * 64 - 100..n) {
        let want = to_unit(draw(SEED, 2, 6, i as u32)[0]);
        assert!((u[i] as f64 - want).abs() <= 3e-8, "u[{i}] = {} but the twin says {want}", u[i]);
    }
}

#[test]
fn random_rejects_bad_arguments() {
    let Some(gpu) = gpu() else { return };
    let c = clock(gpu, [0; 4]);
    let t = Tensor::zeros(gpu, &[4]).unwrap();
    let mut s = Step::new(gpu);
    assert!(fill_uniform(&mut s, &t, 1.0, 0.0, 0, 0, &c, 0).is_err());
    assert!(fill_uniform(&mut s, &t, 0.0, f32::NAN, 0, 0, &c, 0).is_err());
    assert!(fill_normal(&mut s, &t, 0.0, -1.0, 0, 0, &c, 0).is_err());
    assert!(fill_normal(&mut s, &t, 0.0, 1.0, 0, 0, &c, 4).is_err());
}

// ---------------------------------------------------------------- Dropout

fn arena_with_clock(gpu: &Gpu, step: u32) -> Arena {
    let mut b = ArenaBuilder::new();
    b.param("w", &[1], vec![0.0]);
    let a = b.build(gpu).unwrap();
    a.write_clock(gpu, [step, 0, 0, 0]);
    a
}

/// Runs forward (+ backward) once; returns (y, mask, dx) and the twin's (y, mask, dx).
#[allow(clippy::type_complexity)]
fn run_dropout(
    gpu: &Gpu,
    layer: &Dropout,
    shape: &[usize],
    step: u32,
    train: bool,
    pass: u32,
) -> ((Vec<f32>, Vec<f32>, Vec<f32>), (Vec<f64>, Vec<f64>, Vec<f64>)) {
    let arena = arena_with_clock(gpu, step);
    let n: usize = shape.iter().product();
    let x = rounded(&rand(1, n));
    let dy = rounded(&rand(2, n));
    let xt = Tensor::from_slice(gpu, shape, &to_f32(&x)).unwrap();
    let dyt = Tensor::from_slice(gpu, shape, &to_f32(&dy)).unwrap();
    let (yt, mt, dxt) =
        (Tensor::zeros(gpu, shape).unwrap(), Tensor::zeros(gpu, shape).unwrap(), Tensor::zeros(gpu, shape).unwrap());
    let mut s = Step::new(gpu);
    layer.forward(&mut s, &arena, &yt, &mt, &xt, train, pass).unwrap();
    layer.backward(&mut s, &dxt, &dyt, &mt).unwrap();
    s.submit().unwrap();
    let group = if layer.spatial { shape[2] * shape[3] } else { 1 };
    let m = dtwin::mask(layer.p, layer.seed, layer.stream, step, pass, n, group, train);
    let gpu_out = (yt.read_blocking(gpu).unwrap(), mt.read_blocking(gpu).unwrap(), dxt.read_blocking(gpu).unwrap());
    (gpu_out, (dtwin::forward(&x, &m), m.clone(), dtwin::backward(&dy, &m)))
}

#[test]
fn dropout_matches_twin() {
    let Some(gpu) = gpu() else { return };
    let cases: [(f32, bool, &[usize]); 6] = [
        (0.3, false, &[1, 1]),
        (0.3, false, &[3, 65]),
        (0.5, false, &[64, 512]),
        (0.25, true, &[3, 3, 5, 7]),
        (0.5, true, &[1, 1, 1, 1]),
        (0.4, true, &[64, 128, 7, 7]),
    ];
    for (prob, spatial, shape) in cases {
        let layer = Dropout::new(prob, spatial, SEED, 5).unwrap();
        for (step, pass) in [(0, 0), (3, 1)] {
            let ((y, m, dx), (ty, tm, tdx)) = run_dropout(gpu, &layer, shape, step, true, pass);
            let what = format!("Dropout(p={prob}, spatial={spatial}) {shape:?} step {step} pass {pass}");
            assert_close(&format!("{what} mask"), &m, &tm, 0.0, 1e-6);
            assert_close(&format!("{what} y"), &y, &ty, 0.0, 1e-6);
            assert_close(&format!("{what} dx"), &dx, &tdx, 0.0, 1e-6);
        }
    }
}

#[test]
fn dropout_keeps_one_minus_p_and_scales() {
    let Some(gpu) = gpu() else { return };
    let p = 0.3f32;
    let layer = Dropout::new(p, false, 11, 0).unwrap();
    let ((_, m, _), _) = run_dropout(gpu, &layer, &[100, 1000], 2, true, 0);
    let n = m.len() as f64;
    let kept = m.iter().filter(|&&v| v != 0.0).count() as f64 / n;
    let sd = (0.3 * 0.7 / n).sqrt();
    assert!((kept - 0.7).abs() < 5.0 * sd, "kept fraction {kept}, expected 0.7 ± {}", 5.0 * sd);
    let scale = (1.0 / 0.7) as f32;
    assert!(m.iter().all(|&v| v == 0.0 || (v - scale).abs() <= 1e-6 * scale), "mask values other than 0 and 1/(1−p)");
}

#[test]
fn dropout2d_zeroes_whole_channels() {
    let Some(gpu) = gpu() else { return };
    let (n, c, h, w) = (4, 32, 5, 7);
    let layer = Dropout::new(0.5, true, 3, 9).unwrap();
    let ((y, m, _), _) = run_dropout(gpu, &layer, &[n, c, h, w], 1, true, 0);
    let hw = h * w;
    let mut dropped = 0;
    for ch in 0..n * c {
        let block = &m[ch * hw..(ch + 1) * hw];
        assert!(block.iter().all(|&v| v == block[0]), "channel {ch} is partly dropped");
        if block[0] == 0.0 {
            dropped += 1;
            assert!(y[ch * hw..(ch + 1) * hw].iter().all(|&v| v == 0.0));
        }
    }
    // 128 channels at p = 0.5: 64 ± 5·√32 dropped.
    assert!((dropped as f64 - 64.0).abs() < 5.0 * 32f64.sqrt(), "{dropped} of 128 channels dropped");
}

#[test]
fn dropout_pass_and_step_give_new_masks() {
    let Some(gpu) = gpu() else { return };
    let layer = Dropout::new(0.5, false, 1, 0).unwrap();
    let mask = |step, pass| run_dropout(gpu, &layer, &[8, 128], step, true, pass).0 .1;
    let base = mask(0, 0);
    assert_eq!(base, mask(0, 0), "same step and pass, same mask");
    for (what, other) in [("pass", mask(0, 1)), ("step", mask(1, 0))] {
        let same = equal_count(&base, &other);
        // Independent masks agree on about half the 1024 entries.
        assert!(same < 700, "changing the {what} left {same} of 1024 mask entries equal");
    }
}

#[test]
fn dropout_eval_is_identity() {
    let Some(gpu) = gpu() else { return };
    for spatial in [false, true] {
        let layer = Dropout::new(0.9, spatial, 1, 0).unwrap();
        let ((y, m, dx), (ty, _, tdy)) = run_dropout(gpu, &layer, &[3, 2, 5, 7], 4, false, 0);
        assert!(m.iter().all(|&v| v == 1.0), "eval mask must be 1");
        assert_close("eval y = x", &y, &ty, 0.0, 0.0);
        assert_close("eval dx = dy", &dx, &tdy, 0.0, 0.0);
    }
}

#[test]
fn dropout_rejects_bad_arguments() {
    let Some(gpu) = gpu() else { return };
    for p in [-0.1, 1.0, 1.5, f32::NAN] {
        assert!(Dropout::new(p, false, 0, 0).is_err(), "p = {p} must be refused");
    }
    assert!(Dropout::new(0.0, false, 0, 0).is_ok());
    let layer = Dropout::new(0.5, true, 0, 0).unwrap();
    let err = layer.out_shape(&[3, 5]).unwrap_err().to_string();
    assert!(err.contains("Dropout2d") && err.contains("[3, 5]"), "{err}");
    let arena = arena_with_clock(gpu, 0);
    let x = Tensor::zeros(gpu, &[2, 3, 4, 4]).unwrap();
    let bad = Tensor::zeros(gpu, &[2, 3, 4, 5]).unwrap();
    let mut s = Step::new(gpu);
    assert!(layer.forward(&mut s, &arena, &bad, &x, &x, true, 0).is_err(), "wrong y shape");
    assert!(layer.forward(&mut s, &arena, &x, &bad, &x, true, 0).is_err(), "wrong mask shape");
    assert!(layer.backward(&mut s, &bad, &x, &x).is_err(), "wrong dx shape");
}
