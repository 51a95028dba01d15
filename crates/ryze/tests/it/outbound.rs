//! Issue-5 end to end: agents' replies in Chatwoot reach the customer on WhatsApp exactly
//! once. The Chatwoot simulator posts its real webhooks to the bridge of `ryze serve` (in
//! this process), the bridge sends through the API's message endpoints, and the API hands
//! each command to the engine simulator. Every test asserts what the engine received
//! (recipient, command, content, caption, quote, voice note) and what Chatwoot shows
//! afterwards (the message's status, private notes).

use std::time::Duration;

use crate::support::harness::json_answer;
use crate::support::product::{
    maria, message_id_of, message_with_source, sales_team, Product, ADMIN_TOKEN, WAIT,
};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chatwoot_simulator::model::{Message, MessageStatus, MessageType};
use chatwoot_simulator::store::Store;
use chatwoot_simulator::{AgentReply, Faults};
use engine_simulator::{CommandKind, EngineCommand, MediaFile, ReceivedCommand};
use ryze_ports::whatsapp_events::{
    EngineErrorCode, MediaSource, OutgoingMediaType, ReceiptStatus, SendMedia, SendText,
};
use serde_json::{json, Value};

/// Maria's chat, as the bridge names it to WhatsApp.
const MARIA_JID: &str = "5511987654321@s.whatsapp.net";
/// How long to watch for something that must not happen.
const QUIET: Duration = Duration::from_millis(300);

/// A message the customer wrote on WhatsApp, as it landed in Chatwoot.
pub(crate) struct CustomerMessage {
    pub(crate) whatsapp_id: String,
    pub(crate) chatwoot_id: u64,
    /// The conversation's display id (the id in Chatwoot's URLs).
    pub(crate) conversation: u64,
}

/// A file an agent attaches in Chatwoot's reply box.
struct Upload {
    file_name: &'static str,
    content_type: &'static str,
    bytes: Vec<u8>,
}

impl Upload {
    fn new(file_name: &'static str, content_type: &'static str, bytes: Vec<u8>) -> Upload {
        Upload {
            file_name,
            content_type,
            bytes,
        }
    }
}

impl Product {
    /// The administrator deletes the message `message_id` of `conversation` in Chatwoot.
    async fn admin_deletes_message(&self, conversation: u64, message_id: impl std::fmt::Display) {
        let deleted = self
            .client
            .delete(format!(
                "{}/api/v1/accounts/1/conversations/{conversation}/messages/{message_id}",
                self.chatwoot.base_url(),
            ))
            .header("api_access_token", ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(deleted.status(), 200);
    }

    /// Maria writes `text` on WhatsApp; returns it once it is in Chatwoot.
    pub(crate) async fn customer_writes(&self, text: &str) -> CustomerMessage {
        let event = self.script.text(maria(), text).build();
        self.publish(&event).await;
        let whatsapp_id = message_id_of(&event);
        let store = self
            .wait_for(&format!("the customer's {text:?}"), |store| {
                store
                    .messages
                    .values()
                    .any(|message| message.source_id.as_deref() == Some(whatsapp_id.as_str()))
            })
            .await;
        let message = message_with_source(&store, &whatsapp_id);
        CustomerMessage {
            conversation: store.conversations[&message.conversation_id].display_id,
            chatwoot_id: message.id,
            whatsapp_id,
        }
    }

    /// The administrator ("Ada Admin") writes in the conversation, as Chatwoot's reply box
    /// does (`message_created` fires).
    fn agent_writes(
        &self,
        conversation: u64,
        content: &str,
        private: bool,
        content_attributes: Option<Value>,
    ) -> Message {
        self.chatwoot
            .agent_reply(AgentReply {
                account_id: 1,
                conversation_id: conversation,
                user_id: self.admin.id,
                content: content.to_owned(),
                private,
                content_attributes,
            })
            .unwrap()
    }

    pub(crate) fn agent_replies(&self, conversation: u64, content: &str) -> Message {
        self.agent_writes(conversation, content, false, None)
    }

    /// The agent sends files (and text) from Chatwoot's reply box: the dashboard's
    /// multipart `POST …/messages`, `is_recorded_audio` naming what its recorder made.
    async fn agent_sends_files(
        &self,
        conversation: u64,
        content: Option<&str>,
        uploads: Vec<Upload>,
        recorded: &[&str],
    ) -> Value {
        let mut form = reqwest::multipart::Form::new().text("private", "false");
        if let Some(content) = content {
            form = form.text("content", content.to_owned());
        }
        if !recorded.is_empty() {
            form = form.text("is_recorded_audio", json!(recorded).to_string());
        }
        for upload in uploads {
            form = form.part(
                "attachments[]",
                reqwest::multipart::Part::bytes(upload.bytes)
                    .file_name(upload.file_name)
                    .mime_str(upload.content_type)
                    .unwrap(),
            );
        }
        let answer = self
            .client
            .post(format!(
                "{}/api/v1/accounts/1/conversations/{conversation}/messages",
                self.chatwoot.base_url()
            ))
            .header("api_access_token", ADMIN_TOKEN)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        answer.json().await.unwrap()
    }

    /// Waits until the commands the engine received satisfy `condition`; returns them.
    async fn wait_for_engine(
        &self,
        what: &str,
        condition: impl Fn(&[ReceivedCommand]) -> bool,
    ) -> Vec<ReceivedCommand> {
        if !self
            .engine
            .wait_until(WAIT, |commands| condition(commands))
            .await
        {
            let received: Vec<String> = self
                .engine
                .commands()
                .iter()
                .map(ReceivedCommand::summary)
                .collect();
            panic!(
                "timed out waiting for the engine to receive {what}; bridge status {}; received:\n{}",
                self.status().await,
                received.join("\n")
            );
        }
        self.engine.commands()
    }

    /// Waits for the text command carrying `message`; returns it.
    async fn wait_for_text(&self, message: &str) -> ReceivedCommand {
        let commands = self
            .wait_for_engine(&format!("the text {message:?}"), |commands| {
                commands.iter().any(|command| is_text(command, message))
            })
            .await;
        commands
            .into_iter()
            .find(|command| is_text(command, message))
            .unwrap()
    }

    /// Lets `QUIET` pass, then returns every command received: what a test asserts on
    /// when something must not have been sent.
    async fn commands_after_a_quiet_moment(&self) -> Vec<ReceivedCommand> {
        tokio::time::sleep(QUIET).await;
        self.engine.commands()
    }

    /// Waits until Chatwoot's message `id` satisfies `condition`; returns Chatwoot's data.
    async fn wait_for_message(
        &self,
        what: &str,
        id: u64,
        condition: impl Fn(&Message) -> bool,
    ) -> Store {
        self.wait_for(what, |store| {
            store.messages.get(&id).is_some_and(&condition)
        })
        .await
    }

    /// Waits until every webhook Chatwoot posted for these messages was answered.
    async fn wait_for_webhooks_answered(&self, message_ids: &[u64]) {
        let answered = self
            .chatwoot
            .wait_until(WAIT, |_, deliveries| {
                message_ids.iter().all(|id| {
                    deliveries.iter().any(|delivery| {
                        delivery.body["id"] == json!(id) && delivery.response_status.is_some()
                    })
                })
            })
            .await;
        assert!(
            answered,
            "webhooks not answered: {:#?}",
            self.chatwoot.webhook_deliveries()
        );
    }
}

fn is_text(command: &ReceivedCommand, message: &str) -> bool {
    command.text().is_some_and(|text| text.message == message)
}

/// The first command `pick` finds, checked to come after the text saying `text`.
fn after_the_text<'a, T>(
    commands: &'a [ReceivedCommand],
    text: &str,
    pick: impl Fn(&'a ReceivedCommand) -> Option<&'a T>,
) -> &'a T {
    let text_command = commands
        .iter()
        .find(|command| is_text(command, text))
        .unwrap_or_else(|| panic!("the text {text:?}"));
    let picked = commands
        .iter()
        .find(|command| pick(command).is_some())
        .expect("the command after the text");
    assert!(
        text_command.sequence < picked.sequence,
        "{text:?} goes first"
    );
    pick(picked).unwrap()
}

fn texts(commands: &[ReceivedCommand]) -> Vec<&SendText> {
    commands.iter().filter_map(ReceivedCommand::text).collect()
}

fn media(commands: &[ReceivedCommand]) -> Vec<&SendMedia> {
    commands.iter().filter_map(ReceivedCommand::media).collect()
}

fn bytes_sent(command: &SendMedia) -> Vec<u8> {
    match &command.source {
        MediaSource::Base64(data) => STANDARD.decode(data.as_str()).unwrap(),
        MediaSource::Url(url) => panic!("sent by URL ({url}), not with its bytes"),
    }
}

/// The private notes of the conversation with internal id `conversation_id`.
fn private_notes(store: &Store, conversation_id: u64) -> Vec<String> {
    store
        .messages
        .values()
        .filter(|message| message.conversation_id == conversation_id && message.private)
        .map(|message| message.content.clone().unwrap_or_default())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agents_text_reply_reaches_the_customer_once_converted_to_whatsapp_formatting() {
    let product = Product::start(json!({})).await;
    let customer = product.customer_writes("Meu pedido chegou?").await;

    let reply = product.agent_replies(
        customer.conversation,
        "Olá **Maria**, seu pedido ~~atrasou~~ _saiu hoje_.",
    );
    let sent = product
        .wait_for_text("Olá *Maria*, seu pedido ~atrasou~ _saiu hoje_.")
        .await;

    let text = sent.text().unwrap();
    assert_eq!(text.number, MARIA_JID);
    assert_eq!(text.reply_to, None);
    assert!(sent.is_executed(), "{}", sent.summary());
    assert_eq!(sent.instance, product.instance_id);
    let commands = product.commands_after_a_quiet_moment().await;
    assert_eq!(texts(&commands).len(), 1, "sent once: {commands:#?}");
    assert!(media(&commands).is_empty());

    let store = product.chatwoot.snapshot();
    let message = &store.messages[&reply.id];
    assert_eq!(message.status, MessageStatus::Sent, "not marked failed");
    assert!(
        private_notes(&store, message.conversation_id).is_empty(),
        "no complaint left for agents"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_sign_messages_the_agents_name_heads_the_text_in_bold() {
    let product = Product::start(json!({"signMessages": true})).await;
    let customer = product.customer_writes("Oi").await;

    product.agent_replies(customer.conversation, "Tudo **certo**!");
    let sent = product.wait_for_text("*Ada Admin*:\nTudo *certo*!").await;
    assert_eq!(sent.text().unwrap().number, MARIA_JID);
    let commands = product.commands_after_a_quiet_moment().await;
    assert_eq!(texts(&commands).len(), 1, "{commands:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_notes_incoming_messages_and_messages_from_whatsapp_send_nothing() {
    let product = Product::start(json!({})).await;
    let maria = maria();
    // Incoming, written by the bridge from WhatsApp.
    let customer = product.customer_writes("Bom dia").await;
    // Outgoing, sent from the business's phone: the bridge writes it with its WhatsApp id.
    let from_phone = product
        .script
        .text(&maria, "Enviado do celular")
        .outgoing()
        .build();
    product.publish(&from_phone).await;
    let store = product
        .wait_for("the phone's message", |store| {
            store
                .messages
                .values()
                .any(|message| message.source_id.as_deref() == Some(&message_id_of(&from_phone)))
        })
        .await;
    let phone_message = message_with_source(&store, &message_id_of(&from_phone));
    assert_eq!(phone_message.message_type, MessageType::Outgoing);
    // A private note by the agent.
    let note = product.agent_writes(customer.conversation, "cliente VIP", true, None);
    // An incoming message another integration wrote through Chatwoot's API.
    let incoming = json_answer(
        product
            .client
            .post(format!(
                "{}/api/v1/accounts/1/conversations/{}/messages",
                product.chatwoot.base_url(),
                customer.conversation
            ))
            .header("api_access_token", ADMIN_TOKEN)
            .json(&json!({"content": "via API", "message_type": "incoming"})),
    )
    .await;
    let incoming_id = incoming["id"].as_u64().unwrap();

    product
        .wait_for_webhooks_answered(&[customer.chatwoot_id, phone_message.id, note.id, incoming_id])
        .await;
    // Then a real reply: it goes out, alone.
    product.agent_replies(customer.conversation, "Posso ajudar?");
    product.wait_for_text("Posso ajudar?").await;
    let commands = product.commands_after_a_quiet_moment().await;
    let sent: Vec<&str> = texts(&commands)
        .iter()
        .map(|text| text.message.as_str())
        .collect();
    assert_eq!(sent, ["Posso ajudar?"]);
    assert!(media(&commands).is_empty());

    let store = product.chatwoot.snapshot();
    for id in [customer.chatwoot_id, phone_message.id, note.id, incoming_id] {
        assert_ne!(
            store.messages[&id].status,
            MessageStatus::Failed,
            "the bridge acknowledged the webhook of message {id}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_and_a_pdf_go_out_as_two_media_messages_in_order_with_the_caption_on_the_first() {
    let product = Product::start(json!({})).await;
    let customer = product.customer_writes("Manda o comprovante").await;
    let jpeg = MediaFile::sample_jpeg().bytes;
    let pdf = MediaFile::sample_pdf().bytes;

    let reply = product
        .agent_sends_files(
            customer.conversation,
            Some("Segue o **comprovante**"),
            vec![
                Upload::new("foto.jpg", "image/jpeg", jpeg.clone()),
                // The browser did not know the type: the bytes tell.
                Upload::new("relatório.pdf", "application/octet-stream", pdf.clone()),
            ],
            &[],
        )
        .await;
    let commands = product
        .wait_for_engine("both files", |commands| media(commands).len() >= 2)
        .await;

    let sent = media(&commands);
    let (image, document) = (sent[0], sent[1]);
    assert_eq!(image.number, MARIA_JID);
    assert_eq!(image.media_type, OutgoingMediaType::Image);
    assert_eq!(image.mime_type.as_deref(), Some("image/jpeg"));
    assert_eq!(image.message.as_deref(), Some("Segue o *comprovante*"));
    assert_eq!(image.file_name.as_deref(), Some("foto.jpg"));
    assert!(!image.is_voice);
    assert_eq!(bytes_sent(image), jpeg);

    assert_eq!(document.number, MARIA_JID);
    assert_eq!(document.media_type, OutgoingMediaType::Document);
    assert_eq!(document.mime_type.as_deref(), Some("application/pdf"));
    assert_eq!(document.file_name.as_deref(), Some("relatório.pdf"));
    assert_eq!(document.message, None, "the caption goes on the first only");
    assert_eq!(bytes_sent(document), pdf);
    assert_ne!(image.id, document.id, "two WhatsApp messages");

    let commands = product.commands_after_a_quiet_moment().await;
    assert_eq!(media(&commands).len(), 2, "{commands:#?}");
    assert!(texts(&commands).is_empty(), "the text went as the caption");
    let reply_id = reply["id"].as_u64().unwrap();
    let store = product.chatwoot.snapshot();
    let message = &store.messages[&reply_id];
    assert_ne!(message.status, MessageStatus::Failed);
    assert!(private_notes(&store, message.conversation_id).is_empty());

    // Deleted in Chatwoot: both WhatsApp messages are revoked.
    let sent_ids: Vec<String> = commands
        .iter()
        .filter(|command| command.media().is_some())
        .map(|command| command.message_id().unwrap().to_owned())
        .collect();
    product
        .admin_deletes_message(customer.conversation, reply_id)
        .await;
    let commands = product
        .wait_for_engine("both revokes", |commands| {
            commands
                .iter()
                .filter(|command| command.delete().is_some())
                .count()
                >= 2
        })
        .await;
    let revoked: Vec<String> = commands
        .iter()
        .filter_map(ReceivedCommand::delete)
        .map(|delete| {
            assert!(delete.delete_for_everyone);
            delete.message_id.clone()
        })
        .collect();
    assert_eq!(revoked, sent_ids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_audio_goes_out_as_a_voice_note_and_an_audio_file_as_audio() {
    let product = Product::start(json!({})).await;
    let customer = product.customer_writes("Pode mandar um áudio?").await;
    let mp3 = MediaFile::sample_mp3().bytes;

    // Recorded in Chatwoot (its recorder names the file in `is_recorded_audio`), with
    // text: WhatsApp shows no caption on audio, so the text goes first, on its own.
    product
        .agent_sends_files(
            customer.conversation,
            Some("Ouça:"),
            vec![Upload::new(
                "audio-1700000000.mp3",
                "audio/mpeg",
                mp3.clone(),
            )],
            &["audio-1700000000.mp3"],
        )
        .await;
    let commands = product
        .wait_for_engine("the voice note", |commands| !media(commands).is_empty())
        .await;
    let voice = after_the_text(&commands, "Ouça:", ReceivedCommand::media);
    assert_eq!(voice.number, MARIA_JID);
    assert_eq!(voice.media_type, OutgoingMediaType::Audio);
    assert!(voice.is_voice, "Chatwoot's recording is a voice note");
    assert_eq!(voice.mime_type.as_deref(), Some("audio/mpeg"));
    assert_eq!(voice.message, None);
    assert_eq!(bytes_sent(voice), mp3);

    // The same file attached, not recorded: plain audio.
    product
        .agent_sends_files(
            customer.conversation,
            None,
            vec![Upload::new("musica.mp3", "audio/mpeg", mp3.clone())],
            &[],
        )
        .await;
    let commands = product
        .wait_for_engine("the audio file", |commands| media(commands).len() >= 2)
        .await;
    let audio = media(&commands)[1];
    assert_eq!(audio.media_type, OutgoingMediaType::Audio);
    assert!(!audio.is_voice);
    assert_eq!(audio.file_name.as_deref(), Some("musica.mp3"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_to_the_customers_message_quotes_it_on_whatsapp() {
    let product = Product::start(json!({})).await;
    let question = product.customer_writes("Qual o prazo?").await;
    product.customer_writes("E o frete?").await;

    product.agent_writes(
        question.conversation,
        "Cinco dias úteis.",
        false,
        Some(json!({"in_reply_to": question.chatwoot_id})),
    );
    let sent = product.wait_for_text("Cinco dias úteis.").await;
    assert_eq!(
        sent.text().unwrap().reply_to.as_deref(),
        Some(question.whatsapp_id.as_str()),
        "quotes the customer's WhatsApp message"
    );

    // A reply to the agent's own message quotes what the bridge sent.
    let answer = product
        .chatwoot
        .snapshot()
        .messages
        .values()
        .find(|message| message.content.as_deref() == Some("Cinco dias úteis."))
        .unwrap()
        .id;
    product.agent_writes(
        question.conversation,
        "Correção: seis.",
        false,
        Some(json!({"in_reply_to": answer})),
    );
    let correction = product.wait_for_text("Correção: seis.").await;
    assert_eq!(
        correction.text().unwrap().reply_to.as_deref(),
        sent.message_id()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_sent_message_in_chatwoot_revokes_it_for_everyone_on_whatsapp() {
    let product = Product::start(json!({})).await;
    let customer = product.customer_writes("Oi").await;
    let reply = product.agent_replies(customer.conversation, "Mensagem errada");
    let sent = product.wait_for_text("Mensagem errada").await;
    let whatsapp_id = sent.message_id().unwrap().to_owned();

    product
        .admin_deletes_message(customer.conversation, reply.id)
        .await;

    let commands = product
        .wait_for_engine("the revoke", |commands| {
            commands.iter().any(|command| command.delete().is_some())
        })
        .await;
    let revoke = commands.iter().find_map(ReceivedCommand::delete).unwrap();
    assert_eq!(revoke.message_id, whatsapp_id);
    assert!(revoke.delete_for_everyone);
    assert_eq!(revoke.number.as_deref(), Some(MARIA_JID));
    let commands = product.commands_after_a_quiet_moment().await;
    assert_eq!(
        commands
            .iter()
            .filter(|command| command.kind() == CommandKind::Delete)
            .count(),
        1
    );
    assert_eq!(texts(&commands).len(), 1, "nothing sent again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_from_whatsapp_mark_the_agents_message_delivered_then_read() {
    let product = Product::start(json!({})).await;
    let customer = product.customer_writes("Oi").await;
    let reply = product.agent_replies(customer.conversation, "Já verifico");
    let sent = product.wait_for_text("Já verifico").await;

    for (receipt, what, status) in [
        (
            ReceiptStatus::Delivered,
            "the reply delivered",
            MessageStatus::Delivered,
        ),
        (ReceiptStatus::Read, "the reply read", MessageStatus::Read),
    ] {
        product
            .publish(&product.script.receipt(maria(), receipt, [&sent]).build())
            .await;
        product
            .wait_for_message(what, reply.id, |message| message.status == status)
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_number_without_whatsapp_marks_the_message_failed_and_a_private_note_says_why() {
    let product = Product::start(json!({})).await;
    let customer = product.customer_writes("Oi").await;
    product.engine.mark_not_on_whatsapp("5511987654321");

    let reply = product.agent_replies(customer.conversation, "Olá?");
    let store = product
        .wait_for_message("the reply marked failed", reply.id, |message| {
            message.status == MessageStatus::Failed
        })
        .await;
    let reason = store.messages[&reply.id].content_attributes["external_error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(reason.contains("not on WhatsApp"), "{reason}");
    let store = product
        .wait_for("the private note", |store| {
            !private_notes(store, store.messages[&reply.id].conversation_id).is_empty()
        })
        .await;
    let notes = private_notes(&store, store.messages[&reply.id].conversation_id);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].contains("did not receive") && notes[0].contains(&reason),
        "the note says the customer did not get it, and why: {notes:?} / {reason}"
    );

    let commands = product.commands_after_a_quiet_moment().await;
    let attempts: Vec<&ReceivedCommand> = commands
        .iter()
        .filter(|command| command.text().is_some())
        .collect();
    assert_eq!(attempts.len(), 1, "not retried: {commands:#?}");
    assert_eq!(attempts[0].refusal(), Some(&EngineErrorCode::NotOnWhatsApp));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agents_reply_marks_the_customers_chat_read_up_to_their_newest_message() {
    let product = Product::start(json!({})).await;
    let first = product.customer_writes("Oi").await;
    let newest = product.customer_writes("Alguém aí?").await;

    product.agent_replies(first.conversation, "Estou aqui");
    let commands = product
        .wait_for_engine("the chat marked read", |commands| {
            commands.iter().any(|command| command.mark_read().is_some())
        })
        .await;
    let mark_read = after_the_text(&commands, "Estou aqui", ReceivedCommand::mark_read);
    assert_eq!(mark_read.message_id, newest.whatsapp_id);
    assert_eq!(mark_read.number, MARIA_JID);
    assert_eq!(mark_read.sender, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_in_a_group_conversation_goes_to_the_group_and_reads_its_newest_message() {
    let product = Product::start(json!({})).await;
    let (ana, bruno, group) = sales_team();
    product
        .publish(&product.script.text(group.by(&ana), "bom dia").build())
        .await;
    let newest = product.script.text(group.by(&bruno), "alguém?").build();
    product.publish(&newest).await;
    let store = product.wait_for_messages(2).await;
    let conversation = store.conversations.values().next().unwrap().display_id;

    product.agent_replies(conversation, "Bom dia, equipe");
    let sent = product.wait_for_text("Bom dia, equipe").await;
    assert_eq!(sent.text().unwrap().number, "120363025246125486@g.us");
    let commands = product
        .wait_for_engine("the group marked read", |commands| {
            commands.iter().any(|command| command.mark_read().is_some())
        })
        .await;
    let mark_read = commands
        .iter()
        .find_map(ReceivedCommand::mark_read)
        .unwrap();
    assert_eq!(mark_read.number, "120363025246125486@g.us");
    assert_eq!(mark_read.message_id, message_id_of(&newest));
    assert_eq!(
        mark_read.sender.as_deref(),
        Some("5531987651111@s.whatsapp.net"),
        "in a group, the author of the message read"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_chatwoot_delivers_twice_is_sent_once() {
    let product = Product::start(json!({})).await;
    let customer = product.customer_writes("Oi").await;
    product.chatwoot.set_faults(Faults {
        duplicate_webhooks: true,
        ..Faults::default()
    });

    let reply = product.agent_replies(customer.conversation, "Uma vez só");
    let delivered = product
        .chatwoot
        .wait_until(WAIT, |_, deliveries| {
            deliveries
                .iter()
                .filter(|delivery| {
                    delivery.event == "message_created"
                        && delivery.body["id"] == json!(reply.id)
                        && delivery.response_status == Some(200)
                })
                .count()
                == 2
        })
        .await;
    assert!(
        delivered,
        "both deliveries acknowledged: {:#?}",
        product.chatwoot.webhook_deliveries()
    );
    product.wait_for_text("Uma vez só").await;

    let commands = product.commands_after_a_quiet_moment().await;
    let sends: Vec<&ReceivedCommand> = commands
        .iter()
        .filter(|command| is_text(command, "Uma vez só"))
        .collect();
    assert_eq!(sends.len(), 1, "one send, not even a repeat: {commands:#?}");
    assert!(sends[0].is_executed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_from_a_4_10_style_chatwoot_reaches_whatsapp_as_plain_lines() {
    let product = Product::start(json!({})).await;
    let customer = product.customer_writes("Oi").await;
    product.chatwoot.set_faults(Faults {
        escape_newlines_like_4_10: true,
        ..Faults::default()
    });

    let reply = product.agent_replies(customer.conversation, "linha um\nlinha dois");
    assert_eq!(
        reply.content.as_deref(),
        Some("linha um\\\nlinha dois"),
        "Chatwoot keeps the editor's backslash before the newline"
    );
    product.wait_for_text("linha um\nlinha dois").await;
    let escapes = product.agent_replies(customer.conversation, "custa 5 \\* 2\nfim");
    assert_eq!(escapes.content.as_deref(), Some("custa 5 \\* 2\\\nfim"));
    product.wait_for_text("custa 5 * 2\nfim").await;
    let commands = product.commands_after_a_quiet_moment().await;
    let sent: Vec<&str> = texts(&commands)
        .iter()
        .map(|text| text.message.as_str())
        .collect();
    assert_eq!(
        sent,
        ["linha um\nlinha dois", "custa 5 * 2\nfim"],
        "no stray backslash reaches the customer"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_not_signed_by_chatwoot_or_to_a_wrong_url_are_refused_and_send_nothing() {
    let product = Product::start(json!({})).await;
    let customer = product.customer_writes("Oi").await;
    // A real webhook body to start from: a private note's, which the bridge ignores.
    let note = product.agent_writes(customer.conversation, "rascunho", true, None);
    product.wait_for_webhooks_answered(&[note.id]).await;
    let delivered = product
        .chatwoot
        .webhook_deliveries()
        .into_iter()
        .find(|delivery| {
            delivery.event == "message_created" && delivery.body["id"] == json!(note.id)
        })
        .unwrap();
    let mut forged = delivered.body.clone();
    forged["private"] = json!(false);
    forged["content"] = json!("Texto forjado");
    let body = forged.to_string();

    let store = product.chatwoot.snapshot();
    let inbox = store.inboxes.values().next().unwrap();
    let url = inbox.webhook_url.clone().unwrap();
    let secret = inbox
        .secret
        .clone()
        .expect("Chatwoot signs API inbox webhooks");
    let now = chrono::Utc::now().timestamp().to_string();
    let post = |url: String, headers: Vec<(&'static str, String)>| {
        let mut request = product
            .client
            .post(url)
            .header("content-type", "application/json")
            .body(body.clone());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        async move { request.send().await.unwrap() }
    };
    let signed = |secret: &str, timestamp: &str| {
        vec![
            ("X-Chatwoot-Timestamp", timestamp.to_owned()),
            (
                "X-Chatwoot-Signature",
                chatwoot_simulator::webhooks::signature(secret, timestamp, &body),
            ),
        ]
    };

    let (base, _) = url.rsplit_once('/').unwrap();
    let wrong_url = post(format!("{base}/not-the-secret"), signed(&secret, &now)).await;
    assert_eq!(wrong_url.status(), 404);
    let wrong_key = post(url.clone(), signed("not-the-inbox-secret", &now)).await;
    assert_eq!(wrong_key.status(), 401);
    let error: Value = wrong_key.json().await.unwrap();
    assert_eq!(error["error"]["code"], "invalid_signature");
    let unsigned = post(url.clone(), Vec::new()).await;
    assert_eq!(unsigned.status(), 401);
    let ten_minutes_ago = (chrono::Utc::now().timestamp() - 600).to_string();
    let stale = post(url.clone(), signed(&secret, &ten_minutes_ago)).await;
    assert_eq!(stale.status(), 401);
    let commands = product.commands_after_a_quiet_moment().await;
    assert!(texts(&commands).is_empty(), "{commands:#?}");

    let genuine = post(url.clone(), signed(&secret, &now)).await;
    assert_eq!(genuine.status(), 200);
    assert_eq!(
        genuine.json::<Value>().await.unwrap(),
        json!({"status": "queued"})
    );
    let sent = product.wait_for_text("Texto forjado").await;
    assert_eq!(sent.text().unwrap().number, MARIA_JID);
    let again = post(url, signed(&secret, &now)).await;
    assert_eq!(
        again.json::<Value>().await.unwrap(),
        json!({"status": "duplicate"})
    );
    let commands = product.commands_after_a_quiet_moment().await;
    assert_eq!(texts(&commands).len(), 1, "{commands:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engines_echo_of_a_sent_reply_does_not_add_a_second_message_in_chatwoot() {
    let product = Product::start(json!({})).await;
    product.engine.echo_sends_to(
        product
            .engine
            .publisher(&product.api, crate::support::product::ENGINE_TOKEN)
            .unwrap(),
    );
    let customer = product.customer_writes("Oi").await;

    let reply = product.agent_replies(customer.conversation, "Resposta com eco");
    let sent = product.wait_for_text("Resposta com eco").await;
    let sent_id = sent.message_id().unwrap().to_owned();
    let echoes = product.engine.wait_for_echoes(1, WAIT).await.unwrap();
    let echo = echoes
        .iter()
        .find(|echo| echo.command_sequence == sent.sequence)
        .expect("the send echoed");
    assert!(echo.result.as_ref().unwrap().is_stored());
    assert_eq!(message_id_of(&echo.envelope), sent_id);

    // A message from the phone after the echo: once it is in Chatwoot, the chat's earlier
    // events (the echo among them) were relayed too.
    let store = a_phone_message_lands(&product, "Depois do eco").await;
    let with_reply_text: Vec<&Message> = store
        .messages
        .values()
        .filter(|message| message.content.as_deref() == Some("Resposta com eco"))
        .collect();
    assert_eq!(with_reply_text.len(), 1, "only the agent's own message");
    assert_eq!(with_reply_text[0].id, reply.id);
    assert!(
        store
            .messages
            .values()
            .all(|message| message.source_id.as_deref() != Some(sent_id.as_str())),
        "the echo was not written"
    );
    let commands = product.commands_after_a_quiet_moment().await;
    assert_eq!(texts(&commands).len(), 1, "{commands:#?}");
    assert!(
        commands.iter().all(|command| !matches!(&command.command, EngineCommand::Text(text) if text.message == "Depois do eco")),
        "a message from the phone is not sent back"
    );

    // Files: each part's echo is recognised too.
    let messages_before = store.messages.len();
    product
        .agent_sends_files(
            customer.conversation,
            Some("Fotos"),
            vec![
                Upload::new("a.jpg", "image/jpeg", MediaFile::sample_jpeg().bytes),
                Upload::new("b.pdf", "application/pdf", MediaFile::sample_pdf().bytes),
            ],
            &[],
        )
        .await;
    product.engine.wait_for_echoes(3, WAIT).await.unwrap();
    let store = a_phone_message_lands(&product, "Depois das fotos").await;
    assert_eq!(
        store.messages.len(),
        messages_before + 2,
        "the agent's message with files and the phone's message, no echo: {:#?}",
        store
            .messages
            .values()
            .map(|message| (&message.content, &message.source_id))
            .collect::<Vec<_>>()
    );
}

/// Publishes a message sent from the phone and waits until it is in Chatwoot: then
/// every earlier event of the chat (echoes included) was relayed too.
async fn a_phone_message_lands(product: &Product, text: &str) -> Store {
    let event = product.script.text(maria(), text).outgoing().build();
    product.publish_until_in_chatwoot(&event).await
}
