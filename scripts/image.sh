#!/usr/bin/env bash
# Builds the container image from the Dockerfile's `runtime` stage with buildah: first the static
# (musl) server binary and the release site into dist/, then `buildah bud --target runtime`, which
# pulls no base image. Prints the image name. `--dist-only` stops after dist/ (the Dockerfile's
# from-source stage runs that inside a Rust image; the release workflow on the runner).
# `--oci-archive FILE` also writes the image to FILE as an OCI archive (tag: the version), for an
# appliance without registry access (docs/DEVELOPING.md, "An image without a registry").
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
log() { printf '[image] %s\n' "$*" >&2; }
usage="usage: scripts/image.sh [--dist-only | --oci-archive FILE]"
dist_only='' oci_archive=''
while [ $# -gt 0 ]; do
  case "$1" in
    --dist-only) dist_only=1 ;;
    --oci-archive)
      if [ $# -lt 2 ] || [ -z "$2" ]; then log "--oci-archive needs a file name; $usage"; exit 2; fi
      oci_archive=$2; shift ;;
    --oci-archive=?*) oci_archive=${1#--oci-archive=} ;;
    *) log "unknown argument '$1'; $usage"; exit 2 ;;
  esac
  shift
done
if [ -n "$oci_archive" ]; then
  [ -z "$dist_only" ] || { log "--dist-only builds no image to archive; $usage"; exit 2; }
  # The archive's path as the caller meant it, before the cd below.
  oci_archive=$(realpath -m -- "$oci_archive")
  [ -d "$(dirname "$oci_archive")" ] || { log "no directory for $oci_archive"; exit 2; }
fi
cd "$AS_ROOT"
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
[ -n "$dist_only" ] && exit 0
command -v buildah >/dev/null || { log "installing buildah and podman"; apt-get install -y -qq buildah podman crun >/dev/null; }
version=$(awk -F'"' '/^version/ {print $2; exit}' Cargo.toml)
name="localhost/appliance-status:$version"
log "buildah bud --target runtime -t $name"
buildah --storage-driver vfs bud --quiet --target runtime -t "$name" . >&2
if [ -n "$oci_archive" ]; then
  # Written beside the target and renamed: no half-written archive under the name asked for.
  tmp="$oci_archive.tmp.$$"
  trap 'rm -f "$tmp"' EXIT
  log "buildah push $name oci-archive:$oci_archive:$version"
  buildah --storage-driver vfs push --quiet "$name" "oci-archive:$tmp:$version" >&2
  mv -f "$tmp" "$oci_archive"
  log "wrote $oci_archive ($(du -h "$oci_archive" | cut -f1)), tag $version"
fi
echo "$name"
