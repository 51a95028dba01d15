//! What the relay costs Chatwoot: one call per message once a conversation exists, the
//! conversation's status taken from Chatwoot's own webhooks (and checked with Chatwoot
//! when one may have been lost), and calls paced under Chatwoot's rate limit.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chatwoot_simulator::model::ConversationStatus;
use chatwoot_simulator::Faults;
use engine_simulator::script::Contact;
use serde_json::json;

use crate::support::product::{maria, message_id_of, relayed, Product, ADMIN_TOKEN};

async fn resolve(product: &Product, display_id: u64) {
    let answer = product
        .client
        .post(format!(
            "{}/api/v1/accounts/1/conversations/{display_id}/toggle_status",
            product.chatwoot.base_url()
        ))
        .header("api_access_token", ADMIN_TOKEN)
        .json(&json!({"status": "resolved"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_steady_state_message_costs_one_chatwoot_call_whatever_reopen_resolved_says() {
    for reopen in [false, true] {
        let product = Product::start(json!({"reopenResolved": reopen})).await;
        let maria = maria();
        product
            .publish(&product.script.text(&maria, "primeira").build())
            .await;
        product.wait_for_messages(1).await;
        // Steady state: contact and conversation exist, and the first webhooks were taken
        // (the first one makes the bridge read the inbox's signing secret, once).
        product
            .wait_for_webhook_delivered("message_created", 1)
            .await;
        product.chatwoot.clear_requests();
        for index in 0..10 {
            product
                .publish(
                    &product
                        .script
                        .text(&maria, format!("mensagem {index}"))
                        .build(),
                )
                .await;
        }
        product.wait_for_messages(11).await;
        let calls: Vec<String> = product
            .chatwoot
            .requests()
            .iter()
            .map(|request| format!("{} {}", request.method, request.path))
            .collect();
        assert_eq!(calls.len(), 10, "reopenResolved {reopen}: {calls:#?}");
        assert!(
            calls
                .iter()
                .all(|call| call.starts_with("POST ") && call.ends_with("/messages")),
            "reopenResolved {reopen}: {calls:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolved_conversation_whose_status_webhook_was_lost_still_gets_a_new_conversation() {
    let product = Product::start_with(
        json!({"reopenResolved": false}),
        &[("RYZE__BRIDGE_SERVICE__CONVERSATION_STATUS_TRUST_SECS", "1")],
    )
    .await;
    let maria = maria();
    product
        .publish(&product.script.text(&maria, "primeira").build())
        .await;
    let store = product.wait_for_messages(1).await;
    let first = store.conversations.values().next().unwrap().clone();
    product.chatwoot.set_faults(Faults {
        drop_status_webhooks: true,
        ..Faults::default()
    });
    resolve(&product, first.display_id).await;
    // Nothing tells the bridge; what it knows of the conversation is only trusted for a
    // second (the setting above), and that second is what this waits out.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    product
        .publish(&product.script.text(&maria, "segunda").build())
        .await;
    let store = product.wait_for_messages(2).await;

    assert!(
        !product
            .chatwoot
            .webhook_deliveries()
            .iter()
            .any(|delivery| delivery.event == "conversation_status_changed"),
        "the status webhook was sent"
    );
    assert_eq!(store.conversations.len(), 2);
    assert_eq!(
        store.conversations[&first.id].status,
        ConversationStatus::Resolved
    );
    let second = relayed(&store)[1];
    assert_eq!(second.content.as_deref(), Some("segunda"));
    assert_ne!(second.conversation_id, first.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_status_webhooks_a_resolved_conversation_is_left_without_asking_chatwoot() {
    let product = Product::start(json!({"reopenResolved": false})).await;
    let maria = maria();
    product
        .publish(&product.script.text(&maria, "primeira").build())
        .await;
    let store = product.wait_for_messages(1).await;
    let first = store.conversations.values().next().unwrap().clone();
    resolve(&product, first.display_id).await;
    product
        .wait_for_webhook_delivered("conversation_status_changed", 1)
        .await;
    product.chatwoot.clear_requests();
    product
        .publish(&product.script.text(&maria, "segunda").build())
        .await;
    let store = product.wait_for_messages(2).await;

    assert_eq!(store.conversations.len(), 2);
    let calls: Vec<String> = product
        .chatwoot
        .requests()
        .iter()
        .map(|request| format!("{} {}", request.method, request.path))
        .collect();
    // A new conversation and the message: no GET of the resolved one.
    assert_eq!(
        calls,
        vec![
            "POST /api/v1/accounts/1/conversations".to_owned(),
            format!(
                "POST /api/v1/accounts/1/conversations/{}/messages",
                store
                    .conversations
                    .values()
                    .map(|conversation| conversation.display_id)
                    .max()
                    .unwrap()
            ),
        ]
    );
}

/// Chatwoot's limit in the pacing test: 120 calls per 6 s window (Chatwoot's 3,000 a
/// minute, scaled down so the test takes seconds).
const LIMIT: usize = 120;
const WINDOW: Duration = Duration::from_secs(6);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_chatwoots_rate_limit_240_messages_from_8_chats_land_once_in_order_and_paced() {
    let product = Product::start_with(
        json!({}),
        &[
            ("RYZE__BRIDGE_SERVICE__CHATWOOT_CALLS_PER_WINDOW", "120"),
            ("RYZE__BRIDGE_SERVICE__CHATWOOT_CALL_WINDOW_SECS", "6"),
        ],
    )
    .await;
    product.chatwoot.set_faults(Faults {
        throttle_limit: u64::try_from(LIMIT).unwrap(),
        throttle_window_ms: u64::try_from(WINDOW.as_millis()).unwrap(),
        ..Faults::default()
    });
    product.chatwoot.clear_requests();
    let chats: Vec<Contact> = (0..8)
        .map(|chat| Contact::new(format!("Cliente {chat}"), &format!("55119876500{chat:02}")))
        .collect();
    let per_chat = 30;
    let started = Instant::now();
    // Each chat's events go in order; the chats at the same time.
    let published =
        futures::future::join_all(chats.iter().enumerate().map(|(chat_index, chat)| {
            let product = &product;
            async move {
                let mut ids = Vec::new();
                for index in 0..per_chat {
                    let event = product
                        .script
                        .text(chat, format!("chat {chat_index} #{index}"))
                        .build();
                    ids.push(message_id_of(&event));
                    product.publish(&event).await;
                }
                ids
            }
        }))
        .await;
    let total = chats.len() * per_chat;
    let store = product.wait_for_messages(total).await;
    let took = started.elapsed();

    // Once each, in order within each chat.
    let landed = relayed(&store);
    assert_eq!(landed.len(), total);
    let mut by_conversation: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for message in &landed {
        by_conversation
            .entry(message.conversation_id)
            .or_default()
            .push(message.source_id.clone().unwrap());
    }
    let mut orders: Vec<Vec<String>> = by_conversation.into_values().collect();
    let mut expected = published.clone();
    orders.sort();
    expected.sort();
    assert_eq!(
        orders, expected,
        "each chat's messages, once each, in order"
    );

    // Few refusals: the bridge paces itself instead of being throttled.
    let requests = product.chatwoot.requests();
    let refused = requests
        .iter()
        .filter(|request| request.status == 429)
        .count();
    assert!(
        refused * 10 < requests.len(),
        "{refused} of {} calls refused",
        requests.len()
    );
    // About the time the limit itself imposes at one call per message.
    let imposed = WINDOW * u32::try_from(total / LIMIT).unwrap();
    assert!(
        took <= imposed * 3 / 2,
        "took {took:?}; the limit imposes {imposed:?} ({} calls, {refused} refused)",
        requests.len()
    );
}
