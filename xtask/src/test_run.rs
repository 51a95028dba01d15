//! `cargo xtask test`: the project's test command. Provides a Postgres (see
//! [`crate::postgres`]), exports it as `TEST_DATABASE_URL`, checks the Redis of the rate
//! limiter tests (see [`crate::redis`]), exports it as `TEST_REDIS_URL`, checks the NATS
//! (JetStream) of the event hub's tests (see [`crate::nats`]), exports it as
//! `TEST_NATS_URL`, and runs the workspace tests
//! with cargo-nextest (`--profile ci` in CI), falling back to `cargo test` locally.

use std::process::Stdio;

use anyhow::{bail, Result};
use clap::Args;

use crate::nats::{self, TEST_NATS_URL};
use crate::postgres::{self, TEST_DATABASE_URL};
use crate::redis::{self, TEST_REDIS_URL};
use crate::util;

/// Options of `cargo xtask test` (also taken by `cargo xtask ci`).
#[derive(Args, Debug, Clone)]
pub(crate) struct TestArgs {
    /// Always start a throwaway Postgres cluster under target/xtask-postgres/, ignoring
    /// TEST_DATABASE_URL and any server on 127.0.0.1:5432.
    #[arg(long, env = "XTASK_FRESH_POSTGRES")]
    pub fresh_postgres: bool,

    /// Extra arguments for `cargo nextest run`, after `--`
    /// (e.g. `cargo xtask test -- -E 'test(foo)'`).
    #[arg(last = true, value_name = "NEXTEST_ARGS")]
    pub nextest_args: Vec<String>,
}

/// Runs the tests; returns the test runner's exit code (0 on success).
pub(crate) fn run(args: &TestArgs) -> Result<u8> {
    // Postgres first: it is the cheap check that most often fails, and installing
    // cargo-nextest (CI only) takes minutes.
    let pg = postgres::provide(args.fresh_postgres)?;
    println!("xtask: Postgres: {}", pg.description);
    let redis = redis::provide()?;
    println!("xtask: Redis: {}", redis.description);
    let nats = nats::provide()?;
    println!("xtask: NATS: {}", nats.description);
    let runner = Runner::find()?;
    util::bail_if_interrupted()?;

    let mut cmd = util::cargo();
    match runner {
        Runner::Nextest => {
            cmd.args(["nextest", "run", "--workspace"]);
            if util::is_ci() {
                cmd.args(["--profile", "ci"]);
            }
        }
        Runner::CargoTest => {
            cmd.args(["test", "--workspace"]);
        }
    }
    cmd.args(&args.nextest_args)
        .env(TEST_DATABASE_URL, &pg.url)
        .env(TEST_REDIS_URL, &redis.url)
        .env(TEST_NATS_URL, &nats.url)
        // Lets the xtask tests check that the database really reached the tests.
        .env("XTASK_TEST_RUN", "1");
    let status = util::run_inherited(&mut cmd)?;
    drop(pg); // Stop a throwaway cluster before reporting.
    Ok(util::exit_code(status))
}

enum Runner {
    Nextest,
    CargoTest,
}

impl Runner {
    /// cargo-nextest if installed; in CI it is installed when missing, locally we fall
    /// back to `cargo test`.
    fn find() -> Result<Runner> {
        if nextest_installed() {
            return Ok(Runner::Nextest);
        }
        if util::is_ci() {
            eprintln!("xtask: cargo-nextest is not installed; CI=true, installing it");
            let mut install = util::cargo();
            install.args(["install", "cargo-nextest", "--locked"]);
            let status = util::run_inherited(&mut install)?;
            if !status.success() || !nextest_installed() {
                bail!(
                    "could not install cargo-nextest (`{}` exited with {status})",
                    util::display_command(&install)
                );
            }
            return Ok(Runner::Nextest);
        }
        eprintln!(
            "xtask: note: cargo-nextest is not installed, running `cargo test --workspace` instead \
             (install it with `cargo install cargo-nextest --locked`; extra arguments are passed \
             to `cargo test` unchanged, so nextest filters such as `-E` won't work)"
        );
        Ok(Runner::CargoTest)
    }
}

fn nextest_installed() -> bool {
    util::cargo()
        .args(["nextest", "--version"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
