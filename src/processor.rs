//! The per-line function: one raw line in, exactly one output record out.
//!
//! parse (format match, QSON/JSON decode, casters, uuid) -> enrich (dt, user agent: done by the
//! casters) -> validate (schema registry) -> route (topic template), and every failure along the
//! way becomes an EventError record instead. Nothing here panics or drops a line.

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::{Map, Value};

use beacon_parsers::capsule::{CapsuleError, CapsuleParser};
use beacon_parsers::useragent::{UserAgentCache, UserAgentParser};

use crate::error_event::{event_error, ErrorCode, ErroredScid};
use crate::record::{Outcome, OutputRecord};
use crate::schema::{CapsuleValidationError, SchemaRegistry};
use crate::topic::TopicTemplate;

/// Where records go.
#[derive(Debug, Clone)]
pub struct Routing {
    /// Topic of valid events, from their schema name.
    pub valid_topic: TopicTemplate,
    /// Topic of every error event.
    pub error_topic: String,
}

/// Shared, immutable processing state (one per pipeline, used by every worker thread).
pub struct Processor {
    parser: CapsuleParser,
    registry: Arc<SchemaRegistry>,
    routing: Routing,
    user_agents: Arc<UserAgentParser>,
    user_agent_cache_size: usize,
    host: String,
    max_line_bytes: usize,
}

/// The moment a batch is processed, read once per batch.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    /// Microseconds since the Unix epoch.
    pub unix_micros: i64,
}

impl Clock {
    /// The current time.
    pub fn now() -> Self {
        let unix_micros = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Clock { unix_micros }
    }

    fn unix_seconds(self) -> i64 {
        // Python's int(round(time.time())).
        (self.unix_micros + 500_000).div_euclid(1_000_000)
    }
}

impl Processor {
    /// Assembles a processor.
    pub fn new(
        parser: CapsuleParser,
        registry: Arc<SchemaRegistry>,
        routing: Routing,
        user_agents: Arc<UserAgentParser>,
        user_agent_cache_size: usize,
        host: String,
        max_line_bytes: usize,
    ) -> Self {
        Processor {
            parser,
            registry,
            routing,
            user_agents,
            user_agent_cache_size,
            host,
            max_line_bytes,
        }
    }

    /// Per-thread state for one worker.
    pub fn worker(&self) -> Worker<'_> {
        Worker {
            processor: self,
            user_agents: UserAgentCache::new(
                Arc::clone(&self.user_agents),
                self.user_agent_cache_size,
            ),
        }
    }

    /// The schema registry.
    pub fn registry(&self) -> &Arc<SchemaRegistry> {
        &self.registry
    }
}

/// One worker thread's view of the processor, with its own user-agent cache.
pub struct Worker<'a> {
    processor: &'a Processor,
    user_agents: UserAgentCache,
}

impl Worker<'_> {
    /// User-agent cache hits and misses so far.
    pub fn user_agent_cache_stats(&self) -> (u64, u64) {
        (self.user_agents.hits(), self.user_agents.misses())
    }

    /// Processes one raw line (without its terminator). `overlong_bytes` is the full length of a
    /// line that was cut at the maximum line length.
    pub fn process_line(
        &mut self,
        raw: &[u8],
        overlong_bytes: Option<u64>,
        clock: Clock,
    ) -> OutputRecord {
        // Input bytes are decoded as UTF-8 with invalid sequences replaced (U+FFFD), as the
        // reference reads its input.
        let line: Cow<'_, str> = String::from_utf8_lossy(raw);
        if let Some(full_length) = overlong_bytes {
            let message = format!(
                "line of {full_length} bytes is longer than max_line_bytes ({}); rawEvent holds its first {} bytes",
                self.processor.max_line_bytes,
                raw.len()
            );
            return self.error_record(
                ErrorCode::Processor,
                "line_too_long",
                &message,
                &line,
                ErroredScid::from_raw_line(&line),
                clock,
            );
        }
        let mut capsule =
            match self
                .processor
                .parser
                .parse(&line, &mut self.user_agents, clock.unix_micros)
            {
                Ok(capsule) => capsule,
                Err(error) => return self.parse_error(&error, &line, clock),
            };
        match self
            .processor
            .registry
            .validate_capsule_in_place(&mut capsule)
        {
            Ok(()) => self.valid_record(capsule, &line, clock),
            Err(CapsuleValidationError::Invalid { message }) => {
                let raw_event = serialize_string(&capsule);
                let scid = ErroredScid::from_capsule(&capsule);
                self.error_record(
                    ErrorCode::Validation,
                    "validation",
                    &message,
                    &raw_event,
                    scid,
                    clock,
                )
            }
            Err(CapsuleValidationError::SchemaUnavailable { message, .. }) => self.error_record(
                ErrorCode::Processor,
                "schema_unknown",
                &message,
                &line,
                ErroredScid::from_capsule(&capsule),
                clock,
            ),
        }
    }

    fn parse_error(&self, error: &CapsuleError, line: &str, clock: Clock) -> OutputRecord {
        self.error_record(
            ErrorCode::Processor,
            error.reason(),
            &error.to_string(),
            line,
            ErroredScid::from_raw_line(line),
            clock,
        )
    }

    fn valid_record(&self, capsule: Map<String, Value>, line: &str, clock: Clock) -> OutputRecord {
        // Validation guarantees a schema name of legal characters.
        let schema = capsule.get("schema").and_then(Value::as_str).unwrap_or("");
        match self.processor.routing.valid_topic.topic_for(schema) {
            Ok(topic) => OutputRecord {
                topic,
                payload: serialize(&capsule),
                timestamp_ms: None,
                outcome: Outcome::Valid,
            },
            Err(error) => self.error_record(
                ErrorCode::Processor,
                "topic",
                &error.to_string(),
                line,
                ErroredScid::from_capsule(&capsule),
                clock,
            ),
        }
    }

    fn error_record(
        &self,
        code: ErrorCode,
        reason: &'static str,
        message: &str,
        raw_event: &str,
        scid: ErroredScid,
        clock: Clock,
    ) -> OutputRecord {
        let seconds = clock.unix_seconds();
        let capsule = event_error(
            code,
            message,
            raw_event,
            scid,
            &self.processor.host,
            seconds,
        );
        OutputRecord {
            topic: self.processor.routing.error_topic.clone(),
            payload: serialize(&capsule),
            timestamp_ms: seconds.checked_mul(1000),
            outcome: Outcome::Error { reason },
        }
    }
}

/// Serialises a capsule as compact JSON with sorted keys.
fn serialize(capsule: &Map<String, Value>) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    // Writing a Map of Values into a Vec cannot fail: every key is a string and there is no I/O.
    if serde_json::to_writer(&mut out, capsule).is_err() {
        out.clear();
        out.extend_from_slice(b"{}");
    }
    out
}

fn serialize_string(capsule: &Map<String, Value>) -> String {
    String::from_utf8(serialize(capsule)).unwrap_or_default()
}
