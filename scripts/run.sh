#!/usr/bin/env bash
# The README's run command: installs what serving needs, builds the release, and serves the
# embedded demo scenario (the PRD's observed bootstrap) on 0.0.0.0:8080. Extra arguments go to
# `serve`.
#
# On a cold machine most of the time is compiling, on two cores: cargo-leptos and wasm-bindgen-cli
# compile in the background while the server and the wasm compile here, each filling the other's
# idle core (a crate graph leaves one idle at its narrow points and final links). The server and
# the wasm are built with exactly the commands cargo-leptos 0.3.10 runs (and the one variable the
# leptos crates read while compiling, LEPTOS_OUTPUT_NAME, from scripts/env.sh), so that
# `cargo leptos build --release` (scripts/build.sh) then finds them built. Figures:
# docs/DEVELOPING.md, "The first build".
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
log() { printf '[run] %s\n' "$*" >&2; }
cd "$AS_ROOT"
bash scripts/setup.sh run --without-cargo-tools

tools_log="$AS_CACHE/cargo-tools.log"
# A process group of its own (job control on for this one job), so that stopping this script
# stops the cargo under it too.
set -m
bash scripts/setup.sh cargo-tools >"$tools_log" 2>&1 &
tools=$!
set +m
trap 'kill -- "-$tools" 2>/dev/null || true' EXIT
log "compiling the server and the wasm (cargo-leptos and wasm-bindgen-cli compile meanwhile; log: $tools_log)"
cargo build --package=server --bin=appliance-status --no-default-features \
  --features=ssr --release --locked
cargo build --package=frontend --lib --target-dir="$CARGO_TARGET_DIR/front" \
  --target=wasm32-unknown-unknown --no-default-features --profile=wasm-release --locked
if ! wait "$tools"; then
  tail -n 30 "$tools_log" >&2
  log "installing the cargo tools failed (whole log: $tools_log)"
  exit 1
fi
trap - EXIT
bash scripts/build.sh
export LEPTOS_SITE_ROOT="$AS_ROOT/target/site"
exec "$CARGO_TARGET_DIR/release/appliance-status" serve --demo "$@"
