#!/usr/bin/env bash
# Kubernetes-mode write benchmark: a release hub with store = "kubernetes" on a private
# kube-apiserver + etcd (fluidos-kubeplane), loaded by fluidos-loadgen with AGENTS simulated
# agents at a heartbeat-like rate (every agent reports once per 10 s heartbeat, with ±JITTER
# noise on its usage figures). fluidos-kubebench writes counts the API server's mutating
# requests (its own apiserver_request_total) and the hub's store writes: idle, warm-up (every
# agent's first report creates its Flavor) and a steady-state window of DURATION.
#   tests/bench/kube-writes.sh [AGENTS] [DURATION] [JITTER]     e.g. tests/bench/kube-writes.sh 10000 120s
# Env: IDLE (seconds the hub runs before the agents start, default 20), WARMUP_MAX (default 600).
set -euo pipefail
cd "$(dirname "$0")/../.."
agents=${1:-1000}; duration=${2:-60s}; jitter=${3:-0.02}
idle=${IDLE:-20}; warmup_max=${WARMUP_MAX:-600}
seconds=${duration%s}
rate=$(awk -v a="$agents" 'BEGIN { print a / 10 }')
bin=${CARGO_TARGET_DIR:-target}/release
cargo build --release --locked -q -p fluidos-hub -p fluidos-tests --bin fluidos-hub \
  --bin fluidos-loadgen --bin fluidos-kubeplane --bin fluidos-kubebench
work=$(mktemp -d /tmp/fluidos-kube-writes-XXXX)
cleanup() {
  for p in loadgen hub; do kill "$(cat "$work/$p.pid" 2>/dev/null)" 2>/dev/null || true; done
  [ -n "${PLANE_PID:-}" ] && kill "$PLANE_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The control plane lives while our end of its stdin is open (and dies with this script).
coproc PLANE { exec "$bin/fluidos-kubeplane" --namespace fluidos 2>"$work/plane.log"; }
read -r plane <&"${PLANE[0]}" || { cat "$work/plane.log" >&2; exit 1; }
kubeconfig=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["kubeconfig"])' "$plane")
echo "control plane: $plane"

"$bin/fluidos-hub" --state-dir "$work/hub" init --domain bench.fluidos >/dev/null 2>&1
cat >"$work/hub.toml" <<TOML
store = "kubernetes"
[kubernetes]
kubeconfig = "$kubeconfig"
namespace = "fluidos"
TOML
"$bin/fluidos-hub" --state-dir "$work/hub" --config "$work/hub.toml" --log warn run \
  --agent-listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --rear-listen 127.0.0.1:0 --heartbeat 10s \
  >"$work/hub.log" 2>&1 & echo $! >"$work/hub.pid"
for _ in $(seq 300); do [ -f "$work/hub/run.json" ] && break; sleep 0.1; done
[ -f "$work/hub/run.json" ] || { echo "the hub did not start:" >&2; cat "$work/hub.log" >&2; exit 1; }

"$bin/fluidos-kubebench" writes --kubeconfig "$kubeconfig" --hub-state "$work/hub" \
  --agents "$agents" --duration "$duration" --warmup-timeout "${warmup_max}s" >"$work/writes.json" &
bench=$!
sleep "$idle"
"$bin/fluidos-loadgen" --state-dir "$work/hub" --agents "$agents" --rate "$rate" \
  --duration "$((warmup_max + seconds + 60))s" --jitter "$jitter" >"$work/loadgen.out" 2>&1 &
echo $! >"$work/loadgen.pid"
status=0; wait "$bench" || status=$?
echo "loadgen: $(grep -m1 connected "$work/loadgen.out" || tail -3 "$work/loadgen.out")"
cat "$work/writes.json"
echo "hub memory at the end: $(grep -E 'VmRSS|VmHWM' /proc/"$(cat "$work/hub.pid")"/status | tr -s ' \t\n' ' ')"
echo "hub warnings and errors (count, message; then the first of each in full):"
sed 's/\x1b\[[0-9;]*m//g' "$work/hub.log" | grep -E '^[^ ]+ +(WARN|ERROR) ' >"$work/problems" || true
sed -E 's/^[^ ]+ +//; s/ [a-z_]+=.*//' "$work/problems" | sort | uniq -c | sort -rn | head -10
sed -E 's/^[^ ]+ +//' "$work/problems" | awk '{ key = $1 " " $2 " " $3; if (!(key in seen)) { seen[key] = 1; print "  " substr($0, 1, 400) } }' | head -10
[ "$status" -eq 0 ] || { echo "hub log (last lines):"; tail -20 "$work/hub.log"; }
exit "$status"
