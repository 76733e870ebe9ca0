#!/usr/bin/env bash
# The open port under hostile connections (docs/RELIABILITY.md): the release service (the embedded
# demo, played to its end) with 2,000 connections held open against it, a third each that never
# finish their headers, dribble them a byte at a time (slowloris) or stay idle, from 40 loopback
# addresses (127.0.1.x, 50 each), reopened when the service closes them, while a client with the
# token asks /api/status every 50 ms on a new connection. Prints the service's RSS before, at most during, and 15 s after, the client's
# latencies and failures, and what the service closed. Loopback only, bounded in time.
# AGAIN is how long a closed attacker waits before it reconnects (0: at once, a connection flood
# that also costs the service an accept and a close each time).
#   bash scripts/hostile.sh [SECONDS] [CONNECTIONS] [AGAIN]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$AS_ROOT"
seconds="${1:-60}"
connections="${2:-2000}"
again="${3:-1}"
bin="$CARGO_TARGET_DIR/release/appliance-status"
[ -x "$bin" ] || bash scripts/build.sh >/dev/null
token=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
APPLIANCE_STATUS_TOKEN=$token LEPTOS_SITE_ROOT=target/site RUST_LOG=warn \
  "$bin" serve --demo --speed 100000 --listen "127.0.0.1:$port" >/dev/null 2>&1 &
service=$!
trap 'kill $service 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
sleep 2 # the demo reaches its last step
echo "hostile: $(nproc) cores shared by service and attacker, $(date -u +%F), ${seconds}s, $connections connections reconnecting after ${again}s, service limits: defaults"
python3 scripts/hostile.py --port "$port" --pid "$service" --token "$token" \
  --seconds "$seconds" --connections "$connections" --again "$again"
