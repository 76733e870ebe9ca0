#!/usr/bin/env bash
# Builds the smoke run's controllers from their Go modules (through the Go module proxy) and caches
# them under ~/.cache/appliance-status/controllers-<versions>/bin; rebuilt only when a pinned
# version changes. Prints the bin directory on stdout.
#
#   source-controller, kustomize-controller  Flux's own controllers (github.com/fluxcd/...)
#   kwok                                     the simulated node (sigs.k8s.io/kwok)
#   git-http                                 a git smart-HTTP server: Go's net/http/cgi in front
#                                            of Debian's `git http-backend` (cmd/git-http here)
#
# One wrapper module requires all three, so the packages they share (client-go, apimachinery,
# controller-runtime, ...) compile once, in one `go build`. The wrapper copies each upstream
# go.mod's `replace` lines except those pointing into the upstream repository itself (./api).
#
# Versions: the Go module proxy this machine reaches does not serve every version. These are the
# newest whose every imported package it serves: source-controller v1.10.x and v1.9.5+ need
# github.com/fluxcd/pkg modules (artifact v0.18.2+, masktoken, spiffe, http/transport v0.9) and
# sigstore/cosign v3.1.4 that it refuses. source-controller v1.9.4 asks for
# github.com/fluxcd/pkg/artifact v0.18.2, refused too; v0.18.0 (same minor, served) replaces it.
# helm-controller is not served at all: the harness stands in for it (testenv/src/helmrelease.rs).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/env.sh"
# SOURCE_CONTROLLER_VERSION, KUSTOMIZE_CONTROLLER_VERSION (shared with the CRDs, testing/crds/)
# and module_dir.
source "$(dirname "${BASH_SOURCE[0]}")/../flux-versions.sh"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
ARTIFACT_VERSION="${ARTIFACT_VERSION:-v0.18.0}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
key="sc-$SOURCE_CONTROLLER_VERSION-kc-$KUSTOMIZE_CONTROLLER_VERSION-kwok-$KWOK_VERSION-$(sha256sum "$here/git-http.go" | cut -c1-8)"
out="$AS_CACHE/controllers-$key"
binaries=(source-controller kustomize-controller kwok git-http)
# kwok's own Stages (the harness adapts them: testenv/src/controlplane.rs), from its module. The
# Flux CRDs come from testing/crds/build.sh.
copy_stages() {
  [ -d "$out/stages" ] && return 0
  local kwok
  kwok=$(module_dir sigs.k8s.io/kwok "$KWOK_VERSION")
  rm -rf "$out/stages.tmp" && mkdir -p "$out/stages.tmp"
  cp "$kwok"/kustomize/stage/node/fast/node-initialize.yaml "$kwok"/kustomize/stage/node/heartbeat/node-heartbeat.yaml \
    "$kwok"/kustomize/stage/pod/general/pod-*.yaml "$kwok"/kustomize/stage/pod/chaos/pod-container-running-failed.yaml \
    "$out/stages.tmp/"
  chmod -R u+w "$out/stages.tmp"
  mv "$out/stages.tmp" "$out/stages"
}
mkdir -p "$out"
copy_stages
complete=1
for b in "${binaries[@]}"; do [ -x "$out/bin/$b" ] || complete=0; done
if [ "$complete" = 1 ]; then
  echo "$out/bin"
  exit 0
fi
log() { printf '[test-controllers] %s\n' "$*" >&2; }
log "building ${binaries[*]} ($key; cold: several minutes)"
work="$out/module"
rm -rf "$work" && mkdir -p "$work/cmd/git-http" "$out/bin"
cd "$work"
cp "$here/git-http.go" cmd/git-http/main.go
upstream_mod() {
  go mod download -json "$1@$2" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])'
}
# `replace x => y v` lines of a go.mod (single and block form), without local paths.
replaces() {
  awk '/^replace \(/ {b=1; next} b && /^\)/ {b=0; next} b {print; next} /^replace / {sub(/^replace /, ""); print}' "$1" |
    awk '$2 == "=>" && $3 !~ /^\./ {print $1 "=" $3 (NF >= 4 ? "@" $4 : "")}'
}
cat > go.mod <<MOD
module appliance-status/test-controllers

go 1.26.0
MOD
cat > tools.go <<'GO'
//go:build tools

// Package tools pins the binaries the smoke run starts.
package tools

import (
	_ "github.com/fluxcd/kustomize-controller"
	_ "github.com/fluxcd/source-controller"
	_ "sigs.k8s.io/kwok/cmd/kwok"
)
GO
go mod edit -require="github.com/fluxcd/source-controller@$SOURCE_CONTROLLER_VERSION" \
  -require="github.com/fluxcd/kustomize-controller@$KUSTOMIZE_CONTROLLER_VERSION" \
  -require="sigs.k8s.io/kwok@$KWOK_VERSION"
for mod in "$(upstream_mod github.com/fluxcd/source-controller "$SOURCE_CONTROLLER_VERSION")" \
  "$(upstream_mod github.com/fluxcd/kustomize-controller "$KUSTOMIZE_CONTROLLER_VERSION")" \
  "$(upstream_mod sigs.k8s.io/kwok "$KWOK_VERSION")"; do
  for r in $(replaces "$mod"); do go mod edit -replace="$r"; done
done
go mod edit -replace="github.com/fluxcd/pkg/artifact=github.com/fluxcd/pkg/artifact@$ARTIFACT_VERSION"
log "resolving modules"
GOFLAGS=-mod=mod go mod tidy -e >/dev/null 2>&1 || true
log "go build ${binaries[*]}"
rm -rf "$out/bin.tmp" && mkdir -p "$out/bin.tmp"
CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "$out/bin.tmp/" \
  github.com/fluxcd/source-controller github.com/fluxcd/kustomize-controller \
  sigs.k8s.io/kwok/cmd/kwok ./cmd/git-http
for b in "${binaries[@]}"; do mv "$out/bin.tmp/$b" "$out/bin/$b"; done
rmdir "$out/bin.tmp"
log "built in $out/bin"
echo "$out/bin"
