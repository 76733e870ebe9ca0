#!/usr/bin/env bash
# Builds the control plane from its Go modules (through the Go module proxy): kube-apiserver,
# kube-controller-manager and kube-scheduler (one k8s.io/kubernetes module, one `go build`, so
# their shared packages compile once) and etcd, and caches the binaries under
# ~/.cache/appliance-status/apiserver-<k8s version>/bin; rebuilt only when the pinned version
# changes. Prints the bin directory on stdout.
#
# k8s.io/kubernetes cannot be `go install`ed: its go.mod maps the staging modules (k8s.io/api, ...)
# to ./staging with `replace`. A small wrapper module requires it and replaces every staging module
# with its published v0.<minor>.<patch>, generated from the go.mod the proxy serves.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/env.sh"
K8S_VERSION="${K8S_VERSION:-v1.36.3}"
out="$AS_CACHE/apiserver-$K8S_VERSION"
binaries=(kube-apiserver kube-controller-manager kube-scheduler etcd)
complete=1
for b in "${binaries[@]}"; do [ -x "$out/bin/$b" ] || complete=0; done
if [ "$complete" = 1 ]; then
  echo "$out/bin"
  exit 0
fi
log() { printf '[test-apiserver] %s\n' "$*" >&2; }
log "building ${binaries[*]} for $K8S_VERSION (cold: several minutes)"
work="$out/module"
rm -rf "$work" && mkdir -p "$work" "$out/bin"
cd "$work"
upstream=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
minor=$(echo "$K8S_VERSION" | cut -d. -f2); patch=$(echo "$K8S_VERSION" | cut -d. -f3)
staging="v0.$minor.$patch"
etcd_version=$(awk '$1 == "go.etcd.io/etcd/server/v3" {print $2; exit}' "$upstream")
go_line=$(awk '$1 == "go" {print $2; exit}' "$upstream")
cat > go.mod <<MOD
module appliance-status/test-apiserver

go $go_line

$(grep -m1 '^godebug' "$upstream" || true)
MOD
cat > tools.go <<'GO'
//go:build tools

// Package tools pins the binaries the tests run.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
GO
go mod edit -require="k8s.io/kubernetes@$K8S_VERSION" -require="go.etcd.io/etcd/server/v3@$etcd_version"
for m in $(awk '$2 == "=>" && $3 ~ /^\.\/staging/ {print $1}' "$upstream"); do
  go mod edit -replace="$m=$m@$staging"
done
log "resolving modules (etcd $etcd_version, staging $staging)"
GOFLAGS=-mod=mod go mod tidy -e >/dev/null 2>&1 || true
stamp="-X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
log "go build kube-apiserver kube-controller-manager kube-scheduler etcd"
rm -rf "$out/bin.tmp" && mkdir -p "$out/bin.tmp"
CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w $stamp" -o "$out/bin.tmp/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler
CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "$out/bin.tmp/etcd" go.etcd.io/etcd/server/v3
for b in "${binaries[@]}"; do mv "$out/bin.tmp/$b" "$out/bin/$b"; done
rmdir "$out/bin.tmp"
log "built: $("$out/bin/kube-apiserver" --version), etcd $("$out/bin/etcd" --version | head -1)"
echo "$out/bin"
