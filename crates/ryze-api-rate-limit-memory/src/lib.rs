//! In-process [`RateLimiter`]: one fixed window per (policy, key), for a single API
//! replica.
//!
//! A window opens at the key's first request and lasts `policy.window`; inside it the
//! first `policy.limit` requests are allowed and every further one is refused (refusals
//! are not counted). Once the window has passed, the next request opens a new one. This
//! is the `INCR` + `EXPIRE` behaviour the port documents.
//!
//! Memory is bounded whatever the request rate: at most `max_windows` windows are held
//! (default [`DEFAULT_MAX_WINDOWS`]), plus one overflow window per policy and shard.
//! When a shard is full and a new key arrives, the shard's expired windows are swept
//! (at most once a second); if it is still full, the new key is counted in the shard's
//! overflow window for that policy, shared by every key that did not fit. A flood of
//! new keys therefore cannot evict live windows (resetting their counts) nor grow the
//! map; it only limits the newcomers together.
//!
//! Expired windows are also swept once the requests since the last sweep reach
//! [`SWEEP_EVERY_HITS`] or the number of windows the last sweep kept, whichever is
//! larger, so a sweep's cost is spread over at least as many requests as it scans.
//!
//! The windows sit in [`SHARDS`] shards, each behind its own `std::sync::Mutex` held
//! only for a map lookup (and, now and then, a sweep); nothing awaits while it is held.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use ryze_ports::{RateLimitDecision, RateLimitError, RateLimitPolicy, RateLimiter};

/// Fewest requests between two sweeps of expired windows.
pub const SWEEP_EVERY_HITS: usize = 1024;

/// Most windows held by default (a few tens of bytes each plus the key).
pub const DEFAULT_MAX_WINDOWS: usize = 100_000;

/// Number of independently locked shards.
pub const SHARDS: usize = 16;

/// Shortest time between two sweeps forced by a full shard.
const FORCED_SWEEP_INTERVAL: TimeDelta = TimeDelta::seconds(1);

/// Where the limiter reads the time; injectable for tests.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The in-process limiter. Share it through an `Arc`.
pub struct InMemoryRateLimiter {
    clock: Clock,
    shards: Vec<Mutex<Shard>>,
    hasher: RandomState,
    windows_per_shard: usize,
    hits_since_sweep: AtomicUsize,
    /// Windows kept by the last sweep.
    kept_by_last_sweep: AtomicUsize,
}

struct Window {
    count: u32,
    resets_at: DateTime<Utc>,
}

#[derive(Default)]
struct Shard {
    /// (policy name, key) → its current window.
    windows: HashMap<(&'static str, String), Window>,
    /// Policy name → the window shared by the keys that did not fit.
    overflow: HashMap<&'static str, Window>,
    /// No sweep forced by a full shard before this instant.
    next_forced_sweep: Option<DateTime<Utc>>,
}

impl InMemoryRateLimiter {
    /// A limiter on the system clock holding at most [`DEFAULT_MAX_WINDOWS`] windows.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(Utc::now))
    }

    /// A limiter reading the time from `clock`.
    pub fn with_clock(clock: Clock) -> Self {
        Self::with_clock_and_capacity(clock, DEFAULT_MAX_WINDOWS)
    }

    /// A limiter on the system clock holding at most `max_windows` windows (plus the
    /// overflow windows).
    pub fn with_capacity(max_windows: usize) -> Self {
        Self::with_clock_and_capacity(Arc::new(Utc::now), max_windows)
    }

    /// A limiter reading the time from `clock`, holding at most `max_windows` windows.
    pub fn with_clock_and_capacity(clock: Clock, max_windows: usize) -> Self {
        Self {
            clock,
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            hasher: RandomState::new(),
            windows_per_shard: max_windows.div_ceil(SHARDS).max(1),
            hits_since_sweep: AtomicUsize::new(0),
            kept_by_last_sweep: AtomicUsize::new(0),
        }
    }

    /// Windows currently held in memory, expired ones not yet swept included.
    pub fn tracked_windows(&self) -> usize {
        (0..self.shards.len())
            .map(|index| {
                let shard = self.lock(index);
                shard.windows.len() + shard.overflow.len()
            })
            .sum()
    }

    fn shard_of(&self, policy: &RateLimitPolicy, key: &str) -> usize {
        let hash = self.hasher.hash_one((policy.name, key));
        // The remainder is below SHARDS, so it fits a usize.
        usize::try_from(hash % SHARDS as u64).unwrap_or(0)
    }

    /// Counts one request; see the crate documentation.
    fn count(&self, key: &str, policy: &RateLimitPolicy) -> RateLimitDecision {
        let now = (self.clock)();
        self.sweep_if_due(now);
        let mut guard = self.lock(self.shard_of(policy, key));
        let shard = &mut *guard;
        let own_key = (policy.name, key.to_owned());
        let window = if shard.windows.contains_key(&own_key)
            || shard.has_room(self.windows_per_shard, now)
        {
            shard
                .windows
                .entry(own_key)
                .or_insert_with(|| Window::opening(now, policy))
        } else {
            shard
                .overflow
                .entry(policy.name)
                .or_insert_with(|| Window::opening(now, policy))
        };
        if window.resets_at <= now {
            *window = Window::opening(now, policy);
        }
        let allowed = window.count < policy.limit;
        if allowed {
            window.count += 1;
        }
        window.decision(allowed, policy)
    }

    /// The current window of `key`, uncounted.
    fn look(&self, key: &str, policy: &RateLimitPolicy) -> Option<RateLimitDecision> {
        let now = (self.clock)();
        let shard = self.lock(self.shard_of(policy, key));
        let window = shard
            .windows
            .get(&(policy.name, key.to_owned()))
            .filter(|window| window.resets_at > now)?;
        Some(window.decision(window.count < policy.limit, policy))
    }

    fn sweep_if_due(&self, now: DateTime<Utc>) {
        let hits = self.hits_since_sweep.fetch_add(1, Ordering::Relaxed) + 1;
        if hits < SWEEP_EVERY_HITS.max(self.kept_by_last_sweep.load(Ordering::Relaxed)) {
            return;
        }
        self.hits_since_sweep.store(0, Ordering::Relaxed);
        let kept = (0..self.shards.len())
            .map(|index| {
                let mut shard = self.lock(index);
                shard.sweep(now);
                shard.windows.len() + shard.overflow.len()
            })
            .sum();
        self.kept_by_last_sweep.store(kept, Ordering::Relaxed);
    }

    /// A shard, even if a thread panicked while holding it: the counters stay
    /// consistent (every update is a single assignment), so going on is safe.
    fn lock(&self, index: usize) -> MutexGuard<'_, Shard> {
        self.shards[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
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

    fn decision(&self, allowed: bool, policy: &RateLimitPolicy) -> RateLimitDecision {
        RateLimitDecision {
            allowed,
            limit: policy.limit,
            remaining: policy.limit.saturating_sub(self.count),
            resets_at: self.resets_at,
        }
    }
}

impl Shard {
    fn sweep(&mut self, now: DateTime<Utc>) {
        self.windows.retain(|_, window| window.resets_at > now);
        self.overflow.retain(|_, window| window.resets_at > now);
    }

    /// Whether a new key's window fits, after sweeping a full shard (at most once a
    /// second, so a flood of new keys does not make every request scan the shard).
    fn has_room(&mut self, windows_per_shard: usize, now: DateTime<Utc>) -> bool {
        if self.windows.len() < windows_per_shard {
            return true;
        }
        if self.next_forced_sweep.is_some_and(|next| now < next) {
            return false;
        }
        self.sweep(now);
        self.next_forced_sweep = now.checked_add_signed(FORCED_SWEEP_INTERVAL);
        self.windows.len() < windows_per_shard
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

    async fn peek(
        &self,
        key: &str,
        policy: &RateLimitPolicy,
    ) -> Result<Option<RateLimitDecision>, RateLimitError> {
        Ok(self.look(key, policy))
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

    #[tokio::test]
    async fn peek_reads_the_window_without_counting() {
        let clock = ManualClock::new();
        let limiter = clock.limiter();
        assert_eq!(limiter.peek("k", &INSTANCE_CREATION).await.unwrap(), None);
        for _ in 0..20 {
            hit(&limiter, "k", &INSTANCE_CREATION).await;
        }
        let seen = limiter
            .peek("k", &INSTANCE_CREATION)
            .await
            .unwrap()
            .unwrap();
        assert!(!seen.allowed);
        assert_eq!(seen.remaining, 0);
        assert_eq!(seen.resets_at, clock.at(Duration::from_secs(60)));
        clock.advance(Duration::from_secs(60));
        assert_eq!(limiter.peek("k", &INSTANCE_CREATION).await.unwrap(), None);
    }

    #[tokio::test]
    async fn memory_stays_bounded_whatever_the_number_of_keys() {
        let clock = ManualClock::new();
        let (start, elapsed) = (clock.start, Arc::clone(&clock.elapsed_ms));
        let max_windows = 64;
        let limiter = InMemoryRateLimiter::with_clock_and_capacity(
            Arc::new(move || start + TimeDelta::milliseconds(elapsed.load(Ordering::SeqCst))),
            max_windows,
        );
        let policy = RateLimitPolicy {
            name: "unauthenticated",
            limit: 5,
            window: Duration::from_secs(60),
        };
        // A live key before the flood keeps its own window and count.
        for _ in 0..3 {
            hit(&limiter, "steady", &policy).await;
        }
        let mut refused = 0;
        for client in 0..20_000 {
            if !hit(&limiter, &format!("client-{client}"), &policy)
                .await
                .allowed
            {
                refused += 1;
            }
        }
        assert!(
            limiter.tracked_windows() <= max_windows + SHARDS,
            "{} windows held",
            limiter.tracked_windows()
        );
        assert!(
            refused > 19_000,
            "the keys that did not fit share overflow windows: {refused} refused"
        );
        let steady = hit(&limiter, "steady", &policy).await;
        assert_eq!((steady.allowed, steady.remaining), (true, 1));

        // Once the windows have passed, new keys get windows of their own again.
        clock.advance(Duration::from_secs(61));
        let fresh = hit(&limiter, "client-after", &policy).await;
        assert_eq!((fresh.allowed, fresh.remaining), (true, 4));
    }
}
