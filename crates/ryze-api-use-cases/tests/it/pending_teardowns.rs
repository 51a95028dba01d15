//! Retrying the bridge's deletion of integrations whose deactivation it missed: on the
//! paused clock, the retries back off (doubling, capped) until the bridge confirms or no
//! longer knows the integration, and the pending record is then forgotten.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ryze_api_use_cases::{Budgets, ControlPlane, TeardownRetrySettings};
use ryze_domain::BridgeIntegrationId;
use ryze_ports::{
    GatewayError, IntegrationGateway, MockIntegrationGateway, MockSecretVault, MockStore,
};
use tokio::time::Instant;

/// A store whose pending teardowns live in `pending`.
fn store_over(pending: Arc<Mutex<Vec<BridgeIntegrationId>>>) -> MockStore {
    let mut store = MockStore::new();
    let listed = pending.clone();
    store
        .expect_list_pending_teardowns()
        .returning(move || Ok(listed.lock().unwrap().clone()));
    store.expect_forget_pending_teardown().returning(move |id| {
        pending
            .lock()
            .unwrap()
            .retain(|pending_id| pending_id != id);
        Ok(())
    });
    store
}

fn plane(store: MockStore, gateway: MockIntegrationGateway) -> ControlPlane {
    ControlPlane::new(
        Arc::new(store),
        Arc::new(MockSecretVault::new()),
        Some(Arc::new(gateway) as Arc<dyn IntegrationGateway>),
        Budgets::default(),
    )
}

fn unreachable() -> GatewayError {
    GatewayError::Unreachable {
        detail: "connection refused".to_owned(),
    }
}

#[tokio::test(start_paused = true)]
async fn a_missed_deletion_is_retried_with_capped_backoff_until_the_bridge_confirms() {
    let failing = BridgeIntegrationId::new("int_failing");
    let unknown = BridgeIntegrationId::new("int_unknown");
    let pending = Arc::new(Mutex::new(vec![failing.clone(), unknown.clone()]));
    let started = Instant::now();
    let attempts_on_failing = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let mut gateway = MockIntegrationGateway::new();
    let attempts = attempts_on_failing.clone();
    gateway
        .expect_deactivate()
        .withf(|id| id.as_str() == "int_failing")
        .times(4)
        .returning(move |_| {
            let mut attempts = attempts.lock().unwrap();
            attempts.push(started.elapsed());
            if attempts.len() <= 3 {
                Err(unreachable())
            } else {
                Ok(())
            }
        });
    // The bridge no longer knowing the integration counts as deleted: asked once.
    gateway
        .expect_deactivate()
        .withf(|id| id.as_str() == "int_unknown")
        .times(1)
        .returning(|_| Err(GatewayError::NotFound));
    let plane = plane(store_over(pending.clone()), gateway);

    let retrying = tokio::spawn(async move {
        plane
            .run_pending_teardowns(TeardownRetrySettings {
                first_delay: Duration::from_secs(5),
                max_delay: Duration::from_secs(8),
            })
            .await;
    });
    tokio::time::timeout(Duration::from_secs(600), async {
        while !pending.lock().unwrap().is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("every pending deletion is confirmed in time");
    retrying.abort();

    assert_eq!(
        *attempts_on_failing.lock().unwrap(),
        [0, 5, 13, 21].map(Duration::from_secs),
        "5 s, then doubling, capped at 8 s"
    );
}

#[tokio::test(start_paused = true)]
async fn nothing_pending_asks_the_bridge_nothing() {
    let pending = Arc::new(Mutex::new(Vec::new()));
    let mut gateway = MockIntegrationGateway::new();
    gateway.expect_deactivate().never();
    let plane = plane(store_over(pending), gateway);
    assert!(plane.retry_pending_teardowns().await);
}
