#!/usr/bin/env bash
# Builds actionlint (the GitHub Actions workflow linter, github.com/rhysd/actionlint) from its Go
# module through the Go module proxy and caches it under
# ~/.cache/appliance-status/tools/actionlint-<version>/bin; built again only when the pinned version
# changes. Prints the bin directory on stdout. scripts/setup.sh builds it (before it drops the Go
# caches); scripts/test.sh runs it over .github/workflows and fails on any finding.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/env.sh"
ACTIONLINT_VERSION="${ACTIONLINT_VERSION:-v1.7.12}"
out="$AS_CACHE/tools/actionlint-$ACTIONLINT_VERSION"
cached "$out/bin/actionlint" "$out/bin"
LOG_TAG=actionlint
log "go install github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION (cold: about 15 s)"
# Into a directory of this run's own, then moved in place: a concurrent run never sees half a
# binary, and the first to finish wins.
mkdir -p "$(dirname "$out")"
tmp=$(mktemp -d "$out.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
GOBIN="$tmp/bin" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" >&2
"$tmp/bin/actionlint" -version | head -1 | grep -qx "$ACTIONLINT_VERSION" \
  || { log "the built actionlint does not report $ACTIONLINT_VERSION"; exit 1; }
chmod 755 "$tmp"
mv -T "$tmp" "$out" 2>/dev/null || [ -x "$out/bin/actionlint" ]
log "ready in $out/bin"
echo "$out/bin"
