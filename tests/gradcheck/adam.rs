//! Optimisers have no gradient to check; these hold the f64 twins to steps worked by hand.
use nanogan::cpu::adam::{adam_step, sgd_step};

#[test]
fn adam_twin_hand_steps() {
    let (lr, b1, b2, eps) = (0.1f32, 0.5f32, 0.75f32, 1e-8f32);
    let (mut p, mut m, mut v) = (vec![1.0, -2.0, 0.0], vec![0.0; 3], vec![0.0; 3]);
    // t = 1: m̂ = g and v̂ = g², so each parameter moves by lr·g/(|g| + eps) ≈ lr·sign(g);
    // a zero gradient on zero moments (arena padding) moves nothing.
    adam_step(&mut p, &mut m, &mut v, &[2.0, -4.0, 0.0], 1, lr, b1, b2, eps);
    let lr64 = lr as f64;
    let want = [1.0 - lr64 * 2.0 / (2.0 + 1e-8), -2.0 + lr64 * 4.0 / (4.0 + 1e-8), 0.0];
    for i in 0..3 {
        assert!((p[i] - want[i]).abs() < 1e-12, "t=1 p[{i}] = {}, want {}", p[i], want[i]);
    }
    assert_eq!((m[0], v[0]), (1.0, 1.0));
    // t = 2 with g = 0 on the first element: m = 0.5, v = 0.75; m̂ = 0.5/0.75, v̂ = 0.75/0.4375.
    let p0 = p[0];
    adam_step(&mut p, &mut m, &mut v, &[0.0, -4.0, 0.0], 2, lr, b1, b2, eps);
    let step = lr64 * (0.5f64 / 0.75) / ((0.75f64 / 0.4375).sqrt() + 1e-8);
    assert!((p[0] - (p0 - step)).abs() < 1e-12, "t=2 p[0] = {}, want {}", p[0], p0 - step);
}

#[test]
fn sgd_twin_hand_steps() {
    let mut p = vec![1.0, 1.0];
    let mut buf = vec![0.0; 2];
    // First step: buf = g; then buf = 0.5·buf + g.
    sgd_step(&mut p, &mut buf, &[1.0, -2.0], 1, 0.5, 0.5);
    assert_eq!((p.clone(), buf.clone()), (vec![0.5, 2.0], vec![1.0, -2.0]));
    sgd_step(&mut p, &mut buf, &[1.0, 0.0], 2, 0.5, 0.5);
    assert_eq!((p.clone(), buf.clone()), (vec![-0.25, 2.5], vec![1.5, -1.0]));
    // No momentum: plain p −= lr·g, buffer untouched.
    sgd_step(&mut p, &mut buf, &[1.0, 1.0], 3, 0.5, 0.0);
    assert_eq!((p, buf), (vec![-0.75, 2.0], vec![1.5, -1.0]));
}
