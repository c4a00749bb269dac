//! The processing clock: the moment a batch is processed, read once per batch, and the forms
//! records and pages write it in (Unix seconds like Python, ISO-8601 like JavaScript).

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

    /// Whole seconds, rounded like Python's `int(round(time.time()))` (half up here).
    pub fn unix_seconds(self) -> i64 {
        (self.unix_micros + 500_000).div_euclid(1_000_000)
    }

    /// ISO-8601 with milliseconds and `Z`, like JavaScript's `Date.toISOString()`.
    pub fn iso(self) -> String {
        let seconds = self.unix_micros.div_euclid(1_000_000);
        let millis = self.unix_micros.rem_euclid(1_000_000) / 1000;
        let base = beacon_parsers::datetime::unix_to_iso(seconds)
            .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned());
        format!("{}.{millis:03}Z", base.trim_end_matches('Z'))
    }
}
