//! Capsule building: one matched raw line in, one EventLogging capsule out (reference §2.3).
//!
//! Steps, in the reference's order:
//! 1. decode the capsule field (`%q` QSON or `%j` JSON) into a JSON object;
//! 2. for every top-level key the client sent that names a format field with a caster, apply that
//!    field's caster to the client's value (client values win over line values, but are cast);
//! 3. add every other captured field (cast) that the client did not send;
//! 4. drop `clientValidated` and `isTruncated`;
//! 5. set `uuid` from `recvFrom`, `seqId` and `dt` (a client `uuid` is always overwritten).

mod document;

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::datetime;
use crate::format::{Captures, Field, FieldKind, LineFormat};
use crate::json::{self, JsonError, JsonView};
use crate::python;
use crate::qson::{self, QsonError};
use crate::useragent::{RenderedUserAgent, UserAgentCache, UserAgentError};
use crate::uuid5;

pub use document::{DocumentBuild, DocumentCapsule};

/// Keys the processor removes from every capsule before validation (dropped from the capsule
/// schema in 2015, still sent by old clients).
pub const DROPPED_KEYS: [&str; 2] = ["clientValidated", "isTruncated"];

/// The capsule key of the parsed user agent: the fixed group name of `%u`, the only field kind
/// with a user-agent caster (a format can have it at most once).
pub const USER_AGENT_KEY: &str = "userAgent";

/// Why a raw line could not be turned into a capsule. Every variant becomes a `processor`
/// EventError; [`CapsuleError::reason`] gives the bounded metrics label.
#[derive(Debug, Clone, PartialEq)]
pub enum CapsuleError {
    /// The line does not match the format. The reference's message is the compiled regex.
    NoMatch { pattern: String },
    /// The capsule field is not valid UTF-8 once percent-decoded.
    Decode(QsonError),
    /// The decoded capsule is not valid JSON, or not a JSON object.
    Json(JsonError),
    /// A caster failed on a line value or on a client-sent value.
    Field {
        /// The field (group) name, e.g. `dt`.
        field: String,
        /// Whether the failing value came from the client capsule rather than the line.
        from_client: bool,
        /// What went wrong.
        message: String,
    },
    /// The user agent could not be parsed (too long, or an app UA without a version).
    UserAgent {
        /// Whether the failing value came from the client capsule rather than the line.
        from_client: bool,
        /// What went wrong.
        error: UserAgentError,
    },
}

impl CapsuleError {
    /// Bounded label for metrics and summaries.
    pub fn reason(&self) -> &'static str {
        match self {
            CapsuleError::NoMatch { .. } => "parse",
            CapsuleError::Decode(_) => "decode",
            CapsuleError::Json(JsonError::NotObject { .. }) => "not_object",
            CapsuleError::Json(_) => "json",
            CapsuleError::Field { field, .. } if field == "dt" || field == "timestamp" => "dt",
            CapsuleError::Field { .. } => "field",
            CapsuleError::UserAgent {
                error: UserAgentError::TooLong { .. },
                ..
            } => "ua_too_long",
            CapsuleError::UserAgent { .. } => "user_agent",
        }
    }
}

impl fmt::Display for CapsuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CapsuleError::NoMatch { pattern } => f.write_str(pattern),
            CapsuleError::Decode(e) => write!(f, "{e}"),
            CapsuleError::Json(e) => write!(f, "{e}"),
            CapsuleError::Field {
                field,
                from_client,
                message,
            } => {
                let origin = if *from_client { "client-sent " } else { "" };
                write!(f, "{origin}field {field}: {message}")
            }
            CapsuleError::UserAgent { error, .. } => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for CapsuleError {}

/// Turns raw lines into capsules for one compiled [`LineFormat`].
///
/// Cheap to share: per-thread state (the user-agent cache) is passed into [`parse`](Self::parse).
#[derive(Debug, Clone)]
pub struct CapsuleParser {
    format: LineFormat,
    /// The names of the format's fields that have a caster (all but `%o`), sorted, with their
    /// [`sort_word`](crate::json::key_order::sort_word)s.
    field_names: Vec<(String, u64)>,
}

impl CapsuleParser {
    /// A parser for lines of `format`.
    pub fn new(format: LineFormat) -> Self {
        let mut field_names: Vec<(String, u64)> = format
            .fields()
            .iter()
            .filter(|field| field.kind != FieldKind::Omit)
            .map(|field| {
                let word = crate::json::key_order::sort_word(field.name.as_bytes());
                (field.name.clone(), word)
            })
            .collect();
        field_names.sort();
        field_names.dedup();
        CapsuleParser {
            format,
            field_names,
        }
    }

    /// The compiled line format.
    pub fn format(&self) -> &LineFormat {
        &self.format
    }

    /// Parses one raw line (without its line terminator) into a legacy capsule:
    /// [`decode`](Self::decode) then [`build_capsule`](Self::build_capsule).
    ///
    /// `now_unix_micros` is only used for the uuid of a capsule that has neither `dt` nor
    /// `timestamp` (the reference uses the current time there too).
    pub fn parse(
        &self,
        line: &str,
        user_agents: &mut UserAgentCache,
        now_unix_micros: i64,
    ) -> Result<Map<String, Value>, CapsuleError> {
        let decoded = self.decode(line)?;
        self.build_capsule(decoded, user_agents, now_unix_micros)
    }

    /// Matches the line and decodes its capsule field (`%q` or `%j`) into a JSON object, without
    /// touching it: whether it is a legacy capsule or an Event Platform event is decided next.
    pub fn decode<'a>(&self, line: &'a str) -> Result<DecodedLine<'a>, CapsuleError> {
        let captures = self
            .format
            .match_line(line)
            .ok_or_else(|| CapsuleError::NoMatch {
                pattern: self.format.regex_equivalent().to_owned(),
            })?;
        let capsule_index = self.format.capsule_index();
        let capsule_text = captures.get(capsule_index).unwrap_or_default();
        let capsule_kind = self
            .format
            .fields()
            .get(capsule_index)
            .map(|f| f.kind)
            .unwrap_or(FieldKind::Qson);
        let object = decode_capsule(capsule_kind, capsule_text)?;
        Ok(DecodedLine { object, captures })
    }

    /// Turns a decoded line into a legacy capsule (reference §2.3): casters on client-sent
    /// fields, line fields for what the client did not send, dropped keys, uuid.
    pub fn build_capsule(
        &self,
        decoded: DecodedLine<'_>,
        user_agents: &mut UserAgentCache,
        now_unix_micros: i64,
    ) -> Result<Map<String, Value>, CapsuleError> {
        self.build_legacy_capsule(decoded, user_agents, now_unix_micros)
            .map(LegacyCapsule::into_map)
    }

    /// [`build_capsule`](Self::build_capsule) without materialising the parsed user agent as a
    /// JSON object: the result holds it pre-rendered (see [`LegacyCapsule`]).
    pub fn build_legacy_capsule(
        &self,
        decoded: DecodedLine<'_>,
        user_agents: &mut UserAgentCache,
        now_unix_micros: i64,
    ) -> Result<LegacyCapsule, CapsuleError> {
        let DecodedLine {
            object: mut capsule,
            captures,
        } = decoded;
        let mut user_agent = None;
        let fields = self.format.fields();
        let capsule_index = self.format.capsule_index();
        // Client-sent values of format fields are cast by the field's caster.
        for field in fields {
            if field.kind == FieldKind::Omit {
                continue;
            }
            if let Some(client_value) = capsule.get_mut(&field.name) {
                let cast = cast_client_value(field, client_value, user_agents, &mut user_agent)?;
                *client_value = cast;
            }
        }
        // Line values fill in what the client did not send.
        for (index, field) in fields.iter().enumerate() {
            if index == capsule_index
                || field.kind == FieldKind::Omit
                || capsule.contains_key(&field.name)
            {
                continue;
            }
            let text = captures.get(index).unwrap_or_default();
            let value = cast_line_value(field, text, user_agents, &mut user_agent)?;
            capsule.insert(field.name.clone(), value);
        }
        for key in DROPPED_KEYS {
            capsule.remove(key);
        }
        let uuid = capsule_uuid(&capsule, now_unix_micros);
        capsule.insert("uuid".to_owned(), Value::String(uuid));
        Ok(LegacyCapsule {
            map: capsule,
            user_agent,
        })
    }

    /// What the line itself (not the client) says about the request, for events that are not
    /// legacy capsules: receive time, cache host, sequence number, client IP, user agent.
    pub fn line_context<'a>(
        &self,
        decoded: &DecodedLine<'a>,
    ) -> Result<LineContext<'a>, CapsuleError> {
        let mut context = LineContext::default();
        for (index, field) in self.format.fields().iter().enumerate() {
            let Some(text) = decoded.captures.get(index) else {
                continue;
            };
            match (field.kind, field.name.as_str()) {
                (FieldKind::IsoDateTime, _) => {
                    let dt = datetime::normalize_line_dt(text)
                        .map_err(|e| field_error(field, false, e.to_string()))?;
                    context.received_dt = Some(dt);
                }
                (FieldKind::NcsaTimestamp, _) => {
                    let dt = datetime::ncsa_to_unix(text)
                        .ok()
                        .and_then(datetime::unix_to_iso)
                        .ok_or_else(|| {
                            field_error(field, false, format!("not a timestamp: {text}"))
                        })?;
                    context.received_dt = Some(dt);
                }
                (FieldKind::UserAgent, _) | (FieldKind::Text, "userAgent") => {
                    context.user_agent = Some(text);
                }
                (_, "recvFrom") => context.recv_from = Some(text),
                (_, "seqId") => context.seq_id = Some(text),
                (_, "ip") => context.ip = Some(text),
                _ => {}
            }
        }
        Ok(context)
    }
}

/// A legacy capsule as [`CapsuleParser::build_legacy_capsule`] builds it: the capsule map, in
/// which the parsed user agent (if the format has `%u`) is only a `null` placeholder under
/// [`USER_AGENT_KEY`], plus that user agent pre-rendered as JSON.
///
/// Writing it ([`write_json`](Self::write_json)) gives exactly the bytes of the full capsule
/// ([`into_map`](Self::into_map)) serialised. Validating [`map`](Self::map) gives the same verdict
/// as validating the full capsule only because the capsule schema accepts any `userAgent`
/// (`"type": "any"`); anything that looks at the user agent's content must use the full capsule.
#[derive(Debug, Clone, PartialEq)]
pub struct LegacyCapsule {
    map: Map<String, Value>,
    user_agent: Option<Arc<RenderedUserAgent>>,
}

impl LegacyCapsule {
    /// The capsule, with a `null` placeholder for the parsed user agent (see the type's docs).
    pub fn map(&self) -> &Map<String, Value> {
        &self.map
    }

    /// The parsed user agent, if the capsule has one.
    pub fn user_agent(&self) -> Option<&Arc<RenderedUserAgent>> {
        self.user_agent.as_ref()
    }

    /// The map (with the placeholder) and the parsed user agent, e.g. to move the map into a
    /// `Value` for validation; [`from_parts`](Self::from_parts) puts them back together.
    pub fn into_parts(self) -> (Map<String, Value>, Option<Arc<RenderedUserAgent>>) {
        (self.map, self.user_agent)
    }

    /// Reassembles a capsule from [`into_parts`](Self::into_parts). With a user agent, `map`
    /// should hold its placeholder under [`USER_AGENT_KEY`] (else the user agent is written
    /// only by [`into_map`](Self::into_map), not by [`write_json`](Self::write_json)).
    pub fn from_parts(map: Map<String, Value>, user_agent: Option<Arc<RenderedUserAgent>>) -> Self {
        LegacyCapsule { map, user_agent }
    }

    /// The full capsule, with the user agent as its JSON object.
    pub fn into_map(self) -> Map<String, Value> {
        let LegacyCapsule {
            mut map,
            user_agent,
        } = self;
        if let Some(user_agent) = user_agent {
            map.insert(USER_AGENT_KEY.to_owned(), user_agent.info().to_json());
        }
        map
    }

    /// Appends the full capsule as compact JSON (sorted keys) to `out`: the same bytes as
    /// serialising [`into_map`](Self::into_map) with serde_json.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        match &self.user_agent {
            Some(user_agent) => crate::json_writer::write_object_substituting(
                out,
                &self.map,
                USER_AGENT_KEY,
                user_agent.json(),
            ),
            None => crate::json_writer::write_object(out, &self.map),
        }
    }
}

/// A line whose format matched and whose capsule field decoded into a JSON object.
#[derive(Debug, Clone)]
pub struct DecodedLine<'a> {
    object: Map<String, Value>,
    captures: Captures<'a>,
}

impl<'a> DecodedLine<'a> {
    /// The decoded object.
    pub fn object(&self) -> &Map<String, Value> {
        &self.object
    }

    /// Takes the decoded object.
    pub fn into_object(self) -> Map<String, Value> {
        self.object
    }

    /// Whether the object is an Event Platform event (it names its schema with `$schema`)
    /// rather than a legacy capsule.
    pub fn is_event_platform(&self) -> bool {
        self.object.contains_key("$schema")
    }
}

/// Request facts taken from the line's own fields (see [`CapsuleParser::line_context`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineContext<'a> {
    /// Receive time (`%D`, or `%t` converted), normalised ISO-8601.
    pub received_dt: Option<String>,
    /// The cache host (`%{recvFrom}s`).
    pub recv_from: Option<&'a str>,
    /// The cache host's sequence number (`%{seqId}d`).
    pub seq_id: Option<&'a str>,
    /// The client IP (`%{ip}i`), `-` when unknown.
    pub ip: Option<&'a str>,
    /// The user agent as captured (usually with varnishkafka's surrounding quotes).
    pub user_agent: Option<&'a str>,
}

impl<'a> LineContext<'a> {
    /// A deterministic event id: the capsule uuid (uuid5 over recvFrom, seqId and the receive
    /// time), in the hyphenated form Event Platform's `meta.id` uses. `None` when the line lacks
    /// any of the three.
    pub fn event_id(&self) -> Option<String> {
        let (recv_from, seq_id, dt) = (self.recv_from?, self.seq_id?, self.received_dt.as_deref()?);
        let seq = seq_id.trim_start_matches('0');
        let seq = if seq.is_empty() { "0" } else { seq };
        Some(uuid5::capsule_uuid_hyphenated(recv_from, seq, dt))
    }

    /// The user agent without varnishkafka's surrounding quotes; `None` for a missing one (`-`).
    pub fn user_agent_unquoted(&self) -> Option<&'a str> {
        let ua = self.user_agent?.trim_matches('"');
        (ua != "-").then_some(ua)
    }
}

fn decode_capsule(kind: FieldKind, text: &str) -> Result<Map<String, Value>, CapsuleError> {
    with_decoded_capsule(kind, text, |decoded| {
        json::parse_object(decoded).map_err(CapsuleError::Json)
    })?
}

/// Runs `use_text` on the JSON text of a capsule field: `%j` as captured, `%q` percent-decoded
/// into a per-thread buffer.
fn with_decoded_capsule<T>(
    kind: FieldKind,
    text: &str,
    use_text: impl FnOnce(&str) -> T,
) -> Result<T, CapsuleError> {
    if kind == FieldKind::Json {
        return Ok(use_text(text));
    }
    // The buffer is taken out of its slot while in use (a nested call finds it empty).
    let mut buffer = QSON_BUFFER.try_with(Cell::take).unwrap_or_default();
    let result = qson::decode_into(text, &mut buffer)
        .map(use_text)
        .map_err(CapsuleError::Decode);
    if buffer.capacity() <= MAX_KEPT_QSON_BUFFER_BYTES {
        // Fails only while the thread is exiting: then the buffer is simply dropped.
        let _ = QSON_BUFFER.try_with(|slot| slot.set(buffer));
    }
    result
}

/// A per-thread buffer larger than this is given back to the allocator after use.
const MAX_KEPT_QSON_BUFFER_BYTES: usize = 1 << 20;

thread_local! {
    /// Per-thread buffer for percent-decoded capsules: decoding a line allocates nothing.
    static QSON_BUFFER: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

fn field_error(field: &Field, from_client: bool, message: impl Into<String>) -> CapsuleError {
    CapsuleError::Field {
        field: field.name.clone(),
        from_client,
        message: message.into(),
    }
}

/// Applies a field's caster to the text captured from the line. The user-agent caster puts the
/// parse into `user_agent` and returns the `null` placeholder.
fn cast_line_value(
    field: &Field,
    text: &str,
    user_agents: &mut UserAgentCache,
    user_agent: &mut Option<Arc<RenderedUserAgent>>,
) -> Result<Value, CapsuleError> {
    match field.kind {
        FieldKind::Str | FieldKind::Text | FieldKind::Omit => Ok(Value::String(text.to_owned())),
        FieldKind::Int => {
            // Python's int(): leading zeros are fine ("0123" is 123), any length is fine.
            let digits = text.trim_start_matches('0');
            let digits = if digits.is_empty() { "0" } else { digits };
            // The common case, without a JSON deserializer: a u64 makes the same Number.
            if let Some(number) = small_unsigned(digits) {
                return Ok(Value::Number(number.into()));
            }
            serde_json::from_str::<serde_json::Number>(digits)
                .map(Value::Number)
                .map_err(|e| field_error(field, false, format!("not an integer: {e}")))
        }
        FieldKind::NcsaTimestamp => datetime::ncsa_to_unix(text)
            .map(Value::from)
            .map_err(|e| field_error(field, false, e.to_string())),
        FieldKind::IsoDateTime => datetime::normalize_line_dt(text)
            .map(Value::String)
            .map_err(|e| field_error(field, false, e.to_string())),
        FieldKind::UserAgent => {
            let parsed =
                user_agents
                    .parse_rendered(text)
                    .map_err(|error| CapsuleError::UserAgent {
                        from_client: false,
                        error,
                    })?;
            *user_agent = Some(parsed);
            Ok(Value::Null)
        }
        FieldKind::Qson | FieldKind::Json => decode_capsule(field.kind, text).map(Value::Object),
    }
}

/// The value of a run of ASCII digits without leading zeros that fits a `u64` (at most 19
/// digits, so it cannot overflow), else `None`.
fn small_unsigned(digits: &str) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    digits.bytes().try_fold(0_u64, |value, byte| {
        let digit = byte.checked_sub(b'0').filter(|d| *d <= 9)?;
        value.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// Applies a field's caster to a value the client sent in its capsule (reference §2.3 step 1).
fn cast_client_value(
    field: &Field,
    value: &Value,
    user_agents: &mut UserAgentCache,
    user_agent: &mut Option<Arc<RenderedUserAgent>>,
) -> Result<Value, CapsuleError> {
    match field.kind {
        FieldKind::Str | FieldKind::Text | FieldKind::Omit => {
            Ok(Value::String(python::py_str(value)))
        }
        FieldKind::Int => python::py_int(value).map_err(|m| field_error(field, true, m)),
        FieldKind::NcsaTimestamp => match value {
            Value::String(s) => datetime::ncsa_to_unix(s)
                .map(Value::from)
                .map_err(|e| field_error(field, true, e.to_string())),
            other => Err(field_error(
                field,
                true,
                format!(
                    "strptime() argument 1 must be str, not {}",
                    python::py_type_name(other)
                ),
            )),
        },
        FieldKind::IsoDateTime => datetime::normalize_dt(value)
            .map(Value::String)
            .map_err(|e| field_error(field, true, e.to_string())),
        FieldKind::UserAgent => match value {
            Value::String(s) => {
                let parsed =
                    user_agents
                        .parse_rendered(s)
                        .map_err(|error| CapsuleError::UserAgent {
                            from_client: true,
                            error,
                        })?;
                *user_agent = Some(parsed);
                Ok(Value::Null)
            }
            other => Err(field_error(
                field,
                true,
                format!(
                    "Expected user agent to be a string, got {}",
                    python::py_repr(other)
                ),
            )),
        },
        FieldKind::Qson | FieldKind::Json => match value {
            Value::String(s) => decode_capsule(field.kind, s).map(Value::Object),
            other => Err(field_error(
                field,
                true,
                format!(
                    "expected an encoded capsule string, got {}",
                    python::py_type_name(other)
                ),
            )),
        },
    }
}

/// The capsule uuid (reference §3.2): uuid5 over `event://{recvFrom}/?seqId={seqId}&dt={dt}` with
/// Python `str()` formatting; without `dt`, the ISO form of `timestamp`, or of the current time.
fn capsule_uuid(capsule: &Map<String, Value>, now_unix_micros: i64) -> String {
    capsule_uuid_of(
        [
            capsule.get("recvFrom"),
            capsule.get("seqId"),
            capsule.get("dt"),
            capsule.get("timestamp"),
        ],
        now_unix_micros,
    )
}

/// [`capsule_uuid`] from the capsule's `recvFrom`, `seqId`, `dt` and `timestamp` members.
fn capsule_uuid_of<'a, V: JsonView<'a>>(
    [recv_from, seq_id, dt, timestamp]: [Option<V>; 4],
    now_unix_micros: i64,
) -> String {
    let recv_from = recv_from.map_or(Cow::Borrowed("None"), py_str);
    let seq_id = seq_id.map_or(Cow::Borrowed("None"), py_str);
    let dt = match dt {
        Some(dt) if !is_falsy(dt) => py_str(dt),
        _ => Cow::Owned(
            timestamp
                .and_then(|ts| datetime::unix_value_to_iso(&ts.to_value()).ok())
                .unwrap_or_else(|| micros_to_iso(now_unix_micros)),
        ),
    };
    uuid5::capsule_uuid(&recv_from, &seq_id, &dt)
}

/// Python `str(value)`, borrowed for strings and for integers already in canonical form (the
/// common `recvFrom`, `seqId` and `dt`).
fn py_str<'a, V: JsonView<'a>>(value: V) -> Cow<'a, str> {
    if let Some(text) = value.as_str() {
        return Cow::Borrowed(text);
    }
    match value.number_text() {
        Some(text) if is_canonical_unsigned(text) => Cow::Borrowed(text),
        _ => Cow::Owned(python::py_str(&value.to_value())),
    }
}

/// `0`, or ASCII digits without a leading zero: text that Python's `str(int(text))` leaves as
/// it is.
fn is_canonical_unsigned(text: &str) -> bool {
    match text.as_bytes() {
        [b'0'] => true,
        [first, rest @ ..] => (b'1'..=b'9').contains(first) && rest.iter().all(u8::is_ascii_digit),
        [] => false,
    }
}

/// Python truthiness of a JSON value (the reference uses `event.get('dt') or ...`).
fn is_falsy<'a, V: JsonView<'a>>(value: V) -> bool {
    if let Some(text) = value.as_str() {
        return text.is_empty();
    }
    match &*value.to_value() {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Number(n) => n.as_f64() == Some(0.0),
    }
}

fn micros_to_iso(unix_micros: i64) -> String {
    let secs = unix_micros.div_euclid(1_000_000);
    let micros = unix_micros.rem_euclid(1_000_000);
    let base = datetime::unix_to_iso(secs).unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned());
    if micros == 0 {
        return base;
    }
    let without_zone = base.trim_end_matches('Z');
    format!("{without_zone}.{micros:06}Z")
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::useragent::UserAgentParser;
    use std::sync::OnceLock;

    pub(super) const NOW: i64 = 1_793_491_200_000_000;
    pub(super) const CHROME: &str = "\"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.88 Safari/537.36\"";

    pub(super) fn user_agents() -> UserAgentCache {
        static PARSER: OnceLock<Arc<UserAgentParser>> = OnceLock::new();
        let parser = PARSER
            .get_or_init(|| Arc::new(UserAgentParser::builtin().expect("vendored regexes load")));
        UserAgentCache::new(Arc::clone(parser), 16)
    }

    fn parser() -> CapsuleParser {
        CapsuleParser::new(
            LineFormat::compile("%q %{recvFrom}s %{seqId}d %D %{ip}i %u").expect("compiles"),
        )
    }

    pub(super) fn line(capsule_json: &str, user_agent: &str) -> String {
        let encoded: String = capsule_json
            .bytes()
            .map(|byte| match byte {
                b'{' | b'}' | b'"' | b':' | b',' | b' ' => format!("%{byte:02X}"),
                other => char::from(other).to_string(),
            })
            .collect();
        format!("?{encoded};\tcp3030.esams.wmnet\t0012345678\t2019-12-20T10:11:12\t192.0.2.1\t{user_agent}")
    }

    fn legacy(text: &str) -> LegacyCapsule {
        let parser = parser();
        let decoded = parser.decode(text).expect("decodes");
        parser
            .build_legacy_capsule(decoded, &mut user_agents(), NOW)
            .expect("builds")
    }

    #[test]
    fn legacy_capsule_writes_the_bytes_of_the_full_capsule() {
        let text = line(
            r#"{"event":{"a":"x\"y"},"revision":1,"schema":"Echo","wiki":"enwiki"}"#,
            CHROME,
        );
        let capsule = legacy(&text);
        assert_eq!(capsule.map().get(USER_AGENT_KEY), Some(&Value::Null));
        let mut written = Vec::new();
        capsule.write_json(&mut written);
        let full = capsule.clone().into_map();
        assert_eq!(
            full.get(USER_AGENT_KEY)
                .and_then(|ua| ua.get("browser_family")),
            Some(&Value::from("Chrome"))
        );
        assert_eq!(Some(written), serde_json::to_vec(&full).ok());
        // The full capsule is what `build_capsule` (and so `parse`) gives.
        assert_eq!(
            parser().parse(&text, &mut user_agents(), NOW),
            Ok(full.clone())
        );
        assert_eq!(
            full.get("uuid"),
            Some(&Value::from("c30e6e3cd2785ebe8f7933b22114e742"))
        );
    }

    #[test]
    fn a_client_sent_user_agent_is_the_one_rendered() {
        let text = line(
            r#"{"revision":1,"schema":"Echo","userAgent":"curl/7.64.0","wiki":"enwiki"}"#,
            CHROME,
        );
        let capsule = legacy(&text);
        let rendered = capsule.user_agent().map(|ua| ua.json().to_owned());
        assert!(rendered
            .as_deref()
            .is_some_and(|json| json.starts_with(r#"{"browser_family":"curl","#)));
        let mut written = Vec::new();
        capsule.write_json(&mut written);
        assert_eq!(Some(written), serde_json::to_vec(&capsule.into_map()).ok());
    }

    #[test]
    fn a_format_without_user_agent_has_no_placeholder() {
        let parser = CapsuleParser::new(
            LineFormat::compile("%q %{recvFrom}s %{seqId}d %D").expect("compiles"),
        );
        let text = "?%7B%22schema%22%3A%22Echo%22%7D;\th\t1\t2019-12-20T10:11:12";
        let decoded = parser.decode(text).expect("decodes");
        let capsule = parser
            .build_legacy_capsule(decoded, &mut user_agents(), NOW)
            .expect("builds");
        assert!(capsule.user_agent().is_none());
        assert!(!capsule.map().contains_key(USER_AGENT_KEY));
        let mut written = Vec::new();
        capsule.write_json(&mut written);
        assert_eq!(Some(written), serde_json::to_vec(&capsule.into_map()).ok());
    }
}
