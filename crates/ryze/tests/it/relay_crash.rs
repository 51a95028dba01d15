//! Issue-4's hardest promise, end to end with the real binary: `ryze api` and
//! `ryze bridge` as separate processes, each with its own database, 1,000 WhatsApp
//! messages in 10 chats streaming in while the bridge is killed with SIGKILL and
//! restarted, and while Chatwoot stops answering for a while. Every message must land in
//! Chatwoot exactly once, and in order within its chat — also when Chatwoot carries out
//! a write whose answer is then lost.

use std::time::Duration;

use crate::support::product::ENGINE_TOKEN;
use crate::support::split::{assert_each_landed_once_in_order, wait_for_relayed, SplitDeployment};
use chatwoot_simulator::Faults;
use engine_simulator::script::Contact;
use engine_simulator::{EngineSimulator, EngineSimulatorSettings};

const CHATS: usize = 10;
const MESSAGES: usize = 1_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_bridge_and_a_chatwoot_outage_lose_and_duplicate_nothing() {
    let engine = EngineSimulator::start(EngineSimulatorSettings::new(ENGINE_TOKEN))
        .await
        .unwrap();
    let engine_url = engine.base_url();
    let mut deployment = SplitDeployment::start(
        engine,
        engine_url,
        &[
            ("RYZE__BRIDGE_SERVICE__RELAY_RETRY_MAX_DELAY_SECS", "1"),
            ("RYZE__BRIDGE_SERVICE__RECONNECT_MAX_DELAY_SECS", "1"),
        ],
    )
    .await;
    // One write in twenty is carried out by Chatwoot but its answer is lost (a 504 from
    // the proxy): the bridge must check before writing again.
    deployment.chatwoot.set_faults(Faults {
        lost_response_share: 0.05,
        ..Faults::default()
    });

    // The stream: message n goes to chat n % 10 and says which it is.
    let script = deployment.engine.script(deployment.instance_id.clone());
    let people: Vec<Contact> = (0..CHATS)
        .map(|chat| Contact::new(format!("Cliente {chat}"), &format!("55119876500{chat:02}")))
        .collect();
    let events: Vec<_> = (0..MESSAGES)
        .map(|n| {
            let chat = n % CHATS;
            script
                .text(
                    &people[chat],
                    format!("chat {chat} message {:04}", n / CHATS),
                )
                .build()
        })
        .collect();
    let publisher = deployment
        .engine
        .publisher(&deployment.api_url, ENGINE_TOKEN)
        .unwrap();
    let publishing = tokio::spawn(async move {
        for event in &events {
            let answer = publisher.publish(event).await.unwrap();
            assert!(answer.is_stored(), "{answer:?}");
        }
    });

    // Kill the bridge mid-stream, without warning, and start it again.
    wait_for_relayed(&deployment.chatwoot, 150).await;
    deployment.kill_bridge(); // SIGKILL
    tokio::time::sleep(Duration::from_millis(300)).await;
    deployment.start_bridge().await;

    // Later, Chatwoot goes away for two seconds.
    wait_for_relayed(&deployment.chatwoot, 500).await;
    deployment.chatwoot.refuse_connections().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    deployment.chatwoot.accept_connections().unwrap();

    publishing.await.unwrap();
    wait_for_relayed(&deployment.chatwoot, MESSAGES).await;
    // Let anything still in flight land, so a late duplicate would be seen.
    tokio::time::sleep(Duration::from_millis(500)).await;
    deployment.stop_bridge();

    let store = deployment.chatwoot.snapshot();
    assert_each_landed_once_in_order(&store, CHATS, MESSAGES / CHATS);
    assert_eq!(store.contacts.len(), CHATS, "one contact per person");
    assert_eq!(
        store.conversations.len(),
        CHATS,
        "one conversation per chat"
    );
}
