use crate::support::*;
use nanogan::cpu::gather;
use nanogan::io::data::{Dataset, GpuDataset};
use nanogan::{Step, Tensor};

#[test]
fn gathered_batches_match_twin() {
    let Some(gpu) = gpu() else { return };
    // 7 images of 3×5: odd sizes so bytes straddle u32 words.
    let (n, h, w) = (7, 3, 5);
    let images: Vec<u8> = (0..n * h * w).map(|i| (i * 37 % 256) as u8).collect();
    let ds = Dataset { images: images.clone(), labels: None, n, h, w };
    let data = GpuDataset::upload(gpu, &ds).unwrap();
    let clock = gpu.storage_init("clock", bytemuck::cast_slice(&[5u32, 9, 0, 0])).unwrap();
    for batch in [1, 3, 65] {
        let idx = gpu.storage("idx", (batch * 4) as u64).unwrap();
        let x = Tensor::zeros(gpu, &[batch, 1, h, w]).unwrap();
        let mut s = Step::new(gpu);
        data.record_indices(&mut s, &idx, batch, 0xABCD_0000_1234, 3, &clock, 1).unwrap();
        data.record_batch(&mut s, &x, &idx).unwrap();
        s.submit().unwrap();
        let got_idx: Vec<u32> =
            bytemuck::pod_collect_to_vec(&pollster::block_on(gpu.read_bytes(&idx, (batch * 4) as u64)).unwrap());
        let want_idx = gather::indices(0xABCD_0000_1234, 3, 9, batch, n);
        assert_eq!(got_idx, want_idx, "batch {batch}");
        assert!(got_idx.iter().all(|&i| (i as usize) < n));
        let want = gather::batch(&images, &want_idx, h * w);
        assert_close("gathered batch", &x.read_blocking(gpu).unwrap(), &want, 1e-7, 1e-6);
    }
}

#[test]
fn indices_cover_the_dataset_uniformly() {
    // Every image is drawn about equally often: 10 images, 20,000 draws.
    let idx = gather::indices(1, 3, 0, 20_000, 10);
    let mut counts = [0usize; 10];
    for i in idx {
        counts[i as usize] += 1;
    }
    assert!(counts.iter().all(|&c| (1800..2200).contains(&c)), "{counts:?}");
}

#[test]
fn wrong_batch_shape_is_an_error() {
    let Some(gpu) = gpu() else { return };
    let ds = Dataset { images: vec![0; 4 * 28 * 28], labels: None, n: 4, h: 28, w: 28 };
    let data = GpuDataset::upload(gpu, &ds).unwrap();
    let idx = gpu.storage("idx", 8).unwrap();
    let x = Tensor::zeros(gpu, &[2, 784]).unwrap();
    let e = data.record_batch(&mut Step::new(gpu), &x, &idx).unwrap_err().to_string();
    assert!(e.contains("[2, 784]") && e.contains("[2, 1, 28, 28]"), "{e}");
}

#[test]
fn binary_batches_match_twin() {
    let Some(gpu) = gpu() else { return };
    use nanogan::io::data::Binarize;
    // Every byte value, so the threshold's edge (127 | 128) and both ends are all there.
    let (n, h, w) = (5, 8, 13);
    let images: Vec<u8> = (0..n * h * w).map(|i| (i * 101 % 256) as u8).collect();
    let ds = Dataset { images: images.clone(), labels: None, n, h, w };
    let data = GpuDataset::upload(gpu, &ds).unwrap();
    let clock = gpu.storage_init("clock", bytemuck::cast_slice(&[4u32, 11])).unwrap();
    let batch = 9;
    let idx_host: Vec<u32> = (0..batch as u32).map(|b| b * 3 % n as u32).collect();
    let idx = gpu.storage_init("idx", bytemuck::cast_slice(&idx_host)).unwrap();
    for (binarize, stochastic) in [(Binarize::Threshold, false), (Binarize::Stochastic, true)] {
        let x = Tensor::zeros(gpu, &[batch, 1, h, w]).unwrap();
        let mut s = Step::new(gpu);
        data.record_binary_batch(&mut s, &x, &idx, binarize, 0x5EED, 4, &clock, 1).unwrap();
        s.submit().unwrap();
        let want = gather::binary_batch(&images, &idx_host, h * w, stochastic, (0x5EED, 4, 11));
        // Integer maths on both sides: exact.
        assert_close(&format!("{binarize:?} batch"), &x.read_blocking(gpu).unwrap(), &want, 0.0, 0.0);
    }
}

#[test]
fn binarization_follows_intensity() {
    // Threshold: pixel ≥ 128. Stochastic: +1 with probability pixel/255 (200,000 draws each).
    let images: Vec<u8> = vec![0, 51, 127, 128, 204, 255];
    let threshold = gather::binary_batch(&images, &[0], 6, false, (0, 0, 0));
    assert_eq!(threshold, vec![-1.0, -1.0, -1.0, 1.0, 1.0, 1.0]);
    let idx = vec![0u32; 200_000];
    let drawn = gather::binary_batch(&images, &idx, 6, true, (7, 4, 3));
    for (j, &v) in images.iter().enumerate() {
        let ones = drawn.iter().skip(j).step_by(6).filter(|&&x| x > 0.0).count() as f64 / idx.len() as f64;
        let p = v as f64 / 255.0;
        // Five standard deviations of a binomial proportion (and exact at 0 and 1).
        let tolerance = 5.0 * (p * (1.0 - p) / idx.len() as f64).sqrt();
        assert!((ones - p).abs() <= tolerance, "pixel {v}: frequency {ones}, probability {p}");
    }
}
