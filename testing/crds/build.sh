#!/usr/bin/env bash
# The Flux CRDs every test installs into its API server, taken from the controllers' own Go modules
# (through the Go module proxy) and cached under ~/.cache/appliance-status/flux-crds-<versions>/;
# made again only when a pinned version changes. Prints that directory on stdout.
#
#   source-controller     config/crd/bases/*.yaml of its module archive (GitRepository,
#                         OCIRepository, HelmRepository, HelmChart, Bucket, ExternalArtifact)
#   kustomize-controller  config/crd/bases/*.yaml of its module archive (Kustomization)
#   helm-controller       the proxy refuses its module, but serves its API module
#                         (github.com/fluxcd/helm-controller/api): the HelmRelease CRD is generated
#                         from it the way Flux generates it, by controller-gen
#                         (sigs.k8s.io/controller-tools, built here and cached by version) over
#                         its packages (`controller-gen crd paths=./...`; the v2beta* packages are
#                         marked +kubebuilder:skipversion, so the CRD serves v2 only).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../../scripts/env.sh"
source "$here/../flux-versions.sh"
key="sc-$SOURCE_CONTROLLER_VERSION-kc-$KUSTOMIZE_CONTROLLER_VERSION-hc-$HELM_CONTROLLER_API_VERSION-cg-$CONTROLLER_TOOLS_VERSION"
out="$AS_CACHE/flux-crds-$key"
cached "$out/helm.toolkit.fluxcd.io_helmreleases.yaml" "$out"
LOG_TAG=flux-crds
controller_gen="$AS_CACHE/tools/controller-gen-$CONTROLLER_TOOLS_VERSION/bin/controller-gen"
if [ ! -x "$controller_gen" ]; then
  log "building controller-gen $CONTROLLER_TOOLS_VERSION (cold: about a minute)"
  GOBIN="$(dirname "$controller_gen")" CGO_ENABLED=0 GOFLAGS=-mod=mod \
    go install -trimpath -ldflags "-s -w" "sigs.k8s.io/controller-tools/cmd/controller-gen@$CONTROLLER_TOOLS_VERSION" >&2
fi
log "CRDs of source-controller $SOURCE_CONTROLLER_VERSION, kustomize-controller $KUSTOMIZE_CONTROLLER_VERSION, helm-controller/api $HELM_CONTROLLER_API_VERSION"
# A directory of this run's own: two test processes making the CRDs at once never share one.
tmp=$(mktemp -d "$out.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/api"
# Each module directory on its own line: a failed download stops the script there (inside
# `cp "$(…)"/…` it would not, and `cp -r /. …` would copy the whole filesystem).
source_dir=$(module_dir github.com/fluxcd/source-controller "$SOURCE_CONTROLLER_VERSION")
kustomize_dir=$(module_dir github.com/fluxcd/kustomize-controller "$KUSTOMIZE_CONTROLLER_VERSION")
helm_api_dir=$(module_dir github.com/fluxcd/helm-controller/api "$HELM_CONTROLLER_API_VERSION")
for d in "$source_dir" "$kustomize_dir" "$helm_api_dir"; do
  [ -n "$d" ] && [ -d "$d" ] || { log "a module directory is missing ($d)"; exit 1; }
done
cp "$source_dir"/config/crd/bases/*.yaml "$tmp/"
cp "$kustomize_dir"/config/crd/bases/*.yaml "$tmp/"
# controller-gen loads the packages with the go command, which needs a writable module root.
cp -r "$helm_api_dir"/. "$tmp/api/"
chmod -R u+w "$tmp"
(cd "$tmp/api" && GOFLAGS=-mod=mod "$controller_gen" crd paths=./... output:crd:artifacts:config="$tmp" >&2)
rm -rf "$tmp/api"
chmod 755 "$tmp"
for kind in gitrepositories ocirepositories helmrepositories helmcharts; do
  [ -f "$tmp/source.toolkit.fluxcd.io_$kind.yaml" ] || { log "source-controller has no $kind CRD"; exit 1; }
done
[ -f "$tmp/kustomize.toolkit.fluxcd.io_kustomizations.yaml" ] || { log "no Kustomization CRD"; exit 1; }
[ -f "$tmp/helm.toolkit.fluxcd.io_helmreleases.yaml" ] || { log "controller-gen wrote no HelmRelease CRD"; exit 1; }
# the first to finish wins; a run that finds the directory made meanwhile keeps it
mkdir -p "$(dirname "$out")"
mv -T "$tmp" "$out" 2>/dev/null || [ -f "$out/helm.toolkit.fluxcd.io_helmreleases.yaml" ]
log "ready in $out"
echo "$out"
