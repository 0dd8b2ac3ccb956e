"""NumPy/SciPy reference values for nanogan's metric arithmetic (src/metrics/stats.rs).

    python3 -m venv /tmp/mvenv && /tmp/mvenv/bin/pip install numpy scipy safetensors
    /tmp/mvenv/bin/python reference/metrics.py        # writes tests/golden/metrics.safetensors
    cargo test --test metrics_golden -- --nocapture   # prints each check's worst relative diff

Builds fixed inputs from a seeded numpy Generator and computes each metric the way the
literature's reference code does:

- FID as pytorch-fid: np.cov of each set, then
  |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr(real(scipy.linalg.sqrtm(S_a S_b))).
- KID as torch-fidelity's unbiased MMD^2 with k(x, y) = (x.y/d + 1)^3, on whole sets rather than
  random subsets, so that it is deterministic: once for sets of different sizes (the general
  formula) and once for two sets of equal size (torch-fidelity's formula exactly).
- IS: exp(mean_x KL(p(y|x) || p(y))) over one split of every row; the argmax histogram and the
  classes holding a tenth of a fair share.
- Parzen-window log-likelihood as Goodfellow et al.'s parzen_ll.py: scipy.special.logsumexp of
  -|q - c|^2 / (2 sigma^2), minus ln N and (d/2) ln(2 pi sigma^2); the sigma of the grid that
  is best on the validation split, the test split's mean under it and its standard error
  (np.std / sqrt(n)).

Everything is float64 and written with its inputs, keys sorted and the header padded to 8
bytes, so the file is the same byte for byte on every run with the same numpy/scipy versions
(their versions are in the metadata).
"""

import os
import sys

import numpy as np
import scipy
import scipy.linalg
import scipy.special

from stable_safetensors import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "golden", "metrics.safetensors")
SEED = 20240611


def features(rng, n, d, shift, scale):
    """n Gaussian rows with mean `shift` and a random full covariance of size ~`scale`."""
    mix = rng.normal(size=(d, d)) * scale / np.sqrt(d) + np.eye(d) * 0.3
    return rng.normal(size=(n, d)) @ mix.T + shift


def fid(a, b):
    """pytorch-fid's calculate_frechet_distance, on the sets' np.cov."""
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s_a.dot(s_b))
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    diff = mu_a - mu_b
    return diff.dot(diff) + np.trace(s_a) + np.trace(s_b) - 2 * np.trace(covmean)


def poly_kernel(x, y):
    return (x @ y.T / x.shape[1] + 1) ** 3


def mmd2_unbiased(x, y):
    """Unbiased MMD^2 of whole sets of sizes m and n (torch-fidelity's mmd2 when m == n)."""
    m, n = len(x), len(y)
    k_xx, k_yy, k_xy = poly_kernel(x, x), poly_kernel(y, y), poly_kernel(x, y)
    xx = k_xx.sum() - np.trace(k_xx)
    yy = k_yy.sum() - np.trace(k_yy)
    return xx / (m * (m - 1)) + yy / (n * (n - 1)) - 2 * k_xy.sum() / (m * n)


def inception_score(p):
    py = p.mean(axis=0, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(p > 0, p * (np.log(p) - np.log(py)), 0.0).sum(axis=1)
    return np.exp(kl.mean())


def parzen_per_query(centres, queries, sigma):
    d = centres.shape[1]
    sq = ((queries[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    lse = scipy.special.logsumexp(-sq / (2 * sigma**2), axis=1)
    return lse - np.log(len(centres)) - d / 2 * np.log(2 * np.pi * sigma**2)


def main():
    rng = np.random.default_rng(SEED)
    d = 16
    a = features(rng, 300, d, rng.normal(size=d) * 0.5, 1.0)
    b = features(rng, 250, d, rng.normal(size=d) * 0.5 + 0.3, 1.5)
    logits = rng.normal(size=(200, 10)) * 2.5
    # Two rare classes, so that the mode count has one to miss.
    logits[:, 3] -= 3.0
    logits[:, 9] -= 6.0
    probs = scipy.special.softmax(logits, axis=1)
    centres = rng.uniform(size=(150, 20))
    validation = rng.uniform(size=(60, 20))
    test = rng.uniform(size=(70, 20))
    sigmas = np.logspace(-1, 0, 10)

    s_a = np.cov(a, rowvar=False)
    eigenvalues = np.linalg.eigh(s_a)[0]
    histogram = np.bincount(probs.argmax(axis=1), minlength=probs.shape[1])
    val_ll = np.array([parzen_per_query(centres, validation, s).mean() for s in sigmas])
    best = int(np.argmax(val_ll))
    test_ll = parzen_per_query(centres, test, sigmas[best])

    tensors = {
        # inputs
        "a": a,
        "b": b,
        "probs": probs,
        "parzen.centres": centres,
        "parzen.validation": validation,
        "parzen.test": test,
        "parzen.sigmas": sigmas,
        # expected
        "a.mean": a.mean(axis=0),
        "a.cov": s_a,
        "a.cov.eigenvalues": eigenvalues,
        "a.cov.sqrtm": scipy.linalg.sqrtm(s_a).real,
        "b.mean": b.mean(axis=0),
        "b.cov": np.cov(b, rowvar=False),
        "fid": np.array([fid(a, b)]),
        "fid.self": np.array([fid(a, a)]),
        "kid.mmd2": np.array([mmd2_unbiased(a, b)]),
        "kid.mmd2_equal": np.array([mmd2_unbiased(a[: len(b)], b)]),
        "inception_score": np.array([inception_score(probs)]),
        "histogram": histogram.astype(np.float64),
        "modes": np.array([float((histogram >= 0.1 * histogram.sum() / len(histogram)).sum())]),
        "parzen.validation_ll": val_ll,
        "parzen.sigma": np.array([sigmas[best]]),
        "parzen.test_ll": np.array([test_ll.mean()]),
        "parzen.test_std_err": np.array([test_ll.std() / np.sqrt(len(test_ll))]),
    }
    metadata = {
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "python": sys.version.split()[0],
        "seed": str(SEED),
        "command": "python reference/metrics.py",
    }
    save_file(tensors, OUT, metadata, dtype="<f8")
    print(f"wrote {OUT}")
    for key in ["fid", "fid.self", "kid.mmd2", "kid.mmd2_equal", "inception_score", "modes",
                "parzen.sigma", "parzen.test_ll", "parzen.test_std_err"]:
        print(f"  {key:22} {tensors[key][0]!r}")
    print(f"  {'histogram':22} {histogram.tolist()}")


if __name__ == "__main__":
    main()
