#!/usr/bin/env bash
# Builds the release server and the size-optimised wasm (wasm-opt included) with cargo-leptos,
# then prints the wasm's size. Output: $CARGO_TARGET_DIR/release/appliance-status and target/site/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$AS_ROOT"
cargo leptos build --release
bash scripts/wasm-size.sh
