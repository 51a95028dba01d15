//! Issue 14, call notices end to end: the engine simulator publishes `call.update`
//! events through the API, and Chatwoot (the simulator) shows one notice per call in the
//! caller's conversation (the group's, for a group call) and one follow-up with its
//! outcome, replying to the notice; later events of the same call add nothing.

use std::time::Duration;

use chatwoot_simulator::model::{Message, MessageType};
use chatwoot_simulator::store::Store;
use serde_json::json;

use crate::support::product::{maria, message_id_of, relayed, sales_team, Product};

/// How long to watch for something that must not happen.
const QUIET: Duration = Duration::from_millis(300);

/// The messages of the conversation holding the message with WhatsApp id `source_id`,
/// in creation order.
fn conversation_of<'a>(store: &'a Store, source_id: &str) -> Vec<&'a Message> {
    let conversation = relayed(store)
        .into_iter()
        .find(|message| message.source_id.as_deref() == Some(source_id))
        .unwrap_or_else(|| panic!("no message {source_id}"))
        .conversation_id;
    store
        .messages
        .values()
        .filter(|message| message.conversation_id == conversation)
        .collect()
}

fn contents(messages: &[&Message]) -> Vec<String> {
    messages
        .iter()
        .map(|message| message.content.clone().unwrap_or_default())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missed_voice_call_is_one_notice_and_one_outcome_in_the_callers_conversation() {
    let product = Product::start(json!({})).await;
    let hello = product.script.text(maria(), "Oi, vou ligar").build();
    product.publish(&hello).await;
    product.wait_for_messages(1).await;

    for status in ["offer", "terminate", "terminate"] {
        let event = product.script.call(maria(), "CA11AA", status).build();
        product.publish(&event).await;
    }
    let store = product
        .wait_for("the call's outcome", |store| {
            relayed(store)
                .iter()
                .any(|message| message.content.as_deref() == Some("📞 Missed voice call"))
        })
        .await;
    tokio::time::sleep(QUIET).await;
    let store_after = product.chatwoot.snapshot();
    assert_eq!(
        store_after.messages.len(),
        store.messages.len(),
        "nothing more"
    );

    let messages = conversation_of(&store_after, &message_id_of(&hello));
    assert_eq!(
        contents(&messages),
        [
            "Oi, vou ligar",
            "📞 Incoming voice call",
            "📞 Missed voice call"
        ],
        "in Maria's own conversation, one notice and one outcome"
    );
    let (notice, outcome) = (messages[1], messages[2]);
    assert_eq!(notice.message_type, MessageType::Incoming);
    assert_eq!(outcome.message_type, MessageType::Incoming);
    assert_eq!(
        outcome.content_attributes.get("in_reply_to"),
        Some(&json!(notice.id)),
        "the outcome replies to the notice"
    );
    assert_eq!(store_after.contacts.len(), 1, "no second contact");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_video_call_answered_on_the_phone_lands_in_the_groups_conversation() {
    let product = Product::start(json!({})).await;
    let (ana, _bruno, group) = sales_team();
    let hello = product.script.text(group.by(&ana), "Bom dia").build();
    product.publish(&hello).await;
    product.wait_for_messages(1).await;

    for status in ["offer", "accept", "terminate"] {
        let event = product
            .script
            .call(group.by(&ana), "CA22BB", status)
            .video()
            .build();
        product.publish(&event).await;
    }
    product
        .wait_for("the call's outcome", |store| {
            relayed(store).iter().any(|message| {
                message
                    .content
                    .as_deref()
                    .is_some_and(|content| content.ends_with("answered on the phone"))
            })
        })
        .await;
    tokio::time::sleep(QUIET).await;
    let store = product.chatwoot.snapshot();
    let messages = conversation_of(&store, &message_id_of(&hello));
    assert_eq!(
        contents(&messages),
        [
            "**Ana** (+5521987650000):\nBom dia",
            "**Ana** (+5521987650000):\n📞 Incoming video call",
            "**Ana** (+5521987650000):\n📞 Video call answered on the phone",
        ],
        "the end of an answered call adds nothing"
    );
    assert_eq!(store.messages.len(), 3);
}
