#!/usr/bin/env bash
# Runs a cargo-fuzz target of fuzz/ for a given time:
#   scripts/fuzz.sh TARGET SECONDS     one target (cargo fuzz list: pg_*, mysql_*, mongodb_*, sdk_batch,
#                                      host_url, host_batch, dynamodb_replies)
#   scripts/fuzz.sh all SECONDS        each target in turn
# cargo-fuzz is installed when missing. It needs nightly flags
# (-Zsanitizer); on the stable toolchain RUSTC_BOOTSTRAP=1 allows them.
# New inputs go to fuzz/target/corpus/TARGET (the committed seeds in
# fuzz/corpus/TARGET are read, never written); a crash is saved under
# fuzz/artifacts/TARGET and fails the run. Prints the CPU seconds used.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:?usage: scripts/fuzz.sh TARGET|all SECONDS}"
seconds="${2:?usage: scripts/fuzz.sh TARGET|all SECONDS}"
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked --version 0.13.2
fi
export RUSTC_BOOTSTRAP=1
cd fuzz
targets=("$target")
if [ "$target" = all ]; then
  mapfile -t targets < <(cargo fuzz list)
fi
# One build for every target (a cold build takes minutes).
cargo fuzz build -O --debug-assertions
for t in "${targets[@]}"; do
  mkdir -p "target/corpus/$t"
  log="target/fuzz-$t.log"
  status=0
  cargo fuzz run -O --debug-assertions "$t" "target/corpus/$t" "corpus/$t" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY)|^==[0-9]+==|panicked" "$log" || true
  echo "fuzz $t: ${seconds}s, exit $status (log: fuzz/$log)"
  if [ "$status" -ne 0 ]; then
    tail -40 "$log" >&2
    echo "fuzz $t: crash or error; the input is under fuzz/artifacts/$t" >&2
    exit 1
  fi
done
