"""The merged schedule's optimiser question, asked of PyTorch: the mlp LSGAN (a=0, b=1, c=1) of
src/gan/presets.rs, batch 64, Adam 2e-4 (0.5, 0.999), on the bundled digits, trained with

    alt      nanogan's alternating schedule (a D step, then a G step with fresh noise through
             the updated D), plain Adam
    sim      the merged schedule: one fake batch, D's gradient from its own loss and G's through
             D before D's update, both applied at once; plain Adam
    simopt   the merged schedule with optimistic Adam (k = 1) on both models, nanogan's default
             for it: p -= 2 u_t - u_{t-1}, u_t being Adam's step (Daskalakis et al. 2018)
    altopt   the alternating schedule with optimistic Adam

and writes 2,000 samples of G (eval mode) per run as NPY, which nanogan's own metrics score:

    python3 -m venv venv && venv/bin/pip install torch numpy safetensors
    venv/bin/python reference/schedules.py --out /tmp/schedules alt sim simopt --seeds 1 2 3
    for f in /tmp/schedules/*.npy; do cargo run --release --example eval -- --npy $f; done

Each run is about 2 minutes of one CPU core (the runs are independent: start several at once).
PyTorch's own random streams drive batches and noise, so the runs are not nanogan's, only alike.
"""

import argparse
import gzip
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import twin  # noqa: E402

BATCH, Z, LR, BETAS, EPS = 64, 100, 2e-4, (0.5, 0.999), 1e-8


class OptimisticAdam:
    """torch.optim.Adam's step u_t, applied as (1 + k) u_t - k u_{t-1} (u_0 = 0); k = 0 is Adam."""

    def __init__(self, params, k):
        self.params, self.k, self.t = list(params), k, 0
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.u = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self):
        self.t += 1
        b1, b2 = BETAS
        for p, m, v, u in zip(self.params, self.m, self.v, self.u):
            m.mul_(b1).add_(p.grad, alpha=1 - b1)
            v.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
            step = (LR / (1 - b1**self.t)) * m / (v.sqrt() / (1 - b2**self.t) ** 0.5 + EPS)
            p.sub_((1 + self.k) * step - self.k * u)
            u.copy_(step)


def ls(y, c):
    return 0.5 * ((y - c) ** 2).mean()


def train(schedule, steps, seed, data):
    torch.manual_seed(seed)
    g, d = twin.models("mlp", "torch", seed)
    g.train(), d.train()
    k = 1.0 if schedule.endswith("opt") else 0.0
    opt_g, opt_d = OptimisticAdam(g.parameters(), k), OptimisticAdam(d.parameters(), k)
    for _ in range(steps):
        x = data[torch.randint(0, data.shape[0], (BATCH,))]
        z = torch.randn(BATCH, Z)
        opt_d.zero_grad(), opt_g.zero_grad()
        if schedule.startswith("alt"):
            with torch.no_grad():
                fake = g(z)
            (ls(d(x), 1.0) + ls(d(fake), 0.0)).backward()
            opt_d.step()
            d.requires_grad_(False)
            ls(d(g(torch.randn(BATCH, Z))), 1.0).backward()
            d.requires_grad_(True)
            opt_g.step()
        else:
            fake = g(z)
            d_grads = torch.autograd.grad(ls(d(x), 1.0) + ls(d(fake.detach()), 0.0), list(d.parameters()))
            d.requires_grad_(False)
            ls(d(fake), 1.0).backward()  # through D as it is before its update
            d.requires_grad_(True)
            for p, grad in zip(d.parameters(), d_grads):
                p.grad = grad
            opt_d.step(), opt_g.step()
    g.eval()
    with torch.no_grad():
        samples = g(torch.randn(2000, Z))
    return ((samples + 1) / 2).clamp(0, 1).reshape(2000, 28, 28).numpy().astype(np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("schedules", nargs="+", choices=["alt", "sim", "simopt", "altopt"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--out", default="runs/schedules")
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    with gzip.open(twin.DIGITS, "rb") as f:
        raw = f.read()
    pixels = np.frombuffer(raw[16:], dtype=np.uint8).reshape(-1, 784)
    data = torch.from_numpy(pixels.astype(np.float32)) / 255.0 * 2.0 - 1.0
    for seed in args.seeds:
        for schedule in args.schedules:
            start = time.time()
            path = os.path.join(args.out, f"{schedule}-seed{seed}.npy")
            np.save(path, train(schedule, args.steps, seed, data))
            print(f"{path}: {args.steps} iterations in {time.time() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
