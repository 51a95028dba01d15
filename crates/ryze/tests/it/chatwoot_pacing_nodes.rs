//! Two bridge nodes (two `ryze serve` in this test process, each with its own API,
//! database and WhatsApp engine) calling one Chatwoot simulator whose rate limit is on,
//! sharing one Redis (`REDIS_URL`): together they stay under Chatwoot's limit.

use std::sync::Arc;
use std::time::Duration;

use chatwoot_simulator::Faults;
use engine_simulator::script::Contact;
use ryze_api_rate_limit_redis::test_support::{redis_for_tests, unique_key_prefix};
use serde_json::json;

use crate::support::product::{relayed, Product};

/// Chatwoot's limit in this test: 40 calls per 2 s window, for both nodes together.
const LIMIT: u64 = 40;
const WINDOW: Duration = Duration::from_secs(2);

/// Publishes `per_chat` texts in each of `chats` chats of `product`, the chats at once.
async fn publish_texts(product: &Product, first_phone: u32, chats: u32, per_chat: usize) {
    futures::future::join_all((0..chats).map(|chat| async move {
        let contact = Contact::new(
            format!("Cliente {}", first_phone + chat),
            &format!("5511987{:06}", first_phone + chat),
        );
        for index in 0..per_chat {
            let event = product
                .script
                .text(&contact, format!("chat {chat} #{index}"))
                .build();
            product.publish(&event).await;
        }
    }))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_bridges_sharing_redis_stay_under_chatwoots_limit_together() {
    let redis_url = match redis_for_tests().await {
        Ok(url) => url,
        Err(unavailable) => {
            eprintln!("skipped the two-bridge pacing test: {unavailable}");
            return;
        }
    };
    let prefix = unique_key_prefix();
    let limit = LIMIT.to_string();
    let window_secs = WINDOW.as_secs().to_string();
    let settings = [
        ("REDIS_URL", redis_url.as_str()),
        ("RYZE__BRIDGE_SERVICE__CHATWOOT_CALLS_PER_WINDOW", &limit),
        (
            "RYZE__BRIDGE_SERVICE__CHATWOOT_CALL_WINDOW_SECS",
            &window_secs,
        ),
        ("RYZE__BRIDGE_SERVICE__CHATWOOT_BUDGET_KEY_PREFIX", &prefix),
    ];
    let first = Product::start_with(json!({}), &settings).await;
    let second = Product::start_on(
        Arc::clone(&first.chatwoot),
        first.admin.clone(),
        json!({ "inboxName": "WhatsApp 2" }),
        &settings,
    )
    .await;
    first.chatwoot.set_faults(Faults {
        throttle_limit: LIMIT,
        throttle_window_ms: u64::try_from(WINDOW.as_millis()).unwrap(),
        ..Faults::default()
    });
    first.chatwoot.clear_requests();

    // 160 messages, 80 through each bridge: over four windows' worth of calls.
    let (chats, per_chat) = (4, 20);
    futures::future::join(
        publish_texts(&first, 100, chats, per_chat),
        publish_texts(&second, 200, chats, per_chat),
    )
    .await;
    let total = 2 * usize::try_from(chats).unwrap() * per_chat;
    let store = first.wait_for_messages(total).await;
    assert_eq!(relayed(&store).len(), total, "each message once");

    // Each node alone would have used the whole limit: together they would be refused
    // by the dozen. Sharing the budget, Chatwoot refuses none or nearly none (a call
    // sent at the very end of a window may reach Chatwoot in the next).
    let requests = first.chatwoot.requests();
    let refused = requests
        .iter()
        .filter(|request| request.status == 429)
        .count();
    assert!(
        refused <= 5,
        "{refused} of {} calls refused by Chatwoot's limit",
        requests.len()
    );
}
