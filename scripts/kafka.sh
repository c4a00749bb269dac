#!/usr/bin/env bash
# Apache Kafka on loopback, for tests, CI, chaos runs and benchmarks: a real broker, not an
# imitation (`beacon-processor dev-kafka` stays the zero-setup one for development).
#
# Kafka itself is resolved from Maven Central with Maven (org.apache.kafka:kafka_2.13, the
# storage tool and a log4j2 binding) into a cache directory, once; nothing of it is in the
# repository. Each node is a combined KRaft broker+controller on 127.0.0.1 on free ports.
#
# Usage:
#   scripts/kafka.sh start [--nodes N] [--dir DIR] [--owner-pid PID]
#       Formats and starts a cluster of N nodes (default 1) in DIR (default: a new directory
#       under ${TMPDIR:-/tmp}) and prints `bootstrap.servers=HOST:PORT,...` and `dir=DIR`.
#       With 3 or more nodes topics are replicated 3 times with min.insync.replicas=2.
#       With --owner-pid, the cluster stops and DIR is removed once process PID has exited
#       (test suites start it this way so that nothing outlives them).
#   scripts/kafka.sh stop --dir DIR          stops every node and removes DIR
#   scripts/kafka.sh kill-node --dir DIR N   kill -9 of node N (fault tests)
#   scripts/kafka.sh stop-node --dir DIR N   graceful stop of node N
#   scripts/kafka.sh start-node --dir DIR N  starts node N again (same ports, same data)
#   scripts/kafka.sh leader --dir DIR TOPIC PARTITION   prints the node id leading the partition
#   scripts/kafka.sh classpath               resolves Kafka and prints its classpath
#
# Settings made for tests (README, "Record timestamps and retention"): retention is unlimited
# (records carry their event time, which is weeks old for generated data, and time-based
# retention would delete them); the first group rebalance is not delayed; 512 MB of heap a node.
#
# Environment: KAFKA_VERSION (default 4.4.0), BEACON_KAFKA_CACHE (default
# ${XDG_CACHE_HOME:-$HOME/.cache}/beacon-processor/kafka-$KAFKA_VERSION), JAVA (default java).
set -euo pipefail

KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
LOG4J_VERSION=2.26.1
SLF4J_VERSION=2.0.20
cache="${BEACON_KAFKA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/beacon-processor/kafka-$KAFKA_VERSION}"
java="${JAVA:-java}"
self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"

die() { echo "kafka.sh: $*" >&2; exit 1; }

# The classpath of Kafka's server and tools, resolved once into $cache/lib.
resolve() {
    if [ -f "$cache/classpath" ]; then
        cat "$cache/classpath"
        return
    fi
    command -v mvn >/dev/null || die "Maven (mvn) is needed to resolve Apache Kafka from Maven Central"
    command -v "$java" >/dev/null || die "Java 17 or newer is needed to run Apache Kafka"
    mkdir -p "$cache"
    cat >"$cache/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.beacon-processor</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>$KAFKA_VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>$SLF4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>$LOG4J_VERSION</version></dependency>
  </dependencies>
</project>
POM
    echo "kafka.sh: resolving Apache Kafka $KAFKA_VERSION from Maven Central into $cache" >&2
    rm -rf "$cache/lib.partial"
    if ! mvn -q -B -f "$cache/pom.xml" dependency:copy-dependencies \
        -DoutputDirectory="$cache/lib.partial" >"$cache/mvn.log" 2>&1; then
        tail -20 "$cache/mvn.log" >&2
        die "Maven could not resolve Apache Kafka $KAFKA_VERSION (log: $cache/mvn.log)"
    fi
    rm -rf "$cache/lib"
    mv "$cache/lib.partial" "$cache/lib"
    local cp
    cp="$(find "$cache/lib" -name '*.jar' | sort | tr '\n' ':')"
    printf '%s\n' "${cp%:}" >"$cache/classpath.tmp"
    mv "$cache/classpath.tmp" "$cache/classpath"
    cat "$cache/classpath"
}

# Free TCP ports on 127.0.0.1 (bound and released by the kernel, so not in use right now).
free_ports() { # COUNT
    python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

node_pid() { # DIR N
    local file="$1/node-$2/pid"
    [ -f "$file" ] && kill -0 "$(cat "$file")" 2>/dev/null && cat "$file"
}

start_node() { # DIR N
    local dir="$1" n="$2" cp
    cp="$(resolve)"
    [ -z "$(node_pid "$dir" "$n" || true)" ] || die "node $n is already running"
    : >"$dir/node-$n/server.log"
    # setsid: the node is not in the caller's process group, so a Ctrl-C meant for a test run
    # does not kill it half-way; --owner-pid and `stop` end it.
    setsid "$java" -Xms128m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$dir/log4j2.properties" \
        -Dkafka.logs.dir="$dir/node-$n" -Dbeacon.node.dir="$dir/node-$n" \
        -cp "$cp" kafka.Kafka "$dir/node-$n/server.properties" \
        >"$dir/node-$n/stdout.log" 2>&1 </dev/null &
    echo $! >"$dir/node-$n/pid"
}

wait_started() { # DIR N...
    local dir="$1"; shift
    local deadline=$(( $(date +%s) + 120 )) n
    for n in "$@"; do
        until grep -q "Kafka Server started" "$dir/node-$n/server.log" 2>/dev/null; do
            if [ -z "$(node_pid "$dir" "$n" || true)" ]; then
                tail -30 "$dir/node-$n/stdout.log" "$dir/node-$n/server.log" >&2 || true
                die "node $n exited during start-up (logs in $dir/node-$n)"
            fi
            [ "$(date +%s)" -lt "$deadline" ] || die "node $n did not start within 120 s (logs in $dir/node-$n)"
            sleep 0.2
        done
    done
}

cmd_start() {
    local nodes=1 dir="" owner=""
    while [ $# -gt 0 ]; do
        case "$1" in
            --nodes) nodes="$2"; shift 2 ;;
            --dir) dir="$2"; shift 2 ;;
            --owner-pid) owner="$2"; shift 2 ;;
            *) die "start: unknown argument $1" ;;
        esac
    done
    [[ "$nodes" =~ ^[1-9]$ ]] || die "--nodes must be 1 to 9"
    if [ -z "$dir" ]; then
        dir="$(mktemp -d "${TMPDIR:-/tmp}/beacon-kafka.XXXXXX")"
    fi
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    local cp cluster_id
    cp="$(resolve)"
    local ports
    read -r -a ports <<<"$(free_ports $(( nodes * 2 )))"
    local voters="" bootstrap="" n
    for n in $(seq 1 "$nodes"); do
        voters+="${voters:+,}$n@127.0.0.1:${ports[$(( nodes + n - 1 ))]}"
        bootstrap+="${bootstrap:+,}127.0.0.1:${ports[$(( n - 1 ))]}"
    done
    local replicas=1 min_isr=1
    if [ "$nodes" -ge 3 ]; then replicas=3; min_isr=2; fi
    cat >"$dir/log4j2.properties" <<'LOG'
status = error
appender.file.type = File
appender.file.name = file
appender.file.fileName = ${sys:beacon.node.dir}/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.state.name = state.change.logger
logger.state.level = WARN
LOG
    cluster_id="$("$java" -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null)"
    for n in $(seq 1 "$nodes"); do
        mkdir -p "$dir/node-$n/data"
        cat >"$dir/node-$n/server.properties" <<PROPS
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:${ports[$(( n - 1 ))]},CONTROLLER://127.0.0.1:${ports[$(( nodes + n - 1 ))]}
advertised.listeners=PLAINTEXT://127.0.0.1:${ports[$(( n - 1 ))]}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/node-$n/data
num.partitions=4
default.replication.factor=$replicas
min.insync.replicas=$min_isr
offsets.topic.replication.factor=$replicas
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=$replicas
transaction.state.log.min.isr=$min_isr
transaction.state.log.num.partitions=8
share.coordinator.state.topic.replication.factor=$replicas
share.coordinator.state.topic.min.isr=$min_isr
group.initial.rebalance.delay.ms=0
# Generated events are weeks old and records carry their event time: no time-based deletion.
log.retention.ms=-1
log.segment.bytes=67108864
num.io.threads=2
num.network.threads=2
num.replica.fetchers=1
num.recovery.threads.per.data.dir=1
PROPS
        "$java" -cp "$cp" -Dlog4j2.configurationFile="$dir/log4j2.properties" \
            -Dbeacon.node.dir="$dir/node-$n" kafka.tools.StorageTool format \
            -t "$cluster_id" -c "$dir/node-$n/server.properties" >"$dir/node-$n/format.log" 2>&1 \
            || { cat "$dir/node-$n/format.log" >&2; die "formatting node $n failed"; }
    done
    for n in $(seq 1 "$nodes"); do start_node "$dir" "$n"; done
    echo "$bootstrap" >"$dir/bootstrap"
    echo "$nodes" >"$dir/nodes"
    wait_started "$dir" $(seq 1 "$nodes")
    if [ -n "$owner" ]; then
        # Stops the cluster once the owner has gone. Detached, and holding none of the caller's
        # descriptors (a test harness waits for its child's output to close).
        setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec "$2" stop --dir "$3"' \
            watchdog "$owner" "$self" "$dir" >/dev/null 2>&1 </dev/null &
    fi
    echo "bootstrap.servers=$bootstrap"
    echo "dir=$dir"
}

stop_pid() { # PID SIGNAL
    kill "-$2" "$1" 2>/dev/null || return 0
    for _ in $(seq 300); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
    kill -9 "$1" 2>/dev/null || true
}

need_dir() { [ -n "$1" ] && [ -f "$1/nodes" ] || die "--dir must name a directory made by start"; }

cmd_stop() {
    local dir=""
    [ "${1:-}" = --dir ] && dir="${2:-}"
    need_dir "$dir"
    local n pid
    for n in $(seq 1 "$(cat "$dir/nodes")"); do
        pid="$(node_pid "$dir" "$n" || true)"
        # Brokers first would wait for the controllers' quorum: stop all at once, forcefully
        # after 30 s.
        [ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null || true
    done
    for n in $(seq 1 "$(cat "$dir/nodes")"); do
        pid="$(node_pid "$dir" "$n" || true)"
        [ -z "$pid" ] || stop_pid "$pid" TERM
    done
    rm -rf "$dir"
}

cmd_node() { # ACTION --dir DIR N
    local action="$1" dir="" n=""
    shift
    [ "${1:-}" = --dir ] && { dir="${2:-}"; n="${3:-}"; }
    need_dir "$dir"
    [[ "$n" =~ ^[1-9]$ ]] && [ -d "$dir/node-$n" ] || die "$action: no node $n in $dir"
    local pid
    pid="$(node_pid "$dir" "$n" || true)"
    case "$action" in
        kill-node) [ -z "$pid" ] || { kill -9 "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done; } ;;
        stop-node) [ -z "$pid" ] || stop_pid "$pid" TERM ;;
        start-node)
            start_node "$dir" "$n"
            wait_started "$dir" "$n" ;;
    esac
}

cmd_leader() { # --dir DIR TOPIC PARTITION
    local dir="" topic="" partition=""
    [ "${1:-}" = --dir ] && { dir="${2:-}"; topic="${3:-}"; partition="${4:-}"; }
    need_dir "$dir"
    local cp
    cp="$(resolve)"
    "$java" -cp "$cp" -Dlog4j2.configurationFile="$dir/log4j2.properties" \
        -Dbeacon.node.dir="$dir" org.apache.kafka.tools.TopicCommand \
        --bootstrap-server "$(cat "$dir/bootstrap")" --describe --topic "$topic" 2>/dev/null \
        | awk -v p="$partition" '$0 ~ "Partition: "p"\t" || $0 ~ "Partition: "p" " {
            for (i = 1; i <= NF; i++) if ($i == "Leader:") { print $(i + 1); exit } }'
}

case "${1:-}" in
    start) shift; cmd_start "$@" ;;
    stop) shift; cmd_stop "$@" ;;
    kill-node | stop-node | start-node) cmd_node "$@" ;;
    leader) shift; cmd_leader "$@" ;;
    classpath) resolve ;;
    *) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
