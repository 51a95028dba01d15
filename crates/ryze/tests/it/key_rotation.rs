//! Key rotation end to end, as `docs/configuration.md` tells an operator to do it, with
//! the real binary: `ryze api` and `ryze bridge`, each with its own database. With the
//! new key set and the old one kept as previous, `ryze keys rotate` runs against each
//! database; both services then restart with the new key alone, and an inbound message
//! and an agent's reply still go through (the bridge's Chatwoot token and webhook secret
//! were re-sealed, not only the API's token). A service whose keys lack the key of a
//! stored secret refuses to start, naming it.

use std::time::Duration;

use crate::support::harness::free_port;
use crate::support::product::{ENGINE_TOKEN, MASTER_KEY};
use crate::support::split::{Service, SplitDeployment};
use engine_simulator::script::Contact;
use engine_simulator::{EngineSimulator, EngineSimulatorSettings};
use ryze_vault::MasterKey;

const NEW_KEY: &str = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
const UNRELATED_KEY: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const WAIT: Duration = Duration::from_secs(30);

fn key_id(key: &str) -> String {
    MasterKey::parse(key).unwrap().id().to_string()
}

/// `ryze keys rotate` against `service`'s database; its standard output.
fn rotate(split: &SplitDeployment, service: Service) -> String {
    let output = split
        .run(service, &["keys", "rotate"], &[], WAIT)
        .expect("the rotation finishes");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Starting `args` as `service` (with `extra_env`) fails, and what it said on standard
/// error.
fn refused_start(
    split: &SplitDeployment,
    service: Service,
    args: &[&str],
    extra_env: &[(&str, String)],
) -> String {
    let output = split
        .run(service, args, extra_env, WAIT)
        .unwrap_or_else(|| panic!("`ryze {}` started instead of refusing", args.join(" ")));
    assert!(!output.status.success());
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn maria() -> Contact {
    Contact::new("Maria Silva", "5511987654321")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_rotating_both_databases_the_services_run_on_the_new_key_alone() {
    let engine = EngineSimulator::start(EngineSimulatorSettings::new(ENGINE_TOKEN))
        .await
        .unwrap();
    let engine_url = engine.base_url();
    let mut split = SplitDeployment::start(
        engine,
        engine_url,
        &[("RYZE__BRIDGE_SERVICE__RECONNECT_MAX_DELAY_SECS", "1")],
    )
    .await;
    let conversation = split.contact_writes(maria(), "Oi").await;

    // The documented procedure: the new key current, the old one previous, then one
    // rotation per database, the services still running.
    split.set_master_keys(NEW_KEY, MASTER_KEY);
    let api_report = rotate(&split, Service::Api);
    assert!(api_report.contains("re-sealed 1 secret(s)"), "{api_report}");
    assert!(
        api_report.contains("Chatwoot token (API): re-sealed 1,"),
        "{api_report}"
    );
    let bridge_report = rotate(&split, Service::Bridge);
    // The bridge's Chatwoot token, its webhook secret, and the inbox's signing secret it
    // learnt from Chatwoot.
    assert!(
        bridge_report.contains("re-sealed 3 secret(s)"),
        "{bridge_report}"
    );
    for line in [
        "Chatwoot token (bridge): re-sealed 1,",
        "webhook secret (bridge): re-sealed 1,",
        "webhook signing secret (bridge): re-sealed 1,",
    ] {
        assert!(bridge_report.contains(line), "{bridge_report}");
    }

    // The old key dropped: both services restart with the new key alone.
    split.set_master_keys(NEW_KEY, "");
    split.stop_api();
    split.kill_bridge();
    split.start_api().await;
    split.start_bridge().await;

    // Inbound: the restarted bridge opened the Chatwoot token to start its session.
    assert_eq!(
        split.contact_writes(maria(), "Ainda aí?").await,
        conversation
    );
    // Outbound: the webhook secret opened, so Chatwoot's webhook is accepted.
    split
        .agent_reply_reaches_whatsapp(conversation, "Sim, pode falar")
        .await;

    // A key ring without the stored secrets' key: every service refuses to start,
    // naming the key it lacks.
    split.stop_api();
    split.stop_bridge();
    split.set_master_keys(UNRELATED_KEY, "");
    let missing = format!("master key {}", key_id(NEW_KEY));
    // `ryze serve` on the bridge's database, on ports of its own.
    let serve_env = [
        ("RYZE_LISTEN", format!("127.0.0.1:{}", free_port())),
        ("BRIDGE_LISTEN", format!("127.0.0.1:{}", free_port())),
    ];
    for (service, args, extra_env) in [
        (Service::Api, "api", &[][..]),
        (Service::Bridge, "bridge", &[][..]),
        (Service::Bridge, "serve", &serve_env[..]),
    ] {
        let stderr = refused_start(&split, service, &[args], extra_env);
        assert!(
            stderr.contains(&missing) && stderr.contains("RYZE_PREVIOUS_MASTER_KEYS"),
            "`ryze {args}` as the {service:?}: {stderr}"
        );
    }
}
