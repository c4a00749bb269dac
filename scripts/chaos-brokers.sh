#!/usr/bin/env bash
# Broker faults on a 3-node Apache Kafka cluster (scripts/kafka.sh --nodes 3: replication factor
# 3, min.insync.replicas 2), loopback only. One `run` instance reads a 12-partition raw topic
# into the per-schema topics while:
#   1. the first half of the lines is fed, and the leader of raw partition 0 is killed with
#      SIGKILL mid-stream (restarted 10 s later);
#   2. every broker is killed with SIGKILL for OUTAGE seconds, then all three are started again;
#      /ready is polled the whole time and must answer 503 while no broker is reachable and 200
#      again after;
#   3. the second half of the lines is fed once the cluster is back.
# The checker (benches/chaos_check.rs) then compares every output record's id with a clean
# `process --out` of the same lines. Prints lost, duplicates, the seconds /ready said 503, the
# time from the brokers' return to the next committed line, and the wall time.
#
# Usage: scripts/chaos-brokers.sh [LINES=300000] [OUTAGE=60] [SEED=1]
set -euo pipefail

lines="${1:-300000}"
outage="${2:-60}"
seed="${3:-1}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
work="$(mktemp -d "${TMPDIR:-/tmp}/chaos-brokers.XXXXXX")"
pids=()
# shellcheck source=scripts/apache-kafka.sh
. "$repo/scripts/apache-kafka.sh"
cleanup() {
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    stop_apache_kafka
    rm -rf "$work"
}
trap cleanup EXIT
started=$(date +%s)
log() { echo "[chaos-brokers $(( $(date +%s) - started ))s] $*" >&2; }

cargo build --release --quiet
cargo bench --quiet --bench chaos_check --no-run 2>/dev/null
bin="${CARGO_TARGET_DIR:-$repo/target}/release/beacon-processor"
use_apache_kafka 3
log "3-node Apache Kafka at $brokers"
create_topic chaos.raw 12
for t in NavigationTiming SearchSatisfaction Echo EditAttemptStep Generic EventError; do
    create_topic "chaos.eventlogging_$t" 6
done

"$bin" generate -n "$lines" --seed "$seed" -o "$work/beacons.log"
"$bin" process --log-level warn --out "$work/expected" "$work/beacons.log" >/dev/null 2>&1
half=$(( lines / 2 ))
head -n "$half" "$work/beacons.log" >"$work/first.log"
tail -n +"$(( half + 1 ))" "$work/beacons.log" >"$work/second.log"

cat >"$work/config.yaml" <<YAML
input:
  type: kafka
  brokers: "$brokers"
  topics: ["chaos.raw"]
  group_id: chaos
  commit_interval_ms: 1000
  options:
    session.timeout.ms: 10000
    heartbeat.interval.ms: 1000
output:
  type: kafka
  brokers: "$brokers"
routing:
  valid_topic: "chaos.eventlogging_{schema}"
  error_topic: "chaos.eventlogging_EventError"
schemas:
  legacy_dirs: ["$repo/config/schemas"]
logging:
  level: info
http:
  listen: 127.0.0.1:0
YAML

committed() {
    kafka_tool org.apache.kafka.tools.consumer.group.ConsumerGroupCommand \
        --bootstrap-server "$brokers" --describe --group chaos 2>/dev/null \
        | awk '$2 == "chaos.raw" { c += ($4 ~ /^[0-9]+$/ ? $4 : 0) } END { print c + 0 }'
}
feed() { # FILE
    kafka_tool org.apache.kafka.tools.ConsoleProducer --bootstrap-server "$brokers" \
        --topic chaos.raw --producer-property acks=all <"$1" >/dev/null
}
wait_committed() { # COUNT SECONDS
    local deadline=$(( $(date +%s) + $2 ))
    until [ "$(committed)" -ge "$1" ]; do
        [ "$(date +%s)" -lt "$deadline" ] || { echo "not every line was committed within $2 s" >&2; exit 1; }
        sleep 1
    done
}

"$bin" run --config "$work/config.yaml" >"$work/run.log" 2>&1 &
processor=$!
pids+=($processor)
address=""
for _ in $(seq 300); do
    address="$(sed -n 's|.*status page at http://\([^/]*\)/.*|\1|p' "$work/run.log" | head -1)"
    [ -n "$address" ] && break
    sleep 0.1
done
[ -n "$address" ] || { echo "the processor did not start its status page" >&2; exit 1; }
ready() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$address/ready" || echo 000; }
# /ready is sampled every second from here on.
( while kill -0 "$processor" 2>/dev/null; do echo "$(date +%s) $(ready)"; sleep 1; done ) >"$work/ready.log" &
pids+=($!)

leader="$(scripts/kafka.sh leader --dir "$kafka_dir" chaos.raw 0)"
log "feeding the first $half lines"
feed "$work/first.log" &
feeder=$!
sleep 3
log "SIGKILL of node $leader, the leader of chaos.raw [0], mid-feed ($(committed) lines committed)"
scripts/kafka.sh kill-node --dir "$kafka_dir" "$leader"
wait "$feeder"
sleep 10
scripts/kafka.sh start-node --dir "$kafka_dir" "$leader"
log "node $leader is back"
wait_committed "$half" 300
log "first half committed; SIGKILL of every broker for ${outage}s"
outage_start=$(date +%s)
for n in 1 2 3; do scripts/kafka.sh kill-node --dir "$kafka_dir" "$n"; done
sleep "$outage"
# A KRaft quorum needs a majority: the three nodes start together.
starts=()
for n in 1 2 3; do scripts/kafka.sh start-node --dir "$kafka_dir" "$n" & starts+=($!); done
for pid in "${starts[@]}"; do wait "$pid" || { echo "a node did not start again" >&2; exit 1; }; done
back=$(date +%s)
log "every broker is back after $(( back - outage_start ))s; feeding the second half"
feed "$work/second.log" &
feeder=$!
first_commit_after=""
deadline=$(( $(date +%s) + 300 ))
while [ "$(committed)" -le "$half" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "nothing was committed after the outage" >&2; exit 1; }
    sleep 0.5
done
first_commit_after=$(( $(date +%s) - back ))
wait "$feeder"
wait_committed "$lines" 300
kill -TERM "$processor"
wait "$processor" || { echo "the processor did not stop cleanly" >&2; exit 1; }

not_ready=$(awk -v a="$outage_start" -v b="$back" '$1 >= a && $1 <= b && $2 != 200 { n++ } END { print n + 0 }' "$work/ready.log")
ready_during=$(awk -v a="$outage_start" -v b="$back" '$1 >= a + 15 && $1 <= b && $2 == 200 { n++ } END { print n + 0 }' "$work/ready.log")
ready_after=$(awk -v b="$back" '$1 > b && $2 == 200 { n++ } END { print n + 0 }' "$work/ready.log")
log "checking"
CHAOS_BROKERS="$brokers" CHAOS_EXPECTED="$work/expected" CHAOS_TOPIC_PREFIX="chaos.eventlogging_" \
    cargo bench --quiet --bench chaos_check 2>/dev/null | tee "$work/check.txt" || true
echo
echo "chaos-brokers: $lines lines, leader of raw partition 0 (node $leader) killed, every broker down ${outage}s, $(( $(date +%s) - started ))s"
echo "  $(cat "$work/check.txt")"
echo "  /ready: $not_ready of the outage's one-second samples said not ready; $ready_during said 200 from 15 s into the outage (must be 0); $ready_after said 200 after it"
echo "  first line of the second half committed ${first_commit_after}s after every broker was back (fed from then on)"
grep -q "lost 0," "$work/check.txt" && [ "$ready_during" -eq 0 ] && [ "$ready_after" -gt 0 ]
