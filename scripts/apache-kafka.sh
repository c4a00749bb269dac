# Sourced by the scripts that run on Apache Kafka (chaos-group.sh, chaos-brokers.sh,
# scale-out.sh, bench-kafka.sh): the broker to use and Kafka's own command-line tools.
# Expects `repo` (the repository) and `work` (a scratch directory).

brokers=""
kafka_dir=""
kafka_classpath=""

# use_apache_kafka [NODES=1]: with one node, the broker named by BEACON_TEST_KAFKA if set;
# otherwise a new cluster of NODES nodes (scripts/kafka.sh), stopped by stop_apache_kafka or at
# the latest when this shell exits. Sets `brokers` and, for a new cluster, `kafka_dir`.
use_apache_kafka() {
    local nodes="${1:-1}" out
    if [ "$nodes" = 1 ] && [ -n "${BEACON_TEST_KAFKA:-}" ]; then
        brokers="$BEACON_TEST_KAFKA"
        return
    fi
    out="$("$repo/scripts/kafka.sh" start --nodes "$nodes" --owner-pid $$)"
    brokers="$(sed -n 's/^bootstrap.servers=//p' <<<"$out")"
    kafka_dir="$(sed -n 's/^dir=//p' <<<"$out")"
}

# stop_apache_kafka: stops the cluster use_apache_kafka started, if it started one.
stop_apache_kafka() {
    if [ -n "$kafka_dir" ]; then "$repo/scripts/kafka.sh" stop --dir "$kafka_dir" || true; fi
    kafka_dir=""
}

# kafka_tool CLASS ARGS...: one of Kafka's tools (TopicCommand, ConsoleProducer, ...); its log
# goes to $work/tools.log.
kafka_tool() {
    [ -n "$kafka_classpath" ] || kafka_classpath="$("$repo/scripts/kafka.sh" classpath)"
    java -cp "$kafka_classpath" -Dlog4j2.level=warn "$@" 2>>"$work/tools.log"
}

# create_topic NAME PARTITIONS: creates the topic on `brokers` or exits, saying so.
create_topic() {
    kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$brokers" --create \
        --topic "$1" --partitions "$2" >/dev/null \
        || { echo "cannot create topic $1 (log: $work/tools.log)" >&2; exit 1; }
}
