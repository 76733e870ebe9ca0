#!/usr/bin/env bash
# Builds the release server and the size-optimised wasm (wasm-opt included) with cargo-leptos,
# compresses the site's files (brotli, gzip), then prints the wasm's size against its budget.
# Output: $CARGO_TARGET_DIR/release/appliance-status and target/site/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$AS_ROOT"
cargo leptos build --release
# Compressed once here; the server sends the .br or .gz file to a browser that accepts it.
for f in target/site/pkg/appliance-status.{wasm,js,css}; do
  brotli -q 11 -f -k "$f"
  gzip -9 -f -k "$f"
done
bash scripts/wasm-size.sh
