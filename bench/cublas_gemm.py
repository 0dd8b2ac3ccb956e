"""cuBLAS f32 (TF32 off) at the GEMM shapes `bench` prints, so nanogan's kernels can be quoted
as a fraction of it on the same GPU (issue 8 asks for within 2x at the GAN shapes):

    python3 bench/cublas_gemm.py      # needs PyTorch with CUDA

Each line: M x K . K x N, ms per product (median of 200 timed with CUDA events), GFLOP/s.
"""

import statistics

import torch

SHAPES = [
    ("x.W^T  batch 64", 64, 784, 1024),
    ("dy.W   batch 64", 64, 1024, 784),
    ("dy^T.x batch 64", 1024, 64, 784),
    ("x.W^T  batch 256", 256, 784, 1024),
    ("512^3", 512, 512, 512),
    ("2048^3", 2048, 2048, 2048),
]


def main():
    if not torch.cuda.is_available():
        print("cublas_gemm.py: no CUDA device")
        return
    torch.backends.cuda.matmul.allow_tf32 = False
    print(f"cuBLAS f32 on {torch.cuda.get_device_name()}, torch {torch.__version__}")
    for name, m, k, n in SHAPES:
        a = torch.randn(m, k, device="cuda")
        b = torch.randn(k, n, device="cuda")
        for _ in range(20):
            torch.mm(a, b)
        times = []
        for _ in range(200):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            torch.mm(a, b)
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
        ms = statistics.median(times)
        print(f"{name:18s} {m}x{k} . {k}x{n}  {ms:8.4f} ms  {2 * m * k * n / ms / 1e6:9.1f} GFLOP/s")


if __name__ == "__main__":
    main()
