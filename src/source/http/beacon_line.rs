//! The legacy EventLogging endpoint (`GET /beacon/event?<percent-encoded JSON>;`, also
//! `/event.gif?...`): each request becomes the line the CDN would have logged for it, in the
//! configured line format, so that it takes the legacy capsule path exactly as a logged line
//! does: the query as the capsule (`%q`, or percent-decoded for `%j`), this host's name as
//! `recvFrom`, a per-process sequence number as `seqId`, the receive time as `%D` / `%t`, the
//! client address as `%{ip}i` and the `User-Agent` header (JSON-quoted, as varnishkafka writes
//! it) as `%u`. Fields are separated by TABs, the production layout. Other named fields get `-`
//! (or `0` for integers), which the reference's casting accepts.

use std::sync::atomic::{AtomicU64, Ordering};

use beacon_parsers::format::FieldKind;

/// What the line is made of.
#[derive(Debug, Clone, Copy)]
pub struct BeaconRequest<'a> {
    /// The raw query string, without its `?`.
    pub query: &'a str,
    /// The client address.
    pub client_ip: &'a str,
    /// The `User-Agent` header, if any.
    pub user_agent: Option<&'a str>,
    /// The receive time, `YYYY-MM-DDTHH:MM:SS` (UTC).
    pub received: &'a str,
}

/// Renders beacon requests as lines of one format.
#[derive(Debug)]
pub struct BeaconLines {
    format: String,
    host: String,
    sequence: AtomicU64,
}

impl BeaconLines {
    /// Lines in `format` (an EventLogging line format, already known to compile) from `host`.
    pub fn new(format: &str, host: String) -> Self {
        BeaconLines {
            format: format.to_owned(),
            host,
            sequence: AtomicU64::new(0),
        }
    }

    /// The line of `request`.
    pub fn render(&self, request: &BeaconRequest<'_>) -> String {
        let seq = self.sequence.fetch_add(1, Ordering::Relaxed) + 1;
        let mut line = String::with_capacity(request.query.len() + 160);
        let mut chars = self.format.chars().peekable();
        while let Some(c) = chars.next() {
            if c.is_whitespace() {
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
                line.push('\t');
                continue;
            }
            if c != '%' {
                line.push(c);
                continue;
            }
            let mut name = String::new();
            if chars.peek() == Some(&'{') {
                chars.next();
                for c in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                    name.push(c);
                }
            }
            let Some(letter) = chars.next() else {
                break;
            };
            match FieldKind::from_letter(letter) {
                Some(kind) => self.push_field(&mut line, kind, &name, seq, request),
                None => line.push(letter),
            }
        }
        line
    }

    fn push_field(
        &self,
        line: &mut String,
        kind: FieldKind,
        name: &str,
        seq: u64,
        request: &BeaconRequest<'_>,
    ) {
        let user_agent = || {
            serde_json::to_string(request.user_agent.unwrap_or("-")).unwrap_or_else(|_| "-".into())
        };
        match (kind, name) {
            (FieldKind::Qson, _) => {
                line.push('?');
                line.push_str(request.query);
            }
            (FieldKind::Json, _) => {
                let query = request.query.trim_end_matches(';');
                let decoded = percent_encoding::percent_decode_str(query).decode_utf8_lossy();
                // `%j` is a run of non-space characters: whitespace inside JSON text is
                // insignificant outside strings, and encoded inside them.
                line.extend(decoded.chars().filter(|c| !c.is_whitespace()));
            }
            (FieldKind::NcsaTimestamp | FieldKind::IsoDateTime, _) => {
                line.push_str(request.received)
            }
            (FieldKind::UserAgent, _) | (FieldKind::Text, "userAgent") => {
                line.push_str(&user_agent())
            }
            (FieldKind::Str, "recvFrom") => line.push_str(&self.host),
            (FieldKind::Int, "seqId") => line.push_str(&seq.to_string()),
            (FieldKind::Text | FieldKind::Str, "ip") => line.push_str(request.client_ip),
            (FieldKind::Int, _) => line.push('0'),
            _ => line.push('-'),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> BeaconRequest<'static> {
        BeaconRequest {
            query: "%7B%22schema%22%3A%22Echo%22%7D;",
            client_ip: "198.51.100.7",
            user_agent: Some("Mozilla/5.0 \"quoted\"\tx"),
            received: "2026-12-07T01:02:03",
        }
    }

    #[test]
    fn the_production_layout() {
        let lines = BeaconLines::new(
            "%q %{recvFrom}s %{seqId}d %D %{ip}i %u",
            "cp1.example".into(),
        );
        assert_eq!(
            lines.render(&request()),
            "?%7B%22schema%22%3A%22Echo%22%7D;\tcp1.example\t1\t2026-12-07T01:02:03\t198.51.100.7\t\"Mozilla/5.0 \\\"quoted\\\"\\tx\""
        );
        assert!(lines.render(&request()).contains("\tcp1.example\t2\t"));
    }

    #[test]
    fn json_capsules_and_unknown_fields() {
        let lines = BeaconLines::new("%j %{other}s %{n}d %o", "h".into());
        assert_eq!(lines.render(&request()), "{\"schema\":\"Echo\"}\t-\t0\t-");
    }
}
