#!/usr/bin/env bash
# Agent footprint benchmark: a release agent with the real sysinfo sampler reporting to a local
# hub every second for DURATION seconds; prints steady RSS, peak RSS, and CPU time per report
# (the agent's user+system time divided by the reports the hub accepted from it).
#   tests/bench/agent-footprint.sh [DURATION_SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
duration=${1:-60}
cargo build --release --locked -q -p fluidos-hub -p fluidos-agent
work=$(mktemp -d /tmp/fluidos-agent-bench-XXXX)
cleanup() { kill "$agent_pid" "$hub_pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
hub=target/release/fluidos-hub; agent=target/release/fluidos-agent
$hub --state-dir "$work/hub" init --domain bench.fluidos >/dev/null
$hub --state-dir "$work/hub" --log warn run --agent-listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --heartbeat 1s \
  >"$work/hub.log" 2>&1 & hub_pid=$!
for _ in $(seq 100); do [ -f "$work/hub/run.json" ] && break; sleep 0.1; done
addr=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["agentApi"])' "$work/hub/run.json")
token=$($hub --state-dir "$work/hub" token create 2>/dev/null)
$agent --state-dir "$work/agent" enroll --hub "https://$addr" --token "$token" --node-name bench-agent >/dev/null
$agent --state-dir "$work/agent" --log warn run >"$work/agent.log" 2>&1 & agent_pid=$!
sleep 5   # warm-up: first samples, TLS session, SQLite pages
ticks=$(getconf CLK_TCK)
cpu0=$(awk '{print $14+$15}' /proc/$agent_pid/stat)
seq0=$($hub --state-dir "$work/hub" agents -o json | python3 -c 'import json,sys;print(json.load(sys.stdin)[0]["acceptedTotal"])')
sleep "$duration"
cpu1=$(awk '{print $14+$15}' /proc/$agent_pid/stat)
rss=$(grep VmRSS /proc/$agent_pid/status | awk '{print $2}')
hwm=$(grep VmHWM /proc/$agent_pid/status | awk '{print $2}')
kill -TERM $agent_pid; wait $agent_pid || true
sleep 1.5
seq1=$($hub --state-dir "$work/hub" agents -o json | python3 -c 'import json,sys;print(json.load(sys.stdin)[0]["acceptedTotal"])')
reports=$((seq1 - seq0))
python3 - "$cpu0" "$cpu1" "$ticks" "$reports" "$rss" "$hwm" "$duration" <<'PY'
import sys
cpu0, cpu1, ticks, reports, rss, hwm, dur = map(float, sys.argv[1:])
cpu_ms = (cpu1 - cpu0) * 1000 / ticks
print(f"duration {dur:.0f}s, reports accepted {reports:.0f}")
print(f"agent CPU {cpu_ms:.0f} ms total -> {cpu_ms / max(reports, 1):.3f} ms per report (sampling included)")
print(f"agent RSS steady {rss / 1024:.2f} MiB, peak {hwm / 1024:.2f} MiB")
PY
ls -l target/release/fluidos-agent | awk '{printf "agent binary (release, x86_64-gnu): %.2f MiB\n", $5/1048576}'
