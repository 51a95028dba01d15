//! The bridge nodes' leases (`IntegrationLeases`): one holder at a time, a growing epoch
//! at each change of holder, and the database's clock for expiry.

use std::time::{Duration, Instant};

use ryze_ports::{IntegrationLeases, Lease, LeaseHolder};

use super::StoreUnderTest;
use crate::fixtures::relay_integration;

const LONG: Duration = Duration::from_secs(60);
const SHORT: Duration = Duration::from_millis(300);

async fn acquired(
    store: &impl IntegrationLeases,
    label: &str,
    node: &str,
    ttl: Duration,
) -> Option<Lease> {
    store
        .try_acquire(&relay_integration(label), node, ttl)
        .await
        .expect("acquiring answers")
}

/// Polls `node`'s acquisition until it gets the lease (after the holder's expiry).
async fn acquired_once_expired(store: &impl IntegrationLeases, label: &str, node: &str) -> Lease {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(lease) = acquired(store, label, node, LONG).await {
            return lease;
        }
        assert!(Instant::now() < deadline, "the lease never expired");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn a_free_lease_is_acquired_and_a_held_one_refused<S: StoreUnderTest>(store: S) {
    let lease = acquired(&store, "free", "node-a", LONG)
        .await
        .expect("a free lease is granted");
    assert_eq!(lease.epoch, 1);
    assert_eq!(lease.node, "node-a");
    assert_eq!(
        acquired(&store, "free", "node-b", LONG).await,
        None,
        "held and unexpired: refused to another node"
    );
    assert_eq!(
        acquired(&store, "free", "node-a", LONG).await,
        None,
        "held: the holder renews instead"
    );
    assert_eq!(
        store
            .held_by(&relay_integration("free"))
            .await
            .expect("the lease call answers"),
        Some(LeaseHolder {
            node: "node-a".into(),
            epoch: 1,
            live: true
        })
    );
    assert_eq!(
        store
            .held_by(&relay_integration("other"))
            .await
            .expect("the lease call answers"),
        None
    );
}

pub async fn an_expired_lease_is_taken_over_with_a_higher_epoch_and_the_old_holder_cannot_renew<
    S: StoreUnderTest,
>(
    store: S,
) {
    let first = acquired(&store, "expiring", "node-a", SHORT)
        .await
        .expect("a free lease is granted");
    let second = acquired_once_expired(&store, "expiring", "node-b").await;
    assert_eq!(second.epoch, first.epoch + 1, "the fencing token grows");
    assert!(
        !store
            .renew(&first, LONG)
            .await
            .expect("the lease call answers"),
        "the old holder's renewal fails once taken over"
    );
    assert!(store
        .renew(&second, LONG)
        .await
        .expect("the lease call answers"));
    // The old holder's release does not free the new holder's lease.
    store.release(&first).await.expect("the lease call answers");
    assert_eq!(
        store
            .held_by(&relay_integration("expiring"))
            .await
            .expect("the lease call answers"),
        Some(LeaseHolder {
            node: "node-b".into(),
            epoch: 2,
            live: true
        })
    );
}

pub async fn a_renewed_lease_stays_held<S: StoreUnderTest>(store: S) {
    let lease = acquired(&store, "renewed", "node-a", SHORT)
        .await
        .expect("a free lease is granted");
    assert!(store
        .renew(&lease, LONG)
        .await
        .expect("the lease call answers"));
    tokio::time::sleep(SHORT * 2).await;
    assert_eq!(
        acquired(&store, "renewed", "node-b", LONG).await,
        None,
        "renewed past its first expiry"
    );
}

pub async fn a_released_lease_is_free_at_once_and_its_epoch_keeps_growing<S: StoreUnderTest>(
    store: S,
) {
    let lease = acquired(&store, "released", "node-a", LONG)
        .await
        .expect("a free lease is granted");
    store.release(&lease).await.expect("the lease call answers");
    assert_eq!(
        store
            .held_by(&relay_integration("released"))
            .await
            .expect("the lease call answers"),
        None
    );
    assert!(
        !store
            .renew(&lease, LONG)
            .await
            .expect("the lease call answers"),
        "a released lease cannot be renewed"
    );
    let next = acquired(&store, "released", "node-b", LONG)
        .await
        .expect("a released lease is granted at once");
    assert_eq!(next.epoch, 2, "the epoch never goes back");
}

pub async fn concurrent_acquisitions_of_an_expired_lease_grant_it_once<S: StoreUnderTest>(
    store: S,
) {
    let first = acquired(&store, "race", "node-0", Duration::from_millis(1))
        .await
        .expect("a free lease is granted");
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut tasks = tokio::task::JoinSet::new();
    for node in 1..=8 {
        let store = store.clone();
        tasks.spawn(async move { acquired(&store, "race", &format!("node-{node}"), LONG).await });
    }
    let granted: Vec<Lease> = tasks.join_all().await.into_iter().flatten().collect();
    assert_eq!(granted.len(), 1, "one winner: {granted:?}");
    assert_eq!(granted[0].epoch, first.epoch + 1);
}

pub async fn announced_nodes_are_listed_until_they_expire<S: StoreUnderTest>(store: S) {
    assert_eq!(
        store
            .announce_node("node-b", SHORT)
            .await
            .expect("the lease call answers"),
        vec!["node-b".to_owned()]
    );
    assert_eq!(
        store
            .announce_node("node-a", LONG)
            .await
            .expect("the lease call answers"),
        vec!["node-a".to_owned(), "node-b".to_owned()]
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let alive = store
            .announce_node("node-a", LONG)
            .await
            .expect("the lease call answers");
        if alive == vec!["node-a".to_owned()] {
            break;
        }
        assert!(Instant::now() < deadline, "node-b never expired: {alive:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
