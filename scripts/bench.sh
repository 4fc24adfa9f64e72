#!/usr/bin/env bash
# Builds the benchmark in release and runs it: driverbox side by side with
# tokio-postgres and sqlx (PostgreSQL), rusqlite (SQLite), mysql_async and
# sqlx-mysql (MySQL/MariaDB) and the mongodb crate (see BENCHMARKS.md).
# The MongoDB part starts its own throwaway SecantusDB (from .venv-mongo,
# which `scripts/setup.sh tests` installs) on a free port and stops it.
#
#   scripts/bench.sh                 # full run (PostgreSQL and SQLite ~7 minutes on 2 cores), results in bench/results/
#   scripts/bench.sh --quick         # seconds: tiny sizes, one round (what CI runs)
#   scripts/bench.sh --only W1,W3 --rounds 3 --out /tmp/bench
#   scripts/bench.sh --db mongodb --mongodb-docs 100000 --rounds 3   # MongoDB only, 100 k documents in W3/W4
#   scripts/bench.sh --db postgres,sqlite --no-mongodb                # without MongoDB
#   scripts/bench.sh --db mongodb --mongodb-url mongodb://host:27017  # another MongoDB server
#   scripts/bench.sh --db mysql --out bench/results/stop22-mysql   # one database (postgres, sqlite, mysql, mongodb)
#   scripts/bench.sh --no-mysql      # without MySQL (--mysql-url URL: another server)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh tests
cargo build --release -p driverbox-bench
exec target/release/driverbox-bench "$@"
