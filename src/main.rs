//! The `beacon-processor` binary.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use beacon_processor::cli::{Cli, Command};
use beacon_processor::commands;

/// mimalloc instead of the system allocator: the per-line pipeline allocates and frees dozens of
/// small blocks per event (JSON strings, map nodes, numbers), and glibc's malloc/free were about
/// a fifth of its instructions (docs/PROFILE.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = match beacon_processor::cli::expand_argument_files(std::env::args_os().collect()) {
        Ok(args) => args,
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "beacon-processor: {error}");
            return ExitCode::from(2);
        }
    };
    let cli = Cli::parse_from(args);
    let result = match &cli.command {
        Command::Run(args) => commands::run::run(&cli, args),
        Command::Process(args) => commands::process::process(&cli, args),
        Command::Generate(args) => commands::generate::generate(args),
        Command::CheckConfig(args) => commands::check_config::check_config(&cli, args),
        Command::EventloggingProcessor(args) => {
            commands::eventlogging_processor::eventlogging_processor(&cli, args)
        }
        Command::Top(args) => commands::top::top(args),
        Command::Tap(args) => {
            beacon_processor::logging::init(&cli, &Default::default());
            commands::tap::tap(args)
        }
        Command::DevKafka(args) => commands::dev_kafka::dev_kafka(&cli, args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // Not eprintln!: a closed standard error must not turn an error into a panic.
            let _ = writeln!(std::io::stderr(), "beacon-processor: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
