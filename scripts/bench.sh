#!/usr/bin/env bash
# Runs the benchmarks and prints their figures (recorded by hand in docs/BENCHMARKS.md):
# the engine on generated snapshots, the service at the appliance's scale and at 2,000 pods, and
# the release wasm's size.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$AS_ROOT"
bash scripts/setup.sh
echo "== assess on generated snapshots ($(nproc) cores, $(date -u +%F))"
cargo bench -p server --bench assess --locked 2>/dev/null
echo "== the event store's worst case (50,000 events of 4 KiB messages, bounded)"
cargo bench -p server --bench events --locked 2>/dev/null
echo "== the service at the appliance's own scale (the observed bootstrap's final state)"
[ -x "$CARGO_TARGET_DIR/release/appliance-status" ] || bash scripts/build.sh >/dev/null
cargo bench -p server --bench appliance --locked 2>/dev/null
echo "== the service against a real API server (2,000 pods, 20,000 events)"
[ -x "$CARGO_TARGET_DIR/release/appliance-status" ] || bash scripts/build.sh >/dev/null
cargo bench -p server --bench live --locked 2>/dev/null
echo "== how soon a step of the observed bootstrap reaches the document (real API server, the service's own timings)"
[ -x "$CARGO_TARGET_DIR/release/appliance-status" ] || bash scripts/build.sh >/dev/null
cargo bench -p server --bench first_sight --locked 2>/dev/null
echo "== the login estimate against the observed bootstrap (every 30 s, estimate vs the time login took)"
cargo bench -p server --bench estimate --locked 2>/dev/null
echo "== release wasm"
[ -f target/site/pkg/appliance-status.wasm ] || bash scripts/build.sh >/dev/null
bash scripts/wasm-size.sh
