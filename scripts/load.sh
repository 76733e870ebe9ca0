#!/usr/bin/env bash
# Load (issue 12): the release service (the embedded demo played to its end, so the document is
# steady) under `hey` (Go module github.com/rakyll/hey, cached by version) at 200 and 2,000
# requests/s, for: /api/status with a bearer token, the same with If-None-Match (304), the page
# (server-side rendered, with a session), and the page's server function. The load generator runs
# on the same machine as the service (they share its cores). Prints p50/p99 and throughput for
# docs/BENCHMARKS.md.  bash scripts/load.sh [SECONDS_PER_RUN]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$AS_ROOT"
HEY_VERSION=v0.1.4
seconds="${1:-15}"
hey_bin="$AS_CACHE/tools/hey-$HEY_VERSION/bin/hey"
if [ ! -x "$hey_bin" ]; then
  GOBIN="$(dirname "$hey_bin")" go install "github.com/rakyll/hey@$HEY_VERSION"
fi
[ -x "$CARGO_TARGET_DIR/release/appliance-status" ] || bash scripts/build.sh >/dev/null

token=load-token-0123456789abcdef0123456789ab
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
APPLIANCE_STATUS_TOKEN=$token LEPTOS_SITE_ROOT=target/site RUST_LOG=warn \
  "$CARGO_TARGET_DIR/release/appliance-status" serve --demo --speed 100000 --listen "127.0.0.1:$port" \
  >/dev/null 2>&1 &
service=$!
trap 'kill $service 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "$base/readyz" >/dev/null && break; sleep 0.1; done
sleep 2 # the demo reaches its last step
etag=$(curl -sf -D - -o /dev/null -H "Authorization: Bearer $token" "$base/api/status" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag"{print $2}')
cookie=$(curl -s -D - -o /dev/null -d "token=$token" "$base/login" | tr -d '\r' | awk -F': ' 'tolower($1)=="set-cookie"{split($2,a,";"); print a[1]}')
bytes=$(curl -sf -H "Authorization: Bearer $token" "$base/api/status" | wc -c)
echo "load: $(nproc) cores shared by service and load generator, $(date -u +%F), ${seconds}s per run, document $bytes bytes"
printf '%-34s %6s %10s %10s %10s %s\n' case rate "req/s" p50_ms p99_ms statuses

run() { # name rate args...
  local name=$1 rate=$2; shift 2
  local workers=$(( rate >= 1000 ? 50 : 10 ))
  local out
  out=$("$hey_bin" -z "${seconds}s" -c "$workers" -q $(( rate / workers )) "$@")
  local rps p50 p99 codes
  rps=$(awk '/Requests\/sec/{printf "%.0f", $2}' <<<"$out")
  p50=$(awk '/ 50% in /{printf "%.2f", $3*1000}' <<<"$out")
  p99=$(awk '/ 99% in /{printf "%.2f", $3*1000}' <<<"$out")
  codes=$(awk '/Status code distribution/{f=1;next} f&&/\[/{gsub(/[\[\]]/,"");printf "%s:%s ", $1, $2} /^$/{f=0}' <<<"$out")
  printf '%-34s %6s %10s %10s %10s %s\n' "$name" "$rate" "$rps" "$p50" "$p99" "$codes"
}
for rate in 200 2000; do
  run "/api/status (bearer)" $rate -H "Authorization: Bearer $token" "$base/api/status"
  run "/api/status (bearer, If-None-Match)" $rate -H "Authorization: Bearer $token" -H "If-None-Match: $etag" "$base/api/status"
  run "/ (page, session)" $rate -H "Cookie: $cookie" "$base/"
  run "server function (session)" $rate -m POST -H "Cookie: $cookie" -H "Sec-Fetch-Site: same-origin" \
    -T application/x-www-form-urlencoded -d "" "$base/api/status-document"
done
