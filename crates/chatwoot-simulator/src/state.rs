//! Shared simulator state: the store, the fault settings, the request log and its
//! per-endpoint counters, the record of webhook deliveries, and what the running listener needs to be
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

/// How many Application API requests one endpoint answered, by outcome.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct EndpointCount {
    /// Answered with a 2xx status.
    pub succeeded: u64,
    /// Answered with any other status (an injected fault included).
    pub failed: u64,
}

impl EndpointCount {
    /// Every request, whatever its answer.
    pub fn total(&self) -> u64 {
        self.succeeded + self.failed
    }
}

/// The endpoint a request went to: its method and its path with every numeric segment
/// written `{id}`, e.g. `POST /api/v1/accounts/{id}/conversations/{id}/messages`.
pub fn endpoint_of(method: &str, path: &str) -> String {
    let normalized: Vec<&str> = path
        .split('/')
        .map(|segment| {
            if !segment.is_empty() && segment.bytes().all(|byte| byte.is_ascii_digit()) {
                "{id}"
            } else {
                segment
            }
        })
        .collect();
    format!("{method} {}", normalized.join("/"))
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
    /// Requests per endpoint ([`endpoint_of`]), kept as the log grows; cleared with it.
    pub request_counts: Mutex<BTreeMap<String, EndpointCount>>,
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

    /// Appends a request to the log, counts it for its endpoint and wakes waiters.
    pub fn log_request(&self, entry: RequestLogEntry) {
        {
            let mut counts = lock(&self.request_counts);
            let count = counts
                .entry(endpoint_of(&entry.method, &entry.path))
                .or_default();
            if (200..300).contains(&entry.status) {
                count.succeeded += 1;
            } else {
                count.failed += 1;
            }
        }
        lock(&self.request_log).push(entry);
        self.activity.notify_waiters();
    }

    /// Empties the request log and its per-endpoint counters.
    pub fn clear_requests(&self) {
        lock(&self.request_log).clear();
        lock(&self.request_counts).clear();
    }

    /// Requests per endpoint since the log was last cleared.
    pub fn request_counts(&self) -> BTreeMap<String, EndpointCount> {
        lock(&self.request_counts).clone()
    }

    /// Records a webhook delivery and wakes waiters.
    pub fn record_delivery(&self, delivery: WebhookDelivery) {
        lock(&self.webhook_deliveries).push(delivery);
        self.activity.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::endpoint_of;

    #[test]
    fn numeric_segments_become_placeholders() {
        assert_eq!(
            endpoint_of("POST", "/api/v1/accounts/1/conversations/42/messages"),
            "POST /api/v1/accounts/{id}/conversations/{id}/messages"
        );
        assert_eq!(
            endpoint_of("GET", "/api/v1/accounts/7/contacts/search"),
            "GET /api/v1/accounts/{id}/contacts/search"
        );
    }
}
