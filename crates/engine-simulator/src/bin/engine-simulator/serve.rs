//! `engine-simulator serve`: runs the command endpoints until Ctrl-C, printing one line
//! per command received (media bytes shown as their length), and optionally echoing
//! the messages it sends back into the API as `outgoing` events.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use engine_simulator::{EngineSimulator, EngineSimulatorSettings, RetryPolicy};
use tokio::sync::broadcast::error::RecvError;

use crate::CliError;

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on (port 0 picks a free one; the first line printed says which).
    #[arg(
        long,
        default_value = "127.0.0.1:8090",
        env = "ENGINE_SIMULATOR_LISTEN"
    )]
    listen: SocketAddr,
    /// The shared secret the API presents (`Authorization: Bearer …`).
    #[arg(long, env = "ENGINE_TOKEN", hide_env_values = true)]
    engine_token: String,
    /// Instances answered `503 not_connected` (repeatable).
    #[arg(long = "disconnected", value_name = "INSTANCE_ID")]
    disconnected: Vec<String>,
    /// Instances answered `404 unknown_instance` (repeatable).
    #[arg(long = "unknown-instance", value_name = "INSTANCE_ID")]
    unknown_instances: Vec<String>,
    /// Phone numbers answered `422 not_on_whatsapp` (repeatable).
    #[arg(long = "not-on-whatsapp", value_name = "NUMBER")]
    not_on_whatsapp: Vec<String>,
    /// Publish every message sent back into this API as an `outgoing` event, as a real
    /// engine does.
    #[arg(long, value_name = "API_URL")]
    echo_api: Option<String>,
    /// Larger media are refused with `413 media_too_large`.
    #[arg(long, default_value_t = 16 * 1024 * 1024)]
    max_media_bytes: usize,
}

pub(crate) async fn run(args: ServeArgs) -> Result<ExitCode, CliError> {
    let mut settings = EngineSimulatorSettings::new(args.engine_token.clone());
    settings.listen = args.listen;
    settings.workers = 2;
    settings.max_media_bytes = args.max_media_bytes;
    settings.publish_retry = RetryPolicy {
        give_up_after: Some(Duration::from_secs(600)),
        ..RetryPolicy::contract()
    };
    let simulator = EngineSimulator::start(settings).await?;
    for instance in &args.disconnected {
        simulator.set_connected(instance, false);
    }
    for instance in &args.unknown_instances {
        simulator.forget_instance(instance);
    }
    for number in &args.not_on_whatsapp {
        simulator.mark_not_on_whatsapp(number);
    }
    if let Some(api) = &args.echo_api {
        simulator.echo_sends_to(simulator.publisher(api, &args.engine_token)?);
    }
    let mut commands = simulator.subscribe();
    println!("engine-simulator listening on {}", simulator.base_url());
    loop {
        tokio::select! {
            received = commands.recv() => match received {
                Ok(command) => println!("{}", command.summary()),
                Err(RecvError::Lagged(missed)) => println!("({missed} commands not shown)"),
                Err(RecvError::Closed) => break,
            },
            stop = tokio::signal::ctrl_c() => {
                if let Err(error) = stop {
                    eprintln!("cannot wait for Ctrl-C ({error}); stopping");
                }
                break;
            }
        }
    }
    simulator.stop().await;
    Ok(ExitCode::SUCCESS)
}
