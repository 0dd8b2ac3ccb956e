use crate::support::*;
use nanogan::cpu::discrete as twin;
use nanogan::cpu::random::{draw, to_unit};
use nanogan::gan::config::Estimator;
use nanogan::gan::discrete::{record_samples, GeneratorLoss};
use nanogan::{Step, Tensor};

const SEED: u64 = 0xB6A4;
const STREAM: u32 = 5;

fn clock(gpu: &nanogan::Gpu) -> wgpu::Buffer {
    gpu.storage_init("clock", bytemuck::cast_slice(&[3u32, 17])).unwrap()
}

/// Draws `m` samples per row of `logits` (N, P) on the GPU, clock word 17.
fn gpu_samples(gpu: &nanogan::Gpu, logits: &[f64], n: usize, len: usize, m: usize) -> Vec<f32> {
    let l = Tensor::from_slice(gpu, &[n, len], &to_f32(logits)).unwrap();
    let x = Tensor::zeros(gpu, &[n * m, len]).unwrap();
    let mut s = Step::new(gpu);
    record_samples(&mut s, &x, &l, m, SEED, STREAM, &clock(gpu), 1).unwrap();
    s.submit().unwrap();
    x.read_blocking(gpu).unwrap()
}

#[test]
fn bernoulli_samples_match_twin() {
    let Some(gpu) = gpu() else { return };
    let (n, len, m) = (3, 37, 5);
    let logits = rounded(&rand(41, n * len).iter().map(|v| 5.0 * v).collect::<Vec<_>>());
    let got = gpu_samples(gpu, &logits, n, len, m);
    let want = twin::sample(&logits, len, m, (SEED, STREAM, 17));
    assert!(got.iter().all(|&v| v == 1.0 || v == -1.0), "samples are not ±1");
    // f32 and f64 may round σ(l) to opposite sides of the same uniform: allowed only there.
    for (i, (&g, &c)) in got.iter().zip(&want).enumerate() {
        if g as f64 != c {
            let u = to_unit(draw(SEED, STREAM, 17, i as u32)[0]);
            let p = 1.0 / (1.0 + (-logits[(i / (len * m)) * len + i % len]).exp());
            assert!((u - p).abs() < 1e-6, "sample value {i}: gpu {g}, twin {c} (u {u}, p {p})");
        }
    }
}

#[test]
fn bernoulli_frequencies_match_probabilities() {
    let Some(gpu) = gpu() else { return };
    let logits: [f64; 8] = [-30.0, -3.0, -1.0, 0.0, 0.5, 2.0, 6.0, 30.0];
    let m = 20_000;
    let got = gpu_samples(gpu, &logits, 1, logits.len(), m);
    for (j, &l) in logits.iter().enumerate() {
        let ones = got.iter().skip(j).step_by(logits.len()).filter(|&&v| v > 0.0).count() as f64 / m as f64;
        let p = 1.0 / (1.0 + (-l).exp());
        let tolerance = 5.0 * (p * (1.0 - p) / m as f64).sqrt() + 1e-9;
        assert!((ones - p).abs() <= tolerance, "logit {l}: frequency {ones}, probability {p}");
    }
}

#[test]
fn generator_loss_matches_twin() {
    let Some(gpu) = gpu() else { return };
    // Awkward sizes, then the mlp's shape with the paper's M = 20.
    for estimator in [Estimator::Importance, Estimator::Reinforce] {
        for (n, len, m) in [(1, 1, 1), (3, 37, 5), (16, 784, 20)] {
            generator_loss_case(gpu, estimator, n, len, m);
        }
    }
}

fn generator_loss_case(gpu: &nanogan::Gpu, estimator: Estimator, n: usize, len: usize, m: usize) {
    let seed = (n * 1000 + len + m) as u64;
    let logits = rounded(&rand(seed, n * len).iter().map(|v| 6.0 * v).collect::<Vec<_>>());
    let samples: Vec<f64> = rand(seed + 1, n * m * len).iter().map(|&v| if v > 0.0 { 1.0 } else { -1.0 }).collect();
    // D's logits spread over a wide range, as a confident discriminator's are.
    let d = rounded(&rand(seed + 2, n * m).iter().map(|v| 40.0 * v).collect::<Vec<_>>());
    let lt = Tensor::from_slice(gpu, &[n, len], &to_f32(&logits)).unwrap();
    let xt = Tensor::from_slice(gpu, &[n * m, len], &to_f32(&samples)).unwrap();
    let dt = Tensor::from_slice(gpu, &[n * m, 1], &to_f32(&d)).unwrap();
    let dl = Tensor::zeros(gpu, &[n, len]).unwrap();
    let losses = Tensor::from_slice(gpu, &[2], &[7.0, 7.0]).unwrap();
    let g = GeneratorLoss::new(gpu, n, len, m, estimator).unwrap();
    let mut s = Step::new(gpu);
    g.record(&mut s, &dl, &losses.buf, 1, &lt, &xt, &dt).unwrap();
    s.submit().unwrap();
    let what = format!("{estimator:?} N {n} P {len} M {m}");
    let (w, logged) = match estimator {
        Estimator::Importance => (twin::weights(&d, m), twin::weights(&d, m)),
        Estimator::Reinforce => (twin::reinforce_weights(&d, m), twin::uniform_weights(n, m)),
    };
    // REINFORCE's weights are differences of D's logits (up to ±40 here), so f32 rounding of
    // those logits bounds their absolute error, not the weights' size.
    let atol = if estimator == Estimator::Importance { 1e-7 } else { 1e-5 };
    assert_close(&format!("{what}: weights"), &g.weights.read_blocking(gpu).unwrap(), &w, atol, 1e-5);
    let grad = twin::loss_grad(&logits, &samples, &w, len, m);
    assert_close(&format!("{what}: dL/dlogits"), &dl.read_blocking(gpu).unwrap(), &grad, atol, 1e-5);
    let got = losses.read_blocking(gpu).unwrap();
    assert_eq!(got[0], 7.0, "{what}: only the generator's slot is written");
    let want = twin::loss(&logits, &samples, &logged, len, m);
    assert_close(&format!("{what}: logged loss"), &got[1..], &[want], 1e-5, 1e-5);
}

#[test]
fn mismatched_shapes_are_errors() {
    let Some(gpu) = gpu() else { return };
    let l = Tensor::zeros(gpu, &[2, 6]).unwrap();
    let x = Tensor::zeros(gpu, &[6, 6]).unwrap();
    let e = record_samples(&mut Step::new(gpu), &x, &l, 4, 0, 0, &clock(gpu), 0).unwrap_err().to_string();
    assert!(e.contains("[6, 6]") && e.contains("[8, 6]"), "{e}");
    let e = record_samples(&mut Step::new(gpu), &x, &l, 3, 0, 0, &clock(gpu), 5).unwrap_err().to_string();
    assert!(e.contains("slot 5"), "{e}");
    let g = GeneratorLoss::new(gpu, 2, 6, 3, Estimator::Importance).unwrap();
    let d = Tensor::zeros(gpu, &[5, 1]).unwrap();
    let losses = Tensor::zeros(gpu, &[2]).unwrap();
    let e = g.record(&mut Step::new(gpu), &l, &losses.buf, 1, &l, &x, &d).unwrap_err().to_string();
    assert!(e.contains("discriminator logits") && e.contains("[6, 1]"), "{e}");
}
