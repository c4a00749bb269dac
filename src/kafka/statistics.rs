//! What the processor reads from librdkafka's statistics JSON (`statistics.interval.ms`): the
//! consumer lag of each assigned partition, and how many brokers a client is connected to (for
//! readiness: a client connected to none cannot consume or deliver).

use serde_json::Value;

/// (topic, partition, consumer lag) of every assigned partition
/// (`topics.<topic>.partitions.<n>.consumer_lag`; -1, unknown, is left out).
///
/// librdkafka knows a lag only once an offset was committed (or stored) for the partition, and
/// the processor commits only the offsets of delivered records: a partition that holds no record
/// would never have one, and a 2-partition topic would show as one partition. A partition whose
/// high watermark is 0 (never written) or equal to its known low watermark (everything in it
/// deleted) has nothing to consume: its lag is 0.
pub fn consumer_lags(statistics: &[u8]) -> Vec<(String, i32, i64)> {
    let Ok(Value::Object(root)) = serde_json::from_slice(statistics) else {
        return Vec::new();
    };
    let mut lags = Vec::new();
    let Some(Value::Object(topics)) = root.get("topics") else {
        return lags;
    };
    for (topic, details) in topics {
        let Some(Value::Object(partitions)) = details.get("partitions") else {
            continue;
        };
        for (id, partition) in partitions {
            let Ok(id) = id.parse::<i32>() else { continue };
            let offset = |name: &str| partition.get(name).and_then(Value::as_i64);
            let lag = match (
                offset("consumer_lag"),
                offset("hi_offset"),
                offset("lo_offset"),
            ) {
                (Some(-1), Some(0), _) => Some(0),
                (Some(-1), Some(high), Some(low)) if high >= 0 && low == high => Some(0),
                (lag, _, _) => lag,
            };
            let assigned = partition
                .get("fetch_state")
                .and_then(Value::as_str)
                .is_some_and(|s| s != "none" && s != "stopped");
            if let (true, Some(lag)) = (id >= 0 && assigned, lag) {
                if lag >= 0 {
                    lags.push((topic.clone(), id, lag));
                }
            }
        }
    }
    lags
}

/// How many brokers the client has a live connection to (`brokers.<name>.state` is `UP`), the
/// bootstrap servers included; librdkafka's logical brokers (the group coordinator's alias)
/// and its internal one are not counted. `None` if the statistics cannot be read.
pub fn brokers_up(statistics: &[u8]) -> Option<usize> {
    let Ok(Value::Object(root)) = serde_json::from_slice(statistics) else {
        return None;
    };
    let Some(Value::Object(brokers)) = root.get("brokers") else {
        return Some(0);
    };
    let up = brokers
        .values()
        .filter(|broker| {
            let source = broker.get("source").and_then(Value::as_str);
            let state = broker.get("state").and_then(Value::as_str);
            matches!(source, Some("learned" | "configured")) && state == Some("UP")
        })
        .count();
    Some(up)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumer_lags_from_librdkafka_statistics() {
        let json = br#"{"name":"c","topics":{"raw":{"partitions":{
            "0":{"partition":0,"fetch_state":"active","consumer_lag":42},
            "1":{"partition":1,"fetch_state":"active","consumer_lag":-1},
            "2":{"partition":2,"fetch_state":"none","consumer_lag":7},
            "-1":{"partition":-1,"fetch_state":"none","consumer_lag":-1}}}}}"#;
        assert_eq!(consumer_lags(json), vec![("raw".to_owned(), 0, 42)]);
        assert!(consumer_lags(b"not json").is_empty());
    }

    #[test]
    fn a_partition_with_nothing_to_consume_has_lag_zero() {
        let json = br#"{"name":"c","topics":{"raw":{"partitions":{
            "0":{"fetch_state":"active","consumer_lag":-1,"hi_offset":0,"lo_offset":-1},
            "1":{"fetch_state":"active","consumer_lag":-1,"hi_offset":500,"lo_offset":500},
            "2":{"fetch_state":"active","consumer_lag":-1,"hi_offset":500,"lo_offset":-1},
            "3":{"fetch_state":"active","consumer_lag":-1,"hi_offset":-1,"lo_offset":-1},
            "4":{"fetch_state":"active","consumer_lag":3,"hi_offset":500,"lo_offset":0},
            "5":{"fetch_state":"none","consumer_lag":-1,"hi_offset":0,"lo_offset":0}}}}}"#;
        assert_eq!(
            consumer_lags(json),
            vec![
                ("raw".to_owned(), 0, 0),
                ("raw".to_owned(), 1, 0),
                ("raw".to_owned(), 4, 3)
            ],
            "never written or emptied: 0; records not yet committed or watermarks unknown: \
             unknown; not assigned: left out"
        );
    }

    #[test]
    fn brokers_up_counts_live_connections_to_real_brokers() {
        let json = br#"{"name":"p","brokers":{
            "127.0.0.1:9092/bootstrap":{"nodeid":-1,"source":"configured","state":"UP"},
            "127.0.0.1:9093/2":{"nodeid":2,"source":"learned","state":"UP"},
            "127.0.0.1:9094/3":{"nodeid":3,"source":"learned","state":"TRY_CONNECT"},
            "GroupCoordinator":{"nodeid":-1,"source":"logical","state":"UP"},
            ":0/internal":{"nodeid":-1,"source":"internal","state":"UP"}}}"#;
        assert_eq!(brokers_up(json), Some(2));
        let down = br#"{"brokers":{
            "127.0.0.1:9/bootstrap":{"nodeid":-1,"source":"configured","state":"CONNECT"},
            "GroupCoordinator":{"nodeid":-1,"source":"logical","state":"UP"}}}"#;
        assert_eq!(brokers_up(down), Some(0));
        assert_eq!(brokers_up(b"{}"), Some(0));
        assert_eq!(brokers_up(b"not json"), None);
    }
}
