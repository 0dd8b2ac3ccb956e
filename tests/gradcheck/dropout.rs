use crate::fd::*;
use nanogan::cpu::dropout::{backward, forward, mask};

#[test]
fn dropout_gradients() {
    // The mask is fixed for a step, so y = x·mask is linear in x and dx = dy·mask.
    for (spatial, group) in [(false, 1), (true, 6)] {
        let n = 36;
        let m = mask(0.5, 7, 0, 3, 0, n, group, true);
        assert!(m.contains(&0.0) && m.contains(&2.0), "spatial {spatial}: mask {m:?}");
        let (x, r) = (rand(1, n), rand(2, n));
        let dx = backward(&r, &m);
        assert_grad("dropout dx", &dx, &numeric_grad(&x, |x| dot(&forward(x, &m), &r)));
    }
}

#[test]
fn dropout_twin_mask() {
    // p = 0 and eval mode keep everything unscaled; Dropout2d groups share one value.
    assert!(mask(0.0, 1, 2, 3, 4, 50, 1, true).iter().all(|&v| v == 1.0));
    assert!(mask(0.7, 1, 2, 3, 4, 50, 1, false).iter().all(|&v| v == 1.0));
    let m = mask(0.5, 1, 2, 3, 4, 40, 5, true);
    for g in m.chunks(5) {
        assert!(g.iter().all(|&v| v == g[0]));
    }
    assert_ne!(m, mask(0.5, 1, 2, 3, 5, 40, 5, true), "another pass, another mask");
}
