#!/usr/bin/env bash
# Builds the container image from the Dockerfile's `runtime` stage with buildah: first the static
# (musl) server binary and the release site into dist/, then `buildah bud --target runtime`, which
# pulls no base image. Prints the image name. `--dist-only` stops after dist/ (the Dockerfile's
# from-source stage runs that inside a Rust image).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$AS_ROOT"
log() { printf '[image] %s\n' "$*" >&2; }
target=x86_64-unknown-linux-musl
rustup target list --installed | grep -qx "$target" || rustup target add "$target" >&2
command -v musl-gcc >/dev/null || { log "installing musl-tools"; apt-get install -y -qq musl-tools >/dev/null; }
[ -f target/site/pkg/appliance-status.wasm ] || bash scripts/build.sh >&2
log "static server binary ($target, profile image)"
CC_x86_64_unknown_linux_musl=musl-gcc cargo build -p server --bin appliance-status \
  --profile image --target "$target" --locked >&2
rm -rf dist && mkdir -p dist
cp "$CARGO_TARGET_DIR/$target/image/appliance-status" dist/appliance-status
cp -r target/site dist/site
[ "${1:-}" = "--dist-only" ] && exit 0
command -v buildah >/dev/null || { log "installing buildah and podman"; apt-get install -y -qq buildah podman crun >/dev/null; }
version=$(awk -F'"' '/^version/ {print $2; exit}' Cargo.toml)
name="localhost/appliance-status:$version"
log "buildah bud --target runtime -t $name"
buildah --storage-driver vfs bud --quiet --target runtime -t "$name" . >&2
echo "$name"
