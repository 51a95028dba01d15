//! The event hub's contract (the very cases the database hubs pass), run against NATS
//! JetStream (`TEST_NATS_URL`): one prefix per test, its streams deleted afterwards.

use ryze_event_hub_nats::test_support::{test_hub, TestHub};
use ryze_event_hub_nats::NatsEventHub;

/// `(hub, guard)` as the suite wants. Without NATS a case cannot run: it fails, saying
/// why (start `nats-server -js`, or set `TEST_NATS_URL`).
async fn fresh_hub() -> (NatsEventHub, TestHub) {
    match test_hub().await {
        Ok(test_hub) => (test_hub.hub.clone(), test_hub),
        Err(unavailable) => panic!("{unavailable}"),
    }
}

ryze_store_contract_tests::event_hub_contract_tests!(fresh_hub());
