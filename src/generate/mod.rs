//! The sample-data generator: realistic raw beacon lines for the schemas in a legacy schema
//! directory, with diverse user agents and a configurable share of invalid and malformed lines.

mod instance;
mod lines;
mod rng;
mod user_agents;

use std::io::Write;

pub use lines::{encode_uri_component, Flaw, LineMaker, SchemaSample};
pub use rng::Rng;
pub use user_agents::UserAgentPool;

/// What to generate.
#[derive(Debug, Clone)]
pub struct GeneratorSettings {
    /// Number of lines.
    pub lines: u64,
    /// Random seed: the same seed gives the same lines.
    pub seed: u64,
    /// Share of lines that parse but fail validation, in percent.
    pub invalid_percent: f64,
    /// Share of lines that do not parse, in percent.
    pub malformed_percent: f64,
    /// Distinct user agents in the popular pool.
    pub user_agent_pool: usize,
    /// Share of draws that are one-off user agents, in percent.
    pub fresh_user_agent_percent: f64,
    /// Unix time of the first line.
    pub start_unix_seconds: i64,
    /// Share of lines carrying Event Platform events instead of legacy capsules, in percent.
    pub event_platform_percent: f64,
}

impl Default for GeneratorSettings {
    fn default() -> Self {
        GeneratorSettings {
            lines: 10_000,
            seed: 1,
            invalid_percent: 3.0,
            malformed_percent: 2.0,
            user_agent_pool: 5_000,
            fresh_user_agent_percent: 5.0,
            start_unix_seconds: 1_793_491_200, // 2026-11-01T00:00:00Z
            event_platform_percent: 0.0,
        }
    }
}

/// Writes `settings.lines` lines to `out`, one per line.
pub fn generate(
    settings: &GeneratorSettings,
    schemas: Vec<SchemaSample>,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let mut rng = Rng::new(settings.seed);
    let pool = UserAgentPool::new(
        &mut rng,
        settings.user_agent_pool,
        settings.fresh_user_agent_percent / 100.0,
    );
    let mut maker = LineMaker::new(schemas, settings.start_unix_seconds, &mut rng);
    let invalid = settings.invalid_percent / 100.0;
    let malformed = settings.malformed_percent / 100.0;
    for _ in 0..settings.lines {
        let roll = rng.unit();
        let flaw = if roll < malformed {
            Flaw::Malformed
        } else if roll < malformed + invalid {
            Flaw::Invalid
        } else {
            Flaw::None
        };
        let ua = pool.draw(&mut rng);
        let event_platform = rng.chance(settings.event_platform_percent / 100.0);
        let line = maker.line(&mut rng, &ua, flaw, event_platform);
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()
}
