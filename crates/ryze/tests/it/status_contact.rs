//! Issue 14, the status contact end to end: one contact per integration ("WhatsApp ·
//! suporte") and its conversation show the instance's connection changes
//! (`instance.state`): `connected` with the number, `disconnected` with the reason, each
//! `qr` as a QR-code image that the next code (or the connection) replaces. Agents' commands
//! there (`/status`, `/reconnect`, `/logout`, `/help`) are answered there, and nothing
//! typed there reaches a WhatsApp chat; the instance's own number never becomes a
//! customer.

use std::time::Duration;

use chatwoot_simulator::model::{Contact, FileType, Message, MessageType};
use chatwoot_simulator::store::Store;
use engine_simulator::script::default_own_account;
use engine_simulator::{CommandKind, ReceivedCommand};
use ryze_ports::whatsapp_events::InstanceAction;
use serde_json::json;

use crate::support::harness::agent_public_reply;
use crate::support::product::{maria, Product};

const STATUS_CONTACT: &str = "WhatsApp · suporte";
/// How long to watch for something that must not happen.
const QUIET: Duration = Duration::from_millis(400);

fn status_contact(store: &Store) -> Option<&Contact> {
    store
        .contacts
        .values()
        .find(|contact| contact.name == STATUS_CONTACT)
}

/// The status conversation's messages, oldest first.
fn status_messages(store: &Store) -> Vec<&Message> {
    let Some(contact) = status_contact(store) else {
        return Vec::new();
    };
    let conversations: Vec<u64> = store
        .conversations
        .values()
        .filter(|conversation| conversation.contact_id == contact.id)
        .map(|conversation| conversation.id)
        .collect();
    store
        .messages
        .values()
        .filter(|message| conversations.contains(&message.conversation_id))
        .collect()
}

fn shows(store: &Store, text: &str) -> bool {
    status_messages(store).iter().any(|message| {
        message
            .content
            .as_deref()
            .is_some_and(|content| content.contains(text))
    })
}

/// The status conversation's display id.
fn status_conversation(store: &Store) -> u64 {
    let message = status_messages(store)[0];
    store.conversations[&message.conversation_id].display_id
}

impl Product {
    async fn connected(&self) -> Store {
        self.publish(&self.script.connected()).await;
        self.wait_for("the connection notice", |store| {
            shows(
                store,
                "✅ WhatsApp connected as +5511988887777 (Loja Simulada).",
            )
        })
        .await
    }

    fn agent_types(&self, conversation: u64, text: &str) -> Message {
        self.chatwoot
            .agent_reply(agent_public_reply(self.admin.id, conversation, text))
            .unwrap()
    }

    /// Waits for the status contact's answer to the agent's message `asked`.
    async fn answer_to(&self, asked: &Message) -> String {
        let store = self
            .wait_for("the answer", |store| {
                store.messages.values().any(|message| {
                    message.content_attributes.get("in_reply_to") == Some(&json!(asked.id))
                })
            })
            .await;
        let answer = store
            .messages
            .values()
            .find(|message| message.content_attributes.get("in_reply_to") == Some(&json!(asked.id)))
            .unwrap();
        assert_eq!(
            answer.message_type,
            MessageType::Incoming,
            "from the status contact"
        );
        assert_eq!(
            answer.conversation_id, asked.conversation_id,
            "answered there"
        );
        answer.content.clone().unwrap_or_default()
    }
}

/// Commands that would reach a WhatsApp chat.
fn chat_commands(commands: &[ReceivedCommand]) -> Vec<&ReceivedCommand> {
    commands
        .iter()
        .filter(|command| {
            !matches!(
                command.kind(),
                CommandKind::Reconnect | CommandKind::Logout | CommandKind::DownloadMedia
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agents_status_command_is_answered_in_the_status_conversation_and_reaches_no_chat() {
    let product = Product::start(json!({})).await;
    let store = product.connected().await;
    let contact = status_contact(&store).unwrap();
    assert!(
        contact
            .identifier
            .as_deref()
            .is_some_and(|id| id.starts_with("ryze-status:")),
        "{contact:?}"
    );
    assert_eq!(contact.phone_number, None, "never a customer");
    let conversation = status_conversation(&store);

    let asked = product.agent_types(conversation, "/status");
    let answer = product.answer_to(&asked).await;
    assert_eq!(
        answer,
        "Status: ✅ WhatsApp connected as +5511988887777 (Loja Simulada)."
    );
    let help = product.agent_types(conversation, "olá, alguém?");
    assert!(product.answer_to(&help).await.contains("/reconnect"));

    tokio::time::sleep(QUIET).await;
    let commands = product.engine.commands();
    assert!(chat_commands(&commands).is_empty(), "{commands:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_and_logout_go_to_the_engine_and_are_answered() {
    let product = Product::start(json!({})).await;
    let store = product.connected().await;
    let conversation = status_conversation(&store);

    let reconnect = product.agent_types(conversation, "/reconnect");
    assert!(product
        .answer_to(&reconnect)
        .await
        .starts_with("🔄 Reconnecting"));
    let logout = product.agent_types(conversation, "/LOGOUT");
    assert!(product.answer_to(&logout).await.starts_with("👋"));

    let commands = product.engine.commands();
    let actions: Vec<(InstanceAction, &str)> = commands
        .iter()
        .filter_map(|command| Some((command.instance_action()?, command.instance.as_str())))
        .collect();
    assert_eq!(
        actions,
        [
            (InstanceAction::Reconnect, product.instance_id.as_str()),
            (InstanceAction::Logout, product.instance_id.as_str()),
        ]
    );
    assert!(chat_commands(&commands).is_empty(), "{commands:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_qr_code_replaces_the_last_and_the_connection_replaces_the_code() {
    let product = Product::start(json!({})).await;
    product
        .publish(&product.script.disconnected("logged_out"))
        .await;
    product
        .wait_for("the disconnection", |store| {
            shows(
                store,
                "⚠️ WhatsApp disconnected: the device was logged out on the phone",
            )
        })
        .await;

    product.publish(&product.script.qr("2@first,code,A")).await;
    let store = product
        .wait_for("the first code", |store| {
            status_messages(store)
                .iter()
                .any(|message| !message.attachments.is_empty())
        })
        .await;
    let first = status_messages(&store)
        .into_iter()
        .find(|message| !message.attachments.is_empty())
        .unwrap()
        .clone();
    let image = &first.attachments[0];
    assert_eq!(image.file_type, FileType::Image);
    assert_eq!(image.content_type, "image/png");
    assert!(image.bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    assert!(first
        .content
        .as_deref()
        .unwrap_or("")
        .contains("Scan this QR code"));

    product.publish(&product.script.qr("2@second,code,B")).await;
    let store = product
        .wait_for("the second code, the first deleted", |store| {
            let with_images = status_messages(store)
                .into_iter()
                .filter(|message| !message.attachments.is_empty())
                .count();
            store.messages[&first.id].attachments.is_empty() && with_images == 1
        })
        .await;
    let second = status_messages(&store)
        .into_iter()
        .find(|message| !message.attachments.is_empty())
        .unwrap()
        .id;

    product.connected().await;
    product
        .wait_for("the second code deleted", |store| {
            store.messages[&second].attachments.is_empty()
        })
        .await;
    let contacts = product.chatwoot.snapshot().contacts.len();
    assert_eq!(contacts, 1, "the status contact alone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_instances_own_number_never_becomes_a_customer() {
    let product = Product::start(json!({})).await;
    product.connected().await;

    // A note to self, typed on the phone, then a customer's message.
    let to_self = product
        .script
        .text(default_own_account(), "lembrete: ligar para a Maria")
        .outgoing()
        .build();
    product.publish(&to_self).await;
    let customer = product.script.text(maria(), "Oi").build();
    let store = product.publish_until_in_chatwoot(&customer).await;
    let names: Vec<&str> = store
        .contacts
        .values()
        .map(|contact| contact.name.as_str())
        .collect();
    assert_eq!(names, [STATUS_CONTACT, "Maria Silva"], "{names:?}");
    assert!(
        store
            .messages
            .values()
            .all(|message| message.content.as_deref() != Some("lembrete: ligar para a Maria")),
        "the note to self is not shown as a customer's"
    );
}
