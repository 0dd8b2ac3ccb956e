//! The metrics' arithmetic in f64, independent of the GPU.
//!
//! Plain std Rust on purpose, with nothing from the crate: the file builds and tests on its own
//! (`rustc --edition 2021 --test src/metrics/stats.rs -o /tmp/stats && /tmp/stats`), and
//! `tests/metrics_golden.rs` checks it against NumPy/SciPy (`reference/metrics.py`).
//!
//! Feature matrices are row-major `&[f64]` with `d` columns; their row count is `len / d`.

/// A Gaussian fitted to a set of feature vectors: FID's summary of a set.
#[derive(Clone, Debug, PartialEq)]
pub struct Gaussian {
    pub mean: Vec<f64>,
    /// d×d, row-major.
    pub cov: Vec<f64>,
    pub d: usize,
}

/// Mean and unbiased covariance (n − 1, as `np.cov(x, rowvar=False)`). n ≥ 2 assumed.
pub fn gaussian_fit(x: &[f64], d: usize) -> Gaussian {
    let n = rows(x, d);
    debug_assert!(n >= 2, "a covariance needs at least 2 rows, not {n}");
    let mut mean = vec![0.0; d];
    for row in x.chunks_exact(d.max(1)).take(n) {
        for (m, v) in mean.iter_mut().zip(row) {
            *m += v;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    // Centred first (two passes), so a large mean cannot swamp the covariance's digits; stored
    // column by column, so that each covariance entry is one contiguous dot product.
    let mut centred_t = vec![0.0; d * n];
    for (i, row) in x.chunks_exact(d.max(1)).take(n).enumerate() {
        for (j, (v, m)) in row.iter().zip(&mean).enumerate() {
            centred_t[j * n + i] = v - m;
        }
    }
    let mut cov = gram(&centred_t, Some(&centred_t), n);
    cov.iter_mut().for_each(|c| *c /= (n - 1) as f64);
    Gaussian { mean, cov, d }
}

/// Eigen-decomposition of a symmetric d×d matrix by cyclic Jacobi: (eigenvalues, eigenvectors as
/// the columns of a row-major d×d matrix), in ascending order of eigenvalue (as `np.linalg.eigh`).
/// Only the matrix's symmetric part, (A + Aᵀ)/2, is decomposed.
pub fn symmetric_eigen(a: &[f64], d: usize) -> (Vec<f64>, Vec<f64>) {
    debug_assert_eq!(a.len(), d * d);
    let mut m = symmetric_part(a, d);
    let mut v = identity(d);
    // Jacobi converges quadratically: a few sweeps do for d in the hundreds. The cap only bounds
    // the work on input that never settles (NaN).
    for _ in 0..100 {
        let mut rotated = false;
        for p in 0..d {
            for q in p + 1..d {
                let apq = m[p * d + q];
                if apq == 0.0 {
                    continue;
                }
                let (app, aqq) = (m[p * d + p], m[q * d + q]);
                // Negligible beside both diagonal entries: rotating would only churn rounding
                // (Numerical Recipes' test), so the entry is dropped instead.
                let g = 100.0 * apq.abs();
                if app.abs() + g == app.abs() && aqq.abs() + g == aqq.abs() {
                    m[p * d + q] = 0.0;
                    m[q * d + p] = 0.0;
                    continue;
                }
                rotated = true;
                let theta = (aqq - app) / (2.0 * apq);
                // The smaller of the two rotation angles that zero a_pq, written so that it
                // stays accurate when θ is huge (θ² would overflow).
                let t = if theta.abs() > 1e150 {
                    0.5 / theta
                } else {
                    theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt())
                };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                rotate(&mut m, &mut v, d, p, q, c, s);
                m[p * d + q] = 0.0;
                m[q * d + p] = 0.0;
            }
        }
        if !rotated {
            break;
        }
    }
    // Ascending eigenvalues, ties in index order, by selection: d² comparisons are nothing beside
    // the rotations above, and the library's sort costs the browser's wasm 5 KB.
    let mut order: Vec<usize> = (0..d).collect();
    for a in 0..d {
        let mut best = a;
        for b in a + 1..d {
            if m[order[b] * d + order[b]].total_cmp(&m[order[best] * d + order[best]]).is_lt() {
                best = b;
            }
        }
        // Rotating (not swapping) keeps equal eigenvalues in index order.
        order[a..=best].rotate_right(1);
    }
    let values = order.iter().map(|&i| m[i * d + i]).collect();
    let mut vectors = vec![0.0; d * d];
    for (col, &i) in order.iter().enumerate() {
        for r in 0..d {
            vectors[r * d + col] = v[r * d + i];
        }
    }
    (values, vectors)
}

/// A ← Jᵀ A J and V ← V J for the rotation J in the (p, q) plane (J_pp = J_qq = c, J_pq = s).
fn rotate(m: &mut [f64], v: &mut [f64], d: usize, p: usize, q: usize, c: f64, s: f64) {
    for k in 0..d {
        let (x, y) = (m[k * d + p], m[k * d + q]);
        m[k * d + p] = c * x - s * y;
        m[k * d + q] = s * x + c * y;
        let (x, y) = (v[k * d + p], v[k * d + q]);
        v[k * d + p] = c * x - s * y;
        v[k * d + q] = s * x + c * y;
    }
    for k in 0..d {
        let (x, y) = (m[p * d + k], m[q * d + k]);
        m[p * d + k] = c * x - s * y;
        m[q * d + k] = s * x + c * y;
    }
}

/// Principal square root of a symmetric positive semi-definite matrix (negative eigenvalues from
/// rounding clamped to 0).
pub fn sqrtm_psd(a: &[f64], d: usize) -> Vec<f64> {
    let (values, vectors) = symmetric_eigen(a, d);
    let roots: Vec<f64> = values.iter().map(|&l| l.max(0.0).sqrt()).collect();
    // V diag(√λ) Vᵀ, filled by symmetry so the result is exactly symmetric.
    let mut out = vec![0.0; d * d];
    for i in 0..d {
        for j in i..d {
            let vi = &vectors[i * d..(i + 1) * d];
            let vj = &vectors[j * d..(j + 1) * d];
            let x: f64 = vi.iter().zip(vj).zip(&roots).map(|((a, b), r)| a * r * b).sum();
            out[i * d + j] = x;
            out[j * d + i] = x;
        }
    }
    out
}

/// FID's Fréchet distance: |μa − μb|² + tr(Σa + Σb − 2(Σa^½ Σb Σa^½)^½).
///
/// tr((Σa Σb)^½), as pytorch-fid writes it, equals tr((Σa^½ Σb Σa^½)^½): the two matrices are
/// similar. The second form is symmetric PSD, so its square root's trace is a sum of real square
/// roots of eigenvalues, with no complex parts to discard. Tiny negative results are clamped to 0.
pub fn frechet_distance(a: &Gaussian, b: &Gaussian) -> f64 {
    debug_assert_eq!(a.d, b.d);
    let d = a.d;
    let mean: f64 = a.mean.iter().zip(&b.mean).map(|(x, y)| (x - y) * (x - y)).sum();
    let trace = |m: &[f64]| (0..d).map(|i| m[i * d + i]).sum::<f64>();
    let root_a = sqrtm_psd(&a.cov, d);
    let inner = matmul(&matmul(&root_a, &b.cov, d), &root_a, d);
    let (values, _) = symmetric_eigen(&inner, d);
    let cross: f64 = values.iter().map(|&l| l.max(0.0).sqrt()).sum();
    (mean + trace(&a.cov) + trace(&b.cov) - 2.0 * cross).max(0.0)
}

/// KID's estimate: mean and spread over random subsets.
#[derive(Clone, Debug, PartialEq)]
pub struct Kid {
    pub mean: f64,
    /// Population standard deviation (`np.std`) of the subsets' estimates, as torch-fidelity.
    pub std: f64,
    pub subsets: usize,
    /// Rows per subset, from each set (after clamping to the smaller set).
    pub subset_size: usize,
}

/// KID's kernel, k(x, y) = (x·y/d + 1)³, from the dot product.
fn poly_kernel(dot: f64, d: usize) -> f64 {
    let k = dot / d as f64 + 1.0;
    k * k * k
}

/// The kernel between every row of `a` and every row of `b`, row-major (na × nb); with `b` None,
/// between the rows of `a` themselves, only on and above the diagonal (see `gram`).
fn kernel_matrix(a: &[f64], b: Option<&[f64]>, d: usize) -> Vec<f64> {
    let mut k = gram(a, b, d);
    k.iter_mut().for_each(|v| *v = poly_kernel(*v, d));
    k
}

/// Σ k(x_i, x_j) over the pairs i ≠ j of a subset given by its rows `s` and its 0/1 weights `w`,
/// from the upper triangle of the n × n kernel matrix `k` alone (each pair twice, by symmetry):
/// half the memory traffic of reading whole rows, and memory is what KID's subsets are bound by.
fn within_sum(k: &[f64], n: usize, s: &[usize], w: &[f64]) -> f64 {
    2.0 * s.iter().map(|&i| dot(&k[i * n + i + 1..(i + 1) * n], &w[i + 1..])).sum::<f64>()
}

/// Kernel Inception Distance: unbiased MMD² with the polynomial kernel k(x, y) = (x·y/d + 1)³,
/// averaged over `subsets` random subsets of `subset_size` rows drawn without replacement from x
/// and from y independently (seeded: the same seed gives the same draws). `subset_size` is clamped
/// to the smaller set; where it equals a set's size, each of that set's subsets is the whole set.
/// The three kernel matrices are computed once over all rows and indexed per subset.
pub fn kid(x: &[f64], y: &[f64], d: usize, subsets: usize, subset_size: usize, seed: u64) -> Kid {
    let (nx, ny) = (rows(x, d), rows(y, d));
    let m = subset_size.min(nx).min(ny);
    if m < 2 || subsets == 0 {
        // The unbiased within-set sums divide by m(m − 1).
        return Kid { mean: f64::NAN, std: f64::NAN, subsets, subset_size: m };
    }
    let kxx = kernel_matrix(x, None, d);
    let kyy = kernel_matrix(y, None, d);
    let kxy = kernel_matrix(x, Some(y), d);
    let mut rng = SplitMix64(seed);
    let (mut px, mut py): (Vec<usize>, Vec<usize>) = ((0..nx).collect(), (0..ny).collect());
    // Subsets as 0/1 weights: a subset's sum of a kernel row is then one contiguous dot product,
    // which beats gathering m scattered entries per row.
    let (mut wx, mut wy) = (vec![0.0; nx], vec![0.0; ny]);
    let mut estimates = Vec::with_capacity(subsets);
    for _ in 0..subsets {
        let sx = sample_without_replacement(&mut px, m, &mut rng);
        let sy = sample_without_replacement(&mut py, m, &mut rng);
        sx.iter().for_each(|&i| wx[i] = 1.0);
        sy.iter().for_each(|&i| wy[i] = 1.0);
        let xx = within_sum(&kxx, nx, sx, &wx);
        let yy = within_sum(&kyy, ny, sy, &wy);
        let xy: f64 = sx.iter().map(|&i| dot(&kxy[i * ny..(i + 1) * ny], &wy)).sum();
        let mf = m as f64;
        estimates.push((xx + yy) / (mf * (mf - 1.0)) - 2.0 * xy / (mf * mf));
        sx.iter().for_each(|&i| wx[i] = 0.0);
        sy.iter().for_each(|&i| wy[i] = 0.0);
    }
    let (mean, std) = mean_std(&estimates);
    Kid { mean, std, subsets, subset_size: m }
}

/// The unbiased MMD² between all rows of x and all rows of y (sizes m and n may differ), with
/// KID's kernel: Σ_{i≠j} k(xi, xj)/(m(m−1)) + Σ_{i≠j} k(yi, yj)/(n(n−1)) − 2 Σ k(xi, yj)/(mn).
/// `kid` with one subset of every row, for sets of different sizes.
pub fn mmd2_unbiased(x: &[f64], y: &[f64], d: usize) -> f64 {
    let within = |x: &[f64]| {
        let n = rows(x, d);
        let all: Vec<usize> = (0..n).collect();
        within_sum(&kernel_matrix(x, None, d), n, &all, &vec![1.0; n])
    };
    let xy: f64 = kernel_matrix(x, Some(y), d).iter().sum();
    let (m, n) = (rows(x, d) as f64, rows(y, d) as f64);
    within(x) / (m * (m - 1.0)) + within(y) / (n * (n - 1.0)) - 2.0 * xy / (m * n)
}

/// The first `m` entries of `perm` after a partial Fisher–Yates shuffle: a uniform m-subset
/// whatever order `perm` starts in, so one permutation serves every draw.
fn sample_without_replacement<'a>(perm: &'a mut [usize], m: usize, rng: &mut SplitMix64) -> &'a [usize] {
    let n = perm.len();
    if m < n {
        for t in 0..m {
            let j = t + rng.below((n - t) as u64) as usize;
            perm.swap(t, j);
        }
    }
    &perm[..m.min(n)]
}

/// SplitMix64 (Steele et al., 2014): small, seedable with any u64, and plenty for drawing subsets.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, n), n ≥ 1, without modulo bias (Lemire's multiply-and-reject).
    fn below(&mut self, n: u64) -> u64 {
        let threshold = n.wrapping_neg() % n;
        loop {
            let wide = self.next() as u128 * n as u128;
            if wide as u64 >= threshold {
                return (wide >> 64) as u64;
            }
        }
    }
}

/// exp(E_x[KL(p(y|x) ‖ p(y))]) over rows of class probabilities (rows sum to 1; 0·log 0 = 0).
pub fn inception_score(probs: &[f64], classes: usize) -> f64 {
    let n = rows(probs, classes);
    if n == 0 {
        return f64::NAN;
    }
    let mut marginal = vec![0.0; classes];
    for row in probs.chunks_exact(classes).take(n) {
        marginal.iter_mut().zip(row).for_each(|(m, p)| *m += p);
    }
    marginal.iter_mut().for_each(|m| *m /= n as f64);
    let kl_sum: f64 = probs
        .chunks_exact(classes)
        .take(n)
        .map(|row| {
            row.iter().zip(&marginal).filter(|(&p, _)| p > 0.0).map(|(&p, &m)| p * (p.ln() - m.ln())).sum::<f64>()
        })
        .sum();
    (kl_sum / n as f64).exp()
}

/// How many rows have their largest probability at each class (the first such class on ties).
pub fn class_histogram(probs: &[f64], classes: usize) -> Vec<usize> {
    let mut histogram = vec![0; classes];
    for row in probs.chunks_exact(classes.max(1)).take(rows(probs, classes)) {
        let best = (1..classes).fold(0, |best, c| if row[c] > row[best] { c } else { best });
        histogram[best] += 1;
    }
    histogram
}

/// Classes holding at least a tenth of a fair share (count ≥ 0.1 · total / classes); an empty
/// class never counts, even in an empty histogram.
pub fn modes_covered(histogram: &[usize]) -> usize {
    let total: usize = histogram.iter().sum();
    // In integers, so that a count exactly at the threshold is not decided by rounding.
    histogram.iter().filter(|&&c| c > 0 && 10 * c * histogram.len() >= total).count()
}

/// Mean over `queries` of the log density (nats) of an isotropic Gaussian Parzen window with
/// bandwidth sigma centred on `centres`:
/// logsumexp_i(−|q − c_i|²/(2σ²)) − ln N − (d/2)·ln(2πσ²).
pub fn parzen_log_likelihood(centres: &[f64], queries: &[f64], d: usize, sigma: f64) -> f64 {
    let per_query = parzen_per_query(centres, queries, d, &[sigma]);
    mean_std(&per_query[0]).0
}

/// The Parzen-window estimate with its bandwidth chosen on a validation split.
#[derive(Clone, Debug, PartialEq)]
pub struct Parzen {
    pub sigma: f64,
    /// Mean log-likelihood of the test split, in nats.
    pub log_likelihood: f64,
    /// Standard error of that mean: population std of the per-query values / √n (as Goodfellow et
    /// al.'s parzen_ll.py).
    pub std_err: f64,
}

/// Picks the sigma of `sigmas` with the highest mean log-likelihood of `validation` (the first on
/// ties), then reports `test`'s mean log-likelihood under it and its standard error. Squared
/// distances are computed once per query, not once per sigma.
pub fn parzen_select(centres: &[f64], validation: &[f64], test: &[f64], d: usize, sigmas: &[f64]) -> Parzen {
    let per_sigma = parzen_per_query(centres, validation, d, sigmas);
    let mut best: Option<(f64, f64)> = None;
    for (&sigma, lls) in sigmas.iter().zip(&per_sigma) {
        let ll = mean_std(lls).0;
        if best.is_none_or(|(_, b)| ll > b) {
            best = Some((sigma, ll));
        }
    }
    let Some((sigma, _)) = best else {
        return Parzen { sigma: f64::NAN, log_likelihood: f64::NAN, std_err: f64::NAN };
    };
    let lls = &parzen_per_query(centres, test, d, &[sigma])[0];
    let (mean, std) = mean_std(lls);
    Parzen { sigma, log_likelihood: mean, std_err: std / (lls.len() as f64).sqrt() }
}

/// Per sigma, each query's Parzen log density (nats).
fn parzen_per_query(centres: &[f64], queries: &[f64], d: usize, sigmas: &[f64]) -> Vec<Vec<f64>> {
    let (nc, nq) = (rows(centres, d), rows(queries, d));
    let mut out = vec![Vec::with_capacity(nq); sigmas.len()];
    if nc == 0 {
        out.iter_mut().for_each(|o| o.resize(nq, f64::NEG_INFINITY));
        return out;
    }
    let norms = |x: &[f64], n: usize| -> Vec<f64> { x.chunks_exact(d).take(n).map(|r| dot(r, r)).collect() };
    let (centre_norms, query_norms) = (norms(centres, nc), norms(queries, nq));
    let packed = Packed::new(centres, d);
    let constants: Vec<f64> = sigmas
        .iter()
        .map(|&s| -(nc as f64).ln() - d as f64 / 2.0 * (2.0 * std::f64::consts::PI * s * s).ln())
        .collect();
    // Queries a block at a time: the block's distances stay small (BLOCK × N), and the packed
    // centres are streamed once per block rather than once per query.
    const BLOCK: usize = 64;
    let mut dist = vec![0.0; BLOCK * nc];
    for start in (0..nq).step_by(BLOCK) {
        let end = (start + BLOCK).min(nq);
        let dist = &mut dist[..(end - start) * nc];
        packed.dots(&queries[start * d..end * d], None, dist);
        for (qi, row) in (start..end).zip(dist.chunks_exact_mut(nc)) {
            let mut nearest = f64::INFINITY;
            for (v, cn) in row.iter_mut().zip(&centre_norms) {
                // |q|² + |c|² − 2q·c can round below 0 for a query equal to a centre.
                *v = (query_norms[qi] + cn - 2.0 * *v).max(0.0);
                nearest = nearest.min(*v);
            }
            for ((out, &sigma), constant) in out.iter_mut().zip(sigmas).zip(&constants) {
                let scale = -0.5 / (sigma * sigma);
                // logsumexp shifted by the nearest centre, whose term is exp(0) = 1.
                let sum: f64 = row.iter().map(|&v| ((v - nearest) * scale).exp()).sum();
                out.push(nearest * scale + sum.ln() + constant);
            }
        }
    }
    out
}

/// Row count of a row-major matrix with d columns (0 when d is 0).
fn rows(x: &[f64], d: usize) -> usize {
    x.len().checked_div(d).unwrap_or(0)
}

/// Mean and population standard deviation; NaN for no values.
fn mean_std(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// Dot product with four running sums, which lets the compiler use vector registers (a single
/// f64 sum has to be added strictly in order).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; 4];
    let (a4, b4) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = a4.remainder().iter().zip(b4.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in a4.zip(b4) {
        for k in 0..4 {
            acc[k] += x[k] * y[k];
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

fn identity(d: usize) -> Vec<f64> {
    let mut m = vec![0.0; d * d];
    (0..d).for_each(|i| m[i * d + i] = 1.0);
    m
}

fn symmetric_part(a: &[f64], d: usize) -> Vec<f64> {
    let mut m = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..d {
            m[i * d + j] = 0.5 * (a[i * d + j] + a[j * d + i]);
        }
    }
    m
}

/// Product of two d×d row-major matrices.
fn matmul(a: &[f64], b: &[f64], d: usize) -> Vec<f64> {
    let mut out = vec![0.0; d * d];
    for i in 0..d {
        for k in 0..d {
            let aik = a[i * d + k];
            for j in 0..d {
                out[i * d + j] += aik * b[k * d + j];
            }
        }
    }
    out
}

/// a · bᵀ for row-major a (na × d) and b (nb × d): na × nb dot products. With `b` None, a · aᵀ
/// with only the entries on and above the diagonal sure to be filled in (some below it are, the
/// rest are 0): symmetric callers need no more, and it saves nearly half the work.
fn gram(a: &[f64], b: Option<&[f64]>, d: usize) -> Vec<f64> {
    let (na, nb) = (rows(a, d), rows(b.unwrap_or(a), d));
    let mut out = vec![0.0; na * nb];
    if out.is_empty() || d == 0 {
        return out;
    }
    let packed = Packed::new(b.unwrap_or(a), d);
    // A bounded block of a's rows per pass keeps them in cache while b's panels stream by.
    const BLOCK: usize = 64;
    for (block, (a_block, out_block)) in a[..na * d].chunks(BLOCK * d).zip(out.chunks_mut(BLOCK * nb)).enumerate() {
        packed.dots(a_block, b.is_none().then_some(block * BLOCK), out_block);
    }
    out
}

/// Rows per panel of `Packed`, and the rows of the other side taken with each panel.
const PANEL: usize = 4;

/// The rows of a matrix regrouped PANEL at a time, transposed within the group (column k of the
/// group's rows is contiguous), so that the inner loop of many dot products at once reads one
/// short vector per k. The last group is padded with zero rows.
struct Packed {
    panels: Vec<f64>,
    n: usize,
    d: usize,
}

impl Packed {
    fn new(b: &[f64], d: usize) -> Packed {
        let n = rows(b, d);
        let groups = n.div_ceil(PANEL);
        let mut panels = vec![0.0; groups * PANEL * d];
        for (r, row) in b.chunks_exact(d).take(n).enumerate() {
            let panel = &mut panels[(r / PANEL) * PANEL * d..];
            for (k, &v) in row.iter().enumerate() {
                panel[k * PANEL + r % PANEL] = v;
            }
        }
        Packed { panels, n, d }
    }

    /// out[i·n + j] = a_i · b_j for the rows a_i of `a`; each dot product is summed in k order.
    /// With `upper_from` Some(r), a's rows are rows r, r + 1, … of the packed matrix itself, and
    /// panels wholly below the diagonal are skipped (their entries are left as they were).
    fn dots(&self, a: &[f64], upper_from: Option<usize>, out: &mut [f64]) {
        let (d, n) = (self.d, self.n);
        let na = rows(a, d);
        let zeros = vec![0.0; d];
        for (g, panel) in self.panels.chunks_exact(PANEL * d).enumerate() {
            let cols = (n - g * PANEL).min(PANEL);
            for i0 in (0..na).step_by(PANEL) {
                if upper_from.is_some_and(|r| (g + 1) * PANEL <= r + i0) {
                    continue;
                }
                let row = |i: usize| if i < na { &a[i * d..(i + 1) * d] } else { &zeros[..] };
                let acc = kernel(panel, [row(i0), row(i0 + 1), row(i0 + 2), row(i0 + 3)]);
                for (i, acc_row) in acc.iter().enumerate().take(na - i0) {
                    let at = (i0 + i) * n + g * PANEL;
                    out[at..at + cols].copy_from_slice(&acc_row[..cols]);
                }
            }
        }
    }
}

/// PANEL × PANEL dot products: rows of `a` against the rows packed in `panel`.
fn kernel(panel: &[f64], a: [&[f64]; PANEL]) -> [[f64; PANEL]; PANEL] {
    let mut acc = [[0.0; PANEL]; PANEL];
    let columns = panel.chunks_exact(PANEL).zip(a[0]).zip(a[1]).zip(a[2]).zip(a[3]);
    for ((((c, &x0), &x1), &x2), &x3) in columns {
        let c: &[f64; PANEL] = c.try_into().unwrap_or(&[0.0; PANEL]);
        for (acc, x) in acc.iter_mut().zip([x0, x1, x2, x3]) {
            for j in 0..PANEL {
                acc[j] += x * c[j];
            }
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic stream of test numbers.
    struct Rng(SplitMix64);

    impl Rng {
        fn new(seed: u64) -> Rng {
            Rng(SplitMix64(seed))
        }
        fn uniform(&mut self) -> f64 {
            (self.0.next() >> 11) as f64 / (1u64 << 53) as f64
        }
        fn normal(&mut self) -> f64 {
            let u = 1.0 - self.uniform();
            (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * self.uniform()).cos()
        }
        fn normals(&mut self, n: usize) -> Vec<f64> {
            (0..n).map(|_| self.normal()).collect()
        }
    }

    fn transpose(a: &[f64], d: usize) -> Vec<f64> {
        let mut t = vec![0.0; d * d];
        for i in 0..d {
            for j in 0..d {
                t[j * d + i] = a[i * d + j];
            }
        }
        t
    }

    fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
        assert_eq!(a.len(), b.len());
        a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
    }

    /// A random symmetric PSD matrix of rank `rank` (full when rank ≥ d), scaled to ~1.
    fn random_psd(rng: &mut Rng, d: usize, rank: usize) -> Vec<f64> {
        let l = rng.normals(d * rank);
        let mut a = vec![0.0; d * d];
        for i in 0..d {
            for j in 0..d {
                a[i * d + j] = (0..rank).map(|k| l[i * rank + k] * l[j * rank + k]).sum::<f64>() / rank as f64;
            }
        }
        a
    }

    #[test]
    fn gram_matches_naive_dots_at_odd_shapes() {
        let mut rng = Rng::new(1);
        for (na, nb, d) in [(1, 1, 1), (3, 5, 7), (9, 6, 4), (70, 67, 3), (5, 0, 2)] {
            let (a, b) = (rng.normals(na * d), rng.normals(nb * d));
            let g = gram(&a, Some(&b), d);
            let naive: Vec<f64> = (0..na)
                .flat_map(|i| {
                    let (a, b) = (&a, &b);
                    (0..nb).map(move |j| (0..d).map(|k| a[i * d + k] * b[j * d + k]).sum::<f64>())
                })
                .collect();
            assert_eq!(g, naive, "{na}×{nb}×{d}: the kernel sums each dot in k order, as the naive loop");
            let own = gram(&a, None, d);
            let full = gram(&a, Some(&a), d);
            for i in 0..na {
                assert_eq!(own[i * na + i..(i + 1) * na], full[i * na + i..(i + 1) * na], "{na}×{d}: row {i}");
            }
        }
    }

    #[test]
    fn gaussian_fit_matches_direct_formula() {
        let mut rng = Rng::new(2);
        let (n, d) = (40, 3);
        let x: Vec<f64> = rng.normals(n * d).iter().map(|v| v * 2.0 + 1000.0).collect();
        let g = gaussian_fit(&x, d);
        for j in 0..d {
            let m = (0..n).map(|i| x[i * d + j]).sum::<f64>() / n as f64;
            assert!((g.mean[j] - m).abs() < 1e-9);
            for k in 0..d {
                let c = (0..n).map(|i| (x[i * d + j] - m) * (x[i * d + k] - g.mean[k])).sum::<f64>() / (n - 1) as f64;
                assert!((g.cov[j * d + k] - c).abs() < 1e-9, "cov[{j},{k}] {} vs {c}", g.cov[j * d + k]);
            }
        }
    }

    #[test]
    fn eigen_reconstructs_and_is_orthonormal() {
        let mut rng = Rng::new(3);
        let mut cases = vec![(vec![], 0), (vec![-2.5], 1), (identity(5), 5), (vec![0.0; 16], 4)];
        // Repeated eigenvalues (rank 2 of 12: ten zeros), a full random PSD one, an indefinite one.
        cases.push((random_psd(&mut rng, 12, 2), 12));
        cases.push((random_psd(&mut rng, 40, 60), 40));
        let s = rng.normals(30 * 30);
        cases.push((symmetric_part(&s, 30), 30));
        for (a, d) in cases {
            let (values, v) = symmetric_eigen(&a, d);
            assert!(values.windows(2).all(|w| w[0] <= w[1]), "ascending: {values:?}");
            let mut lambda_vt = transpose(&v, d);
            for (i, l) in values.iter().enumerate() {
                lambda_vt[i * d..(i + 1) * d].iter_mut().for_each(|x| *x *= l);
            }
            let scale = a.iter().fold(1.0f64, |m, x| m.max(x.abs()));
            let err = max_abs_diff(&matmul(&v, &lambda_vt, d), &a);
            assert!(err <= 1e-12 * scale * (d as f64), "d = {d}: |VΛVᵀ − A| = {err:e}");
            let err = max_abs_diff(&matmul(&transpose(&v, d), &v, d), &identity(d));
            assert!(err <= 1e-13 * (d as f64), "d = {d}: |VᵀV − I| = {err:e}");
        }
    }

    #[test]
    fn eigenvalues_of_a_known_matrix() {
        // [[2, 1], [1, 2]]: 1 and 3, with eigenvectors (1, −1)/√2 and (1, 1)/√2.
        let (values, v) = symmetric_eigen(&[2.0, 1.0, 1.0, 2.0], 2);
        assert!(max_abs_diff(&values, &[1.0, 3.0]) < 1e-15, "{values:?}");
        let h = 0.5f64.sqrt();
        assert!((v[0] * v[1] + v[2] * v[3]).abs() < 1e-15);
        assert!(((v[1] - v[3]).abs()) < 1e-15 && (v[1].abs() - h).abs() < 1e-15, "{v:?}");
    }

    #[test]
    fn sqrtm_squares_back() {
        let mut rng = Rng::new(4);
        for (d, rank) in [(1, 1), (6, 6), (32, 100), (20, 3)] {
            let a = random_psd(&mut rng, d, rank);
            let r = sqrtm_psd(&a, d);
            let err = max_abs_diff(&matmul(&r, &r, d), &a);
            assert!(err < 1e-12, "d = {d}, rank {rank}: |R² − A| = {err:e}");
            assert_eq!(r, transpose(&r, d), "symmetric");
            let (values, _) = symmetric_eigen(&r, d);
            assert!(values[0] > -1e-7, "PSD: {values:?}");
        }
        // A rounding-sized negative eigenvalue is clamped to 0, not reflected: diag(4, −1e−12).
        assert_eq!(sqrtm_psd(&[4.0, 0.0, 0.0, -1e-12], 2), [2.0, 0.0, 0.0, 0.0]);
        // A known root: diag(4, 9) → diag(2, 3).
        assert!(max_abs_diff(&sqrtm_psd(&[4.0, 0.0, 0.0, 9.0], 2), &[2.0, 0.0, 0.0, 3.0]) < 1e-15);
    }

    #[test]
    fn frechet_distance_of_a_set_with_itself_is_zero() {
        let mut rng = Rng::new(5);
        let d = 16;
        let x: Vec<f64> = rng.normals(500 * d).iter().enumerate().map(|(i, v)| v * (1.0 + (i % d) as f64)).collect();
        let g = gaussian_fit(&x, d);
        let fid = frechet_distance(&g, &g);
        let tr: f64 = (0..d).map(|i| g.cov[i * d + i]).sum();
        assert!(fid.abs() < 1e-10 * tr, "FID(x, x) = {fid:e} (tr Σ = {tr})");
    }

    #[test]
    fn frechet_distance_of_1d_gaussians() {
        for (m1, s1, m2, s2) in [(0.0, 1.0, 0.0, 1.0), (1.0, 2.0, -0.5, 0.5), (3.0, 0.1, 3.0, 5.0)] {
            let a = Gaussian { mean: vec![m1], cov: vec![s1 * s1], d: 1 };
            let b = Gaussian { mean: vec![m2], cov: vec![s2 * s2], d: 1 };
            let want = (m1 - m2) * (m1 - m2) + (s1 - s2) * (s1 - s2);
            let fid = frechet_distance(&a, &b);
            assert!((fid - want).abs() < 1e-12 * want.max(1.0), "{fid} vs {want}");
        }
    }

    #[test]
    fn frechet_distance_of_diagonal_gaussians_is_per_axis() {
        // Diagonal (commuting) covariances: the distance splits into 1-D ones, axes independent.
        let a = Gaussian { mean: vec![0.0, 1.0, 2.0], cov: vec![1.0, 0.0, 0.0, 0.0, 4.0, 0.0, 0.0, 0.0, 0.25], d: 3 };
        let b = Gaussian { mean: vec![1.0, 1.0, 0.0], cov: vec![9.0, 0.0, 0.0, 0.0, 4.0, 0.0, 0.0, 0.0, 1.0], d: 3 };
        let want = (1.0 + 4.0) + (0.0 + 0.0) + (4.0 + 0.25);
        assert!((frechet_distance(&a, &b) - want).abs() < 1e-12);
    }

    #[test]
    fn kid_of_a_set_with_itself_is_zero_in_expectation() {
        let mut rng = Rng::new(6);
        let d = 8;
        let x = rng.normals(400 * d);
        let y = rng.normals(400 * d);
        // Two samples of one distribution: the unbiased estimate scatters around 0.
        let same = kid(&x, &y, d, 50, 100, 7);
        assert!(same.mean.abs() < 3.0 * same.std / (same.subsets as f64).sqrt() + 1e-3, "{same:?}");
        assert!(same.std > 0.0);
        // Each subset the whole set: every subset gives the same estimate, that of all rows.
        let whole = kid(&x, &y, d, 3, 1000, 7);
        assert_eq!(whole.subset_size, 400);
        assert!(whole.std < 1e-15, "{whole:?}");
        assert!((whole.mean - mmd2_unbiased(&x, &y, d)).abs() < 1e-12, "{whole:?}");
        // Shifted data: clearly positive, many standard errors from 0.
        let shifted: Vec<f64> = y.iter().map(|v| v + 0.5).collect();
        let far = kid(&x, &shifted, d, 50, 100, 7);
        assert!(far.mean > 10.0 * far.std / (far.subsets as f64).sqrt(), "{far:?}");
        assert!(far.mean > 10.0 * same.mean.abs(), "{far:?} vs {same:?}");
    }

    #[test]
    fn kid_full_sets_match_mmd2_and_subsets_are_seeded() {
        let mut rng = Rng::new(8);
        let d = 5;
        let (x, y) = (rng.normals(60 * d), rng.normals(60 * d).iter().map(|v| v * 1.3).collect::<Vec<_>>());
        let full = kid(&x, &y, d, 1, 60, 0);
        assert!((full.mean - mmd2_unbiased(&x, &y, d)).abs() < 1e-12, "{full:?}");
        assert_eq!(kid(&x, &y, d, 10, 20, 42), kid(&x, &y, d, 10, 20, 42));
        assert_ne!(kid(&x, &y, d, 10, 20, 42).mean, kid(&x, &y, d, 10, 20, 43).mean);
        // Brute force for one subset: the draws are the first m of the shuffled permutations.
        let m = 20;
        let mut rng = SplitMix64(9);
        let (mut px, mut py): (Vec<usize>, Vec<usize>) = ((0..60).collect(), (0..60).collect());
        let sx: Vec<f64> = sample_without_replacement(&mut px, m, &mut rng)
            .iter()
            .flat_map(|&i| x[i * d..(i + 1) * d].to_vec())
            .collect();
        let sy: Vec<f64> = sample_without_replacement(&mut py, m, &mut rng)
            .iter()
            .flat_map(|&i| y[i * d..(i + 1) * d].to_vec())
            .collect();
        let one = kid(&x, &y, d, 1, m, 9);
        assert!((one.mean - mmd2_unbiased(&sx, &sy, d)).abs() < 1e-12, "{one:?}");
    }

    #[test]
    fn mmd2_matches_the_direct_formula() {
        let mut rng = Rng::new(13);
        let d = 3;
        let (x, y) = (rng.normals(7 * d), rng.normals(5 * d));
        let k = |a: &[f64], b: &[f64]| (a.iter().zip(b).map(|(p, q)| p * q).sum::<f64>() / d as f64 + 1.0).powi(3);
        let rows = |v: &Vec<f64>| v.chunks_exact(d).map(|r| r.to_vec()).collect::<Vec<_>>();
        let (xr, yr) = (rows(&x), rows(&y));
        let (mut xx, mut yy, mut xy) = (0.0, 0.0, 0.0);
        for (i, a) in xr.iter().enumerate() {
            for (j, b) in xr.iter().enumerate() {
                if i != j {
                    xx += k(a, b);
                }
            }
            for b in &yr {
                xy += k(a, b);
            }
        }
        for (i, a) in yr.iter().enumerate() {
            for (j, b) in yr.iter().enumerate() {
                if i != j {
                    yy += k(a, b);
                }
            }
        }
        let want = xx / 42.0 + yy / 20.0 - 2.0 * xy / 35.0;
        let got = mmd2_unbiased(&x, &y, d);
        assert!((got - want).abs() < 1e-12 * want.abs().max(1.0), "{got} vs {want}");
    }

    #[test]
    fn subsets_are_without_replacement() {
        let mut rng = SplitMix64(10);
        let mut perm: Vec<usize> = (0..50).collect();
        for _ in 0..100 {
            let mut s = sample_without_replacement(&mut perm, 30, &mut rng).to_vec();
            s.sort_unstable();
            s.dedup();
            assert_eq!(s.len(), 30);
            assert!(s.iter().all(|&i| i < 50));
        }
    }

    #[test]
    fn inception_score_extremes() {
        let classes = 10;
        // Confident and balanced: IS = number of classes.
        let mut probs = vec![0.0; 50 * classes];
        (0..50).for_each(|i| probs[i * classes + i % classes] = 1.0);
        assert!((inception_score(&probs, classes) - 10.0).abs() < 1e-12);
        // Every row the same distribution: p(y|x) = p(y), KL 0, IS 1.
        let row = [0.05, 0.1, 0.2, 0.15, 0.1, 0.1, 0.1, 0.05, 0.1, 0.05];
        let same: Vec<f64> = (0..30).flat_map(|_| row).collect();
        assert!((inception_score(&same, classes) - 1.0).abs() < 1e-12);
        // Confident but only 4 classes used: 4.
        let mut four = vec![0.0; 40 * classes];
        (0..40).for_each(|i| four[i * classes + i % 4] = 1.0);
        assert!((inception_score(&four, classes) - 4.0).abs() < 1e-12);
    }

    #[test]
    fn histogram_and_modes() {
        let probs = [0.1, 0.7, 0.2, 0.5, 0.25, 0.25, 0.3, 0.3, 0.4, 0.2, 0.6, 0.2];
        assert_eq!(class_histogram(&probs, 3), vec![1, 2, 1]);
        // Ties go to the first class.
        assert_eq!(class_histogram(&[0.5, 0.5, 0.0], 3), vec![1, 0, 0]);
        // 10 classes, 1000 samples: a tenth of a fair share is 10.
        let mut h = vec![100; 10];
        assert_eq!(modes_covered(&h), 10);
        h[3] = 9;
        h[7] = 0;
        h[0] = 291;
        assert_eq!(h.iter().sum::<usize>(), 1000);
        assert_eq!(modes_covered(&h), 8);
        h[3] = 10;
        h[0] = 290;
        assert_eq!(modes_covered(&h), 9, "exactly at the threshold counts");
        assert_eq!(modes_covered(&[0, 0, 0]), 0);
        assert_eq!(modes_covered(&[]), 0);
    }

    /// The Parzen log density of one query, straight from the definition.
    fn parzen_direct(centres: &[f64], q: &[f64], d: usize, sigma: f64) -> f64 {
        let n = centres.len() / d;
        let terms: Vec<f64> = centres
            .chunks_exact(d)
            .map(|c| -c.iter().zip(q).map(|(a, b)| (a - b) * (a - b)).sum::<f64>() / (2.0 * sigma * sigma))
            .collect();
        let max = terms.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = max + terms.iter().map(|t| (t - max).exp()).sum::<f64>().ln();
        lse - (n as f64).ln() - d as f64 / 2.0 * (2.0 * std::f64::consts::PI * sigma * sigma).ln()
    }

    #[test]
    fn parzen_matches_the_direct_formula() {
        let mut rng = Rng::new(11);
        let d = 13;
        let centres: Vec<f64> = (0..70 * d).map(|_| rng.uniform()).collect();
        let mut queries: Vec<f64> = (0..9 * d).map(|_| rng.uniform()).collect();
        // A query equal to a centre: its distance must not round below 0.
        queries[..d].copy_from_slice(&centres[5 * d..6 * d]);
        for sigma in [0.01, 0.1, 0.3, 2.0] {
            let want = queries.chunks_exact(d).map(|q| parzen_direct(&centres, q, d, sigma)).sum::<f64>() / 9.0;
            let got = parzen_log_likelihood(&centres, &queries, d, sigma);
            assert!((got - want).abs() < 1e-9 * want.abs().max(1.0), "σ {sigma}: {got} vs {want}");
        }
    }

    #[test]
    fn parzen_select_picks_the_best_validation_sigma() {
        let mut rng = Rng::new(12);
        let d = 4;
        let gauss = |rng: &mut Rng, n: usize| rng.normals(n * d).iter().map(|v| v * 0.3).collect::<Vec<_>>();
        let (centres, validation, test) = (gauss(&mut rng, 200), gauss(&mut rng, 50), gauss(&mut rng, 40));
        let sigmas = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0];
        let p = parzen_select(&centres, &validation, &test, d, &sigmas);
        let lls: Vec<f64> = sigmas.iter().map(|&s| parzen_log_likelihood(&centres, &validation, d, s)).collect();
        let best = (0..sigmas.len()).fold(0, |b, i| if lls[i] > lls[b] { i } else { b });
        assert_eq!(p.sigma, sigmas[best]);
        assert!(best != 0 && best != sigmas.len() - 1, "an interior optimum: {lls:?}");
        let per: Vec<f64> = test.chunks_exact(d).map(|q| parzen_direct(&centres, q, d, p.sigma)).collect();
        let mean = per.iter().sum::<f64>() / 40.0;
        let std = (per.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / 40.0).sqrt();
        assert!((p.log_likelihood - mean).abs() < 1e-9 * mean.abs().max(1.0), "{p:?} vs {mean}");
        assert!((p.std_err - std / 40f64.sqrt()).abs() < 1e-9, "{p:?} vs {std}");
    }

    #[test]
    fn degenerate_shapes_do_not_panic() {
        let _ = symmetric_eigen(&[], 0);
        let _ = kid(&[1.0, 2.0], &[3.0], 1, 5, 10, 0);
        let _ = kid(&[], &[], 0, 5, 10, 0);
        assert!(inception_score(&[], 10).is_nan());
        assert_eq!(class_histogram(&[], 0), Vec::<usize>::new());
        assert!(parzen_select(&[0.0; 4], &[0.0; 2], &[0.0; 2], 2, &[]).sigma.is_nan());
        let p = parzen_select(&[], &[0.0; 2], &[0.0; 2], 2, &[1.0]);
        assert_eq!(p.log_likelihood, f64::NEG_INFINITY);
    }
}
