#!/usr/bin/env bash
# Solver → Contract between two hubs in Kubernetes mode, each on its own private kube-apiserver
# + etcd: RUNS sequential Solvers (1 CPU, 1 GiB, 1 pod, reserve and buy) created on the
# consumer's cluster, timed by watches to status Solved and to the Contract on the provider's.
#   tests/bench/kube-solve.sh [RUNS]      e.g. tests/bench/kube-solve.sh 20
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-20}
cargo build --release --locked -q -p fluidos-tests --bins
exec "${CARGO_TARGET_DIR:-target}/release/fluidos-kubebench" solve --runs "$runs"
