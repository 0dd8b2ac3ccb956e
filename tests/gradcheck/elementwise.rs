use crate::fd::*;
use nanogan::cpu::activation::{backward, forward, upsample_backward, upsample_forward};
use nanogan::nn::activation::Act;

#[test]
fn activation_gradients() {
    // Away from 0, where ReLU's kink makes finite differences meaningless.
    let x: Vec<f64> = rand(1, 40).iter().map(|v| 3.0 * v).map(|v| if v.abs() < 1e-3 { 0.5 } else { v }).collect();
    let r = rand(2, x.len());
    for a in [Act::Relu, Act::LeakyRelu(0.2), Act::Tanh, Act::Sigmoid] {
        let y = forward(a, &x);
        let dx = backward(a, &r, &x, &y);
        assert_grad(&format!("{a:?} dx"), &dx, &numeric_grad(&x, |x| dot(&forward(a, x), &r)));
    }
}

#[test]
fn activation_gradient_at_zero_is_pytorchs() {
    let x = [0.0];
    for (a, want) in [(Act::Relu, 0.0), (Act::LeakyRelu(0.2), 0.2f32 as f64)] {
        assert_eq!(backward(a, &[1.0], &x, &forward(a, &x)), vec![want], "{a:?}");
    }
}

#[test]
fn upsample_gradients() {
    let (planes, h, w) = (2 * 3, 3, 5);
    let x = rand(1, planes * h * w);
    let r = rand(2, planes * 4 * h * w);
    let dx = upsample_backward(&r, planes, h, w);
    assert_grad("upsample dx", &dx, &numeric_grad(&x, |x| dot(&upsample_forward(x, planes, h, w), &r)));
}
