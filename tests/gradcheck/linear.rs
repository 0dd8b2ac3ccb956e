use crate::fd::*;
use nanogan::cpu::linear::{backward, forward};

#[test]
fn linear_gradients() {
    let (n, i, o) = (3, 5, 4);
    let (x, w, b, r) = (rand(1, n * i), rand(2, o * i), rand(3, o), rand(4, n * o));
    let (dx, dw, db) = backward(&r, &x, &w, n, i, o);
    assert_grad("dx", &dx, &numeric_grad(&x, |x| dot(&forward(x, &w, &b, n, i, o), &r)));
    assert_grad("dw", &dw, &numeric_grad(&w, |w| dot(&forward(&x, w, &b, n, i, o), &r)));
    assert_grad("db", &db, &numeric_grad(&b, |b| dot(&forward(&x, &w, b, n, i, o), &r)));
}
