//! f64 twin of Linear.   x: (N, I)  w: (O, I)  b: (O)  y: (N, O)

pub fn forward(x: &[f64], w: &[f64], b: &[f64], n: usize, i: usize, o: usize) -> Vec<f64> {
    let mut y = vec![0.0; n * o];
    for r in 0..n {
        for c in 0..o {
            y[r * o + c] = b[c] + (0..i).map(|k| x[r * i + k] * w[c * i + k]).sum::<f64>();
        }
    }
    y
}

/// (dx, dw, db)
pub fn backward(dy: &[f64], x: &[f64], w: &[f64], n: usize, i: usize, o: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut dx = vec![0.0; n * i];
    let mut dw = vec![0.0; o * i];
    let mut db = vec![0.0; o];
    for r in 0..n {
        for c in 0..o {
            let g = dy[r * o + c];
            db[c] += g;
            for k in 0..i {
                dx[r * i + k] += g * w[c * i + k];
                dw[c * i + k] += g * x[r * i + k];
            }
        }
    }
    (dx, dw, db)
}
