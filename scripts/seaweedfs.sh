#!/usr/bin/env bash
# Builds, once, the SeaweedFS `weed` binary whose S3 gateway the object-store
# task-log tests run against (test/logging), from the Go module pinned in
# scripts/seaweedfs/go.mod (+ go.sum), and caches it outside the repository.
# The cache key is a hash of those pin files, so changing the pin rebuilds and
# an unchanged checkout reuses the build. It shares GOMODCACHE and GOCACHE with
# scripts/k8s-testcluster.sh and scripts/helm.sh (common modules such as grpc
# and protobuf are downloaded and compiled once).
#
# Usage:
#   scripts/seaweedfs.sh build   build if not cached; prints the weed binary's path
#   scripts/seaweedfs.sh path    prints the weed binary's path; exit 3 if not built
#
# Environment:
#   CAPSTAN_SEAWEEDFS_CACHE  cache root (default: $HOME/.cache/capstan-seaweedfs)
#   GOMODCACHE, GOCACHE as usual for Go
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pins="$repo/scripts/seaweedfs"
cache="${CAPSTAN_SEAWEEDFS_CACHE:-$HOME/.cache/capstan-seaweedfs}"
# Bump when the recipe below changes in a way the pin files do not show.
recipe=1

key="$(cat "$pins/go.mod" "$pins/go.sum" <(echo "recipe=$recipe") | sha256sum | cut -c1-16)"
weed="$cache/builds/$key/bin/weed"

build() {
  command -v go >/dev/null || { echo "seaweedfs.sh: Go is required (see docs/testing.md)" >&2; exit 1; }
  mkdir -p "$cache/builds"
  # One build at a time per cache: parallel CI jobs or test runs wait here.
  exec 9>"$cache/builds/.lock"
  flock 9
  if [[ -x "$weed" ]]; then echo "$weed"; return; fi

  local tmp start
  tmp="$(mktemp -d "$cache/builds/.tmp-XXXXXX")"
  chmod 755 "$tmp"
  start=$(date +%s)
  echo "seaweedfs.sh: building into $weed (first build takes a while)" >&2
  # -mod=readonly: the committed go.mod/go.sum are the pins; a missing entry is
  # an error, never a silent upgrade. CGO off: a static, self-contained binary.
  (
    cd "$pins"
    CGO_ENABLED=0 GOFLAGS="-mod=readonly -trimpath -buildvcs=false" \
      go build -ldflags='-s -w' -o "$tmp/weed" github.com/seaweedfs/seaweedfs/weed
  ) >&2
  "$tmp/weed" version >&2
  mkdir -p "$cache/builds/$key"
  rm -rf "$cache/builds/$key/bin"
  mv "$tmp" "$cache/builds/$key/bin"
  echo "seaweedfs.sh: built in $(( $(date +%s) - start ))s" >&2
  echo "$(( $(date +%s) - start ))" > "$cache/builds/$key/build-seconds"
  echo "$weed"
}

case "${1:-build}" in
  build) if [[ -x "$weed" ]]; then echo "$weed"; else build; fi ;;
  path) if [[ -x "$weed" ]]; then echo "$weed"; else echo "seaweedfs.sh: not built; run: bash scripts/seaweedfs.sh build" >&2; exit 3; fi ;;
  *) echo "usage: $0 [build|path]" >&2; exit 2 ;;
esac
