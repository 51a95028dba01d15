//! Bridge nodes sharing the integrations by lease (`docs/running-several-nodes.md`, "The
//! bridge"): `ryze api` and two `ryze bridge` processes of the real binary on one
//! PostgreSQL database, four integrations. One bridge node is killed with SIGKILL
//! mid-stream: every message lands once and in order per chat, its integrations move to
//! the other node within 15 s, and an agent's reply after the failover reaches WhatsApp
//! once.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use chatwoot_simulator::AgentReply;
use engine_simulator::script::Contact;
use engine_simulator::{EngineSimulator, EngineSimulatorSettings};
use ryze_ports::{BridgeIntegrationStore, IntegrationLeases, LeaseHolder};
use ryze_store_postgres::test_support::TestDatabase;
use ryze_store_postgres::{PostgresSettings, PostgresStore};

use crate::support::product::{relayed, ENGINE_TOKEN};
use crate::support::split::SplitDeployment;

const CHATS_PER_INSTANCE: usize = 2;
const MESSAGES_PER_CHAT: usize = 30;
const INSTANCES: [&str; 4] = ["loja", "loja2", "loja3", "loja4"];

/// Every integration's lease holder (the node id), when every lease is live.
async fn live_holders(store: &PostgresStore) -> Option<BTreeMap<String, String>> {
    let mut holders = BTreeMap::new();
    for integration in store.list_bridge_integrations().await.unwrap() {
        match store.held_by(&integration.id).await.unwrap() {
            Some(LeaseHolder {
                node, live: true, ..
            }) => {
                holders.insert(integration.id.as_str().to_owned(), node);
            }
            _ => return None,
        }
    }
    Some(holders)
}

/// Polls until `condition` holds for the live holders; returns them.
async fn wait_for_holders(
    store: &PostgresStore,
    within: Duration,
    what: &str,
    condition: impl Fn(&BTreeMap<String, String>) -> bool,
) -> BTreeMap<String, String> {
    let deadline = Instant::now() + within;
    loop {
        let holders = live_holders(store).await;
        if let Some(holders) = holders.filter(|holders| condition(holders)) {
            return holders;
        }
        assert!(Instant::now() < deadline, "{what}: never happened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn nodes_of(holders: &BTreeMap<String, String>) -> BTreeSet<&String> {
    holders.values().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bridge_node_killed_mid_stream_hands_its_integrations_over_and_loses_or_duplicates_nothing(
) {
    let database = TestDatabase::create().await;
    let engine = EngineSimulator::start(EngineSimulatorSettings::new(ENGINE_TOKEN))
        .await
        .unwrap();
    let engine_url = engine.base_url();
    let mut deployment = SplitDeployment::start(
        engine,
        engine_url,
        &[
            ("DATABASE_URL", &database.url),
            ("RYZE__BRIDGE_SERVICE__RELAY_RETRY_MAX_DELAY_SECS", "1"),
            ("RYZE__BRIDGE_SERVICE__RECONNECT_MAX_DELAY_SECS", "1"),
        ],
    )
    .await;
    let mut instance_ids = vec![deployment.instance_id.clone()];
    for name in &INSTANCES[1..] {
        instance_ids.push(deployment.activate(name).await);
    }
    let store = PostgresStore::connect(&PostgresSettings {
        url: database.url.clone(),
        max_connections: 2,
        connect_timeout: Duration::from_secs(10),
    })
    .await
    .unwrap();

    // The second node takes its share: two integrations each.
    let other_node = deployment.start_another_bridge().await;
    let shared = wait_for_holders(
        &store,
        Duration::from_secs(60),
        "two nodes share",
        |holders| holders.len() == INSTANCES.len() && nodes_of(holders).len() == 2,
    )
    .await;
    let per_node: HashMap<&String, usize> =
        shared.values().fold(HashMap::new(), |mut counts, node| {
            *counts.entry(node).or_default() += 1;
            counts
        });
    assert!(
        per_node.values().all(|count| *count == 2),
        "a fair share each: {shared:?}"
    );

    // The stream: message n of chat c of instance i says which it is.
    let mut events = Vec::new();
    for (index, instance_id) in instance_ids.iter().enumerate() {
        let script = deployment.engine.script(instance_id.clone());
        for chat in 0..CHATS_PER_INSTANCE {
            let person = Contact::new(
                format!("Cliente {index}-{chat}"),
                &format!("5511987{index:02}00{chat:02}"),
            );
            for n in 0..MESSAGES_PER_CHAT {
                events.push(
                    script
                        .text(&person, format!("i{index} c{chat} m{n:03}"))
                        .build(),
                );
            }
        }
    }
    // Interleave the instances so every node is busy when one dies.
    let total = events.len();
    let per_instance = total / INSTANCES.len();
    let mut interleaved = Vec::with_capacity(total);
    for n in 0..per_instance {
        for instance in 0..INSTANCES.len() {
            interleaved.push(events[instance * per_instance + n].clone());
        }
    }
    let publisher = deployment
        .engine
        .publisher(&deployment.api_url, ENGINE_TOKEN)
        .unwrap();
    let publishing = tokio::spawn(async move {
        for event in &interleaved {
            let answer = publisher.publish(event).await.unwrap();
            assert!(answer.is_stored(), "{answer:?}");
        }
    });

    // Kill the second node mid-stream, without warning.
    wait_until_relayed(&deployment, total / 4).await;
    let killed_at = Instant::now();
    other_node.kill(); // SIGKILL
    let survivor = wait_for_holders(
        &store,
        Duration::from_secs(30),
        "the survivor holds every lease",
        |holders| holders.len() == INSTANCES.len() && nodes_of(holders).len() == 1,
    )
    .await;
    let failover = killed_at.elapsed();
    eprintln!("bridge failover: every lease held by the survivor {failover:?} after SIGKILL");
    assert!(
        failover < Duration::from_secs(15),
        "the dead node's integrations moved after {failover:?}"
    );
    let moved: Vec<&String> = shared
        .iter()
        .filter(|(integration, node)| survivor[*integration] != **node)
        .map(|(integration, _)| integration)
        .collect();
    assert_eq!(moved.len(), 2, "the dead node's two integrations moved");

    publishing.await.unwrap();
    wait_until_relayed(&deployment, total).await;
    // Let anything still in flight land, so a late duplicate would be seen.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let snapshot = deployment.chatwoot.snapshot();
    let messages = relayed(&snapshot);
    let mut per_source: HashMap<&str, usize> = HashMap::new();
    for message in &messages {
        *per_source
            .entry(message.source_id.as_deref().unwrap())
            .or_default() += 1;
    }
    let duplicates: Vec<_> = per_source.iter().filter(|(_, count)| **count > 1).collect();
    assert!(
        duplicates.is_empty(),
        "duplicated in Chatwoot: {duplicates:?}"
    );
    assert_eq!(messages.len(), total, "every message exactly once");
    let mut per_conversation: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for message in &messages {
        per_conversation
            .entry(message.conversation_id)
            .or_default()
            .push(message.content.clone().unwrap_or_default());
    }
    assert_eq!(per_conversation.len(), INSTANCES.len() * CHATS_PER_INSTANCE);
    for contents in per_conversation.values() {
        let mut sorted = contents.clone();
        sorted.sort();
        assert_eq!(contents, &sorted, "a chat's messages arrived out of order");
        assert_eq!(contents.len(), MESSAGES_PER_CHAT);
    }

    // An agent answers in a conversation of an integration that moved: WhatsApp gets
    // it once, from the survivor.
    let moved_inbox = store
        .list_bridge_integrations()
        .await
        .unwrap()
        .into_iter()
        .find(|integration| moved.contains(&&integration.id.as_str().to_owned()))
        .and_then(|integration| integration.inbox_id)
        .unwrap();
    let conversation = snapshot
        .conversations
        .values()
        .find(|conversation| conversation.inbox_id == u64::try_from(moved_inbox).unwrap())
        .unwrap()
        .display_id;
    deployment
        .chatwoot
        .agent_reply(AgentReply {
            account_id: 1,
            conversation_id: conversation,
            user_id: deployment.admin.id,
            content: "Resposta depois da troca".to_owned(),
            private: false,
            content_attributes: None,
        })
        .unwrap();
    let sends = |commands: &[engine_simulator::ReceivedCommand]| {
        commands
            .iter()
            .filter(|command| {
                command
                    .text()
                    .is_some_and(|text| text.message == "Resposta depois da troca")
            })
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while sends(&deployment.engine.commands()) == 0 {
        assert!(
            Instant::now() < deadline,
            "the reply never reached WhatsApp"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sends(&deployment.engine.commands()), 1, "sent once");
    deployment.stop_bridge();
}

async fn wait_until_relayed(deployment: &SplitDeployment, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while relayed(&deployment.chatwoot.snapshot()).len() < count {
        assert!(
            Instant::now() < deadline,
            "only {} of {count} messages reached Chatwoot",
            relayed(&deployment.chatwoot.snapshot()).len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The stored text messages (in Chatwoot) whose content starts with `prefix`.
fn landed_with_prefix(deployment: &SplitDeployment, prefix: &str) -> Vec<String> {
    relayed(&deployment.chatwoot.snapshot())
        .into_iter()
        .filter_map(|message| message.content.clone())
        .filter(|content| content.starts_with(prefix))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bridge_node_paused_past_its_lease_relays_nothing_once_resumed_until_it_holds_the_lease_again(
) {
    let database = TestDatabase::create().await;
    let engine = EngineSimulator::start(EngineSimulatorSettings::new(ENGINE_TOKEN))
        .await
        .unwrap();
    let engine_url = engine.base_url();
    let mut deployment = SplitDeployment::start(
        engine,
        engine_url,
        &[
            ("DATABASE_URL", &database.url),
            ("RYZE__BRIDGE_SERVICE__LEASE_TTL_SECS", "3"),
            ("RYZE__BRIDGE_SERVICE__RELAY_RETRY_MAX_DELAY_SECS", "1"),
            ("RYZE__BRIDGE_SERVICE__RECONNECT_MAX_DELAY_SECS", "1"),
        ],
    )
    .await;
    let store = PostgresStore::connect(&PostgresSettings {
        url: database.url.clone(),
        max_connections: 2,
        connect_timeout: Duration::from_secs(10),
    })
    .await
    .unwrap();
    let integration = store.list_bridge_integrations().await.unwrap().remove(0);
    let maria = Contact::new("Maria Silva", "5511987654321");
    let script = deployment.engine.script(deployment.instance_id.clone());
    let publisher = deployment
        .engine
        .publisher(&deployment.api_url, ENGINE_TOKEN)
        .unwrap();

    // Relaying, under its lease.
    for n in 0..5 {
        let event = script.text(&maria, format!("before {n:02}")).build();
        assert!(publisher.publish(&event).await.unwrap().is_stored());
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while landed_with_prefix(&deployment, "before").len() < 5 {
        assert!(Instant::now() < deadline, "the bridge never relayed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let held = store.held_by(&integration.id).await.unwrap().unwrap();

    // Paused; events arrive meanwhile (the API pushes them into its open stream), and
    // another node takes the lease over once it expired.
    deployment.signal_bridge("STOP");
    for n in 0..10 {
        let event = script.text(&maria, format!("paused {n:02}")).build();
        assert!(publisher.publish(&event).await.unwrap().is_stored());
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let other = loop {
        if let Some(lease) = store
            .try_acquire(&integration.id, "another-node", Duration::from_secs(600))
            .await
            .unwrap()
        {
            break lease;
        }
        assert!(
            Instant::now() < deadline,
            "the paused node's lease never expired"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(other.epoch > held.epoch, "a new fencing epoch");

    // Resumed: the stream's events are in its hands, but the lease is not.
    deployment.signal_bridge("CONT");
    wait_until_ready_again(&deployment).await;
    // Two passes of its lease loop (a third of the TTL each) and time to relay.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        landed_with_prefix(&deployment, "paused"),
        Vec::<String>::new(),
        "the resumed node relayed without holding the lease"
    );
    assert_eq!(
        store.held_by(&integration.id).await.unwrap().unwrap().node,
        "another-node"
    );

    // The other node lets go: the bridge takes the lease again and relays each once.
    store.release(&other).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while landed_with_prefix(&deployment, "paused").len() < 10 {
        assert!(
            Instant::now() < deadline,
            "only {:?} relayed after the lease came back",
            landed_with_prefix(&deployment, "paused")
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let paused = landed_with_prefix(&deployment, "paused");
    let expected: Vec<String> = (0..10).map(|n| format!("paused {n:02}")).collect();
    assert_eq!(paused, expected, "each once, in order");
    assert_eq!(landed_with_prefix(&deployment, "before").len(), 5);
    deployment.stop_bridge();
}

/// Waits until the bridge answers its readiness probe (after `SIGCONT`).
async fn wait_until_ready_again(deployment: &SplitDeployment) {
    crate::support::split::wait_until_ready(&deployment.client, &deployment.bridge_url).await;
}
