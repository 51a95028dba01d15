//! `ryze`: the RyzeAPI control plane with its Chatwoot module.
//!
//! `ryze serve` runs the API and the bridge on the embedded default (SQLite file under
//! `./data/`, API on 127.0.0.1:8080, bridge on 127.0.0.1:8081) with no other service
//! needed. See `ryze --help`.
#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use ryze::settings::{self, LogFormat, Settings};
use ryze::telemetry::{TracedService, Traces};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

#[derive(Parser)]
#[command(
    name = "ryze",
    version,
    about = "RyzeAPI control plane and its Chatwoot integration"
)]
struct Cli {
    /// A TOML settings file (default: ./ryze.toml when present).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API and the bridge in one process (the embedded default).
    Serve,
    /// Run the API alone, using the bridge at BRIDGE_URL.
    Api,
    /// Run the bridge alone (RyzeIntegrations), for an API configured with its URL.
    Bridge,
    /// Apply pending database migrations.
    Migrate,
    /// Play the whole product on loopback: API, bridge, and Chatwoot and WhatsApp
    /// simulators, with a short conversation both ways printed step by step (not in the
    /// production build, which leaves the simulators out).
    Demo,
    /// Manage accounts.
    Account {
        #[command(subcommand)]
        command: AccountCommand,
    },
    /// Manage the master keys that seal stored secrets.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// GET a probe and exit 0 when it answers 2xx within the timeout, 1 otherwise: the
    /// container image's HEALTHCHECK (the image has no curl). Reads no settings.
    Healthcheck {
        /// The probe, e.g. http://127.0.0.1:8080/healthz.
        #[arg(long)]
        url: String,
        /// Seconds to wait for the whole answer.
        #[arg(long, default_value_t = 5)]
        timeout_secs: u64,
    },
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Create an account and print its TokenAccount (shown once).
    Create {
        #[arg(long)]
        name: String,
        /// Most instances the account may have (default: unlimited).
        #[arg(long)]
        instance_quota: Option<u32>,
        /// Print the account as one JSON object (`id`, `name`, `instanceQuota`, `token`).
        #[arg(long, conflicts_with = "quiet")]
        json: bool,
        /// Print the TokenAccount alone, for `TOKEN_ACCOUNT=$(ryze account create … --quiet)`.
        #[arg(long)]
        quiet: bool,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Print a new random master key (base64) for RYZE_MASTER_KEY.
    Generate,
    /// Re-seal every stored secret under the current master key.
    Rotate,
}

/// Libraries that log whole frames or headers at debug/trace level: the bridge token
/// travels in the event stream's upgrade request and customers' media in its frames, so
/// they are capped whatever `RUST_LOG` says.
const NEVER_VERBOSE: [&str; 2] = ["tungstenite=info", "tokio_tungstenite=info"];

/// `filter` with the libraries of [`NEVER_VERBOSE`] capped.
fn capped(mut filter: EnvFilter) -> EnvFilter {
    for directive in NEVER_VERBOSE {
        if let Ok(directive) = directive.parse() {
            filter = filter.add_directive(directive);
        }
    }
    filter
}

/// Starts logging to stderr and, when `OTEL_EXPORTER_OTLP_ENDPOINT` is set and `traced`
/// names the service this command runs, exporting its spans (returned, to flush on exit).
/// The log filter (`RUST_LOG`) is the log's only: traces take every `info` span, however
/// quiet the log is.
fn init_logging(
    settings: &Settings,
    default_filter: &str,
    traced: Option<TracedService>,
) -> anyhow::Result<Option<Traces>> {
    let filter = capped(
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter)),
    );
    let traces = match traced {
        Some(service) => Traces::start(&settings.traces, service)?,
        None => None,
    };
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = match settings.log.format {
        LogFormat::Json => fmt.json().with_filter(filter).boxed(),
        LogFormat::Pretty => fmt.with_filter(filter).boxed(),
    };
    let traced_spans = traces
        .as_ref()
        .map(|traces| traces.layer().with_filter(capped(EnvFilter::new("info"))));
    tracing_subscriber::registry()
        .with(fmt)
        .with(traced_spans)
        .init();
    Ok(traces)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        // A probe of a running server: no settings to read, nothing to log.
        Command::Healthcheck { url, timeout_secs } => {
            ryze::commands::healthcheck(&url, Duration::from_secs(timeout_secs)).await
        }
        command => run_with_settings(cli.config.as_deref(), command).await,
    }
}

async fn run_with_settings(config: Option<&Path>, command: Command) -> anyhow::Result<()> {
    let settings = settings::load(config)?;
    // The demo prints its own story; only problems are logged.
    let default_filter = match command {
        Command::Demo => "warn",
        _ => settings.log.filter.as_str(),
    };
    let traced = match command {
        Command::Serve => Some(TracedService::Both),
        Command::Api => Some(TracedService::Api),
        Command::Bridge => Some(TracedService::Bridge),
        _ => None,
    };
    let traces = init_logging(&settings, default_filter, traced)?;
    let outcome = run_command(&settings, command).await;
    if let Some(traces) = traces {
        traces.shutdown().await;
    }
    outcome
}

async fn run_command(settings: &Settings, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Demo => run_demo().await,
        Command::Serve => ryze::commands::serve(settings).await,
        Command::Api => ryze::commands::serve_api(settings).await,
        Command::Bridge => ryze::commands::serve_bridge(settings).await,
        Command::Migrate => ryze::commands::migrate(settings).await,
        Command::Account {
            command:
                AccountCommand::Create {
                    name,
                    instance_quota,
                    json,
                    quiet,
                },
        } => {
            let output = if json {
                ryze::commands::AccountOutput::Json
            } else if quiet {
                ryze::commands::AccountOutput::TokenOnly
            } else {
                ryze::commands::AccountOutput::Text
            };
            ryze::commands::create_account(settings, &name, instance_quota, output).await
        }
        Command::Keys {
            command: KeysCommand::Generate,
        } => ryze::commands::generate_key(),
        Command::Keys {
            command: KeysCommand::Rotate,
        } => ryze::commands::rotate_keys(settings).await,
        Command::Healthcheck { url, timeout_secs } => {
            ryze::commands::healthcheck(&url, Duration::from_secs(timeout_secs)).await
        }
    }
}

/// `ryze demo`, in a build with the `demo` feature (the default).
#[cfg(feature = "demo")]
async fn run_demo() -> anyhow::Result<()> {
    ryze::demo::run().await
}

/// `ryze demo` in the production build: says how to get a build that has it.
#[cfg(not(feature = "demo"))]
async fn run_demo() -> anyhow::Result<()> {
    anyhow::bail!(ryze::DEMO_NOT_IN_THIS_BUILD)
}

#[actix_web::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
