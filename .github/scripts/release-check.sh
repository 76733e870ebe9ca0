#!/usr/bin/env bash
# One version everywhere, and the chart pointing at the image the release pushes. Used by
# .github/workflows/release.yml on a tag and by scripts/test.sh on every run (without a tag), so a
# mismatch shows up in the test command long before anyone tags.
#
#   release-check.sh [TAG]
#
# Checks that Cargo.toml's workspace version, helm/appliance-status/Chart.yaml's `version` and
# `appVersion` are the same version, that values.yaml's image.repository is the repository the
# release pushes to ($IMAGE below) with an empty image.tag (so the chart runs the image of its
# appVersion), and, given a TAG, that TAG is `v` followed by that version. On success prints
# `version=…`, `image=…` and `chart_repository=…` lines (the workflow appends them to
# $GITHUB_OUTPUT); otherwise names each disagreement and exits 1.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# Where a release goes: the chart's default image.repository, and the OCI repository of charts.
IMAGE=ghcr.io/nine-minds/appliance-status
CHART_REPOSITORY=oci://ghcr.io/nine-minds/charts
chart="$root/helm/appliance-status"

# yaml_value FILE BLOCK KEY: the scalar KEY at the top level (BLOCK empty) or one level inside the
# top-level mapping BLOCK, without quotes or a trailing comment. Enough for these two files;
# anything it cannot read comes out empty, and an empty value fails the checks below.
yaml_value() {
  awk -v block="$2" -v key="$3" '
    function value(line) {
      sub(/^[^:]*:[[:space:]]*/, "", line)
      sub(/[[:space:]]+#.*$/, "", line)
      sub(/[[:space:]]+$/, "", line)
      if (line ~ /^".*"$/ || line ~ /^\047.*\047$/) line = substr(line, 2, length(line) - 2)
      return line
    }
    block == "" && $0 ~ "^" key ":" { print value($0); exit }
    block != "" && $0 ~ "^" block ":" { inside = 1; next }
    inside && /^[^[:space:]#]/ { inside = 0 }
    inside && $1 == key ":" { print value($0); exit }
  ' "$1"
}

# The version in Cargo.toml's [workspace.package] (every crate takes it with version.workspace).
cargo_version=$(awk '
  /^\[/ { section = $0; next }
  section == "[workspace.package]" && $1 == "version" { v = $0; sub(/^[^=]*=[[:space:]]*"/, "", v); sub(/".*$/, "", v); print v; exit }
' "$root/Cargo.toml")
chart_version=$(yaml_value "$chart/Chart.yaml" "" version)
app_version=$(yaml_value "$chart/Chart.yaml" "" appVersion)
values_repository=$(yaml_value "$chart/values.yaml" image repository)
values_tag=$(yaml_value "$chart/values.yaml" image tag)

failed=0
fail() { printf 'release-check: %s\n' "$*" >&2; failed=1; }
semver='^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$'
[[ "$cargo_version" =~ $semver ]] || fail "Cargo.toml [workspace.package] version '$cargo_version' is not a semantic version"
[ "$chart_version" = "$cargo_version" ] || fail "Chart.yaml version '$chart_version' differs from Cargo.toml's '$cargo_version'"
[ "$app_version" = "$cargo_version" ] || fail "Chart.yaml appVersion '$app_version' differs from Cargo.toml's '$cargo_version'"
[ "$values_repository" = "$IMAGE" ] || fail "values.yaml image.repository '$values_repository' is not '$IMAGE', where the release pushes the image"
[ -z "$values_tag" ] || fail "values.yaml image.tag is '$values_tag': the chart must default to its appVersion, the tag the release pushes"
if [ $# -gt 0 ]; then
  tag=$1
  if [[ ! "$tag" =~ ^v ]] || [[ ! "${tag#v}" =~ $semver ]]; then
    fail "tag '$tag' is not v<semantic version>"
  fi
  [ "${tag#v}" = "$cargo_version" ] || fail "tag '$tag' differs from the version '$cargo_version' (Cargo.toml, Chart.yaml version and appVersion)"
fi
[ "$failed" = 0 ] || exit 1
printf 'version=%s\nimage=%s\nchart_repository=%s\n' "$cargo_version" "$IMAGE" "$CHART_REPOSITORY"
