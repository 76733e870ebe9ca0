# The Flux versions the tests use, sourced by testing/controllers/build.sh (the controllers the
# smoke run starts) and testing/crds/build.sh (the CRDs every test installs), so both agree.
# Why these versions: testing/controllers/build.sh.
SOURCE_CONTROLLER_VERSION="${SOURCE_CONTROLLER_VERSION:-v1.9.4}"
KUSTOMIZE_CONTROLLER_VERSION="${KUSTOMIZE_CONTROLLER_VERSION:-v1.9.0}"
# helm-controller's own module is refused by the Go module proxy; its API module is served, and
# its CRD is generated from it (testing/crds/build.sh). v1.6.3 is the API of Flux v2.9.4.
HELM_CONTROLLER_API_VERSION="${HELM_CONTROLLER_API_VERSION:-v1.6.3}"
CONTROLLER_TOOLS_VERSION="${CONTROLLER_TOOLS_VERSION:-v0.23.0}"

# module_dir MODULE VERSION: where the Go module cache holds that module's files (downloaded if
# needed).
module_dir() {
  GOFLAGS=-mod=mod go mod download -json "$1@$2" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])'
}
