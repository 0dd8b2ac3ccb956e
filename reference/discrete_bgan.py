"""Golden values for the discrete BGAN generator loss (Hjelm et al., ICLR 2018, algorithm 1),
written directly from the paper's formula with NumPy, independently of nanogan's rearranged
form (src/cpu/discrete.rs, wgsl/discrete.wgsl):

    w~[n, m] = exp(log w[n, m]) / sum_m' exp(log w[n, m']),   log w = D's logit = log D - log(1 - D)
    L        = -(1/N) sum_n sum_m w~[n, m] * log g(x[n, m] | z_n)
    log g    = sum_j x_j log sigmoid(l_j) + (1 - x_j) log(1 - sigmoid(l_j)),   x in {0, 1}

and dL/dl by central finite differences of L (the weights do not depend on l). Inputs are fixed
numbers from a seeded NumPy generator, rounded to f32 (what the GPU sees); outputs are f64.

The REINFORCE estimator (discrete_reinforce.safetensors, same inputs) replaces w~ by the reward
(D's logit) less its mean over the same z's M samples, over M; nanogan logs the samples' plain
mean negative log-likelihood for it ("logged": the same L with weights 1/M).

    python3 -m venv venv && venv/bin/pip install numpy
    venv/bin/python reference/discrete_bgan.py      # rewrites tests/golden/discrete_bgan.safetensors
"""

import os

import numpy as np

from stable_safetensors import save_file

N, P, M = 4, 10, 6
GOLDEN = os.path.join(os.path.dirname(__file__), "..", "tests", "golden")


def log_sigmoid(v):
    # log sigmoid(v) = -log(1 + e^-v), computed without overflow for either sign.
    return -np.logaddexp(0.0, -v)


def importance_weights(d_logits):
    return np.exp(d_logits - np.logaddexp.reduce(d_logits, axis=1, keepdims=True))


def reinforce_weights(d_logits):
    return (d_logits - d_logits.mean(axis=1, keepdims=True)) / d_logits.shape[1]


def generator_loss(logits, bits, w):
    """logits (N, P), bits (N, M, P) in {0, 1}, constant weights w (N, M)."""
    l = logits[:, None, :]
    log_g = np.sum(bits * log_sigmoid(l) + (1.0 - bits) * log_sigmoid(-l), axis=2)
    return -np.sum(w * log_g) / logits.shape[0]


def finite_difference(logits, bits, w):
    grad = np.zeros_like(logits)
    h = 1e-6
    for i in np.ndindex(logits.shape):
        up, down = logits.copy(), logits.copy()
        up[i] += h
        down[i] -= h
        grad[i] = (generator_loss(up, bits, w) - generator_loss(down, bits, w)) / (2 * h)
    return grad


def main():
    rng = np.random.default_rng(2018)
    logits = (rng.normal(0.0, 3.0, size=(N, P))).astype(np.float32).astype(np.float64)
    bits = (rng.random(size=(N, M, P)) < 0.4).astype(np.float64)
    d_logits = (rng.normal(0.0, 8.0, size=(N, M))).astype(np.float32).astype(np.float64)
    inputs = {
        # nanogan's layouts: samples as +-1 rows n*M + m, D's logits as (N*M, 1).
        "logits": logits.astype("<f4"),
        "samples": (2.0 * bits - 1.0).reshape(N * M, P).astype("<f4"),
        "d_logits": d_logits.reshape(N * M, 1).astype("<f4"),
    }
    uniform = np.full((N, M), 1.0 / M)
    for name, w, logged in [
        ("discrete_bgan", importance_weights(d_logits), None),
        ("discrete_reinforce", reinforce_weights(d_logits), uniform),
    ]:
        loss = generator_loss(logits, bits, w)
        tensors = dict(inputs)
        tensors["weights"] = w.reshape(N * M).astype("<f8")
        tensors["loss"] = np.array([loss], dtype="<f8")
        tensors["grad"] = finite_difference(logits, bits, w).astype("<f8")
        if logged is not None:
            tensors["logged"] = np.array([generator_loss(logits, bits, logged)], dtype="<f8")
        out = os.path.join(GOLDEN, name + ".safetensors")
        save_file(tensors, out, {"numpy": np.__version__, "shape": f"N={N} P={P} M={M}"})
        print(f"wrote {os.path.normpath(out)}: loss {loss:.12f}")


if __name__ == "__main__":
    main()
