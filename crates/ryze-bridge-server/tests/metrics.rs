//! `GET /metrics` on the bridge: the relay's metrics in the OpenMetrics text format,
//! with the gauges read at scrape time, behind `METRICS_TOKEN` when it is set.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{test, App};
use async_trait::async_trait;
use ryze_bridge_server::{configure_bridge, BridgeState};
use ryze_bridge_use_cases::outbound::{OutboundPorts, OutboundSettings};
use ryze_bridge_use_cases::{Bridge, BridgeSettings};
use ryze_metrics::PrometheusRelayMetrics;
use ryze_ports::chatwoot::MockChatwootApi;
use ryze_ports::{
    CallOutcome, CallPeer, MockBridgeIntegrationStore, MockMediaFetcher, MockOutboundGuard,
    MockOutboundQueueStore, MockRateLimiter, MockRelayStore, MockSecretVault, MockWhatsAppSender,
    RelayMetrics, StoreError, StoreHealth,
};
use secrecy::SecretString;

struct HealthyDatabase;

#[async_trait]
impl StoreHealth for HealthyDatabase {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// A bridge whose queue holds `pending` webhooks, reporting in `metrics`.
fn bridge(metrics: Arc<PrometheusRelayMetrics>, pending: u64) -> Bridge {
    let mut queue = MockOutboundQueueStore::new();
    queue
        .expect_count_pending_webhooks()
        .returning(move || Ok(pending));
    Bridge::new(
        Arc::new(MockBridgeIntegrationStore::new()),
        Arc::new(MockChatwootApi::new()),
        Arc::new(MockSecretVault::new()),
        Arc::new(MockOutboundGuard::new()),
        BridgeSettings {
            public_url: "https://bridge.example".parse().unwrap(),
        },
    )
    .with_metrics(metrics)
    .with_outbound(OutboundPorts {
        queue: Arc::new(queue),
        relay_store: Arc::new(MockRelayStore::new()),
        whatsapp: Arc::new(MockWhatsAppSender::new()),
        downloader: Arc::new(MockMediaFetcher::new()),
        webhook_limiter: Arc::new(MockRateLimiter::new()),
        settings: OutboundSettings::default(),
    })
}

fn state(bridge: Bridge, metrics_token: Option<&str>) -> BridgeState {
    BridgeState {
        bridge: Arc::new(bridge),
        database: Arc::new(HealthyDatabase),
        token: SecretString::from("bridge-token"),
        metrics_token: metrics_token.map(SecretString::from),
    }
}

#[actix_web::test]
async fn metrics_show_the_relay_figures_and_the_queue_read_at_scrape_time() {
    let metrics = Arc::new(PrometheusRelayMetrics::new());
    metrics.call_finished(
        CallPeer::Chatwoot,
        "POST /api/v1/accounts/{id}/conversations/{id}/messages",
        CallOutcome::Ok,
        Duration::from_millis(40),
    );
    let app =
        test::init_service(App::new().configure(configure_bridge(state(bridge(metrics, 3), None))))
            .await;
    let response =
        test::call_service(&app, test::TestRequest::get().uri("/metrics").to_request()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    let text = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
    for line in [
        r#"ryze_service_calls_total{peer="chatwoot",endpoint="POST /api/v1/accounts/{id}/conversations/{id}/messages",outcome="ok"} 1"#,
        "ryze_bridge_pending_webhooks 3",
        "# EOF",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line} missing in:\n{text}"
        );
    }
}

#[actix_web::test]
async fn with_a_metrics_token_the_metrics_need_it() {
    let metrics = Arc::new(PrometheusRelayMetrics::new());
    let app = test::init_service(App::new().configure(configure_bridge(state(
        bridge(metrics, 0),
        Some("metrics-token-of-the-bridge"),
    ))))
    .await;
    for refused in [
        test::TestRequest::get().uri("/metrics"),
        test::TestRequest::get()
            .uri("/metrics")
            .insert_header(("authorization", "Bearer bridge-token")),
    ] {
        let response = test::call_service(&app, refused.to_request()).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let allowed = test::TestRequest::get()
        .uri("/metrics")
        .insert_header(("authorization", "Bearer metrics-token-of-the-bridge"));
    let response = test::call_service(&app, allowed.to_request()).await;
    assert_eq!(response.status(), StatusCode::OK);
}
