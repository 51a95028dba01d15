//! The NATS of the tests: `TEST_NATS_URL` (default `nats://127.0.0.1:4222`, with
//! JetStream), and a hub per test under a prefix of its own, so tests run in parallel
//! on one server. [`TestHub`] deletes the test's streams when dropped.
//!
//! Without a NATS answering there, a test is skipped (it says so on stderr), unless
//! `CI=true`: in CI a missing NATS fails the test, as `cargo xtask test` does.

use std::time::Duration;

use secrecy::SecretString;

use crate::{NatsEventHub, NatsEventHubSettings};

/// The environment variable naming the tests' NATS.
pub const TEST_NATS_URL: &str = "TEST_NATS_URL";
/// The tests' NATS when [`TEST_NATS_URL`] is not set.
pub const DEFAULT_TEST_NATS_URL: &str = "nats://127.0.0.1:4222";

/// The URL of the tests' NATS, from [`TEST_NATS_URL`] or the default.
pub fn test_nats_url() -> String {
    std::env::var(TEST_NATS_URL)
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_TEST_NATS_URL.to_owned())
}

/// A prefix no other test uses.
pub fn unique_prefix() -> String {
    format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..20])
}

/// Why a NATS test is skipped: no NATS with JetStream answers at [`TEST_NATS_URL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no NATS with JetStream answers at {TEST_NATS_URL} (default {DEFAULT_TEST_NATS_URL}): {0}")]
pub struct NatsUnavailable(pub String);

/// Settings for the hub of a test on the NATS at `url`, under `prefix`, with budgets
/// roomy enough for a loaded test machine.
pub fn test_settings(url: &str, prefix: &str) -> NatsEventHubSettings {
    NatsEventHubSettings {
        prefix: prefix.to_owned(),
        call_timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(5),
        ..NatsEventHubSettings::new(SecretString::from(url.to_owned()))
    }
}

/// A hub of one test; its streams are deleted when it is dropped.
pub struct TestHub {
    pub hub: NatsEventHub,
    prefix: String,
}

impl TestHub {
    /// The test's prefix (another node of the same hub connects with it).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

impl Drop for TestHub {
    fn drop(&mut self) {
        let hub = self.hub.clone();
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        // Best effort: a leftover test stream only takes disk space. On a multi-thread
        // runtime the deletion finishes before the test does.
        if runtime.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread {
            tokio::task::block_in_place(|| {
                let _ignored = runtime.block_on(hub.delete_everything());
            });
        } else {
            runtime.spawn(async move {
                let _ignored = hub.delete_everything().await;
            });
        }
    }
}

/// A hub on the tests' NATS under a fresh prefix, or [`NatsUnavailable`] (the test
/// should say it is skipped and return).
///
/// # Panics
///
/// When NATS does not answer and `CI=true`: CI never skips the NATS tests.
pub async fn test_hub() -> Result<TestHub, NatsUnavailable> {
    let url = test_nats_url();
    let prefix = unique_prefix();
    match NatsEventHub::connect(&test_settings(&url, &prefix)).await {
        Ok(hub) => Ok(TestHub { hub, prefix }),
        Err(error) if running_in_ci() => panic!(
            "CI=true and no NATS with JetStream answers at {TEST_NATS_URL} ({error}); the NATS \
             tests are never skipped in CI: start one (`nats-server -js`) and set {TEST_NATS_URL}"
        ),
        Err(error) => Err(NatsUnavailable(error.to_string())),
    }
}

/// `CI=true` (or `1`), as `cargo xtask test` reads it.
fn running_in_ci() -> bool {
    std::env::var("CI").is_ok_and(|ci| ci.eq_ignore_ascii_case("true") || ci == "1")
}
