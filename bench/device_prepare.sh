#!/usr/bin/env bash
# Prepares bench/device.sh for a machine with an NVIDIA GPU but no Rust (the H200 some sessions
# are lent: DEVELOPERS.md): builds the release binaries it runs into .devbin/ and downloads the
# Vulkan loader into .gl/, both kept out of git through .git/info/exclude. Then carry both:
#
#     bash bench/device_prepare.sh
#     # device run, carry [".devbin", ".gl"], command: bash bench/device.sh
#
# Not run by CI.
set -euo pipefail
cd "$(dirname "$0")/.."

exclude=.git/info/exclude
mkdir -p "$(dirname "$exclude")"
for p in /.devbin/ /.gl/; do
    grep -qxF "$p" "$exclude" 2>/dev/null || echo "$p" >>"$exclude"
done

cargo build --release --examples
mkdir -p .devbin
for b in bench train eval sample; do
    cp "${CARGO_TARGET_DIR:-target}/release/examples/$b" .devbin/
    # Symbols are half of each binary; the carried tree is limited to 64 MiB.
    strip .devbin/$b 2>/dev/null || true
done

if ! ls .gl/*.deb >/dev/null 2>&1; then
    mkdir -p .gl /tmp/amd64/partial
    o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64)
    apt-get "${o[@]}" update -q
    (cd .gl && apt-get "${o[@]}" download libvulkan1)
fi
du -sh .devbin .gl
echo "ready: run 'bash bench/device.sh' on the device, carrying .devbin and .gl"
