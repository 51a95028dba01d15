//! Redis [`RateLimiter`]: one fixed window per (policy, key) kept in Redis, so every API
//! node that points at the same Redis counts a token against one limit.
//!
//! The semantics are the in-process limiter's (`ryze-api-rate-limit-memory`): a window
//! opens at the key's first request and lasts `policy.window`; inside it the first
//! `policy.limit` requests are allowed and every further one is refused (refusals are
//! not counted). Each request is one Lua script run atomically by Redis (one round
//! trip), on Redis's own clock, so nodes whose clocks differ still agree on a window.
//!
//! A window is a hash `{prefix}:{policy}:{key}` holding its count and the instant it
//! closes (unix milliseconds), set to expire at that instant: Redis holds no window
//! longer than the window lasts, so its memory is bounded by the keys active within the
//! longest window.
//!
//! Every call is bounded: connecting waits at most [`RedisTimeouts::connect`]
//! and each command at most [`RedisTimeouts::command`] (both in [`RedisRateLimiterSettings::timeouts`]); past either,
//! the call fails with a [`RateLimitError`] (the API lets the request through and logs
//! it). The connection is opened at the first call, not at construction, and reopened
//! after Redis restarts, so the API starts and serves while Redis is away. Needs Redis 5
//! or later (the script reads `TIME` before writing).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redis::Script;
use ryze_ports::{RateLimitDecision, RateLimitError, RateLimitPolicy, RateLimiter};
use ryze_redis_connection::{RedisCallError, RedisConnection};

pub use ryze_redis_connection::InvalidRedisUrl;
use ryze_redis_connection::MAX_WINDOW_MS;
pub use ryze_redis_connection::{RedisTimeouts, DEFAULT_COMMAND_TIMEOUT, DEFAULT_CONNECT_TIMEOUT};

#[cfg(feature = "test-support")]
pub mod test_support;

/// Default of [`RedisRateLimiterSettings::key_prefix`].
pub const DEFAULT_KEY_PREFIX: &str = "ryze:rate-limit";

/// Counts (`ARGV[3]` = `1`) or reads (`0`) the window in `KEYS[1]` for a limit of
/// `ARGV[1]` requests per `ARGV[2]` milliseconds. Returns `{allowed, count, resets_at}`
/// (`resets_at` in unix milliseconds), or `{-1}` when reading and no window is open.
const WINDOW_SCRIPT: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local limit = tonumber(ARGV[1])
local counting = ARGV[3] == '1'
local window = redis.call('HMGET', KEYS[1], 'count', 'resets_at')
local count = tonumber(window[1])
local resets_at = tonumber(window[2])
local opening = count == nil or resets_at == nil or resets_at <= now
if opening then
  if not counting then
    return {-1}
  end
  count = 0
  resets_at = now + tonumber(ARGV[2])
end
local allowed = 0
if count < limit then
  allowed = 1
end
if counting and (allowed == 1 or opening) then
  count = count + allowed
  redis.call('HSET', KEYS[1], 'count', count, 'resets_at', resets_at)
  redis.call('PEXPIREAT', KEYS[1], resets_at)
end
return {allowed, count, resets_at}
";

/// How to reach Redis and where to keep the windows.
#[derive(Debug, Clone)]
pub struct RedisRateLimiterSettings {
    /// Prepended to every key (`{prefix}:{policy}:{key}`), so several deployments or
    /// tests can share one Redis.
    pub key_prefix: String,
    /// How long connecting and each command may take.
    pub timeouts: RedisTimeouts,
}

impl Default for RedisRateLimiterSettings {
    fn default() -> Self {
        Self {
            key_prefix: DEFAULT_KEY_PREFIX.to_owned(),
            timeouts: RedisTimeouts::default(),
        }
    }
}

/// The Redis limiter. Cheap to share through an `Arc`; one connection (multiplexed)
/// serves every request.
pub struct RedisRateLimiter {
    redis: RedisConnection,
    settings: RedisRateLimiterSettings,
    script: Script,
}

/// What the window script answered.
enum WindowState {
    Open {
        allowed: bool,
        count: u32,
        resets_at_ms: i64,
    },
    Closed,
}

impl RedisRateLimiter {
    /// A limiter on the Redis at `url` (`redis://host:port`). Connects at the first call.
    pub fn new(url: &str, settings: RedisRateLimiterSettings) -> Result<Self, InvalidRedisUrl> {
        Ok(Self {
            redis: RedisConnection::new(url, settings.timeouts)?,
            settings,
            script: Script::new(WINDOW_SCRIPT),
        })
    }

    /// Checks that Redis answers, within the timeouts.
    pub async fn ping(&self) -> Result<(), RateLimitError> {
        self.redis.ping().await.map_err(port_error)
    }

    /// The Redis key of `key`'s window under `policy`.
    fn window_key(&self, key: &str, policy: &RateLimitPolicy) -> String {
        format!("{}:{}:{key}", self.settings.key_prefix, policy.name)
    }

    /// Runs the window script on `key`'s window, counting a request or not.
    async fn window(
        &self,
        key: &str,
        policy: &RateLimitPolicy,
        counting: bool,
    ) -> Result<WindowState, RateLimitError> {
        let mut connection = self.redis.connection().await.map_err(port_error)?;
        let window_ms = u64::try_from(policy.window.as_millis())
            .unwrap_or(MAX_WINDOW_MS)
            .clamp(1, MAX_WINDOW_MS);
        let mut invocation = self.script.key(self.window_key(key, policy));
        invocation
            .arg(policy.limit)
            .arg(window_ms)
            .arg(u8::from(counting));
        let answer: Vec<i64> = self
            .redis
            .bounded(invocation.invoke_async(&mut connection))
            .await
            .map_err(port_error)?;
        match answer.as_slice() {
            [-1] => Ok(WindowState::Closed),
            [allowed, count, resets_at_ms] => Ok(WindowState::Open {
                allowed: *allowed == 1,
                count: u32::try_from(*count).unwrap_or(u32::MAX),
                resets_at_ms: *resets_at_ms,
            }),
            _ => Err(RateLimitError(format!(
                "unexpected answer from the Redis window script: {answer:?}"
            ))),
        }
    }
}

impl WindowState {
    fn decision(self, policy: &RateLimitPolicy) -> Option<RateLimitDecision> {
        match self {
            Self::Closed => None,
            Self::Open {
                allowed,
                count,
                resets_at_ms,
            } => Some(RateLimitDecision {
                allowed,
                limit: policy.limit,
                remaining: policy.limit.saturating_sub(count),
                resets_at: DateTime::from_timestamp_millis(resets_at_ms)
                    .unwrap_or(DateTime::<Utc>::MAX_UTC),
            }),
        }
    }
}

/// A failed Redis call in the port's terms (its text names no URL nor password).
fn port_error(error: RedisCallError) -> RateLimitError {
    RateLimitError(error.to_string())
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn hit(
        &self,
        key: &str,
        policy: &RateLimitPolicy,
    ) -> Result<RateLimitDecision, RateLimitError> {
        self.window(key, policy, true)
            .await?
            .decision(policy)
            .ok_or_else(|| RateLimitError("the Redis window script counted no request".to_owned()))
    }

    async fn peek(
        &self,
        key: &str,
        policy: &RateLimitPolicy,
    ) -> Result<Option<RateLimitDecision>, RateLimitError> {
        Ok(self.window(key, policy, false).await?.decision(policy))
    }
}
