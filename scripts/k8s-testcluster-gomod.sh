#!/usr/bin/env bash
# Re-pins the test cluster's Kubernetes release: rewrites
# k8s/testcluster/kube/go.mod to require k8s.io/kubernetes vX.Y.Z and to
# replace each of its staging modules (which it points at ./staging, invisible
# to a dependent module) by the published v0.Y.Z of the same release, then
# records every checksum the build needs in go.sum. Compiles nothing.
#
# Usage: scripts/k8s-testcluster-gomod.sh 1.37.2
set -euo pipefail

version="${1:?usage: $0 X.Y.Z (a k8s.io/kubernetes release)}"
staging="0.${version#*.}"
dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/k8s/testcluster/kube"
cd "$dir"

modfile="$(go mod download -json "k8s.io/kubernetes@v$version" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')"
[[ -f "$modfile" ]] || { echo "could not download k8s.io/kubernetes@v$version" >&2; exit 1; }

{
  echo '// Pins the Kubernetes control-plane binaries the test cluster is built from.'
  echo '// k8s.io/kubernetes points its staging modules at ./staging, which a dependent'
  echo '// module cannot see, so each one is replaced by its published v0 twin of the'
  echo '// same release. Regenerate with scripts/k8s-testcluster-gomod.sh.'
  echo 'module capstan.dev/testcluster/kube'
  echo
  echo "go $(sed -n 's/^go //p' "$modfile")"
  echo
  echo "require k8s.io/kubernetes v$version"
  echo
  echo 'replace ('
  awk -v v="v$staging" '$2 == "=>" && $3 ~ /^\.\/staging\// { printf "\t%s => %s %s\n", $1, $1, v }' "$modfile"
  echo ')'
} > go.mod
rm -f go.sum

# etcd at the version this release itself requires (its integration tests embed it).
etcd="$(awk '$1 == "go.etcd.io/etcd/server/v3" { print $2 }' "$modfile")"
# `go get` of the packages we build, at exact versions, adds their requirements
# and checksums without upgrading anything past what the release requires.
go get \
  "k8s.io/kubernetes/cmd/kube-apiserver@v$version" \
  "k8s.io/kubernetes/cmd/kube-controller-manager@v$version" \
  "k8s.io/kubernetes/cmd/kube-scheduler@v$version" \
  "go.etcd.io/etcd/server/v3@$etcd"
echo "pinned k8s.io/kubernetes v$version (staging v$staging); etcd: $(go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)"
