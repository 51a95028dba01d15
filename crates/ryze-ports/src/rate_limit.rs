//! Request rate limiting, counted per key (the authenticated principal, or the client
//! address for requests without a valid token).
//!
//! Semantics every adapter keeps: a fixed window per key and policy that opens at the
//! key's first request and lasts `window`; the request that would exceed `limit` inside
//! it is refused. This is what `INCR` + `EXPIRE` gives on a shared store, so a Redis
//! adapter can replace the in-process one when the API runs as several replicas.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitPolicy {
    /// Names the counter, so one key has separate windows per policy.
    pub name: &'static str,
    pub limit: u32,
    pub window: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitDecision {
    pub allowed: bool,
    pub limit: u32,
    /// Requests left in the window after this one.
    pub remaining: u32,
    /// When the window closes.
    pub resets_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rate limiter unavailable: {0}")]
pub struct RateLimitError(pub String);

#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Counts one request for `key` under `policy` and says whether it may proceed.
    async fn hit(
        &self,
        key: &str,
        policy: &RateLimitPolicy,
    ) -> Result<RateLimitDecision, RateLimitError>;

    /// The state of `key`'s current window under `policy` without counting a request:
    /// `allowed` says whether one more request would be let through. `None` when no
    /// window is open (the next request would open one). Used to refuse a client that
    /// has used up its budget before doing the work a request would cost.
    async fn peek(
        &self,
        key: &str,
        policy: &RateLimitPolicy,
    ) -> Result<Option<RateLimitDecision>, RateLimitError>;
}
