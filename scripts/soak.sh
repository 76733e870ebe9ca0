#!/usr/bin/env bash
# The soak run (issue 12): the release service against a real API server for SOAK_MINUTES
# (default 10) with ≥ 50 changes/s and the API server killed every 2 minutes. Prints figures for
# docs/RELIABILITY.md; fails if the service restarts, stops answering, or misses the final state.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$AS_ROOT"
bash scripts/setup.sh >/dev/null
[ -x "$CARGO_TARGET_DIR/release/appliance-status" ] || bash scripts/build.sh >/dev/null
SOAK_MINUTES="${1:-${SOAK_MINUTES:-10}}" cargo bench -p server --bench soak --locked 2>/dev/null
