#!/usr/bin/env bash
# Prints the release wasm's size, raw and compressed (gzip -9, brotli -q 11).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
wasm="$AS_ROOT/target/site/pkg/appliance-status.wasm"
[ -f "$wasm" ] || { echo "no release wasm at $wasm: run scripts/build.sh" >&2; exit 1; }
raw=$(stat -c %s "$wasm")
gz=$(gzip -9 -c "$wasm" | wc -c)
br=$(brotli -q 11 -c "$wasm" | wc -c)
awk -v r="$raw" -v g="$gz" -v b="$br" 'BEGIN {
  printf "wasm size: raw %d bytes (%.0f KiB), gzip %d bytes (%.0f KiB), brotli %d bytes (%.0f KiB)\n", r, r/1024, g, g/1024, b, b/1024 }'
