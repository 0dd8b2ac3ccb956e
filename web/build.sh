#!/usr/bin/env bash
# Builds the browser page's wasm into web/pkg/ and copies the bundled digits into web/data/,
# so that web/ alone can be served:
#
#     bash web/build.sh && python3 -m http.server -d web 8000    # then open http://localhost:8000
#
# Installs what it lacks: the wasm32 target (rustup), wasm-bindgen-cli at the exact version of
# the wasm-bindgen crate in Cargo.lock (cargo install, a few minutes once). Shrinks the wasm with
# wasm-opt -Oz when a recent one is found (see below); the page works without it.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    rustup target add wasm32-unknown-unknown
fi

# The CLI must match the crate exactly, or wasm-bindgen refuses the module.
version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
if [ -z "$version" ]; then
    # No lock entry yet (fresh checkout without Cargo.lock): let cargo resolve one.
    cargo generate-lockfile
    version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
fi
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$version" ]; then
    echo "installing wasm-bindgen-cli $version (once; a few minutes)" >&2
    cargo install wasm-bindgen-cli --version "$version"
fi

# Size-tuned release for the wasm target only (env overrides; native release builds keep
# Cargo.toml's profile). cdylib via `cargo rustc` so the native library stays rlib-only.
export CARGO_PROFILE_RELEASE_OPT_LEVEL=z
export CARGO_PROFILE_RELEASE_LTO=true
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1
export CARGO_PROFILE_RELEASE_PANIC=abort
export CARGO_PROFILE_RELEASE_STRIP=debuginfo
cargo rustc --lib --release --target wasm32-unknown-unknown --crate-type cdylib

# Where cargo wrote it: CARGO_TARGET_DIR when set (a shared build folder), else ./target.
wasm-bindgen --target web --no-typescript --out-dir web/pkg \
    "${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/release/nanogan.wasm"
wasm=web/pkg/nanogan_bg.wasm
# wasm-opt -Oz takes about a quarter off. It must be binaryen 116 or newer: older ones (Debian
# bookworm's 108) mangle the externref table Rust's wasm now uses, and the page fails to start.
# web/test's npm packages bring a current one.
wasm_opt=""
for candidate in wasm-opt web/test/node_modules/.bin/wasm-opt; do
    v=$("$candidate" --version 2>/dev/null | awk '{print $3}') || true
    if [ -n "$v" ] && [ "$v" -ge 116 ] 2>/dev/null; then
        wasm_opt=$candidate
        break
    fi
done
# --low-memory-unused lets binaryen fold constant offsets into loads and stores (about 1 KB
# gzipped). It is sound here: Rust links wasm32 with --stack-first, so the first 1 KB of memory
# is the far end of the 1 MB stack, reached only by a stack 1 KB short of overflowing.
if [ -n "$wasm_opt" ]; then
    "$wasm_opt" -Oz --low-memory-unused \
        --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
        --enable-mutable-globals --enable-reference-types --enable-multivalue "$wasm" -o "$wasm.opt"
    mv "$wasm.opt" "$wasm"
else
    echo "no wasm-opt >= 116 found (run 'npm ci' in web/test for one); keeping wasm-bindgen's output" >&2
fi

mkdir -p web/data
cp data/digits/train-images-idx3-ubyte.gz web/data/
cp assets/classifier-f16.safetensors web/data/

raw=$(stat -c %s "$wasm")
gz=$(gzip -9 -c "$wasm" | wc -c)
echo "web/pkg: $(basename "$wasm") $raw bytes ($gz gzipped), $(basename web/pkg/nanogan.js) $(stat -c %s web/pkg/nanogan.js) bytes"
