//! The `chatwoot-simulator` binary: runs the simulator on a fixed address for
//! demos and manual testing, optionally seeding account 1 with an
//! administrator whose access token is given on the command line.
#![allow(clippy::print_stdout)]

use chatwoot_simulator::{Role, SeedAccount, SeedUser, SimulatorServer, SimulatorSettings};
use clap::Parser;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

/// Command-line options.
#[derive(Debug, Parser)]
#[command(
    name = "chatwoot-simulator",
    about = "A faithful Chatwoot Application API simulator"
)]
struct Options {
    /// Address to listen on.
    #[arg(
        long,
        default_value = "127.0.0.1:3000",
        env = "CHATWOOT_SIMULATOR_LISTEN"
    )]
    listen: SocketAddr,
    /// Create account 1 and an administrator with this access token.
    #[arg(long, env = "CHATWOOT_SIMULATOR_SEED_ADMIN_TOKEN")]
    seed_admin_token: Option<String>,
    /// Name of the seeded account.
    #[arg(long, default_value = "Demo Account")]
    seed_account_name: String,
    /// Base URL used in attachment links (defaults to the listen address).
    #[arg(long)]
    public_base_url: Option<String>,
    /// Worker threads.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Webhook timeout in seconds.
    #[arg(long, default_value_t = 5)]
    webhook_timeout_secs: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let options = Options::parse();
    match run(options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "chatwoot-simulator failed");
            ExitCode::FAILURE
        }
    }
}

async fn run(options: Options) -> Result<(), chatwoot_simulator::SimulatorError> {
    let handle = SimulatorServer::start(SimulatorSettings {
        listen: options.listen,
        workers: options.workers,
        public_base_url: options.public_base_url,
        webhook_timeout: Duration::from_secs(options.webhook_timeout_secs),
    })
    .await?;
    if let Some(token) = options.seed_admin_token {
        let account = handle.seed_account(SeedAccount {
            id: Some(1),
            name: options.seed_account_name,
        })?;
        let admin = handle.seed_user(SeedUser {
            name: "Demo Admin".into(),
            email: "admin@example.com".into(),
            access_token: Some(token),
            account_id: Some(account.id),
            role: Some(Role::Administrator),
        })?;
        tracing::info!(
            account_id = account.id,
            user_id = admin.id,
            "seeded account and administrator"
        );
    }
    tracing::info!(base_url = %handle.base_url(), "chatwoot-simulator listening");
    if let Err(error) = tokio::signal::ctrl_c().await {
        tracing::warn!(%error, "could not wait for Ctrl-C; stopping");
    }
    handle.stop().await;
    Ok(())
}
