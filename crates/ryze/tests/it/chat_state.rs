//! Issue 14, typing and labels both ways, end to end with both simulators:
//! - an agent typing a reply in Chatwoot (its `conversation_typing_on`/`_off` webhooks)
//!   reaches the engine as `chat/presence`, at most once per chat every few seconds, and
//!   never for a private note; a contact typing on WhatsApp (`chat.presence`) shows in
//!   Chatwoot through the client API's `toggle_typing`, and is not sent back;
//! - WhatsApp Business labels (`label.update`) become the conversation's labels, and an
//!   agent's label change becomes the chat's WhatsApp labels (`chat/labels`), without
//!   either change coming back to the side it came from.

use std::time::Duration;

use chatwoot_simulator::store::Store;
use chatwoot_simulator::AgentTyping;
use engine_simulator::ReceivedCommand;
use ryze_ports::whatsapp_events::{ChatPresenceState, SendPresence, SetChatLabels};
use serde_json::json;

use crate::support::product::{maria, message_id_of, message_with_source, Product, WAIT};

/// Maria's chat, as the bridge names it to WhatsApp.
const MARIA_JID: &str = "5511987654321@s.whatsapp.net";
/// How long to watch for something that must not happen.
const QUIET: Duration = Duration::from_millis(400);

/// Maria writes on WhatsApp; returns her conversation's display id and internal id.
async fn maria_writes(product: &Product) -> (u64, u64) {
    let event = product.script.text(maria(), "Oi, tudo bem?").build();
    let store = product.publish_until_in_chatwoot(&event).await;
    let internal = message_with_source(&store, &message_id_of(&event)).conversation_id;
    (store.conversations[&internal].display_id, internal)
}

fn presences(commands: &[ReceivedCommand]) -> Vec<&SendPresence> {
    commands
        .iter()
        .filter_map(ReceivedCommand::presence)
        .collect()
}

fn label_commands(commands: &[ReceivedCommand]) -> Vec<&SetChatLabels> {
    commands
        .iter()
        .filter_map(ReceivedCommand::labels)
        .collect()
}

async fn wait_for_engine(
    product: &Product,
    what: &str,
    condition: impl Fn(&[ReceivedCommand]) -> bool,
) -> Vec<ReceivedCommand> {
    if !product
        .engine
        .wait_until(WAIT, |commands| condition(commands))
        .await
    {
        let received: Vec<String> = product
            .engine
            .commands()
            .iter()
            .map(ReceivedCommand::summary)
            .collect();
        panic!("the engine never received {what}:\n{}", received.join("\n"));
    }
    product.engine.commands()
}

fn typing(product: &Product, conversation: u64, on: bool, private: bool) {
    product
        .chatwoot
        .agent_typing(AgentTyping {
            account_id: 1,
            conversation_id: conversation,
            user_id: product.admin.id,
            on,
            private,
        })
        .unwrap();
}

fn conversation_labels(store: &Store, internal: u64) -> Vec<String> {
    store.conversations[&internal].labels.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_typing_a_reply_shows_the_customer_typing_once_and_never_for_a_note() {
    let product = Product::start(json!({})).await;
    let (conversation, _) = maria_writes(&product).await;

    for _ in 0..3 {
        typing(&product, conversation, true, false);
    }
    wait_for_engine(&product, "composing", |commands| {
        !presences(commands).is_empty()
    })
    .await;
    tokio::time::sleep(QUIET).await;
    typing(&product, conversation, false, false);
    let commands = wait_for_engine(&product, "paused", |commands| {
        presences(commands)
            .iter()
            .any(|presence| presence.presence == ChatPresenceState::Paused)
    })
    .await;
    typing(&product, conversation, true, true);
    tokio::time::sleep(QUIET).await;

    let commands_after = product.engine.commands();
    assert_eq!(
        commands_after.len(),
        commands.len(),
        "a private note types nothing"
    );
    let sent: Vec<(&str, &ChatPresenceState)> = presences(&commands_after)
        .into_iter()
        .map(|presence| (presence.number.as_str(), &presence.presence))
        .collect();
    assert_eq!(
        sent,
        [
            (MARIA_JID, &ChatPresenceState::Composing),
            (MARIA_JID, &ChatPresenceState::Paused),
        ],
        "three typing webhooks in a moment make one command"
    );
    assert!(commands_after.iter().all(ReceivedCommand::is_executed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_typing_on_whatsapp_shows_in_chatwoot_and_is_not_sent_back() {
    let product = Product::start(json!({})).await;
    let (_, internal) = maria_writes(&product).await;

    product
        .publish(&product.script.presence(maria(), "composing"))
        .await;
    product
        .wait_for("the contact typing", |store| {
            store.typing_events.iter().any(|event| event.on)
        })
        .await;
    product
        .publish(&product.script.presence(maria(), "paused"))
        .await;
    let store = product
        .wait_for("the contact stopping", |store| {
            store.typing_events.len() >= 2
        })
        .await;
    let shown: Vec<(u64, &str, bool)> = store
        .typing_events
        .iter()
        .map(|event| (event.conversation_id, event.typist.as_str(), event.on))
        .collect();
    assert_eq!(
        shown,
        [(internal, "contact", true), (internal, "contact", false)]
    );

    // Chatwoot tells the bridge of the contact's typing too; it goes nowhere.
    tokio::time::sleep(QUIET).await;
    assert!(
        presences(&product.engine.commands()).is_empty(),
        "{:#?}",
        product.engine.commands()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whatsapp_labels_become_the_conversations_and_are_not_sent_back() {
    let product = Product::start(json!({})).await;
    let (_, internal) = maria_writes(&product).await;

    product
        .publish(&product.script.labels(maria(), ["Novo cliente", "Pago"]))
        .await;
    let store = product
        .wait_for("the labels", |store| {
            !conversation_labels(store, internal).is_empty()
        })
        .await;
    let mut labels = conversation_labels(&store, internal);
    labels.sort();
    assert_eq!(
        labels,
        ["novo-cliente", "pago"],
        "as Chatwoot stores titles"
    );
    let mut account_labels: Vec<&str> = store
        .labels
        .values()
        .map(|label| label.title.as_str())
        .collect();
    account_labels.sort_unstable();
    assert_eq!(
        account_labels,
        ["novo-cliente", "pago"],
        "shown in Chatwoot"
    );

    // Chatwoot posts `conversation_updated` for the change; nothing goes back.
    let answered = product
        .chatwoot
        .wait_until(WAIT, |_, deliveries| {
            deliveries.iter().any(|delivery| {
                delivery.event == "conversation_updated" && delivery.response_status.is_some()
            })
        })
        .await;
    assert!(answered, "{:#?}", product.chatwoot.webhook_deliveries());
    tokio::time::sleep(QUIET).await;
    assert!(label_commands(&product.engine.commands()).is_empty());

    // WhatsApp takes one off.
    product
        .publish(&product.script.labels(maria(), ["Pago"]))
        .await;
    product
        .wait_for("one label left", |store| {
            conversation_labels(store, internal) == ["pago"]
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agents_label_change_becomes_the_chats_whatsapp_labels_once() {
    let product = Product::start(json!({})).await;
    let (conversation, internal) = maria_writes(&product).await;
    product
        .publish(&product.script.labels(maria(), ["Novo cliente"]))
        .await;
    product
        .wait_for("the first label", |store| {
            conversation_labels(store, internal) == ["novo-cliente"]
        })
        .await;

    product
        .chatwoot
        .agent_sets_labels(1, conversation, &["novo-cliente", "vip"])
        .unwrap();
    let commands = wait_for_engine(&product, "the labels", |commands| {
        !label_commands(commands).is_empty()
    })
    .await;
    let sent = label_commands(&commands)[0];
    assert_eq!(sent.number, MARIA_JID);
    assert_eq!(
        sent.labels,
        ["Novo cliente", "vip"],
        "a label from WhatsApp keeps its WhatsApp name"
    );

    // The engine reports the chat's new set, as it does after any change: no echo.
    product
        .publish(&product.script.labels(maria(), ["Novo cliente", "vip"]))
        .await;
    tokio::time::sleep(QUIET).await;
    let store = product.chatwoot.snapshot();
    assert_eq!(
        conversation_labels(&store, internal),
        ["novo-cliente", "vip"]
    );
    assert_eq!(
        label_commands(&product.engine.commands()).len(),
        1,
        "sent once"
    );
}
