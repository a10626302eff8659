#!/usr/bin/env bash
# Builds, once, the helm binary the chart tests run (helm lint, helm template)
# from the Go module pinned in k8s/helm/go.mod (+ go.sum), and caches it
# outside the repository. The cache key is a hash of those pin files, so
# changing the pin rebuilds and an unchanged checkout reuses the build.
# It shares GOMODCACHE and GOCACHE with scripts/k8s-testcluster.sh, so the
# k8s.io modules both builds use are downloaded and compiled once.
#
# Usage:
#   scripts/helm.sh build   build if not cached; prints the helm binary's path
#   scripts/helm.sh path    prints the helm binary's path; exit 3 if not built
#
# Environment:
#   CAPSTAN_HELM_CACHE  cache root (default: $HOME/.cache/capstan-helm)
#   GOMODCACHE, GOCACHE as usual for Go
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pins="$repo/k8s/helm"
cache="${CAPSTAN_HELM_CACHE:-$HOME/.cache/capstan-helm}"
# Bump when the recipe below changes in a way the pin files do not show.
recipe=1

key="$(cat "$pins/go.mod" "$pins/go.sum" <(echo "recipe=$recipe") | sha256sum | cut -c1-16)"
helm="$cache/builds/$key/bin/helm"

build() {
  command -v go >/dev/null || { echo "helm.sh: Go is required (see docs/testing.md)" >&2; exit 1; }
  mkdir -p "$cache/builds"
  # One build at a time per cache: parallel CI jobs or test runs wait here.
  exec 9>"$cache/builds/.lock"
  flock 9
  if [[ -x "$helm" ]]; then echo "$helm"; return; fi

  local tmp start version
  tmp="$(mktemp -d "$cache/builds/.tmp-XXXXXX")"
  chmod 755 "$tmp"
  start=$(date +%s)
  echo "helm.sh: building into $helm (first build takes a while)" >&2
  # -mod=readonly: the committed go.mod/go.sum are the pins; a missing entry is
  # an error, never a silent upgrade. The version goes into the binary the way
  # helm's own Makefile puts it there, so `helm version` names the pin.
  (
    cd "$pins"
    version="$(GOFLAGS=-mod=readonly go list -m -f '{{.Version}}' helm.sh/helm/v4)"
    CGO_ENABLED=0 GOFLAGS="-mod=readonly -trimpath -buildvcs=false" \
      go build -ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=$version" \
        -o "$tmp/helm" helm.sh/helm/v4/cmd/helm
  ) >&2
  "$tmp/helm" version --short >&2
  mkdir -p "$cache/builds/$key"
  rm -rf "$cache/builds/$key/bin"
  mv "$tmp" "$cache/builds/$key/bin"
  echo "helm.sh: built in $(( $(date +%s) - start ))s" >&2
  echo "$(( $(date +%s) - start ))" > "$cache/builds/$key/build-seconds"
  echo "$helm"
}

case "${1:-build}" in
  build) if [[ -x "$helm" ]]; then echo "$helm"; else build; fi ;;
  path) if [[ -x "$helm" ]]; then echo "$helm"; else echo "helm.sh: not built; run: bash scripts/helm.sh build" >&2; exit 3; fi ;;
  *) echo "usage: $0 [build|path]" >&2; exit 2 ;;
esac
