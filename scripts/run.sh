#!/usr/bin/env bash
# Sets up (once), builds and runs the driverbox CLI: `scripts/run.sh query "select 1"`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec cargo run --quiet -p driverbox -- "$@"
