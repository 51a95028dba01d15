//! The `engine-simulator` binary: a stand-in WhatsApp engine for demos and manual runs.
//!
//! - `engine-simulator serve --listen 127.0.0.1:8090 --engine-token T` runs the command
//!   endpoints the API calls (`ENGINE_URL`) and prints each command it receives on one
//!   line.
//! - `engine-simulator send --api URL --engine-token T --instance ins_… text --from
//!   5511987654321 "olá"` publishes one scripted event into the API (`image`,
//!   `document`, `audio`, `voice`, `sticker`, `location`, `contact`, `reaction`, `edit`,
//!   `revoke`, `receipt`, `state`, … see `--help`).
#![allow(clippy::print_stdout)]

mod send;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A stand-in for the WhatsApp engine (docs/engine-contract.md).
#[derive(Debug, Parser)]
#[command(name = "engine-simulator", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the engine's command endpoints and print the commands received.
    Serve(serve::ServeArgs),
    /// Publish one scripted event into the API.
    Send(Box<send::SendArgs>),
}

/// Errors of the binary, printed on exit.
type CliError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Send(args) => send::run(*args).await,
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("engine-simulator: {error}");
            ExitCode::FAILURE
        }
    }
}
