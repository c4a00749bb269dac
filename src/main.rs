//! The `beacon-processor` binary.

use std::process::ExitCode;

use clap::Parser;

use beacon_processor::cli::{Cli, Command};
use beacon_processor::commands;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Run(args) => commands::run::run(&cli, args),
        Command::Process(args) => commands::process::process(&cli, args),
        Command::Generate(args) => commands::generate::generate(args),
        Command::CheckConfig(args) => commands::check_config::check_config(&cli, args),
        Command::DevKafka(args) => commands::dev_kafka::dev_kafka(&cli, args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("beacon-processor: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
