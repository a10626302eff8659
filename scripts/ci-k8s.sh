#!/usr/bin/env bash
# CI entry for the Kubernetes integration tests: makes sure the tools are
# there, builds the control-plane binaries unless cached (first build: see
# docs/testing.md for the time it takes), then runs `npm run test:k8s`, which
# starts one test cluster, runs test/kubernetes/cluster/**/*.test.ts against it and stops it.
#
# Needs: Go (>= the go line of k8s/testcluster/*/go.mod), openssl, flock,
# network access to the Go module proxy on a cold cache, and the npm
# dependencies. Cache: ${CAPSTAN_K8S_CACHE:-$HOME/.cache/capstan-k8s}.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

missing=()
command -v openssl >/dev/null || missing+=(openssl)
command -v flock >/dev/null || missing+=(util-linux)
if ((${#missing[@]})); then
  echo "ci-k8s: installing ${missing[*]}" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! command -v go >/dev/null; then
  echo "ci-k8s: Go is required to build the test control plane (it is preinstalled on this machine kind)" >&2
  exit 1
fi
[[ -d node_modules/@kubernetes/client-node ]] || npm ci --no-audit --no-fund

start=$(date +%s)
bash scripts/k8s-testcluster.sh build >/dev/null
echo "ci-k8s: control-plane binaries ready after $(( $(date +%s) - start ))s" >&2

npm run test:k8s
