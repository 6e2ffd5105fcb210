#!/usr/bin/env bash
# Checks, with `kubectl auth can-i --as`, that the hub's ServiceAccount has exactly the rights
# config/deploy grants it (rbac.yaml) and that a buyer gets only fluidos-peer in its contract
# namespace. Read-only: it creates nothing. Needs a kubeconfig allowed to impersonate
# (cluster-admin). Exit status 1 if any answer differs from the expected one.
#
#   config/deploy/verify-rbac.sh [namespace] [peer-namespace-prefix]
set -uo pipefail

ns=${1:-fluidos}
peer_ns=${2:-fluidos-peer-}verify
hub=system:serviceaccount:$ns:fluidos-hub
buyer=system:serviceaccount:$peer_ns:fluidos-peer
failed=0

# expect USER yes|no ARGS...: one can-i question and its expected answer.
expect() {
  local user=$1 want=$2 got
  shift 2
  got=$(kubectl auth can-i --as="$user" "$@" 2>/dev/null)
  if [ "$got" = "$want" ]; then
    printf 'ok        %-3s %s\n' "$got" "$*"
  else
    printf 'MISMATCH  %-3s %s (expected %s)\n' "${got:-?}" "$*" "$want"
    failed=1
  fi
}

kinds="flavors.nodecore solvers.nodecore allocations.nodecore serviceblueprints.nodecore
  discoveries.advertisement peeringcandidates.advertisement reservations.reservation
  transactions.reservation contracts.reservation knownclusters.network brokers.network"
for kind in $kinds; do
  for verb in get list watch create update patch delete; do
    expect "$hub" yes "$verb" "$kind.fluidos.eu" -n "$ns"
  done
  for verb in get update patch; do
    expect "$hub" yes "$verb" "$kind.fluidos.eu" --subresource=status -n "$ns"
  done
  expect "$hub" no deletecollection "$kind.fluidos.eu" -n "$ns"
  expect "$hub" no create "$kind.fluidos.eu" -n default
done

# Leader election and events.
expect "$hub" yes create leases.coordination.k8s.io -n "$ns"
for verb in get update patch; do
  expect "$hub" yes "$verb" leases.coordination.k8s.io/fluidos-hub -n "$ns"
done
expect "$hub" no patch leases.coordination.k8s.io/another-lease -n "$ns"
expect "$hub" no delete leases.coordination.k8s.io/fluidos-hub -n "$ns"
expect "$hub" no create leases.coordination.k8s.io -n kube-system
expect "$hub" yes create events -n "$ns"
expect "$hub" yes patch events.events.k8s.io -n "$ns"
expect "$hub" no list events -n "$ns"

# Nodes -> Flavors: read only.
expect "$hub" yes watch nodes
expect "$hub" yes list pods -A
expect "$hub" no update nodes
expect "$hub" no create pods -n "$ns"
expect "$hub" no get secrets -n "$ns"
expect "$hub" no get configmaps -n "$ns"

# Peering.
expect "$hub" yes create namespaces
expect "$hub" yes get "namespaces/$peer_ns"
expect "$hub" yes delete "namespaces/$peer_ns"
expect "$hub" no list namespaces
expect "$hub" no update namespaces/kube-system
expect "$hub" yes create serviceaccounts -n "$peer_ns"
expect "$hub" yes get serviceaccounts/fluidos-peer -n "$peer_ns"
expect "$hub" no get serviceaccounts/default -n "$peer_ns"
expect "$hub" no list serviceaccounts -n "$peer_ns"
expect "$hub" yes create serviceaccounts/fluidos-peer --subresource=token -n "$peer_ns"
expect "$hub" no create serviceaccounts/default --subresource=token -n "$peer_ns"
expect "$hub" no create serviceaccounts/default --subresource=token -n kube-system
expect "$hub" yes create rolebindings.rbac.authorization.k8s.io -n "$peer_ns"
expect "$hub" yes delete rolebindings.rbac.authorization.k8s.io/fluidos-peer -n "$peer_ns"
expect "$hub" no update rolebindings.rbac.authorization.k8s.io/fluidos-peer -n "$peer_ns"
expect "$hub" no create roles.rbac.authorization.k8s.io -n "$peer_ns"
expect "$hub" no create clusterrolebindings.rbac.authorization.k8s.io
expect "$hub" no create clusterroles.rbac.authorization.k8s.io
expect "$hub" yes bind clusterroles.rbac.authorization.k8s.io/fluidos-peer
for role in cluster-admin admin edit view; do
  expect "$hub" no bind "clusterroles.rbac.authorization.k8s.io/$role"
done
expect "$hub" no escalate clusterroles.rbac.authorization.k8s.io/fluidos-peer
expect "$hub" no create secrets -n kube-system
expect "$hub" no create deployments.apps -n "$peer_ns"
expect "$hub" no impersonate users
expect "$hub" no '*' '*'

# What fluidos-peer grants a buyer: its rules apply only where a RoleBinding grants them, so
# without one the buyer has nothing (this checks the role is not bound cluster-wide).
expect "$buyer" no create deployments.apps -n "$peer_ns"
expect "$buyer" no list pods -A
expect "$buyer" no list nodes

exit "$failed"
