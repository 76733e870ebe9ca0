#!/usr/bin/env bash
# Prints the release wasm's size, raw and as shipped (the .br and .gz files scripts/build.sh
# writes beside it), and fails when the brotli file is above the budget: a change that makes the
# page heavier has to raise WASM_BROTLI_BUDGET here, on purpose, with its figure in
# docs/BENCHMARKS.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
WASM_BROTLI_BUDGET=${WASM_BROTLI_BUDGET:-200000}
wasm="$AS_ROOT/target/site/pkg/appliance-status.wasm"
[ -f "$wasm" ] || { echo "no release wasm at $wasm: run scripts/build.sh" >&2; exit 1; }
for f in "$wasm.br" "$wasm.gz"; do
  [ -f "$f" ] || { echo "$f is missing: run scripts/build.sh" >&2; exit 1; }
done
raw=$(stat -c %s "$wasm")
gz=$(stat -c %s "$wasm.gz")
br=$(stat -c %s "$wasm.br")
awk -v r="$raw" -v g="$gz" -v b="$br" -v budget="$WASM_BROTLI_BUDGET" 'BEGIN {
  printf "wasm size: raw %d bytes (%.0f KiB), gzip %d bytes (%.0f KiB), brotli %d bytes (%.0f KiB); budget %d bytes brotli\n",
    r, r/1024, g, g/1024, b, b/1024, budget }'
if [ "$br" -gt "$WASM_BROTLI_BUDGET" ]; then
  echo "FAIL: the wasm is $br bytes brotli, above its budget of $WASM_BROTLI_BUDGET" >&2
  exit 1
fi
