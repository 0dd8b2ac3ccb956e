#!/usr/bin/env bash
# The end-to-end benchmark in the browser: installs what web/test/run.sh installs, builds the
# page, runs web/bench.html in headless Chromium (WebGPU on SwiftShader) and prints its table.
#
#     bash web/bench.sh [quick] [FILTER]
set -euo pipefail
cd "$(dirname "$0")/.."

bash web/test/install.sh --if-missing
bash web/build.sh >&2
node web/test/bench.mjs "$@"
