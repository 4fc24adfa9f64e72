#!/usr/bin/env bash
# Installs what driverbox needs on a fresh Debian 12 machine, and starts the
# local database servers the tests use. Idempotent and quick when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."
# `scripts/setup.sh tests` also installs what only the tests need.
for_tests=false
[ "${1:-}" = tests ] && for_tests=true

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}

# Rust target for the driver components; rustfmt and clippy for scripts/lint.sh.
if ! rustup target list --installed | grep -qx wasm32-wasip2; then
  rustup target add wasm32-wasip2
fi
for component in rustfmt clippy; do
  rustup component list --installed | grep -q "^$component" || rustup component add "$component"
done

# clang + wasi-libc build SQLite for wasm; tmux drives the shell test;
# the servers are what the integration tests talk to; sqlite3 (and psql,
# from postgresql) are the reference clients of the differential test.
need=()
for pkg in clang wasi-libc tmux postgresql mariadb-server openssl sqlite3; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# PostgreSQL on 127.0.0.1:5432 with trust auth and a `test` database.
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  ver=$(ls /etc/postgresql | sort -n | tail -1)
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
fi
if ! psql -h 127.0.0.1 -U postgres -d test -c 'select 1' >/dev/null 2>&1; then
  echo "setup: configuring PostgreSQL (trust auth on 127.0.0.1, database test)" >&2
  hba=$(as_postgres psql -tAc 'show hba_file')
  if ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
    $SUDO sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
    as_postgres psql -qc 'select pg_reload_conf()' >/dev/null
  fi
  as_postgres psql -tAc "select 1 from pg_database where datname='test'" | grep -q 1 \
    || as_postgres createdb test
fi

# MariaDB on 127.0.0.1:3306 (root, empty password, database test).
if ! mariadb-admin -h 127.0.0.1 -uroot ping >/dev/null 2>&1; then
  $SUDO start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  for _ in $(seq 1 60); do mariadb-admin -h 127.0.0.1 -uroot ping >/dev/null 2>&1 && break; sleep 0.5; done
fi
mariadb -h 127.0.0.1 -uroot -e 'create database if not exists test' >/dev/null 2>&1 || true

# Python for the ADBC driver's tests (adbc/python): the driver manager, the
# official PostgreSQL and SQLite ADBC drivers to compare with, and the
# DataFrame libraries people read through ADBC.
if $for_tests && { [ ! -x .venv-adbc/bin/python ] || ! .venv-adbc/bin/python -c 'import adbc_driver_manager, adbc_driver_postgresql, adbc_driver_sqlite, pyarrow, polars, pandas, pytest' 2>/dev/null; }; then
  echo "setup: Python environment .venv-adbc (ADBC tests)" >&2
  python3 -m venv .venv-adbc
  .venv-adbc/bin/pip install -q --disable-pip-version-check \
    'adbc-driver-manager==1.13.*' 'adbc-driver-postgresql==1.13.*' 'adbc-driver-sqlite==1.13.*' \
    pyarrow polars pandas pytest
fi

# MongoDB-wire test server (SecantusDB, WiredTiger bundled; nothing is
# downloaded at run time) and pymongo as the reference client, in a venv of
# the repository. The MongoDB tests start their own throwaway servers.
venv="$(cd "$(dirname "$0")/.." && pwd)/.venv-mongo"
if $for_tests && { [ ! -x "$venv/bin/secantusd-py" ] || ! "$venv/bin/python" -c 'import pymongo' 2>/dev/null; }; then
  python3 -m venv --help >/dev/null 2>&1 || $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  echo "setup: installing SecantusDB and pymongo into $venv" >&2
  "$venv/bin/pip" install -q --pre secantusdb==0.7.0b3 pymongo
fi

# DynamoDB-compatible test server: moto in server mode (Flask), with
# botocore, the reference SigV4 signer the tests compare against. The
# DynamoDB tests start their own throwaway servers on free ports.
venv="$(cd "$(dirname "$0")/.." && pwd)/.venv-dynamodb"
if $for_tests && { [ ! -x "$venv/bin/moto_server" ] || ! "$venv/bin/python" -c 'import botocore, flask_cors' 2>/dev/null; }; then
  python3 -m venv --help >/dev/null 2>&1 || $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  echo "setup: installing moto (DynamoDB server mode) into $venv" >&2
  "$venv/bin/pip" install -q 'moto[dynamodb,server]==5.2.5' flask flask-cors
fi

# dynalite, the second DynamoDB-compatible test server (Node.js, LevelDB in
# memory), at the version tests/dynalite/package-lock.json pins, into
# tests/dynalite/node_modules. The DynamoDB tests start their own.
dynalite_dir="$(cd "$(dirname "$0")/.." && pwd)/tests/dynalite"
if $for_tests && [ ! -f "$dynalite_dir/node_modules/dynalite/cli.js" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "setup: installing Node.js and npm (dynalite)" >&2
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  fi
  echo "setup: installing dynalite into $dynalite_dir/node_modules" >&2
  (cd "$dynalite_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi
