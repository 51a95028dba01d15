//! Waiting for a condition that changes when a [`Notify`] is notified, without polling.

use std::time::Duration;

use tokio::sync::Notify;

/// Waits until `condition` holds or `timeout` passes, checking it again each time
/// `activity` is notified. Registers for the notification before each check, so a
/// change between the check and the wait is never missed. Returns whether it held.
pub async fn until_notified<F>(activity: &Notify, timeout: Duration, mut condition: F) -> bool
where
    F: FnMut() -> bool,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let notified = activity.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if condition() {
            return true;
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            return false;
        }
    }
}
