use crate::support::*;
use nanogan::cpu::linear as twin;
use nanogan::{ArenaBuilder, Init, InitRng, Linear, Step, Tensor};

fn check_linear(n: usize, i: usize, o: usize) {
    let Some(gpu) = gpu() else { return };
    let mut b = ArenaBuilder::new();
    let mut rng = InitRng::new(3);
    let layer = Linear::new(&mut b, "fc", i, o, Init::Torch, &mut rng).unwrap();
    let arena = b.build(gpu).unwrap();
    let w = rand(1, o * i);
    let bias = rand(2, o);
    arena.write(gpu, "fc.weight", &to_f32(&w)).unwrap();
    arena.write(gpu, "fc.bias", &to_f32(&bias)).unwrap();
    let (w, bias) = (rounded(&w), rounded(&bias));
    let x = rounded(&rand(3, n * i));
    let dy = rounded(&rand(4, n * o));
    let xt = Tensor::from_slice(gpu, &[n, i], &to_f32(&x)).unwrap();
    let yt = Tensor::zeros(gpu, &[n, o]).unwrap();
    let dyt = Tensor::from_slice(gpu, &[n, o], &to_f32(&dy)).unwrap();
    let dxt = Tensor::zeros(gpu, &[n, i]).unwrap();
    let mut s = Step::new(gpu);
    layer.forward(&mut s, &arena, &yt, &xt).unwrap();
    layer.backward(&mut s, &arena, Some(&dxt), &dyt, &xt, false).unwrap();
    s.submit().unwrap();
    let tol = 1e-5 * (i.max(o).max(n) as f64).sqrt();
    let y = twin::forward(&x, &w, &bias, n, i, o);
    let (dx, dw, db) = twin::backward(&dy, &x, &w, n, i, o);
    assert_close("linear y", &yt.read_blocking(gpu).unwrap(), &y, tol, 1e-5);
    assert_close("linear dx", &dxt.read_blocking(gpu).unwrap(), &dx, tol, 1e-5);
    let gw = pollster::block_on(arena.read_grad(gpu, "fc.weight")).unwrap();
    let gb = pollster::block_on(arena.read_grad(gpu, "fc.bias")).unwrap();
    assert_close("linear dw", &gw, &dw, tol, 1e-5);
    assert_close("linear db", &gb, &db, tol, 1e-5);
}

#[test]
fn linear_awkward_shapes() {
    for (n, i, o) in [(1, 1, 1), (3, 5, 7), (1, 63, 65), (3, 37, 1), (5, 1, 33)] {
        check_linear(n, i, o);
    }
}

#[test]
fn linear_gan_shapes() {
    for (n, i, o) in [(64, 784, 512), (64, 512, 256), (64, 256, 1), (64, 100, 128), (64, 1024, 784)] {
        check_linear(n, i, o);
    }
}

#[test]
fn linear_rejects_wrong_shapes() {
    let Some(gpu) = gpu() else { return };
    let mut b = ArenaBuilder::new();
    let layer = Linear::new(&mut b, "fc", 4, 2, Init::Torch, &mut InitRng::new(0)).unwrap();
    let arena = b.build(gpu).unwrap();
    let x = Tensor::zeros(gpu, &[3, 5]).unwrap();
    let y = Tensor::zeros(gpu, &[3, 2]).unwrap();
    let err = layer.forward(&mut Step::new(gpu), &arena, &y, &x).unwrap_err().to_string();
    assert!(err.contains("[3, 5]") && err.contains("(N, 4)"), "{err}");
}

#[test]
fn naive_and_blocked_gemm_agree() {
    let Some(gpu) = gpu() else { return };
    use nanogan::linear::{gemm, gemm_naive, GemmParams, NO_BIAS};
    let (m, n, k) = (37, 45, 19);
    let a = Tensor::from_slice(gpu, &[m, k], &to_f32(&rand(5, m * k))).unwrap();
    let b = Tensor::from_slice(gpu, &[k, n], &to_f32(&rand(6, k * n))).unwrap();
    let c1 = Tensor::zeros(gpu, &[m, n]).unwrap();
    let c2 = Tensor::zeros(gpu, &[m, n]).unwrap();
    let p = GemmParams {
        m: m as u32,
        n: n as u32,
        k: k as u32,
        accumulate: 0,
        a_off: 0,
        a_ms: k as u32,
        a_ks: 1,
        b_off: 0,
        b_ks: n as u32,
        b_ns: 1,
        c_off: 0,
        c_ms: n as u32,
        bias_off: NO_BIAS,
        _pad: [0; 3],
    };
    let mut s = Step::new(gpu);
    gemm(&mut s, &p, &c1.buf, &a.buf, &b.buf, &b.buf).unwrap();
    gemm_naive(&mut s, &p, &c2.buf, &a.buf, &b.buf, &b.buf).unwrap();
    s.submit().unwrap();
    let blocked: Vec<f64> = c1.read_blocking(gpu).unwrap().iter().map(|&v| v as f64).collect();
    assert_close("naive vs blocked", &c2.read_blocking(gpu).unwrap(), &blocked, 1e-5, 1e-5);
}
