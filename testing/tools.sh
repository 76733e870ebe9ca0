#!/usr/bin/env bash
# Installs the Go-built tools the chart tests use (helm), cached by version under
# ~/.cache/appliance-status/tools/. Prints the bin directory.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/env.sh"
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
dir="$AS_CACHE/tools/helm-$HELM_VERSION"
if [ ! -x "$dir/bin/helm" ]; then
  printf '[tools] go install helm %s (cold: a few minutes)\n' "$HELM_VERSION" >&2
  GOBIN="$dir/bin" CGO_ENABLED=0 go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
fi
echo "$dir/bin"
