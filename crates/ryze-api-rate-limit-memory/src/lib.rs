//! In-process [`RateLimiter`]: one fixed window per (policy, key), for a single API
//! replica.
//!
//! A window opens at the key's first request and lasts `policy.window`; inside it the
//! first `policy.limit` requests are allowed and every further one is refused (refusals
//! are not counted). Once the window has passed, the next request opens a new one. This
//! is the `INCR` + `EXPIRE` behaviour the port documents.
//!
//! Memory stays bounded: expired windows are swept once the requests since the last sweep
//! reach [`SWEEP_EVERY_HITS`] or the number of windows the last sweep kept, whichever is
//! larger. So at most about twice the keys active within one window (plus
//! [`SWEEP_EVERY_HITS`]) are held, and a sweep's cost is spread over at least as many
//! requests as it scans (amortised O(1) per request, even with many live keys).
//!
//! The state sits behind a `std::sync::Mutex`, held only for a map lookup (and, now and
//! then, a sweep); nothing awaits while it is held.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use ryze_ports::{RateLimitDecision, RateLimitError, RateLimitPolicy, RateLimiter};

/// Fewest requests between two sweeps of expired windows.
pub const SWEEP_EVERY_HITS: usize = 1024;

/// Where the limiter reads the time; injectable for tests.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The in-process limiter. Share it through an `Arc`.
pub struct InMemoryRateLimiter {
    clock: Clock,
    state: Mutex<Windows>,
}

struct Window {
    count: u32,
    resets_at: DateTime<Utc>,
}

struct Windows {
    /// Policy name → key → its current window.
    by_policy: HashMap<&'static str, HashMap<String, Window>>,
    hits_since_sweep: usize,
    /// Windows kept by the last sweep.
    kept_by_last_sweep: usize,
}

impl InMemoryRateLimiter {
    /// A limiter on the system clock.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(Utc::now))
    }

    /// A limiter reading the time from `clock`.
    pub fn with_clock(clock: Clock) -> Self {
        Self {
            clock,
            state: Mutex::new(Windows {
                by_policy: HashMap::new(),
                hits_since_sweep: 0,
                kept_by_last_sweep: 0,
            }),
        }
    }

    /// Windows currently held in memory, expired ones not yet swept included.
    pub fn tracked_windows(&self) -> usize {
        self.lock().by_policy.values().map(HashMap::len).sum()
    }

    /// Counts one request; see the crate documentation.
    fn count(&self, key: &str, policy: &RateLimitPolicy) -> RateLimitDecision {
        let now = (self.clock)();
        let mut windows = self.lock();
        windows.sweep_if_due(now);

        let policy_windows = windows.by_policy.entry(policy.name).or_default();
        let window = match policy_windows.get_mut(key) {
            Some(window) if window.resets_at > now => window,
            Some(expired) => {
                *expired = Window::opening(now, policy);
                expired
            }
            None => policy_windows
                .entry(key.to_owned())
                .or_insert_with(|| Window::opening(now, policy)),
        };
        let allowed = window.count < policy.limit;
        if allowed {
            window.count += 1;
        }
        RateLimitDecision {
            allowed,
            limit: policy.limit,
            remaining: policy.limit.saturating_sub(window.count),
            resets_at: window.resets_at,
        }
    }

    /// The state, even if a thread panicked while holding it: the counters stay
    /// consistent (every update is a single assignment), so going on is safe.
    fn lock(&self) -> std::sync::MutexGuard<'_, Windows> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for InMemoryRateLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl Window {
    fn opening(now: DateTime<Utc>, policy: &RateLimitPolicy) -> Self {
        // A window too long for chrono lasts until the end of representable time.
        let length = TimeDelta::from_std(policy.window).unwrap_or(TimeDelta::MAX);
        Self {
            count: 0,
            resets_at: now
                .checked_add_signed(length)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        }
    }
}

impl Windows {
    fn sweep_if_due(&mut self, now: DateTime<Utc>) {
        self.hits_since_sweep += 1;
        if self.hits_since_sweep < SWEEP_EVERY_HITS.max(self.kept_by_last_sweep) {
            return;
        }
        self.by_policy.retain(|_, keys| {
            keys.retain(|_, window| window.resets_at > now);
            !keys.is_empty()
        });
        self.kept_by_last_sweep = self.by_policy.values().map(HashMap::len).sum();
        self.hits_since_sweep = 0;
    }
}

#[async_trait]
impl RateLimiter for InMemoryRateLimiter {
    async fn hit(
        &self,
        key: &str,
        policy: &RateLimitPolicy,
    ) -> Result<RateLimitDecision, RateLimitError> {
        Ok(self.count(key, policy))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::time::Duration;

    use super::*;

    const GLOBAL: RateLimitPolicy = RateLimitPolicy {
        name: "global",
        limit: 100,
        window: Duration::from_secs(60),
    };
    const INSTANCE_CREATION: RateLimitPolicy = RateLimitPolicy {
        name: "instance-creation",
        limit: 20,
        window: Duration::from_secs(60),
    };

    /// A clock the test moves by hand, in milliseconds since a fixed start.
    struct ManualClock {
        start: DateTime<Utc>,
        elapsed_ms: Arc<AtomicI64>,
    }

    impl ManualClock {
        fn new() -> Self {
            Self {
                start: DateTime::parse_from_rfc3339("2025-01-01T12:00:00Z")
                    .unwrap()
                    .with_timezone(&Utc),
                elapsed_ms: Arc::new(AtomicI64::new(0)),
            }
        }

        fn limiter(&self) -> InMemoryRateLimiter {
            let (start, elapsed) = (self.start, Arc::clone(&self.elapsed_ms));
            InMemoryRateLimiter::with_clock(Arc::new(move || {
                start + TimeDelta::milliseconds(elapsed.load(Ordering::SeqCst))
            }))
        }

        fn advance(&self, duration: Duration) {
            let millis = i64::try_from(duration.as_millis()).unwrap();
            self.elapsed_ms.fetch_add(millis, Ordering::SeqCst);
        }

        fn at(&self, offset: Duration) -> DateTime<Utc> {
            self.start + TimeDelta::from_std(offset).unwrap()
        }
    }

    async fn hit(
        limiter: &InMemoryRateLimiter,
        key: &str,
        policy: &RateLimitPolicy,
    ) -> RateLimitDecision {
        limiter.hit(key, policy).await.unwrap()
    }

    #[tokio::test]
    async fn hundred_requests_pass_and_the_hundred_and_first_is_refused() {
        let clock = ManualClock::new();
        let limiter = clock.limiter();
        for expected_remaining in (0..100).rev() {
            let decision = hit(&limiter, "token-a", &GLOBAL).await;
            assert!(decision.allowed);
            assert_eq!(decision.remaining, expected_remaining);
            clock.advance(Duration::from_millis(100));
        }
        let refused = hit(&limiter, "token-a", &GLOBAL).await;
        assert_eq!(
            refused,
            RateLimitDecision {
                allowed: false,
                limit: 100,
                remaining: 0,
                resets_at: clock.at(Duration::from_secs(60)),
            }
        );
        assert!(!hit(&limiter, "token-a", &GLOBAL).await.allowed);
    }

    #[tokio::test]
    async fn remaining_counts_down_and_resets_at_is_fixed_by_the_first_request() {
        let clock = ManualClock::new();
        let limiter = clock.limiter();
        clock.advance(Duration::from_secs(5));
        let first = hit(&limiter, "k", &INSTANCE_CREATION).await;
        clock.advance(Duration::from_secs(30));
        let second = hit(&limiter, "k", &INSTANCE_CREATION).await;
        assert_eq!((first.remaining, second.remaining), (19, 18));
        assert_eq!(first.limit, 20);
        assert_eq!(first.resets_at, clock.at(Duration::from_secs(65)));
        assert_eq!(second.resets_at, first.resets_at);
    }

    #[tokio::test]
    async fn a_new_window_opens_once_the_old_one_has_passed() {
        let clock = ManualClock::new();
        let limiter = clock.limiter();
        for _ in 0..20 {
            hit(&limiter, "k", &INSTANCE_CREATION).await;
        }
        clock.advance(Duration::from_millis(59_999));
        assert!(!hit(&limiter, "k", &INSTANCE_CREATION).await.allowed);

        clock.advance(Duration::from_millis(1));
        let fresh = hit(&limiter, "k", &INSTANCE_CREATION).await;
        assert!(fresh.allowed);
        assert_eq!(fresh.remaining, 19);
        assert_eq!(fresh.resets_at, clock.at(Duration::from_secs(120)));
    }

    #[tokio::test]
    async fn keys_and_policies_have_separate_windows() {
        let clock = ManualClock::new();
        let limiter = clock.limiter();
        for _ in 0..20 {
            hit(&limiter, "token-a", &INSTANCE_CREATION).await;
        }
        assert!(!hit(&limiter, "token-a", &INSTANCE_CREATION).await.allowed);

        let other_key = hit(&limiter, "token-b", &INSTANCE_CREATION).await;
        assert!(other_key.allowed);
        assert_eq!(other_key.remaining, 19);

        let other_policy = hit(&limiter, "token-a", &GLOBAL).await;
        assert!(other_policy.allowed);
        assert_eq!(other_policy.remaining, 99);
    }

    #[tokio::test]
    async fn a_zero_limit_refuses_everything() {
        let limiter = ManualClock::new().limiter();
        let closed = RateLimitPolicy {
            name: "closed",
            limit: 0,
            window: Duration::from_secs(1),
        };
        let decision = hit(&limiter, "k", &closed).await;
        assert!(!decision.allowed);
        assert_eq!(decision.remaining, 0);
    }

    #[tokio::test]
    async fn expired_windows_are_swept_and_live_ones_keep_their_count() {
        let clock = ManualClock::new();
        let limiter = clock.limiter();
        let short = RateLimitPolicy {
            name: "short",
            limit: 1,
            window: Duration::from_secs(1),
        };
        let short_lived_clients = 1000;
        for client in 0..short_lived_clients {
            hit(&limiter, &format!("client-{client}"), &short).await;
        }
        let steady_hits_before_sweep = SWEEP_EVERY_HITS - short_lived_clients - 1;
        for _ in 0..steady_hits_before_sweep {
            hit(&limiter, "steady", &GLOBAL).await;
        }
        clock.advance(Duration::from_secs(2));
        assert_eq!(limiter.tracked_windows(), short_lived_clients + 1);

        // The SWEEP_EVERY_HITS-th request sweeps the expired short windows.
        let steady = hit(&limiter, "steady", &GLOBAL).await;
        assert_eq!(limiter.tracked_windows(), 1);
        let steady_hits = u32::try_from(steady_hits_before_sweep + 1).unwrap();
        assert_eq!(steady.remaining, GLOBAL.limit - steady_hits);
    }
}
