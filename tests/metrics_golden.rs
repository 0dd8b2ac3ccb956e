//! Golden test: the metrics' f64 arithmetic (`nanogan::metrics::stats`) against NumPy/SciPy.
//!
//! `reference/metrics.py` computes FID the pytorch-fid way (np.cov, scipy.linalg.sqrtm of Σa·Σb),
//! KID's unbiased MMD² on whole sets, IS, the argmax histogram, and the Parzen-window
//! log-likelihood with scipy.special.logsumexp, on fixed inputs from a seeded numpy Generator, and
//! writes inputs and results to tests/golden/metrics.safetensors (f64). Neither Python nor NumPy is
//! needed here; regenerate the file with `python reference/metrics.py` (its docstring says how).
//!
//! Tolerances are relative to the expected value (or to the tensor's largest |value|, for
//! entries near zero). Both sides compute in f64 but by different algorithms (Jacobi against
//! LAPACK's eigh and SciPy's Schur-based sqrtm, different summation orders), so agreement is to
//! ~1e-12, far inside the 1e-9 allowed (FID's 1e-7 covers sqrtm of a non-symmetric product).

use nanogan::metrics::stats;
use std::path::PathBuf;

struct Golden {
    bytes: Vec<u8>,
}

impl Golden {
    fn load() -> Golden {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/metrics.safetensors");
        let bytes =
            std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (see reference/metrics.py)", path.display()));
        Golden { bytes }
    }

    /// A tensor's values and shape.
    fn get(&self, name: &str) -> (Vec<f64>, Vec<usize>) {
        let st = safetensors::SafeTensors::deserialize(&self.bytes).unwrap();
        let t = st.tensor(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(t.dtype(), safetensors::Dtype::F64, "{name}");
        let values = t.data().chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().unwrap())).collect();
        (values, t.shape().to_vec())
    }

    fn values(&self, name: &str) -> Vec<f64> {
        self.get(name).0
    }

    fn scalar(&self, name: &str) -> f64 {
        let v = self.values(name);
        assert_eq!(v.len(), 1, "{name}");
        v[0]
    }

    /// A matrix's values and its column count.
    fn matrix(&self, name: &str) -> (Vec<f64>, usize) {
        let (values, shape) = self.get(name);
        assert_eq!(shape.len(), 2, "{name}: {shape:?}");
        (values, shape[1])
    }
}

/// Collects each check's worst relative difference and fails at the end, listing them all.
#[derive(Default)]
struct Report {
    lines: Vec<String>,
    failed: bool,
}

impl Report {
    /// |got − want| ≤ rtol · max(|want|, floor) elementwise, with floor = `floor_of_scale` × the
    /// largest |want| (so entries near zero are judged on their tensor's scale).
    fn check(&mut self, what: &str, got: &[f64], want: &[f64], rtol: f64, floor_of_scale: f64) {
        assert_eq!(got.len(), want.len(), "{what}: length");
        let scale = want.iter().fold(0.0f64, |m, w| m.max(w.abs()));
        let mut worst = 0.0f64;
        for (g, w) in got.iter().zip(want) {
            let rel = (g - w).abs() / w.abs().max(floor_of_scale * scale).max(f64::MIN_POSITIVE);
            // NaN must fail: f64::max would drop it.
            worst = if rel.is_nan() { f64::INFINITY } else { worst.max(rel) };
        }
        let ok = worst <= rtol;
        self.failed |= !ok;
        self.lines.push(format!(
            "{what:24} worst rel diff {worst:.2e}  (allowed {rtol:.0e}){}",
            if ok { "" } else { "  FAIL" }
        ));
    }

    /// |got − want| ≤ atol, for values whose expected value is 0 up to rounding.
    fn check_abs(&mut self, what: &str, got: f64, want: f64, atol: f64) {
        let diff = (got - want).abs();
        let ok = diff <= atol;
        self.failed |= !ok;
        self.lines.push(format!(
            "{what:24} abs diff      {diff:.2e}  (allowed {atol:.0e}){}",
            if ok { "" } else { "  FAIL" }
        ));
    }

    fn finish(self) {
        for line in &self.lines {
            println!("{line}");
        }
        assert!(!self.failed, "golden mismatch:\n{}", self.lines.join("\n"));
    }
}

const RTOL: f64 = 1e-9;

#[test]
fn gaussian_fit_eigen_sqrtm_and_fid_match_numpy_scipy() {
    let g = Golden::load();
    let mut r = Report::default();
    let (a, d) = g.matrix("a");
    let (b, db) = g.matrix("b");
    assert_eq!(d, db);
    let ga = stats::gaussian_fit(&a, d);
    let gb = stats::gaussian_fit(&b, d);
    r.check("a mean", &ga.mean, &g.values("a.mean"), RTOL, 1e-3);
    r.check("a cov", &ga.cov, &g.values("a.cov"), RTOL, 1e-3);
    r.check("b mean", &gb.mean, &g.values("b.mean"), RTOL, 1e-3);
    r.check("b cov", &gb.cov, &g.values("b.cov"), RTOL, 1e-3);
    // Expected values from NumPy's own covariance, so eigen and sqrtm are judged on their own.
    let cov = g.values("a.cov");
    let (eigenvalues, _) = stats::symmetric_eigen(&cov, d);
    r.check("eigenvalues (eigh)", &eigenvalues, &g.values("a.cov.eigenvalues"), RTOL, 1e-3);
    r.check("sqrtm (scipy)", &stats::sqrtm_psd(&cov, d), &g.values("a.cov.sqrtm"), RTOL, 1e-3);
    r.check("fid", &[stats::frechet_distance(&ga, &gb)], &[g.scalar("fid")], 1e-7, 0.0);
    // FID of a set with itself is 0 up to rounding on both sides, judged on the scale of tr Σa.
    let trace: f64 = (0..d).map(|i| cov[i * d + i]).sum();
    let itself = stats::frechet_distance(&ga, &ga);
    r.check_abs("fid(a, a) / tr Σa", itself / trace, g.scalar("fid.self") / trace, 1e-12);
    r.finish();
}

#[test]
fn kid_matches_numpy() {
    let g = Golden::load();
    let mut r = Report::default();
    let (a, d) = g.matrix("a");
    let (b, _) = g.matrix("b");
    r.check("mmd2 (300 vs 250)", &[stats::mmd2_unbiased(&a, &b, d)], &[g.scalar("kid.mmd2")], RTOL, 0.0);
    // Equal sizes and a subset size of every row: each subset is the whole set, whatever the
    // seed, so kid() is deterministic and its spread 0.
    let a250 = &a[..b.len()];
    let kid = stats::kid(a250, &b, d, 3, 1000, 7);
    assert_eq!((kid.subsets, kid.subset_size), (3, b.len() / d));
    r.check("kid (250 vs 250)", &[kid.mean], &[g.scalar("kid.mmd2_equal")], RTOL, 0.0);
    r.check_abs("kid std / mean", kid.std / kid.mean, 0.0, 1e-12);
    r.finish();
}

#[test]
fn inception_score_histogram_and_modes_match_numpy() {
    let g = Golden::load();
    let mut r = Report::default();
    let (probs, classes) = g.matrix("probs");
    r.check("inception score", &[stats::inception_score(&probs, classes)], &[g.scalar("inception_score")], RTOL, 0.0);
    let histogram = stats::class_histogram(&probs, classes);
    let want: Vec<usize> = g.values("histogram").iter().map(|&c| c as usize).collect();
    assert_eq!(histogram, want, "histogram");
    assert_eq!(stats::modes_covered(&histogram), g.scalar("modes") as usize, "modes of {histogram:?}");
    r.finish();
}

#[test]
fn parzen_matches_scipy_logsumexp() {
    let g = Golden::load();
    let mut r = Report::default();
    let (centres, d) = g.matrix("parzen.centres");
    let (validation, _) = g.matrix("parzen.validation");
    let (test, _) = g.matrix("parzen.test");
    let sigmas = g.values("parzen.sigmas");
    let lls: Vec<f64> = sigmas.iter().map(|&s| stats::parzen_log_likelihood(&centres, &validation, d, s)).collect();
    r.check("validation ll per sigma", &lls, &g.values("parzen.validation_ll"), RTOL, 0.0);
    let p = stats::parzen_select(&centres, &validation, &test, d, &sigmas);
    assert_eq!(p.sigma, g.scalar("parzen.sigma"), "chosen sigma");
    r.check("test ll", &[p.log_likelihood], &[g.scalar("parzen.test_ll")], RTOL, 0.0);
    r.check("test std err", &[p.std_err], &[g.scalar("parzen.test_std_err")], RTOL, 0.0);
    r.finish();
}
