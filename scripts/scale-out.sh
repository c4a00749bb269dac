#!/usr/bin/env bash
# Scale-out on Apache Kafka itself (scripts/kafka.sh, loopback): a raw topic of 12 partitions
# holding LINES generated lines is read by 1, then 2, then 3 instances of `beacon-processor
# process` started together in a fresh consumer group each time (Kafka -> Kafka). For each count:
# every instance's partitions and lines, the total lines/s (lines / wall time from the start of
# the instances to the exit of the last), the CPU per line, and the time from an instance's start
# to its first delivered lines (its log's "first lines delivered").
#
# On this project's 2-core machines the instances and the broker share the cores, so the total
# rate cannot grow with the instance count here; the point is the partition split, the line
# split and the join time. On real hardware each instance has its own cores.
#
# Usage: scripts/scale-out.sh [LINES=600000] [MAX_INSTANCES=3]
# Environment: BEACON_TEST_KAFKA=HOST:PORT uses a running broker instead of starting one.
set -euo pipefail

lines="${1:-600000}"
max="${2:-3}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
work="$(mktemp -d "${TMPDIR:-/tmp}/scale-out.XXXXXX")"
# shellcheck source=scripts/apache-kafka.sh
. "$repo/scripts/apache-kafka.sh"
cleanup() {
    stop_apache_kafka
    rm -rf "$work"
}
trap cleanup EXIT

cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-$repo/target}/release/beacon-processor"
use_apache_kafka
raw="scale-$$.raw"
create_topic "$raw" 12
echo "Apache Kafka at $brokers; filling $raw (12 partitions) with $lines lines" >&2
"$bin" generate -n "$lines" --seed 7 --kafka "$brokers" --topic "$raw" 2>/dev/null

printf '%-10s %-9s %-18s %-10s %-12s %-14s\n' instances instance "partitions (+/-)" lines "CPU us/line" "first delivery (from start)"
for n in $(seq 1 "$max"); do
    cat >"$work/$n.yaml" <<YAML
input:
  type: kafka
  brokers: "$brokers"
  topics: ["$raw"]
  group_id: "scale-$$-$n"
  options:
    session.timeout.ms: 6000
    heartbeat.interval.ms: 500
output:
  type: kafka
  brokers: "$brokers"
routing:
  valid_topic: "scale-$$-$n.eventlogging_{schema}"
  error_topic: "scale-$$-$n.eventlogging_EventError"
schemas:
  legacy_dirs: ["$repo/config/schemas"]
logging:
  level: info
YAML
    started=$(date +%s.%N)
    pids=()
    for i in $(seq 1 "$n"); do
        /usr/bin/time -f '%U %S' -o "$work/$n.$i.time" \
            "$bin" process --config "$work/$n.yaml" >"$work/$n.$i.log" 2>&1 &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid" || { echo "an instance failed" >&2; cat "$work/$n".*.log >&2; exit 1; }; done
    ended=$(date +%s.%N)
    total=0
    for i in $(seq 1 "$n"); do
        log="$work/$n.$i.log"
        # The instance's assignments over the run (+N assigned, -N revoked), without the final
        # revoke of its shutdown: with incremental rebalancing, an instance that joined first
        # may get every partition and then give some up to the others.
        assigned=$(sed -n 's/.*partitions \(assigned\|revoked\)[^=]*partitions=\([0-9]*\).*/\1 \2/p' "$log" \
            | awk '{ e[NR] = ($1 == "assigned" ? "+" : "-") $2 }
                   END { n = NR; if (n > 0 && e[n] ~ /^-/) n--
                         for (i = 1; i <= n; i++) printf "%s%s", (i > 1 ? "," : ""), e[i] }')
        read_lines=$(sed -n 's/^ *lines read *\([0-9]*\).*/\1/p' "$log" | tail -1)
        read_lines=${read_lines:-0}
        total=$(( total + read_lines ))
        first=$(grep -o 'first lines delivered.*' "$log" | grep -o 'after_ms=[0-9]*' | cut -d= -f2 | head -1)
        cpu=$(awk -v n="$read_lines" '{ if (n > 0) printf "%.2f", ($1 + $2) * 1e6 / n; else print "n/a" }' "$work/$n.$i.time")
        printf '%-10s %-9s %-18s %-10s %-12s %-14s\n' "$n" "$i" "${assigned:-0}" "$read_lines" "$cpu" "${first:-none} ms"
    done
    rate=$(awk -v n="$total" -v a="$started" -v b="$ended" 'BEGIN { printf "%.0f", n / (b - a) }')
    printf '%-10s %-9s %-18s %-10s total: %s lines/s over %.1f s\n' "$n" all "" "$total" "$rate" "$(echo "$ended - $started" | bc)"
    if [ "$total" -ne "$lines" ]; then
        echo "the instances read $total lines, not $lines" >&2
        exit 1
    fi
done
