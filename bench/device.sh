#!/usr/bin/env bash
# Every GPU measurement the open issues ask for, in one command, on a machine with an NVIDIA GPU,
# PyTorch with CUDA and no Rust (the H200 some sessions are lent for 15 minutes all told). Run
# bench/device_prepare.sh here first; it builds .devbin/ and fetches the Vulkan loader into .gl/.
# On the device, carrying both:
#
#     bash bench/device.sh             # about 8 minutes on an H200
#     QUICK=1 bash bench/device.sh     # the same stages, tiny: checks this script on any machine
#
# Stages, each under its own time limit so one cannot eat the others' time:
#   1. the adapter and `bench --e2e` (iterations and a per-kernel breakdown, every case);
#   2. `bench` (every kernel variant at the GAN shapes beside the naive GEMM) and cuBLAS f32 at
#      the same GEMM shapes (bench/cublas_gemm.py);
#   3. bench/vs_pytorch.sh: nanogan (Vulkan) and the PyTorch twin (CUDA eager, CUDA graph),
#      alternating, mlp and dcgan LSGAN at batch 64 and 256;
#   4. the page's pretrained generator: dcgan, standard GAN, EMA 0.999, STEPS iterations (20,000),
#      scored every 2,000; the best-scoring one is exported as f16 with its scores.
# Writes to $OUT (or out/device/): report.txt (everything printed), metrics.csv, samples.png and
# generator-f16.safetensors (copy it to web/pretrained/ and update the README rows).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-out/device}
mkdir -p "$out"
exec > >(tee "$out/report.txt") 2>&1
quick=${QUICK:-}
steps=${STEPS:-$([ -n "$quick" ] && echo 40 || echo 20000)}
bin=.devbin
[ -x "$bin/bench" ] || bin=target/release/examples # a machine with Rust: the usual build
start=$(date +%s)
stage() { echo; echo "== $1 ($(($(date +%s) - start)) s in)"; }

if ! ldconfig -p | grep -q 'libvulkan.so.1 '; then
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -e "$icd" ] && [ -z "${VK_DRIVER_FILES:-}" ] && export VK_DRIVER_FILES=$icd
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv

stage "1. bench --e2e"
if [ -n "$quick" ]; then
    timeout 300 "$bin/bench" --e2e --quick "mlp lsgan"
else
    timeout 240 "$bin/bench" --e2e
fi

stage "2. bench (kernels) and cuBLAS at the same shapes"
timeout 120 "$bin/bench" $([ -n "$quick" ] && echo "matmul")
timeout 60 "${PYTHON:-python3}" bench/cublas_gemm.py

stage "3. nanogan vs the PyTorch twin"
cases=("mlp lsgan b64" "dcgan lsgan b64" "mlp lsgan b256" "dcgan lsgan b256")
[ -n "$quick" ] && cases=("mlp lsgan b64")
NANOGAN_BENCH=$bin/bench PYTHON=${PYTHON:-python3} timeout 200 bash bench/vs_pytorch.sh "$([ -n "$quick" ] && echo 1 || echo 3)" "${cases[@]}"

stage "4. pretrained dcgan, $steps iterations"
run=$(mktemp -d)
every=$([ -n "$quick" ] && echo 20 || echo 2000)
best_fid="" best_step=""
done_steps=0
while [ "$done_steps" -lt "$steps" ]; do
    resume=()
    [ "$done_steps" -gt 0 ] && resume=(--resume "$run/checkpoint.safetensors")
    # Only the outcome lines: each chunk also prints the config and both model summaries.
    timeout 200 "$bin/train" --model dcgan --loss gan --steps "$every" --eval-every "$every" \
        --out "$run" --quiet "${resume[@]}" 2>&1 | grep -E "^(done|metrics at)|rror" || break
    done_steps=$((done_steps + every))
    fid=$(tail -1 "$run/metrics.csv" | cut -d, -f3)
    echo "step $done_steps: FID $fid ($(tail -1 "$run/metrics.csv" | cut -d, -f10)/10 modes)"
    if [ -z "$best_fid" ] || awk -v a="$fid" -v b="$best_fid" 'BEGIN {exit !(a < b)}'; then
        best_fid=$fid best_step=$done_steps
        cp "$run/checkpoint.safetensors" "$run/best.safetensors"
        cp "$run/samples.png" "$out/samples.png"
    fi
    # Leave a minute for the export below within the device's 10-minute command limit.
    [ $(($(date +%s) - start)) -gt 500 ] && [ -z "$quick" ] && echo "stopping early: time" && break
done
cp "$run/metrics.csv" "$out/metrics.csv" 2>/dev/null
if [ -n "$best_step" ]; then
    echo "best: step $best_step, FID $best_fid"
    "$bin/eval" --checkpoint "$run/best.safetensors" --export-f16 "$out/generator-f16.safetensors"
fi

stage "done"
ls -l "$out"
