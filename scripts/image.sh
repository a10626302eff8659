#!/usr/bin/env bash
# Builds the Capstan image (docker/Dockerfile) without a Docker daemon, with Debian's podman and runc.
#
# No base image can be pulled here, so the script first makes the Dockerfile's NODE_IMAGE itself, shaped like
# node:24-bookworm-slim: a Debian bookworm minbase rootfs (debootstrap from Debian's archive), the Node 24 binary
# of the npm `node` package this checkout installed (node_modules/node/bin/node), npm from the machine's npm,
# and the user `node` (uid 1000). It is imported as localhost/capstan-node:<node version>-bookworm-<key>, where
# the key hashes this recipe, the Node binary and the npm version, so a changed input makes a new base and an
# unchanged one is reused. Then `podman build` builds docker/Dockerfile itself on that base: the image a
# Docker user builds with `docker build -f docker/Dockerfile .` is the same recipe on node:24-bookworm-slim.
#
# Podman's storage and settings live in the cache, not in /etc: storage.conf (overlay, graphroot in the cache)
# and containers.conf. Two settings this sandbox needs, each harmless elsewhere: the runtime is runc (crun
# 1.8 refuses hybrid cgroup v1/v2 hosts), and the containers' ulimits are set below the host's (podman asks
# for nofile=1048576, and raising a limit needs CAP_SYS_RESOURCE, which this sandbox's root lacks).
#
# Usage:
#   scripts/image.sh install      apt-get install podman, runc, debootstrap when missing (idempotent)
#   scripts/image.sh build        build the base (once) and the image; prints the image name
#   scripts/image.sh name         prints the image name when built; exit 3 otherwise
#   scripts/image.sh save FILE    the image as a docker-archive tarball (`kind load image-archive FILE`)
#   scripts/image.sh podman ARGS  podman with this script's storage and settings (run, inspect, images, …)
#
# Environment:
#   CAPSTAN_IMAGE        image name (default docker.io/capstan/worker:dev: the name the chart's kind values
#                        use, fully qualified so that a saved archive loads into kind/containerd under it)
#   CAPSTAN_IMAGE_CACHE  cache root (default: $HOME/.cache/capstan-image)
#   CAPSTAN_IMAGE_DEBIAN_MIRROR  Debian archive for debootstrap (default http://deb.debian.org/debian)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${CAPSTAN_IMAGE_CACHE:-$HOME/.cache/capstan-image}"
image="${CAPSTAN_IMAGE:-docker.io/capstan/worker:dev}"
mirror="${CAPSTAN_IMAGE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# Bump when the base recipe below changes in a way its inputs do not show.
recipe=1

mkdir -p "$cache"
# Written only when changed (and atomically): tests run several podman commands through this script at once.
write_conf() { if [[ "$(cat "$1" 2>/dev/null)" != "$2" ]]; then printf '%s\n' "$2" > "$1.$$" && mv "$1.$$" "$1"; fi; }
write_conf "$cache/storage.conf" "[storage]
driver = \"overlay\"
graphroot = \"$cache/storage\"
runroot = \"/run/capstan-image-$(echo "$cache" | sha256sum | cut -c1-8)\""
write_conf "$cache/containers.conf" '[containers]
default_ulimits = ["nofile=16384:16384", "nproc=8192:8192"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"'
export CONTAINERS_STORAGE_CONF="$cache/storage.conf" CONTAINERS_CONF="$cache/containers.conf"

pm() { podman "$@"; }

install_tools() {
  local missing=()
  command -v podman >/dev/null || missing+=(podman)
  command -v runc >/dev/null || missing+=(runc)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  if ((${#missing[@]} > 0)); then
    echo "image.sh: apt-get install ${missing[*]}" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  fi
}

node_bin="$repo/node_modules/node/bin/node"
npm_dir() { (cd "$(dirname "$(readlink -f "$(command -v npm)")")/.." && pwd); }

base_name() {
  [[ -x "$node_bin" ]] || { echo "image.sh: $node_bin missing; run npm ci first" >&2; exit 1; }
  local version key
  version="$("$node_bin" --version | tr -d v)"
  key="$( { echo "recipe=$recipe"; sha256sum "$node_bin" | cut -c1-64; node -p 'require(process.argv[1]).version' "$(npm_dir)/package.json"; } | sha256sum | cut -c1-12)"
  echo "localhost/capstan-node:${version}-bookworm-${key}"
}

build_base() {
  local base="$1" tmp start
  start=$(date +%s)
  tmp="$(mktemp -d "$cache/.base-XXXXXX")"
  echo "image.sh: making the base image $base (debootstrap, once)" >&2
  debootstrap --variant=minbase --include=ca-certificates bookworm "$tmp/rootfs" "$mirror" > "$tmp/debootstrap.log" 2>&1 \
    || { tail -20 "$tmp/debootstrap.log" >&2; exit 1; }
  local root="$tmp/rootfs"
  chroot "$root" groupadd --gid 1000 node
  chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  install -D -m 755 "$node_bin" "$root/usr/local/bin/node"
  mkdir -p "$root/usr/local/lib/node_modules"
  cp -a "$(npm_dir)" "$root/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  # What the slim images leave out: apt lists and caches, documentation, logs.
  rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/* \
    "$root"/usr/share/info/* "$root"/var/log/* "$root"/var/cache/debconf/*-old
  tar --numeric-owner -C "$root" -c . | pm import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["node"]' - "$base" >&2
  rm -rf "$tmp"
  echo "image.sh: base made in $(( $(date +%s) - start ))s" >&2
}

build() {
  install_tools
  exec 9>"$cache/.lock"
  flock 9
  local base start
  base="$(base_name)"
  pm image exists "$base" || build_base "$base"
  start=$(date +%s)
  echo "image.sh: podman build -f docker/Dockerfile -t $image (NODE_IMAGE=$base)" >&2
  # The RUN steps borrow the host's npm cache (what `npm ci` fetched here is not fetched again) and, when this
  # machine's npm trusts an extra CA bundle (cafile, e.g. a registry proxy's), that bundle and setting.
  # Build-time mounts are not part of any layer.
  mkdir -p "$HOME/.npm"
  local mounts=(--volume "$HOME/.npm:/root/.npm")
  local cafile
  cafile="$(npm config get cafile 2>/dev/null || true)"
  if [[ -n "$cafile" && "$cafile" != null && -f "$cafile" ]]; then
    echo "cafile=/run/capstan-build/ca.crt" > "$cache/build.npmrc"
    mounts+=(--volume "$cafile:/run/capstan-build/ca.crt:ro" --volume "$cache/build.npmrc:/root/.npmrc:ro")
  fi
  pm build --pull=never --layers --network host "${mounts[@]}" \
    --build-arg "NODE_IMAGE=$base" \
    --file "$repo/docker/Dockerfile" --ignorefile "$repo/docker/Dockerfile.dockerignore" \
    --tag "$image" "$repo" >&2
  echo "image.sh: image built in $(( $(date +%s) - start ))s" >&2
  # No `image prune`: the untagged intermediate images are the layer cache of the next build.
  echo "$image"
}

case "${1:-build}" in
  install) install_tools ;;
  build) build ;;
  name) if pm image exists "$image" 2>/dev/null; then echo "$image"; else echo "image.sh: $image not built; run: bash scripts/image.sh build" >&2; exit 3; fi ;;
  save) [[ -n "${2:-}" ]] || { echo "usage: $0 save FILE" >&2; exit 2; }; rm -f "$2"; pm save --format docker-archive --output "$2" "$image" ;;
  podman) shift; exec podman "$@" ;;
  *) echo "usage: $0 [install|build|name|save FILE|podman ARGS…]" >&2; exit 2 ;;
esac
