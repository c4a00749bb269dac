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
broker_pid=""
stop_broker() {
    if [ -n "$broker_pid" ]; then kill "$broker_pid" 2>/dev/null || true; wait "$broker_pid" 2>/dev/null || true; fi
    broker_pid=""
}
trap 'stop_broker; rm -rf "$work"' EXIT

if [ ! -x /usr/bin/time ]; then
    echo "kafka-lag-memory.sh needs GNU time (/usr/bin/time, Debian package 'time')" >&2
    exit 1
fi
cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-$repo/target}/release/beacon-processor"

printf '%-12s %12s %12s %10s %12s\n' "lag (lines)" "lag (MB)" "lines/s" "peak MB" "delivered"
for lines in "${counts[@]}"; do
    rm -f "$work/address"
    "$bin" dev-kafka --topic "eventlogging-client-side:$partitions" --address-file "$work/address" >/dev/null 2>&1 &
    broker_pid=$!
    for _ in $(seq 100); do [ -s "$work/address" ] && break; sleep 0.1; done
    brokers="$(cat "$work/address")"
    "$bin" generate -n "$lines" --seed 5 -o "$work/raw.log"
    bytes=$(stat -c %s "$work/raw.log")
    "$bin" generate -n "$lines" --seed 5 --kafka "$brokers" 2>/dev/null
    cat >"$work/k2k.yaml" <<YAML
input:
  type: kafka
  brokers: "$brokers"
  group_id: lag-memory
  options: ${INPUT_OPTIONS:-{\}}
output:
  type: kafka
  brokers: "$brokers"
schemas:
  legacy_dirs: ["$repo/config/schemas"]
  event_repositories: ["$repo/config/event-schemas"]
streams:
  config: "$repo/config/stream-config.yaml"
YAML
    /usr/bin/time -f '%M' -o "$work/k2k.time" "$bin" process --log-level warn --config "$work/k2k.yaml" >"$work/k2k.txt" 2>&1
    rate=$(sed -n 's/.*(\([0-9]*\) lines\/s.*/\1/p' "$work/k2k.txt" | tail -1)
    delivered=$(sed -n 's/^delivered (valid + errors) *\([0-9]*\).*/\1/p' "$work/k2k.txt")
    printf '%-12s %12.0f %12s %10.0f %12s\n' "$lines" "$(awk -v b="$bytes" 'BEGIN { print b / 1e6 }')" \
        "$rate" "$(awk '{ print $1 / 1024 }' "$work/k2k.time")" "$delivered"
    stop_broker
    rm -f "$work/raw.log"
done
