#!/usr/bin/env bash
# What the browser scripts need on a bare machine: Debian's Chromium and web/test's npm packages
# (playwright-core, no browser download; binaryen's wasm-opt). `--if-missing` keeps installed ones.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -x /usr/bin/chromium ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends chromium
fi
if [ "${1:-}" != "--if-missing" ] || [ ! -d web/test/node_modules/playwright-core ]; then
    (cd web/test && npm ci --no-audit --no-fund --loglevel=error)
fi
