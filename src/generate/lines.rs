//! Raw varnishkafka lines: `?<encodeURIComponent(capsule JSON)>;` TAB host TAB seq TAB dt TAB ip
//! TAB `"<user agent>"`, valid ones and the kinds of broken ones real traffic carries.

use serde_json::{Map, Value};

use super::instance;
use super::rng::Rng;

pub use beacon_parsers::qson::encode_uri_component;

/// One schema the generator can make events for.
#[derive(Debug, Clone)]
pub struct SchemaSample {
    /// Schema name.
    pub name: String,
    /// Revision.
    pub revision: i64,
    /// The draft-3 event schema.
    pub schema: Value,
    /// Relative frequency.
    pub weight: u32,
}

/// How a generated line is broken, if it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flaw {
    /// A valid event.
    None,
    /// Parses, but fails validation (extra property, missing or mistyped field, bad SCID).
    Invalid,
    /// Does not parse (truncated URL, bad JSON, bad date, bad UTF-8, no `?`, huge user agent).
    Malformed,
}

const SITES: &[(&str, &str)] = &[
    ("en.wikipedia.org", "enwiki"),
    ("en.m.wikipedia.org", "enwiki"),
    ("de.wikipedia.org", "dewiki"),
    ("fr.m.wikipedia.org", "frwiki"),
    ("ja.wikipedia.org", "jawiki"),
    ("es.wikipedia.org", "eswiki"),
    ("commons.wikimedia.org", "commonswiki"),
    ("www.wikidata.org", "wikidatawiki"),
];

const HOSTS: &[&str] = &[
    "cp3050.esams.wmnet",
    "cp3052.esams.wmnet",
    "cp1075.eqiad.wmnet",
    "cp1077.eqiad.wmnet",
    "cp2027.codfw.wmnet",
    "cp4021.ulsfo.wmnet",
    "cp5007.eqsin.wmnet",
];

/// Builds raw lines one at a time.
#[derive(Debug)]
pub struct LineMaker {
    schemas: Vec<SchemaSample>,
    total_weight: u64,
    seq_ids: Vec<u64>,
    unix_seconds: i64,
}

impl LineMaker {
    /// A maker for `schemas` whose lines start at `start_unix_seconds`.
    pub fn new(schemas: Vec<SchemaSample>, start_unix_seconds: i64, rng: &mut Rng) -> Self {
        let total_weight = schemas.iter().map(|s| u64::from(s.weight)).sum();
        let seq_ids = HOSTS.iter().map(|_| rng.below(1_000_000_000)).collect();
        LineMaker {
            schemas,
            total_weight,
            seq_ids,
            unix_seconds: start_unix_seconds,
        }
    }

    fn pick_schema(&self, rng: &mut Rng) -> Option<&SchemaSample> {
        let mut target = rng.below(self.total_weight);
        for s in &self.schemas {
            if target < u64::from(s.weight) {
                return Some(s);
            }
            target -= u64::from(s.weight);
        }
        self.schemas.first()
    }

    /// One line, without its newline. `event_platform` makes its capsule an Event Platform
    /// event (`$schema` + `meta.stream`) instead of a legacy capsule.
    pub fn line(
        &mut self,
        rng: &mut Rng,
        user_agent: &str,
        flaw: Flaw,
        event_platform: bool,
    ) -> String {
        if rng.chance(0.3) {
            self.unix_seconds += 1;
        }
        let host_index = rng.index(HOSTS.len());
        let host = HOSTS
            .get(host_index)
            .copied()
            .unwrap_or("cp0000.test.wmnet");
        let seq = self.seq_ids.get_mut(host_index).map_or(0, |s| {
            *s += 1;
            *s
        });
        let dt = beacon_parsers::datetime::unix_to_iso(self.unix_seconds)
            .unwrap_or_else(|| "2026-11-01T00:00:00Z".to_owned());
        let mut dt = dt.trim_end_matches('Z').to_owned();
        let ip = format!(
            "{}.{}",
            ["192.0.2", "198.51.100", "203.0.113"][rng.index(3)],
            rng.between(1, 254)
        );
        let mut ua = format!("\"{user_agent}\"");
        let capsule = if event_platform {
            event_platform_event(rng, flaw == Flaw::Invalid)
        } else {
            self.capsule(rng, flaw == Flaw::Invalid)
        };
        let json = Value::Object(capsule).to_string();
        let mut query = format!("?{};", encode_uri_component(&json));
        if flaw == Flaw::Malformed {
            match rng.below(6) {
                0 => {
                    // varnishkafka's tag.size.max cut the URL: no `;`, broken JSON.
                    let cut = 20 + rng.index(query.len().saturating_sub(30).max(1));
                    let mut at = cut.min(query.len());
                    while !query.is_char_boundary(at) {
                        at -= 1;
                    }
                    query.truncate(at);
                }
                1 => query = "?%7Bnot-json;".to_owned(),
                2 => dt = "2026-13-45T10:11:12".to_owned(),
                3 => query = format!("?{}", "%7B%22a%22%3A%22%C3%28%22%7D;"),
                4 => query = query.trim_start_matches('?').to_owned(),
                _ => ua = format!("\"{}\"", "Mozilla/5.0 ".repeat(80)),
            }
        }
        format!("{query}\t{host}\t{seq}\t{dt}\t{ip}\t{ua}")
    }

    fn capsule(&self, rng: &mut Rng, invalid: bool) -> Map<String, Value> {
        let mut capsule = Map::new();
        let (web_host, wiki) = rng
            .pick(SITES)
            .copied()
            .unwrap_or(("example.org", "examplewiki"));
        let Some(sample) = self.pick_schema(rng) else {
            return capsule;
        };
        let mut event = instance::object(&sample.schema, rng, 0);
        let mut revision = Value::from(sample.revision);
        let mut schema = Value::from(sample.name.clone());
        let mut wiki = Value::from(wiki);
        if invalid {
            match rng.below(6) {
                0 => {
                    event.insert("bogus".into(), Value::from(1));
                }
                1 => {
                    let required = sample
                        .schema
                        .get("properties")
                        .and_then(Value::as_object)
                        .and_then(|p| {
                            p.iter().find(|(_, s)| {
                                s.get("required").and_then(Value::as_bool) == Some(true)
                            })
                        })
                        .map(|(k, _)| k.clone());
                    match required {
                        Some(name) => {
                            event.remove(&name);
                        }
                        None => wiki = Value::Null,
                    }
                }
                2 => {
                    let key = event.keys().next().cloned();
                    if let Some(key) = key {
                        event.insert(key, Value::from(vec![Value::from("wrong type")]));
                    } else {
                        event.insert("bogus".into(), Value::from(true));
                    }
                }
                3 => revision = Value::from(sample.revision.to_string()),
                4 => schema = Value::from("Bad Name!"),
                _ => revision = Value::from(-1),
            }
        }
        capsule.insert("event".into(), Value::Object(event));
        capsule.insert("revision".into(), revision);
        capsule.insert("schema".into(), schema);
        capsule.insert("webHost".into(), Value::from(web_host));
        if !wiki.is_null() {
            capsule.insert("wiki".into(), wiki);
        }
        capsule
    }
}

/// An event of the EventGate test stream (`test.event`, schema `test/event`), or a broken one:
/// unknown stream, a map value of the wrong type, or a schema not allowed in the stream.
fn event_platform_event(rng: &mut Rng, invalid: bool) -> Map<String, Value> {
    let (domain, _) = rng
        .pick(SITES)
        .copied()
        .unwrap_or(("example.org", "examplewiki"));
    let words = ["alpha", "beta", "gamma", "delta"];
    let mut map = Map::new();
    for _ in 0..rng.below(3) {
        let key = words[rng.index(words.len())];
        map.insert(key.into(), Value::from(format!("v{}", rng.below(100))));
    }
    let mut stream = "test.event";
    if invalid {
        match rng.below(3) {
            0 => stream = "unknown.stream",
            1 => {
                map.insert("count".into(), Value::from(rng.below(100)));
            }
            _ => stream = "eventlogging_Echo",
        }
    }
    let mut meta = Map::new();
    meta.insert("stream".into(), Value::from(stream));
    meta.insert("domain".into(), Value::from(domain));
    let mut event = Map::new();
    event.insert("$schema".into(), Value::from("/test/event/1.0.0"));
    event.insert("meta".into(), Value::Object(meta));
    event.insert("test".into(), Value::from(words[rng.index(words.len())]));
    event.insert("test_map".into(), Value::Object(map));
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_uri_component_matches_javascript() {
        assert_eq!(
            encode_uri_component(r#"{"a":"b c+d/é!~*'()"}"#),
            "%7B%22a%22%3A%22b%20c%2Bd%2F%C3%A9!~*'()%22%7D"
        );
    }
}
