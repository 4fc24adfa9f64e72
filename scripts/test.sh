#!/usr/bin/env bash
# Runs the whole test suite: set-up, then every crate's tests (host, guests
# natively, integration tests against the real servers).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh tests
cargo test --workspace --no-fail-fast "$@"
