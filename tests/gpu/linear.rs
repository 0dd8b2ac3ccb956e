use crate::support::*;
use nanogan::cpu::linear as twin;
use nanogan::{Act, ArenaBuilder, Gpu, Init, InitRng, Linear, Step, Tensor};

fn check_linear(n: usize, i: usize, o: usize) {
    for gpu in gpus() {
        check_linear_on(gpu, n, i, o);
    }
}

fn check_linear_on(gpu: &Gpu, n: usize, i: usize, o: usize) {
    let what = |t: &str| format!("linear {t} ({n}×{i}→{o}, {} kernels)", gpu.variant().name());
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
    assert_close(&what("y"), &yt.read_blocking(gpu).unwrap(), &y, tol, 1e-5);
    assert_close(&what("dx"), &dxt.read_blocking(gpu).unwrap(), &dx, tol, 1e-5);
    let gw = pollster::block_on(arena.read_grad(gpu, "fc.weight")).unwrap();
    let gb = pollster::block_on(arena.read_grad(gpu, "fc.bias")).unwrap();
    assert_close(&what("dw"), &gw, &dw, tol, 1e-5);
    assert_close(&what("db"), &gb, &db, tol, 1e-5);
}

#[test]
fn linear_awkward_shapes() {
    // Not multiples of any tile or block, batch 1 and 3, K not a multiple of a split; and
    // four-aligned sizes that take the vec4 styles with ragged edges (12 = 16 − 4, 68 = 64 + 4).
    for (n, i, o) in
        [(1, 1, 1), (3, 5, 7), (1, 63, 65), (3, 37, 1), (5, 1, 33), (3, 12, 68), (1, 68, 12), (67, 132, 20)]
    {
        check_linear(n, i, o);
    }
}

#[test]
fn linear_gan_shapes() {
    // The mlp's products; (3, 1028, 36) makes the tiles style split a K of 1028 unevenly.
    for (n, i, o) in [(64, 784, 512), (64, 512, 256), (64, 256, 1), (64, 100, 128), (64, 1024, 784), (3, 1028, 36)] {
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

/// Every style, on every layout of the operands (as Linear and the convolutions use them) and with
/// each epilogue option, against an f64 product computed here.
#[test]
fn every_gemm_style_matches_f64() {
    use nanogan::gpu::gemm::{gemm, gemm_naive, GemmParams, NO_BIAS};
    for gpu in gpus() {
        // (3, 5, 1030): unaligned, so the scalar style, split along a K past MAX_SPLIT_K.
        // (8, 12, 10), (12, 36, 7): A along m and B along n are aligned, K is not a multiple of 4.
        // (8, 16, 12), (24, 32, 64), (16, 16, 12), (48, 32, 64), (16, 8, 1030): whole 8 × 8
        // blocks, so the registers style stores them with its plain and activation epilogues,
        // the last split along K; the tall style's 16 × 8 blocks are whole in the last three
        // only. (64, 512, 522): enough blocks not to split for speed, so the tall style sums K's
        // two accuracy blocks (272 + 250, the last with a scalar tail) in one invocation.
        let sizes = [
            (37, 45, 19),
            (4, 16, 8),
            (64, 20, 1028),
            (5, 3, 260),
            (1, 1, 1),
            (3, 5, 1030),
            (8, 12, 10),
            (12, 36, 7),
            (8, 16, 12),
            (24, 32, 64),
            (16, 16, 12),
            (48, 32, 64),
            (16, 8, 1030),
            (64, 512, 522),
        ];
        for (m, n, k) in sizes {
            for layout in 0..4 {
                for epilogue in 0..4 {
                    let av = rand(5, m * k + 4);
                    let bv = rand(6, k * n + 4);
                    let bias = rand(7, m.max(n));
                    // layouts: A (M,K) or (K,M); B (K,N) or (N,K); offsets of 4 into the buffers
                    let (a_ms, a_ks) = if layout & 1 == 0 { (k, 1) } else { (1, m) };
                    let (b_ks, b_ns) = if layout & 2 == 0 { (n, 1) } else { (1, k) };
                    // epilogue 0: plain; 1: row bias, accumulate; 2: column bias, grouped columns;
                    // 3: column bias and a fused LeakyReLU(0.2)
                    let (c_group, c_gs) = if epilogue == 2 { (2, 2 * m) } else { (0, 0) };
                    let act = (epilogue == 3).then_some(Act::LeakyRelu(0.2));
                    let mut p = GemmParams::new(m as u32, n as u32, k as u32).with_act(act);
                    p.a_off = 4;
                    p.a_ms = a_ms as u32;
                    p.a_ks = a_ks as u32;
                    p.b_off = 4;
                    p.b_ks = b_ks as u32;
                    p.b_ns = b_ns as u32;
                    p.accumulate = (epilogue == 1) as u32;
                    p.bias_off = if epilogue == 0 { NO_BIAS } else { 0 };
                    p.bias_rows = (epilogue == 1) as u32;
                    p.c_ms = if epilogue == 2 { 2 } else { n as u32 };
                    p.c_group = c_group as u32;
                    p.c_gs = c_gs as u32;
                    // Grouped columns of an odd N leave a gap at the end: room for the whole last group.
                    let c_len = m * n.next_multiple_of(2);
                    let c0 = rand(8, c_len);
                    // Entries C never touches keep their value (the gap), so start from c0 there.
                    let mut want = rounded(&c0);
                    let a_at = |i: usize, kk: usize| av[4 + i * a_ms + kk * a_ks] as f32 as f64;
                    let b_at = |kk: usize, j: usize| bv[4 + kk * b_ks + j * b_ns] as f32 as f64;
                    for i in 0..m {
                        for j in 0..n {
                            let mut v: f64 = (0..k).map(|kk| a_at(i, kk) * b_at(kk, j)).sum();
                            v += match epilogue {
                                0 => 0.0,
                                1 => bias[i] as f32 as f64,
                                _ => bias[j] as f32 as f64,
                            };
                            if act.is_some() && v <= 0.0 {
                                v *= 0.2;
                            }
                            let at = if epilogue == 2 { i * 2 + (j / 2) * 2 * m + j % 2 } else { i * n + j };
                            want[at] = if epilogue == 1 { want[at] + v } else { v };
                        }
                    }
                    let at = Tensor::from_slice(gpu, &[m * k + 4], &to_f32(&av)).unwrap();
                    let bt = Tensor::from_slice(gpu, &[k * n + 4], &to_f32(&bv)).unwrap();
                    let biast = Tensor::from_slice(gpu, &[m.max(n)], &to_f32(&bias)).unwrap();
                    let fast = Tensor::from_slice(gpu, &[c_len], &to_f32(&c0)).unwrap();
                    let naive = Tensor::from_slice(gpu, &[c_len], &to_f32(&c0)).unwrap();
                    let mut s = Step::new(gpu);
                    gemm(&mut s, &p, &fast.buf, &at.buf, &bt.buf, &biast.buf).unwrap();
                    gemm_naive(&mut s, &p, &naive.buf, &at.buf, &bt.buf, &biast.buf).unwrap();
                    s.submit().unwrap();
                    let what =
                        format!("{m}×{n}×{k} layout {layout} epilogue {epilogue}, {} kernels", gpu.variant().name());
                    let tol = 1e-5 * (k as f64).sqrt();
                    assert_close(&what, &fast.read_blocking(gpu).unwrap(), &want, tol, 1e-5);
                    assert_close(&format!("naive {what}"), &naive.read_blocking(gpu).unwrap(), &want, tol, 1e-5);
                }
            }
        }
    }
}
