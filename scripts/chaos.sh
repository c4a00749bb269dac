#!/usr/bin/env bash
# Chaos run, loopback only, bounded in time. Two phases over the same generated lines:
#   1. files -> Kafka: `run` tails a file into the per-schema topics of mock cluster A;
#   2. Kafka -> Kafka: `run` consumes the raw topic of mock cluster B into its per-schema topics;
#      in the middle of this phase cluster B's brokers go down for OUTAGE seconds.
# In each phase the processor is killed with SIGKILL at random points KILLS times and restarted;
# a last instance then finishes the input. A checker (benches/chaos_check.rs) reads every output
# record and compares the ids (uuid) with a clean `process --out` of the same lines: it prints
# events expected, lost (must be 0), duplicates, and fails on any loss.
# The brokers are `beacon-processor dev-kafka` processes (librdkafka's mock cluster).
#
# Usage: scripts/chaos.sh [LINES=1000000] [KILLS per phase=10] [OUTAGE seconds=60] [SEED=1]
set -euo pipefail

lines="${1:-1000000}"
kills="${2:-10}"
outage="${3:-60}"
seed="${4:-1}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
work="$(mktemp -d "${TMPDIR:-/tmp}/chaos.XXXXXX")"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
RANDOM=$seed
started=$(date +%s)
log() { echo "[chaos $(( $(date +%s) - started ))s] $*" >&2; }

cargo build --release --quiet
cargo bench --quiet --bench chaos_check --no-run 2>/dev/null
bin="${CARGO_TARGET_DIR:-$repo/target}/release/beacon-processor"

# The mock keeps only ~5 MB per partition: enough partitions that nothing is dropped.
topics=(--topic eventlogging-client-side:256)
for t in NavigationTiming SearchSatisfaction Echo EditAttemptStep Generic EventError; do
    topics+=(--topic "eventlogging_$t:96")
done
start_broker() { # name
    "$bin" dev-kafka "${topics[@]}" --address-file "$work/$1.address" >"$work/$1.log" 2>&1 &
    pids+=($!)
    echo $! >"$work/$1.pid"
    for _ in $(seq 200); do [ -s "$work/$1.address" ] && return; sleep 0.05; done
    echo "broker $1 did not start" >&2; exit 1
}
start_broker a
start_broker b
brokers_a=$(cat "$work/a.address")
brokers_b=$(cat "$work/b.address")

mkdir -p "$work/input"
log "generating $lines lines"
"$bin" generate -n "$lines" --seed "$seed" -o "$work/input/beacons.log"
size=$(stat -c %s "$work/input/beacons.log")
log "expected outputs (clean run to a directory)"
"$bin" process --log-level warn --out "$work/expected" "$work/input/beacons.log" >/dev/null 2>&1

common_config() {
    cat <<YAML
schemas:
  legacy_dirs: ["$repo/config/schemas"]
  event_repositories: ["$repo/config/event-schemas"]
streams:
  config: "$repo/config/stream-config.yaml"
logging:
  level: info
YAML
}
cat >"$work/files-to-kafka.yaml" <<YAML
input:
  type: files
  include: ["$work/input/*.log"]
  data_dir: "$work/data"
  checkpoint_interval_ms: 200
output:
  type: kafka
  brokers: "$brokers_a"
$(common_config)
YAML
cat >"$work/kafka-to-kafka.yaml" <<YAML
input:
  type: kafka
  brokers: "$brokers_b"
  group_id: chaos
  commit_interval_ms: 500
  options:
    session.timeout.ms: 3000
    heartbeat.interval.ms: 500
pipeline:
  workers: 1      # slower on purpose: the kills then land while the raw topic is being read
output:
  type: kafka
  brokers: "$brokers_b"
$(common_config)
YAML

processor_pid=""
phase=0
delivered_offset() {
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(max([f["offset"] for f in d["files"]] or [0]))' \
        "$work/data/checkpoints.json" 2>/dev/null || echo 0
}
start_processor() { # config log
    "$bin" run --config "$1" >>"$2" 2>&1 &
    processor_pid=$!
    pids+=($processor_pid)
}
progress() { # what the run has delivered so far, as far as its checkpoint/commits say
    case "$phase" in
        1) echo "checkpoint at byte $(delivered_offset) of $size" ;;
        2) echo "$(grep -c 'partitions assigned' "$work/phase2.log" 2>/dev/null || echo 0) partition assignments so far, $(grep -o 'lines=[0-9]*' "$work/phase2.log" | tail -1)" ;;
    esac
}
kill_loop() { # config log min_tenths max_tenths: each instance lives a random time in between
    for i in $(seq "$kills"); do
        start_processor "$1" "$2"
        local tenths=$(( $3 + RANDOM % ($4 - $3 + 1) ))
        sleep "$(( tenths / 10 )).$(( tenths % 10 ))"
        kill -9 "$processor_pid" 2>/dev/null || true
        wait "$processor_pid" 2>/dev/null || true
        log "SIGKILL $i/$kills ($(progress))"
    done
}

phase=1
log "phase 1: files -> Kafka, $kills kills"
# Instances live 0.5-2.5 s (start-up takes about 0.3 s): kills land mid-file.
kill_loop "$work/files-to-kafka.yaml" "$work/phase1.log" 5 25
start_processor "$work/files-to-kafka.yaml" "$work/phase1.log"
deadline=$(( $(date +%s) + 900 ))
until [ "$(delivered_offset)" -ge "$size" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "phase 1 did not finish in time" >&2; exit 1; }
    sleep 1
done
kill -TERM "$processor_pid"; wait "$processor_pid" || { echo "the last phase 1 instance did not exit cleanly" >&2; exit 1; }
log "phase 1 finished; checking cluster A"
CHAOS_BROKERS="$brokers_a" CHAOS_EXPECTED="$work/expected" \
    cargo bench --quiet --bench chaos_check 2>/dev/null | tee "$work/check-a.txt" || true

phase=2
log "phase 2: Kafka -> Kafka, filling the raw topic"
"$bin" generate -n "$lines" --seed "$seed" --kafka "$brokers_b" 2>/dev/null
# Instances live 6-12 s: joining the group takes 3 s, more after a killed member (its session
# must time out first), so a shorter life would kill instances that never consumed.
kill_loop "$work/kafka-to-kafka.yaml" "$work/phase2.log" 60 120
log "phase 2: broker outage of ${outage}s while a processor runs"
start_processor "$work/kafka-to-kafka.yaml" "$work/phase2.log"
sleep 8
kill -USR1 "$(cat "$work/b.pid")"
sleep "$outage"
kill -USR2 "$(cat "$work/b.pid")"
log "brokers back; one more SIGKILL after the outage"
sleep 5
kill -9 "$processor_pid" 2>/dev/null || true
wait "$processor_pid" 2>/dev/null || true
log "phase 2: a last instance reads the raw topic to its end"
"$bin" process --config "$work/kafka-to-kafka.yaml" >>"$work/phase2.log" 2>&1
# Accounting invariant of the last instance: lines in = valid + error events out.
if grep -q "lines read but" "$work/phase2.log"; then
    echo "accounting invariant broken: $(grep 'lines read but' "$work/phase2.log")" >&2; exit 1
fi
grep -E "lines read|delivered \(valid" "$work/phase2.log" | tail -2 >&2
log "checking cluster B"
CHAOS_BROKERS="$brokers_b" CHAOS_EXPECTED="$work/expected" CHAOS_EXCLUDE=eventlogging-client-side \
    cargo bench --quiet --bench chaos_check 2>/dev/null | tee "$work/check-b.txt" || true

echo
echo "chaos run: $lines events per phase, $((kills * 2 + 1)) SIGKILLs, broker outage ${outage}s, $(( $(date +%s) - started ))s"
echo "files -> Kafka:  $(cat "$work/check-a.txt")"
echo "Kafka -> Kafka:  $(cat "$work/check-b.txt")"
grep -q "lost 0," "$work/check-a.txt" && grep -q "lost 0," "$work/check-b.txt"
