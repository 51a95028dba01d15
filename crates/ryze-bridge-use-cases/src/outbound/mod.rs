//! Chatwoot → WhatsApp: agents' replies (and deletions) reach the customer exactly once.
//!
//! Chatwoot posts an API inbox's events to the bridge once, with a 5 s timeout, and does
//! not wait for anything to be done with them. So the receiver
//! ([`Bridge::receive_webhook`]) only authenticates the call (the secret in the URL, and
//! Chatwoot's signature when the bridge knows the inbox's signing secret: [`signature`]),
//! drops what can never matter ([`payload`]), and queues the rest durably,
//! de-duplicated by Chatwoot message id, before answering. The worker
//! ([`Bridge::run_outbound`], `worker`) then relays each queued webhook ([`relay`]):
//! per conversation in order, conversations in parallel, retrying what may work later with
//! the same WhatsApp ids.
//!
//! Attachments are downloaded through the [`MediaFetcher`] port, the API's too; its
//! adapter (reqwest behind the outbound-address guard) is `ryze-outbound-media-fetcher`,
//! since this crate makes no HTTP calls of its own. [`media`] decides how each goes out.

pub mod ids;
pub mod media;
pub mod payload;
pub mod relay;
mod reporting;
mod revoking;
pub mod screening;
mod sending;
pub mod signature;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use ryze_ports::{
    MediaFetcher, OutboundQueueStore, RateLimiter, RelayStore, StoreError, WhatsAppSender,
};

pub use media::ATTACHMENT_URL_FIELD;
pub use relay::{OutboundFailure, OutboundOutcome, OutboundRelay};
pub use signature::{SignatureHeaders, SignatureRefused};

use crate::sessions::RetryPolicy;
use crate::Bridge;

/// Largest webhook body the bridge takes (Chatwoot's message payloads are a few KiB).
pub const WEBHOOK_BODY_LIMIT_BYTES: usize = 256 * 1024;

/// Most attachments of one agent's message sent to WhatsApp; agents are told in a
/// private note about the others.
pub const ATTACHMENTS_PER_MESSAGE: usize = 10;

/// Largest attachment the bridge downloads and sends.
pub const ATTACHMENT_LIMIT_BYTES: u64 = 64 * 1024 * 1024;

/// How the outbound relay paces itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundSettings {
    /// Between retries of a webhook that failed for a reason worth retrying.
    pub retry: RetryPolicy,
    /// How often the queue is read when nothing wakes the worker.
    pub poll_interval: Duration,
    /// How many queued webhooks are read at a time (beyond those being handled).
    pub batch_size: usize,
    /// How many webhooks are handled at the same moment (across conversations and
    /// integrations).
    pub max_parallel: usize,
    /// How many of one integration's webhooks are handled at the same moment: its share
    /// of `max_parallel`, taken before it, so a slow integration waits only on itself.
    pub max_parallel_per_integration: usize,
    /// How many calls to the API's message endpoints the outbound relay makes at once.
    pub max_parallel_sends: usize,
    /// Webhooks one integration may post per minute; more are answered 429.
    pub webhooks_per_minute: u32,
    /// After this long a webhook still failing is reported undelivered. Must stay well
    /// under the engine's 24 h memory of sent ids, past which a retry could send twice.
    pub give_up_after: Duration,
    /// Time allowed for each call to WhatsApp (a media upload included).
    pub send_timeout: Duration,
    /// Largest attachment downloaded.
    pub max_attachment_bytes: u64,
    /// How long handled webhooks' keys are kept to recognise Chatwoot's duplicates.
    pub keep_handled_for: Duration,
}

impl Default for OutboundSettings {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            poll_interval: Duration::from_secs(5),
            batch_size: 100,
            max_parallel: 16,
            max_parallel_per_integration: 4,
            max_parallel_sends: 8,
            webhooks_per_minute: 300,
            give_up_after: Duration::from_secs(12 * 60 * 60),
            send_timeout: Duration::from_secs(120),
            max_attachment_bytes: ATTACHMENT_LIMIT_BYTES,
            keep_handled_for: Duration::from_secs(7 * 24 * 60 * 60),
        }
    }
}

/// What the outbound relay needs from the outside.
#[derive(Clone)]
pub struct OutboundPorts {
    /// The queue of Chatwoot webhooks the worker drains.
    pub queue: Arc<dyn OutboundQueueStore>,
    /// The relay's links between Chatwoot and WhatsApp messages, for replies and edits.
    pub relay_store: Arc<dyn RelayStore>,
    /// The API's message endpoints.
    pub whatsapp: Arc<dyn WhatsAppSender>,
    /// Downloads agents' attachments (Chatwoot's ActiveStorage URLs, which redirect).
    pub downloader: Arc<dyn MediaFetcher>,
    /// Counts each integration's webhooks (`webhooks_per_minute`).
    pub webhook_limiter: Arc<dyn RateLimiter>,
    pub settings: OutboundSettings,
}

/// One call to the webhook route, as received.
#[derive(Debug, Clone, Copy)]
pub struct WebhookCall<'a> {
    /// The raw body (JSON), at most [`WEBHOOK_BODY_LIMIT_BYTES`].
    pub body: &'a [u8],
    pub signature: SignatureHeaders<'a>,
}

/// What the bridge did with an authenticated webhook. All three are acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookReceipt {
    /// Queued durably; the worker relays it.
    Queued,
    /// The same message event was queued before.
    Duplicate,
    /// It can never lead to a send; why.
    Ignored(&'static str),
}

/// Why an authenticated webhook was not taken.
#[derive(Debug, thiserror::Error)]
pub enum ReceiveWebhookError {
    #[error(transparent)]
    Signature(#[from] SignatureRefused),
    #[error("invalid body: {0}")]
    InvalidBody(String),
    /// The bridge runs without the outbound relay: an agent's reply cannot be taken.
    #[error("this bridge does not relay agents' replies (its outbound relay is not configured)")]
    OutboundDisabled,
    /// The queue could not be written; Chatwoot marks the message failed.
    #[error("cannot queue the webhook: {0}")]
    Queue(StoreError),
    /// The integration posted more webhooks this minute than the bridge takes.
    #[error("too many webhooks for this integration: at most {limit} a minute; retry in {retry_after_secs} s")]
    RateLimited { limit: u32, retry_after_secs: u64 },
}

impl Bridge {
    /// Relays agents' replies: [`Bridge::receive_webhook`] queues them and
    /// [`Bridge::run_outbound`] (spawned by the binary) sends them.
    pub fn with_outbound(mut self, ports: OutboundPorts) -> Self {
        self.outbound = Some(Arc::new(OutboundRelay::of_bridge(&self, ports)));
        self
    }

    /// The outbound worker: runs until the future is dropped. Returns at once when the
    /// bridge was built without [`Bridge::with_outbound`]. Spawn it once, e.g.
    /// `tokio::spawn(async move { bridge.run_outbound().await })` on an `Arc<Bridge>`.
    pub async fn run_outbound(&self) {
        match &self.outbound {
            Some(relay) => worker::run(relay.clone()).await,
            None => {
                tracing::warn!("the outbound relay is not configured: agents' replies are not sent")
            }
        }
    }
}

#[cfg(test)]
mod tests;
