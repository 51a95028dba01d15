//! Issue-4's hardest promise, end to end with the real binary: `ryze api` and
//! `ryze bridge` as separate processes, each with its own database, 1,000 WhatsApp
//! messages in 10 chats streaming in while the bridge is killed with SIGKILL and
//! restarted, and while Chatwoot stops answering for a while. Every message must land in
//! Chatwoot exactly once, and in order within its chat — also when Chatwoot carries out
//! a write whose answer is then lost.

use std::collections::{BTreeMap, HashMap};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chatwoot_simulator::store::Store;
use chatwoot_simulator::{Faults, Role, SeedAccount, SeedUser, SimulatorServer, SimulatorSettings};
use engine_simulator::script::Contact;
use engine_simulator::{EngineSimulator, EngineSimulatorSettings};
use serde_json::{json, Value};

const ADMIN_TOKEN: &str = "admin-access-token-1234";
const BRIDGE_TOKEN: &str = "bridge-token-for-the-crash-test-0123456789";
const ENGINE_TOKEN: &str = "engine-token-for-the-crash-test-0123456789";
const MASTER_KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const CHATS: usize = 10;
const MESSAGES: usize = 1_000;

/// Kills the process when the test ends, pass or fail.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn ryze(directory: &Path, env: &[(&str, String)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ryze"));
    command
        .current_dir(directory)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .env("RYZE_MASTER_KEY", MASTER_KEY)
        .env("BRIDGE_TOKEN", BRIDGE_TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

async fn wait_until_healthy(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(response) = client.get(format!("{base}/readyz")).send().await {
            if response.status() == 200 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{base} did not become ready within 30 s");
}

fn relayed(store: &Store) -> Vec<&chatwoot_simulator::model::Message> {
    store
        .messages
        .values()
        .filter(|message| message.source_id.is_some())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_bridge_and_a_chatwoot_outage_lose_and_duplicate_nothing() {
    let chatwoot = SimulatorServer::start(SimulatorSettings::default())
        .await
        .unwrap();
    chatwoot
        .seed_account(SeedAccount {
            id: Some(1),
            name: "Acme".to_owned(),
        })
        .unwrap();
    chatwoot
        .seed_user(SeedUser {
            name: "Ada Admin".to_owned(),
            email: "ada@acme.test".to_owned(),
            access_token: Some(ADMIN_TOKEN.to_owned()),
            account_id: Some(1),
            role: Some(Role::Administrator),
        })
        .unwrap();
    let engine = EngineSimulator::start(EngineSimulatorSettings::new(ENGINE_TOKEN))
        .await
        .unwrap();

    let api_directory = tempfile::tempdir().unwrap();
    let bridge_directory = tempfile::tempdir().unwrap();
    let api_url = format!("http://127.0.0.1:{}", free_port());
    let bridge_port = free_port();
    let bridge_url = format!("http://127.0.0.1:{bridge_port}");
    let api_env = vec![
        (
            "DATABASE_URL",
            format!("sqlite://{}", api_directory.path().join("api.db").display()),
        ),
        (
            "RYZE_LISTEN",
            api_url.trim_start_matches("http://").to_owned(),
        ),
        ("BRIDGE_URL", bridge_url.clone()),
        ("ENGINE_TOKEN", ENGINE_TOKEN.to_owned()),
        ("ENGINE_URL", engine.base_url()),
    ];
    let bridge_env = vec![
        (
            "DATABASE_URL",
            format!(
                "sqlite://{}",
                bridge_directory.path().join("bridge.db").display()
            ),
        ),
        ("BRIDGE_LISTEN", format!("127.0.0.1:{bridge_port}")),
        ("API_URL", api_url.clone()),
        (
            "RYZE__BRIDGE_SERVICE__RELAY_RETRY_MAX_DELAY_SECS",
            "1".to_owned(),
        ),
        (
            "RYZE__BRIDGE_SERVICE__RECONNECT_MAX_DELAY_SECS",
            "1".to_owned(),
        ),
    ];

    let created = ryze(api_directory.path(), &api_env)
        .args(["account", "create", "--name", "Acme"])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(created.status.success());
    let account_token = String::from_utf8(created.stdout)
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix("TokenAccount:"))
        .map(str::trim)
        .unwrap()
        .to_owned();

    let _api = Process(
        ryze(api_directory.path(), &api_env)
            .arg("api")
            .spawn()
            .unwrap(),
    );
    let mut bridge = Process(
        ryze(bridge_directory.path(), &bridge_env)
            .arg("bridge")
            .spawn()
            .unwrap(),
    );
    let client = reqwest::Client::new();
    wait_until_healthy(&client, &api_url).await;
    wait_until_healthy(&client, &bridge_url).await;

    let instance: Value = client
        .post(format!("{api_url}/api/instance/new"))
        .header("token", &account_token)
        .json(&json!({"name": "loja"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let instance_id = instance["data"]["id"].as_str().unwrap().to_owned();
    let activated = client
        .post(format!("{api_url}/api/chatwoot/set/loja"))
        .header("token", &account_token)
        .json(&json!({
            "chatwootBaseUrl": chatwoot.base_url(),
            "chatwootAccountId": 1,
            "chatwootApiToken": ADMIN_TOKEN,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(activated.status(), 201);
    // One write in twenty is carried out by Chatwoot but its answer is lost (a 504 from
    // the proxy): the bridge must check before writing again.
    chatwoot.set_faults(Faults {
        lost_response_share: 0.05,
        ..Faults::default()
    });

    // The stream: message n goes to chat n % 10 and says which it is.
    let script = engine.script(instance_id);
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
    let publisher = engine.publisher(&api_url, ENGINE_TOKEN).unwrap();
    let publishing = tokio::spawn(async move {
        for event in &events {
            let answer = publisher.publish(event).await.unwrap();
            assert!(answer.is_stored(), "{answer:?}");
        }
    });

    let wait_for = |count: usize| {
        let chatwoot = &chatwoot;
        async move {
            let deadline = Instant::now() + Duration::from_secs(120);
            while relayed(&chatwoot.snapshot()).len() < count {
                assert!(
                    Instant::now() < deadline,
                    "only {} of {count} messages reached Chatwoot",
                    relayed(&chatwoot.snapshot()).len()
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };

    // Kill the bridge mid-stream, without warning, and start it again.
    wait_for(150).await;
    bridge.0.kill().unwrap(); // SIGKILL
    bridge.0.wait().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    bridge = Process(
        ryze(bridge_directory.path(), &bridge_env)
            .arg("bridge")
            .spawn()
            .unwrap(),
    );

    // Later, Chatwoot goes away for two seconds.
    wait_for(500).await;
    chatwoot.refuse_connections().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    chatwoot.accept_connections().unwrap();

    publishing.await.unwrap();
    wait_for(MESSAGES).await;
    // Let anything still in flight land, so a late duplicate would be seen.
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(bridge);

    let store = chatwoot.snapshot();
    let messages = relayed(&store);
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
    assert_eq!(messages.len(), MESSAGES, "every message exactly once");
    assert_eq!(store.contacts.len(), CHATS, "one contact per person");
    assert_eq!(
        store.conversations.len(),
        CHATS,
        "one conversation per chat"
    );

    // In order within each chat (Chatwoot's ids grow with creation).
    let mut per_conversation: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for message in &messages {
        per_conversation
            .entry(message.conversation_id)
            .or_default()
            .push(message.content.clone().unwrap_or_default());
    }
    for contents in per_conversation.values() {
        let mut sorted = contents.clone();
        sorted.sort();
        assert_eq!(contents, &sorted, "a chat's messages arrived out of order");
        assert_eq!(contents.len(), MESSAGES / CHATS);
    }
}
