#!/usr/bin/env bash
# A long soak (not part of the default test run, whose soak is short):
#   scripts/soak.sh [CLIENTS] [QUERIES] [ROUNDS] [POOL]
# CLIENTS concurrent clients run QUERIES queries each against a throwaway
# PostgreSQL, while ROUNDS times the driver is hot-swapped, the backends
# are killed (pg_terminate_backend) and the server is restarted. Prints
# errors, p50/p99 latency, RSS at start and end, the pool's largest size.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
export SOAK_CLIENTS="${1:-32}" SOAK_QUERIES="${2:-2000}" SOAK_EVENTS="${3:-20}" SOAK_POOL="${4:-8}"
cargo test --workspace --test soak -- --nocapture
