#!/usr/bin/env bash
# nanogan's page against TensorFlow.js 4.22 (wasm, webgl and webgpu backends) training the same
# mlp LSGAN (batch 64) in the same headless Chromium, WebGPU and WebGL both on SwiftShader, a
# fresh browser per run, the order alternating each round. Prints each run, then per contender
# the medians of ms per training iteration, of a batch-64 G forward drawn as a grid into a
# canvas, and of the first iteration, with tfjs/nanogan ratios (medians of the per-round ones).
# Not run by CI.
#
#     bash bench/vs_tfjs.sh [ROUNDS] [CONTENDER ...]     # ROUNDS: 3; CONTENDER: nanogan wasm webgl webgpu
#
# Installs what it needs: TensorFlow.js into bench/tfjs/node_modules (npm ci, about 150 MB) and,
# if missing, web/test's playwright-core; builds web/pkg with web/build.sh if it is missing.
# A round takes several minutes on 2 cores (tfjs-webgpu on SwiftShader is the slowest).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
shift || true

chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
    echo "no Chromium at $chromium: bash web/test/run.sh installs Debian's (apt-get install chromium), or set CHROMIUM" >&2
    exit 1
fi
if [ ! -d web/test/node_modules/playwright-core ]; then
    echo "installing playwright-core into web/test/node_modules (npm ci) ..."
    (cd web/test && npm ci --no-audit --no-fund --silent)
fi
if [ ! -d bench/tfjs/node_modules/@tensorflow/tfjs-backend-webgpu ]; then
    echo "installing TensorFlow.js 4.22 (tfjs, tfjs-backend-wasm, tfjs-backend-webgpu) into bench/tfjs/node_modules (npm ci) ..."
    (cd bench/tfjs && npm ci --no-audit --no-fund --silent)
fi
if [ ! -f web/pkg/nanogan_bg.wasm ] || [ ! -f web/data/train-images-idx3-ubyte.gz ]; then
    echo "web/pkg or web/data is missing: building the page's wasm with web/build.sh ..."
    bash web/build.sh
fi

echo "$("$chromium" --version 2>/dev/null | head -1), $(nproc) cores, $rounds rounds"
CHROMIUM=$chromium node bench/tfjs/vs.mjs "$rounds" "$@"
