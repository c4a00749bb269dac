//! The Event Platform path: `$schema` + `meta.stream` events, and converted legacy capsules.
//!
//! resolve the schema -> look up the stream -> require schema `title` == stream `schema_title`
//! -> enrich (only fields the schema declares and the event lacks) -> validate -> route to
//! `topic_prefix + stream` (no prefix for `eventlogging_*` streams). Every failure, including
//! an unknown stream, a title mismatch or an unloadable schema, becomes an EventGate error event
//! on the configured error stream with its own reason.

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::{Map, Value};

use beacon_parsers::capsule::{DecodedLine, LineContext};
use beacon_parsers::datetime::iso_to_unix_millis;
use beacon_parsers::json_writer;

use crate::catalog::CatalogSnapshot;
use crate::clock::Clock;
use crate::event_platform::enrich::{enrich, RequestFacts};
use crate::event_platform::error_event::{error_event, EventFailure};
use crate::event_platform::get_path;
use crate::event_platform::legacy_conversion::{convert, ConversionTarget};
use crate::record::batch::{RecordBatch, RecordMeta};
use crate::record::{Outcome, OutputRecord};
use crate::schema::{FetchTicket, SchemaLookupError, SchemaPoll};
use crate::streams::{topic_for_stream, StreamSettings};
use crate::validation::EventSchema;

use super::legacy::serialize;
use super::{Lookup, Processed, Worker};

/// What became of an event whose schema is loaded.
pub(super) enum Delivery {
    /// It passed every check.
    Accepted(Accepted),
    /// It did not: its error record.
    Refused(OutputRecord),
}

/// An event that passed every check, enriched, with where it goes.
pub(super) struct Accepted {
    event: Map<String, Value>,
    /// Its stream, the record's schema.
    stream: String,
    topic: String,
    key: Option<Vec<u8>>,
    timestamp_ms: Option<i64>,
}

impl Accepted {
    /// The event as a record of its own.
    pub(super) fn into_record(self) -> OutputRecord {
        OutputRecord {
            payload: serialize(&self.event),
            topic: self.topic,
            schema: Some(self.stream),
            key: self.key,
            timestamp_ms: self.timestamp_ms,
            outcome: Outcome::Valid,
        }
    }

    /// Appends the event to `records`, written straight into the batch's buffer (a record of
    /// its own would be written, copied out and copied in again).
    pub(super) fn write_into(&self, records: &mut RecordBatch) {
        let meta = RecordMeta {
            topic: &self.topic,
            schema: Some(&self.stream),
            key: self.key.as_deref(),
            timestamp_ms: self.timestamp_ms,
            outcome: Outcome::Valid,
        };
        records.push_written(meta, |out| json_writer::write_object(out, &self.event));
    }
}

/// Why an Event Platform event failed, with its bounded reason.
pub(super) struct Failure {
    reason: &'static str,
    error_type: &'static str,
    message: String,
}

impl Failure {
    pub(super) fn new(
        reason: &'static str,
        error_type: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Failure {
            reason,
            error_type,
            message: message.into(),
        }
    }

    pub(super) fn lookup(error: &SchemaLookupError) -> Self {
        Failure::new(error.reason(), "SchemaLoadError", error.to_string())
    }
}

/// The outcome of a schema lookup.
pub(super) enum Resolved {
    Ready(Arc<EventSchema>),
    Pending(FetchTicket),
    Failed(Failure),
}

impl Worker<'_> {
    /// An event that names its own `$schema`.
    pub(super) fn event_platform(
        &mut self,
        snapshot: &CatalogSnapshot,
        decoded: DecodedLine<'_>,
        line: &str,
        clock: Clock,
        lookup: Lookup,
    ) -> Processed {
        let context = match self.processor.parser.line_context(&decoded) {
            Ok(context) => context,
            Err(error) => {
                let failure = Failure::new(error.reason(), "ParseError", error.to_string());
                let event = decoded.into_object();
                return Processed::Record(self.failed(failure, Some(&event), line, clock));
            }
        };
        let event = decoded.into_object();
        let Some(uri) = event
            .get("$schema")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            let failure = Failure::new(
                "schema_missing",
                "MissingFieldError",
                "$schema must be a string",
            );
            return Processed::Record(self.failed(failure, Some(&event), line, clock));
        };
        let schema = match self.resolve(snapshot, &uri, lookup) {
            Resolved::Ready(schema) => schema,
            Resolved::Pending(ticket) => return Processed::Pending(ticket),
            Resolved::Failed(failure) => {
                return Processed::Record(self.failed(failure, Some(&event), line, clock))
            }
        };
        let facts = self.facts(&context, &schema);
        Processed::Record(self.deliver(snapshot, event, &schema, &facts, line, clock))
    }

    /// A legacy capsule whose schema is configured for conversion to Event Platform.
    pub(super) fn converted_legacy(
        &mut self,
        snapshot: &CatalogSnapshot,
        decoded: DecodedLine<'_>,
        line: &str,
        clock: Clock,
        lookup: Lookup,
    ) -> Processed {
        let context = self
            .processor
            .parser
            .line_context(&decoded)
            .unwrap_or_default();
        let name = decoded
            .object()
            .get("schema")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if !beacon_parsers::scid::is_valid_schema_name(&name) {
            let failure = Failure::new(
                "validation",
                "ValidationError",
                format!("Invalid schema name: {name}"),
            );
            let event = decoded.into_object();
            return Processed::Record(self.failed(failure, Some(&event), line, clock));
        }
        let target =
            ConversionTarget::for_schema(&name, self.processor.settings.conversion_version(&name));
        let schema = match self.resolve(snapshot, &target.schema_uri, lookup) {
            Resolved::Ready(schema) => schema,
            Resolved::Pending(ticket) => return Processed::Pending(ticket),
            Resolved::Failed(failure) => {
                let event = decoded.into_object();
                return Processed::Record(self.failed(failure, Some(&event), line, clock));
            }
        };
        let capsule = match self.processor.parser.build_capsule(
            decoded,
            &mut self.user_agents,
            clock.unix_micros,
        ) {
            Ok(capsule) => capsule,
            Err(error) => {
                let failure = Failure::new(error.reason(), "ParseError", error.to_string());
                return Processed::Record(self.failed(failure, None, line, clock));
            }
        };
        let event = convert(
            capsule,
            &target,
            schema.id(),
            schema.as_ref(),
            context.user_agent_unquoted(),
        );
        let facts = self.facts(&context, &schema);
        Processed::Record(self.deliver(snapshot, event, &schema, &facts, line, clock))
    }

    /// Looks the schema up; in poll mode a running fetch gives its ticket.
    pub(super) fn resolve(
        &self,
        snapshot: &CatalogSnapshot,
        uri: &str,
        lookup: Lookup,
    ) -> Resolved {
        match lookup {
            Lookup::Poll => match snapshot.registry.poll_event_schema(uri) {
                SchemaPoll::Ready(schema) => Resolved::Ready(schema),
                SchemaPoll::Pending(ticket) => Resolved::Pending(ticket),
                SchemaPoll::Failed(error) => Resolved::Failed(Failure::lookup(&error)),
            },
            Lookup::Block => match snapshot.registry.event_schema(uri) {
                Ok(schema) => Resolved::Ready(schema),
                Err(error) => Resolved::Failed(Failure::lookup(&error)),
            },
        }
    }

    fn facts<'c>(
        &mut self,
        context: &'c LineContext<'_>,
        schema: &EventSchema,
    ) -> RequestFacts<'c> {
        let user_agent_object = if schema.declares("/useragent") {
            context
                .user_agent
                .and_then(|ua| self.user_agents.parse(ua).ok())
                .map(|info| crate::event_platform::useragent_object(info.to_json()))
        } else {
            None
        };
        RequestFacts {
            event_id: context.event_id().map(Cow::Owned),
            received_dt: context.received_dt.as_deref(),
            user_agent: context.user_agent_unquoted(),
            client_ip: context.ip,
            user_agent_object,
            request_id: None,
        }
    }

    /// Stream check, enrichment, validation and routing of an event whose schema is loaded.
    pub(super) fn deliver(
        &self,
        snapshot: &CatalogSnapshot,
        event: Map<String, Value>,
        schema: &EventSchema,
        facts: &RequestFacts<'_>,
        line: &str,
        clock: Clock,
    ) -> OutputRecord {
        match self.accept(snapshot, event, schema, facts, line, clock) {
            Delivery::Accepted(accepted) => accepted.into_record(),
            Delivery::Refused(refused) => refused,
        }
    }

    /// What [`deliver`](Self::deliver) does, up to the record: the accepted event with where
    /// it goes, or the error record of a refused one.
    pub(super) fn accept(
        &self,
        snapshot: &CatalogSnapshot,
        mut event: Map<String, Value>,
        schema: &EventSchema,
        facts: &RequestFacts<'_>,
        line: &str,
        clock: Clock,
    ) -> Delivery {
        let Some(stream) = get_path(&event, "meta.stream")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            let failure = Failure::new(
                "stream_missing",
                "MissingFieldError",
                "meta.stream must be a string",
            );
            return Delivery::Refused(self.failed(failure, Some(&event), line, clock));
        };
        let uri = event.get("$schema").and_then(Value::as_str);
        let settings = match stream_settings(snapshot, uri, &stream, schema) {
            Ok(settings) => settings,
            Err(failure) => {
                return Delivery::Refused(self.failed(failure, Some(&event), line, clock))
            }
        };
        enrich(&mut event, schema, facts, || clock.iso());
        let event = Value::Object(event);
        let verdict = schema.validate(&event);
        let Value::Object(event) = event else {
            return Delivery::Refused(self.failed(
                Failure::new("not_object", "ParseError", "event is not an object"),
                None,
                line,
                clock,
            ));
        };
        if let Err(message) = verdict {
            return Delivery::Refused(self.failed(
                Failure::new("validation", "ValidationError", message),
                Some(&event),
                line,
                clock,
            ));
        }
        let settings_prefix = &self.processor.settings.topic_prefix;
        match topic_for_stream(settings_prefix, &stream, settings) {
            Ok(topic) => Delivery::Accepted(Accepted {
                key: self.processor.settings.message_key.event_key(
                    &event,
                    settings.map_or(&[], |s| s.message_key_fields.as_slice()),
                ),
                timestamp_ms: get_path(&event, "meta.dt")
                    .and_then(Value::as_str)
                    .and_then(iso_to_unix_millis),
                topic,
                stream,
                event,
            }),
            Err(error) => Delivery::Refused(self.failed(
                Failure::new("topic", "TopicError", error.to_string()),
                Some(&event),
                line,
                clock,
            )),
        }
    }

    pub(super) fn failed(
        &self,
        failure: Failure,
        event: Option<&Map<String, Value>>,
        line: &str,
        clock: Clock,
    ) -> OutputRecord {
        self.event_platform_error(
            failure.reason,
            failure.error_type,
            &failure.message,
            event,
            line,
            clock,
        )
    }

    /// An EventGate error event on the error stream.
    pub(super) fn event_platform_error(
        &self,
        reason: &'static str,
        error_type: &'static str,
        message: &str,
        event: Option<&Map<String, Value>>,
        line: &str,
        clock: Clock,
    ) -> OutputRecord {
        let settings = &self.processor.settings;
        let now = clock.iso();
        let failure = EventFailure {
            error_type,
            message: message.to_owned(),
        };
        let error = error_event(
            &failure,
            event,
            line,
            &settings.error_stream,
            &settings.emitter_id,
            &now,
        );
        let snapshot = self.processor.catalog.snapshot();
        let stream_settings = snapshot
            .streams
            .as_ref()
            .and_then(|s| s.lookup(&settings.error_stream));
        let topic = topic_for_stream(
            &settings.topic_prefix,
            &settings.error_stream,
            stream_settings,
        )
        .unwrap_or_else(|_| settings.error_stream.clone());
        OutputRecord {
            topic,
            schema: event
                .and_then(|e| get_path(e, "meta.stream"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            key: settings.message_key.uuid_key(get_path(&error, "meta.id")),
            payload: serialize(&error),
            timestamp_ms: iso_to_unix_millis(&now),
            outcome: Outcome::Error { reason },
        }
    }
}

/// The stream's settings, after checking that the stream is configured and that the schema's
/// `title` is the stream's `schema_title` (EventGate's messages). `None` when no stream
/// configuration is set: then any schema may go to any stream. `schema_uri` is the event's
/// `$schema`, for the message.
pub(super) fn stream_settings<'s>(
    snapshot: &'s CatalogSnapshot,
    schema_uri: Option<&str>,
    stream: &str,
    schema: &EventSchema,
) -> Result<Option<&'s StreamSettings>, Failure> {
    let Some(streams) = &snapshot.streams else {
        return Ok(None);
    };
    let not_allowed = |reason: &'static str, why: String| {
        let uri = schema_uri.unwrap_or("unknown");
        Failure::new(
            reason,
            "UnauthorizedSchemaForStreamError",
            format!("event of schema at {uri} destined to stream {stream} is not allowed in stream; {why}"),
        )
    };
    let Some(settings) = streams.lookup(stream) else {
        return Err(not_allowed(
            "stream_unknown",
            format!("{stream} is not configured."),
        ));
    };
    let Some(expected) = settings.schema_title.as_deref() else {
        return Err(not_allowed(
            "stream_unknown",
            format!("{stream} does not have a schema_title setting."),
        ));
    };
    if schema.title() != Some(expected) {
        return Err(not_allowed(
            "schema_title_mismatch",
            format!(
                "schema title must be {expected} (the schema's title is {}).",
                schema.title().unwrap_or("missing")
            ),
        ));
    }
    Ok(Some(settings))
}
