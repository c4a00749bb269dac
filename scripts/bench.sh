#!/usr/bin/env bash
# End-to-end throughput of the release binary, all measured in one run on the same generated
# file (so that the figures can be compared with each other on a shared, noisy machine):
#
#   1. baseline: `wc -l` of the file (read and split lines, nothing else);
#   2. `beacon-processor process --out DIR FILE` (directory sink);
#   3. the Kafka paths next to a bare rdkafka producer (scripts/bench-kafka.sh, on librdkafka's
#      mock cluster, with KAFKA_LINES lines: the mock keeps only ~5 MB per partition).
#
# For 1 and 2 it prints lines/s, MB/s (input bytes), the ratio to the baseline, peak RSS, and
# CPU time (user + system, all threads) per line. Benchmarks report; they assert nothing.
#
# Usage: scripts/bench.sh [LINES, default 2000000] [KAFKA_LINES, default 200000; 0 skips Kafka]
# Environment: RUNS, how many times the directory step runs (default 3; the median is reported);
# BIN, the binary to measure (default: the release build, built first).
# The generated file is ~730 bytes per line (1.4 GB for 2 M lines) and is removed at the end.
set -euo pipefail

lines="${1:-2000000}"
kafka_lines="${2:-200000}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
work="$(mktemp -d "${TMPDIR:-/tmp}/bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT

if [ ! -x /usr/bin/time ]; then
    echo "bench.sh needs GNU time (/usr/bin/time, Debian package 'time')" >&2
    exit 1
fi

# BIN measures another build of the binary instead, e.g. the profile-guided one:
# BIN=target/pgo/release/beacon-processor scripts/bench.sh (after scripts/build-pgo.sh).
if [ -n "${BIN:-}" ]; then
    bin="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"
else
    cargo build --release --quiet
    bin="${CARGO_TARGET_DIR:-$repo/target}/release/beacon-processor"
fi
echo "binary: $bin" >&2

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
# The generator's defaults: 3 % invalid, 2 % malformed, user agents from a 5,000-agent Zipf pool
# plus 5 % one-off agents (as in real traffic: a head of popular agents and a long tail).
"$bin" generate -n "$lines" --seed 7 -o "$work/raw.log"
bytes=$(stat -c %s "$work/raw.log")
echo "input: $lines lines, $bytes bytes" >&2
cat "$work/raw.log" >/dev/null # into the page cache: every step reads it from memory
# Write the generated file back to disk now: otherwise the kernel's writeback of its 1.4 GB of
# dirty pages starts about 30 s later, in the middle of the measured steps, and takes CPU from
# them.
sync

# Runs a command under GNU time; prints "wall_seconds cpu_seconds max_rss_kb" (wall time from
# the nanosecond clock: GNU time's own is in hundredths).
measure() {
    local start end
    start=$(date +%s.%N)
    /usr/bin/time -f '%U %S %M' -o "$work/time.txt" "$@" >"$work/stdout.txt" 2>"$work/stderr.txt"
    end=$(date +%s.%N)
    awk -v start="$start" -v end="$end" '{ printf "%.3f %.2f %s\n", end - start, $1 + $2, $3 }' "$work/time.txt"
}

echo "== 1. baseline: wc -l" >&2
read -r wc_wall wc_cpu wc_rss < <(measure wc -l "$work/raw.log")
# The directory step runs RUNS times (default 3); the median run (by wall time) is the one
# reported, every run is listed. Each run starts from an empty output directory, after the
# previous run's output was written back and deleted.
runs="${RUNS:-3}"
: >"$work/runs.txt"
for run in $(seq "$runs"); do
    echo "== 2. process -> directory (run $run of $runs)" >&2
    read -r wall cpu rss < <(measure "$bin" process --log-level warn --out "$work/out" "$work/raw.log")
    # `process` prints its summary on standard error; every line must come out as one record.
    delivered=$(cat "$work/stdout.txt" "$work/stderr.txt" | sed -n 's/^delivered (valid + errors) *\([0-9]*\).*/\1/p')
    if [ "$delivered" != "$lines" ]; then
        echo "process delivered '$delivered' records for $lines lines:" >&2
        cat "$work/stdout.txt" "$work/stderr.txt" >&2
        exit 1
    fi
    read -r user system _ < "$work/time.txt"
    echo "$wall $cpu $rss $user $system" >>"$work/runs.txt"
    sync
    rm -rf "$work/out"
done
echo "process -> directory runs (wall s, CPU s, peak KB, user s, system s):" >&2
cat "$work/runs.txt" >&2
read -r dir_wall dir_cpu dir_rss _ _ < <(sort -n "$work/runs.txt" | sed -n "$(((runs + 1) / 2))p")

row() { # name wall cpu rss baseline_wall
    awk -v name="$1" -v wall="$2" -v cpu="$3" -v rss="$4" -v base="$5" -v n="$lines" -v b="$bytes" 'BEGIN {
        if (wall <= 0) wall = 0.001
        if (base <= 0) base = 0.001
        printf "%-28s %12.0f %9.1f %9.2f %10.0f %11.2f\n", name, n / wall, b / wall / 1e6, base / wall, rss / 1024, cpu * 1e6 / n
    }'
}
printf '\n%-28s %12s %9s %9s %10s %11s\n' "step" "lines/s" "MB/s" "vs wc -l" "peak MB" "CPU us/line"
row "wc -l (baseline)" "$wc_wall" "$wc_cpu" "$wc_rss" "$wc_wall"
row "process -> directory" "$dir_wall" "$dir_cpu" "$dir_rss" "$wc_wall"
echo "(process: the median of $runs runs)"
echo "(wall time of the whole command, start-up included; $(nproc) cores)"

if [ "$kafka_lines" != "0" ]; then
    echo
    echo "== 3. Kafka (scripts/bench-kafka.sh $kafka_lines)" >&2
    "$repo/scripts/bench-kafka.sh" "$kafka_lines"
fi
