#!/usr/bin/env bash
# ADBC benchmark: driverbox's ADBC driver (release) beside the official
# PostgreSQL and SQLite ADBC drivers, same run (bench/adbc/bench.py).
#   scripts/bench-adbc.sh [--rows N] [--rounds R] [--json FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh tests
# The workspace build: `-p driverbox-adbc` alone unifies features differently and rebuilds the host.
cargo build --release --workspace
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
lib="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/libadbc_driver_driverbox.so"
printf 'manifest_version = 1\nname = "driverbox"\n[Driver]\nentrypoint = "AdbcDriverDriverboxInit"\n[Driver.shared]\nlinux_amd64 = "%s"\n' "$lib" > "$dir/driverbox.toml"
ADBC_DRIVER_PATH="$dir" .venv-adbc/bin/python bench/adbc/bench.py "$@"
