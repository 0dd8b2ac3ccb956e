use crate::support::*;
use nanogan::cpu::batch_norm as twin;
use nanogan::nn::batch_norm::BatchNorm;
use nanogan::{Arena, ArenaBuilder, Gpu, Init, InitRng, Step, Tensor};

const EPS: f32 = 1e-5;
const MOMENTUM: f32 = 0.1;
/// What the gradient buffer holds before backward, so accumulation (+=) is checked too.
const GRAD0: f32 = 0.25;

fn read(gpu: &Gpu, arena: &Arena, name: &str) -> Vec<f32> {
    pollster::block_on(arena.read(gpu, name)).unwrap()
}

fn read_grad(gpu: &Gpu, arena: &Arena, name: &str) -> Vec<f32> {
    pollster::block_on(arena.read_grad(gpu, name)).unwrap()
}

fn plus(a: f64, v: &[f64]) -> Vec<f64> {
    v.iter().map(|x| a + x).collect()
}

/// A BatchNorm "bn" over `c` channels with seeded γ, β and running statistics, and the grads
/// buffer filled with GRAD0. Returns the layer, its arena and (γ, β, running mean, running var).
#[allow(clippy::type_complexity)]
fn layer(gpu: &Gpu, c: usize) -> (BatchNorm, Arena, [Vec<f64>; 4]) {
    let mut b = ArenaBuilder::new();
    let bn = BatchNorm::new(&mut b, gpu, "bn", c, EPS, MOMENTUM, Init::Torch, &mut InitRng::new(0)).unwrap();
    let arena = b.build(gpu).unwrap();
    let gamma = rounded(&rand(11, c).iter().map(|v| 1.0 + 0.5 * v).collect::<Vec<_>>());
    let beta = rounded(&rand(12, c));
    let rm = rounded(&rand(13, c).iter().map(|v| 0.1 * v).collect::<Vec<_>>());
    let rv = rounded(&rand(14, c).iter().map(|v| 1.0 + 0.5 * v).collect::<Vec<_>>());
    for (name, v) in [("bn.weight", &gamma), ("bn.bias", &beta), ("bn.running_mean", &rm), ("bn.running_var", &rv)] {
        arena.write(gpu, name, &to_f32(v)).unwrap();
    }
    gpu.queue.write_buffer(&arena.grads, 0, bytemuck::cast_slice(&vec![GRAD0; arena.params_len]));
    (bn, arena, [gamma, beta, rm, rv])
}

/// (N, C, inner) of a (N, C) or (N, C, H, W) shape.
fn dims(shape: &[usize]) -> (usize, usize, usize) {
    (shape[0], shape[1], shape[2..].iter().product())
}

/// Train forward + backward (+ an eval forward with the updated running statistics) against
/// the twin; `frozen` must leave the gradients at GRAD0.
fn check(shape: &[usize], x: &[f64], frozen: bool) {
    let Some(gpu) = gpu() else { return };
    let (n, c, inner) = dims(shape);
    let (bn, arena, [gamma, beta, rm, rv]) = layer(gpu, c);
    let x = rounded(x);
    let dy = rounded(&rand(5, x.len()));
    let xt = Tensor::from_slice(gpu, shape, &to_f32(&x)).unwrap();
    let yt = Tensor::zeros(gpu, shape).unwrap();
    let dyt = Tensor::from_slice(gpu, shape, &to_f32(&dy)).unwrap();
    let dxt = Tensor::zeros(gpu, shape).unwrap();
    let mut s = Step::new(gpu);
    bn.forward(&mut s, &arena, &yt, &xt, true).unwrap();
    bn.backward(&mut s, &arena, Some(&dxt), &dyt, &xt, frozen).unwrap();
    s.submit().unwrap();

    let what = format!("batch_norm {shape:?}");
    let m = (n * inner) as f64;
    // Sums over a channel's M values carry f32 rounding growing with M.
    let tol = 1e-6 * (2.0 + m.sqrt() / 16.0);
    // y and dx carry γ·rstd, so x − mean's rounding is amplified where a channel's values are
    // close (N = 2).
    let (_, var) = twin::batch_stats(&x, n, c, inner);
    let gain = (0..c).map(|ch| gamma[ch].abs() / (var[ch] + EPS as f64).sqrt()).fold(1.0, f64::max);
    let y = twin::forward_train(&x, &gamma, &beta, EPS as f64, n, c, inner);
    assert_close(&format!("{what} y"), &yt.read_blocking(gpu).unwrap(), &y, tol * gain, 1e-5);
    let (rm1, rv1) = twin::update_running(&rm, &rv, &x, MOMENTUM as f64, n, c, inner);
    assert_close(&format!("{what} running_mean"), &read(gpu, &arena, "bn.running_mean"), &rm1, tol, 1e-5);
    assert_close(&format!("{what} running_var"), &read(gpu, &arena, "bn.running_var"), &rv1, tol, 1e-5);
    let (dx, dg, db) = twin::backward(&dy, &x, &gamma, EPS as f64, n, c, inner);
    assert_close(&format!("{what} dx"), &dxt.read_blocking(gpu).unwrap(), &dx, tol * gain, 1e-5);
    let (gg, gb) = (read_grad(gpu, &arena, "bn.weight"), read_grad(gpu, &arena, "bn.bias"));
    if frozen {
        assert!(gg.iter().chain(&gb).all(|&g| g == GRAD0), "{what}: frozen backward changed the gradients");
    } else {
        assert_close(&format!("{what} dgamma"), &gg, &plus(GRAD0 as f64, &dg), tol * m.sqrt(), 1e-5);
        assert_close(&format!("{what} dbeta"), &gb, &plus(GRAD0 as f64, &db), tol * m.sqrt(), 1e-5);
    }

    // Eval: the running statistics the GPU holds now.
    let (rm1, rv1) = (to_f64(&read(gpu, &arena, "bn.running_mean")), to_f64(&read(gpu, &arena, "bn.running_var")));
    let mut s = Step::new(gpu);
    bn.forward(&mut s, &arena, &yt, &xt, false).unwrap();
    s.submit().unwrap();
    let y = twin::normalize(&x, &gamma, &beta, &rm1, &rv1, EPS as f64, n, c, inner);
    assert_close(&format!("{what} eval y"), &yt.read_blocking(gpu).unwrap(), &y, 2e-6, 1e-5);
    assert_eq!(read(gpu, &arena, "bn.running_mean"), to_f32(&rm1), "{what}: eval changed running_mean");
}

fn to_f64(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

/// Values with a non-zero mean and a non-unit spread.
fn input(len: usize) -> Vec<f64> {
    rand(4, len).iter().map(|v| 0.5 + 2.0 * v).collect()
}

#[test]
fn batch_norm_awkward_shapes() {
    for shape in [&[3, 5][..], &[3, 3, 5, 7], &[2, 65], &[1, 3, 5, 7], &[2, 1], &[3, 2, 1, 1]] {
        check(shape, &input(shape.iter().product()), false);
    }
}

#[test]
fn batch_norm_gan_shapes() {
    for shape in [&[64, 256][..], &[64, 512], &[64, 1024], &[64, 6272], &[64, 64, 14, 14], &[64, 128, 7, 7]] {
        check(shape, &input(shape.iter().product()), false);
    }
}

#[test]
fn batch_norm_frozen_computes_dx_only() {
    check(&[3, 3, 5, 7], &input(3 * 3 * 5 * 7), true);
    check(&[64, 1024], &input(64 * 1024), true);
}

#[test]
fn batch_norm_constant_channel_stays_finite() {
    // Zero variance: x̂ = 0, so y = β and rstd = 1/√eps.
    let shape = [4, 3, 2, 2];
    let x: Vec<f64> = (0..48).map(|i| if (i / 4) % 3 == 1 { 0.75 } else { input(48)[i] }).collect();
    check(&shape, &x, false);
}

/// The activation fused into the forward's output (as `Sequential` does when one follows in
/// place) equals batch norm then the activation, in training and in evaluation, through every
/// forward kernel: the one-dispatch serial form, the strided one and the vec4 one.
#[test]
fn batch_norm_with_fused_activation() {
    use nanogan::cpu::activation as act_twin;
    use nanogan::nn::activation::Act;
    for gpu in gpus() {
        for shape in [&[64, 256][..], &[3, 3, 5, 7], &[8, 16, 14, 14]] {
            let (n, c, inner) = dims(shape);
            let x = rounded(&input(shape.iter().product()));
            let xt = Tensor::from_slice(gpu, shape, &to_f32(&x)).unwrap();
            for act in [Act::Relu, Act::LeakyRelu(0.2), Act::Tanh, Act::Sigmoid] {
                let mut b = ArenaBuilder::new();
                let bn =
                    BatchNorm::new(&mut b, gpu, "bn", c, EPS, MOMENTUM, Init::Dcgan, &mut InitRng::new(3)).unwrap();
                let arena = b.build(gpu).unwrap();
                let gamma = to_f64(&read(gpu, &arena, "bn.weight"));
                let beta = to_f64(&read(gpu, &arena, "bn.bias"));
                let yt = Tensor::zeros(gpu, shape).unwrap();
                let mut s = Step::new(gpu);
                bn.forward_with_act(&mut s, &arena, &yt, &xt, true, Some(act)).unwrap();
                s.submit().unwrap();
                let what = format!("batch_norm {shape:?} + {act:?} on {}", gpu.describe());
                let y = act_twin::forward(act, &twin::forward_train(&x, &gamma, &beta, EPS as f64, n, c, inner));
                assert_close(&format!("{what} train"), &yt.read_blocking(gpu).unwrap(), &y, 1e-5, 1e-5);

                let (rm, rv) =
                    (to_f64(&read(gpu, &arena, "bn.running_mean")), to_f64(&read(gpu, &arena, "bn.running_var")));
                let mut s = Step::new(gpu);
                bn.forward_with_act(&mut s, &arena, &yt, &xt, false, Some(act)).unwrap();
                s.submit().unwrap();
                let y = act_twin::forward(act, &twin::normalize(&x, &gamma, &beta, &rm, &rv, EPS as f64, n, c, inner));
                assert_close(&format!("{what} eval"), &yt.read_blocking(gpu).unwrap(), &y, 2e-6, 1e-5);
            }
        }
    }
}

#[test]
fn batch_norm_is_deterministic() {
    let Some(gpu) = gpu() else { return };
    let shape = [64, 64, 14, 14];
    let (bn, arena, _) = layer(gpu, 64);
    let xt = Tensor::from_slice(gpu, &shape, &to_f32(&input(64 * 64 * 196))).unwrap();
    let run = || {
        let yt = Tensor::zeros(gpu, &shape).unwrap();
        let mut s = Step::new(gpu);
        bn.forward(&mut s, &arena, &yt, &xt, true).unwrap();
        s.submit().unwrap();
        yt.read_blocking(gpu).unwrap()
    };
    assert!(run() == run(), "two identical forwards differ");
}

#[test]
fn batch_norm_batch_one() {
    let Some(gpu) = gpu() else { return };
    let (bn, arena, [gamma, beta, rm, rv]) = layer(gpu, 3);
    let x = rounded(&input(3));
    let xt = Tensor::from_slice(gpu, &[1, 3], &to_f32(&x)).unwrap();
    let yt = Tensor::zeros(gpu, &[1, 3]).unwrap();
    // As PyTorch: one value per channel has no variance to train with...
    let err = bn.forward(&mut Step::new(gpu), &arena, &yt, &xt, true).unwrap_err().to_string();
    assert!(err.contains("[1, 3]") && err.contains("more than 1 value"), "{err}");
    // ...but evaluation is fine.
    let mut s = Step::new(gpu);
    bn.forward(&mut s, &arena, &yt, &xt, false).unwrap();
    s.submit().unwrap();
    let y = twin::normalize(&x, &gamma, &beta, &rm, &rv, EPS as f64, 1, 3, 1);
    assert_close("batch_norm (1, 3) eval y", &yt.read_blocking(gpu).unwrap(), &y, 2e-6, 1e-5);
}

#[test]
fn batch_norm_rejects_wrong_shapes() {
    let Some(gpu) = gpu() else { return };
    let (bn, arena, _) = layer(gpu, 5);
    let t = |shape: &[usize]| Tensor::zeros(gpu, shape).unwrap();
    let fwd = |y: &Tensor, x: &Tensor| bn.forward(&mut Step::new(gpu), &arena, y, x, true).unwrap_err().to_string();
    for shape in [&[3, 4][..], &[3, 5, 2], &[2, 4, 3, 3], &[5]] {
        let err = fwd(&t(shape), &t(shape));
        assert!(err.contains(&format!("{shape:?}")) && err.contains("(N, 5)"), "{err}");
    }
    let err = fwd(&t(&[3, 5, 2, 2]), &t(&[3, 5]));
    assert!(err.contains("[3, 5, 2, 2]") && err.contains("[3, 5]"), "{err}");
    let (x, dx) = (t(&[3, 5]), t(&[3, 5]));
    let err = bn.backward(&mut Step::new(gpu), &arena, Some(&dx), &t(&[5, 3]), &x, false).unwrap_err().to_string();
    assert!(err.contains("[5, 3]"), "{err}");
    let mut b = ArenaBuilder::new();
    let bad = BatchNorm::new(&mut b, gpu, "bn", 4, 0.0, MOMENTUM, Init::Torch, &mut InitRng::new(0));
    assert!(bad.is_err_and(|e| e.to_string().contains("eps")));
}
