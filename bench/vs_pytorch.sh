#!/usr/bin/env bash
# nanogan against its PyTorch twin (reference/), same models, losses, batch and optimiser, on
# this machine: alternating A (nanogan's `bench --e2e`, its iteration timed after warm-up) and B
# (bench/pytorch_bench.py) ROUNDS times, then each case's median ms/iteration and the median of
# the per-round ratios. PyTorch runs on the CPU with all cores, and, where `nvidia-smi` finds a
# GPU, on CUDA eagerly and with the whole iteration in one CUDA graph (nanogan then runs through
# Vulkan on the same GPU: set NANOGAN_ADAPTER if it picks another adapter). Not run by CI.
#
#     bash bench/vs_pytorch.sh [ROUNDS] [CASE ...]     # CASE: "mlp lsgan b64" (default: mlp and dcgan lsgan b64)
#
# Installs what it needs: a venv in venv/ with torch 2.15.0 (about 4 GB with its CUDA libraries).
# On a machine with PyTorch but no Rust (bench/device.sh): NANOGAN_BENCH=path/to/bench names a
# prebuilt `bench` and PYTHON=python3 a Python that has torch; then nothing is built or installed.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
shift || true
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=("mlp lsgan b64" "dcgan lsgan b64")

python=${PYTHON:-venv/bin/python}
if ! "$python" -c "import torch" 2>/dev/null; then
    [ -n "${PYTHON:-}" ] && { echo "$PYTHON cannot import torch" >&2; exit 1; }
    echo "installing PyTorch into venv/ (torch==2.15.0, numpy, safetensors; about 4 GB) ..."
    python3 -m venv venv
    venv/bin/pip install -q torch==2.15.0 numpy safetensors
fi
bench=${NANOGAN_BENCH:-}
if [ -z "$bench" ]; then
    cargo build --release --example bench -q
    bench=target/release/examples/bench
fi

devices=(cpu)
if command -v nvidia-smi >/dev/null && "$python" -c "import torch,sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    devices+=(cuda cuda-graph)
fi

median() { sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for c in "${cases[@]}"; do
    read -r model loss b <<<"$c"
    batch=${b#b}
    for round in $(seq "$rounds"); do
        a=$("$bench" --e2e --quick "train $model $loss b$batch" 2>/dev/null | awk -v n="train $model $loss b$batch" '$0 ~ "^"n" " {print $5; exit}')
        line="$c round $round: nanogan $a ms"
        echo "$a" >>"$tmp/nanogan-$model-$loss-$batch"
        for dev in "${devices[@]}"; do
            flags=(--device "${dev%-graph}")
            [ "$dev" = cuda-graph ] && flags+=(--graph --iters 200)
            [ "$dev" = cuda ] && flags+=(--iters 100)
            p=$("$python" bench/pytorch_bench.py --model "$model" --loss "$loss" --batch "$batch" "${flags[@]}" |
                awk '{for (i = 1; i <= NF; i++) if ($i == "ms/iteration") {print $(i-1); exit}}')
            echo "$p" >>"$tmp/$dev-$model-$loss-$batch"
            echo "$p $a" | awk '{print $1 / $2}' >>"$tmp/ratio-$dev-$model-$loss-$batch"
            line="$line, pytorch $dev $p ms"
        done
        echo "$line"
    done
    adapter=$("$bench" --e2e --quick "no such case" 2>/dev/null | awk -F': ' '/^adapter/ {print $2; exit}' | sed 's/ (per-kernel.*\| (no timestamps)//')
    echo "== $c, median of $rounds rounds: nanogan $(median <"$tmp/nanogan-$model-$loss-$batch") ms/iteration on $adapter"
    for dev in "${devices[@]}"; do
        echo "   pytorch $dev $(median <"$tmp/$dev-$model-$loss-$batch") ms/iteration;" \
            "pytorch/nanogan time ratio $(median <"$tmp/ratio-$dev-$model-$loss-$batch") (median of per-round ratios; > 1: nanogan faster)"
    done
done
