#!/usr/bin/env bash
# Hub ingestion benchmark: a release hub on 127.0.0.1 and `fluidos-loadgen` with N simulated
# agents over mutual TLS (one connection and one client certificate each).
#   tests/bench/hub-load.sh [AGENTS] [RATE] [DURATION]      e.g. tests/bench/hub-load.sh 10000 2000 60s
set -euo pipefail
cd "$(dirname "$0")/../.."
agents=${1:-1000}; rate=${2:-2000}; duration=${3:-30s}
cargo build --release --locked -q -p fluidos-hub -p fluidos-tests --bin fluidos-hub --bin fluidos-loadgen
work=$(mktemp -d /tmp/fluidos-bench-XXXX)
trap 'kill $(cat "$work/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT
hub=target/release/fluidos-hub
$hub --state-dir "$work/hub" init --domain bench.fluidos >/dev/null
$hub --state-dir "$work/hub" --log warn run --agent-listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --heartbeat 10s \
  >"$work/hub.log" 2>&1 & echo $! >"$work/pid"
for _ in $(seq 100); do [ -f "$work/hub/run.json" ] && break; sleep 0.1; done
target/release/fluidos-loadgen --state-dir "$work/hub" --agents "$agents" --rate "$rate" --duration "$duration"
admin=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["admin"])' "$work/hub/run.json")
echo "hub metrics (store writes, agents):"
curl -s "http://$admin/metrics" | grep -E '^fluidos_hub_(store_writes_total|agents_live|reports_received_total|reports_rejected_total)' || true
echo "hub peak RSS: $(grep VmHWM /proc/"$(cat "$work/pid")"/status)"
