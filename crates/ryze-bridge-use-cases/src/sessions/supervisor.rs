//! One session per active integration: started on activation and, at start-up, for
//! every stored integration; stopped on deactivation. A session connects to the API's
//! event stream, relays until the connection ends, and reconnects with jittered
//! exponential backoff (capped) — a connection that stayed up a minute starts the
//! delays over.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ryze_domain::{BridgeIntegration, BridgeIntegrationId};
use ryze_ports::chatwoot::{ChatwootApi, InboxId};
use ryze_ports::{
    no_relay_metrics, EventStreamConnector, EventStreamError, IntegrationLeases, RelayMetrics,
    RelayStore, SecretVault, WhatsAppSender,
};
use tokio::task::JoinHandle;

use super::connection::{run_connection, ConnectionEnd, RetryPolicy, CHAT_WORKER_IDLE};
use super::leasing::{LeaseSettings, Leasing};
use super::live_state::{ConnectionState, LiveSnapshot, LiveState};
use crate::chatwoot_target::chatwoot_target_of;
use crate::conversation_status::ConversationStatusBook;
use crate::inbound::{InboundRelay, RelayContext};
use crate::relay_memory::RelayMemory;

/// How sessions pace themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSettings {
    /// Between reconnection attempts.
    pub reconnect: RetryPolicy,
    /// Between retries of a relay step that may work later.
    pub relay_retry: RetryPolicy,
    /// A connection up at least this long resets the reconnection delays.
    pub stable_after: Duration,
    /// How long the API may refuse a new session (404, 401) before it counts as an
    /// error: right after an activation the API records its side only once the bridge
    /// has answered, so the first attempts may come too early.
    pub refusal_grace: Duration,
    /// A chat's worker idle (nothing queued, nothing in flight) this long is reaped.
    pub chat_worker_idle: Duration,
    /// Relay steps one integration runs at once (across its chats): its share of the
    /// bridge, so that one busy integration does not crowd the others out of the
    /// Chatwoot and API calls they share.
    pub parallel_steps: usize,
    /// How long a conversation status Chatwoot confirmed (by a webhook or an answer) is
    /// trusted with `reopenResolved` off, before a message is written without a `GET`.
    pub status_trusted_for: Duration,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            reconnect: RetryPolicy {
                first_delay: Duration::from_millis(500),
                max_delay: Duration::from_secs(30),
            },
            relay_retry: RetryPolicy::default(),
            stable_after: Duration::from_secs(60),
            refusal_grace: Duration::from_secs(10),
            chat_worker_idle: CHAT_WORKER_IDLE,
            parallel_steps: 8,
            status_trusted_for: Duration::from_secs(10),
        }
    }
}

/// What sessions need from the outside.
#[derive(Clone)]
pub struct RelayPorts {
    pub connector: Arc<dyn EventStreamConnector>,
    pub relay_store: Arc<dyn RelayStore>,
    /// The API's message endpoints (media downloads now, agents' replies later).
    pub whatsapp: Option<Arc<dyn WhatsAppSender>>,
    pub settings: SessionSettings,
}

/// A session's state, and its task unless it could not start.
struct RunningSession {
    live: Arc<LiveState>,
    task: Option<JoinHandle<()>>,
}

impl Drop for RunningSession {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// The running sessions, by integration.
pub struct RelaySessions {
    ports: RelayPorts,
    chatwoot: Arc<dyn ChatwootApi>,
    vault: Arc<dyn SecretVault>,
    metrics: Arc<dyn RelayMetrics>,
    running: Mutex<HashMap<BridgeIntegrationId, RunningSession>>,
    pub(crate) memory: Arc<RelayMemory>,
    status_book: Arc<ConversationStatusBook>,
    pub(super) leasing: std::sync::OnceLock<Leasing>,
}

impl RelaySessions {
    pub fn new(
        ports: RelayPorts,
        chatwoot: Arc<dyn ChatwootApi>,
        vault: Arc<dyn SecretVault>,
    ) -> Self {
        let status_book = Arc::new(ConversationStatusBook::new(
            ports.settings.status_trusted_for,
        ));
        Self {
            ports,
            chatwoot,
            vault,
            metrics: no_relay_metrics(),
            running: Mutex::new(HashMap::new()),
            memory: Arc::new(RelayMemory::default()),
            status_book,
            leasing: std::sync::OnceLock::new(),
        }
    }

    /// Runs only the sessions whose lease this node holds ([`RelaySessions::run_leases`]).
    /// Set once, before the lease loop and any session start; later calls are ignored.
    pub fn with_leases(&self, leases: Arc<dyn IntegrationLeases>, settings: LeaseSettings) {
        let _ = self.leasing.set(Leasing {
            leases,
            settings,
            held: Mutex::new(std::collections::BTreeMap::new()),
        });
    }

    /// Sessions started from now on report what became of their events in `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<dyn RelayMetrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// How many sessions are in each connection state (states without one left out).
    pub fn count_by_state(&self) -> Vec<(ConnectionState, u64)> {
        let mut counts: Vec<(ConnectionState, u64)> = Vec::new();
        for session in self.running().values() {
            let state = session.live.snapshot().connection;
            match counts.iter_mut().find(|(counted, _)| *counted == state) {
                Some((_, count)) => *count += 1,
                None => counts.push((state, 1)),
            }
        }
        counts
    }

    /// What Chatwoot told the bridge of conversations' statuses (the webhook receiver
    /// feeds it, every session reads it).
    pub fn status_book(&self) -> &Arc<ConversationStatusBook> {
        &self.status_book
    }

    pub fn relay_store(&self) -> &Arc<dyn RelayStore> {
        &self.ports.relay_store
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<BridgeIntegrationId, RunningSession>> {
        self.running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts (or restarts, with its new settings) the integration's session. Must be
    /// called inside a Tokio runtime. An integration without an inbox, or whose token
    /// cannot be opened, gets no session; the reason is returned and logged.
    pub fn start(&self, integration: &BridgeIntegration) -> Result<(), String> {
        let live = Arc::new(LiveState::default());
        let relay = match self.relay_for(integration) {
            Ok(relay) => Arc::new(relay),
            Err(reason) => {
                tracing::error!(integration_id = %integration.id, %reason, "cannot start the relay session");
                live.reconnecting(&reason, true);
                live.disconnected();
                self.running()
                    .insert(integration.id.clone(), RunningSession { live, task: None });
                return Err(reason);
            }
        };
        let task = tokio::spawn(session_loop(
            self.ports.connector.clone(),
            relay,
            live.clone(),
            self.ports.settings,
        ));
        // Replacing the entry drops (and so aborts) an older session.
        self.running().insert(
            integration.id.clone(),
            RunningSession {
                live,
                task: Some(task),
            },
        );
        Ok(())
    }

    /// Stops the integration's session; `false` when none ran.
    pub fn stop(&self, id: &BridgeIntegrationId) -> bool {
        self.running().remove(id).is_some()
    }

    /// The session's live state, when one runs.
    pub fn live_state(&self, id: &BridgeIntegrationId) -> Option<LiveSnapshot> {
        self.running()
            .get(id)
            .map(|session| session.live.snapshot())
    }

    fn relay_for(&self, integration: &BridgeIntegration) -> Result<InboundRelay, String> {
        let inbox_id = integration
            .inbox_id
            .ok_or_else(|| "the integration has no Chatwoot inbox".to_owned())?;
        let target = chatwoot_target_of(self.vault.as_ref(), integration)
            .map_err(|error| format!("cannot open the Chatwoot token: {error}"))?;
        Ok(InboundRelay::new(
            self.chatwoot.clone(),
            self.ports.relay_store.clone(),
            self.ports.whatsapp.clone(),
            RelayContext {
                integration_id: integration.id.clone(),
                instance_id: integration.instance_id.clone(),
                instance_name: integration.instance_name.to_string(),
                target,
                inbox_id: InboxId(inbox_id),
                flags: integration.settings.flags,
            },
            self.status_book.clone(),
        )
        .sharing_memory(self.memory.clone())
        .with_metrics(self.metrics.clone())
        .with_fence(
            self.leasing
                .get()
                .and_then(|leasing| leasing.fence_of(&integration.id)),
        ))
    }
}

async fn session_loop(
    connector: Arc<dyn EventStreamConnector>,
    relay: Arc<InboundRelay>,
    live: Arc<LiveState>,
    settings: SessionSettings,
) {
    let context = relay.context().clone();
    let mut delays = settings.reconnect.delays();
    let mut refused_since: Option<Instant> = None;
    loop {
        live.connecting();
        match connector.connect(&context.instance_id).await {
            Ok(connection) => {
                refused_since = None;
                live.connected();
                tracing::info!(integration_id = %context.integration_id, "event stream connected");
                let connected_at = Instant::now();
                match run_connection(connection, relay.clone(), live.clone(), settings).await {
                    ConnectionEnd::IntegrationEnded => {
                        tracing::info!(integration_id = %context.integration_id, "the API ended the event stream");
                        live.disconnected();
                        return;
                    }
                    ConnectionEnd::Broken(EventStreamError::Replaced) => {
                        // Another bridge (or a newer session of this one) serves the
                        // integration now; reconnecting would only take it back.
                        tracing::warn!(integration_id = %context.integration_id, "another connection took the event stream over; this session stops");
                        live.reconnecting(&EventStreamError::Replaced.to_string(), false);
                        live.disconnected();
                        return;
                    }
                    ConnectionEnd::Broken(error) => {
                        tracing::warn!(integration_id = %context.integration_id, error = %error, "event stream lost");
                        live.reconnecting(&error.to_string(), false);
                    }
                }
                if connected_at.elapsed() >= settings.stable_after {
                    delays = settings.reconnect.delays();
                }
            }
            Err(error) => {
                let refused = matches!(
                    error,
                    EventStreamError::Unauthorized | EventStreamError::UnknownInstance
                );
                let within_grace = refused
                    && refused_since.get_or_insert_with(Instant::now).elapsed()
                        < settings.refusal_grace;
                if within_grace {
                    tracing::debug!(integration_id = %context.integration_id, error = %error, "the API does not know the session yet; trying again");
                } else {
                    tracing::warn!(integration_id = %context.integration_id, error = %error, "cannot connect to the event stream");
                    live.reconnecting(&error.to_string(), refused);
                }
            }
        }
        let delay = delays.next().unwrap_or(settings.reconnect.max_delay);
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use chrono::Utc;
    use ryze_domain::{
        ChatwootAccountId, ChatwootBaseUrl, ChatwootSettings, InboxName, InstanceId, InstanceName,
        IntegrationStatus, KeyId, RelayFlags, SealedSecret,
    };
    use ryze_ports::{
        EventStreamConnection, MockChatwootApi, MockEventStreamConnector, MockRelayStore,
        MockSecretVault, StreamItem,
    };
    use secrecy::SecretString;
    use tokio::sync::mpsc;

    use crate::sessions::live_state::ConnectionState;

    fn sealed() -> SealedSecret {
        SealedSecret {
            key_id: KeyId::new("k"),
            nonce: vec![0; 12],
            ciphertext: vec![1, 2, 3],
        }
    }

    fn integration() -> BridgeIntegration {
        BridgeIntegration {
            id: BridgeIntegrationId::new("int_session"),
            instance_id: InstanceId::new("ins_session"),
            instance_name: InstanceName::parse("loja").unwrap(),
            settings: ChatwootSettings {
                base_url: ChatwootBaseUrl::parse("http://chatwoot.test").unwrap(),
                account_id: ChatwootAccountId::new(1).unwrap(),
                inbox_name: InboxName::parse(None).unwrap(),
                flags: RelayFlags::default(),
            },
            api_token: sealed(),
            webhook_secret: sealed(),
            inbox_id: Some(7),
            status: IntegrationStatus::Active,
            last_error: String::new(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    /// Sessions over `connector` and `vault`, with no relay store or WhatsApp sender
    /// expected to be used and a Chatwoot client that is never called.
    fn sessions_over(
        connector: MockEventStreamConnector,
        vault: MockSecretVault,
        settings: SessionSettings,
    ) -> RelaySessions {
        RelaySessions::new(
            RelayPorts {
                connector: Arc::new(connector),
                relay_store: Arc::new(MockRelayStore::new()),
                whatsapp: None,
                settings,
            },
            Arc::new(MockChatwootApi::new()),
            Arc::new(vault),
        )
    }

    /// A vault that opens every sealed token.
    fn vault_opening_the_token() -> MockSecretVault {
        let mut vault = MockSecretVault::new();
        vault
            .expect_open()
            .returning(|_, _| Ok(SecretString::from("chatwoot-token")));
        vault
    }

    /// Default settings with [`quick`] retries, both to connect and to relay.
    fn quick_settings() -> SessionSettings {
        SessionSettings {
            reconnect: quick(),
            relay_retry: quick(),
            ..SessionSettings::default()
        }
    }

    fn quick() -> RetryPolicy {
        RetryPolicy {
            first_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
        }
    }

    async fn wait_for_state(
        sessions: &RelaySessions,
        id: &BridgeIntegrationId,
        wanted: ConnectionState,
    ) -> LiveSnapshot {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let snapshot = sessions.live_state(id).expect("a session runs");
            if snapshot.connection == wanted {
                return snapshot;
            }
            assert!(Instant::now() < deadline, "still {snapshot:?}");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// A connector refusing its first `refusals` attempts (each counted in `attempts`),
    /// then handing out one connection over `items`, and no other.
    fn connector_with_one_connection(
        items: mpsc::Receiver<Result<StreamItem, EventStreamError>>,
        refusals: usize,
        attempts: Arc<AtomicUsize>,
    ) -> MockEventStreamConnector {
        let mut connection = Some(EventStreamConnection {
            items,
            acknowledgements: mpsc::unbounded_channel().0,
        });
        let mut connector = MockEventStreamConnector::new();
        connector.expect_connect().returning(move |_| {
            if attempts.fetch_add(1, Ordering::SeqCst) < refusals {
                Err(EventStreamError::Unavailable {
                    detail: "connection refused".into(),
                })
            } else {
                connection.take().ok_or(EventStreamError::Unavailable {
                    detail: "only one connection in this test".into(),
                })
            }
        });
        connector
    }

    #[tokio::test]
    async fn a_session_retries_until_connected_and_stops_when_the_api_ends_the_stream() {
        let attempts = Arc::new(AtomicUsize::new(0));
        let (items_sender, items) = mpsc::channel(8);
        let connector = connector_with_one_connection(items, 2, attempts.clone());
        let sessions = sessions_over(
            connector,
            vault_opening_the_token(),
            SessionSettings {
                stable_after: Duration::from_secs(60),
                refusal_grace: Duration::ZERO,
                ..quick_settings()
            },
        );
        let integration = integration();
        sessions.start(&integration).unwrap();

        let connected =
            wait_for_state(&sessions, &integration.id, ConnectionState::Connected).await;
        assert_eq!(
            attempts.load(Ordering::SeqCst),
            3,
            "two refusals, then connected"
        );
        assert_eq!(connected.last_error, "", "healthy once connected");

        // The API closes the stream cleanly: the integration ended, no reconnection.
        drop(items_sender);
        wait_for_state(&sessions, &integration.id, ConnectionState::Disconnected).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(attempts.load(Ordering::SeqCst), 3);

        assert!(sessions.stop(&integration.id));
        assert!(sessions.live_state(&integration.id).is_none());
    }

    /// A receipt the relay does not show (`inactive`) in the chat of `jid`: a chat
    /// worker starts for it, and it finishes without touching any port.
    fn unshown_receipt(sequence: u64, jid: &str) -> StreamItem {
        let envelope = serde_json::json!({
            "event": "message.status",
            "data": {
                "ids": [format!("3A00{sequence:016}")],
                "status": "inactive",
                "timestamp": 1_718_000_700,
                "chat": {"jid": jid, "type": "private"}
            },
            "instanceData": {"baseUrl": "", "instance": "ins_session"}
        });
        StreamItem::Event(ryze_ports::StreamedEvent {
            sequence: ryze_ports::EventSequence::new(sequence),
            envelope: envelope.to_string().into_bytes(),
            received_at: None,
            traceparent: None,
        })
    }

    async fn wait_for_chat_workers(
        sessions: &RelaySessions,
        id: &BridgeIntegrationId,
        wanted: usize,
    ) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let snapshot = sessions.live_state(id).expect("a session runs");
            if snapshot.chat_workers == wanted {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} chat workers, waiting for {wanted}",
                snapshot.chat_workers
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    #[tokio::test]
    async fn idle_chat_workers_are_reaped_after_the_configured_idle_time() {
        let (items_sender, items) = mpsc::channel(8);
        let connector = connector_with_one_connection(items, 0, Arc::default());
        let sessions = sessions_over(
            connector,
            vault_opening_the_token(),
            SessionSettings {
                chat_worker_idle: Duration::from_millis(300),
                ..quick_settings()
            },
        );
        let integration = integration();
        sessions.start(&integration).unwrap();
        wait_for_state(&sessions, &integration.id, ConnectionState::Connected).await;

        for (sequence, jid) in [
            (1, "5511900000001@s.whatsapp.net"),
            (2, "5511900000002@s.whatsapp.net"),
            (3, "5511900000003@s.whatsapp.net"),
        ] {
            items_sender
                .send(Ok(unshown_receipt(sequence, jid)))
                .await
                .unwrap();
        }
        wait_for_chat_workers(&sessions, &integration.id, 3).await;

        // Nothing more comes for those chats: every worker goes once idle long enough,
        // while the connection stays up.
        wait_for_chat_workers(&sessions, &integration.id, 0).await;
        let live = sessions.live_state(&integration.id).unwrap();
        assert_eq!(live.connection, ConnectionState::Connected);

        // A chat seen again gets a new worker.
        items_sender
            .send(Ok(unshown_receipt(4, "5511900000001@s.whatsapp.net")))
            .await
            .unwrap();
        wait_for_chat_workers(&sessions, &integration.id, 1).await;
    }

    #[tokio::test]
    async fn a_refusal_right_after_activation_is_not_an_error_unless_it_lasts() {
        let mut connector = MockEventStreamConnector::new();
        connector
            .expect_connect()
            .returning(|_| Err(EventStreamError::UnknownInstance));
        let sessions = sessions_over(
            connector,
            vault_opening_the_token(),
            SessionSettings {
                stable_after: Duration::from_secs(60),
                refusal_grace: Duration::from_millis(150),
                ..quick_settings()
            },
        );
        let integration = integration();
        sessions.start(&integration).unwrap();
        tokio::time::sleep(Duration::from_millis(40)).await;
        let early = sessions.live_state(&integration.id).unwrap();
        assert_eq!(early.connection, ConnectionState::Connecting);
        assert!(!early.connection_refused);
        assert_eq!(early.last_error, "");

        let lasting =
            wait_for_state(&sessions, &integration.id, ConnectionState::Reconnecting).await;
        assert!(lasting.connection_refused);
        assert_eq!(
            lasting.last_error,
            "the API has no event stream for this instance"
        );
    }

    #[tokio::test]
    async fn a_session_replaced_by_another_connection_stops_instead_of_taking_it_back() {
        let attempts = Arc::new(AtomicUsize::new(0));
        let counted = attempts.clone();
        let mut connector = MockEventStreamConnector::new();
        connector.expect_connect().returning(move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
            let (items_sender, items) = mpsc::channel(1);
            items_sender
                .try_send(Err(EventStreamError::Replaced))
                .unwrap();
            Ok(EventStreamConnection {
                items,
                acknowledgements: mpsc::unbounded_channel().0,
            })
        });
        let sessions = sessions_over(connector, vault_opening_the_token(), quick_settings());
        let integration = integration();
        sessions.start(&integration).unwrap();
        let stopped =
            wait_for_state(&sessions, &integration.id, ConnectionState::Disconnected).await;
        assert_eq!(
            stopped.last_error,
            "another connection of the bridge took this instance's event stream over"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(attempts.load(Ordering::SeqCst), 1, "no reconnection");
    }

    #[tokio::test]
    async fn a_token_the_vault_cannot_open_leaves_a_refused_session_with_the_reason() {
        let mut vault = MockSecretVault::new();
        vault
            .expect_open()
            .returning(|_, _| Err(ryze_ports::VaultError::Undecryptable));
        let sessions = sessions_over(
            MockEventStreamConnector::new(),
            vault,
            SessionSettings::default(),
        );
        let integration = integration();
        let reason = sessions.start(&integration).unwrap_err();
        assert!(
            reason.starts_with("cannot open the Chatwoot token"),
            "{reason}"
        );
        let live = sessions.live_state(&integration.id).unwrap();
        assert!(live.connection_refused);
        assert_eq!(live.connection, ConnectionState::Disconnected);
    }

    /// Leases that grant every acquisition, at `epoch`.
    fn leases_granting_every_lease_at_epoch(epoch: i64) -> ryze_ports::MockIntegrationLeases {
        let mut leases = ryze_ports::MockIntegrationLeases::new();
        leases
            .expect_try_acquire()
            .returning(move |integration, node, _| {
                Ok(Some(ryze_ports::Lease {
                    integration: integration.clone(),
                    node: node.to_owned(),
                    epoch,
                }))
            });
        leases
    }

    #[tokio::test]
    async fn a_session_under_an_expired_lease_neither_relays_nor_acknowledges() {
        let (items_sender, items) = mpsc::channel(8);
        let (acknowledgements, mut acknowledged) = mpsc::unbounded_channel();
        let mut connection = Some(EventStreamConnection {
            items,
            acknowledgements,
        });
        let mut connector = MockEventStreamConnector::new();
        connector.expect_connect().returning(move |_| {
            connection.take().ok_or(EventStreamError::Unavailable {
                detail: "only one connection in this test".into(),
            })
        });
        let leases = leases_granting_every_lease_at_epoch(1);
        let sessions = sessions_over(connector, vault_opening_the_token(), quick_settings());
        let ttl = Duration::from_millis(400);
        sessions.with_leases(
            Arc::new(leases),
            super::super::LeaseSettings {
                node_id: "node-a".into(),
                ttl,
            },
        );
        let integration = integration();
        let taken_at = Instant::now();
        sessions.acquire_and_start(&integration).await;
        assert!(sessions.may_relay(&integration.id));

        // Under the lease: relayed and acknowledged.
        items_sender
            .send(Ok(unshown_receipt(1, "5511900000001@s.whatsapp.net")))
            .await
            .unwrap();
        let first = tokio::time::timeout(Duration::from_secs(5), acknowledged.recv())
            .await
            .expect("acknowledged under the lease");
        assert_eq!(first, Some(ryze_ports::EventSequence::new(1)));

        // No renewal: past the TTL (less its safety margin) the lease is not trusted.
        tokio::time::sleep((taken_at + ttl).saturating_duration_since(Instant::now())).await;
        assert!(!sessions.may_relay(&integration.id));
        items_sender
            .send(Ok(unshown_receipt(2, "5511900000002@s.whatsapp.net")))
            .await
            .unwrap();
        let second = tokio::time::timeout(Duration::from_millis(300), acknowledged.recv()).await;
        assert!(
            second.is_err(),
            "acknowledged without a valid lease: {second:?}"
        );
        let live = sessions.live_state(&integration.id).unwrap();
        assert_eq!(live.connection, ConnectionState::Connected);
    }

    #[tokio::test]
    async fn a_graceful_shutdown_gives_every_held_lease_up_and_stops_its_session() {
        let mut leases = leases_granting_every_lease_at_epoch(7);
        let released = Arc::new(std::sync::Mutex::new(Vec::new()));
        let released_by_store = released.clone();
        leases.expect_release().returning(move |lease| {
            released_by_store
                .lock()
                .unwrap()
                .push((lease.node.clone(), lease.epoch));
            Ok(())
        });
        let mut connector = MockEventStreamConnector::new();
        connector.expect_connect().returning(|_| {
            Err(EventStreamError::Unavailable {
                detail: "the API is away in this test".into(),
            })
        });
        let sessions = sessions_over(connector, vault_opening_the_token(), quick_settings());
        sessions.with_leases(
            Arc::new(leases),
            super::super::LeaseSettings {
                node_id: "node-a".into(),
                ttl: Duration::from_secs(30),
            },
        );
        let integration = integration();
        sessions.acquire_and_start(&integration).await;
        assert!(sessions.may_relay(&integration.id));

        sessions.release_all().await;

        assert_eq!(
            *released.lock().unwrap(),
            vec![("node-a".to_owned(), 7)],
            "the held lease is given up, not left to expire"
        );
        assert!(!sessions.may_relay(&integration.id));
        assert!(
            sessions.live_state(&integration.id).is_none(),
            "its session is stopped"
        );
    }
}
