//! The benchmark's instruments: profiled replays (each dispatch in its own timed pass, split over
//! several submits) must do exactly what a plain replay does, and the FLOP count must match the
//! layers' products counted by hand.

use crate::support::{digits, gpu};
use nanogan::gan::config::Config;
use nanogan::gan::presets::Preset;
use nanogan::gan::sample::fixed_noise;
use nanogan::gan::train::Trainer;
use nanogan::gpu::step::profile;
use nanogan::{wgpu, Gpu};

fn config(model: Preset) -> Config {
    Config { batch: 8, seed: 3, ..Config::for_model(model) }
}

fn samples(gpu: &Gpu, t: &Trainer) -> Vec<f32> {
    pollster::block_on(t.sample(gpu, &fixed_noise(5, 4, t.config.z))).unwrap()
}

/// Two iterations replayed in chunks of 7 dispatches, one submit each, train the same weights
/// as two plain iterations: every clear and copy went out once, in its place.
#[test]
fn chunked_profiled_replay_matches_plain_iterations() {
    let Some(gpu) = gpu() else { return };
    if !gpu.has_timestamps() {
        eprintln!("skipping: {} has no timestamp queries", gpu.describe());
        return;
    }
    let untrained = Trainer::new(gpu, config(Preset::Mlp), digits()).unwrap();
    let mut plain = Trainer::new(gpu, config(Preset::Mlp), digits()).unwrap();
    let chunked = Trainer::new(gpu, config(Preset::Mlp), digits()).unwrap();
    const CHUNK: usize = 7;
    let queries = gpu.device.create_query_set(&wgpu::QuerySetDescriptor {
        label: Some("test"),
        ty: wgpu::QueryType::Timestamp,
        count: 2 * CHUNK as u32,
    });
    for _ in 0..2 {
        plain.submit_iteration(gpu).unwrap();
        for plan in chunked.iteration_plans() {
            let total = plan.dispatches();
            let mut from = 0;
            loop {
                let to = total.min(from + CHUNK);
                let mut encoder = gpu.device.create_command_encoder(&Default::default());
                let kernels = plan.encode_profiled(&mut encoder, &queries, 0, from..to).unwrap();
                assert_eq!(kernels, plan.kernels()[from..to]);
                gpu.queue.submit([encoder.finish()]);
                from = to;
                if from >= total {
                    break;
                }
            }
        }
    }
    gpu.wait().unwrap();
    let (a, b) = (samples(gpu, &plain), samples(gpu, &chunked));
    let max_diff = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(p, q)| (p - q).abs()).fold(0.0, f32::max);
    assert_eq!(max_diff(&a, &b), 0.0, "the chunked replay trained different weights");
    assert!(max_diff(&a, &samples(gpu, &untrained)) > 0.0, "two iterations left the generator unchanged");
}

/// A range that would write past the query set is refused, not left to a validation panic.
#[test]
fn profiled_range_larger_than_the_query_set_is_refused() {
    let Some(gpu) = gpu() else { return };
    if !gpu.has_timestamps() {
        return;
    }
    let t = Trainer::new(gpu, config(Preset::Mlp), digits()).unwrap();
    let queries = gpu.device.create_query_set(&wgpu::QuerySetDescriptor {
        label: Some("test"),
        ty: wgpu::QueryType::Timestamp,
        count: 4,
    });
    let mut encoder = gpu.device.create_command_encoder(&Default::default());
    let err = t.iteration_plans()[0].encode_profiled(&mut encoder, &queries, 2, 0..2).unwrap_err();
    assert!(err.to_string().contains("query set holds 4"), "{err}");
}

/// `profile` times every dispatch of an iteration, in order, with the trainer's kernels.
#[test]
fn profile_covers_every_dispatch_of_an_iteration() {
    let Some(gpu) = gpu() else { return };
    if !gpu.has_timestamps() {
        return;
    }
    let t = Trainer::new(gpu, config(Preset::Dcgan), digits()).unwrap();
    let timed = pollster::block_on(profile(gpu, &t.iteration_plans())).unwrap();
    let kernels: Vec<_> = t.iteration_plans().iter().flat_map(|p| p.kernels()).collect();
    assert_eq!(timed.len(), t.iteration_dispatches());
    assert_eq!(timed.iter().map(|d| d.0).collect::<Vec<_>>(), kernels);
    assert!(timed.iter().all(|d| d.1.is_finite() && d.1 >= 0.0), "{timed:?}");
    assert!(timed.iter().any(|d| d.1 > 0.0), "every dispatch timed at zero: {timed:?}");
}

/// The mlp pair's products counted by hand: G 100→128→256→512→1024→784, D 784→512→256→1.
#[test]
fn iteration_flops_count_the_recorded_products() {
    let Some(gpu) = gpu() else { return };
    let t = Trainer::new(gpu, Config { batch: 64, ..Config::for_model(Preset::Mlp) }, digits()).unwrap();
    let mac = |dims: &[f64]| dims.windows(2).map(|w| 2.0 * 64.0 * w[0] * w[1]).sum::<f64>();
    let g = mac(&[100.0, 128.0, 256.0, 512.0, 1024.0, 784.0]);
    let d = mac(&[784.0, 512.0, 256.0, 1.0]);
    let (g_first, d_first) = (2.0 * 64.0 * 100.0 * 128.0, 2.0 * 64.0 * 784.0 * 512.0);
    // D step: G fwd; twice D fwd + dW + dx below the first layer.
    let d_step = g + 2.0 * (d + d + (d - d_first));
    // G step: G fwd, D fwd, D dx everywhere (frozen), G dW + dx below the first layer.
    let g_step = g + d + d + g + (g - g_first);
    let counted = t.iteration_flops().unwrap();
    assert!((counted - (d_step + g_step)).abs() < 1.0, "{counted} vs {}", d_step + g_step);

    // dcgan: a conv counts its output pixels, a transposed conv its input pixels.
    let dc = Trainer::new(gpu, config(Preset::Dcgan), digits()).unwrap();
    let d_flops = dc.d.flops(2).unwrap();
    assert_eq!(d_flops[0].forward, 2.0 * 2.0 * 64.0 * 16.0 * 14.0 * 14.0);
    assert_eq!(d_flops[2].backward_weight, 2.0 * 2.0 * 64.0 * 128.0 * 16.0 * 7.0 * 7.0);
    let g_flops = dc.g.flops(2).unwrap();
    assert_eq!(g_flops[4].backward_data, 2.0 * 2.0 * 128.0 * 64.0 * 16.0 * 7.0 * 7.0);
    assert_eq!(g_flops[1].forward, 0.0, "batch norm is not counted");
}
