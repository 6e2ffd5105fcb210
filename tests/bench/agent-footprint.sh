#!/usr/bin/env bash
# Agent footprint benchmark: an agent with the real sysinfo sampler, sampling and reporting to a
# local hub every second for DURATION seconds; prints steady RSS, peak RSS, and CPU time per
# report (on-CPU time of all the agent's threads from /proc/<pid>/task/*/schedstat, in ns,
# divided by the reports the hub accepted from it; sampling included).
#   tests/bench/agent-footprint.sh [DURATION_SECONDS] [AGENT_BINARY]
# AGENT_BINARY defaults to the release build; pass e.g. the edge musl build from dist/.
set -euo pipefail
cd "$(dirname "$0")/../.."
duration=${1:-60}
agent=${2:-target/release/fluidos-agent}
cargo build --release --locked -q -p fluidos-hub -p fluidos-agent
work=$(mktemp -d /tmp/fluidos-agent-bench-XXXX)
cleanup() { kill "$agent_pid" "$hub_pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
hub=target/release/fluidos-hub
$hub --state-dir "$work/hub" init --domain bench.fluidos >/dev/null
$hub --state-dir "$work/hub" --log warn run --agent-listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --heartbeat 1s \
  >"$work/hub.log" 2>&1 & hub_pid=$!
for _ in $(seq 100); do [ -f "$work/hub/run.json" ] && break; sleep 0.1; done
addr=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["agentApi"])' "$work/hub/run.json")
token=$($hub --state-dir "$work/hub" token create 2>/dev/null)
$agent --state-dir "$work/agent" enroll --hub "https://$addr" --token "$token" --node-name bench-agent >/dev/null
$agent --state-dir "$work/agent" --log warn run --sample-interval 1s --heartbeat 1s >"$work/agent.log" 2>&1 & agent_pid=$!
sleep 5   # warm-up: first samples, TLS session, SQLite pages
oncpu() { cat /proc/"$1"/task/*/schedstat | awk '{s+=$1} END {print s}'; }
cpu0=$(oncpu $agent_pid)
seq0=$($hub --state-dir "$work/hub" agents -o json | python3 -c 'import json,sys;print(json.load(sys.stdin)[0]["acceptedTotal"])')
sleep "$duration"
cpu1=$(oncpu $agent_pid)
rss=$(grep VmRSS /proc/$agent_pid/status | awk '{print $2}')
hwm=$(grep VmHWM /proc/$agent_pid/status | awk '{print $2}')
kill -TERM $agent_pid; wait $agent_pid || true
sleep 1.5
seq1=$($hub --state-dir "$work/hub" agents -o json | python3 -c 'import json,sys;print(json.load(sys.stdin)[0]["acceptedTotal"])')
reports=$((seq1 - seq0))
python3 - "$cpu0" "$cpu1" "$reports" "$rss" "$hwm" "$duration" <<'PY'
import sys
cpu0, cpu1, reports, rss, hwm, dur = map(float, sys.argv[1:])
cpu_ms = (cpu1 - cpu0) / 1e6
print(f"duration {dur:.0f}s, reports accepted {reports:.0f}")
print(f"agent CPU {cpu_ms:.0f} ms total -> {cpu_ms / max(reports, 1):.3f} ms per report (sampling included)")
print(f"agent RSS steady {rss / 1024:.2f} MiB, peak {hwm / 1024:.2f} MiB")
PY
ls -l "$agent" | awk '{printf "agent binary %s: %.2f MiB\n", $9, $5/1048576}'
