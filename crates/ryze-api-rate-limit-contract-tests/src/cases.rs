//! The contract cases. Each takes a limiter that has seen no request and panics when
//! the limiter breaks the contract of `ryze_ports::RateLimiter`.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed call fails the case"
)]

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use ryze_ports::{RateLimitDecision, RateLimitPolicy, RateLimiter};

/// How far a limiter's clock (Redis's, for the Redis limiter) may stray from the test's.
const CLOCK_TOLERANCE: TimeDelta = TimeDelta::milliseconds(250);

const MINUTE: Duration = Duration::from_secs(60);

fn policy(name: &'static str, limit: u32, window: Duration) -> RateLimitPolicy {
    RateLimitPolicy {
        name,
        limit,
        window,
    }
}

async fn hit(limiter: &dyn RateLimiter, key: &str, policy: &RateLimitPolicy) -> RateLimitDecision {
    limiter.hit(key, policy).await.unwrap()
}

async fn peek(
    limiter: &dyn RateLimiter,
    key: &str,
    policy: &RateLimitPolicy,
) -> Option<RateLimitDecision> {
    limiter.peek(key, policy).await.unwrap()
}

/// Asserts `actual` is `expected` give or take [`CLOCK_TOLERANCE`].
fn assert_close(actual: DateTime<Utc>, expected: DateTime<Utc>, what: &str) {
    let gap = (actual - expected).abs();
    assert!(
        gap <= CLOCK_TOLERANCE,
        "{what}: {actual} is {gap} away from {expected}"
    );
}

/// Waits until `instant` has passed, plus a margin for the limiter's clock.
async fn sleep_past(instant: DateTime<Utc>) {
    let wait = (instant - Utc::now() + TimeDelta::milliseconds(50))
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(wait).await;
}

pub async fn requests_up_to_the_limit_pass_and_the_next_ones_are_refused(
    limiter: Arc<dyn RateLimiter>,
) {
    let global = policy("global", 5, MINUTE);
    let mut resets_at = None;
    for expected_remaining in (0..5).rev() {
        let decision = hit(&*limiter, "token-a", &global).await;
        assert!(decision.allowed, "request with {expected_remaining} left");
        assert_eq!(decision.limit, 5);
        assert_eq!(decision.remaining, expected_remaining);
        resets_at = Some(decision.resets_at);
    }
    for _ in 0..3 {
        let refused = hit(&*limiter, "token-a", &global).await;
        assert_eq!(
            refused,
            RateLimitDecision {
                allowed: false,
                limit: 5,
                remaining: 0,
                resets_at: resets_at.unwrap(),
            }
        );
    }
}

pub async fn resets_at_is_fixed_by_the_first_request_of_the_window(limiter: Arc<dyn RateLimiter>) {
    let creation = policy("instance-creation", 20, MINUTE);
    let before = Utc::now();
    let first = hit(&*limiter, "k", &creation).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = hit(&*limiter, "k", &creation).await;
    assert_eq!((first.remaining, second.remaining), (19, 18));
    assert_eq!(first.limit, 20);
    assert_close(
        first.resets_at,
        before + TimeDelta::seconds(60),
        "resets_at",
    );
    assert_eq!(second.resets_at, first.resets_at);
}

pub async fn a_new_window_opens_once_the_old_one_has_passed(limiter: Arc<dyn RateLimiter>) {
    let short = policy("short", 2, Duration::from_millis(400));
    let first = hit(&*limiter, "k", &short).await;
    hit(&*limiter, "k", &short).await;
    assert!(!hit(&*limiter, "k", &short).await.allowed);

    sleep_past(first.resets_at).await;
    let fresh = hit(&*limiter, "k", &short).await;
    assert!(fresh.allowed);
    assert_eq!(fresh.remaining, 1);
    assert!(fresh.resets_at > first.resets_at);
    assert_close(
        fresh.resets_at,
        Utc::now() + TimeDelta::milliseconds(400),
        "the new window's resets_at",
    );
}

pub async fn keys_have_separate_windows(limiter: Arc<dyn RateLimiter>) {
    let creation = policy("instance-creation", 3, MINUTE);
    for _ in 0..3 {
        hit(&*limiter, "token-a", &creation).await;
    }
    assert!(!hit(&*limiter, "token-a", &creation).await.allowed);

    let other_key = hit(&*limiter, "token-b", &creation).await;
    assert!(other_key.allowed);
    assert_eq!(other_key.remaining, 2);
}

pub async fn policies_have_separate_windows(limiter: Arc<dyn RateLimiter>) {
    let creation = policy("instance-creation", 3, MINUTE);
    let global = policy("global", 100, MINUTE);
    for _ in 0..3 {
        hit(&*limiter, "token-a", &creation).await;
    }
    assert!(!hit(&*limiter, "token-a", &creation).await.allowed);

    let other_policy = hit(&*limiter, "token-a", &global).await;
    assert!(other_policy.allowed);
    assert_eq!(other_policy.remaining, 99);
}

pub async fn peek_sees_no_window_before_the_first_request(limiter: Arc<dyn RateLimiter>) {
    let global = policy("global", 100, MINUTE);
    assert_eq!(peek(&*limiter, "k", &global).await, None);
    assert_eq!(hit(&*limiter, "k", &global).await.remaining, 99);
}

pub async fn peek_does_not_count(limiter: Arc<dyn RateLimiter>) {
    let global = policy("global", 10, MINUTE);
    let first = hit(&*limiter, "k", &global).await;
    for _ in 0..5 {
        assert_eq!(peek(&*limiter, "k", &global).await, Some(first.clone()));
    }
    assert_eq!(hit(&*limiter, "k", &global).await.remaining, 8);
}

pub async fn peek_sees_a_used_up_window_as_refused(limiter: Arc<dyn RateLimiter>) {
    let creation = policy("instance-creation", 2, MINUTE);
    hit(&*limiter, "k", &creation).await;
    let last = hit(&*limiter, "k", &creation).await;
    assert!(last.allowed);
    let seen = peek(&*limiter, "k", &creation).await.unwrap();
    assert_eq!(
        seen,
        RateLimitDecision {
            allowed: false,
            limit: 2,
            remaining: 0,
            resets_at: last.resets_at,
        }
    );
}

pub async fn peek_sees_no_window_once_it_has_passed(limiter: Arc<dyn RateLimiter>) {
    let short = policy("short", 1, Duration::from_millis(300));
    let first = hit(&*limiter, "k", &short).await;
    assert!(peek(&*limiter, "k", &short).await.is_some());
    sleep_past(first.resets_at).await;
    assert_eq!(peek(&*limiter, "k", &short).await, None);
}

pub async fn a_zero_limit_refuses_everything(limiter: Arc<dyn RateLimiter>) {
    let closed = policy("closed", 0, MINUTE);
    for _ in 0..3 {
        let decision = hit(&*limiter, "k", &closed).await;
        assert!(!decision.allowed);
        assert_eq!((decision.limit, decision.remaining), (0, 0));
    }
}

pub async fn concurrent_requests_never_pass_beyond_the_limit(limiter: Arc<dyn RateLimiter>) {
    let global = policy("global", 20, MINUTE);
    let requests = (0..60).map(|_| {
        let limiter = Arc::clone(&limiter);
        let global = global.clone();
        tokio::spawn(async move { limiter.hit("k", &global).await.unwrap() })
    });
    let decisions = futures::future::join_all(requests).await;
    let mut remaining_of_allowed: Vec<u32> = decisions
        .iter()
        .map(|decision| decision.as_ref().unwrap())
        .filter(|decision| decision.allowed)
        .map(|decision| decision.remaining)
        .collect();
    remaining_of_allowed.sort_unstable();
    assert_eq!(remaining_of_allowed, (0..20).collect::<Vec<u32>>());
}
