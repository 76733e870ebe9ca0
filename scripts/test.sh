#!/usr/bin/env bash
# The README's test command (and CI's): installs what is needed, then runs every check:
# actionlint over .github/workflows and the release's one-version check, fmt, clippy for the ssr
# and the hydrate feature sets (built separately, never together),
# the Rust tests, the release build, and the Playwright suite in Debian's chromium.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$AS_ROOT"
step() { printf '\n==> %s\n' "$*"; }

step "setup"
bash scripts/setup.sh

step "workflows (actionlint with shellcheck) and the release's versions"
shopt -s nullglob; workflows=(.github/workflows/*.yml .github/workflows/*.yaml); shopt -u nullglob
[ ${#workflows[@]} -gt 0 ] || { echo "no workflow in .github/workflows" >&2; exit 1; }
actionlint="$(bash testing/actionlint/build.sh)/actionlint"
# Named on purpose: without shellcheck actionlint skips the shell steps and says nothing.
shellcheck=$(command -v shellcheck)
"$actionlint" -no-color -shellcheck="$shellcheck" -pyflakes= "${workflows[@]}"
echo "actionlint: ${#workflows[@]} workflow file(s), no findings"
bash .github/scripts/release-check.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "clippy (ssr: server, app with ssr)"
cargo clippy -p engine -p server -p testenv --all-targets --locked -- -D warnings
step "clippy (hydrate: frontend, app with hydrate, wasm32)"
cargo clippy -p frontend -p app --features app/hydrate --target wasm32-unknown-unknown --locked -- -D warnings

step "cargo test"
# promtool (for the alerts' test, server/tests/monitoring.rs, which waits for it) compiles in the
# background meanwhile: most of this stage is the tests waiting on servers, cores idle.
bash testing/promtool/build.sh >"$AS_CACHE/promtool-build.log" 2>&1 &
cargo test -p app --locked
cargo test -p engine --locked
cargo test -p testenv --lib --locked
cargo test -p server --locked

step "release build (cargo leptos, wasm-opt)"
bash scripts/build.sh

step "Playwright (Debian chromium, release build, real API server)"
cargo build -p testenv --bin testenv --locked
export APPLIANCE_STATUS_BIN="$CARGO_TARGET_DIR/release/appliance-status"
export TESTENV_BIN="$CARGO_TARGET_DIR/debug/testenv"
cd end2end
npx playwright test
