//! One session per active integration: started on activation and, at start-up, for
//! every stored integration; stopped on deactivation. A session connects to the API's
//! event stream, relays until the connection ends, and reconnects with jittered
//! exponential backoff (capped) — a connection that stayed up a minute starts the
//! delays over.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ryze_domain::{BridgeIntegration, BridgeIntegrationId, SecretOwner};
use ryze_ports::chatwoot::{ChatwootApi, ChatwootTarget, InboxId};
use ryze_ports::{EventStreamConnector, EventStreamError, RelayStore, SecretVault, WhatsAppSender};
use tokio::task::JoinHandle;

use super::connection::{run_connection, ConnectionEnd, RetryPolicy};
use super::live_state::{LiveSnapshot, LiveState};
use crate::relay::{InboundRelay, RelayContext};

/// How sessions pace themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSettings {
    /// Between reconnection attempts.
    pub reconnect: RetryPolicy,
    /// Between retries of a relay step that may work later.
    pub relay_retry: RetryPolicy,
    /// A connection up at least this long resets the reconnection delays.
    pub stable_after: Duration,
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

struct RunningSession {
    live: Arc<LiveState>,
    task: JoinHandle<()>,
}

impl Drop for RunningSession {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The running sessions, by integration.
pub struct RelaySessions {
    ports: RelayPorts,
    chatwoot: Arc<dyn ChatwootApi>,
    vault: Arc<dyn SecretVault>,
    running: Mutex<HashMap<BridgeIntegrationId, RunningSession>>,
}

impl RelaySessions {
    pub fn new(
        ports: RelayPorts,
        chatwoot: Arc<dyn ChatwootApi>,
        vault: Arc<dyn SecretVault>,
    ) -> Self {
        Self {
            ports,
            chatwoot,
            vault,
            running: Mutex::new(HashMap::new()),
        }
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
                self.running().insert(
                    integration.id.clone(),
                    RunningSession {
                        live,
                        task: tokio::spawn(async {}),
                    },
                );
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
        self.running()
            .insert(integration.id.clone(), RunningSession { live, task });
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
        let token = self
            .vault
            .open(
                &integration.api_token,
                &SecretOwner::bridge_chatwoot_api_token(&integration.id),
            )
            .map_err(|error| format!("cannot open the Chatwoot token: {error}"))?;
        Ok(InboundRelay::new(
            self.chatwoot.clone(),
            self.ports.relay_store.clone(),
            self.ports.whatsapp.clone(),
            RelayContext {
                integration_id: integration.id.clone(),
                instance_id: integration.instance_id.clone(),
                target: ChatwootTarget {
                    base_url: integration.settings.base_url.clone(),
                    account_id: integration.settings.account_id,
                    api_token: ryze_domain::ChatwootApiToken::from_secret(token),
                },
                inbox_id: InboxId(inbox_id),
                flags: integration.settings.flags,
            },
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
    loop {
        live.connecting();
        match connector.connect(&context.instance_id).await {
            Ok(connection) => {
                live.connected();
                tracing::info!(integration_id = %context.integration_id, "event stream connected");
                let connected_at = Instant::now();
                match run_connection(
                    connection,
                    relay.clone(),
                    live.clone(),
                    settings.relay_retry,
                )
                .await
                {
                    ConnectionEnd::IntegrationEnded => {
                        tracing::info!(integration_id = %context.integration_id, "the API ended the event stream");
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
                tracing::warn!(integration_id = %context.integration_id, error = %error, "cannot connect to the event stream");
                live.reconnecting(&error.to_string(), refused);
            }
        }
        let delay = delays.next().unwrap_or(settings.reconnect.max_delay);
        tokio::time::sleep(delay).await;
    }
}
