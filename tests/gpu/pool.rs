use crate::support::*;
use nanogan::cpu::loss::softmax_xent;
use nanogan::cpu::pool::{max_pool, max_pool_backward};
use nanogan::gan::loss::record_softmax_xent;
use nanogan::nn::pool::MaxPool2d;
use nanogan::{Step, Tensor};

#[test]
fn max_pool_matches_twin() {
    let Some(gpu) = gpu() else { return };
    for (n, c, h, w, k) in [(1, 1, 2, 2, 2), (2, 3, 6, 9, 3), (3, 5, 24, 24, 2), (2, 2, 4, 4, 1)] {
        // Rounded to a coarse grid so that ties occur: the first maximum must win on both sides.
        let x: Vec<f64> = rand(50 + k as u64, n * c * h * w).iter().map(|v| (v * 4.0).round()).collect();
        let dy = rounded(&rand(51, n * c * (h / k) * (w / k)));
        let pool = MaxPool2d::new(k).unwrap();
        let xt = Tensor::from_slice(gpu, &[n, c, h, w], &to_f32(&x)).unwrap();
        let yt = Tensor::zeros(gpu, &[n, c, h / k, w / k]).unwrap();
        let dyt = Tensor::from_slice(gpu, &[n, c, h / k, w / k], &to_f32(&dy)).unwrap();
        let dxt = Tensor::from_slice(gpu, &[n, c, h, w], &vec![9.0; n * c * h * w]).unwrap();
        let mut s = Step::new(gpu);
        pool.forward(&mut s, &yt, &xt).unwrap();
        pool.backward(&mut s, &dxt, &dyt, &xt).unwrap();
        s.submit().unwrap();
        let what = format!("MaxPool2d({k}) on ({n}, {c}, {h}, {w})");
        assert_close(&format!("{what} forward"), &yt.read_blocking(gpu).unwrap(), &max_pool(&x, h, w, k).0, 0.0, 0.0);
        let want = max_pool_backward(&x, &dy, h, w, k);
        assert_close(&format!("{what} backward"), &dxt.read_blocking(gpu).unwrap(), &want, 0.0, 0.0);
    }
}

#[test]
fn max_pool_refuses_uneven_inputs() {
    let e = MaxPool2d::new(2).unwrap().out_shape(&[1, 1, 5, 4]).unwrap_err().to_string();
    assert!(e.contains("multiples of 2") && e.contains("[1, 1, 5, 4]"), "{e}");
    assert!(MaxPool2d::new(0).is_err());
}

#[test]
fn softmax_cross_entropy_matches_twin() {
    let Some(gpu) = gpu() else { return };
    for (n, classes) in [(1, 1), (3, 10), (257, 10), (64, 7)] {
        let y = rounded(&rand(60 + n as u64, n * classes).iter().map(|v| 8.0 * v).collect::<Vec<_>>());
        let labels: Vec<usize> = (0..n).map(|r| (r * 5 + 1) % classes).collect();
        let yt = Tensor::from_slice(gpu, &[n, classes], &to_f32(&y)).unwrap();
        let lt = Tensor::from_slice(gpu, &[n], &labels.iter().map(|&l| l as f32).collect::<Vec<_>>()).unwrap();
        let dy = Tensor::zeros(gpu, &[n, classes]).unwrap();
        let losses = Tensor::from_slice(gpu, &[2], &[0.0, 1.5]).unwrap();
        let mut s = Step::new(gpu);
        record_softmax_xent(&mut s, &dy, &losses.buf, 1, true, &yt, &lt).unwrap();
        s.submit().unwrap();
        let (l, g) = softmax_xent(&y, &labels, classes);
        let what = format!("softmax cross-entropy N {n} C {classes}");
        assert_close(&format!("{what} gradient"), &dy.read_blocking(gpu).unwrap(), &g, 1e-7, 1e-5);
        assert_close(&format!("{what} loss"), &losses.read_blocking(gpu).unwrap(), &[0.0, 1.5 + l], 1e-6, 1e-5);
    }
    let yt = Tensor::zeros(gpu, &[4, 10]).unwrap();
    let e = record_softmax_xent(&mut Step::new(gpu), &yt, &yt.buf, 0, false, &yt, &Tensor::zeros(gpu, &[3]).unwrap());
    assert!(e.unwrap_err().to_string().contains("3 labels for 4 rows"));
}
