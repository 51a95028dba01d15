//! Retrying the bridge's deletion of integrations the API already removed: a
//! deactivation (or an instance deletion) whose call to the bridge failed leaves the
//! integration's id in the store ([`ryze_ports::IntegrationStore::record_pending_teardown`]);
//! [`ControlPlane::run_pending_teardowns`] asks the bridge again, with capped exponential
//! backoff, until it confirms or says it does not know the integration, then forgets it.

use std::time::Duration;

use crate::ControlPlane;

/// How often pending teardowns are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TeardownRetrySettings {
    /// Between rounds while nothing is pending, and before the first retry of a round
    /// that left something pending.
    pub first_delay: Duration,
    /// The longest wait between rounds (the delay doubles up to it while the bridge
    /// keeps failing).
    pub max_delay: Duration,
}

impl Default for TeardownRetrySettings {
    fn default() -> Self {
        Self {
            first_delay: Duration::from_secs(5),
            max_delay: Duration::from_secs(300),
        }
    }
}

impl ControlPlane {
    /// Retries every pending teardown, forever: run it as a background task of the API.
    /// Without a configured bridge there is nothing to retry with, and it returns at once.
    pub async fn run_pending_teardowns(&self, settings: TeardownRetrySettings) {
        if self.gateway.is_none() {
            return;
        }
        let mut delay = settings.first_delay;
        loop {
            let all_done = self.retry_pending_teardowns().await;
            tokio::time::sleep(delay).await;
            delay = if all_done {
                settings.first_delay
            } else {
                (delay * 2).min(settings.max_delay)
            };
        }
    }

    /// One round: asks the bridge to delete each pending integration and forgets those it
    /// confirmed. `true` when nothing is left pending.
    pub async fn retry_pending_teardowns(&self) -> bool {
        let Some(gateway) = self.gateway.as_deref() else {
            return false;
        };
        let pending = match self.store.list_pending_teardowns().await {
            Ok(pending) => pending,
            Err(error) => {
                tracing::warn!(error = %error, "cannot list the pending bridge deletions; retrying later");
                return false;
            }
        };
        let mut all_done = true;
        for id in pending {
            if !self.try_bridge_teardown(gateway, &id).await {
                all_done = false;
                continue;
            }
            match self.store.forget_pending_teardown(&id).await {
                Ok(()) => {
                    tracing::info!(bridge_integration_id = %id, "the bridge deleted the integration on retry");
                }
                Err(error) => {
                    tracing::warn!(bridge_integration_id = %id, error = %error, "cannot forget the confirmed bridge deletion; it will be asked again");
                    all_done = false;
                }
            }
        }
        all_done
    }
}
