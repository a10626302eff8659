#!/usr/bin/env bash
# Builds, once, the binaries of the Kubernetes test cluster and caches them
# outside the repository:
#   kube-apiserver, kube-controller-manager, kube-scheduler and etcd from the
#   Go modules pinned in k8s/testcluster/kube/go.mod (+ go.sum), and kwok
#   from k8s/testcluster/kwok/go.mod (+ go.sum).
# The cache key is a hash of those pin files, so changing a pin rebuilds and
# an unchanged checkout reuses the build.
#
# Usage:
#   scripts/k8s-testcluster.sh build    build if not cached; prints the bin dir
#   scripts/k8s-testcluster.sh bin-dir  prints the bin dir; exit 3 if not built
#
# Environment:
#   CAPSTAN_K8S_CACHE  cache root (default: $HOME/.cache/capstan-k8s)
#   GOMODCACHE, GOCACHE as usual for Go (the build cache makes rebuilds cheap)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pins="$repo/k8s/testcluster"
cache="${CAPSTAN_K8S_CACHE:-$HOME/.cache/capstan-k8s}"
# Bump when the recipe below changes in a way the pin files do not show.
recipe=1

key="$(cat "$pins/kube/go.mod" "$pins/kube/go.sum" "$pins/kwok/go.mod" "$pins/kwok/go.sum" \
  <(echo "recipe=$recipe") | sha256sum | cut -c1-16)"
bin="$cache/builds/$key/bin"
binaries=(kube-apiserver kube-controller-manager kube-scheduler etcd kwok)

is_built() {
  local b
  for b in "${binaries[@]}"; do [[ -x "$bin/$b" ]] || return 1; done
}

build() {
  command -v go >/dev/null || { echo "k8s-testcluster: Go is required (see docs/testing.md)" >&2; exit 1; }
  mkdir -p "$cache/builds"
  # One build at a time per cache: parallel CI jobs or test runs wait here.
  exec 9>"$cache/builds/.lock"
  flock 9
  if is_built; then echo "$bin"; return; fi

  local tmp start
  tmp="$(mktemp -d "$cache/builds/.tmp-XXXXXX")"
  chmod 755 "$tmp"
  start=$(date +%s)
  echo "k8s-testcluster: building into $bin (first build takes a while)" >&2
  # -mod=readonly: the committed go.mod/go.sum are the pins; a missing entry
  # is an error, never a silent upgrade. CGO off: static, self-contained binaries.
  # One invocation for the four binaries lets them share compiled packages.
  (
    cd "$pins/kube"
    CGO_ENABLED=0 GOFLAGS="-mod=readonly -trimpath -buildvcs=false" \
      go build -ldflags='-s -w' -o "$tmp/" \
        k8s.io/kubernetes/cmd/kube-apiserver \
        k8s.io/kubernetes/cmd/kube-controller-manager \
        k8s.io/kubernetes/cmd/kube-scheduler \
        go.etcd.io/etcd/server/v3
  ) >&2
  # The etcd server's main package is the module root, so Go names it 'server'.
  mv "$tmp/server" "$tmp/etcd"
  (
    cd "$pins/kwok"
    CGO_ENABLED=0 GOFLAGS="-mod=readonly -trimpath -buildvcs=false" \
      go build -ldflags='-s -w' -o "$tmp/kwok" sigs.k8s.io/kwok/cmd/kwok
  ) >&2
  mkdir -p "$cache/builds/$key"
  rm -rf "$bin"
  mv "$tmp" "$bin"
  echo "k8s-testcluster: built in $(( $(date +%s) - start ))s" >&2
  echo "$(( $(date +%s) - start ))" > "$cache/builds/$key/build-seconds"
  echo "$bin"
}

case "${1:-build}" in
  build) if is_built; then echo "$bin"; else build; fi ;;
  bin-dir) if is_built; then echo "$bin"; else echo "k8s-testcluster: not built; run: bash scripts/k8s-testcluster.sh build" >&2; exit 3; fi ;;
  *) echo "usage: $0 [build|bin-dir]" >&2; exit 2 ;;
esac
