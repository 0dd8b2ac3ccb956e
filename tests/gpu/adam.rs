use crate::support::*;
use nanogan::cpu::adam as twin;
use nanogan::nn::adam::{record_ema, zero_grad, Adam, Sgd};
use nanogan::{Arena, ArenaBuilder, Gpu, Step};

/// Three parameters of awkward sizes (35, 3 and a prime, 67), so the arena has padding between them.
fn arena(gpu: &Gpu) -> (Arena, Vec<f64>) {
    let mut b = ArenaBuilder::new();
    let mut init = Vec::new();
    for (k, (name, shape)) in
        [("a.weight", vec![5, 7]), ("a.bias", vec![3]), ("b.weight", vec![67])].into_iter().enumerate()
    {
        let len: usize = shape.iter().product();
        let v = rounded(&rand(10 + k as u64, len));
        b.param(name, &shape, to_f32(&v));
        init.extend(v);
    }
    (b.build(gpu).unwrap(), init)
}

/// Gradients of step `t` for every arena float: seeded values on the parameters (scaled so some
/// are tiny and some large), zeros on the padding, as the layers leave it.
fn grads(a: &Arena, t: u32) -> Vec<f32> {
    let mut g = vec![0.0f32; a.params_len];
    for e in &a.entries {
        let vals = rand(100 + t as u64 * 7 + e.slot.offset as u64, e.slot.len as usize);
        for (i, v) in vals.iter().enumerate() {
            let scale = [1e-3, 1.0, 30.0][i % 3];
            g[e.slot.offset as usize + i] = (v * scale) as f32;
        }
    }
    g
}

/// The params (padding dropped), in arena order.
fn packed(a: &Arena, all: &[f32]) -> Vec<f32> {
    a.entries.iter().flat_map(|e| all[e.slot.offset as usize..(e.slot.offset + e.slot.len) as usize].to_vec()).collect()
}

fn packed_grads(a: &Arena, g: &[f32]) -> Vec<f64> {
    packed(a, g).iter().map(|&v| v as f64).collect()
}

fn read(gpu: &Gpu, b: &wgpu::Buffer, n: usize) -> Vec<f32> {
    gpu.read_f32_blocking(b, n).unwrap()
}

#[test]
fn adam_ten_steps_match_twin() {
    let Some(gpu) = gpu() else { return };
    let (a, init) = arena(gpu);
    let opt = Adam::new(2e-3, 0.5, 0.999, 1e-8).unwrap();
    // One plan, replayed: t comes from the clock, not from the host.
    let mut s = Step::new(gpu);
    opt.step(&mut s, &a).unwrap();
    let plan = s.finish();
    let (mut p, mut m, mut v) = (init.clone(), vec![0.0; init.len()], vec![0.0; init.len()]);
    for t in 1..=10 {
        let g = grads(&a, t);
        gpu.queue.write_buffer(&a.grads, 0, bytemuck::cast_slice(&g));
        plan.submit(gpu).unwrap();
        twin::adam_step(&mut p, &mut m, &mut v, &packed_grads(&a, &g), t, opt.lr, opt.beta1, opt.beta2, opt.eps);
    }
    let n = a.params_len;
    let all = read(gpu, &a.params, n);
    assert_close("adam params", &packed(&a, &all), &p, 1e-7, 1e-6);
    assert_close("adam m", &packed(&a, &read(gpu, &a.m, n)), &m, 1e-9, 1e-6);
    assert_close("adam v", &packed(&a, &read(gpu, &a.v, n)), &v, 1e-12, 1e-6);
    // The padding after each slot stayed 0 (zero gradients move nothing).
    let used: usize = a.entries.iter().map(|e| e.slot.len as usize).sum();
    assert!(all.iter().filter(|&&x| x == 0.0).count() >= n - used, "padding moved");
    assert_eq!(pollster::block_on(a.read_clock(gpu)).unwrap()[0], 10, "Adam ticks clock[0] once a step");
}

#[test]
fn optimistic_adam_matches_twin() {
    // The kernel recomputes u_{t−1} from the moments it is about to overwrite; the twin keeps it
    // from the step before, as the paper writes it.
    let Some(gpu) = gpu() else { return };
    for k in [1.0, 0.25] {
        let (a, init) = arena(gpu);
        let opt = Adam::new(2e-3, 0.5, 0.999, 1e-8).unwrap().optimistic(k).unwrap();
        let mut s = Step::new(gpu);
        opt.step(&mut s, &a).unwrap();
        let plan = s.finish();
        let len = init.len();
        let (mut p, mut m, mut v, mut previous) = (init.clone(), vec![0.0; len], vec![0.0; len], vec![0.0; len]);
        let (mut plain_p, mut plain_m, mut plain_v) = (init.clone(), vec![0.0; len], vec![0.0; len]);
        for t in 1..=10 {
            let g = grads(&a, t);
            gpu.queue.write_buffer(&a.grads, 0, bytemuck::cast_slice(&g));
            plan.submit(gpu).unwrap();
            let g = packed_grads(&a, &g);
            twin::optimistic_adam_step(&mut p, &mut m, &mut v, &mut previous, &g, t, opt.lr, 0.5, 0.999, 1e-8, k);
            twin::adam_step(&mut plain_p, &mut plain_m, &mut plain_v, &g, t, opt.lr, 0.5, 0.999, 1e-8);
        }
        let got = packed(&a, &read(gpu, &a.params, a.params_len));
        assert_close(&format!("optimistic adam (k = {k}) params"), &got, &p, 1e-7, 1e-6);
        assert_close("optimistic adam m", &packed(&a, &read(gpu, &a.m, a.params_len)), &m, 1e-9, 1e-6);
        // Optimism changes the path, by far more than the tolerance above.
        let apart = got.iter().zip(&plain_p).map(|(x, y)| (*x as f64 - y).abs()).fold(0.0, f64::max);
        assert!(apart > 1e-4, "optimistic Adam (k = {k}) ended where plain Adam did ({apart})");
    }
}

#[test]
fn optimism_out_of_range_is_refused() {
    let adam = Adam::new(2e-4, 0.5, 0.999, 1e-8).unwrap();
    for k in [-0.5, f32::NAN, f32::INFINITY, 11.0] {
        let err = adam.optimistic(k).unwrap_err().to_string();
        assert!(err.contains("optimism"), "{err}");
    }
    assert_eq!(adam.optimistic(1.0).unwrap().optimism, 1.0);
}

#[test]
fn adam_default_betas_many_steps() {
    // β2 = 0.999 makes 1 − β2^t small for small t, where a naive pow would cancel.
    let Some(gpu) = gpu() else { return };
    let (a, init) = arena(gpu);
    let opt = Adam::new(1e-3, 0.9, 0.999, 1e-8).unwrap();
    let g = grads(&a, 1);
    gpu.queue.write_buffer(&a.grads, 0, bytemuck::cast_slice(&g));
    a.write_clock(gpu, [1000, 0, 0, 0]);
    let mut s = Step::new(gpu);
    opt.step(&mut s, &a).unwrap();
    s.submit().unwrap();
    let (mut p, mut m, mut v) = (init.clone(), vec![0.0; init.len()], vec![0.0; init.len()]);
    twin::adam_step(&mut p, &mut m, &mut v, &packed_grads(&a, &g), 1001, opt.lr, opt.beta1, opt.beta2, opt.eps);
    assert_close("adam params at t = 1001", &packed(&a, &read(gpu, &a.params, a.params_len)), &p, 1e-7, 1e-6);
}

#[test]
fn sgd_momentum_ten_steps_match_twin() {
    let Some(gpu) = gpu() else { return };
    for momentum in [0.0, 0.9] {
        let (a, init) = arena(gpu);
        let opt = Sgd::new(0.01, momentum).unwrap();
        let mut s = Step::new(gpu);
        opt.step(&mut s, &a).unwrap();
        let plan = s.finish();
        let (mut p, mut buf) = (init.clone(), vec![0.0; init.len()]);
        for t in 1..=10 {
            let g = grads(&a, t);
            gpu.queue.write_buffer(&a.grads, 0, bytemuck::cast_slice(&g));
            plan.submit(gpu).unwrap();
            twin::sgd_step(&mut p, &mut buf, &packed_grads(&a, &g), t, opt.lr, opt.momentum);
        }
        let what = format!("sgd(momentum {momentum})");
        assert_close(&format!("{what} params"), &packed(&a, &read(gpu, &a.params, a.params_len)), &p, 1e-6, 1e-6);
        assert_close(&format!("{what} buffer"), &packed(&a, &read(gpu, &a.m, a.params_len)), &buf, 1e-7, 1e-6);
        assert_eq!(pollster::block_on(a.read_clock(gpu)).unwrap()[0], 10);
    }
}

#[test]
fn ema_follows_adam_steps_like_twin() {
    // The average tracks a model trained by Adam, one EMA update per step, from the model's own
    // start; the warm-up decay (1+t)/(10+t) is below 0.99 for t < 890, so both branches run.
    let Some(gpu) = gpu() else { return };
    let (a, init) = arena(gpu);
    let (avg, _) = arena(gpu);
    let opt = Adam::new(2e-2, 0.5, 0.999, 1e-8).unwrap();
    let decay = 0.9;
    let mut s = Step::new(gpu);
    opt.step(&mut s, &a).unwrap();
    record_ema(&mut s, &avg, &a, decay).unwrap();
    let plan = s.finish();
    let (mut p, mut m, mut v, mut mean) = (init.clone(), vec![0.0; init.len()], vec![0.0; init.len()], init.clone());
    for t in 1..=30 {
        let g = grads(&a, t);
        gpu.queue.write_buffer(&a.grads, 0, bytemuck::cast_slice(&g));
        plan.submit(gpu).unwrap();
        twin::adam_step(&mut p, &mut m, &mut v, &packed_grads(&a, &g), t, opt.lr, opt.beta1, opt.beta2, opt.eps);
        twin::ema_update(&mut mean, &p, t, decay);
    }
    let got = packed(&a, &read(gpu, &avg.params, avg.params_len));
    assert_close("ema params", &got, &mean, 1e-6, 1e-5);
    // Not merely a copy of the model: the average lags it.
    let model = packed(&a, &read(gpu, &a.params, a.params_len));
    assert!(got.iter().zip(&model).any(|(x, y)| (x - y).abs() > 1e-3), "the EMA equals the model");
    assert_eq!(pollster::block_on(avg.read_clock(gpu)).unwrap()[0], 0, "the EMA has no clock of its own");
}

#[test]
fn ema_refuses_bad_decay_and_other_models() {
    let Some(gpu) = gpu() else { return };
    let (a, _) = arena(gpu);
    let mut other = ArenaBuilder::new();
    other.param("x", &[3], vec![0.0; 3]);
    let other = other.build(gpu).unwrap();
    let mut s = Step::new(gpu);
    for decay in [1.0, -0.1, f32::NAN] {
        assert!(record_ema(&mut s, &a, &a, decay).is_err(), "decay {decay} must be refused");
    }
    let err = record_ema(&mut s, &other, &a, 0.99).unwrap_err().to_string();
    assert!(err.contains("not the same model"), "{err}");
}

#[test]
fn zero_grad_zeros_every_gradient() {
    let Some(gpu) = gpu() else { return };
    let (a, _) = arena(gpu);
    gpu.queue.write_buffer(&a.grads, 0, bytemuck::cast_slice(&vec![1.5f32; a.params_len]));
    let mut s = Step::new(gpu);
    zero_grad(&mut s, &a);
    s.submit().unwrap();
    assert!(read(gpu, &a.grads, a.params_len).iter().all(|&g| g == 0.0));
}

#[test]
fn optimisers_reject_bad_hyperparameters() {
    for (lr, b1, b2, eps) in [
        (0.0, 0.9, 0.999, 1e-8),
        (f32::NAN, 0.9, 0.999, 1e-8),
        (1e-3, 1.0, 0.999, 1e-8),
        (1e-3, -0.1, 0.999, 1e-8),
        (1e-3, 0.9, 1.0, 1e-8),
        (1e-3, 0.9, 0.999, 0.0),
        (f32::INFINITY, 0.9, 0.999, 1e-8),
    ] {
        assert!(Adam::new(lr, b1, b2, eps).is_err(), "Adam({lr}, {b1}, {b2}, {eps}) must be refused");
    }
    assert!(Adam::new(2e-4, 0.5, 0.999, 1e-8).is_ok());
    assert!(Sgd::new(-1.0, 0.0).is_err());
    assert!(Sgd::new(0.1, -0.5).is_err());
    assert!(Sgd::new(0.1, 0.0).is_ok());
}
