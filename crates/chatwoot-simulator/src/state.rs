//! Shared simulator state: the store, the fault settings, the request log, the
//! record of webhook deliveries, and what the running listener needs to be
//! stopped and restarted. One `Arc<SimulatorState>` is shared by every worker.

use crate::faults::FaultState;
use crate::store::Store;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::Notify;

/// Locks a mutex, recovering the data if a panicking thread poisoned it (the
/// simulator's data stays usable; a panic inside a handler is a bug to fix, not
/// a reason to take every later request down).
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One Application API request as the simulator saw it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RequestLogEntry {
    pub method: String,
    pub path: String,
    pub query: String,
    pub status: u16,
    pub received_at: DateTime<Utc>,
    pub duration_ms: u64,
    /// The fault injected instead of (or before) the real handler, if any.
    pub injected_fault: Option<String>,
}

/// One attempt to deliver a webhook.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WebhookDelivery {
    pub delivery_id: String,
    pub url: String,
    pub event: String,
    /// 1 for the delivery, 2 for the duplicate sent when `duplicate_webhooks` is on.
    pub attempt: u32,
    pub headers: BTreeMap<String, String>,
    pub body: Value,
    /// The receiver's HTTP status, if it answered.
    pub response_status: Option<u16>,
    /// Why the delivery failed (transport error or non-2xx answer), if it did.
    pub error: Option<String>,
    pub sent_at: DateTime<Utc>,
}

/// Where the listener is and how to stop it.
#[derive(Default)]
pub struct ListenerControl {
    pub address: Option<SocketAddr>,
    pub server: Option<actix_web::dev::ServerHandle>,
}

/// Everything the handlers share.
pub struct SimulatorState {
    pub store: Mutex<Store>,
    pub faults: Mutex<FaultState>,
    pub request_log: Mutex<Vec<RequestLogEntry>>,
    pub webhook_deliveries: Mutex<Vec<WebhookDelivery>>,
    /// Woken whenever a request is logged or a webhook delivery recorded.
    pub activity: Notify,
    /// Base URL used in attachment links (`data_url`).
    pub public_base_url: Mutex<String>,
    pub webhook_client: reqwest::Client,
    pub webhook_timeout: Duration,
    /// The runtime the simulator was started on (webhook tasks and listener
    /// restarts run there, not on a worker that may be stopped).
    pub runtime: tokio::runtime::Handle,
    pub listener: Mutex<ListenerControl>,
    pub workers: usize,
}

impl SimulatorState {
    /// The base URL attachment links point at.
    pub fn base_url(&self) -> String {
        lock(&self.public_base_url).clone()
    }

    /// Appends a request to the log and wakes waiters.
    pub fn log_request(&self, entry: RequestLogEntry) {
        lock(&self.request_log).push(entry);
        self.activity.notify_waiters();
    }

    /// Records a webhook delivery and wakes waiters.
    pub fn record_delivery(&self, delivery: WebhookDelivery) {
        lock(&self.webhook_deliveries).push(delivery);
        self.activity.notify_waiters();
    }
}
