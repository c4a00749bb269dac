//! A worker's memo of where one batch's accepted intake events go: the topic of each (stream,
//! `$schema`) pair whose stream check passed.
//!
//! Every event's stream check (a hashed lookup of the stream configuration, the schema's title
//! compared) and topic (the prefix prepended, Kafka's name rules checked, a string allocated)
//! gave the same answer for every event of a stream: about 5 % of the worker's instructions per
//! event at 100 events per request (callgrind, docs/BENCHMARKS.md). Emptied before every batch,
//! like the schema memo, so a reloaded stream configuration is used from the next batch on.

/// The most routes one memo holds (a batch with more asks the configuration for the others).
const MAX_MEMOISED: usize = 32;

/// Topics by (stream, `$schema` URI as sent), for one batch.
#[derive(Default)]
pub(super) struct StreamRouteMemo {
    routes: Vec<Route>,
}

struct Route {
    stream: String,
    schema_uri: String,
    topic: String,
}

impl StreamRouteMemo {
    /// The index of the route of `stream` for events of `schema_uri`, if this batch found it.
    pub(super) fn position(&self, stream: &str, schema_uri: &str) -> Option<usize> {
        self.routes
            .iter()
            .position(|route| route.stream == stream && route.schema_uri == schema_uri)
    }

    /// Remembers the topic of `stream` for events of `schema_uri`: its index, or the topic
    /// given back when the memo is full.
    pub(super) fn remember(
        &mut self,
        stream: &str,
        schema_uri: &str,
        topic: String,
    ) -> Result<usize, String> {
        if self.routes.len() >= MAX_MEMOISED {
            return Err(topic);
        }
        self.routes.push(Route {
            stream: stream.to_owned(),
            schema_uri: schema_uri.to_owned(),
            topic,
        });
        Ok(self.routes.len() - 1)
    }

    /// The topic and stream of the route at `index`.
    pub(super) fn route(&self, index: usize) -> Option<(&str, &str)> {
        self.routes
            .get(index)
            .map(|route| (route.topic.as_str(), route.stream.as_str()))
    }

    /// Forgets everything (before a batch, whose snapshot may differ).
    pub(super) fn clear(&mut self) {
        self.routes.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_remembered_by_stream_and_schema_until_cleared() {
        let mut memo = StreamRouteMemo::default();
        assert_eq!(memo.position("s", "/a/1.0.0"), None);
        let index = memo.remember("s", "/a/1.0.0", "eqiad.s".to_owned());
        assert_eq!(index, Ok(0));
        assert_eq!(memo.position("s", "/a/1.0.0"), Some(0));
        assert_eq!(memo.position("s", "/b/1.0.0"), None);
        assert_eq!(memo.position("t", "/a/1.0.0"), None);
        assert_eq!(memo.route(0), Some(("eqiad.s", "s")));
        for n in 1..MAX_MEMOISED {
            assert!(memo
                .remember(&format!("s{n}"), "/a/1.0.0", String::new())
                .is_ok());
        }
        assert_eq!(
            memo.remember("full", "/a/1.0.0", "t".to_owned()),
            Err("t".to_owned())
        );
        memo.clear();
        assert_eq!(memo.position("s", "/a/1.0.0"), None);
        assert_eq!(memo.route(0), None);
    }
}
