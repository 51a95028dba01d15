//! `cargo xtask ci`: everything CI checks, in order, stopping at the first failure:
//! formatting, the tidy rules (`cargo xtask tidy`), clippy and rustdoc with warnings
//! denied, a short fuzz pass (`cargo xtask fuzz`, a few seconds per target), the bench's
//! smoke run (`cargo xtask bench --quick`: that it runs, never its numbers), schemathesis
//! against the running server (`cargo xtask schemathesis`), the README's "Run it by hand"
//! walked through as written on the debug binaries (`cargo xtask readme`), then the test
//! command
//! (`cargo xtask test`), last so that its summary closes the output.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use crate::bench::{self, BenchArgs};
use crate::fuzz::{self, FuzzArgs};
use crate::readme::{self, ReadmeArgs};
use crate::schemathesis::{self, SchemathesisArgs};
use crate::test_run::{self, TestArgs};
use crate::{tidy_command, util};

/// How long CI fuzzes each target: a smoke pass that the seeds and the targets still
/// run; longer runs are `cargo xtask fuzz --seconds N` by hand.
const CI_FUZZ_SECONDS_PER_TARGET: u64 = 5;

/// Examples schemathesis generates per operation in CI: about a minute in all.
const CI_SCHEMATHESIS_EXAMPLES: u32 = 25;

struct Step {
    name: &'static str,
    /// What runs, for the header.
    what: &'static str,
    run: Box<dyn Fn() -> Result<u8>>,
}

/// Runs the CI steps; fails naming the first step that failed.
pub(crate) fn run(test_args: &TestArgs) -> Result<()> {
    let test_args = test_args.clone();
    let steps = [
        Step {
            name: "fmt",
            what: "cargo fmt --all -- --check",
            run: Box::new(|| cargo(&["fmt", "--all", "--", "--check"])),
        },
        Step {
            name: "tidy",
            what: "cargo xtask tidy",
            run: Box::new(tidy_command::run),
        },
        Step {
            name: "clippy",
            what: "cargo clippy --workspace --all-targets -- -D warnings",
            run: Box::new(|| {
                cargo(&[
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--",
                    "-D",
                    "warnings",
                ])
            }),
        },
        Step {
            name: "doc",
            what: "RUSTDOCFLAGS='-D warnings' cargo doc --workspace --no-deps",
            run: Box::new(|| {
                let status = util::run_inherited(
                    util::cargo()
                        .args(["doc", "--workspace", "--no-deps"])
                        .env("RUSTDOCFLAGS", "-D warnings"),
                )?;
                Ok(util::exit_code(status))
            }),
        },
        Step {
            name: "fuzz",
            what: "cargo xtask fuzz --seconds 5",
            run: Box::new(|| {
                fuzz::run(&FuzzArgs {
                    seconds: CI_FUZZ_SECONDS_PER_TARGET,
                    target: None,
                })
            }),
        },
        Step {
            name: "bench",
            what: "cargo xtask bench --quick",
            run: Box::new(|| {
                bench::run(&BenchArgs {
                    quick: true,
                    backend: None,
                    idle_integrations: None,
                })
            }),
        },
        Step {
            name: "schemathesis",
            what: "cargo xtask schemathesis",
            run: Box::new(|| {
                schemathesis::run(&SchemathesisArgs {
                    max_examples: CI_SCHEMATHESIS_EXAMPLES,
                })
            }),
        },
        Step {
            name: "readme",
            what: "cargo xtask readme",
            run: Box::new(|| readme::run(&ReadmeArgs { release: false })),
        },
        Step {
            name: "test",
            what: "cargo xtask test",
            run: Box::new(move || test_run::run(&test_args)),
        },
    ];

    let count = steps.len();
    for (index, step) in steps.iter().enumerate() {
        util::bail_if_interrupted()?;
        println!(
            "\n==> ci step {}/{count}: {} ({})",
            index + 1,
            step.name,
            step.what
        );
        let started = Instant::now();
        let result = (step.run)();
        let took = seconds(started.elapsed());
        match result {
            // Nothing is printed after the last step: CI reads the test runner's
            // summary from the closing lines of the output.
            Ok(0) if index + 1 < count => println!("<== {} passed in {took}", step.name),
            Ok(0) => {}
            Ok(code) => bail!(
                "ci step `{}` failed (exit code {code}) after {took}: `{}`",
                step.name,
                step.what
            ),
            Err(error) => bail!("ci step `{}` failed after {took}: {error:#}", step.name),
        }
    }
    Ok(())
}

fn cargo(args: &[&str]) -> Result<u8> {
    let status = util::run_inherited(util::cargo().args(args))?;
    Ok(util::exit_code(status))
}

fn seconds(duration: Duration) -> String {
    format!("{:.1}s", duration.as_secs_f64())
}
