//! Developer tasks for the workspace, run as `cargo xtask <command>` (see
//! `.cargo/config.toml`).
//!
//! - `cargo xtask test`: the test command. Finds or starts a Postgres, exports it as
//!   `TEST_DATABASE_URL`, checks that the tests' Redis (`TEST_REDIS_URL`) and NATS with
//!   JetStream (`TEST_NATS_URL`) answer, and runs the workspace tests with cargo-nextest.
//! - `cargo xtask tidy`: the repository's structural rules (see [`xtask::tidy`]).
//! - `cargo xtask ci`: what CI runs (`.ci/run`): fmt check, tidy, clippy, rustdoc, a
//!   short fuzz pass, the bench's smoke run, schemathesis, the README walkthrough, then
//!   the tests.
//! - `cargo xtask fuzz --seconds N`: every fuzz target for N seconds (`docs/fuzzing.md`).
//! - `cargo xtask bench [--quick]`: the throughput and cost figures P0–P5 on SQLite and
//!   PostgreSQL (`docs/benchmarks.md`).
//! - `cargo xtask schemathesis`: schemathesis against a running `ryze serve` and its
//!   `/openapi.json` (installs schemathesis with pip when missing).
//! - `cargo xtask readme`: README.md's "Run it by hand" blocks run as written against
//!   the simulators, and what they should show checked.
#![allow(clippy::print_stdout)]

mod bench;
mod ci;
mod fuzz;
mod nats;
mod postgres;
mod readme;
mod redis;
mod schemathesis;
mod service;
mod test_run;
mod tidy_command;
mod util;

use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::test_run::TestArgs;

#[derive(Parser, Debug)]
#[command(
    name = "cargo xtask",
    about = "Developer tasks for the RyzeIntegrations workspace"
)]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Subcommand, Debug)]
enum Task {
    /// Run the workspace tests against a Postgres found or started for them
    /// (TEST_DATABASE_URL, else 127.0.0.1:5432, else a throwaway cluster).
    Test(TestArgs),
    /// Check the repository's structural rules (dependencies, manifests, docs,
    /// HTTP statuses); every problem names its rule and how to fix it.
    Tidy,
    /// Run what CI runs: `cargo fmt --check`, `tidy`, clippy with `-D warnings`,
    /// rustdoc, fuzz, bench, schemathesis and readme, then `test`.
    Ci(TestArgs),
    /// Run every fuzz target in `fuzz/` for `--seconds` each; fails on a crash.
    Fuzz(fuzz::FuzzArgs),
    /// Measure the relay's throughput and costs (P0–P5) on SQLite and PostgreSQL;
    /// writes target/bench/report.md and figures.svg (`docs/benchmarks.md`).
    Bench(bench::BenchArgs),
    /// Run schemathesis against `ryze serve` (temporary directory, an account and its
    /// token) and its `/openapi.json`: no server error, answers as documented.
    Schemathesis(schemathesis::SchemathesisArgs),
    /// Run README.md's "Run it by hand" blocks as written (prebuilt binaries through a
    /// `cargo` stand-in, the README's fixed ports) and check that a message went both
    /// ways.
    Readme(readme::ReadmeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("xtask: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<u8> {
    util::install_signal_handlers()?;
    match cli.command {
        Task::Test(args) => test_run::run(&args),
        Task::Tidy => tidy_command::run(),
        Task::Ci(args) => ci::run(&args).map(|()| 0),
        Task::Fuzz(args) => fuzz::run(&args),
        Task::Bench(args) => bench::run(&args),
        Task::Schemathesis(args) => schemathesis::run(&args),
        Task::Readme(args) => readme::run(&args),
    }
}
