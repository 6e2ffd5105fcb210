#!/usr/bin/env bash
# Builds kube-apiserver from the Go module proxy (no Docker, no downloads from dl.k8s.io) into a
# cache outside the work tree, once; prints the binary's path. Idempotent: a cached binary is
# reused. See ../shared/reference/kube-apiserver-fixture.md (§1) for why a wrapper module with
# one `replace` per staging module is needed.
#
#   FLUIDOS_KUBE_VERSION  Kubernetes version to build (default v1.34.10)
#   FLUIDOS_KUBE_CACHE    cache directory (default ~/.cache/fluidos-rs)
set -euo pipefail
version="${FLUIDOS_KUBE_VERSION:-v1.34.10}"
cache="${FLUIDOS_KUBE_CACHE:-$HOME/.cache/fluidos-rs}"
bin="$cache/kube-apiserver-$version"
if [[ -x "$bin" ]]; then
  echo "$bin"
  exit 0
fi
command -v go >/dev/null || { echo "build-apiserver: Go is required to build kube-apiserver" >&2; exit 1; }

minor="${version#v1.}"; minor="${minor%%.*}"
patch="${version##*.}"
staging_tag="v0.$minor.$patch"
work="$cache/kube-apiserver-build-$version"
mkdir -p "$work"
cd "$work"
export GOTOOLCHAIN=local GOFLAGS=-modcacherw CGO_ENABLED=0 GONOSUMDB=k8s.io,sigs.k8s.io

# k8s.io/kubernetes's own go.mod names its staging modules (`=> ./staging/...`): derive the
# replace list from it so the script stays version-independent.
gomod_url="https://proxy.golang.org/k8s.io/kubernetes/@v/$version.mod"
upstream_mod="$work/kubernetes.mod"
if [[ ! -s "$upstream_mod" ]]; then
  curl -sSfL "$gomod_url" -o "$upstream_mod.tmp" && mv "$upstream_mod.tmp" "$upstream_mod"
fi
go_line=$(grep -m1 '^go ' "$upstream_mod")
godebug_line=$(grep -m1 '^godebug ' "$upstream_mod" || true)
{
  echo "module local/kube-apiserver-build"
  echo "$go_line"
  [[ -n "$godebug_line" ]] && echo "$godebug_line"
  echo "require k8s.io/kubernetes $version"
  echo "replace ("
  grep -E '=> \./staging/' "$upstream_mod" | awk -v tag="$staging_tag" '{print "\t" $1 " => " $1 " " tag}'
  echo ")"
} > go.mod
cat > tools.go <<'GO'
//go:build tools

package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
GO
echo "build-apiserver: resolving modules for kube-apiserver $version (first run: several minutes)" >&2
go mod tidy >&2
echo "build-apiserver: compiling kube-apiserver $version (first run: 10-20 minutes on 2 cores)" >&2
go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$version \
  -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor" \
  -o "$bin.tmp" k8s.io/kubernetes/cmd/kube-apiserver >&2
mv "$bin.tmp" "$bin"
echo "$bin"
