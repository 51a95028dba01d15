//! Starting and stopping the simulator: [`SimulatorServer::start`] binds the
//! actix-web listener (127.0.0.1:0 by default) and returns a
//! [`SimulatorHandle`] with the base URL, typed seeding and inspection helpers,
//! waiting helpers for tests, connection refusal, and `stop`.

use crate::control::{self, AgentReply, SeedAccount, SeedInboxMember, SeedMembership, SeedUser};
use crate::error::SimulatorError;
use crate::faults::{fault_and_log_middleware, FaultState, Faults};
use crate::model::{Account, AccountUser, Message, User};
use crate::state::{
    lock, EndpointCount, ListenerControl, RequestLogEntry, SimulatorState, WebhookDelivery,
};
use crate::store::Store;
use crate::{api, attachments};
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpResponse, HttpServer};
use serde_json::json;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// Largest request body accepted (attachments included).
const MAX_BODY_BYTES: usize = 40 * 1024 * 1024;

/// How to run the simulator.
#[derive(Debug, Clone)]
pub struct SimulatorSettings {
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
    /// actix-web worker threads.
    pub workers: usize,
    /// Base URL used in attachment links; the bound address when `None`.
    pub public_base_url: Option<String>,
    /// Webhook request timeout (`WEBHOOK_TIMEOUT`, 5 s in Chatwoot).
    pub webhook_timeout: Duration,
}

impl Default for SimulatorSettings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            workers: 1,
            public_base_url: None,
            webhook_timeout: Duration::from_secs(5),
        }
    }
}

/// Entry point for starting a simulator.
pub struct SimulatorServer;

impl SimulatorServer {
    /// Binds and starts the simulator on the current Tokio runtime.
    pub async fn start(settings: SimulatorSettings) -> Result<SimulatorHandle, SimulatorError> {
        let state = Arc::new(SimulatorState {
            store: Mutex::new(Store::default()),
            faults: Mutex::new(FaultState::default()),
            request_log: Mutex::new(Vec::new()),
            request_counts: Mutex::new(BTreeMap::new()),
            webhook_deliveries: Mutex::new(Vec::new()),
            activity: Notify::new(),
            public_base_url: Mutex::new(String::new()),
            webhook_client: reqwest::Client::new(),
            webhook_timeout: settings.webhook_timeout,
            runtime: tokio::runtime::Handle::current(),
            listener: Mutex::new(ListenerControl {
                address: Some(settings.listen),
                server: None,
            }),
            workers: settings.workers.max(1),
        });
        let address = open_listener(&state)?;
        *lock(&state.public_base_url) = settings
            .public_base_url
            .unwrap_or_else(|| format!("http://{address}"));
        Ok(SimulatorHandle { state, address })
    }
}

/// Rails' answer to a route it does not know (JSON format).
async fn route_not_found() -> HttpResponse {
    HttpResponse::NotFound().json(json!({ "status": 404, "error": "Not Found" }))
}

/// Binds the listener at the address in `state.listener` and starts serving;
/// remembers the bound address (so a restart reuses the same port).
pub(crate) fn open_listener(state: &Arc<SimulatorState>) -> Result<SocketAddr, SimulatorError> {
    let requested = lock(&state.listener)
        .address
        .ok_or(SimulatorError::NoLocalAddress)?;
    let app_state = Arc::clone(state);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(Arc::clone(&app_state)))
            .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
            .service(web::scope("/_simulator").configure(control::configure))
            .service(
                web::scope("")
                    .wrap(from_fn(fault_and_log_middleware))
                    .configure(api::configure)
                    .configure(attachments::configure)
                    .default_service(web::to(route_not_found)),
            )
    })
    .workers(state.workers)
    .shutdown_timeout(1)
    .disable_signals()
    .bind(requested)
    .map_err(|source| SimulatorError::Bind {
        address: requested.to_string(),
        source,
    })?;
    let address = server
        .addrs()
        .first()
        .copied()
        .ok_or(SimulatorError::NoLocalAddress)?;
    let running = server.run();
    let handle = running.handle();
    state.runtime.spawn(running);
    let mut listener = lock(&state.listener);
    listener.address = Some(address);
    listener.server = Some(handle);
    Ok(address)
}

/// Stops accepting connections (in-flight requests finish first).
pub(crate) async fn close_listener(state: &Arc<SimulatorState>) {
    let server = lock(&state.listener).server.take();
    if let Some(server) = server {
        server.stop(true).await;
    }
}

/// A running simulator.
pub struct SimulatorHandle {
    state: Arc<SimulatorState>,
    address: SocketAddr,
}

impl SimulatorHandle {
    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The bound address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Creates an account.
    pub fn seed_account(&self, seed: SeedAccount) -> Result<Account, SimulatorError> {
        control::seed_account(&self.state, seed)
    }

    /// Creates a user with its access token (and membership, if asked).
    pub fn seed_user(&self, seed: SeedUser) -> Result<User, SimulatorError> {
        control::seed_user(&self.state, seed)
    }

    /// Adds or changes an account membership.
    pub fn seed_membership(&self, seed: SeedMembership) -> Result<AccountUser, SimulatorError> {
        control::seed_membership(&self.state, seed)
    }

    /// Makes a user an inbox member.
    pub fn seed_inbox_member(&self, seed: SeedInboxMember) -> Result<(), SimulatorError> {
        control::seed_inbox_member(&self.state, seed)
    }

    /// Sets or clears an inbox's webhook signing secret.
    pub fn set_inbox_secret(
        &self,
        inbox_id: u64,
        secret: Option<String>,
    ) -> Result<(), SimulatorError> {
        control::set_inbox_secret(&self.state, inbox_id, secret)
    }

    /// Creates an outgoing message as an agent typed it (fires `message_created`).
    pub fn agent_reply(&self, reply: AgentReply) -> Result<Message, SimulatorError> {
        control::agent_reply(&self.state, reply)
    }

    /// A copy of every table.
    pub fn snapshot(&self) -> Store {
        control::snapshot(&self.state)
    }

    /// The request log.
    pub fn requests(&self) -> Vec<RequestLogEntry> {
        control::requests(&self.state)
    }

    /// Application API requests per endpoint (method and path, numeric segments as
    /// `{id}`) since the log was last cleared: what a benchmark divides by the
    /// messages it relayed.
    pub fn request_counts(&self) -> BTreeMap<String, EndpointCount> {
        self.state.request_counts()
    }

    /// Empties the request log and the per-endpoint counters.
    pub fn clear_requests(&self) {
        self.state.clear_requests();
    }

    /// Replaces the injected faults.
    pub fn set_faults(&self, faults: Faults) {
        lock(&self.state.faults).replace(faults);
    }

    /// The webhook deliveries so far.
    pub fn webhook_deliveries(&self) -> Vec<WebhookDelivery> {
        control::webhook_deliveries(&self.state)
    }

    /// Empties everything (tables, logs, faults).
    pub fn reset(&self) {
        control::reset(&self.state);
    }

    /// Waits until `condition` holds for the recorded activity (requests and
    /// webhook deliveries), or `timeout` passes; returns whether it held.
    pub async fn wait_until<F>(&self, timeout: Duration, mut condition: F) -> bool
    where
        F: FnMut(&[RequestLogEntry], &[WebhookDelivery]) -> bool,
    {
        ryze_test_support::waiting::until_notified(&self.state.activity, timeout, || {
            let requests = lock(&self.state.request_log);
            let deliveries = lock(&self.state.webhook_deliveries);
            condition(&requests, &deliveries)
        })
        .await
    }

    /// Waits for at least `count` webhook deliveries; returns them all.
    pub async fn wait_for_webhook_deliveries(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Vec<WebhookDelivery> {
        self.wait_until(timeout, |_, deliveries| deliveries.len() >= count)
            .await;
        self.webhook_deliveries()
    }

    /// Closes the listener: connections are refused until [`Self::accept_connections`].
    pub async fn refuse_connections(&self) {
        close_listener(&self.state).await;
    }

    /// Binds the listener again on the same address.
    pub fn accept_connections(&self) -> Result<(), SimulatorError> {
        open_listener(&self.state).map(|_| ())
    }

    /// Stops the simulator.
    pub async fn stop(self) {
        close_listener(&self.state).await;
    }
}
