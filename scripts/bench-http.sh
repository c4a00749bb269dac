#!/usr/bin/env bash
# HTTP intake throughput and latency with wrk (Debian's package; installed if missing), all on
# loopback and bounded in time. `run` with `input.type: http` answers every request after
# delivery; for each sink (directory; Kafka with BROKER=kafka, the default when scripts/kafka.sh
# can start one) and each shape it measures:
#   - 1 event per request, 32 connections (peak), then 4 connections (a lighter load);
#   - 100 events per request, 16 connections (peak), then 4 connections (a lighter load).
# Prints events/s, the processor's CPU per event (user + system from /proc, over the wrk run
# only), and wrk's p50 / p99 latency. A baseline in the same run: `process` of the same events
# as log lines to the directory sink (CPU per line of the log path).
#
# Usage: [BROKER=kafka|none] [DURATION=10] scripts/bench-http.sh
set -euo pipefail

duration="${DURATION:-10}"
broker="${BROKER:-kafka}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
work="$(mktemp -d "${TMPDIR:-/tmp}/bench-http.XXXXXX")"
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

if ! command -v wrk >/dev/null; then
    echo "installing wrk (Debian package)" >&2
    apt-get install -y wrk >/dev/null 2>&1 || sudo apt-get install -y wrk >/dev/null
fi
cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-$repo/target}/release/beacon-processor"

# Request bodies: events of the repository's test/event stream.
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
def event(i):
    return {"$schema": "/test/event/1.0.0",
            "meta": {"stream": "test.event", "domain": "en.wikipedia.org",
                     "uri": "https://en.wikipedia.org/wiki/Special:Random"},
            "test": f"bench event {i}", "test_map": {"k1": "v1", "k2": "v2"}}
for n in (1, 100):
    body = json.dumps([event(i) for i in range(n)], separators=(",", ":"))
    open(f"{work}/body-{n}.json", "w").write(body)
    lua = ('wrk.method = "POST"\n'
           'wrk.headers["Content-Type"] = "application/json"\n'
           f'wrk.body = [==[{body}]==]\n')
    open(f"{work}/post-{n}.lua", "w").write(lua)
PY

cpu_ticks() { cut -d')' -f2 "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
hz=$(getconf CLK_TCK)

start_intake() { # NAME OUTPUT_YAML
    cat >"$work/$1.yaml" <<YAML
input:
  type: http
  listen: 127.0.0.1:0
$2
schemas:
  legacy_dirs: ["$repo/config/schemas"]
  event_repositories: ["$repo/config/event-schemas"]
streams:
  config: "$repo/config/stream-config.yaml"
http:
  listen: null
logging:
  level: info
YAML
    "$bin" run --config "$work/$1.yaml" 2>"$work/$1.log" &
    intake_pid=$!
    pids+=("$intake_pid")
    for _ in $(seq 200); do
        address=$(sed -n 's/.*HTTP intake listening (POST \/v1\/events) address=\([0-9.:]*\).*/\1/p' "$work/$1.log" | head -1)
        [ -n "$address" ] && return
        sleep 0.05
    done
    echo "the intake did not start:" >&2; cat "$work/$1.log" >&2; exit 1
}

results=()
measure() { # LABEL EVENTS_PER_REQUEST CONNECTIONS
    local before after out requests rate cpu p50 p99
    before=$(cpu_ticks "$intake_pid")
    out=$(wrk -t2 -c"$3" -d"${duration}s" --latency -s "$work/post-$2.lua" "http://$address/v1/events")
    after=$(cpu_ticks "$intake_pid")
    requests=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$out")
    rate=$(awk -v r="$requests" -v n="$2" -v d="$duration" 'BEGIN { printf "%d", r * n / d }')
    cpu=$(awk -v a="$before" -v b="$after" -v hz="$hz" -v r="$requests" -v n="$2" \
        'BEGIN { if (r > 0) printf "%.2f", (b - a) * 1e6 / hz / (r * n); else print "n/a" }')
    p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
    p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
    if grep -q "Non-2xx" <<<"$out"; then
        echo "$1: $(grep Non-2xx <<<"$out")" >&2
    fi
    results+=("$(printf '%-44s %10s %12s %10s %10s' "$1" "$rate" "$cpu" "$p50" "$p99")")
    echo "${results[-1]}" >&2
}

run_sink() { # NAME OUTPUT_YAML
    start_intake "$1" "$2"
    measure "$1, 1 event/request, 32 connections" 1 32
    measure "$1, 1 event/request, 4 connections" 1 4
    measure "$1, 100 events/request, 16 connections" 100 16
    measure "$1, 100 events/request, 4 connections" 100 4
    kill -TERM "$intake_pid"; wait "$intake_pid" || true
}

run_sink directory "output:
  type: directory
  path: \"$work/out\""
rm -rf "$work/out"

if [ "$broker" = kafka ]; then
    use_apache_kafka
    # A small linger: every answer waits for its batch's delivery (README, "HTTP intake").
    run_sink kafka "output:
  type: kafka
  brokers: \"$brokers\"
  linger_ms: 5"
fi

# Baseline of the same run: the log path's CPU per line (process to a directory).
"$bin" generate -n 200000 --seed 3 -o "$work/lines.log"
/usr/bin/time -f '%U %S' -o "$work/process.time" "$bin" process --log-level warn --out "$work/process-out" "$work/lines.log" >/dev/null 2>&1
baseline=$(awk '{ printf "%.2f", ($1 + $2) * 1e6 / 200000 }' "$work/process.time")

echo
printf '%-44s %10s %12s %10s %10s\n' "intake" "events/s" "CPU us/event" "p50" "p99"
printf '%s\n' "${results[@]}"
echo "(baseline of this run: process, log lines -> directory, $baseline CPU us/line)"
