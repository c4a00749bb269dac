#!/usr/bin/env bash
# Throughput of the file tailer alone (no parsing, no sink): reads a ~1 GB file of generated
# beacon lines from its beginning through the tailer into a bounded channel drained by a thread
# that acknowledges every batch, and prints lines/s and MB/s (median of 3 runs, file in the page
# cache). See benches/tailer.rs.
#
# Usage: scripts/bench-tailer.sh [size in MB, default 1024]
set -euo pipefail

size_mb="${1:-1024}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"

work="$(mktemp -d "${TMPDIR:-/tmp}/bench-tailer.XXXXXX")"
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-$repo/target}/release/beacon-processor"
# 200,000 realistic lines (diverse schemas and user agents), repeated up to the size.
"$bin" generate -n 200000 --seed 1 -o "$work/chunk.log"
target_bytes=$((size_mb * 1024 * 1024))
: >"$work/big.log"
while [ "$(stat -c %s "$work/big.log")" -lt "$target_bytes" ]; do
    cat "$work/chunk.log" >>"$work/big.log"
done
echo "file: $(stat -c %s "$work/big.log") bytes, $(wc -l <"$work/big.log") lines" >&2

TAILER_BENCH_FILE="$work/big.log" cargo bench --quiet --bench tailer
