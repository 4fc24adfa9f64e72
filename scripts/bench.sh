#!/usr/bin/env bash
# Builds the benchmark in release and runs it: driverbox side by side with
# tokio-postgres, sqlx and rusqlite (see BENCHMARKS.md).
#
#   scripts/bench.sh                 # full run (~7 minutes on 2 cores), results in bench/results/
#   scripts/bench.sh --quick         # seconds: tiny sizes, one round (what CI runs)
#   scripts/bench.sh --only W1,W3 --rounds 3 --out /tmp/bench
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release -p driverbox-bench
exec target/release/driverbox-bench "$@"
