use crate::fd::*;
use nanogan::cpu::conv::*;

/// [N, Cin, Cout, H, W, K, stride, pad, output_pad]
fn dims([n, c_in, c_out, h, w, k, stride, pad, output_pad]: [usize; 9]) -> ConvDims {
    ConvDims { n, c_in, c_out, h, w, k, stride, pad, output_pad }
}

#[test]
fn conv2d_gradients() {
    // k3 s2 p1, k4 s2 p1 (the GAN's), pad 2 with stride 1, and k1 s3 (pixels no tap reads).
    for case in [
        [2, 2, 3, 5, 7, 3, 2, 1, 0],
        [2, 2, 3, 5, 7, 4, 2, 1, 0],
        [1, 3, 2, 4, 5, 3, 1, 2, 0],
        [2, 2, 3, 5, 7, 1, 3, 0, 0],
    ] {
        let d = dims(case);
        let (ho, wo) = d.conv2d_out();
        let x = rand(1, d.n * d.c_in * d.h * d.w);
        let w = rand(2, d.c_out * d.c_in * d.k * d.k);
        let b = rand(3, d.c_out);
        let r = rand(4, d.n * d.c_out * ho * wo);
        let (dx, dw, db) = conv2d_backward(&r, &x, &w, &d);
        assert_grad(&format!("{case:?} dx"), &dx, &numeric_grad(&x, |x| dot(&conv2d_forward(x, &w, &b, &d), &r)));
        assert_grad(&format!("{case:?} dw"), &dw, &numeric_grad(&w, |w| dot(&conv2d_forward(&x, w, &b, &d), &r)));
        assert_grad(&format!("{case:?} db"), &db, &numeric_grad(&b, |b| dot(&conv2d_forward(&x, &w, b, &d), &r)));
    }
}

#[test]
fn conv_transpose2d_gradients() {
    // k3 s2 p1 op1, k4 s2 p1 (the GAN's), and k2 s3 op2 (output pixels no tap reaches).
    for case in [[2, 2, 3, 3, 4, 3, 2, 1, 1], [2, 3, 2, 3, 4, 4, 2, 1, 0], [1, 2, 3, 2, 3, 2, 3, 0, 2]] {
        let d = dims(case);
        let (ho, wo) = d.conv_transpose2d_out();
        let x = rand(1, d.n * d.c_in * d.h * d.w);
        let w = rand(2, d.c_in * d.c_out * d.k * d.k);
        let b = rand(3, d.c_out);
        let r = rand(4, d.n * d.c_out * ho * wo);
        let (dx, dw, db) = conv_transpose2d_backward(&r, &x, &w, &d);
        let y = |x: &[f64], w: &[f64], b: &[f64]| dot(&conv_transpose2d_forward(x, w, b, &d), &r);
        assert_grad(&format!("{case:?} dx"), &dx, &numeric_grad(&x, |x| y(x, &w, &b)));
        assert_grad(&format!("{case:?} dw"), &dw, &numeric_grad(&w, |w| y(&x, w, &b)));
        assert_grad(&format!("{case:?} db"), &db, &numeric_grad(&b, |b| y(&x, &w, b)));
    }
}

/// PyTorch defines ConvTranspose2d as the input-gradient of Conv2d with the same weight tensor;
/// output_padding picks which input size the gradient is for.
#[test]
fn conv_transpose2d_is_the_input_gradient_of_conv2d() {
    let conv = dims([2, 3, 2, 6, 8, 3, 2, 1, 0]);
    let (ho, wo) = conv.conv2d_out();
    let tconv = ConvDims { c_in: conv.c_out, c_out: conv.c_in, h: ho, w: wo, output_pad: 1, ..conv };
    assert_eq!(tconv.conv_transpose2d_out(), (conv.h, conv.w));
    let x = rand(1, conv.n * conv.c_in * conv.h * conv.w);
    let w = rand(2, conv.c_out * conv.c_in * conv.k * conv.k);
    let dy = rand(3, conv.n * conv.c_out * ho * wo);
    let (dx, _, _) = conv2d_backward(&dy, &x, &w, &conv);
    let y = conv_transpose2d_forward(&dy, &w, &vec![0.0; conv.c_in], &tconv);
    assert_grad("conv_transpose2d vs conv2d dx", &y, &dx);
}

/// Hand-computed values: Conv2d is a cross-correlation (the kernel is not flipped), and
/// ConvTranspose2d's padding crops the full output on each side.
#[test]
fn conv_definitions_match_pytorch() {
    let w = [1.0, 10.0, 100.0, 1000.0];
    let conv = dims([1, 1, 1, 2, 3, 2, 1, 0, 0]);
    let y = conv2d_forward(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &w, &[0.5], &conv);
    assert_eq!(y, [5421.5, 6532.5]);

    let x = [1.0, 2.0, 3.0, 4.0];
    let full = dims([1, 1, 1, 2, 2, 2, 2, 0, 0]);
    #[rustfmt::skip]
    let expected = [
        1.0, 10.0, 2.0, 20.0,
        100.0, 1000.0, 200.0, 2000.0,
        3.0, 30.0, 4.0, 40.0,
        300.0, 3000.0, 400.0, 4000.0,
    ];
    assert_eq!(conv_transpose2d_forward(&x, &w, &[0.0], &full), expected);
    let cropped = ConvDims { pad: 1, ..full };
    assert_eq!(conv_transpose2d_forward(&x, &w, &[0.0], &cropped), [1000.0, 200.0, 30.0, 4.0]);
}
