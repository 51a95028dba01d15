//! The whole product in this test process: the Chatwoot simulator, the WhatsApp engine
//! simulator, and `ryze serve` (API and bridge, as `ryze::commands::serve_api_and_bridge`
//! wires them) over loopback, with an instance `suporte` whose Chatwoot integration is
//! active and whose bridge is connected to the API's event stream.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chatwoot_simulator::model::{Message, User};
use chatwoot_simulator::store::Store;
use chatwoot_simulator::SimulatorHandle;
use engine_simulator::script::{Contact, EventScript, Group};
use engine_simulator::{
    EngineSimulator, EngineSimulatorHandle, EngineSimulatorSettings, EventPublisher,
};
use ryze_ports::whatsapp_events::{EventEnvelope, EventPayload};
use serde_json::{json, Value};

use super::harness::{create_instance, ServedInProcess};

pub(crate) const ADMIN_TOKEN: &str = "admin-access-token-1234";
pub(crate) const BRIDGE_TOKEN: &str = "bridge-token-for-relay-tests-0123456789";
pub(crate) const ENGINE_TOKEN: &str = "engine-token-for-relay-tests-0123456789";
pub(crate) const MASTER_KEY: &str =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
/// The longest any step may take before a test gives up.
pub(crate) const WAIT: Duration = Duration::from_secs(20);

pub(crate) struct Product {
    pub api: String,
    /// The bridge's own listener (its `/metrics`, its webhook route).
    pub bridge: String,
    /// The Chatwoot simulator, shared with another [`Product`] by [`Product::start_on`].
    pub chatwoot: Arc<SimulatorHandle>,
    pub engine: EngineSimulatorHandle,
    pub publisher: EventPublisher,
    pub script: EventScript,
    pub account_token: String,
    pub client: reqwest::Client,
    /// The id of the instance `suporte`.
    pub instance_id: String,
    /// The Chatwoot administrator whose token the integration uses ("Ada Admin").
    pub admin: User,
    _database: tempfile::TempDir,
}

impl Product {
    /// Everything running, an instance `suporte` with an active integration whose flags
    /// are `flags` (merged into the activation body).
    pub(crate) async fn start(flags: Value) -> Product {
        Self::start_with(flags, &[]).await
    }

    /// [`Product::start`] with more settings (`RYZE__…` variables).
    pub(crate) async fn start_with(flags: Value, settings: &[(&str, &str)]) -> Product {
        super::logs::capture();
        let (chatwoot, admin) = super::split::seeded_chatwoot().await;
        Self::start_on(Arc::new(chatwoot), admin, flags, settings).await
    }

    /// [`Product::start_with`] on a Chatwoot simulator already running (another
    /// product's: two `ryze serve` processes calling one Chatwoot), whose administrator
    /// is `admin`.
    pub(crate) async fn start_on(
        chatwoot: Arc<SimulatorHandle>,
        admin: User,
        flags: Value,
        settings: &[(&str, &str)],
    ) -> Product {
        super::logs::capture();
        let engine = EngineSimulator::start(EngineSimulatorSettings::new(ENGINE_TOKEN))
            .await
            .unwrap();

        let database = tempfile::tempdir().unwrap();
        let env: HashMap<String, String> = HashMap::from([
            (
                "DATABASE_URL".to_owned(),
                format!("sqlite://{}", database.path().join("ryze.db").display()),
            ),
            ("RYZE_MASTER_KEY".to_owned(), MASTER_KEY.to_owned()),
            ("BRIDGE_TOKEN".to_owned(), BRIDGE_TOKEN.to_owned()),
            ("ENGINE_TOKEN".to_owned(), ENGINE_TOKEN.to_owned()),
            ("ENGINE_URL".to_owned(), engine.base_url()),
            ("RYZE__HTTP__WORKERS".to_owned(), "2".to_owned()),
        ]);
        let env: HashMap<String, String> = env
            .into_iter()
            .chain(
                settings
                    .iter()
                    .map(|(name, value)| ((*name).to_owned(), (*value).to_owned())),
            )
            .collect();
        let ServedInProcess {
            api,
            bridge,
            account_token,
        } = ServedInProcess::start(&env).await;
        let client = reqwest::Client::new();
        super::split::wait_until_ready(&client, &api).await;

        let created: Value = create_instance(&client, &api, &account_token, "suporte")
            .await
            .json()
            .await
            .unwrap();
        let instance_id = created["data"]["id"].as_str().unwrap().to_owned();
        let mut activation = json!({
            "chatwootBaseUrl": chatwoot.base_url(),
            "chatwootAccountId": 1,
            "chatwootApiToken": ADMIN_TOKEN,
            "inboxName": "WhatsApp",
        });
        for (key, value) in flags.as_object().into_iter().flatten() {
            activation[key] = value.clone();
        }
        let activated = client
            .post(format!("{api}/api/chatwoot/set/suporte"))
            .header("token", &account_token)
            .json(&activation)
            .send()
            .await
            .unwrap();
        assert_eq!(activated.status(), 201, "{:?}", activated.text().await);

        let publisher = engine.publisher(&api, ENGINE_TOKEN).unwrap();
        let script = engine.script(instance_id.clone());
        let product = Product {
            api,
            bridge,
            chatwoot,
            engine,
            publisher,
            script,
            account_token,
            client,
            instance_id,
            admin,
            _database: database,
        };
        product.wait_until_connected().await;
        product
    }

    pub(crate) async fn publish(&self, event: &EventEnvelope) {
        let answer = self.publisher.publish(event).await.unwrap();
        assert!(answer.is_stored(), "{answer:?}");
    }

    /// `GET /api/chatwoot/list/suporte`: the integration's live state.
    pub(crate) async fn status(&self) -> Value {
        self.client
            .get(format!("{}/api/chatwoot/list/suporte", self.api))
            .header("token", &self.account_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub(crate) async fn wait_until_connected(&self) {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if self.status().await["connection"] == "connected" {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the bridge never connected: {}", self.status().await);
    }

    /// Waits until Chatwoot's data satisfies `condition`, then returns it.
    pub(crate) async fn wait_for(&self, what: &str, condition: impl Fn(&Store) -> bool) -> Store {
        let deadline = Instant::now() + WAIT;
        loop {
            let snapshot = self.chatwoot.snapshot();
            if condition(&snapshot) {
                return snapshot;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}; bridge status {}; messages {:#?}",
                    self.status().await,
                    snapshot
                        .messages
                        .values()
                        .map(|m| (&m.content, &m.source_id))
                        .collect::<Vec<_>>()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Publishes a message event and waits until Chatwoot holds the message (by its
    /// WhatsApp id): then every earlier event of its chat was relayed too.
    pub(crate) async fn publish_until_in_chatwoot(&self, event: &EventEnvelope) -> Store {
        self.publish(event).await;
        let id = message_id_of(event);
        self.wait_for(&format!("the message {id}"), |store| {
            store
                .messages
                .values()
                .any(|message| message.source_id.as_deref() == Some(id.as_str()))
        })
        .await
    }

    /// Waits until the simulator delivered `count` webhooks `event` and the bridge
    /// answered them.
    pub(crate) async fn wait_for_webhook_delivered(&self, event: &str, count: usize) {
        let deadline = Instant::now() + WAIT;
        loop {
            let delivered = self
                .chatwoot
                .webhook_deliveries()
                .iter()
                .filter(|delivery| delivery.event == event && delivery.response_status.is_some())
                .count();
            if delivered >= count {
                return;
            }
            assert!(Instant::now() < deadline, "no {count}× {event} delivered");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub(crate) async fn wait_for_messages(&self, count: usize) -> Store {
        self.wait_for(&format!("{count} relayed messages"), |store| {
            relayed(store).len() >= count
        })
        .await
    }
}

/// Messages the bridge wrote (every one carries its WhatsApp id as `source_id`), in
/// creation order.
pub(crate) fn relayed(store: &Store) -> Vec<&Message> {
    store
        .messages
        .values()
        .filter(|message| message.source_id.is_some())
        .collect()
}

pub(crate) fn message_with_source<'a>(store: &'a Store, source_id: &str) -> &'a Message {
    store
        .messages
        .values()
        .find(|message| message.source_id.as_deref() == Some(source_id))
        .unwrap_or_else(|| panic!("no Chatwoot message for WhatsApp id {source_id}"))
}

pub(crate) fn message_id_of(event: &EventEnvelope) -> String {
    match &event.payload {
        EventPayload::MessageExchange(exchange) => exchange.message.id.clone(),
        other => panic!("not a message: {other:?}"),
    }
}

pub(crate) fn maria() -> Contact {
    Contact::new("Maria Silva", "5511987654321")
}

/// The group "Equipe Vendas" with its members Ana and Bruno: `(ana, bruno, group)`.
pub(crate) fn sales_team() -> (Contact, Contact, Group) {
    let ana = Contact::new("Ana", "5521987650000");
    let bruno = Contact::new("Bruno", "5531987651111");
    let group = Group::new(
        "120363025246125486@g.us",
        "Equipe Vendas",
        [ana.clone(), bruno.clone()],
    );
    (ana, bruno, group)
}
