//! `beacon-processor generate`: realistic raw beacon lines.

use std::fs::File;
use std::io::{BufWriter, Write};

use std::time::Duration;

use crate::cli::GenerateArgs;
use crate::generate::{self, GeneratorSettings, SchemaSample};
use crate::kafka::LineProducer;
use crate::schema::LegacyDirSource;

use super::CommandError;

/// How often each sample schema appears (others: 10).
const WEIGHTS: &[(&str, u32)] = &[
    ("NavigationTiming", 30),
    ("SearchSatisfaction", 25),
    ("Echo", 20),
    ("EditAttemptStep", 20),
    ("Generic", 5),
];

/// Writes the generated lines to the output file or standard output.
pub fn generate(args: &GenerateArgs) -> Result<(), CommandError> {
    let source = LegacyDirSource::load(&args.schemas).map_err(|e| {
        // The default is relative to the working directory: say where that was.
        let hint = if args.schemas.is_relative() {
            let cwd = std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_else(|_| "the working directory".into());
            format!(
                " (relative to {cwd}; run from the repository root or pass --schemas DIR, a \
                 legacy schema directory)"
            )
        } else {
            String::new()
        };
        CommandError::Other(format!(
            "cannot load schemas from {}{hint}: {e}",
            args.schemas.display()
        ))
    })?;
    let schemas: Vec<SchemaSample> = source
        .schemas()
        .map(|(name, revision, schema)| SchemaSample {
            name: name.to_owned(),
            revision,
            schema: schema.clone(),
            weight: WEIGHTS
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(10, |(_, w)| *w),
        })
        .collect();
    if schemas.is_empty() {
        return Err(CommandError::Other(format!(
            "no schemas found in {}",
            args.schemas.display()
        )));
    }
    let settings = GeneratorSettings {
        lines: args.lines,
        seed: args.seed,
        invalid_percent: args.invalid_percent,
        malformed_percent: args.malformed_percent,
        user_agent_pool: args.user_agents,
        fresh_user_agent_percent: args.fresh_user_agent_percent,
        event_platform_percent: args.event_platform_percent,
        ..GeneratorSettings::default()
    };
    let io_error = |e: std::io::Error| CommandError::Other(format!("writing generated lines: {e}"));
    if let Some(brokers) = &args.kafka {
        crate::kafka::probe(brokers, crate::kafka::PROBE_TIMEOUT).map_err(CommandError::Other)?;
        let mut producer = LineProducer::connect(brokers, &args.topic).map_err(|e| {
            CommandError::Other(format!("cannot connect to Kafka at {brokers}: {e}"))
        })?;
        generate::generate(&settings, schemas, &mut producer).map_err(io_error)?;
        let sent = producer
            .finish(Duration::from_secs(120))
            .map_err(|e| CommandError::Other(format!("producing to {}: {e}", args.topic)))?;
        let _ = writeln!(
            std::io::stderr(),
            "produced {sent} lines to {} at {brokers}",
            args.topic
        );
        return Ok(());
    }
    match &args.output {
        Some(path) => {
            let file = File::create(path).map_err(|e| {
                CommandError::Other(format!("cannot create {}: {e}", path.display()))
            })?;
            let mut out = BufWriter::with_capacity(1 << 20, file);
            generate::generate(&settings, schemas, &mut out).map_err(io_error)?;
            out.flush().map_err(io_error)
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
            generate::generate(&settings, schemas, &mut out).map_err(io_error)
        }
    }
}
