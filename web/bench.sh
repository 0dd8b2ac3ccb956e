#!/usr/bin/env bash
# The end-to-end benchmark in the browser: installs what web/test/run.sh installs, builds the
# page, runs web/bench.html in headless Chromium (WebGPU on SwiftShader) and prints its table.
#
#     bash web/bench.sh [quick] [FILTER]
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends chromium
fi
[ -d web/test/node_modules/playwright-core ] || (cd web/test && npm ci --no-audit --no-fund --loglevel=error)
bash web/build.sh >&2
node web/test/bench.mjs "$@"
