//! What the contract suite cannot see through the port: the keys live under the prefix
//! with the host escaped and expire; a Redis that is away or never answers sends each
//! call to the fallback budget, and the outage is logged once, without the URL.

#![allow(clippy::unwrap_used)]

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use redis::AsyncCommands;
use ryze_bridge_call_budget_redis::test_support::{
    budget_with_prefix, redis_for_tests, silent_server, unique_key_prefix, unreachable_port,
};
use ryze_bridge_call_budget_redis::{RedisCallBudget, RedisCallBudgetSettings, RedisTimeouts};
use ryze_ports::{ChatwootCallBudget, MockChatwootCallBudget};
use ryze_test_support::logs::logs_of;

const HOST: &str = "https://chatwoot.example:443/*";

fn limit(calls: u32) -> NonZeroU32 {
    NonZeroU32::new(calls).unwrap()
}

/// A fallback expecting `takes` calls of `take` and `refusals` of `exceeded`.
fn fallback(takes: usize, refusals: usize) -> Arc<dyn ChatwootCallBudget> {
    let mut fallback = MockChatwootCallBudget::new();
    fallback
        .expect_take()
        .times(takes)
        .returning(|_| Box::pin(async {}));
    fallback
        .expect_exceeded()
        .times(refusals)
        .returning(|_| Box::pin(async {}));
    Arc::new(fallback)
}

#[tokio::test(flavor = "multi_thread")]
async fn counters_live_under_the_prefix_with_the_host_escaped_and_expire() {
    let Ok(url) = redis_for_tests().await.inspect_err(|unavailable| {
        eprintln!("skipped counters_live_under_the_prefix_with_the_host_escaped_and_expire: {unavailable}");
    }) else {
        return;
    };
    let prefix = unique_key_prefix();
    let window = Duration::from_millis(500);
    let budget = budget_with_prefix(&url, prefix.clone(), limit(10), window, fallback(0, 0));
    budget.take(HOST).await;
    budget.exceeded(HOST).await;

    let mut redis = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys: Vec<String> = redis.keys(format!("{prefix}:*")).await.unwrap();
    assert_eq!(keys.len(), 2, "{keys:?}");
    for key in &keys {
        assert!(
            !key.contains("chatwoot.example"),
            "the host is escaped: {key}"
        );
        let time_to_live_ms: i64 = redis.pttl(key).await.unwrap();
        assert!(
            (1..=1_000).contains(&time_to_live_ms),
            "{key} expires in {time_to_live_ms} ms"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_redis_sends_each_call_to_the_fallback_and_logs_the_outage_once() {
    // A port nothing listens on.
    let port = unreachable_port();
    let budget = RedisCallBudget::new(
        &format!("redis://:secret-password@127.0.0.1:{port}"),
        RedisCallBudgetSettings::new(limit(10), Duration::from_secs(60)),
        fallback(3, 1),
    )
    .unwrap();
    let ((), logs) = logs_of(async {
        for _ in 0..3 {
            budget.take(HOST).await;
        }
        budget.exceeded(HOST).await;
    })
    .await;
    assert_eq!(logs.matches("WARN").count(), 1, "{logs}");
    assert!(logs.contains("Redis fails"), "{logs}");
    assert!(!logs.contains("secret-password"), "{logs}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redis_that_never_answers_sends_the_call_to_the_fallback() {
    // Accepts connections and never says a word.
    let (port, silent) = silent_server().await;
    let settings = RedisCallBudgetSettings {
        timeouts: RedisTimeouts {
            connect: Duration::from_millis(300),
            command: Duration::from_millis(200),
        },
        ..RedisCallBudgetSettings::new(limit(10), Duration::from_secs(60))
    };
    let budget = RedisCallBudget::new(
        &format!("redis://127.0.0.1:{port}"),
        settings,
        fallback(2, 0),
    )
    .unwrap();
    for _ in 0..2 {
        tokio::time::timeout(Duration::from_secs(10), budget.take(HOST))
            .await
            .unwrap();
    }
    silent.abort();
}
