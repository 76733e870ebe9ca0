#!/usr/bin/env bash
# Builds promtool (Prometheus' rule tester, github.com/prometheus/prometheus/cmd/promtool) from its
# Go module through the Go module proxy and caches it under
# ~/.cache/appliance-status/tools/promtool-<version>/bin; built again only when the pinned version
# changes. Prints the bin directory on stdout. scripts/test.sh builds it in the background while
# the first tests run (they mostly wait on servers); server/tests/monitoring.rs runs `promtool
# check rules` and `promtool test rules` on the chart's alerts.
#
# Built from a wrapper module that requires Prometheus: `go install …@version` refuses a module
# whose go.mod excludes versions, as Prometheus' does. The `remove_all_sd` tag (plugins/) leaves
# out the service-discovery plugins (AWS, Azure, GCE, …) promtool does not need for rules.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/env.sh"
PROMETHEUS_VERSION="${PROMETHEUS_VERSION:-v0.316.0}"
out="$AS_CACHE/tools/promtool-$PROMETHEUS_VERSION"
cached "$out/bin/promtool" "$out/bin"
LOG_TAG=promtool
# One build at a time: scripts/test.sh starts it in the background while the tests run, and the
# test that needs it waits here for that build instead of starting its own.
mkdir -p "$(dirname "$out")"
exec 9>"$out.lock"
flock 9
cached "$out/bin/promtool" "$out/bin"
log "building promtool from github.com/prometheus/prometheus@$PROMETHEUS_VERSION (cold: minutes)"
# Into a directory of its own, then moved in place: a reader never sees half a binary.
tmp=$(mktemp -d "$out.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/module" "$tmp/bin"
cd "$tmp/module"
cat > go.mod <<MOD
module appliance-status/promtool

go 1.26.0
MOD
cat > tools.go <<'GO'
//go:build tools

// Package tools pins the binary the alert tests run.
package tools

import _ "github.com/prometheus/prometheus/cmd/promtool"
GO
go mod edit -require="github.com/prometheus/prometheus@$PROMETHEUS_VERSION"
# -e: resolve what can be; anything missing fails the build below with the go command's words.
GOFLAGS=-mod=mod go mod tidy -e >&2 || true
CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -tags remove_all_sd -ldflags "-s -w" \
  -o "$tmp/bin/promtool" github.com/prometheus/prometheus/cmd/promtool >&2
# The module version the binary was built from (its build information), not just any promtool.
go version -m "$tmp/bin/promtool" | grep -qE "^\s+(mod|dep)\s+github.com/prometheus/prometheus\s+$PROMETHEUS_VERSION(\s|$)" \
  || { log "the built promtool is not from prometheus $PROMETHEUS_VERSION"; exit 1; }
"$tmp/bin/promtool" --version >/dev/null
rm -rf "$tmp/module"
chmod 755 "$tmp"
mv -T "$tmp" "$out" 2>/dev/null || [ -x "$out/bin/promtool" ]
log "ready in $out/bin"
echo "$out/bin"
