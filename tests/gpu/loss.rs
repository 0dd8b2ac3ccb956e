use crate::support::*;
use nanogan::gan::loss::{record, Term};
use nanogan::{Step, Tensor};

#[test]
fn losses_match_twin() {
    let Some(gpu) = gpu() else { return };
    for n in [1, 3, 64, 255, 257, 1031] {
        let y = rounded(&rand(20 + n as u64, n).iter().map(|v| 4.0 * v).collect::<Vec<_>>());
        let t = rounded(&rand(30 + n as u64, n));
        let yt = Tensor::from_slice(gpu, &[n, 1], &to_f32(&y)).unwrap();
        let tt = Tensor::from_slice(gpu, &[n, 1], &to_f32(&t)).unwrap();
        let dy = Tensor::zeros(gpu, &[n, 1]).unwrap();
        let losses = Tensor::from_slice(gpu, &[5], &[0.0, 0.0, 0.0, 10.0, 0.0]).unwrap();
        for (index, term) in
            [Term::Mse, Term::LeastSquares(0.7), Term::BceLogits(1.0), Term::BceLogits(0.0), Term::NegBceLogits(0.0)]
                .into_iter()
                .enumerate()
        {
            let mut s = Step::new(gpu);
            // Slot 3 starts at 10 and accumulates, as the discriminator's real + fake terms do.
            record(&mut s, term, &dy, &losses.buf, index as u32, index == 3, &yt, Some(&tt)).unwrap();
            s.submit().unwrap();
            let (l, g) = nanogan::cpu::loss::loss(term, &y, &t);
            assert_close(&format!("{term:?} dy (n={n})"), &dy.read_blocking(gpu).unwrap(), &g, 1e-7, 1e-5);
            let expect = if index == 3 { 10.0 + l } else { l };
            let got = losses.read_blocking(gpu).unwrap()[index];
            assert_close(&format!("{term:?} loss (n={n})"), &[got], &[expect], 1e-6, 1e-5);
        }
    }
}

#[test]
fn bce_on_logits_stays_finite_for_large_logits() {
    let Some(gpu) = gpu() else { return };
    let yt = Tensor::from_slice(gpu, &[4, 1], &[-200.0, -30.0, 30.0, 200.0]).unwrap();
    let dy = Tensor::zeros(gpu, &[4, 1]).unwrap();
    let losses = Tensor::zeros(gpu, &[1]).unwrap();
    let mut s = Step::new(gpu);
    record(&mut s, Term::BceLogits(1.0), &dy, &losses.buf, 0, false, &yt, None).unwrap();
    s.submit().unwrap();
    let l = losses.read_blocking(gpu).unwrap()[0];
    assert!(l.is_finite() && (l - 57.5).abs() < 1e-3, "loss {l}");
    assert!(dy.read_blocking(gpu).unwrap().iter().all(|g| g.is_finite()));
}
