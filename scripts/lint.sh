#!/usr/bin/env bash
# Formatting and lints, as CI checks them (before the tests):
#   - rustfmt on the whole workspace (style in rustfmt.toml);
#   - clippy with warnings as errors, for the host target (every crate and
#     target) and for the driver components on wasm32-wasip2.
# Any `allow` of a lint carries its reason next to it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy --target wasm32-wasip2 -p driverbox-guest-sdk -p driverbox-postgres -p driverbox-sqlite -p driverbox-mysql \
  -p driverbox-mongodb -p driverbox-dynamodb -p driverbox-minimal -p driverbox-hostile -p driverbox-wasi-transport -p driverbox-http-query \
  -- -D warnings
