#!/usr/bin/env bash
# Builds the ADBC driver (release) and writes its manifest where driver
# managers look for user drivers, so that `driver="driverbox"` finds it.
# Usage: scripts/adbc-manifest.sh [DIR]   (default ~/.config/adbc/drivers)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release -p driverbox-adbc
lib="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/libadbc_driver_driverbox.so"
dir="${1:-${XDG_CONFIG_HOME:-$HOME/.config}/adbc/drivers}"
mkdir -p "$dir"
version=$(grep -m1 '^version' Cargo.toml | cut -d'"' -f2)
cat > "$dir/driverbox.toml" <<TOML
manifest_version = 1
name = "driverbox"
version = "$version"
[Driver]
entrypoint = "AdbcDriverDriverboxInit"
[Driver.shared]
linux_amd64 = "$lib"
TOML
echo "wrote $dir/driverbox.toml -> $lib"
