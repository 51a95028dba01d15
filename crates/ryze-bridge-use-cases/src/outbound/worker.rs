//! The outbound worker: takes queued webhooks from the store and hands them to the relay,
//! one conversation at a time in arrival order, conversations in parallel.
//!
//! It wakes when the receiver queues a webhook, and polls as a fallback (webhooks queued
//! before a restart, or by another process). A webhook whose handling fails for a reason
//! worth retrying is retried with capped exponential backoff inside its conversation's
//! lane, which holds back only the webhooks of that conversation. Each attempt takes its
//! integration's budget first (`max_parallel_per_integration`), then the bridge's
//! (`max_parallel`), and neither while waiting to retry: an integration whose Chatwoot
//! serves attachments slowly fills its own budget and waits on itself, while the
//! others' webhooks keep the rest of the bridge's. After `give_up_after` the last attempt
//! reports the message undelivered. A webhook is marked handled only once it is done.
//!
//! Under leases among bridge nodes, every node queues the webhooks it receives, but only
//! the holder of an integration's lease handles them (checked before each attempt).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use ryze_ports::{QueuedWebhook, RelayDirection};
use tokio::sync::{mpsc, Semaphore, SemaphorePermit};
use tokio::task::JoinSet;
use tracing::Instrument;

use super::payload::ReadWebhook;
use super::relay::{OutboundFailure, OutboundOutcome, OutboundRelay};
use crate::shared_by_key::SharedByKey;

/// How often handled webhooks' de-duplication keys are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60 * 60);

/// Sends `(lane, webhook id)` to the dispatcher when dropped: on completion, and also if
/// the task panicked or was aborted, so a lane never stays blocked.
struct LaneRelease {
    lane: String,
    webhook: i64,
    done: mpsc::UnboundedSender<(String, i64)>,
}

impl Drop for LaneRelease {
    fn drop(&mut self) {
        let _ = self
            .done
            .send((std::mem::take(&mut self.lane), self.webhook));
    }
}

/// The lane a webhook is handled in: its integration's conversation.
fn lane_of(read: &ReadWebhook) -> String {
    let webhook = &read.webhook;
    match read.conversation() {
        Some(conversation) => format!("{}:conversation:{conversation}", webhook.integration),
        None => format!("{}:webhook:{}", webhook.integration, webhook.id),
    }
}

/// The concurrency one webhook's attempts take: its integration's share, then the
/// bridge's.
#[derive(Clone)]
pub(super) struct Budget {
    pub(super) integration: Arc<Semaphore>,
    pub(super) bridge: Arc<Semaphore>,
}

impl Budget {
    /// Waits for both permits, the integration's first (so a busy integration never
    /// holds one of the bridge's while it waits on itself); `None` once closed.
    async fn acquire(&self) -> Option<(SemaphorePermit<'_>, SemaphorePermit<'_>)> {
        let own = self.integration.acquire().await.ok()?;
        let shared = self.bridge.acquire().await.ok()?;
        Some((own, shared))
    }
}

/// Handles one webhook until it is done, then marks it handled.
pub(super) async fn work(relay: Arc<OutboundRelay>, budget: Budget, read: ReadWebhook) {
    let webhook = &read.webhook;
    let settings = &relay.ports.settings;
    let mut delays = settings.retry.delays();
    loop {
        let age = Utc::now().signed_duration_since(webhook.received_at);
        let last_attempt = age.to_std().unwrap_or_default() >= relay.give_up_after();
        let result = {
            let Some(_permits) = budget.acquire().await else {
                return;
            };
            // Fenced: only the lease holder sends; a node that lost the lease leaves the
            // webhook queued for the new holder.
            if !relay.may_relay(&webhook.integration) {
                tracing::info!(integration_id = %webhook.integration, webhook = webhook.id, "lease not held; the webhook is left to its holder");
                return;
            }
            relay.handle(&read, last_attempt).await
        };
        let metrics = relay.metrics.as_ref();
        match result {
            Ok(outcome) => {
                tracing::debug!(integration_id = %webhook.integration, webhook = webhook.id, ?outcome, "webhook handled");
                match outcome {
                    OutboundOutcome::Sent => {
                        let latency = Utc::now().signed_duration_since(webhook.received_at);
                        metrics.message_relayed(
                            RelayDirection::ToWhatsApp,
                            latency.to_std().unwrap_or_default(),
                        );
                    }
                    OutboundOutcome::Undelivered(_) => {
                        metrics.message_given_up(RelayDirection::ToWhatsApp);
                    }
                    // Not a message: neither relayed nor given up.
                    OutboundOutcome::Revoked
                    | OutboundOutcome::LabelsSet
                    | OutboundOutcome::Answered
                    | OutboundOutcome::Skipped(_) => {}
                }
                break;
            }
            Err(OutboundFailure::Permanent(reason)) => {
                tracing::warn!(integration_id = %webhook.integration, webhook = webhook.id, %reason, "webhook dropped");
                metrics.message_given_up(RelayDirection::ToWhatsApp);
                break;
            }
            Err(OutboundFailure::Transient(reason)) if last_attempt => {
                tracing::error!(integration_id = %webhook.integration, webhook = webhook.id, %reason, "webhook given up after retrying");
                metrics.message_given_up(RelayDirection::ToWhatsApp);
                break;
            }
            Err(OutboundFailure::Transient(reason)) => {
                tracing::info!(integration_id = %webhook.integration, webhook = webhook.id, %reason, "webhook failed; retrying");
                metrics.retry_scheduled(RelayDirection::ToWhatsApp);
                relay.count_attempt(webhook.id).await;
                let delay = delays.next().unwrap_or(settings.retry.max_delay);
                tokio::time::sleep(delay).await;
            }
        }
    }
    relay.finish(webhook.id).await;
}

/// The dispatcher's memory: what is being handled, and what waits behind it.
struct Dispatcher {
    relay: Arc<OutboundRelay>,
    /// The bridge's budget, shared by every integration.
    permits: Arc<Semaphore>,
    /// Each integration's budget, while it has webhooks in flight.
    integration_budgets: SharedByKey<Semaphore>,
    /// Webhooks handed out and not finished yet (the store still lists them).
    in_flight: HashSet<i64>,
    /// Lanes with a webhook being handled, and the webhooks waiting in each.
    busy: HashMap<String, VecDeque<ReadWebhook>>,
    tasks: JoinSet<()>,
    done: mpsc::UnboundedSender<(String, i64)>,
}

impl Dispatcher {
    fn start(&mut self, lane: String, read: ReadWebhook) {
        let release = LaneRelease {
            lane,
            webhook: read.webhook.id,
            done: self.done.clone(),
        };
        let relay = self.relay.clone();
        let per_integration = relay.ports.settings.max_parallel_per_integration.max(1);
        let budget = Budget {
            integration: self
                .integration_budgets
                .get(read.webhook.integration.as_str(), || {
                    Semaphore::new(per_integration)
                }),
            bridge: self.permits.clone(),
        };
        let span = relay.handling_span(&read.webhook);
        self.tasks.spawn(
            async move {
                let _release = release;
                work(relay, budget, read).await;
            }
            .instrument(span),
        );
    }

    fn dispatch(&mut self, webhook: QueuedWebhook) {
        // Another node's integration (by lease): its holder handles it.
        if !self.relay.may_relay(&webhook.integration) {
            return;
        }
        if !self.in_flight.insert(webhook.id) {
            return;
        }
        let read = ReadWebhook::read(webhook);
        let lane = lane_of(&read);
        match self.busy.get_mut(&lane) {
            Some(waiting) => waiting.push_back(read),
            None => {
                self.busy.insert(lane.clone(), VecDeque::new());
                self.start(lane, read);
            }
        }
    }

    fn released(&mut self, lane: String, webhook: i64) {
        self.in_flight.remove(&webhook);
        let next = self.busy.get_mut(&lane).and_then(VecDeque::pop_front);
        match next {
            Some(next) => self.start(lane, next),
            None => {
                self.busy.remove(&lane);
            }
        }
    }

    /// Fetches pending webhooks past those in flight; `true` when there may be more.
    async fn fetch(&mut self) -> bool {
        let settings = &self.relay.ports.settings;
        let limit = self.in_flight.len() + settings.batch_size.max(1);
        match self.relay.ports.queue.pending_webhooks(limit).await {
            Ok(pending) => {
                let full = pending.len() >= limit;
                for webhook in pending {
                    self.dispatch(webhook);
                }
                full
            }
            Err(error) => {
                tracing::warn!(error = %error, "cannot read the queued webhooks");
                false
            }
        }
    }

    async fn prune(&self) {
        let settings = &self.relay.ports.settings;
        let Ok(keep) = chrono::Duration::from_std(settings.keep_handled_for) else {
            return;
        };
        match self
            .relay
            .ports
            .queue
            .forget_handled_before(Utc::now() - keep)
            .await
        {
            Ok(forgotten) if forgotten > 0 => {
                tracing::debug!(forgotten, "forgot handled webhooks");
            }
            Ok(_) => {}
            Err(error) => tracing::info!(error = %error, "cannot forget handled webhooks"),
        }
    }
}

/// Runs the worker for ever (until the future is dropped, which stops every task).
pub(super) async fn run(relay: Arc<OutboundRelay>) {
    let settings = relay.ports.settings.clone();
    let (done, mut released) = mpsc::unbounded_channel();
    let mut dispatcher = Dispatcher {
        permits: Arc::new(Semaphore::new(settings.max_parallel.max(1))),
        integration_budgets: SharedByKey::default(),
        relay: relay.clone(),
        in_flight: HashSet::new(),
        busy: HashMap::new(),
        tasks: JoinSet::new(),
        done,
    };
    let mut poll = tokio::time::interval(settings.poll_interval);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut prune = tokio::time::interval(PRUNE_EVERY);
    prune.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut more_pending = false;
    let mut fetch_now = true;
    loop {
        if fetch_now {
            more_pending = dispatcher.fetch().await;
            fetch_now = false;
        }
        tokio::select! {
            () = relay.woken() => fetch_now = true,
            _ = poll.tick() => fetch_now = true,
            _ = prune.tick() => dispatcher.prune().await,
            Some((lane, webhook)) = released.recv() => {
                dispatcher.released(lane, webhook);
                fetch_now = more_pending;
            }
            Some(joined) = dispatcher.tasks.join_next() => {
                if let Err(error) = joined {
                    if error.is_panic() {
                        tracing::error!("an outbound relay task panicked");
                    }
                }
            }
        }
    }
}
