//! The IDX reader: the bundled digits, Debian's full Fashion-MNIST, and every kind of bad file
//! a user might point it at. No GPU needed.

use nanogan::io::data::{parse_idx, Dataset};
use std::io::Write;
use std::path::PathBuf;

fn idx_bytes(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = magic.to_be_bytes().to_vec();
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nanogan-data-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn bundled_digits_are_ten_thousand_labelled_28x28_images() {
    let ds = Dataset::bundled().unwrap();
    assert_eq!((ds.n, ds.h, ds.w), (10_000, 28, 28));
    let labels = ds.labels.as_ref().unwrap();
    let mut counts = [0usize; 10];
    for &l in labels {
        counts[l as usize] += 1;
    }
    assert!(counts.iter().all(|&c| (800..1200).contains(&c)), "label counts {counts:?}");
    // Real digits: mostly black background with bright strokes.
    let mean = ds.images.iter().map(|&v| v as f64).sum::<f64>() / ds.images.len() as f64;
    assert!((20.0..50.0).contains(&mean), "mean pixel {mean}");
    assert_eq!(ds.images.iter().max(), Some(&255));
}

#[test]
fn raw_and_gzipped_files_read_the_same() {
    let raw = idx_bytes(0x803, &[2, 2, 3], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    let a = parse_idx(&raw, "raw").unwrap();
    let b = parse_idx(&gzip(&raw), "gz").unwrap();
    assert_eq!(a.dims, vec![2, 2, 3]);
    assert_eq!(a.data, b.data);
}

#[test]
fn bad_files_are_named_and_explained() {
    let good = idx_bytes(0x803, &[2, 2, 2], &[0; 8]);
    let err = |bytes: &[u8]| parse_idx(bytes, "images.idx").unwrap_err().to_string();

    let e = err(&idx_bytes(0x0801_0000, &[], &[]));
    assert!(e.contains("images.idx") && e.contains("expected IDX magic"), "{e}");
    let e = err(&gzip(&gzip(&good)));
    assert!(e.contains("gzip inside gzip"), "{e}");
    let e = err(&good[..good.len() - 3]);
    assert!(e.contains("truncated") && e.contains("need 8 bytes") && e.contains("found 5"), "{e}");
    let e = err(&good[..6]);
    assert!(e.contains("truncated header"), "{e}");
    let e = err(&idx_bytes(0x0d03, &[1, 1, 1], &[0; 4]));
    assert!(e.contains("0x08"), "{e}");
    let gz = gzip(&good);
    let e = err(&gz[..gz.len() / 2]);
    assert!(e.contains("gzip"), "{e}");
}

#[test]
fn mismatched_label_count_is_an_error() {
    let dir = temp_dir("mismatch");
    std::fs::write(dir.join("train-images-idx3-ubyte"), idx_bytes(0x803, &[3, 2, 2], &[0; 12])).unwrap();
    std::fs::write(dir.join("train-labels-idx1-ubyte.gz"), gzip(&idx_bytes(0x801, &[2], &[0, 1]))).unwrap();
    let e = Dataset::load(&dir).unwrap_err().to_string();
    assert!(e.contains("3 images") && e.contains("[2]"), "{e}");
    std::fs::write(dir.join("train-labels-idx1-ubyte.gz"), gzip(&idx_bytes(0x801, &[3], &[0, 1, 2]))).unwrap();
    let ds = Dataset::load(&dir).unwrap();
    assert_eq!((ds.n, ds.h, ds.w), (3, 2, 2));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn missing_paths_are_named() {
    let e = Dataset::load(std::path::Path::new("/no/such/mnist")).unwrap_err().to_string();
    assert!(e.contains("/no/such/mnist"), "{e}");
    let dir = temp_dir("empty");
    let e = Dataset::load(&dir).unwrap_err().to_string();
    assert!(e.contains("train-images-idx3-ubyte"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Debian's `dataset-fashion-mnist`: the full 60,000 training images in standard IDX .gz.
/// CI installs it; elsewhere the test says how to get it and passes only if CI is unset.
#[test]
fn reads_debians_full_fashion_mnist() {
    let dir = std::env::var("NANOGAN_FASHION_MNIST").unwrap_or_else(|_| "/usr/share/datasets/fashion-mnist".into());
    let dir = PathBuf::from(dir);
    if !dir.join("train-images-idx3-ubyte.gz").exists() {
        assert!(
            std::env::var("CI").is_err(),
            "{} is missing: apt-get install dataset-fashion-mnist (CI must run this test)",
            dir.display()
        );
        eprintln!("skipping: {} not found (apt-get install dataset-fashion-mnist)", dir.display());
        return;
    }
    let ds = Dataset::load(&dir).unwrap();
    assert_eq!((ds.n, ds.h, ds.w), (60_000, 28, 28));
    let labels = ds.labels.unwrap();
    assert_eq!(labels.len(), 60_000);
    assert!(labels.iter().all(|&l| l < 10));
    assert_eq!(labels.iter().filter(|&&l| l == 0).count(), 6000, "Fashion-MNIST has 6,000 of each class");
}
