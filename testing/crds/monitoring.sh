#!/usr/bin/env bash
# The Prometheus Operator's ServiceMonitor and PrometheusRule CRDs, which the chart's opt-in
# monitoring objects are applied against (server/tests/monitoring.rs), generated the way the
# operator generates them: controller-gen (the one testing/crds/build.sh builds and caches) over
# its API module github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring (the Go
# module proxy serves it). Cached under ~/.cache/appliance-status/monitoring-crds-<versions>/;
# made again only when a pinned version changes. Prints that directory on stdout.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../../scripts/env.sh"
source "$here/../flux-versions.sh"
MONITORING_API_VERSION="${MONITORING_API_VERSION:-v0.95.2}"
out="$AS_CACHE/monitoring-crds-$MONITORING_API_VERSION-cg-$CONTROLLER_TOOLS_VERSION"
cached "$out/monitoring.coreos.com_servicemonitors.yaml" "$out"
LOG_TAG=monitoring-crds
controller_gen="$AS_CACHE/tools/controller-gen-$CONTROLLER_TOOLS_VERSION/bin/controller-gen"
# testing/crds/build.sh builds controller-gen (and the Flux CRDs beside it).
[ -x "$controller_gen" ] || bash "$here/build.sh" >/dev/null
log "CRDs of prometheus-operator/pkg/apis/monitoring $MONITORING_API_VERSION"
tmp=$(mktemp -d "$out.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/api" "$tmp/all"
# On its own line: a failed download must stop here, not leave `cp -r /. …`.
api=$(module_dir github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring "$MONITORING_API_VERSION")
[ -d "$api/v1" ] || { log "no module directory for pkg/apis/monitoring $MONITORING_API_VERSION"; exit 1; }
cp -r "$api"/. "$tmp/api/"
chmod -R u+w "$tmp"
# Descriptions off (maxDescLen=0), as the operator's own bundle keeps the large ones small.
(cd "$tmp/api" && GOFLAGS=-mod=mod "$controller_gen" crd:maxDescLen=0 paths=./v1/... \
  output:crd:artifacts:config="$tmp/all" >&2)
for kind in servicemonitors prometheusrules; do
  [ -f "$tmp/all/monitoring.coreos.com_$kind.yaml" ] || { log "controller-gen wrote no $kind CRD"; exit 1; }
  mv "$tmp/all/monitoring.coreos.com_$kind.yaml" "$tmp/"
done
rm -rf "$tmp/api" "$tmp/all"
chmod 755 "$tmp"
mkdir -p "$(dirname "$out")"
mv -T "$tmp" "$out" 2>/dev/null || [ -f "$out/monitoring.coreos.com_servicemonitors.yaml" ]
log "ready in $out"
echo "$out"
