#!/usr/bin/env bash
# File-input chaos on Apache Kafka itself (scripts/kafka.sh, loopback only, bounded in time):
# `run` tails two growing files into per-schema topics while it is killed with SIGKILL KILLS
# times (each instance lives 2-6 s, so kills land mid-file and mid-transaction) and restarted at
# once; a last instance then finishes and is stopped with SIGTERM once its checkpoint covers both
# files. Two phases, each on topics and a data directory of its own:
#   1. at-least-once (the default delivery): verdict 0 lost; duplicates are the lines delivered
#      after the last checkpoint write before each kill;
#   2. exactly-once (`delivery: exactly_once`: the checkpoint is committed in the records'
#      transaction, to a compacted checkpoint topic): verdict, read as a read_committed
#      consumer, 0 lost and 0 duplicates.
# The checker (benches/chaos_check.rs) reads every output record and compares the ids with a
# clean `process --out` of the same lines. Prints events, lost, duplicates and wall time.
#
# Usage: scripts/chaos-files.sh [LINES=300000] [KILLS=10] [SEED=1]
#   PHASES=at-least-once,exactly-once (default: both) runs only some.
# Environment: BEACON_TEST_KAFKA=HOST:PORT uses a running broker instead of starting one;
# RATE (lines/s appended; default: so that appending lasts as long as the kills, ~4 s each).
set -euo pipefail

lines="${1:-300000}"
kills="${2:-10}"
seed="${3:-1}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
work="$(mktemp -d "${TMPDIR:-/tmp}/chaos-files.XXXXXX")"
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
RANDOM=$seed
started=$(date +%s)
run="$$"
log() { echo "[chaos-files $(( $(date +%s) - started ))s] $*" >&2; }

cargo build --release --quiet
cargo bench --quiet --bench chaos_check --no-run 2>/dev/null
bin="${CARGO_TARGET_DIR:-$repo/target}/release/beacon-processor"
use_apache_kafka
log "Apache Kafka at $brokers"

log "generating $lines lines and the expected output (clean run to a directory)"
"$bin" generate -n "$lines" --seed "$seed" -o "$work/beacons.log"
"$bin" process --log-level warn --out "$work/expected" "$work/beacons.log" >/dev/null 2>&1
rate="${RATE:-$(( lines / (kills * 4 > 0 ? kills * 4 : 1) ))}"
[ "$rate" -ge 10 ] || rate=10
split -l "$(( rate / 10 ))" -d -a 7 "$work/beacons.log" "$work/chunk."

# Bytes the data directory's checkpoint says are delivered, over every file.
checkpointed() { # PHASE
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum(f["offset"] for f in d["files"]))' \
        "$work/$1.data/checkpoints.json" 2>/dev/null || echo 0
}

pid=""
start_instance() { # PHASE
    "$bin" run --config "$work/$1.yaml" >>"$work/$1.log" 2>&1 &
    pid=$!
    pids+=($pid)
}

run_phase() { # PHASE
    local phase="$1"
    for t in NavigationTiming SearchSatisfaction Echo EditAttemptStep Generic EventError; do
        create_topic "chaos-$run-$phase.eventlogging_$t" 6
    done
    mkdir -p "$work/$phase.in"
    cat >"$work/$phase.yaml" <<YAML
input:
  type: files
  include: ["$work/$phase.in/*.log"]
  data_dir: "$work/$phase.data"
  checkpoint_interval_ms: 1000
output:
  type: kafka
  brokers: "$brokers"
  checkpoint_topic: "chaos-checkpoints-$run"
routing:
  valid_topic: "chaos-$run-$phase.eventlogging_{schema}"
  error_topic: "chaos-$run-$phase.eventlogging_EventError"
schemas:
  legacy_dirs: ["$repo/config/schemas"]
logging:
  level: info
http:
  listen: null
YAML
    if [ "$phase" = exactly-once ]; then echo "delivery: exactly_once" >>"$work/$phase.yaml"; fi
    log "phase $phase: appending $lines lines at $rate lines/s to two files, $kills kills"
    local phase_started
    phase_started=$(date +%s)
    start_instance "$phase"
    # The feeder: a tenth of a second's lines every tenth of a second, alternating files.
    ( n=0; for chunk in "$work"/chunk.*; do
        cat "$chunk" >>"$work/$phase.in/$(( n % 2 )).log"; n=$(( n + 1 )); sleep 0.1
      done ) &
    local feeder=$!
    pids+=($feeder)
    local i tenths
    for i in $(seq 1 "$kills"); do
        tenths=$(( 20 + RANDOM % 41 ))
        sleep "$(( tenths / 10 )).$(( tenths % 10 ))"
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        log "SIGKILL $i/$kills (checkpoint at $(checkpointed "$phase") bytes)"
        start_instance "$phase"
    done
    wait "$feeder"
    local size deadline=$(( $(date +%s) + 300 ))
    size=$(cat "$work/$phase.in"/*.log | wc -c)
    until [ "$(checkpointed "$phase")" -ge "$size" ]; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "phase $phase: not everything was delivered within 300 s (log: $work/$phase.log)" >&2
            tail -20 "$work/$phase.log" >&2
            exit 1
        fi
        sleep 1
    done
    kill -TERM "$pid"
    wait "$pid" || { echo "the last instance did not exit cleanly" >&2; tail -20 "$work/$phase.log" >&2; exit 1; }
    log "phase $phase: everything delivered after $(( $(date +%s) - phase_started )) s; checking"
    local verdict
    verdict="$(CHAOS_BROKERS="$brokers" CHAOS_EXPECTED="$work/expected" \
        CHAOS_TOPIC_PREFIX="chaos-$run-$phase." \
        cargo bench --quiet --bench chaos_check 2>&1)" || { echo "$verdict" >&2; exit 1; }
    echo "phase $phase: $verdict"
    if [ "$phase" = exactly-once ] && ! grep -q "duplicates 0," <<<"$verdict"; then
        echo "phase exactly-once: a read_committed reader saw duplicates" >&2
        exit 1
    fi
}

IFS=, read -r -a phases <<<"${PHASES:-at-least-once,exactly-once}"
for phase in "${phases[@]}"; do
    case "$phase" in
        at-least-once|exactly-once) run_phase "$phase" ;;
        *) echo "unknown phase $phase (expected at-least-once or exactly-once)" >&2; exit 2 ;;
    esac
done
log "done in $(( $(date +%s) - started )) s"
