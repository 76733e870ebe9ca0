# Sourced by every project script: pinned tool versions, caches outside the clone, PATH.
# CI clones the repository afresh each run, so everything expensive lives under ~/.cache.
AS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
AS_CACHE="${APPLIANCE_STATUS_CACHE:-$HOME/.cache/appliance-status}"
CARGO_LEPTOS_VERSION=0.3.10
WASM_BINDGEN_VERSION=0.2.130
export AS_ROOT AS_CACHE CARGO_LEPTOS_VERSION WASM_BINDGEN_VERSION
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$AS_CACHE/target}"
export GOPATH="${GOPATH:-$AS_CACHE/go}"
export GOCACHE="${GOCACHE:-$AS_CACHE/go-build}"
export GOMODCACHE="${GOMODCACHE:-$AS_CACHE/go/pkg/mod}"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
# leptos reads this at compile time (the wasm file name in the hydration script). cargo-leptos sets
# it; every other cargo command must set the same, or a plain `cargo build/test/bench` recompiles
# leptos without it and the server then asks for `<name>_bg.wasm`, which does not exist.
export LEPTOS_OUTPUT_NAME=appliance-status
export PATH="$AS_CACHE/tools/cargo-leptos-$CARGO_LEPTOS_VERSION/bin:$AS_CACHE/tools/wasm-bindgen-cli-$WASM_BINDGEN_VERSION/bin:$AS_ROOT/end2end/node_modules/.bin:$PATH"
mkdir -p "$AS_CACHE"
# For the testing/ build scripts, whose output is cached by version: `cached FILE PRINT` prints
# PRINT and ends the script when FILE exists (built before); `log` writes "[$LOG_TAG] …" to stderr.
cached() { if [ -e "$1" ]; then echo "$2"; exit 0; fi; }
log() { printf '[%s] %s\n' "${LOG_TAG:-appliance-status}" "$*" >&2; }
