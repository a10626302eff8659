#!/usr/bin/env bash
# Make the PostgreSQL server binaries available to the test suite (test/support/postgres.ts).
# Installs Debian's `postgresql` package when no `initdb` is on PATH or under /usr/lib/postgresql, and
# makes sure a `postgres` system user exists, since PostgreSQL will not run as root.
# Skipped entirely when CAPSTAN_TEST_PG_URL names an already running server.
set -euo pipefail

if [[ -n "${CAPSTAN_TEST_PG_URL:-}" ]]; then
  echo "ci-postgres: using CAPSTAN_TEST_PG_URL, nothing to install"
  exit 0
fi

have_initdb() {
  command -v initdb >/dev/null 2>&1 && return 0
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null
}

if ! have_initdb; then
  echo "ci-postgres: installing Debian's postgresql package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
fi

if [[ "$(id -u)" == "0" ]] && ! id -u postgres >/dev/null 2>&1; then
  useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
fi

have_initdb || { echo "ci-postgres: initdb still not found after install" >&2; exit 1; }
echo "ci-postgres: $(compgen -G '/usr/lib/postgresql/*/bin/initdb' || command -v initdb)"
