#!/usr/bin/env bash
# Footprint of a given (shipped) agent binary, natively: it enrolls with a local hub, runs the
# real sysinfo sampler, sampling and reporting every second for DURATION seconds; prints steady
# RSS (end of the run, with its anonymous/file split), peak RSS, CPU per report (on-CPU time of
# all its threads from /proc/<pid>/task/*/schedstat, ns, over the reports the hub accepted;
# sampling included) and the binary's size. Same method as tests/bench/agent-footprint.sh, but
# it takes the release binaries (agent and hub) instead of building.
#
#   cross/bench-footprint.sh [AGENT] [HUB] [DURATION_SECONDS]
#
# Defaults: the x86_64-unknown-linux-musl `edge` binaries of cross/release.sh (agent and hub) in
# $CARGO_TARGET_DIR (or target/), 60 s. Only native binaries: RSS under qemu measures the emulator.
set -euo pipefail
cd "$(dirname "$0")/.."
tdir=${CARGO_TARGET_DIR:-target}
agent=${1:-$tdir/x86_64-unknown-linux-musl/edge/fluidos-agent}
hub=${2:-$tdir/x86_64-unknown-linux-musl/edge/fluidos-hub}
duration=${3:-60}
for b in "$agent" "$hub"; do [ -x "$b" ] || { echo "bench-footprint: $b missing (run cross/release.sh)" >&2; exit 1; }; done

work=$(mktemp -d /tmp/fluidos-footprint-XXXX)
agent_pid='' hub_pid=''
cleanup() {
  if [ -n "$agent_pid" ]; then kill "$agent_pid" 2>/dev/null || true; fi
  if [ -n "$hub_pid" ]; then kill "$hub_pid" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
"$hub" --state-dir "$work/hub" init --domain bench.fluidos >/dev/null
"$hub" --state-dir "$work/hub" --log warn run --agent-listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --heartbeat 1s \
  >"$work/hub.log" 2>&1 & hub_pid=$!
for _ in $(seq 100); do [ -f "$work/hub/run.json" ] && break; sleep 0.1; done
addr=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["agentApi"])' "$work/hub/run.json")
token=$("$hub" --state-dir "$work/hub" token create 2>/dev/null)
"$agent" --state-dir "$work/agent" enroll --hub "https://$addr" --token "$token" --node-name bench-agent >/dev/null
"$agent" --state-dir "$work/agent" --log warn run --sample-interval 1s --heartbeat 1s >"$work/agent.log" 2>&1 &
agent_pid=$!
sleep 5   # warm-up: first samples, TLS session, SQLite pages
oncpu() { cat /proc/"$1"/task/*/schedstat | awk '{s+=$1} END {print s}'; }
accepted() { "$hub" --state-dir "$work/hub" agents -o json | python3 -c 'import json,sys;print(json.load(sys.stdin)[0]["acceptedTotal"])'; }
cpu0=$(oncpu "$agent_pid")
seq0=$(accepted)
max_rss=0
for _ in $(seq "$duration"); do
  sleep 1
  r=$(awk '/^VmRSS/{print $2}' "/proc/$agent_pid/status")
  [ "$r" -gt "$max_rss" ] && max_rss=$r
done
cpu1=$(oncpu "$agent_pid")
status=$(cat "/proc/$agent_pid/status")
field() { awk -v k="$1:" '$1==k{print $2}' <<<"$status"; }
kill -TERM "$agent_pid"; wait "$agent_pid" || true; agent_pid=''
sleep 1.5
seq1=$(accepted)
python3 - "$cpu0" "$cpu1" "$((seq1 - seq0))" "$(field VmRSS)" "$(field RssAnon)" "$(field RssFile)" \
  "$max_rss" "$(field VmHWM)" "$duration" "$(stat -c %s "$agent")" "$agent" <<'PY'
import sys
cpu0, cpu1, reports, rss, anon, filerss, maxrss, hwm, dur, size = map(float, sys.argv[1:11])
cpu_ms = (cpu1 - cpu0) / 1e6
print(f"binary {sys.argv[11]}: {size / 1048576:.2f} MiB")
print(f"duration {dur:.0f}s, reports accepted {reports:.0f}")
print(f"agent CPU {cpu_ms:.0f} ms total -> {cpu_ms / max(reports, 1):.3f} ms per report (sampling included)")
print(f"agent RSS steady {rss / 1024:.2f} MiB (anon {anon / 1024:.2f}, file {filerss / 1024:.2f}); "
      f"max during run {maxrss / 1024:.2f} MiB; peak (VmHWM) {hwm / 1024:.2f} MiB")
PY
