# Sourced by the Kafka benchmark scripts (bench-kafka.sh, kafka-lag-memory.sh): a mock cluster
# (`beacon-processor dev-kafka`, its own process on loopback) and the Kafka -> Kafka configuration
# they run `process` with. Expects `bin` (the binary), `repo` and `work` (a scratch directory).

broker_pid=""
brokers=""

# start_mock_cluster TOPIC:PARTITIONS: starts a mock cluster with that raw topic; sets
# `broker_pid` and `brokers` (its bootstrap servers).
start_mock_cluster() {
    rm -f "$work/address"
    "$bin" dev-kafka --topic "$1" --address-file "$work/address" >/dev/null 2>&1 &
    broker_pid=$!
    for _ in $(seq 100); do [ -s "$work/address" ] && break; sleep 0.1; done
    if [ ! -s "$work/address" ]; then
        echo "the mock cluster did not start within 10 s" >&2
        return 1
    fi
    brokers="$(cat "$work/address")"
}

# stop_mock_cluster: stops the cluster started last, if any.
stop_mock_cluster() {
    if [ -n "$broker_pid" ]; then kill "$broker_pid" 2>/dev/null || true; wait "$broker_pid" 2>/dev/null || true; fi
    broker_pid=""
}

# write_k2k_config FILE GROUP [INPUT_OPTIONS]: a configuration reading the raw topic of `brokers`
# in consumer group GROUP (from the earliest offset) and producing the records to the same
# cluster; INPUT_OPTIONS is a YAML map of librdkafka consumer properties (default {}).
write_k2k_config() {
    cat >"$1" <<YAML
input:
  type: kafka
  brokers: "$brokers"
  group_id: $2
  options: ${3:-{\}}
output:
  type: kafka
  brokers: "$brokers"
schemas:
  legacy_dirs: ["$repo/config/schemas"]
  event_repositories: ["$repo/config/event-schemas"]
streams:
  config: "$repo/config/stream-config.yaml"
YAML
}
