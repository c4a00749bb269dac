#!/usr/bin/env bash
# Kafka throughput on a broker on loopback, all in one run on the same generated lines:
#   1. files -> directory sink (reference point, and the records for step 2);
#   2. a bare rdkafka producer sending exactly the records of step 1 (benches/bare_producer.rs);
#   3. files -> Kafka through beacon-processor;
#   4. Kafka -> Kafka through beacon-processor (raw topic with 48 partitions, consumer group);
#   5. the same with `delivery: exactly_once` (transactions; Apache Kafka only);
#   6. a bare rdkafka consumer reading the raw topic (benches/bare_consumer.rs);
#   7. followed files -> Kafka (`run` tailing the raw file until its checkpoint covers it), at
#      least once and with `delivery: exactly_once` (checkpoints in the transactions; Apache
#      Kafka only). Rates from start to the checkpoint covering the file, start-up included.
# Prints records/s of each and the ratios to the bare producer. Figures are for comparison
# within one run only: the machine is shared and the broker runs on the same cores.
#
# BROKER=kafka (default): Apache Kafka itself, one KRaft node started by scripts/kafka.sh.
# BROKER=mock: librdkafka's mock cluster (`beacon-processor dev-kafka`); its partitions keep
# ~5 MB each: keep lines * 730 B / 48 below that, i.e. at most about 300,000 lines.
#
# Usage: [BROKER=kafka|mock] scripts/bench-kafka.sh [lines, default 200000]
set -euo pipefail

lines="${1:-200000}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
work="$(mktemp -d "${TMPDIR:-/tmp}/bench-kafka.XXXXXX")"
# shellcheck source=scripts/mock-kafka.sh
. "$repo/scripts/mock-kafka.sh"
# shellcheck source=scripts/apache-kafka.sh
. "$repo/scripts/apache-kafka.sh"
broker="${BROKER:-kafka}"
stop_broker() {
    stop_mock_cluster
    stop_apache_kafka
}
trap 'stop_broker; rm -rf "$work"' EXIT

cargo build --release --quiet
# The bench profile's build of the package (for the bare producer bench) is written to the same
# target/release/beacon-processor: measure a copy of the release build made before it.
bin="$work/beacon-processor"
cp "${CARGO_TARGET_DIR:-$repo/target}/release/beacon-processor" "$bin"
cargo bench --quiet --bench bare_producer --no-run 2>/dev/null
cargo bench --quiet --bench bare_consumer --no-run 2>/dev/null

case "$broker" in
    mock) start_mock_cluster eventlogging-client-side:48 ;;
    kafka)
        # A broker of its own: its CPU is measured per step.
        BEACON_TEST_KAFKA="" use_apache_kafka
        broker_pid="$(cat "$kafka_dir/node-1/pid")"
        create_topic eventlogging-client-side 48 ;;
    *) echo "BROKER must be kafka or mock" >&2; exit 2 ;;
esac
echo "$broker broker at $brokers; $lines lines" >&2

"$bin" generate -n "$lines" --seed 5 -o "$work/raw.log"
"$bin" generate -n "$lines" --seed 5 --kafka "$brokers" 2>/dev/null
echo "raw input: $(stat -c %s "$work/raw.log") bytes" >&2

rate() { sed -n 's/.*(\([0-9]*\) lines\/s.*/\1/p' | tail -1; }
# CPU time (user + system, clock ticks of 10 ms) the broker has used so far: its share of
# each step is what the step made it do.
ticks_per_second=$(getconf CLK_TCK)
broker_ticks() { cut -d')' -f2 "/proc/$broker_pid/stat" | awk '{ print $12 + $13 }'; }
# Broker CPU in microseconds per line between two readings.
broker_us() { awk -v a="$1" -v b="$2" -v hz="$ticks_per_second" -v n="$lines" 'BEGIN { printf "%.2f", (b - a) * 1e6 / hz / n }'; }

echo "== 1. files -> directory" >&2
t0=$(broker_ticks)
dir_rate=$(/usr/bin/time -f '%U %S %M' -o "$work/dir.time" "$bin" process --log-level warn --out "$work/records" "$work/raw.log" 2>&1 | tee "$work/dir.txt" | rate)

t1=$(broker_ticks)
echo "== 2. bare producer, same records" >&2
bare_line=$(BARE_PRODUCER_BROKERS="$brokers" BARE_PRODUCER_RECORDS="$work/records" \
    cargo bench --quiet --bench bare_producer 2>/dev/null | grep '^bare producer')
echo "$bare_line" >&2
bare_rate=$(echo "$bare_line" | sed -n 's/.* s: \([0-9]*\) records\/s.*/\1/p')
bare_cpu=$(echo "$bare_line" | sed -n 's/.*, \([0-9.]*\) us CPU\/record.*/\1/p')
t2=$(broker_ticks)

echo "== 3. files -> Kafka" >&2
f2k_rate=$(/usr/bin/time -f '%U %S %M' -o "$work/f2k.time" "$bin" process --log-level warn --kafka "$brokers" "$work/raw.log" 2>&1 | rate)

t3=$(broker_ticks)
echo "== 4. Kafka -> Kafka" >&2
write_k2k_config "$work/k2k.yaml" bench
/usr/bin/time -f '%U %S %M' -o "$work/k2k.time" "$bin" process --log-level warn --config "$work/k2k.yaml" >"$work/k2k.txt" 2>&1
k2k_rate=$(rate <"$work/k2k.txt")
t4=$(broker_ticks)
grep -E "lines read|delivered" "$work/k2k.txt" >&2

eos_rate="" t5="$t4"
if [ "$broker" = kafka ]; then
    echo "== 5. Kafka -> Kafka, exactly once" >&2
    write_k2k_config "$work/eos.yaml" bench-eos
    echo "delivery: exactly_once" >>"$work/eos.yaml"
    /usr/bin/time -f '%U %S %M' -o "$work/eos.time" "$bin" process --log-level warn --config "$work/eos.yaml" >"$work/eos.txt" 2>&1
    eos_rate=$(rate <"$work/eos.txt")
    t5=$(broker_ticks)
    grep -E "lines read|delivered" "$work/eos.txt" >&2
fi

echo "== 6. bare consumer, the raw topic" >&2
consumer_line=$(BARE_CONSUMER_BROKERS="$brokers" BARE_CONSUMER_TOPIC=eventlogging-client-side \
    cargo bench --quiet --bench bare_consumer 2>/dev/null | grep '^bare consumer')
echo "$consumer_line" >&2
consumer_rate=$(echo "$consumer_line" | sed -n 's/.* s: \([0-9]*\) records\/s.*/\1/p')
consumer_cpu=$(echo "$consumer_line" | sed -n 's/.*, \([0-9.]*\) us CPU\/record.*/\1/p')
t6=$(broker_ticks)

follow_rate=""
follow_eos_rate=""
if [ "$broker" = kafka ]; then
    # follow NAME [DELIVERY]: lines/s of `run` following a copy of the raw file into Kafka, from
    # its start until its checkpoint covers the file; its CPU in $work/NAME.time.
    follow() {
        mkdir -p "$work/$1.in"
        cp "$work/raw.log" "$work/$1.in/raw.log"
        local size
        size=$(stat -c %s "$work/$1.in/raw.log")
        cat >"$work/$1.yaml" <<YAML
delivery: ${2:-at_least_once}
input:
  type: files
  include: ["$work/$1.in/*.log"]
  data_dir: "$work/$1.data"
  checkpoint_interval_ms: 100
output:
  type: kafka
  brokers: "$brokers"
  checkpoint_topic: bench-checkpoints
http:
  listen: null
logging:
  level: warn
YAML
        local start end timer
        start=$(date +%s.%N)
        /usr/bin/time -f '%U %S %M' -o "$work/$1.time" "$bin" run --config "$work/$1.yaml" 2>"$work/$1.log" &
        timer=$!
        until python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if sum(f["offset"] for f in d["files"]) >= int(sys.argv[2]) else 1)' \
            "$work/$1.data/checkpoints.json" "$size" 2>/dev/null; do
            kill -0 "$timer" 2>/dev/null || { echo "$1: run stopped early:" >&2; tail -5 "$work/$1.log" >&2; exit 1; }
            sleep 0.05
        done
        end=$(date +%s.%N)
        pkill -TERM -P "$timer"
        wait "$timer"
        awk -v a="$start" -v b="$end" -v n="$lines" 'BEGIN { printf "%d", n / (b - a) }'
    }
    echo "== 7. followed files -> Kafka, at least once and exactly once" >&2
    t6a=$(broker_ticks)
    follow_rate=$(follow follow)
    t6b=$(broker_ticks)
    follow_eos_rate=$(follow follow-eos exactly_once)
    t6c=$(broker_ticks)
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
usage() { awk -v n="$lines" '{ printf "%11.2f %10.0f", ($1 + $2) * 1e6 / n, $3 / 1024 }' "$1"; }
printf '\n%-38s %12s %10s %11s %10s %12s\n' "path" "records/s" "vs bare" "CPU us/line" "peak MB" "broker us/line"
printf '%-38s %12s %10s %11s %10s %12s\n' "bare rdkafka producer" "$bare_rate" "1.00" "$bare_cpu" "" "$(broker_us "$t1" "$t2")"
printf '%-38s %12s %10s %s %12s\n' "files -> directory (processor)" "$dir_rate" "$(ratio "$dir_rate" "$bare_rate")" "$(usage "$work/dir.time")" "$(broker_us "$t0" "$t1")"
printf '%-38s %12s %10s %s %12s\n' "files -> Kafka (processor)" "$f2k_rate" "$(ratio "$f2k_rate" "$bare_rate")" "$(usage "$work/f2k.time")" "$(broker_us "$t2" "$t3")"
printf '%-38s %12s %10s %s %12s\n' "Kafka -> Kafka (processor)" "$k2k_rate" "$(ratio "$k2k_rate" "$bare_rate")" "$(usage "$work/k2k.time")" "$(broker_us "$t3" "$t4")"
if [ -n "$eos_rate" ]; then
    printf '%-38s %12s %10s %s %12s\n' "Kafka -> Kafka exactly once" "$eos_rate" "$(ratio "$eos_rate" "$bare_rate")" "$(usage "$work/eos.time")" "$(broker_us "$t4" "$t5")"
fi
printf '%-38s %12s %10s %11s %10s %12s\n' "bare rdkafka consumer (raw topic)" "$consumer_rate" "$(ratio "$consumer_rate" "$bare_rate")" "$consumer_cpu" "" "$(broker_us "$t5" "$t6")"
if [ -n "$follow_rate" ]; then
    printf '%-38s %12s %10s %s %12s\n' "followed files -> Kafka" "$follow_rate" "$(ratio "$follow_rate" "$bare_rate")" "$(usage "$work/follow.time")" "$(broker_us "$t6a" "$t6b")"
    printf '%-38s %12s %10s %s %12s\n' "followed files -> Kafka exactly once" "$follow_eos_rate" "$(ratio "$follow_eos_rate" "$bare_rate")" "$(usage "$work/follow-eos.time")" "$(broker_us "$t6b" "$t6c")"
fi
echo "(records/s from the processor's own count, i.e. from its first line; the broker is a separate process on the same cores."
echo " CPU us/line: the processor's whole run, start-up included, or the bare producer's timed part; broker us/line: the"
echo " $broker broker's CPU during the step. The Kafka -> Kafka broker figure includes serving the raw topic to the consumer.)"
