#!/usr/bin/env bash
# The browser test, from a bare machine: installs Debian's Chromium, the npm packages of
# web/test (playwright-core, no browser download; binaryen's wasm-opt), the wasm32 target and
# wasm-bindgen-cli (via web/build.sh), builds the page, serves it on 127.0.0.1 and drives it in
# headless Chromium with WebGPU on SwiftShader. Exits non-zero when a check fails.
#
#     bash web/test/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

bash web/test/install.sh
bash web/build.sh
node web/test/browser.mjs
