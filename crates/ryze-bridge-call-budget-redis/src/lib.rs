//! Redis [`ChatwootCallBudget`]: the calls to each Chatwoot host counted in Redis, so
//! every bridge node that points at the same Redis stays under one limit together.
//!
//! Chatwoot (Rack::Attack) counts each client address's requests in fixed windows that
//! start at multiples of the window since the epoch. This budget counts the same way:
//! the window of a call is `unix time / window`, read from Redis's clock (`TIME`), so
//! nodes whose clocks differ still agree on it. Each host has one counter per window,
//! `{prefix}:{host}:w:{window index}` (the host hex-encoded), incremented by one Lua
//! script (atomic, one round trip) and set to expire two windows later, so Redis holds
//! only the current windows. A call past the limit waits until the next window starts
//! (plus a small random jitter, so the nodes that waited do not all call at the same
//! instant) and asks again.
//!
//! [`ChatwootCallBudget::exceeded`] (Chatwoot answered 429 anyway) sets
//! `{prefix}:{host}:blocked`, expiring at the start of Chatwoot's next window plus a
//! margin (a twentieth of the window, at most a second, for the clocks' difference):
//! every node's calls to that host wait for it.
//!
//! Every call is bounded: connecting waits at most
//! [`RedisTimeouts::connect`], each command at most
//! [`RedisTimeouts::command`] (both in [`RedisCallBudgetSettings::timeouts`]). When Redis fails or is late, the call
//! falls back to the budget this budget was given (the bridge's in-process one) for that
//! call, and the outage is logged once when it starts and once when it ends. The
//! connection is opened at the first call and reopened after Redis restarts. Needs
//! Redis 5 or later (the scripts read `TIME` before writing). The scripts build the
//! counter's key from the window they read, so the keys of one host are not declared
//! up front: a single Redis (or a primary with replicas), not Redis Cluster.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::Script;
use ryze_ports::{ChatwootCallBudget, OutageLatch};
use ryze_redis_connection::{RedisCallError, RedisConnection};

pub use ryze_redis_connection::InvalidRedisUrl;
use ryze_redis_connection::MAX_WINDOW_MS;
pub use ryze_redis_connection::{RedisTimeouts, DEFAULT_COMMAND_TIMEOUT, DEFAULT_CONNECT_TIMEOUT};

#[cfg(feature = "test-support")]
pub mod test_support;

/// Default of [`RedisCallBudgetSettings::key_prefix`].
pub const DEFAULT_KEY_PREFIX: &str = "ryze:chatwoot-budget";

/// Takes one call: `KEYS[1]` the host's blocked key, `KEYS[2]` the stem of its window
/// counters; `ARGV[1]` the calls per window, `ARGV[2]` the window in milliseconds.
/// Returns `{1, 0}` when the call fits, `{0, wait_ms}` when it must wait that long.
const TAKE_SCRIPT: &str = r"
local blocked = redis.call('PTTL', KEYS[1])
if blocked > 0 then
  return {0, blocked}
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local window = tonumber(ARGV[2])
local index = math.floor(now / window)
local counter = KEYS[2] .. index
local count = redis.call('INCR', counter)
if count == 1 then
  redis.call('PEXPIRE', counter, window * 2)
end
if count <= tonumber(ARGV[1]) then
  return {1, 0}
end
return {0, (index + 1) * window - now}
";

/// Closes a host: `KEYS[1]` its blocked key; `ARGV[1]` the window, `ARGV[2]` the margin
/// (milliseconds). Keeps it closed until the next window starts plus the margin (or
/// longer, if it already was). Returns how long it stays closed.
const EXCEEDED_SCRIPT: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local window = tonumber(ARGV[1])
local closed_for = window - (now % window) + tonumber(ARGV[2])
local already = redis.call('PTTL', KEYS[1])
if already < closed_for then
  redis.call('SET', KEYS[1], '1', 'PX', closed_for)
  return closed_for
end
return already
";

/// The limit to stay under, and how to reach Redis.
#[derive(Debug, Clone)]
pub struct RedisCallBudgetSettings {
    /// Calls allowed to one Chatwoot host in one window, by every node together.
    pub calls_per_window: NonZeroU32,
    /// The length of Chatwoot's window.
    pub window: Duration,
    /// Prepended to every key, so several deployments or tests can share one Redis.
    pub key_prefix: String,
    /// How long connecting and each command may take.
    pub timeouts: RedisTimeouts,
}

impl RedisCallBudgetSettings {
    /// `calls_per_window` per `window`, with the default prefix and timeouts.
    pub fn new(calls_per_window: NonZeroU32, window: Duration) -> Self {
        Self {
            calls_per_window,
            window,
            key_prefix: DEFAULT_KEY_PREFIX.to_owned(),
            timeouts: RedisTimeouts::default(),
        }
    }

    fn window_ms(&self) -> u64 {
        u64::try_from(self.window.as_millis())
            .unwrap_or(MAX_WINDOW_MS)
            .clamp(1, MAX_WINDOW_MS)
    }

    /// After a refusal, how long past the start of Chatwoot's next window to wait: a
    /// twentieth of the window, at most a second (as the in-process budget does).
    fn margin_ms(&self) -> u64 {
        (self.window_ms() / 20).min(1_000)
    }

    /// The most a node adds to a wait for the next window, so the nodes that waited do
    /// not all call at its first millisecond: a fiftieth of the window, at most 250 ms.
    fn max_jitter_ms(&self) -> u64 {
        (self.window_ms() / 50).min(250)
    }
}

/// What Redis said about one call.
enum Turn {
    Granted,
    Wait(Duration),
}

/// The Redis budget. Cheap to share through an `Arc`; one connection (multiplexed)
/// serves every call.
pub struct RedisCallBudget {
    redis: RedisConnection,
    settings: RedisCallBudgetSettings,
    fallback: Arc<dyn ChatwootCallBudget>,
    outage: OutageLatch,
    take_script: Script,
    exceeded_script: Script,
}

impl std::fmt::Debug for RedisCallBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCallBudget")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl RedisCallBudget {
    /// A budget on the Redis at `url` (`redis://host:port`), using `fallback` for the
    /// calls made while Redis fails. Connects at the first call.
    pub fn new(
        url: &str,
        settings: RedisCallBudgetSettings,
        fallback: Arc<dyn ChatwootCallBudget>,
    ) -> Result<Self, InvalidRedisUrl> {
        Ok(Self {
            redis: RedisConnection::new(url, settings.timeouts)?,
            settings,
            fallback,
            outage: OutageLatch::new(),
            take_script: Script::new(TAKE_SCRIPT),
            exceeded_script: Script::new(EXCEEDED_SCRIPT),
        })
    }

    /// The keys of `host`: its blocked key and the stem of its window counters. The host
    /// is hex-encoded, so no host can reach into another's keys.
    fn keys(&self, host: &str) -> (String, String) {
        let base = format!("{}:{}", self.settings.key_prefix, hex::encode(host));
        (format!("{base}:blocked"), format!("{base}:w:"))
    }

    async fn try_take(&self, host: &str) -> Result<Turn, RedisCallError> {
        let (blocked, counters) = self.keys(host);
        let mut connection = self.redis.connection().await?;
        let mut invocation = self.take_script.key(blocked);
        invocation
            .key(counters)
            .arg(self.settings.calls_per_window.get())
            .arg(self.settings.window_ms());
        let answer: Vec<i64> = self
            .redis
            .bounded(invocation.invoke_async(&mut connection))
            .await?;
        match answer.as_slice() {
            [1, _] => Ok(Turn::Granted),
            [_, wait_ms] => Ok(Turn::Wait(Duration::from_millis(
                u64::try_from(*wait_ms).unwrap_or(0).max(1),
            ))),
            _ => Err(RedisCallError::Command(format!(
                "unexpected answer from the call budget script: {answer:?}"
            ))),
        }
    }

    async fn try_close(&self, host: &str) -> Result<Duration, RedisCallError> {
        let (blocked, _) = self.keys(host);
        let mut connection = self.redis.connection().await?;
        let mut invocation = self.exceeded_script.key(blocked);
        invocation
            .arg(self.settings.window_ms())
            .arg(self.settings.margin_ms());
        let closed_for_ms: i64 = self
            .redis
            .bounded(invocation.invoke_async(&mut connection))
            .await?;
        Ok(Duration::from_millis(
            u64::try_from(closed_for_ms).unwrap_or(0),
        ))
    }

    fn jitter(&self) -> Duration {
        Duration::from_millis(rand::random_range(0..=self.settings.max_jitter_ms()))
    }

    fn redis_answered(&self) {
        if self.outage.answered() {
            tracing::info!("the Chatwoot call budget's Redis answers again: calls are counted there, shared by every bridge node");
        }
    }

    fn redis_failed(&self, error: &RedisCallError) {
        if self.outage.failed() {
            tracing::warn!(
                %error,
                "the Chatwoot call budget's Redis fails: until it answers again, each bridge node paces its own calls"
            );
        }
    }
}

#[async_trait]
impl ChatwootCallBudget for RedisCallBudget {
    async fn take(&self, host: &str) {
        loop {
            match self.try_take(host).await {
                Ok(Turn::Granted) => {
                    self.redis_answered();
                    return;
                }
                Ok(Turn::Wait(wait)) => {
                    self.redis_answered();
                    tokio::time::sleep(wait + self.jitter()).await;
                }
                Err(error) => {
                    self.redis_failed(&error);
                    self.fallback.take(host).await;
                    return;
                }
            }
        }
    }

    async fn exceeded(&self, host: &str) {
        match self.try_close(host).await {
            Ok(closed_for) => {
                self.redis_answered();
                tracing::warn!(
                    host,
                    wait_ms = closed_for.as_millis(),
                    "Chatwoot refused a call for exceeding its rate limit: no bridge node calls it until its next window"
                );
            }
            Err(error) => {
                self.redis_failed(&error);
                self.fallback.exceeded(host).await;
            }
        }
    }
}
