"""The PyTorch twin of nanogan's trainer, and the golden dumps the Rust test compares against.

    venv/bin/python reference/twin.py            # writes tests/golden/*.safetensors
    venv/bin/python reference/twin.py --bench    # PyTorch steps/s at batch 64 on this CPU

The twin builds nanogan's two model pairs (src/gan/presets.rs) as torch nn.Sequential models named
`generator` / `discriminator`, so state_dict keys are nanogan's checkpoint names; it starts them
from nanogan's own initial weights (reference/philox.py reproduces `InitRng`) and runs nanogan's
iteration (src/gan/train.rs) with torch.optim.Adam, on inputs stored in tests/golden/inputs.safetensors.
See reference/README.md for what each dump holds.
"""

import argparse
import gzip
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import philox  # noqa: E402
from stable_safetensors import save_file  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN = os.path.join(ROOT, "tests", "golden")
DIGITS = os.path.join(ROOT, "data", "digits", "train-images-idx3-ubyte.gz")

Z, BATCH, SEED, ITERS = 100, 16, 42, 2
LR, BETAS, EPS = 2e-4, (0.5, 0.999), 1e-8
INPUT_SEED = 1234
# Tensors with more than SMALL values are stored as SAMPLE values at indices
# ⌊j·(n−1)/(SAMPLE−1)⌋, j = 0..SAMPLE (first and last included), plus [Σx, Σ|x|, √Σx²].
SMALL, SAMPLE = 4096, 512
D_SEED_XOR = 0xD15C_0000_0000
# Elements whose gradient is this small against their layer's largest are patched (put_patch).
PATCH = 5e-5

# (file stem, nanogan loss name, a, b, c)
LOSSES = [
    ("lsgan", "lsgan", 0.0, 1.0, 1.0),
    ("lsgan_a-1_b1_c0", "lsgan", -1.0, 1.0, 0.0),
    ("bgan", "bgan", 0.0, 1.0, 1.0),
    ("gan", "gan", 0.0, 1.0, 1.0),
]
PRESETS = {"mlp": "torch", "dcgan": "dcgan"}  # preset -> nanogan's default init


def generator(preset):
    lrelu = lambda: nn.LeakyReLU(0.2)  # noqa: E731
    if preset == "mlp":
        layers = [
            nn.Linear(Z, 128), lrelu(),
            nn.Linear(128, 256), nn.BatchNorm1d(256), lrelu(),
            nn.Linear(256, 512), nn.BatchNorm1d(512), lrelu(),
            nn.Linear(512, 1024), nn.BatchNorm1d(1024), lrelu(),
            nn.Linear(1024, 784), nn.Tanh(),
        ]
    else:
        layers = [
            nn.Linear(Z, 128 * 7 * 7), nn.BatchNorm1d(128 * 7 * 7), nn.ReLU(),
            nn.Unflatten(1, (128, 7, 7)),
            nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.ReLU(),
            nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Tanh(),
        ]
    return nn.Sequential(*layers)


def discriminator(preset):
    lrelu = lambda: nn.LeakyReLU(0.2)  # noqa: E731
    if preset == "mlp":  # takes (N, 784), as nanogan's
        return nn.Sequential(nn.Linear(784, 512), lrelu(), nn.Linear(512, 256), lrelu(), nn.Linear(256, 1))
    return nn.Sequential(
        nn.Conv2d(1, 64, 4, 2, 1), lrelu(),
        nn.Conv2d(64, 128, 4, 2, 1), nn.BatchNorm2d(128), lrelu(),
        nn.Flatten(),
        nn.Linear(128 * 7 * 7, 1),
    )


@torch.no_grad()
def init_like_nanogan(model, init, seed):
    """Overwrites every parameter with nanogan's draws, layer by layer in order (src/nn/init.rs)."""
    rng = philox.InitRng(seed)
    for m in model:
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            if isinstance(m, nn.Linear):
                fan_in = m.in_features
            elif isinstance(m, nn.Conv2d):
                fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
            else:  # PyTorch takes fan_in from weight dim 1, which is C_out for a transposed conv
                fan_in = m.weight.shape[1] * m.kernel_size[0] * m.kernel_size[1]
            w, b = philox.weight_and_bias(init, rng, m.weight.numel(), m.bias.numel(), fan_in)
            m.weight.copy_(torch.from_numpy(w).view_as(m.weight))
            m.bias.copy_(torch.from_numpy(b))
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            g, b = philox.batch_norm(init, rng, m.num_features)
            m.weight.copy_(torch.from_numpy(g))
            m.bias.copy_(torch.from_numpy(b))
            # eps 1e-5 and momentum 0.1 are torch's defaults, as nanogan's BatchNorm.
            assert m.eps == 1e-5 and m.momentum == 0.1
    return model


def models(preset, init, seed=SEED):
    g = init_like_nanogan(generator(preset), init, seed)
    d = init_like_nanogan(discriminator(preset), init, seed ^ D_SEED_XOR)
    return g, d


def term(kind, y, c):
    """One loss term over D's logits y (N, 1): src/gan/loss.rs / wgsl/loss.wgsl."""
    if kind == "ls":  # ½·mean((y − c)²)
        return 0.5 * ((y - c) ** 2).mean()
    return F.binary_cross_entropy_with_logits(y, torch.full_like(y, c))  # mean BCE(σ(y), c)


def terms(loss, a, b, c):
    """(D's term on real data, D's term on fakes, G's term): `GanLoss::d_terms` and `g_term` in src/gan/config.rs."""
    if loss == "lsgan":
        return ("ls", b), ("ls", a), ("ls", c)
    if loss == "bgan":
        return ("bce", 1.0), ("bce", 0.0), ("ls", 0.0)
    return ("bce", 1.0), ("bce", 0.0), ("bce", 1.0)


def iteration(g, d, opt_g, opt_d, x_real, z_d, z_g, t_real, t_fake, t_gen):
    """One nanogan iteration (src/gan/train.rs): a D step, then a G step through D frozen.
    Both models stay in train mode throughout, so every forward updates BN running stats."""
    # D step: G forward (train mode) on z_d, D on real, then on fake; one Adam step on D.
    opt_d.zero_grad(set_to_none=False)
    with torch.no_grad():
        x_fake = g(z_d)
    y_real = d(x_real)
    l_real = term(t_real[0], y_real, t_real[1])
    l_real.backward()
    y_fake = d(x_fake)
    l_fake = term(t_fake[0], y_fake, t_fake[1])
    l_fake.backward()
    opt_d.step()
    # G step: D's parameters frozen (input gradient only), D still in train mode.
    opt_g.zero_grad(set_to_none=False)
    for p in d.parameters():
        p.requires_grad_(False)
    y_gen = d(g(z_g))
    l_gen = term(t_gen[0], y_gen, t_gen[1])
    l_gen.backward()
    opt_g.step()
    for p in d.parameters():
        p.requires_grad_(True)
    return {
        "d_loss": (l_real + l_fake).detach(),
        "g_loss": l_gen.detach(),
        "y_real": y_real.detach(),
        "y_fake": y_fake.detach(),
        "y_gen": y_gen.detach(),
        "x_fake": x_fake.detach().reshape(x_fake.shape[0], -1),
    }


def adam(model):
    return torch.optim.Adam(model.parameters(), lr=LR, betas=BETAS, eps=EPS)


def sample_indices(n):
    j = np.arange(SAMPLE, dtype=np.uint64)
    return (j * np.uint64(n - 1)) // np.uint64(SAMPLE - 1)


def put(out, key, x):
    """Stores x whole if small, else a fixed sample plus [Σx, Σ|x|, √Σx²] (in f64, kept as f32)."""
    # A copy: state_dict tensors are live views that later steps update in place.
    x = np.array(x.detach().cpu().numpy() if torch.is_tensor(x) else x, dtype=np.float32, copy=True)
    if x.size <= SMALL:
        out[key] = x.reshape(x.shape if x.ndim else (1,))
        return
    flat = x.reshape(-1)
    x64 = flat.astype(np.float64)
    out[key + ".sample"] = flat[sample_indices(flat.size)].copy()
    out[key + ".stats"] = np.array([x64.sum(), np.abs(x64).sum(), np.sqrt((x64 * x64).sum())], np.float32)


def put_state(out, name, model, opt):
    """Parameters, BN running stats and Adam moments under nanogan's checkpoint names."""
    sd = model.state_dict()
    params = dict(model.named_parameters())
    for k, v in sd.items():
        if k.endswith("num_batches_tracked"):
            continue
        full = f"{name}.{k}"
        put(out, full, v)
        if k in params:
            st = opt.state[params[k]]
            put(out, f"optim.{full}.exp_avg", st["exp_avg"])
            put(out, f"optim.{full}.exp_avg_sq", st["exp_avg_sq"])


def put_patch(out, prefix, name, model, opt):
    """The weights whose step was not determined by f32 arithmetic, with their PyTorch values.

    Adam's first step moves a weight by ≈ lr·sign(g). Where g is within rounding noise of zero,
    nanogan and PyTorch may step opposite ways, 2·lr apart, and two such weights in a GAN are
    enough to move the next iteration's gradients by ~1%. So after each iteration but the last,
    the Rust test checks nanogan's state, then writes these PyTorch values over nanogan's: the
    elements with |exp_avg| ≤ PATCH·(the largest |exp_avg| in their layer). Biases right before
    a BatchNorm are left out: their true gradient is exactly 0 and the BatchNorm removes them in
    training, so their noise-driven steps change nothing but the running mean (the test allows
    for that)."""
    params = list(model.named_parameters())
    scale = {}
    for k, p in params:
        layer = k.rsplit(".", 1)[0]
        scale[layer] = max(scale.get(layer, 0.0), float(opt.state[p]["exp_avg"].abs().max()))
    for k, p in params:
        layer, kind = k.rsplit(".", 1)
        nxt = int(layer) + 1
        if kind == "bias" and nxt < len(model) and isinstance(model[nxt], (nn.BatchNorm1d, nn.BatchNorm2d)):
            continue
        m = opt.state[p]["exp_avg"].reshape(-1)
        idx = torch.nonzero(m.abs() <= PATCH * scale[layer]).reshape(-1)
        if idx.numel() == 0:
            continue
        assert idx.max() < 1 << 24  # exact as f32
        key = f"{prefix}/{name}.{k}"
        out[key + ".index"] = idx.numpy().astype(np.float32)
        out[key + ".value"] = p.detach().reshape(-1)[idx].numpy().copy()


def load_inputs():
    """x_real: images 16·i .. 16·i+16 of the bundled digits for iteration i, b/255·2−1;
    z_d, z_g: torch.randn under torch.manual_seed(INPUT_SEED)."""
    with gzip.open(DIGITS, "rb") as f:
        raw = f.read()
    magic, n, h, w = np.frombuffer(raw[:16], dtype=">u4")
    assert magic == 0x803 and (h, w) == (28, 28), (hex(magic), h, w)
    pixels = np.frombuffer(raw[16:], dtype=np.uint8)[: ITERS * BATCH * 784].reshape(ITERS, BATCH, 784)
    x_real = torch.from_numpy(pixels.astype(np.float32)) / 255.0 * 2.0 - 1.0
    gen = torch.Generator().manual_seed(INPUT_SEED)
    z = torch.randn(ITERS, 2, BATCH, Z, generator=gen, dtype=torch.float32)
    return x_real, z[:, 0].contiguous(), z[:, 1].contiguous()


def config_text(preset, loss, a, b, c):
    """nanogan's `Config::to_text` form, so the Rust test reads it with `Config::from_text`."""
    return (
        f"model={preset} loss={loss} a={a:g} b={b:g} c={c:g} z={Z} batch={BATCH} lr_d={LR:g} lr_g={LR:g} "
        f"beta1={BETAS[0]:g} beta2={BETAS[1]:g} eps={EPS:g} d_steps=1 seed={SEED} init={PRESETS[preset]} log_every=10"
    )


def run(preset, stem, loss, a, b, c, inputs, bn_momentum=None):
    x_real, z_d, z_g = inputs
    g, d = models(preset, PRESETS[preset])
    if bn_momentum is not None:  # only for the sensitivity check in README.md
        for m in list(g) + list(d):
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.momentum = bn_momentum
    g.train(), d.train()
    opt_g, opt_d = adam(g), adam(d)
    t_real, t_fake, t_gen = terms(loss, a, b, c)
    out = {}
    for name, model in (("generator", g), ("discriminator", d)):
        for k, v in model.state_dict().items():
            if not k.endswith("num_batches_tracked"):
                put(out, f"init/{name}.{k}", v)
    d_losses, g_losses = [], []
    for i in range(ITERS):
        xr = x_real[i].reshape(BATCH, 1, 28, 28) if preset == "dcgan" else x_real[i]
        r = iteration(g, d, opt_g, opt_d, xr, z_d[i], z_g[i], t_real, t_fake, t_gen)
        d_losses.append(float(r["d_loss"]))
        g_losses.append(float(r["g_loss"]))
        for k in ("y_real", "y_fake", "y_gen", "x_fake"):
            put(out, f"iter{i + 1}/{k}", r[k])
        state = {}
        put_state(state, "generator", g, opt_g)
        put_state(state, "discriminator", d, opt_d)
        for k, v in state.items():
            out[f"iter{i + 1}/{k}"] = v
        if i + 1 < ITERS:
            put_patch(out, f"patch{i + 1}", "generator", g, opt_g)
            put_patch(out, f"patch{i + 1}", "discriminator", d, opt_d)
    out["losses"] = np.array([d_losses, g_losses], np.float32).T.copy()  # (iteration, [D, G])
    meta = {
        "config": config_text(preset, loss, a, b, c),
        "preset": preset, "loss": loss, "a": f"{a:g}", "b": f"{b:g}", "c": f"{c:g}",
        "batch": str(BATCH), "z": str(Z), "seed": str(SEED), "init": PRESETS[preset],
        "lr": f"{LR:g}", "betas": f"{BETAS[0]:g},{BETAS[1]:g}", "eps": f"{EPS:g}", "iterations": str(ITERS),
        "inputs": "inputs.safetensors", "input_seed": str(INPUT_SEED),
        "sample": f"tensors over {SMALL} values: {SAMPLE} values at floor(j*(n-1)/{SAMPLE - 1}) + [sum, sum|x|, l2]",
        "patch": f"{PATCH:g}",
        "torch": torch.__version__,
    }
    return out, meta


def dump(out_dir, bn_momentum=None):
    os.makedirs(out_dir, exist_ok=True)
    inputs = load_inputs()
    x_real, z_d, z_g = inputs
    save_file(
        {"x_real": x_real.numpy(), "z_d": z_d.numpy(), "z_g": z_g.numpy()},
        os.path.join(out_dir, "inputs.safetensors"),
        dtype="<f4",
        metadata={"x_real": f"bundled digits {ITERS}x{BATCH} images, b/255*2-1", "z": f"torch.randn seed {INPUT_SEED}"},
    )
    for preset in PRESETS:
        for stem, loss, a, b, c in LOSSES:
            t0 = time.time()
            out, meta = run(preset, stem, loss, a, b, c, inputs, bn_momentum)
            path = os.path.join(out_dir, f"{preset}_{stem}.safetensors")
            save_file(out, path, metadata=meta, dtype="<f4")
            print(f"{path}: {len(out)} tensors, {os.path.getsize(path) / 1024:.0f} KiB, "
                  f"losses {out['losses'].tolist()} ({time.time() - t0:.1f}s)")


def spread(preset, stem="lsgan"):
    """How far PyTorch's own f32 run is from its f64 run, per tensor, over the dumped iterations:
    the scale of f32 rounding that the Rust test's tolerances have to admit."""
    _, loss, a, b, c = next(entry for entry in LOSSES if entry[0] == stem)
    x_real, z_d, z_g = load_inputs()
    runs = []
    for dtype in (torch.float32, torch.float64):
        g, d = models(preset, PRESETS[preset])
        g, d = g.to(dtype), d.to(dtype)
        opt_g, opt_d = adam(g), adam(d)
        snaps = []
        for i in range(ITERS):
            xr = x_real[i].reshape(BATCH, 1, 28, 28) if preset == "dcgan" else x_real[i]
            r = iteration(g, d, opt_g, opt_d, xr.to(dtype), z_d[i].to(dtype), z_g[i].to(dtype), *terms(loss, a, b, c))
            snap = {k: v.double().clone() for k, v in r.items()}
            for name, model, opt in (("generator", g, opt_g), ("discriminator", d, opt_d)):
                for k, p in model.named_parameters():
                    snap[f"{name}.{k}"] = p.detach().double().clone()
                    snap[f"optim.{name}.{k}.exp_avg"] = opt.state[p]["exp_avg"].double().clone()
            snaps.append(snap)
        runs.append(snaps)
    print(f"{preset} {stem}: max |f32 − f64| / max |f64| per tensor")
    for i in range(ITERS):
        for k, y in runs[1][i].items():
            d = (runs[0][i][k] - y).abs().max().item() / max(y.abs().max().item(), 1e-30)
            print(f"  iter {i + 1} {k:45s} {d:.1e}")


def bench(batch=64, steps=20, runs=5):
    """Median training iterations/s (one D step + one G step) of the twin at `batch`."""
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {batch}, "
          f"median of {runs} runs of {steps} iterations")
    results = {}
    for preset in PRESETS:
        g, d = models(preset, PRESETS[preset])
        opt_g, opt_d = adam(g), adam(d)
        t = terms("lsgan", 0.0, 1.0, 1.0)
        gen = torch.Generator().manual_seed(0)
        shape = (batch, 1, 28, 28) if preset == "dcgan" else (batch, 784)
        x = torch.rand(shape, generator=gen) * 2 - 1
        zd, zg = torch.randn(batch, Z, generator=gen), torch.randn(batch, Z, generator=gen)
        for _ in range(3):  # warm-up
            iteration(g, d, opt_g, opt_d, x, zd, zg, *t)
        rates = []
        for _ in range(runs):
            t0 = time.perf_counter()
            for _ in range(steps):
                iteration(g, d, opt_g, opt_d, x, zd, zg, *t)
            rates.append(steps / (time.perf_counter() - t0))
        results[preset] = statistics.median(rates)
        print(f"{preset:6} median {results[preset]:6.2f} steps/s, best {max(rates):6.2f}  "
              f"(runs: {', '.join(f'{r:.2f}' for r in rates)})")
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=GOLDEN, help="directory for the dumps (default tests/golden)")
    ap.add_argument("--bench", action="store_true", help="time the twin at batch 64 instead of dumping")
    ap.add_argument("--spread", metavar="PRESET", choices=list(PRESETS),
                    help="print PyTorch's own f32-vs-f64 differences (what the tolerances must admit)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (dumps default to 1)")
    ap.add_argument("--bn-momentum", type=float, default=None,
                    help="deliberately wrong BN momentum, to see the Rust test fail (never for tests/golden)")
    args = ap.parse_args()
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)
    if args.bench:
        if args.threads:
            torch.set_num_threads(args.threads)
        bench()
        return
    torch.set_num_threads(args.threads or 1)
    if args.spread:
        spread(args.spread)
        return
    if args.bn_momentum is not None and os.path.abspath(args.out) == os.path.abspath(GOLDEN):
        sys.exit("--bn-momentum writes broken dumps: give --out a scratch directory")
    dump(args.out, args.bn_momentum)


if __name__ == "__main__":
    main()
