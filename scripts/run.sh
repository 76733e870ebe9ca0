#!/usr/bin/env bash
# The README's run command: installs what is needed, builds the release, and serves the embedded
# demo scenario (the PRD's observed bootstrap) on 0.0.0.0:8080. Extra arguments go to `serve`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
bash "$AS_ROOT/scripts/setup.sh" run
bash "$AS_ROOT/scripts/build.sh"
cd "$AS_ROOT"
export LEPTOS_SITE_ROOT="$AS_ROOT/target/site"
exec "$CARGO_TARGET_DIR/release/appliance-status" serve --demo "$@"
