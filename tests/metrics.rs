//! The metrics on the GPU with the shipped classifier: its accuracy, and FID, KID, IS, KDE and
//! modes behaving as they must on real digits, on a copy of a set, and on noise. (The f64
//! arithmetic itself is held to NumPy/SciPy in tests/metrics_golden.rs.)

mod common;

use common::{digits, gpu};
use nanogan::metrics::features::FeatureNet;
use nanogan::metrics::{Reference, Report};
use nanogan::Gpu;
use std::sync::OnceLock;

fn net(gpu: &Gpu) -> &'static FeatureNet {
    static NET: OnceLock<FeatureNet> = OnceLock::new();
    NET.get_or_init(|| FeatureNet::bundled(gpu).expect("shipped classifier weights"))
}

fn reference(gpu: &Gpu) -> &'static Reference {
    static REF: OnceLock<Reference> = OnceLock::new();
    REF.get_or_init(|| {
        pollster::block_on(Reference::from_dataset(gpu, net(gpu), digits(), false, "bundled")).expect("reference")
    })
}

fn evaluate(gpu: &Gpu, samples: &[f32]) -> Report {
    pollster::block_on(reference(gpu).evaluate(gpu, net(gpu), samples)).unwrap()
}

/// The shipped weights classify the 2,000 digits `examples/classifier.rs` held out (the
/// bundled set's last 2,000) at ≥ 98%, in f16 as shipped.
#[test]
fn shipped_classifier_reaches_98_percent_on_its_test_digits() {
    let Some(gpu) = gpu() else { return };
    let ds = digits();
    let labels = ds.labels.as_ref().unwrap();
    let range = ds.n - 2000..ds.n;
    let images: Vec<f32> = ds.images[range.start * 784..].iter().map(|&v| v as f32 / 127.5 - 1.0).collect();
    let f = pollster::block_on(net(gpu).features(gpu, &images)).unwrap();
    let right = f.predictions().iter().zip(&labels[range]).filter(|(p, &l)| **p == l as usize).count();
    let accuracy = right as f64 / 2000.0;
    assert!(accuracy >= 0.98, "test accuracy {accuracy}");
    assert_eq!(f.features.len(), 2000 * 128);
    assert!(f.probs.chunks(10).all(|p| (p.iter().sum::<f64>() - 1.0).abs() < 1e-9));
}

/// Held-out real digits against the rest: a small FID, every class, a high IS; uniform noise:
/// a FID a hundred times larger, a low IS, KID far above the real set's.
#[test]
fn real_digits_score_near_the_floor_and_noise_far_from_it() {
    let Some(gpu) = gpu() else { return };
    let real = evaluate(gpu, &reference(gpu).held_out);
    eprintln!("real: {real}");
    assert!(real.fid < 10.0, "held-out FID {}", real.fid);
    assert_eq!(real.modes, 10, "{real}");
    assert!(real.inception_score > 9.0, "{real}");
    assert!(real.kid.mean.abs() < 3.0 * real.kid.std + 1e-9, "real KID should be ~0: {real}");
    let mut state = 12345u64;
    let noise: Vec<f32> = (0..2000 * 784)
        .map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
        })
        .collect();
    let fake = evaluate(gpu, &noise);
    eprintln!("noise: {fake}");
    assert!(fake.fid > 100.0 * real.fid, "noise FID {} vs real {}", fake.fid, real.fid);
    assert!(fake.kid.mean > real.kid.mean + 10.0 * real.kid.std.max(1e-9), "{fake}");
    assert!(fake.inception_score < real.inception_score / 2.0, "{fake}");
    assert!(fake.kde.log_likelihood < real.kde.log_likelihood, "{fake}");
    assert_eq!(real.histogram.iter().sum::<usize>(), 2000);
}

/// A set measured against a reference fitted on that same set: FID 0 up to rounding.
#[test]
fn fid_of_a_set_against_itself_is_zero() {
    let Some(gpu) = gpu() else { return };
    let set = &reference(gpu).held_out[..600 * 784];
    let (val, test) = (&reference(gpu).held_out[600 * 784..700 * 784], &reference(gpu).held_out[700 * 784..800 * 784]);
    let own = pollster::block_on(Reference::new(gpu, net(gpu), set, val, test, Vec::new(), "self")).unwrap();
    let r = pollster::block_on(own.evaluate(gpu, net(gpu), set)).unwrap();
    assert!(r.fid.abs() < 1e-6, "FID of a set with itself: {}", r.fid);
}

/// Bad inputs are named, not panicked on.
#[test]
fn metrics_refuse_bad_samples() {
    let Some(gpu) = gpu() else { return };
    let e = pollster::block_on(reference(gpu).evaluate(gpu, net(gpu), &[0.0; 100])).unwrap_err().to_string();
    assert!(e.contains("28×28"), "{e}");
    let one = vec![0.0; 784];
    let e = pollster::block_on(reference(gpu).evaluate(gpu, net(gpu), &one)).unwrap_err().to_string();
    assert!(e.contains("at least 2 samples"), "{e}");
    let mut nan = vec![0.0; 2 * 784];
    nan[900] = f32::NAN;
    let e = pollster::block_on(reference(gpu).evaluate(gpu, net(gpu), &nan)).unwrap_err().to_string();
    assert!(e.contains("image 1"), "{e}");
    let small = nanogan::io::data::Dataset { images: vec![0; 784 * 10], labels: None, n: 10, h: 28, w: 28 };
    let e =
        pollster::block_on(Reference::from_dataset(gpu, net(gpu), &small, false, "tiny")).err().unwrap().to_string();
    assert!(e.contains("tiny") && e.contains("at least"), "{e}");
}
