//! What the contract suite cannot see through the port: the limit is shared by every
//! limiter on the same Redis, windows expire in Redis with their window, and a Redis
//! that is away or hangs fails a call within the timeouts, without leaking the URL.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use redis::AsyncCommands;
use ryze_api_rate_limit_redis::test_support::{
    limiter_with_prefix, redis_for_tests, silent_server, unique_key_prefix, unreachable_port,
};
use ryze_api_rate_limit_redis::{RedisRateLimiter, RedisRateLimiterSettings, RedisTimeouts};
use ryze_ports::{RateLimitPolicy, RateLimiter};

const GLOBAL: RateLimitPolicy = RateLimitPolicy {
    name: "global",
    limit: 100,
    window: Duration::from_secs(60),
};

/// The tests' Redis, or `None` after saying the test is skipped.
async fn redis_or_skip(test: &str) -> Option<String> {
    redis_for_tests()
        .await
        .inspect_err(|unavailable| eprintln!("skipped {test}: {unavailable}"))
        .ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn limiters_of_two_nodes_on_one_redis_count_against_one_limit() {
    let Some(url) =
        redis_or_skip("limiters_of_two_nodes_on_one_redis_count_against_one_limit").await
    else {
        return;
    };
    let prefix = unique_key_prefix();
    let nodes = [
        limiter_with_prefix(&url, prefix.clone()),
        limiter_with_prefix(&url, prefix),
    ];
    for request in 0..100 {
        let decision = nodes[request % 2].hit("token-a", &GLOBAL).await.unwrap();
        assert!(decision.allowed, "request {}", request + 1);
    }
    for node in &nodes {
        let refused = node.hit("token-a", &GLOBAL).await.unwrap();
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 0);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_window_is_kept_in_redis_under_the_prefix_and_expires_with_it() {
    let Some(url) =
        redis_or_skip("a_window_is_kept_in_redis_under_the_prefix_and_expires_with_it").await
    else {
        return;
    };
    let prefix = unique_key_prefix();
    let limiter = limiter_with_prefix(&url, prefix.clone());
    let short = RateLimitPolicy {
        name: "short",
        limit: 5,
        window: Duration::from_millis(500),
    };
    limiter.hit("account:a", &short).await.unwrap();

    let mut redis = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let key = format!("{prefix}:short:account:a");
    let time_to_live_ms: i64 = redis.pttl(&key).await.unwrap();
    assert!(
        (1..=500).contains(&time_to_live_ms),
        "{key} expires in {time_to_live_ms} ms"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    let exists: bool = redis.exists(&key).await.unwrap();
    assert!(!exists, "{key} outlived its window");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_redis_fails_the_call_without_leaking_the_url() {
    // A port nothing listens on.
    let port = unreachable_port();
    let limiter = RedisRateLimiter::new(
        &format!("redis://:secret-password@127.0.0.1:{port}"),
        RedisRateLimiterSettings::default(),
    )
    .unwrap();
    for _ in 0..2 {
        let error = limiter.hit("k", &GLOBAL).await.unwrap_err();
        assert!(!error.to_string().contains("secret-password"), "{error}");
        assert!(error.to_string().contains("Redis"), "{error}");
    }
    assert!(limiter.peek("k", &GLOBAL).await.is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redis_that_never_answers_fails_the_call_within_the_timeouts() {
    // Accepts connections and never says a word.
    let (port, silent) = silent_server().await;
    let settings = RedisRateLimiterSettings {
        timeouts: RedisTimeouts {
            connect: Duration::from_millis(300),
            command: Duration::from_millis(200),
        },
        ..RedisRateLimiterSettings::default()
    };
    let limiter = RedisRateLimiter::new(&format!("redis://127.0.0.1:{port}"), settings).unwrap();
    for _ in 0..2 {
        let started = Instant::now();
        assert!(limiter.hit("k", &GLOBAL).await.is_err());
        let took = started.elapsed();
        assert!(took < Duration::from_secs(2), "took {took:?}");
    }
    silent.abort();
}

#[test]
fn a_url_that_is_not_redis_is_refused_without_echoing_it() {
    let Err(invalid) = RedisRateLimiter::new(
        "http://user:secret-password@example.com",
        RedisRateLimiterSettings::default(),
    ) else {
        panic!("an http URL was taken for a Redis URL");
    };
    assert!(!invalid.to_string().contains("secret-password"));
}
