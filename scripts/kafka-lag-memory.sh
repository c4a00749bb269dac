#!/usr/bin/env bash
# Peak memory of Kafka -> Kafka against the size of the backlog (consumer lag): for each line
# count, a fresh mock cluster (`beacon-processor dev-kafka`) gets that many generated lines in its
# raw topic before beacon-processor starts, then `process` reads them all (from the earliest
# offset, in a consumer group) and produces the records to Kafka. Prints the peak RSS of each run:
# bounded queues mean it should not grow with the backlog. Reports; asserts nothing.
#
# Usage: scripts/kafka-lag-memory.sh [PARTITIONS, default 192] [LINE COUNTS..., default 100000 800000]
# Mock partitions keep only ~5 MB of log each: keep lines * 730 B / PARTITIONS below that.
# Environment: INPUT_OPTIONS, a YAML map of librdkafka consumer properties for `input.options`
# (default {}), e.g. INPUT_OPTIONS='{fetch.max.bytes: 8388608}'.
set -euo pipefail
partitions="${1:-192}"
shift || true
counts=("$@")
[ "${#counts[@]}" -gt 0 ] || counts=(100000 800000)
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
work="$(mktemp -d "${TMPDIR:-/tmp}/kafka-lag.XXXXXX")"
# shellcheck source=scripts/mock-kafka.sh
. "$repo/scripts/mock-kafka.sh"
trap 'stop_mock_cluster; rm -rf "$work"' EXIT

if [ ! -x /usr/bin/time ]; then
    echo "kafka-lag-memory.sh needs GNU time (/usr/bin/time, Debian package 'time')" >&2
    exit 1
fi
cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-$repo/target}/release/beacon-processor"

printf '%-12s %12s %12s %10s %12s\n' "lag (lines)" "lag (MB)" "lines/s" "peak MB" "delivered"
for lines in "${counts[@]}"; do
    start_mock_cluster "eventlogging-client-side:$partitions"
    # The backlog's size: the same lines counted on a pipe, not written to disk.
    bytes=$("$bin" generate -n "$lines" --seed 5 | wc -c)
    "$bin" generate -n "$lines" --seed 5 --kafka "$brokers" 2>/dev/null
    write_k2k_config "$work/k2k.yaml" lag-memory "${INPUT_OPTIONS:-}"
    /usr/bin/time -f '%M' -o "$work/k2k.time" "$bin" process --log-level warn --config "$work/k2k.yaml" >"$work/k2k.txt" 2>&1
    rate=$(sed -n 's/.*(\([0-9]*\) lines\/s.*/\1/p' "$work/k2k.txt" | tail -1)
    delivered=$(sed -n 's/^delivered (valid + errors) *\([0-9]*\).*/\1/p' "$work/k2k.txt")
    printf '%-12s %12.0f %12s %10.0f %12s\n' "$lines" "$(awk -v b="$bytes" 'BEGIN { print b / 1e6 }')" \
        "$rate" "$(awk '{ print $1 / 1024 }' "$work/k2k.time")" "$delivered"
    stop_mock_cluster
done
