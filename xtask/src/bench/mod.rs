//! `cargo xtask bench`: the throughput and cost figures P0–P5 (`docs/benchmarks.md`),
//! side by side on SQLite and on PostgreSQL, in one run.
//!
//! It builds `ryze` (release, the production features) and the Chatwoot simulator
//! (release), starts each as a child process (`ryze serve` over a fresh database), and
//! drives the engine's side itself: 16 instances × 5 chats posting events as
//! `docs/engine-contract.md` says. So that the load generator is optimized code too, a
//! full run made by the debug xtask (`cargo xtask` is a debug build) runs itself again
//! as a release build (`cargo run --release -p xtask -- bench …`). It writes
//! `target/bench/report.md` and `target/bench/figures.svg` and prints the ratios.
//! `--quick` is the smoke run CI makes, all in the debug profile: it checks that the
//! bench runs, never its numbers (speed is never asserted by a test).

mod chatwoot_process;
mod database;
mod figures;
mod plot;
mod report;
mod ryze_process;
mod scenario;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};

use crate::{postgres, util};

/// Options of `cargo xtask bench`.
#[derive(Args, Debug, Clone)]
pub(crate) struct BenchArgs {
    /// A smoke run of a few seconds on the debug build: checks that the bench works;
    /// its numbers mean nothing.
    #[arg(long)]
    pub quick: bool,
    /// Measure only this backend (default: both).
    #[arg(long, value_enum)]
    pub backend: Option<Backend>,
    /// Integrations activated for P4 (default 1000; 16 with --quick).
    #[arg(long)]
    pub idle_integrations: Option<usize>,
}

/// A database the server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub(crate) fn title(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        })
    }
}

/// How much each phase sends.
#[derive(Debug, Clone)]
pub(crate) struct Sizes {
    pub instances: usize,
    pub chats_per_instance: usize,
    /// P1: messages per chat (after one warm-up message per chat).
    pub messages_per_chat: usize,
    /// P0: messages each of the `instances` workers posts to the simulator.
    pub direct_messages_per_worker: usize,
    /// P3: how long the paced load lasts, and at most how many messages it sends.
    pub latency_seconds: f64,
    pub latency_max_messages: usize,
    /// P5: how long the `list` load lasts.
    pub list_duration: Duration,
    /// P4: idle integrations activated.
    pub idle_integrations: usize,
}

impl Sizes {
    fn for_args(args: &BenchArgs) -> Sizes {
        let mut sizes = if args.quick {
            Sizes {
                instances: 16,
                chats_per_instance: 5,
                messages_per_chat: 2,
                direct_messages_per_worker: 5,
                latency_seconds: 1.0,
                latency_max_messages: 64,
                list_duration: Duration::from_millis(500),
                idle_integrations: 16,
            }
        } else {
            Sizes {
                instances: 16,
                chats_per_instance: 5,
                messages_per_chat: 40,
                direct_messages_per_worker: 250,
                latency_seconds: 8.0,
                latency_max_messages: 3000,
                list_duration: Duration::from_secs(5),
                idle_integrations: 1000,
            }
        };
        if let Some(count) = args.idle_integrations {
            sizes.idle_integrations = count.max(1);
        }
        sizes
    }
}

/// The binaries under measurement.
pub(crate) struct Binaries {
    pub ryze: PathBuf,
    pub chatwoot_simulator: PathBuf,
}

/// Runs the bench; 0 when every backend was measured (whatever the numbers).
pub(crate) fn run(args: &BenchArgs) -> Result<u8> {
    if !args.quick && cfg!(debug_assertions) {
        return run_as_release_build(args);
    }
    let sizes = Sizes::for_args(args);
    let (binaries, build) = build_binaries(args.quick)?;
    let backends = match args.backend {
        Some(backend) => vec![backend],
        None => vec![Backend::Sqlite, Backend::Postgres],
    };
    let postgres = if backends.contains(&Backend::Postgres) {
        let server = postgres::provide(false)?;
        println!("xtask bench: PostgreSQL: {}", server.description);
        Some(server)
    } else {
        None
    };
    let output = target_dir().join("bench");
    let scratch = output.join("scratch");
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch)
            .with_context(|| format!("emptying {}", scratch.display()))?;
    }
    std::fs::create_dir_all(&scratch)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the bench's runtime")?;
    let mut results = Vec::new();
    for backend in backends {
        util::bail_if_interrupted()?;
        println!("xtask bench: measuring on {}", backend.title());
        let figures = runtime.block_on(figures::measure(
            backend,
            &binaries,
            postgres.as_ref().map(|server| server.url.as_str()),
            &sizes,
            &scratch,
        ))?;
        if !figures.relayed_once_in_order {
            bail!(
                "on {}, relayed messages were lost, duplicated or reordered",
                backend.title()
            );
        }
        results.push(figures);
    }
    drop(runtime);
    drop(postgres);

    let report_path = output.join("report.md");
    std::fs::write(
        &report_path,
        report::markdown(&results, &sizes, args.quick, &build),
    )
    .with_context(|| format!("writing {}", report_path.display()))?;
    let plot_path = output.join("figures.svg");
    plot::write(&plot_path, &results)?;
    std::fs::remove_dir_all(&scratch).ok();
    println!();
    for figures in &results {
        println!("xtask bench: {}", report::summary_line(figures));
    }
    println!(
        "xtask bench: wrote {} and {}",
        report_path.display(),
        plot_path.display()
    );
    Ok(0)
}

/// The target directory (`CARGO_TARGET_DIR`, else `target/` in the workspace).
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| util::project_root().join("target"))
}

/// A full run from a debug xtask: the same command again, as a release build of
/// xtask, so that the engine's side and the load generators are optimized code.
fn run_as_release_build(args: &BenchArgs) -> Result<u8> {
    let mut rerun = util::cargo();
    rerun.args([
        "run",
        "--quiet",
        "--release",
        "--package",
        "xtask",
        "--",
        "bench",
    ]);
    if let Some(backend) = args.backend {
        rerun.args(["--backend", &backend.to_string()]);
    }
    if let Some(count) = args.idle_integrations {
        rerun.args(["--idle-integrations", &count.to_string()]);
    }
    println!("xtask bench: building and running the bench driver in release");
    let status = util::run_inherited(&mut rerun)?;
    Ok(util::exit_code(status))
}

/// Builds `ryze` and the Chatwoot simulator (release; `--quick`: debug), one cargo
/// call each so that neither changes the other's features; returns their paths and
/// a description of the build for the report.
fn build_binaries(quick: bool) -> Result<(Binaries, String)> {
    let (profile, description) = if quick {
        (
            "debug",
            "debug builds, ryze with the default features (`--quick`)",
        )
    } else {
        (
            "release",
            "release builds: ryze with the production features, the Chatwoot simulator, the bench driver",
        )
    };
    println!("xtask bench: building ryze and the Chatwoot simulator ({profile})");
    for (package, production_features) in [("ryze", true), ("chatwoot-simulator", false)] {
        let mut build = util::cargo();
        build.args(["build", "--package", package, "--bin", package]);
        if !quick {
            build.arg("--release");
            if production_features {
                build.arg("--no-default-features");
            }
        }
        let status = util::run_inherited(&mut build)?;
        if !status.success() {
            bail!("`{}` failed ({status})", util::display_command(&build));
        }
    }
    let directory = target_dir().join(profile);
    Ok((
        Binaries {
            ryze: directory.join("ryze"),
            chatwoot_simulator: directory.join("chatwoot-simulator"),
        },
        description.to_owned(),
    ))
}
