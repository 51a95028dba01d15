//! Issue 12's acceptance, deployed as an operator would (`docs/running-several-nodes.md`):
//! two `ryze api` and two `ryze bridge` processes of the real binary on one PostgreSQL
//! database, one NATS JetStream event hub (`EVENT_HUB_URL`) and one Redis (`REDIS_URL`),
//! each pair behind a round-robin TCP balancer ([`Balancer`]) that the engine, the
//! bridges (`API_URL`), the APIs (`BRIDGE_URL`) and Chatwoot's webhooks
//! (`BRIDGE_PUBLIC_URL`) go through. Leases last 3 s.
//!
//! - 1,000 messages over four instances land once and in order per chat while a bridge
//!   node and then an API node are killed, and an agent's reply afterwards reaches
//!   WhatsApp once;
//! - a token's 101st request in a minute, spread over both API nodes, is refused;
//! - a bridge node paused (`SIGSTOP`) past its lease is replaced by the other node, which
//!   relays what came meanwhile, and once resumed (its first renewal held up by a locked
//!   lease table) relays nothing of what the API had already pushed into its socket
//!   until it holds a lease again;
//! - NATS killed and restarted mid-stream loses and duplicates nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chatwoot_simulator::model::User;
use chatwoot_simulator::SimulatorHandle;
use engine_simulator::script::Contact;
use engine_simulator::{
    EngineSimulator, EngineSimulatorHandle, EngineSimulatorSettings, EventPublisher, RetryPolicy,
};
use reqwest::Method;
use ryze_api_rate_limit_redis::test_support::{redis_for_tests, unique_key_prefix};
use ryze_event_hub_nats::test_support::{test_hub, test_nats_url, unique_prefix, TestHub};
use ryze_ports::whatsapp_events::EventEnvelope;
use ryze_ports::{BridgeIntegrationStore, IntegrationLeases, LeaseHolder};
use ryze_store_postgres::test_support::TestDatabase;
use ryze_store_postgres::{PostgresSettings, PostgresStore};
use tempfile::TempDir;

use crate::support::assert_error;
use crate::support::balancer::Balancer;
use crate::support::harness::{agent_public_reply, free_port, printed_account_token};
use crate::support::product::{relayed, ENGINE_TOKEN};
use crate::support::split::{
    activate_integration, assert_each_landed_once_in_order, ryze, seeded_chatwoot,
    wait_for_relayed, wait_until_ready, Process,
};

/// The bridges' lease TTL: a dead or paused node's integrations move within about 4 s.
const LEASE_TTL_SECS: u64 = 3;

/// One process of a [`SeveralNodes`] pair and its own address.
struct Node {
    url: String,
    process: Option<Process>,
}

impl Node {
    fn process(&self) -> &Process {
        self.process.as_ref().expect("the node runs")
    }
}

/// Two API nodes and two bridge nodes, each pair behind its balancer, sharing one
/// PostgreSQL database, one event hub on NATS and one Redis, with the Chatwoot and engine
/// simulators in the test process.
struct SeveralNodes {
    chatwoot: SimulatorHandle,
    engine: EngineSimulatorHandle,
    admin: User,
    client: reqwest::Client,
    account_token: String,
    api_balancer: Balancer,
    api_nodes: Vec<Node>,
    bridge_nodes: Vec<Node>,
    /// The settings of the API nodes (without `RYZE_LISTEN`), for `ryze account create`.
    api_env: Vec<(&'static str, String)>,
    directory: TempDir,
    /// The shared database, read (never written) to see who holds which lease.
    store: PostgresStore,
    _bridge_balancer: Balancer,
    database: TestDatabase,
    _hub: Option<TestHub>,
}

impl SeveralNodes {
    /// Everything on the tests' NATS, under a prefix of this test's.
    async fn start() -> SeveralNodes {
        let hub = test_hub()
            .await
            .unwrap_or_else(|unavailable| panic!("{unavailable}"));
        let prefix = hub.prefix().to_owned();
        Self::start_on_nats(test_nats_url(), prefix, Some(hub)).await
    }

    /// Everything with the event hub on the NATS at `nats_url`, under `prefix`.
    async fn start_on_nats(nats_url: String, prefix: String, hub: Option<TestHub>) -> SeveralNodes {
        let redis_url = redis_for_tests()
            .await
            .unwrap_or_else(|unavailable| panic!("{unavailable}"));
        let database = TestDatabase::create().await;
        let (chatwoot, admin) = seeded_chatwoot().await;
        let engine = EngineSimulator::start(EngineSimulatorSettings {
            // An engine retries until its event is stored, through node deaths and NATS
            // restarts: past a minute, as an append cut off midway holds its event's id
            // claimed that long.
            publish_retry: RetryPolicy {
                first_delay: Duration::from_millis(50),
                max_delay: Duration::from_millis(500),
                give_up_after: Some(Duration::from_secs(120)),
            },
            ..EngineSimulatorSettings::new(ENGINE_TOKEN)
        })
        .await
        .unwrap();
        let api_addresses = [loopback_address(), loopback_address()];
        let bridge_addresses = [loopback_address(), loopback_address()];
        let api_balancer = Balancer::start(api_addresses.to_vec()).await;
        let bridge_balancer = Balancer::start(bridge_addresses.to_vec()).await;

        let shared = [
            ("DATABASE_URL", database.url.clone()),
            ("REDIS_URL", redis_url),
            ("RYZE__HTTP__WORKERS", "2".to_owned()),
        ];
        let mut api_env = vec![
            ("RYZE_PUBLIC_URL", api_balancer.url()),
            ("BRIDGE_URL", bridge_balancer.url()),
            ("ENGINE_TOKEN", ENGINE_TOKEN.to_owned()),
            ("ENGINE_URL", engine.base_url()),
            ("EVENT_HUB_URL", nats_url),
            ("EVENT_HUB_NATS_PREFIX", prefix),
        ];
        api_env.extend(shared.clone());
        let mut bridge_env = vec![
            ("API_URL", api_balancer.url()),
            ("BRIDGE_PUBLIC_URL", bridge_balancer.url()),
            (
                "RYZE__BRIDGE_SERVICE__CHATWOOT_BUDGET_KEY_PREFIX",
                unique_key_prefix(),
            ),
            (
                "RYZE__BRIDGE_SERVICE__LEASE_TTL_SECS",
                LEASE_TTL_SECS.to_string(),
            ),
            (
                "RYZE__BRIDGE_SERVICE__RELAY_RETRY_MAX_DELAY_SECS",
                "1".to_owned(),
            ),
            (
                "RYZE__BRIDGE_SERVICE__RECONNECT_MAX_DELAY_SECS",
                "1".to_owned(),
            ),
        ];
        bridge_env.extend(shared);

        let directory = tempfile::tempdir().unwrap();
        let spawn =
            |command: &str, listen: (&'static str, SocketAddr), env: &[(&'static str, String)]| {
                let mut env = env.to_vec();
                env.push((listen.0, listen.1.to_string()));
                Node {
                    url: format!("http://{}", listen.1),
                    process: Some(Process::spawn(ryze(directory.path(), &env).arg(command))),
                }
            };
        let api_nodes: Vec<Node> = api_addresses
            .iter()
            .map(|address| spawn("api", ("RYZE_LISTEN", *address), &api_env))
            .collect();
        let bridge_nodes: Vec<Node> = bridge_addresses
            .iter()
            .map(|address| spawn("bridge", ("BRIDGE_LISTEN", *address), &bridge_env))
            .collect();
        let client = reqwest::Client::new();
        for node in api_nodes.iter().chain(&bridge_nodes) {
            wait_until_ready(&client, &node.url).await;
        }
        let store = PostgresStore::connect(&PostgresSettings {
            url: database.url.clone(),
            max_connections: 2,
            connect_timeout: Duration::from_secs(10),
        })
        .await
        .unwrap();
        let mut deployment = SeveralNodes {
            chatwoot,
            engine,
            admin,
            client,
            account_token: String::new(),
            api_balancer,
            api_nodes,
            bridge_nodes,
            api_env,
            directory,
            store,
            _bridge_balancer: bridge_balancer,
            database,
            _hub: hub,
        };
        deployment.account_token = deployment.create_account("Acme");
        deployment
    }

    /// `ryze account create --name <name>` as an operator runs it; the account's token.
    fn create_account(&self, name: &str) -> String {
        let created = ryze(self.directory.path(), &self.api_env)
            .args(["account", "create", "--name", name])
            .stdout(Stdio::piped())
            .output()
            .unwrap();
        assert!(created.status.success(), "{created:?}");
        printed_account_token(&created.stdout)
    }

    /// Creates the instance `name` through the API balancer and activates its
    /// integration (the API calls a bridge node through the bridge balancer); its id.
    async fn activate(&self, name: &str) -> String {
        activate_integration(
            &self.client,
            &self.api_balancer.url(),
            &self.account_token,
            &self.chatwoot.base_url(),
            name,
        )
        .await
    }

    /// The engine's publisher, posting to the API balancer.
    fn publisher(&self) -> EventPublisher {
        self.engine
            .publisher(&self.api_balancer.url(), ENGINE_TOKEN)
            .unwrap()
    }

    /// SIGKILLs API node `index`.
    fn kill_api_node(&mut self, index: usize) {
        self.api_nodes[index].process.take().unwrap().kill();
    }

    /// SIGKILLs bridge node `index`.
    fn kill_bridge_node(&mut self, index: usize) {
        self.bridge_nodes[index].process.take().unwrap().kill();
    }

    /// Every integration's lease holder, by integration id, when every lease is live.
    async fn live_holders(&self) -> Option<BTreeMap<String, LeaseHolder>> {
        let mut holders = BTreeMap::new();
        for integration in self.store.list_bridge_integrations().await.unwrap() {
            match self.store.held_by(&integration.id).await.unwrap() {
                Some(holder) if holder.live => {
                    holders.insert(integration.id.as_str().to_owned(), holder);
                }
                _ => return None,
            }
        }
        Some(holders)
    }

    /// Polls until `condition` holds for the live holders; returns them.
    async fn wait_for_holders(
        &self,
        within: Duration,
        what: &str,
        condition: impl Fn(&BTreeMap<String, LeaseHolder>) -> bool,
    ) -> BTreeMap<String, LeaseHolder> {
        let deadline = Instant::now() + within;
        loop {
            let holders = self.live_holders().await;
            if let Some(holders) = holders.filter(|holders| condition(holders)) {
                return holders;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: never happened ({:?})",
                self.live_holders().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A conversation of the inbox of the integration `integration_id`: its display id.
    async fn a_conversation_of(&self, integration_id: &str) -> u64 {
        let inbox = self
            .store
            .list_bridge_integrations()
            .await
            .unwrap()
            .into_iter()
            .find(|integration| integration.id.as_str() == integration_id)
            .and_then(|integration| integration.inbox_id)
            .and_then(|inbox| u64::try_from(inbox).ok());
        self.chatwoot
            .snapshot()
            .conversations
            .values()
            .find(|conversation| Some(conversation.inbox_id) == inbox)
            .unwrap_or_else(|| panic!("no conversation of {integration_id}"))
            .display_id
    }

    /// An agent answers `text` in `conversation` (Chatwoot posts the webhook to the
    /// bridge balancer); waits until WhatsApp got it and returns how many times it did.
    async fn agent_replies(&self, conversation: u64, text: &str) -> usize {
        self.chatwoot
            .agent_reply(agent_public_reply(self.admin.id, conversation, text))
            .unwrap();
        let sends = || {
            self.engine
                .commands()
                .iter()
                .filter(|command| command.text().is_some_and(|sent| sent.message == text))
                .count()
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while sends() == 0 {
            assert!(Instant::now() < deadline, "{text:?} never reached WhatsApp");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Anything still in flight lands meanwhile, so a second send would be seen.
        tokio::time::sleep(Duration::from_millis(500)).await;
        sends()
    }
}

/// A loopback address nobody listens on (yet).
fn loopback_address() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], free_port()))
}

fn nodes_of(holders: &BTreeMap<String, LeaseHolder>) -> BTreeSet<&str> {
    holders
        .values()
        .map(|holder| holder.node.as_str())
        .collect()
}

/// `per_chat` texts in each of `chats` chats of the instance `instance_id` (the
/// `index`-th), interleaved across chats; each says which chat and which message it is,
/// so a chat's texts sort in the order they were sent.
fn chat_stream(
    deployment: &SeveralNodes,
    index: usize,
    instance_id: &str,
    chats: usize,
    per_chat: usize,
) -> Vec<EventEnvelope> {
    let script = deployment.engine.script(instance_id.to_owned());
    let people: Vec<Contact> = (0..chats)
        .map(|chat| {
            Contact::new(
                format!("Cliente {index}-{chat}"),
                &format!("5511987{index:02}00{chat:02}"),
            )
        })
        .collect();
    (0..per_chat)
        .flat_map(|n| {
            people
                .iter()
                .enumerate()
                .map(move |(chat, person)| (n, chat, person))
        })
        .map(|(n, chat, person)| {
            script
                .text(person, format!("i{index} c{chat} m{n:03}"))
                .build()
        })
        .collect()
}

/// The engine posting several instances' events side by side, each instance's in order,
/// each event retried until stored.
struct Publishing {
    tasks: tokio::task::JoinSet<()>,
    /// Events stored so far, all instances together.
    stored: Arc<AtomicUsize>,
}

impl Publishing {
    fn start(publisher: &EventPublisher, streams: Vec<Vec<EventEnvelope>>) -> Publishing {
        let stored = Arc::new(AtomicUsize::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for stream in streams {
            let publisher = publisher.clone();
            let stored = stored.clone();
            tasks.spawn(async move {
                for event in &stream {
                    let answer = publisher.publish(event).await.unwrap();
                    assert!(answer.is_stored(), "{answer:?}");
                    stored.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        Publishing { tasks, stored }
    }

    /// Waits until `count` events are stored.
    async fn wait_for_stored(&self, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.stored.load(Ordering::Relaxed) < count {
            assert!(
                Instant::now() < deadline,
                "the engine never stored {count} events"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Waits until every event is stored; a failed post fails the test.
    async fn finish(mut self) {
        while let Some(finished) = self.tasks.join_next().await {
            finished.unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_messages_land_once_and_in_order_while_a_bridge_node_and_an_api_node_are_killed()
{
    const INSTANCES: usize = 4;
    const CHATS: usize = 5;
    const PER_CHAT: usize = 50;
    const TOTAL: usize = INSTANCES * CHATS * PER_CHAT;
    let mut deployment = SeveralNodes::start().await;
    let mut instance_ids = Vec::new();
    for index in 0..INSTANCES {
        instance_ids.push(deployment.activate(&format!("loja{index}")).await);
    }
    // Each bridge node takes its fair share: two integrations.
    let shared = deployment
        .wait_for_holders(Duration::from_secs(30), "two nodes share", |holders| {
            holders.len() == INSTANCES
                && nodes_of(holders).iter().all(|node| {
                    holders
                        .values()
                        .filter(|holder| holder.node == *node)
                        .count()
                        == 2
                })
        })
        .await;

    // Each instance's stream in two halves: the API node dies between them.
    let (first_halves, second_halves): (Vec<_>, Vec<_>) = instance_ids
        .iter()
        .enumerate()
        .map(|(index, id)| {
            let mut first = chat_stream(&deployment, index, id, CHATS, PER_CHAT);
            let second = first.split_off(first.len() / 2);
            (first, second)
        })
        .unzip();
    let publisher = deployment.publisher();
    let publishing = Publishing::start(&publisher, first_halves);

    // A bridge node dies mid-stream: the other takes its integrations over.
    wait_for_relayed(&deployment.chatwoot, TOTAL / 4).await;
    let killed_at = Instant::now();
    deployment.kill_bridge_node(1);
    let survivor = deployment
        .wait_for_holders(
            Duration::from_secs(20),
            "the survivor holds every lease",
            |holders| holders.len() == INSTANCES && nodes_of(holders).len() == 1,
        )
        .await;
    let failover = killed_at.elapsed();
    eprintln!("bridge failover: every lease held by the survivor {failover:?} after SIGKILL");
    assert!(
        failover < Duration::from_secs(LEASE_TTL_SECS * 3),
        "the dead node's integrations moved after {failover:?}"
    );
    let moved: Vec<&String> = shared
        .iter()
        .filter(|(integration, holder)| survivor[*integration].node != holder.node)
        .map(|(integration, _)| integration)
        .collect();
    assert_eq!(moved.len(), 2, "the dead node's two integrations moved");

    // Later an API node dies, between two of the engine's posts (one killed in the
    // middle of an append holds that instance's events until its claim times out, a
    // minute): the bridges' streams on it break and resume on the other node, and the
    // engine's posts go there.
    publishing.finish().await;
    deployment.kill_api_node(1);
    eprintln!(
        "API node killed with {} of {TOTAL} messages in Chatwoot",
        relayed(&deployment.chatwoot.snapshot()).len()
    );
    Publishing::start(&publisher, second_halves).finish().await;

    wait_for_relayed(&deployment.chatwoot, TOTAL).await;
    // Let anything still in flight land, so a late duplicate would be seen.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_each_landed_once_in_order(&deployment.chatwoot.snapshot(), INSTANCES * CHATS, PER_CHAT);

    // An agent answers in a conversation of an integration that moved: WhatsApp gets it
    // once, from the survivor, through the surviving API node.
    let conversation = deployment.a_conversation_of(moved[0]).await;
    assert_eq!(
        deployment
            .agent_replies(conversation, "Resposta depois da troca")
            .await,
        1,
        "sent once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_101st_request_of_a_token_spread_over_both_api_nodes_is_refused() {
    let deployment = SeveralNodes::start().await;
    let token = deployment.create_account("Contador");
    let request = |number: usize| {
        deployment
            .client
            .request(
                Method::GET,
                format!("{}/api/instance/list", deployment.api_nodes[number % 2].url),
            )
            .header("token", &token)
            .send()
    };
    for number in 1..=100 {
        let response = request(number).await.unwrap();
        assert_eq!(response.status(), 200, "request {number}");
    }
    let refused = request(101).await.unwrap();
    assert_eq!(refused.headers()["x-ratelimit-remaining"], "0");
    assert_error(refused, 429, "Rate limit exceeded. Try again later.").await;
}

/// Waits until Chatwoot's data satisfies `condition`.
async fn wait_for_chatwoot(
    chatwoot: &SimulatorHandle,
    what: &str,
    condition: impl Fn(&chatwoot_simulator::store::Store) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition(&chatwoot.snapshot()) {
        assert!(Instant::now() < deadline, "{what}: never happened");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bridge_node_paused_past_its_lease_is_replaced_and_once_resumed_relays_nothing_until_it_holds_a_lease_again(
) {
    const PRESENCES: usize = 20;
    const TEXTS: usize = 5;
    let deployment = SeveralNodes::start().await;
    let instance_ids = [
        deployment.activate("loja0").await,
        deployment.activate("loja1").await,
    ];
    let shared = deployment
        .wait_for_holders(Duration::from_secs(30), "one lease each", |holders| {
            holders.len() == 2 && nodes_of(holders).len() == 2
        })
        .await;
    let chats: Vec<_> = instance_ids
        .iter()
        .enumerate()
        .map(|(index, id)| {
            let person = Contact::new(
                format!("Cliente {index}"),
                &format!("55119876500{index:02}"),
            );
            (deployment.engine.script(id.clone()), person)
        })
        .collect();
    let texts = |label: &str| -> Vec<Vec<EventEnvelope>> {
        chats
            .iter()
            .enumerate()
            .map(|(index, (script, person))| {
                (0..TEXTS)
                    .map(|n| {
                        script
                            .text(person, format!("i{index} {label} m{n}"))
                            .build()
                    })
                    .collect()
            })
            .collect()
    };
    let publisher = deployment.publisher();
    // Each chat is in Chatwoot: a contact's typing is shown only in a conversation.
    Publishing::start(&publisher, texts("a-before"))
        .finish()
        .await;
    wait_for_relayed(&deployment.chatwoot, 2 * TEXTS).await;

    // Bridge node 0 stops. Meanwhile each chat's contact types (composing, paused, …)
    // and writes: the API pushes it all into the open streams, the paused node's too,
    // where it waits in the socket for the node to read it.
    deployment.bridge_nodes[0].process().signal("STOP");
    let typing_and_texts = texts("b-paused")
        .into_iter()
        .zip(&chats)
        .map(|(texts, (script, person))| {
            let typing = (0..PRESENCES)
                .map(|n| script.presence(person, if n % 2 == 0 { "composing" } else { "paused" }));
            typing.chain(texts).collect()
        })
        .collect();
    Publishing::start(&publisher, typing_and_texts)
        .finish()
        .await;

    // The other node takes the paused node's lease over, under a new epoch, and relays
    // what came meanwhile.
    let taken_over = deployment
        .wait_for_holders(
            Duration::from_secs(20),
            "the other node holds both leases",
            |holders| holders.len() == 2 && nodes_of(holders).len() == 1,
        )
        .await;
    let (moved, paused_holder) = shared
        .iter()
        .find(|(integration, holder)| taken_over[*integration].node != holder.node)
        .unwrap();
    assert!(
        taken_over[moved].epoch > paused_holder.epoch,
        "a new fencing epoch"
    );
    wait_for_relayed(&deployment.chatwoot, 4 * TEXTS).await;
    wait_for_chatwoot(&deployment.chatwoot, "every typing change shown", |store| {
        store.typing_events.len() >= 2 * PRESENCES
    })
    .await;

    // Resumed: what the API pushed is in its hands, its lease is not, and the database
    // is slow to answer its first renewal (the lease table is locked for a while: every
    // lease write waits). Only its fence keeps it from relaying meanwhile: it shows no
    // typing twice and writes no message twice.
    let (mut locker, connection) =
        tokio_postgres::connect(&deployment.database.url, tokio_postgres::NoTls)
            .await
            .unwrap();
    tokio::spawn(connection);
    let lock = locker.transaction().await.unwrap();
    lock.batch_execute("LOCK TABLE bridge_leases IN SHARE MODE")
        .await
        .unwrap();
    deployment.bridge_nodes[0].process().signal("CONT");
    wait_until_ready(&deployment.client, &deployment.bridge_nodes[0].url).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let while_renewing = deployment.chatwoot.snapshot();
    lock.rollback().await.unwrap();
    assert_eq!(
        while_renewing.typing_events.len(),
        2 * PRESENCES,
        "the resumed node showed typing again without its lease"
    );
    assert_each_landed_once_in_order(&while_renewing, 2, 2 * TEXTS);

    // Its renewal fails (another node holds the lease under a new epoch): that session
    // stops. It rejoins: within two passes of its lease loop it takes back its fair
    // share, one lease, under a new epoch, and still relays nothing old.
    let rejoined = deployment
        .wait_for_holders(
            Duration::from_secs(20),
            "the resumed node holds a lease again",
            |holders| {
                holders
                    .values()
                    .any(|holder| holder.node == paused_holder.node)
            },
        )
        .await;
    assert!(rejoined
        .values()
        .all(|holder| holder.node != paused_holder.node || holder.epoch > paused_holder.epoch));
    // Let anything the resumed node would still relay land, so it would be seen.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let store = deployment.chatwoot.snapshot();
    assert_eq!(
        store.typing_events.len(),
        2 * PRESENCES,
        "each typing change shown once"
    );
    assert_each_landed_once_in_order(&store, 2, 2 * TEXTS);

    // Under its new lease it relays again, each message once; and an agent's reply in
    // its conversation reaches WhatsApp once.
    Publishing::start(&publisher, texts("c-resumed"))
        .finish()
        .await;
    wait_for_relayed(&deployment.chatwoot, 6 * TEXTS).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_each_landed_once_in_order(&deployment.chatwoot.snapshot(), 2, 3 * TEXTS);
    let (held_again, _) = rejoined
        .iter()
        .find(|(_, holder)| holder.node == paused_holder.node)
        .unwrap();
    let conversation = deployment.a_conversation_of(held_again).await;
    assert_eq!(
        deployment
            .agent_replies(conversation, "Resposta do nó que voltou")
            .await,
        1,
        "sent once"
    );
}

/// A NATS server of one test (`nats-server -js`), on its own port and store directory,
/// so it can be killed and started again without touching the shared one.
struct ThrowawayNats {
    port: u16,
    store: TempDir,
    process: Option<Process>,
}

impl ThrowawayNats {
    async fn start() -> ThrowawayNats {
        let mut nats = ThrowawayNats {
            port: free_port(),
            store: tempfile::tempdir().unwrap(),
            process: None,
        };
        nats.run().await;
        nats
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on the same port and store; waits until it listens.
    async fn run(&mut self) {
        let mut command = Command::new("nats-server");
        command
            .args([
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-sd",
            ])
            .arg(self.store.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        self.process = Some(Process::spawn(&mut command));
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "nats-server never listened");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL.
    fn kill(&mut self) {
        self.process.take().expect("NATS runs").kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_killed_and_restarted_mid_stream_loses_and_duplicates_nothing() {
    const INSTANCES: usize = 2;
    const CHATS: usize = 4;
    const PER_CHAT: usize = 30;
    const TOTAL: usize = INSTANCES * CHATS * PER_CHAT;
    let mut nats = ThrowawayNats::start().await;
    let deployment = SeveralNodes::start_on_nats(nats.url(), unique_prefix(), None).await;
    let mut instance_ids = Vec::new();
    for index in 0..INSTANCES {
        instance_ids.push(deployment.activate(&format!("loja{index}")).await);
    }
    let streams = instance_ids
        .iter()
        .enumerate()
        .map(|(index, id)| chat_stream(&deployment, index, id, CHATS, PER_CHAT))
        .collect();
    let publishing = Publishing::start(&deployment.publisher(), streams);

    // Killed while the engine posts and the bridges relay. An append cut off midway
    // leaves its event's id claimed: that instance's posts wait until the claim times
    // out, a minute (docs/running-several-nodes.md, "When an engine restarts").
    publishing.wait_for_stored(TOTAL / 3).await;
    let killed_at = Instant::now();
    nats.kill();
    eprintln!(
        "NATS killed with {} of {TOTAL} events stored, {} in Chatwoot",
        publishing.stored.load(Ordering::Relaxed),
        relayed(&deployment.chatwoot.snapshot()).len()
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    nats.run().await;

    publishing.finish().await;
    wait_for_relayed(&deployment.chatwoot, TOTAL).await;
    eprintln!(
        "NATS restart: every message in Chatwoot {:?} after the kill",
        killed_at.elapsed()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_each_landed_once_in_order(&deployment.chatwoot.snapshot(), INSTANCES * CHATS, PER_CHAT);
}
