#!/usr/bin/env bash
# Start a local PostgreSQL for the database tests, installing Debian's server if
# it is missing (as root, as CI runs). Idempotent. Prints the database URL.
set -euo pipefail

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  if [ "$(id -u)" != "0" ]; then
    echo "postgres.sh: PostgreSQL is not installed and this is not root: install Debian's 'postgresql'" >&2
    exit 1
  fi
  echo "postgres.sh: installing Debian's postgresql" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi

version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h 2>/dev/null | grep -q "^$version main"; then
  pg_createcluster "$version" main >&2
fi
if ! pg_lsclusters -h | grep -q "^$version main .* online"; then
  pg_ctlcluster "$version" main start >&2
fi
for _ in $(seq 1 30); do
  runuser -u postgres -- pg_isready -q && break
  sleep 1
done
runuser -u postgres -- psql -qtAc "SELECT 1 FROM pg_roles WHERE rolname = 'cradle'" | grep -q 1 ||
  runuser -u postgres -- psql -qc "CREATE ROLE cradle LOGIN PASSWORD 'cradle' CREATEDB" >&2
runuser -u postgres -- psql -qtAc "SELECT 1 FROM pg_database WHERE datname = 'cradle'" | grep -q 1 ||
  runuser -u postgres -- createdb -O cradle cradle >&2
echo "postgres://cradle:cradle@127.0.0.1:5432/cradle"
