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
