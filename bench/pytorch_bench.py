"""Times the PyTorch twin's training iteration (reference/twin.py: the same models, init,
losses, Adam and iteration as nanogan's alternating schedule) on the CPU or on CUDA, and prints
one line per case that bench/vs_pytorch.sh reads:

    pytorch cuda-graph mlp lsgan b64: 0.812 ms/iteration (median of 5 runs of 200; 0.80-0.83) ...

--graph captures the whole iteration (both steps, both Adam updates) in one CUDA graph and
replays it: PyTorch's equivalent of nanogan's recorded command buffer, and the fair ceiling.
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))

import torch  # noqa: E402

import twin  # noqa: E402


def case(model, loss, batch, device, graph, iters, runs):
    g, d = twin.models(model, twin.PRESETS[model])
    g, d = g.to(device), d.to(device)
    # capturable keeps Adam's step count on the device, which CUDA graphs need.
    opt_g = torch.optim.Adam(g.parameters(), lr=twin.LR, betas=twin.BETAS, eps=twin.EPS, capturable=graph)
    opt_d = torch.optim.Adam(d.parameters(), lr=twin.LR, betas=twin.BETAS, eps=twin.EPS, capturable=graph)
    gen = torch.Generator().manual_seed(0)
    shape = (batch, 1, 28, 28) if model == "dcgan" else (batch, 784)
    x = (torch.rand(shape, generator=gen) * 2 - 1).to(device)
    zd = torch.randn(batch, twin.Z, generator=gen).to(device)
    zg = torch.randn(batch, twin.Z, generator=gen).to(device)
    terms = twin.terms(loss, 0.0, 1.0, 1.0)

    def step():
        twin.iteration(g, d, opt_g, opt_d, x, zd, zg, *terms)

    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    if graph:
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                step()
        torch.cuda.current_stream().wait_stream(side)
        captured = torch.cuda.CUDAGraph()
        with torch.cuda.graph(captured):
            step()
        step = captured.replay  # noqa: F811
    for _ in range(3):
        step()
    sync()
    ms = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for _ in range(iters):
            step()
        sync()
        ms.append((time.perf_counter() - t0) / iters * 1e3)
    where = torch.cuda.get_device_name() if device == "cuda" else f"{torch.get_num_threads()} CPU threads"
    kind = f"{device}-graph" if graph else device
    print(
        f"pytorch {kind} {model} {loss} b{batch}: {statistics.median(ms):.3f} ms/iteration "
        f"(median of {runs} runs of {iters}; {min(ms):.3f}-{max(ms):.3f}) torch {torch.__version__}, {where}",
        flush=True,
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=list(twin.PRESETS), default="mlp")
    ap.add_argument("--loss", choices=["lsgan", "bgan", "gan"], default="lsgan")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--graph", action="store_true", help="capture the iteration in one CUDA graph")
    ap.add_argument("--iters", type=int, default=20, help="iterations per run")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: all cores)")
    args = ap.parse_args()
    if args.graph and args.device != "cuda":
        ap.error("--graph needs --device cuda")
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("error: --device cuda, but torch sees no CUDA device")
    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    case(args.model, args.loss, args.batch, args.device, args.graph, args.iters, args.runs)


if __name__ == "__main__":
    main()
