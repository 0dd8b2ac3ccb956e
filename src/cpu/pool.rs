//! Twin of wgsl/pool.wgsl: max pooling over k × k windows of (N, C, H, W).

/// (y, for each output, the index in x of its window's first maximum).
pub fn max_pool(x: &[f64], h: usize, w: usize, k: usize) -> (Vec<f64>, Vec<usize>) {
    let (oh, ow) = (h / k, w / k);
    let planes = x.len() / (h * w);
    let mut y = Vec::with_capacity(planes * oh * ow);
    let mut at = Vec::with_capacity(y.capacity());
    for plane in 0..planes {
        for i in 0..oh {
            for j in 0..ow {
                let mut best = (f64::NEG_INFINITY, usize::MAX);
                for a in 0..k {
                    for b in 0..k {
                        let idx = plane * h * w + (k * i + a) * w + k * j + b;
                        if best.1 == usize::MAX || x[idx] > best.0 {
                            best = (x[idx], idx);
                        }
                    }
                }
                y.push(best.0);
                at.push(best.1);
            }
        }
    }
    (y, at)
}

/// dx: each window's dy at its first maximum, 0 elsewhere.
pub fn max_pool_backward(x: &[f64], dy: &[f64], h: usize, w: usize, k: usize) -> Vec<f64> {
    let (_, at) = max_pool(x, h, w, k);
    let mut dx = vec![0.0; x.len()];
    for (o, &i) in at.iter().enumerate() {
        dx[i] = dy[o];
    }
    dx
}
