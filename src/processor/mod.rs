//! The per-line function: one raw line in, exactly one output record out.
//!
//! parse (format match, capsule decoding) -> classify (legacy capsule, or Event Platform event
//! with `$schema`) -> enrich -> validate -> route; every failure along the way becomes an error
//! event instead (an EventError capsule for legacy lines, an EventGate error event for Event
//! Platform events). Nothing here panics or drops a line.
//!
//! Schema lookups that need a remote fetch do not hold up the rest of a batch: the line is set
//! aside while the fetch runs in the background, the other lines are processed, and set-aside
//! lines are finished once their fetch completes (see [`Worker::process_batch`]).

mod event_platform;
mod intake;
mod intake_document;
mod legacy;
mod legacy_document;
mod message_key;
mod refused_record;
mod settings;
mod stream_route_memo;
mod validator_memo;

use stream_route_memo::StreamRouteMemo;
use validator_memo::EventSchemaMemo;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use beacon_parsers::capsule::CapsuleParser;
use beacon_parsers::useragent::{UserAgentCache, UserAgentParser};
use serde_json::Value;

use crate::catalog::{Catalog, CatalogSnapshot};
use crate::clock::Clock;
use crate::record::batch::RecordBatch;
use crate::record::OutputRecord;
use crate::schema::FetchTicket;
use legacy_document::{DocumentScratch, DocumentStep};

pub use message_key::MessageKey;
pub use settings::{LegacyConversion, ProcessorSettings};

/// Shared, immutable processing state (one per pipeline, used by every worker thread).
pub struct Processor {
    parser: CapsuleParser,
    catalog: Arc<Catalog>,
    settings: ProcessorSettings,
    user_agents: Arc<UserAgentParser>,
}

/// How a lookup that needs a remote fetch behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lookup {
    /// Return [`Processed::Pending`] and let the fetch run in the background.
    Poll,
    /// Wait for the fetch (bounded by the fetch timeout).
    Block,
}

/// The result of processing one line.
enum Processed {
    Record(OutputRecord),
    /// The record was written into the batch given to [`Worker::process`].
    Written,
    Pending(FetchTicket),
}

impl Processor {
    /// Assembles a processor.
    pub fn new(
        parser: CapsuleParser,
        catalog: Arc<Catalog>,
        settings: ProcessorSettings,
        user_agents: Arc<UserAgentParser>,
    ) -> Self {
        Processor {
            parser,
            catalog,
            settings,
            user_agents,
        }
    }

    /// Per-thread state for one worker.
    pub fn worker(&self) -> Worker<'_> {
        Worker {
            processor: self,
            user_agents: UserAgentCache::new(
                Arc::clone(&self.user_agents),
                self.settings.user_agent_cache_size,
            ),
            valid_topics: HashMap::new(),
            scratch: DocumentScratch::default(),
            event_schemas: EventSchemaMemo::default(),
            stream_routes: StreamRouteMemo::default(),
            last_batch_bytes: 0,
        }
    }

    /// The reloadable schemas and streams.
    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// The settings.
    pub fn settings(&self) -> &ProcessorSettings {
        &self.settings
    }
}

/// One worker thread's view of the processor, with its own user-agent cache.
pub struct Worker<'a> {
    processor: &'a Processor,
    user_agents: UserAgentCache,
    /// Valid-event topic per legacy schema name, as the topic template made it (bounded, see
    /// [`MAX_CACHED_TOPICS`]).
    valid_topics: HashMap<String, String>,
    /// The document every ordinary legacy line is parsed into and the legacy validators of
    /// the current batch (reused, see `legacy_document`).
    scratch: DocumentScratch,
    /// The Event Platform schemas of the current batch of intake requests.
    event_schemas: EventSchemaMemo,
    /// The topics of the current batch's accepted intake events, by stream and schema.
    stream_routes: StreamRouteMemo,
    /// Payload bytes of the last batch, to size the next one.
    last_batch_bytes: usize,
}

/// The most valid-event topics a worker remembers; the cache starts over when it is full (the
/// number of schemas is small, this only bounds what unusual input can make it hold).
const MAX_CACHED_TOPICS: usize = 1024;

impl Worker<'_> {
    /// User-agent cache hits and misses so far.
    pub fn user_agent_cache_stats(&self) -> (u64, u64) {
        (self.user_agents.hits(), self.user_agents.misses())
    }

    /// Processes one raw line (without its terminator), waiting for any schema fetch it needs.
    /// `overlong_bytes` is the full length of a line that was cut at the maximum line length.
    pub fn process_line(
        &mut self,
        raw: &[u8],
        overlong_bytes: Option<u64>,
        clock: Clock,
    ) -> OutputRecord {
        let snapshot = self.processor.catalog.snapshot();
        self.scratch.validators.clear();
        self.process_blocking(&snapshot, raw, overlong_bytes, clock)
    }

    /// One line's record, waiting for any schema fetch it needs.
    fn process_blocking(
        &mut self,
        snapshot: &CatalogSnapshot,
        raw: &[u8],
        overlong_bytes: Option<u64>,
        clock: Clock,
    ) -> OutputRecord {
        let mut out = RecordBatch::default();
        match self.process(
            snapshot,
            raw,
            overlong_bytes,
            clock,
            Lookup::Block,
            &mut out,
        ) {
            Processed::Record(record) => record,
            Processed::Written => match out.get(0) {
                Some(record) => record.to_owned_record(),
                None => self.unfinished_fetch(raw, clock),
            },
            // Blocking lookups never report pending; treat it as a fetch that did not finish.
            Processed::Pending(_) => self.unfinished_fetch(raw, clock),
        }
    }

    /// Processes a batch of lines, one record per line in input order. Lines whose schema is
    /// being fetched are set aside until the other lines are done, then finished.
    pub fn process_batch<'l>(
        &mut self,
        lines: impl Iterator<Item = (&'l [u8], Option<u64>)>,
        clock: Clock,
    ) -> RecordBatch {
        let snapshot = self.processor.catalog.snapshot();
        self.scratch.validators.clear();
        // Sized like the last batch's bytes, with an eighth more: usually one allocation per
        // batch, without regrowing.
        let bytes = self.last_batch_bytes + self.last_batch_bytes / 8;
        let mut records = RecordBatch::with_capacity(lines.size_hint().0, bytes);
        let mut deferred: Vec<(usize, &'l [u8], Option<u64>, FetchTicket)> = Vec::new();
        for (index, (raw, overlong)) in lines.enumerate() {
            match self.process(&snapshot, raw, overlong, clock, Lookup::Poll, &mut records) {
                Processed::Record(record) => records.push(&record),
                Processed::Written => {}
                Processed::Pending(ticket) => {
                    // A placeholder, replaced below once the fetch is done.
                    records.push(&self.unfinished_fetch(b"", clock));
                    deferred.push((index, raw, overlong, ticket));
                }
            }
        }
        let timeout = self.processor.settings.fetch_wait;
        for (index, raw, overlong, ticket) in deferred {
            ticket.wait(timeout);
            let record = self.process_blocking(&snapshot, raw, overlong, clock);
            records.replace(index, &record);
        }
        self.last_batch_bytes = records.byte_len();
        records
    }

    fn process(
        &mut self,
        snapshot: &CatalogSnapshot,
        raw: &[u8],
        overlong_bytes: Option<u64>,
        clock: Clock,
        lookup: Lookup,
        out: &mut RecordBatch,
    ) -> Processed {
        // Input bytes are decoded as UTF-8 with invalid sequences replaced (U+FFFD), as the
        // reference reads its input.
        let line: Cow<'_, str> = decode_line(raw);
        if let Some(full_length) = overlong_bytes {
            let message = format!(
                "line of {full_length} bytes is longer than max_line_bytes ({}); the raw event holds its first {} bytes",
                self.processor.settings.max_line_bytes,
                raw.len()
            );
            return Processed::Record(self.undecoded_error(
                "line_too_long",
                &message,
                &line,
                clock,
            ));
        }
        let decoded = match self.legacy_document(snapshot, &line, clock, lookup, out) {
            DocumentStep::Done(processed) => return processed,
            DocumentStep::Decoded(decoded) => *decoded,
            DocumentStep::Again => match self.processor.parser.decode(&line) {
                Ok(decoded) => decoded,
                Err(error) => {
                    return Processed::Record(self.undecoded_error(
                        error.reason(),
                        &error.to_string(),
                        &line,
                        clock,
                    ))
                }
            },
        };
        if decoded.is_event_platform() {
            return self.event_platform(snapshot, decoded, &line, clock, lookup);
        }
        let converted = decoded
            .object()
            .get("schema")
            .and_then(Value::as_str)
            .is_some_and(|name| self.processor.settings.conversion.applies_to(name));
        if converted {
            return self.converted_legacy(snapshot, decoded, &line, clock, lookup);
        }
        self.legacy(snapshot, decoded, &line, clock, lookup)
    }

    /// A line that could not be decoded at all: its error event uses the format of the
    /// configured output generation.
    fn undecoded_error(
        &self,
        reason: &'static str,
        message: &str,
        line: &str,
        clock: Clock,
    ) -> OutputRecord {
        if self.processor.settings.conversion.is_global() {
            self.event_platform_error(reason, "ParseError", message, None, line, clock)
        } else {
            self.legacy_processor_error(reason, message, line, None, clock)
        }
    }

    fn unfinished_fetch(&self, raw: &[u8], clock: Clock) -> OutputRecord {
        let line = decode_line(raw);
        self.undecoded_error(
            "schema_fetch",
            "schema fetch did not complete within the fetch timeout",
            &line,
            clock,
        )
    }
}

/// The line as text: borrowed when it is valid UTF-8 (checked with SIMD validation, much cheaper
/// than the lossy decoder's byte-by-byte chunking), else with every invalid sequence replaced by
/// U+FFFD.
fn decode_line(raw: &[u8]) -> Cow<'_, str> {
    match beacon_parsers::utf8::from_utf8(raw) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(raw),
    }
}
