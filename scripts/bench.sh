#!/usr/bin/env bash
# Builds the benchmark in release and runs it: driverbox side by side with
# tokio-postgres and sqlx (PostgreSQL), rusqlite (SQLite), mysql_async and
# sqlx-mysql (MySQL/MariaDB) (see BENCHMARKS.md).
#
#   scripts/bench.sh                 # full run (~7 minutes on 2 cores), results in bench/results/
#   scripts/bench.sh --quick         # seconds: tiny sizes, one round (what CI runs)
#   scripts/bench.sh --only W1,W3 --rounds 3 --out /tmp/bench
#   scripts/bench.sh --db mysql --out bench/results/stop22-mysql   # one database (postgres, sqlite, mysql)
#   scripts/bench.sh --no-mysql      # without MySQL (--mysql-url URL: another server)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release -p driverbox-bench
exec target/release/driverbox-bench "$@"
