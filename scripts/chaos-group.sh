#!/usr/bin/env bash
# Consumer-group chaos on Apache Kafka itself (scripts/kafka.sh, loopback only, bounded in time):
# raw topic (12 partitions) -> Kafka with INSTANCES `run` instances in one consumer group, while a
# feeder produces the raw lines at a bounded rate. Two phases, each on topics of its own:
#   1. graceful: GRACEFUL events while lines flow, each one of: a SIGTERM restart of a random
#      instance, a scale-out (one more instance joins) or a scale-in (one leaves). Verdict: 0 lost
#      and 0 duplicates (revoked partitions are drained and committed before they move).
#   2. kill -9: KILLS SIGKILLs of a random instance, each restarted at once. Verdict: 0 lost;
#      duplicates at most the lines not yet committed at the kills (summed over the kills: the
#      group's committed offsets against the raw topic's end, sampled just before each kill).
#   3. exactly-once: the kills of phase 2 with `delivery: exactly_once` (each instance slot has
#      its own stable transactional_id). Verdict, read as a read_committed consumer: 0 lost and
#      0 duplicates.
# Every phase ends with the instances stopped gracefully once everything is committed; the checker
# (benches/chaos_check.rs) then reads every output record and compares the ids with a clean
# `process --out` of the same lines. Prints events, lost, duplicates, kills and wall time.
#
# Usage: scripts/chaos-group.sh [LINES=1000000] [KILLS=20] [GRACEFUL=10] [INSTANCES=3] [SEED=1]
#   PHASES=graceful,kill,exactly-once (default: all three) runs only some.
# Environment: BEACON_TEST_KAFKA=HOST:PORT uses a running broker instead of starting one;
# RATE (lines/s fed; default: so that feeding lasts as long as the phase's events, ~5 s each).
set -euo pipefail

lines="${1:-1000000}"
kills="${2:-20}"
graceful="${3:-10}"
instances="${4:-3}"
seed="${5:-1}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
work="$(mktemp -d "${TMPDIR:-/tmp}/chaos-group.XXXXXX")"
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
# Topic and group names are this run's own: a shared broker keeps earlier runs' records.
run="$$"
log() { echo "[chaos-group $(( $(date +%s) - started ))s] $*" >&2; }

cargo build --release --quiet
cargo bench --quiet --bench chaos_check --no-run 2>/dev/null
bin="${CARGO_TARGET_DIR:-$repo/target}/release/beacon-processor"
use_apache_kafka
log "Apache Kafka at $brokers"

log "generating $lines lines and the expected output (clean run to a directory)"
"$bin" generate -n "$lines" --seed "$seed" -o "$work/beacons.log"
"$bin" process --log-level warn --out "$work/expected" "$work/beacons.log" >/dev/null 2>&1

# Sum over the raw topic's partitions of the group's committed offsets and of the end offsets.
committed_and_end() { # PHASE
    kafka_tool org.apache.kafka.tools.consumer.group.ConsumerGroupCommand \
        --bootstrap-server "$brokers" --describe --group "chaos-$run-$1" 2>/dev/null \
        | awk -v t="chaos-$run-$1.raw" '$2 == t { c += ($4 ~ /^[0-9]+$/ ? $4 : 0); e += $5 } END { printf "%d %d\n", c, e }'
}

# Instances of the current phase: slot -> pid.
declare -A slot_pid=()
start_instance() { # PHASE SLOT
    local config="$work/$1.yaml"
    if [ "$1" = exactly-once ]; then
        # A stable transactional id per slot: a restarted instance aborts what its killed
        # predecessor left open.
        config="$work/$1.$2.yaml"
        sed "s/^output:$/output:\n  transactional_id: chaos-$run-$1-$2/" "$work/$1.yaml" >"$config"
    fi
    "$bin" run --config "$config" >>"$work/$1.instance-$2.log" 2>&1 &
    slot_pid[$2]=$!
    pids+=($!)
}
stop_instance() { # SLOT SIGNAL
    local pid="${slot_pid[$1]}"
    kill "-$2" "$pid" 2>/dev/null || true
    if ! wait "$pid" 2>/dev/null && [ "$2" = TERM ]; then
        echo "instance $1 did not exit cleanly after SIGTERM" >&2
        exit 1
    fi
    unset "slot_pid[$1]"
}
random_slot() { local slots=("${!slot_pid[@]}"); echo "${slots[$(( RANDOM % ${#slots[@]} ))]}"; }

run_phase() { # PHASE EVENTS KIND(graceful|kill)
    local phase="$1" events="$2" kind="$3"
    local rate="${RATE:-$(( lines / (events * 5 > 0 ? events * 5 : 1) ))}"
    [ "$rate" -ge 10 ] || rate=10
    rm -f "$work"/chunk.*
    split -l "$(( rate / 10 ))" -d -a 7 "$work/beacons.log" "$work/chunk."
    # (set -e does not apply inside a function called from `||`: create_topic exits itself.)
    create_topic "chaos-$run-$phase.raw" 12
    for t in NavigationTiming SearchSatisfaction Echo EditAttemptStep Generic EventError; do
        create_topic "chaos-$run-$phase.eventlogging_$t" 6
    done
    cat >"$work/$phase.yaml" <<YAML
input:
  type: kafka
  brokers: "$brokers"
  topics: ["chaos-$run-$phase.raw"]
  group_id: "chaos-$run-$phase"
  commit_interval_ms: 1000
  options:
    session.timeout.ms: 6000
    heartbeat.interval.ms: 500
output:
  type: kafka
  brokers: "$brokers"
routing:
  valid_topic: "chaos-$run-$phase.eventlogging_{schema}"
  error_topic: "chaos-$run-$phase.eventlogging_EventError"
schemas:
  legacy_dirs: ["$repo/config/schemas"]
pipeline:
  workers: 1
logging:
  level: info
http:
  listen: null
YAML
    if [ "$phase" = exactly-once ]; then echo "delivery: exactly_once" >>"$work/$phase.yaml"; fi
    log "phase $phase: $instances instances, feeding $lines lines at $rate lines/s, $events $kind events"
    local phase_started
    phase_started=$(date +%s)
    for slot in $(seq 1 "$instances"); do start_instance "$phase" "$slot"; done
    # The feeder: one console producer, a tenth of a second's lines every tenth of a second.
    ( for chunk in "$work"/chunk.*; do cat "$chunk"; sleep 0.1; done ) \
        | kafka_tool org.apache.kafka.tools.ConsoleProducer --bootstrap-server "$brokers" \
            --topic "chaos-$run-$phase.raw" --producer-property acks=all \
            --producer-property linger.ms=20 >/dev/null &
    local feeder=$!
    pids+=($feeder)
    local uncommitted=0 next_slot=$(( instances + 1 )) i c e slot
    for i in $(seq 1 "$events"); do
        sleep "$(( 3 + RANDOM % 4 )).$(( RANDOM % 10 ))"
        if [ "$kind" = kill ]; then
            slot="$(random_slot)"
            read -r c e <<<"$(committed_and_end "$phase")"
            uncommitted=$(( uncommitted + e - c ))
            stop_instance "$slot" 9
            start_instance "$phase" "$slot"
            log "SIGKILL $i/$events of instance $slot ($(( e - c )) lines uncommitted at the kill, committed $c of $e)"
        else
            case $(( RANDOM % 3 )) in
                0) slot="$(random_slot)"; stop_instance "$slot" TERM; start_instance "$phase" "$slot"
                   log "event $i/$events: instance $slot restarted (SIGTERM)" ;;
                1) start_instance "$phase" "$next_slot"
                   log "event $i/$events: scale-out, instance $next_slot joins (${#slot_pid[@]} running)"
                   next_slot=$(( next_slot + 1 )) ;;
                2) if [ "${#slot_pid[@]}" -gt 1 ]; then
                       slot="$(random_slot)"; stop_instance "$slot" TERM
                       log "event $i/$events: scale-in, instance $slot leaves (${#slot_pid[@]} running)"
                   else
                       start_instance "$phase" "$next_slot"; next_slot=$(( next_slot + 1 ))
                       log "event $i/$events: scale-out instead of a scale-in (one instance left)"
                   fi ;;
            esac
        fi
    done
    wait "$feeder" || { echo "the feeder failed (log: $work/tools.log)" >&2; exit 1; }
    log "phase $phase: fed; waiting until every line is committed"
    local deadline=$(( $(date +%s) + 900 ))
    while :; do
        read -r c e <<<"$(committed_and_end "$phase")"
        [ "$e" -ge "$lines" ] && [ "$c" -ge "$e" ] && break
        [ "$(date +%s)" -lt "$deadline" ] || { echo "phase $phase did not finish in time ($c of $e committed)" >&2; exit 1; }
        sleep 2
    done
    for slot in "${!slot_pid[@]}"; do stop_instance "$slot" TERM; done
    local wall=$(( $(date +%s) - phase_started ))
    if grep -h "committing delivered offsets failed" "$work/$phase".instance-*.log >&2; then
        log "phase $phase: some commits failed (above)"
    fi
    log "phase $phase: checking"
    CHAOS_BROKERS="$brokers" CHAOS_EXPECTED="$work/expected" CHAOS_TOPIC_PREFIX="chaos-$run-$phase.eventlogging_" \
        cargo bench --quiet --bench chaos_check 2>/dev/null | tee "$work/check-$phase.txt" || true
    local duplicates
    duplicates="$(grep -o 'duplicates [0-9]*' "$work/check-$phase.txt" | grep -o '[0-9]*' || echo unknown)"
    echo "$phase ($kind): $events events, ${wall}s, $(cat "$work/check-$phase.txt")" >>"$work/summary.txt"
    if ! grep -q "lost 0," "$work/check-$phase.txt"; then
        echo "phase $phase: input lost" >&2; return 1
    fi
    if { [ "$kind" = graceful ] || [ "$phase" = exactly-once ]; } && [ "$duplicates" != 0 ]; then
        echo "phase $phase: $duplicates duplicates, where there must be none" >&2; return 1
    fi
    if [ "$kind" = kill ]; then
        echo "  bound: $uncommitted lines were uncommitted at the kills; duplicates $duplicates" >>"$work/summary.txt"
        if [ "$duplicates" = unknown ] || [ "$duplicates" -gt "$uncommitted" ]; then
            echo "phase $phase: $duplicates duplicates, more than the $uncommitted lines uncommitted at the kills" >&2; return 1
        fi
    fi
}

verdict=0
phases=",${PHASES:-graceful,kill,exactly-once},"
[[ "$phases" != *,graceful,* ]] || run_phase graceful "$graceful" graceful || verdict=1
[[ "$phases" != *,kill,* ]] || run_phase kill "$kills" kill || verdict=1
[[ "$phases" != *,exactly-once,* ]] || run_phase exactly-once "$kills" kill || verdict=1
echo
echo "chaos-group: $lines lines per phase, $instances instances, 12 raw partitions, $(( $(date +%s) - started ))s"
cat "$work/summary.txt"
exit "$verdict"
