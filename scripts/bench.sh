#!/usr/bin/env bash
# Builds the benchmark in release and runs it: driverbox side by side with
# tokio-postgres and sqlx (PostgreSQL), rusqlite (SQLite), mysql_async and
# sqlx-mysql (MySQL/MariaDB), the mongodb crate and aws-sdk-dynamodb (see
# BENCHMARKS.md). The MongoDB part starts its own throwaway SecantusDB (from
# .venv-mongo, which `scripts/setup.sh tests` installs) on a free port and
# stops it; the DynamoDB part does the same with moto (.venv-dynamodb).
# The AWS SDK (the bench's `aws` feature) is compiled only when the run
# includes DynamoDB and is not --quick: it is slow to build and CI never needs it.
#
#   scripts/bench.sh                 # full run (PostgreSQL and SQLite ~7 minutes on 2 cores), results in bench/results/
#   scripts/bench.sh --quick         # seconds: tiny sizes, one round (what CI runs)
#   scripts/bench.sh --only W1,W3 --rounds 3 --out /tmp/bench
#   scripts/bench.sh --db mongodb --mongodb-docs 100000 --rounds 3   # MongoDB only, 100 k documents in W3/W4
#   scripts/bench.sh --db postgres,sqlite --no-mongodb                # without MongoDB
#   scripts/bench.sh --db mongodb --mongodb-url mongodb://host:27017  # another MongoDB server
#   scripts/bench.sh --db mysql --out bench/results/stop22-mysql   # one database (postgres, sqlite, mysql, mongodb)
#   scripts/bench.sh --no-mysql      # without MySQL (--mysql-url URL: another server)
#   scripts/bench.sh --db dynamodb --rounds 3 --out bench/results/stop24-dynamodb   # DynamoDB only (moto)
#   scripts/bench.sh --db dynamodb --dynamodb-items 10000 --rounds 1   # quicker: 10 k items in W3/W4
#   scripts/bench.sh --db mysql --only W1 --driver other/mysql.wasm  # A/B: another build of a driver, beside the same peers
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh tests
# DynamoDB is in the run unless --quick, --no-dynamodb, or a --db list without it.
aws=true
prev=""
for a in "$@"; do
  case "$a" in
    --quick | --no-dynamodb) aws=false ;;
    --db=*) [[ ",${a#--db=}," == *,dynamodb,* ]] || aws=false ;;
  esac
  if [ "$prev" = "--db" ] && [[ ",$a," != *,dynamodb,* ]]; then
    aws=false
  fi
  prev="$a"
done
if $aws; then
  cargo build --release --workspace --bin driverbox-bench --features driverbox-bench/aws
else
  cargo build --release --workspace --bin driverbox-bench
fi
exec target/release/driverbox-bench "$@"
