//! Issue-13 acceptance, observability: after a message is relayed both ways through
//! `ryze serve` (engine → API → bridge → Chatwoot, then an agent's reply Chatwoot →
//! bridge → API → engine), `GET /metrics` on the API and on the bridge shows the relay
//! latency in each direction and the calls to Chatwoot, the API and the engine by route
//! and outcome — with no token, URL or query string in any label.

use std::time::Instant;

use crate::support::product::{
    maria, message_id_of, message_with_source, Product, ADMIN_TOKEN, BRIDGE_TOKEN, ENGINE_TOKEN,
    WAIT,
};
use chatwoot_simulator::AgentReply;
use engine_simulator::CommandKind;
use serde_json::json;

/// The value of the sample `name{labels}` in an exposition, if present.
fn sample(exposition: &str, series: &str) -> Option<f64> {
    exposition.lines().find_map(|line| {
        let value = line.strip_prefix(series)?.strip_prefix(' ')?;
        value.parse().ok()
    })
}

async fn metrics_of(product: &Product, base: &str) -> String {
    let answer = product
        .client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    answer.text().await.unwrap()
}

/// Polls `base`'s `/metrics` until `series` counts at least one.
async fn wait_for_sample(product: &Product, base: &str, series: &str) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let exposition = metrics_of(product, base).await;
        if sample(&exposition, series).is_some_and(|value| value >= 1.0) {
            return exposition;
        }
        assert!(
            Instant::now() < deadline,
            "{base}/metrics never showed {series}:\n{exposition}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_message_each_way_metrics_show_both_latencies_and_calls_by_outcome() {
    let product = Product::start(json!({})).await;

    // WhatsApp → Chatwoot.
    let event = product.script.text(maria(), "Oi, tudo bem?").build();
    product.publish(&event).await;
    let store = product.wait_for_messages(1).await;
    let customer = message_with_source(&store, &message_id_of(&event));
    let conversation = store.conversations[&customer.conversation_id].display_id;

    // Chatwoot → WhatsApp.
    product
        .chatwoot
        .agent_reply(AgentReply {
            account_id: 1,
            conversation_id: conversation,
            user_id: product.admin.id,
            content: "Tudo, e você?".to_owned(),
            private: false,
            content_attributes: None,
        })
        .unwrap();
    assert!(
        product
            .engine
            .wait_until(WAIT, |commands| commands
                .iter()
                .any(|command| command.kind() == CommandKind::Text))
            .await,
        "the agent's reply never reached the engine"
    );

    for base in [&product.api, &product.bridge] {
        wait_for_sample(
            &product,
            base,
            r#"ryze_relay_message_latency_seconds_count{direction="to_whatsapp"}"#,
        )
        .await;
        let exposition = wait_for_sample(
            &product,
            base,
            r#"ryze_relay_message_latency_seconds_count{direction="to_chatwoot"}"#,
        )
        .await;
        for series in [
            // The bridge wrote the customer's message in Chatwoot…
            r#"ryze_service_calls_total{peer="chatwoot",endpoint="POST /api/v1/accounts/{id}/conversations/{id}/messages",outcome="ok"}"#,
            r#"ryze_service_call_duration_seconds_count{peer="chatwoot",endpoint="POST /api/v1/accounts/{id}/conversations/{id}/messages"}"#,
            // …sent the reply through the API's message endpoint…
            r#"ryze_service_calls_total{peer="api",endpoint="POST /api/message/text/{instanceId}",outcome="ok"}"#,
            // …which the API handed to the engine.
            r#"ryze_service_calls_total{peer="engine",endpoint="POST /v1/instances/{instanceId}/message/text",outcome="ok"}"#,
            // The API saw the bridge acknowledge the event.
            "ryze_event_hub_delivery_seconds_count",
        ] {
            assert!(
                sample(&exposition, series).is_some_and(|value| value >= 1.0),
                "{base}/metrics lacks {series}:\n{exposition}"
            );
        }
        if base == &product.bridge {
            // Read at the bridge's scrape (the API's, in `ryze serve`, shows the last).
            assert_eq!(
                sample(&exposition, r#"ryze_bridge_sessions{state="connected"}"#),
                Some(1.0),
                "{exposition}"
            );
            assert_eq!(
                sample(&exposition, "ryze_bridge_pending_webhooks"),
                Some(0.0)
            );
        }
        for secret in [
            ADMIN_TOKEN,
            BRIDGE_TOKEN,
            ENGINE_TOKEN,
            &product.account_token,
            "http://",
            "?",
        ] {
            assert!(
                !exposition
                    .lines()
                    .filter(|line| !line.starts_with('#'))
                    .any(|line| line.contains(secret)),
                "{base}/metrics shows {secret:?}:\n{exposition}"
            );
        }
    }
}
