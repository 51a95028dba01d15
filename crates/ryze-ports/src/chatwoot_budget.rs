//! The budget of calls the bridge may make to one Chatwoot host.
//!
//! Chatwoot limits each client address (Rack::Attack's `req/ip` throttle,
//! `RACK_ATTACK_LIMIT`, 3,000 a minute by default) in fixed windows, and answers a call
//! over the limit with 429 `Retry later`, without `Retry-After`. Every integration on
//! that host shares the one budget, so the Chatwoot client asks the budget before each
//! call ([`ChatwootCallBudget::take`]) and tells it when Chatwoot refused one anyway
//! ([`ChatwootCallBudget::exceeded`]: another client behind the same address, a lower
//! limit than configured).
//!
//! The bridge's own implementation keeps the budget in its process; one kept in a shared
//! store (Redis) can take its place when several bridge processes call the same
//! Chatwoot from one address.

use async_trait::async_trait;

/// Paces the calls to each Chatwoot host (`scheme://host:port`).
#[async_trait]
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait ChatwootCallBudget: Send + Sync {
    /// Waits until one more call to `host` fits in the budget, and counts it.
    async fn take(&self, host: &str);

    /// Chatwoot refused a call to `host` for exceeding its limit: no call to it until
    /// Chatwoot's next window.
    async fn exceeded(&self, host: &str);
}
