//! The Chatwoot the bench relays into: the `chatwoot-simulator` binary as a child
//! process of its own (built in the bench's profile: release for a full run), on a
//! loopback port picked for it, seeded with account 1 and an administrator. Its
//! per-endpoint counters and stored messages are read over its control API
//! (`/_simulator/…`), so measuring it costs the bench's process nothing but requests.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use chatwoot_simulator::model::{Conversation, Message};
use chatwoot_simulator::EndpointCount;

use super::ryze_process::{cpu_seconds_of, free_port, spawn_logging_to};

/// The Chatwoot account the integrations write into (the one the binary seeds).
pub(crate) const CHATWOOT_ACCOUNT_ID: u64 = 1;
/// The simulator's administrator token, given to every integration.
pub(crate) const CHATWOOT_TOKEN: &str = "bench-agent-access-token";
/// The simulator's endpoint that stores a message (a relayed message is one of these).
pub(crate) const MESSAGE_ENDPOINT: &str = "POST /api/v1/accounts/{id}/conversations/{id}/messages";
/// How long the simulator may take to answer its control API after it was started.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Per control request, so a stuck simulator fails the bench instead of hanging it.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(60);
/// actix-web workers of the simulator: one, the library's default and what P0 has
/// always measured.
const SIMULATOR_WORKERS: &str = "1";

/// A running `chatwoot-simulator`, stopped when dropped.
pub(crate) struct ChatwootProcess {
    child: Child,
    base_url: String,
    control: reqwest::Client,
}

impl ChatwootProcess {
    /// Starts `binary` on a free loopback port with account 1 and the bench's
    /// administrator; returns once its control API answers.
    pub(crate) async fn start(binary: &Path, scratch: &Path) -> Result<ChatwootProcess> {
        let port = free_port()?;
        let child = spawn_logging_to(
            Command::new(binary)
                .args(["--listen", &format!("127.0.0.1:{port}")])
                .args(["--seed-admin-token", CHATWOOT_TOKEN])
                .args(["--seed-account-name", "Bench"])
                .args(["--workers", SIMULATOR_WORKERS])
                .env("RUST_LOG", "warn"),
            &scratch.join("chatwoot-simulator.log"),
        )?;
        let process = ChatwootProcess {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
            control: reqwest::Client::builder()
                .timeout(CONTROL_TIMEOUT)
                .build()?,
        };
        let deadline = Instant::now() + READY_TIMEOUT;
        while process.request_counts().await.is_err() {
            if Instant::now() > deadline {
                bail!(
                    "the Chatwoot simulator did not answer within {READY_TIMEOUT:?}; its log is {}",
                    scratch.join("chatwoot-simulator.log").display()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(process)
    }

    /// CPU time the simulator has used so far, in seconds.
    pub(crate) fn cpu_seconds(&self) -> Result<f64> {
        cpu_seconds_of(self.child.id())
    }

    /// `http://127.0.0.1:<port>`.
    pub(crate) fn base_url(&self) -> String {
        self.base_url.clone()
    }

    async fn control_get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T> {
        let answer = self
            .control
            .get(format!("{}/_simulator/{path}", self.base_url))
            .send()
            .await
            .with_context(|| format!("asking the simulator for {path}"))?
            .error_for_status()?;
        Ok(answer.json().await?)
    }

    /// Application API requests per endpoint since the counters were last cleared.
    pub(crate) async fn request_counts(&self) -> Result<BTreeMap<String, EndpointCount>> {
        self.control_get("request_counts").await
    }

    /// Empties the request log and the per-endpoint counters.
    pub(crate) async fn clear_requests(&self) -> Result<()> {
        self.control
            .delete(format!("{}/_simulator/requests", self.base_url))
            .send()
            .await
            .context("clearing the simulator's requests")?
            .error_for_status()?;
        Ok(())
    }

    /// Every message of the bench's account.
    pub(crate) async fn messages(&self) -> Result<Vec<Message>> {
        self.control_get(&format!("accounts/{CHATWOOT_ACCOUNT_ID}/messages"))
            .await
    }

    /// Every conversation of the bench's account.
    pub(crate) async fn conversations(&self) -> Result<Vec<Conversation>> {
        self.control_get(&format!("accounts/{CHATWOOT_ACCOUNT_ID}/conversations"))
            .await
    }

    /// Successful message POSTs counted since the counters were cleared.
    pub(crate) async fn stored_messages(&self) -> Result<u64> {
        Ok(self
            .request_counts()
            .await?
            .get(MESSAGE_ENDPOINT)
            .map_or(0, |count| count.succeeded))
    }

    /// Waits until the simulator has stored `count` messages (see
    /// [`Self::stored_messages`]); returns when that was seen.
    pub(crate) async fn wait_for_stored_messages(
        &self,
        count: u64,
        timeout: Duration,
    ) -> Result<Instant> {
        let deadline = Instant::now() + timeout;
        loop {
            let stored = self.stored_messages().await?;
            if stored >= count {
                return Ok(Instant::now());
            }
            if Instant::now() > deadline {
                bail!("only {stored} of {count} messages reached Chatwoot within {timeout:?}");
            }
            // A poll is a request the simulator answers: often enough for P1's end
            // (seconds long), seldom enough not to load it.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

impl Drop for ChatwootProcess {
    fn drop(&mut self) {
        // Our own child, by its id.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
