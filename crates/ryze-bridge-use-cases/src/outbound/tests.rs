//! Use-case tests of the outbound relay over mocked ports (mockall). The relay store and
//! the WhatsApp sender keep their memory in shared cells captured by the mocks' closures,
//! so idempotence across attempts shows.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use mockall::predicate::eq;
use ryze_domain::{
    BridgeIntegration, BridgeIntegrationId, ChatwootAccountId, ChatwootBaseUrl, InboxName,
    InstanceId, InstanceName, IntegrationStatus, KeyId, RelayFlags, SealedSecret,
};
use ryze_ports::chatwoot::{
    ConversationDisplayId, ConversationStatus, Inbox, InboxId, Message, MessageDeliveryStatus,
    MessageId, MessageType, MockChatwootApi, API_CHANNEL_TYPE,
};
use ryze_ports::whatsapp_events::{
    DeleteMessage, EngineReceipt, MarkRead, OutgoingMediaType, SendMedia, SendText,
};
use ryze_ports::{
    EnqueueOutcome, FetchedMedia, LinkDirection, LinkState, MediaFetchError, MediaFetcher,
    MessageLink, MockBridgeIntegrationStore, MockMediaFetcher, MockOutboundGuard,
    MockOutboundQueueStore, MockRateLimiter, MockRelayStore, MockSecretVault, MockWhatsAppSender,
    QueuedWebhook, SendError,
};
use secrecy::SecretString;
use serde_json::{json, Value};

use super::ids::part_id;
use super::media::tests::{OGG_OPUS, PDF, PNG};
use super::payload::tests::agent_reply;
use super::payload::ReadWebhook;
use super::signature::chatwoot_signature;
use super::*;
use crate::{Bridge, BridgeSettings};

const CUSTOMER: &str = "5511912345678@s.whatsapp.net";
const NEWEST_INCOMING: &str = "3A0011223344556677AA";
const QUOTED_WHATSAPP_ID: &str = "3A00QUOTED0000000001";

type Links = Arc<Mutex<Vec<MessageLink>>>;
type Outbox = Arc<Mutex<Vec<Sent>>>;

/// What the bridge asked WhatsApp to do.
#[derive(Debug, Clone, PartialEq)]
enum Sent {
    Text(SendText),
    Media(SendMedia),
    Delete(DeleteMessage),
    Read(MarkRead),
}

pub(super) fn integration(flags: RelayFlags) -> BridgeIntegration {
    let sealed = |byte| SealedSecret {
        key_id: KeyId::new("k"),
        nonce: vec![byte; 12],
        ciphertext: vec![byte; 4],
    };
    BridgeIntegration {
        id: BridgeIntegrationId::new("int_test"),
        instance_id: InstanceId::new("ins_test"),
        instance_name: InstanceName::parse("suporte").unwrap(),
        settings: ryze_domain::ChatwootSettings {
            base_url: ChatwootBaseUrl::parse("https://cw.example").unwrap(),
            account_id: ChatwootAccountId::new(5).unwrap(),
            inbox_name: InboxName::parse(Some("RyzeAPI")).unwrap(),
            flags,
        },
        api_token: sealed(1),
        webhook_secret: sealed(2),
        inbox_id: Some(7),
        status: IntegrationStatus::Active,
        last_error: String::new(),
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

fn queued(id: i64, payload: &Value) -> ReadWebhook {
    ReadWebhook::read(QueuedWebhook {
        id,
        integration: BridgeIntegrationId::new("int_test"),
        dedupe_key: format!("key-{id}"),
        payload: payload.to_string().into_bytes(),
        received_at: Utc::now(),
        attempts: 0,
    })
}

/// The agent's reply of the payload fixture, without its attachment.
fn text_reply() -> Value {
    let mut reply = agent_reply();
    reply["attachments"] = json!([]);
    reply
}

fn link(whatsapp_id: &str, chatwoot_id: Option<i64>, direction: LinkDirection) -> MessageLink {
    MessageLink {
        whatsapp_id: whatsapp_id.to_owned(),
        chatwoot_id: chatwoot_id.map(MessageId),
        conversation: Some(ConversationDisplayId(12)),
        direction,
        chat_jid: CUSTOMER.to_owned(),
        from_me: direction == LinkDirection::ToWhatsApp,
        participant_jid: None,
        state: LinkState::Completed,
        failure: String::new(),
        created_at: Utc::now(),
    }
}

/// The message the fixture replies to (Chatwoot id 77), received from WhatsApp.
fn quoted_link() -> MessageLink {
    link(QUOTED_WHATSAPP_ID, Some(77), LinkDirection::ToChatwoot)
}

/// A relay store keeping its links in `links`, with the store's semantics.
fn memory_store(links: &Links) -> MockRelayStore {
    let mut store = MockRelayStore::new();
    let shared = links.clone();
    store.expect_begin_message_link().returning(move |_, new| {
        let mut links = shared.lock().unwrap();
        let existing = links.iter().find(|link| {
            link.whatsapp_id == new.whatsapp_id
                || (new.chatwoot_id.is_some() && link.chatwoot_id == new.chatwoot_id)
        });
        if let Some(existing) = existing {
            return Ok(existing.clone());
        }
        let link = MessageLink {
            whatsapp_id: new.whatsapp_id,
            chatwoot_id: new.chatwoot_id,
            conversation: new.conversation,
            direction: new.direction,
            chat_jid: new.chat_jid,
            from_me: new.from_me,
            participant_jid: new.participant_jid,
            state: LinkState::Pending,
            failure: String::new(),
            created_at: Utc::now(),
        };
        links.push(link.clone());
        Ok(link)
    });
    let shared = links.clone();
    store.expect_complete_message_link().returning(
        move |_, whatsapp_id, chatwoot_id, conversation| {
            let mut links = shared.lock().unwrap();
            let Some(link) = links
                .iter_mut()
                .find(|link| link.whatsapp_id == whatsapp_id)
            else {
                return Ok(false);
            };
            link.chatwoot_id = Some(chatwoot_id);
            link.conversation = Some(conversation);
            link.state = LinkState::Completed;
            Ok(true)
        },
    );
    let shared = links.clone();
    store
        .expect_fail_message_link()
        .returning(move |_, whatsapp_id, failure| {
            let mut links = shared.lock().unwrap();
            let Some(link) = links
                .iter_mut()
                .find(|link| link.whatsapp_id == whatsapp_id)
            else {
                return Ok(false);
            };
            link.state = LinkState::Failed;
            link.failure = failure.to_owned();
            Ok(true)
        });
    let shared = links.clone();
    store
        .expect_find_link_by_whatsapp_id()
        .returning(move |_, whatsapp_id| {
            Ok(shared
                .lock()
                .unwrap()
                .iter()
                .find(|link| link.whatsapp_id == whatsapp_id)
                .cloned())
        });
    let shared = links.clone();
    store
        .expect_find_link_by_chatwoot_id()
        .returning(move |_, chatwoot_id| {
            Ok(shared
                .lock()
                .unwrap()
                .iter()
                .find(|link| link.chatwoot_id == Some(chatwoot_id))
                .cloned())
        });
    store
}

/// A webhook budget that is never used up.
fn limiter_admitting_everything() -> MockRateLimiter {
    let mut limiter = MockRateLimiter::new();
    limiter.expect_hit().returning(|_, policy| {
        Ok(ryze_ports::RateLimitDecision {
            allowed: true,
            limit: policy.limit,
            remaining: policy.limit,
            resets_at: Utc::now(),
        })
    });
    limiter
}

fn receipt(id: Option<String>) -> EngineReceipt {
    EngineReceipt {
        message_id: id,
        timestamp: Some(1_718_000_900),
    }
}

/// A WhatsApp that accepts everything and records it in `outbox`.
fn recording_whatsapp(outbox: &Outbox) -> MockWhatsAppSender {
    let mut whatsapp = MockWhatsAppSender::new();
    let sent = outbox.clone();
    whatsapp.expect_send_text().returning(move |_, command| {
        sent.lock().unwrap().push(Sent::Text(command.clone()));
        Ok(receipt(command.id))
    });
    let sent = outbox.clone();
    whatsapp.expect_send_media().returning(move |_, command| {
        sent.lock().unwrap().push(Sent::Media(command.clone()));
        Ok(receipt(command.id))
    });
    let sent = outbox.clone();
    whatsapp
        .expect_delete_message()
        .returning(move |_, command| {
            sent.lock().unwrap().push(Sent::Delete(command));
            Ok(receipt(None))
        });
    let sent = outbox.clone();
    whatsapp.expect_mark_read().returning(move |_, command| {
        sent.lock().unwrap().push(Sent::Read(command));
        Ok(EngineReceipt::default())
    });
    whatsapp
}

/// A WhatsApp whose every text `answer` decides, and that takes read receipts.
fn whatsapp_texting(
    mut answer: impl FnMut(SendText) -> Result<EngineReceipt, SendError> + Send + 'static,
) -> MockWhatsAppSender {
    let mut whatsapp = MockWhatsAppSender::new();
    whatsapp
        .expect_send_text()
        .returning(move |_, command| answer(command));
    whatsapp
        .expect_mark_read()
        .returning(|_, _| Ok(EngineReceipt::default()));
    whatsapp
}

/// A WhatsApp that refuses exactly `times` texts with `refusal`, and is asked nothing else.
fn whatsapp_refusing_texts(refusal: SendError, times: usize) -> MockWhatsAppSender {
    let mut whatsapp = MockWhatsAppSender::new();
    whatsapp
        .expect_send_text()
        .times(times)
        .returning(move |_, _| Err(refusal.clone()));
    whatsapp
}

fn incoming(id: i64, source_id: &str) -> Message {
    Message {
        id: MessageId(id),
        conversation_display_id: Some(ConversationDisplayId(12)),
        content: Some("oi".into()),
        message_type: Some(MessageType::Incoming),
        private: false,
        source_id: Some(source_id.to_owned()),
    }
}

/// A Chatwoot whose conversation 12 ends with the customer's message `NEWEST_INCOMING`.
fn chatwoot_with_conversation() -> MockChatwootApi {
    let mut chatwoot = MockChatwootApi::new();
    chatwoot.expect_list_messages().returning(|_, _| {
        Ok(vec![
            incoming(60, "3A00OLDER00000000000"),
            incoming(61, NEWEST_INCOMING),
        ])
    });
    chatwoot
}

/// Everything the relay is built from; tests adjust the mocks before [`Fixture::relay`].
struct Fixture {
    flags: RelayFlags,
    chatwoot: MockChatwootApi,
    store: MockRelayStore,
    queue: MockOutboundQueueStore,
    whatsapp: MockWhatsAppSender,
    downloader: MockMediaFetcher,
    /// Replaces `downloader` when set.
    fetcher: Option<Arc<dyn MediaFetcher>>,
    settings: OutboundSettings,
}

impl Fixture {
    fn new(links: &Links, outbox: &Outbox) -> Self {
        Self {
            flags: RelayFlags::default(),
            chatwoot: chatwoot_with_conversation(),
            store: memory_store(links),
            queue: MockOutboundQueueStore::new(),
            whatsapp: recording_whatsapp(outbox),
            downloader: MockMediaFetcher::new(),
            fetcher: None,
            settings: OutboundSettings {
                retry: crate::sessions::RetryPolicy {
                    first_delay: Duration::from_millis(100),
                    max_delay: Duration::from_secs(1),
                },
                poll_interval: Duration::from_secs(1),
                ..OutboundSettings::default()
            },
        }
    }

    fn bridge(self) -> Bridge {
        let flags = self.flags;
        let mut integrations = MockBridgeIntegrationStore::new();
        integrations
            .expect_find_bridge_integration()
            .returning(move |_| Ok(Some(integration(flags))));
        // Nothing learnt before; what is learnt is kept (see `signature::tests`).
        integrations
            .expect_find_webhook_signing_secret()
            .returning(|_| Ok(None));
        integrations
            .expect_record_webhook_signing_secret()
            .returning(|_, _| Ok(true));
        let mut vault = MockSecretVault::new();
        vault
            .expect_open()
            .returning(|_, _| Ok(SecretString::from("cw-token")));
        vault.expect_seal().returning(|_, _| {
            Ok(SealedSecret {
                key_id: KeyId::new("k"),
                nonce: vec![0; 12],
                ciphertext: vec![0; 4],
            })
        });
        Bridge::new(
            Arc::new(integrations),
            Arc::new(self.chatwoot),
            Arc::new(vault),
            Arc::new(MockOutboundGuard::new()),
            BridgeSettings {
                public_url: "https://bridge.example".parse().unwrap(),
            },
        )
        .with_outbound(OutboundPorts {
            queue: Arc::new(self.queue),
            relay_store: Arc::new(self.store),
            whatsapp: Arc::new(self.whatsapp),
            downloader: self.fetcher.unwrap_or_else(|| Arc::new(self.downloader)),
            // The budget is tested in the delivery crate; here every webhook is admitted.
            webhook_limiter: Arc::new(limiter_admitting_everything()),
            settings: self.settings,
        })
    }

    fn relay(self) -> Arc<OutboundRelay> {
        self.bridge().outbound.clone().unwrap()
    }
}

fn sent(outbox: &Outbox) -> Vec<Sent> {
    outbox.lock().unwrap().clone()
}

fn texts(outbox: &Outbox) -> Vec<SendText> {
    sent(outbox)
        .into_iter()
        .filter_map(|sent| match sent {
            Sent::Text(text) => Some(text),
            _ => None,
        })
        .collect()
}

fn new_state() -> (Links, Outbox) {
    (
        Arc::new(Mutex::new(vec![quoted_link()])),
        Arc::new(Mutex::new(Vec::new())),
    )
}

fn the_reply_link(links: &Links) -> MessageLink {
    links
        .lock()
        .unwrap()
        .iter()
        .find(|link| link.chatwoot_id == Some(MessageId(501)))
        .cloned()
        .expect("a link for the agent's message")
}

#[tokio::test]
async fn an_agents_reply_goes_to_the_customer_as_whatsapp_text_quoting_and_read() {
    let (links, outbox) = new_state();
    let relay = Fixture::new(&links, &outbox).relay();

    let outcome = relay.handle(&queued(1, &text_reply()), false).await;

    assert_eq!(outcome, Ok(OutboundOutcome::Sent));
    let reply_link = the_reply_link(&links);
    assert_eq!(reply_link.state, LinkState::Completed);
    assert_eq!(reply_link.direction, LinkDirection::ToWhatsApp);
    assert_eq!(reply_link.chat_jid, CUSTOMER);
    assert!(reply_link.whatsapp_id.starts_with("3EB0") && reply_link.whatsapp_id.len() == 22);
    assert_eq!(
        sent(&outbox),
        vec![
            Sent::Text(SendText {
                number: CUSTOMER.into(),
                message: "Olá *mundo*".into(),
                reply_to: Some(QUOTED_WHATSAPP_ID.into()),
                id: Some(reply_link.whatsapp_id.clone()),
            }),
            Sent::Read(MarkRead {
                message_id: NEWEST_INCOMING.into(),
                number: CUSTOMER.into(),
                sender: None,
            }),
        ]
    );
}

#[tokio::test]
async fn with_sign_messages_the_agents_name_heads_the_text_in_bold() {
    let (links, outbox) = new_state();
    let mut fixture = Fixture::new(&links, &outbox);
    fixture.flags.sign_messages = true;
    let relay = fixture.relay();

    relay
        .handle(&queued(1, &text_reply()), false)
        .await
        .unwrap();

    assert_eq!(texts(&outbox)[0].message, "*Ana*:\nOlá *mundo*");
}

#[tokio::test]
async fn the_same_message_handled_twice_reaches_the_customer_once() {
    let (links, outbox) = new_state();
    let relay = Fixture::new(&links, &outbox).relay();

    let first = relay.handle(&queued(1, &text_reply()), false).await;
    // Chatwoot sent `message_created` twice and both were queued (or the webhook ran
    // again after a crash before it was marked handled).
    let second = relay.handle(&queued(2, &text_reply()), false).await;

    assert_eq!(first, Ok(OutboundOutcome::Sent));
    assert_eq!(second, Ok(OutboundOutcome::Skipped("already sent")));
    assert_eq!(texts(&outbox).len(), 1);
}

#[tokio::test]
async fn after_a_crash_between_link_and_send_the_retry_uses_the_recorded_id() {
    let (links, outbox) = new_state();
    let mut begun = link(
        "3EB0AAAAAAAAAAAAAAAAAA",
        Some(501),
        LinkDirection::ToWhatsApp,
    );
    begun.state = LinkState::Pending;
    links.lock().unwrap().push(begun);
    let relay = Fixture::new(&links, &outbox).relay();

    let outcome = relay.handle(&queued(1, &text_reply()), false).await;

    assert_eq!(outcome, Ok(OutboundOutcome::Sent));
    assert_eq!(
        texts(&outbox)[0].id.as_deref(),
        Some("3EB0AAAAAAAAAAAAAAAAAA"),
        "the engine de-duplicates by this id"
    );
    assert_eq!(the_reply_link(&links).state, LinkState::Completed);
}

#[tokio::test]
async fn notes_customer_messages_and_the_bridges_own_messages_are_not_sent() {
    let mut private_note = text_reply();
    private_note["private"] = json!(true);
    let mut from_customer = text_reply();
    from_customer["message_type"] = json!("incoming");
    from_customer["sender"] = json!({"id": 9, "name": "Maria", "type": "contact"});
    let mut written_from_whatsapp = text_reply();
    written_from_whatsapp["source_id"] = json!("3A0099887766554433AA");
    let mut by_a_bot = text_reply();
    by_a_bot["sender"] = json!({"id": 1, "name": "Captain", "type": "agent_bot"});
    let mut other_inbox = text_reply();
    other_inbox["inbox"] = json!({"id": 8});
    let cases = [
        (private_note, "private note"),
        (from_customer, "not an outgoing message"),
        (written_from_whatsapp, "written by the bridge from WhatsApp"),
        (by_a_bot, "not written by an agent"),
        (other_inbox, "another inbox"),
    ];
    for (payload, reason) in cases {
        let (links, outbox) = new_state();
        let mut fixture = Fixture::new(&links, &outbox);
        // Any call to WhatsApp fails the test.
        fixture.whatsapp = MockWhatsAppSender::new();
        let relay = fixture.relay();
        assert_eq!(
            relay.handle(&queued(1, &payload), false).await,
            Ok(OutboundOutcome::Skipped(reason))
        );
        assert_eq!(links.lock().unwrap().len(), 1, "{reason}: no link written");
    }
}

#[tokio::test]
async fn a_message_the_bridge_wrote_from_whatsapp_is_recognised_by_its_link() {
    // The webhook came before the inbound relay could record its link… and carries no
    // source_id (an older Chatwoot): the link by Chatwoot id says where it came from.
    let (links, outbox) = new_state();
    links.lock().unwrap().push(link(
        "3A0055555555555555AA",
        Some(501),
        LinkDirection::ToChatwoot,
    ));
    let mut fixture = Fixture::new(&links, &outbox);
    fixture.whatsapp = MockWhatsAppSender::new();
    let relay = fixture.relay();

    assert_eq!(
        relay.handle(&queued(1, &text_reply()), false).await,
        Ok(OutboundOutcome::Skipped(
            "written by the bridge from WhatsApp"
        ))
    );
}

fn download_of(bytes: &'static [u8], content_type: &str) -> FetchedMedia {
    FetchedMedia {
        bytes: bytes.to_vec(),
        content_type: Some(content_type.to_owned()),
        file_name: None,
    }
}

#[tokio::test]
async fn attachments_go_out_in_order_with_sniffed_types_a_caption_and_a_voice_note() {
    let (links, outbox) = new_state();
    let mut fixture = Fixture::new(&links, &outbox);
    let mut reply = agent_reply();
    reply["attachments"] = json!([
        {"data_url": "https://cw.example/blobs/redirect/a/foto.jpg", "file_type": "image"},
        {"data_url": "https://cw.example/blobs/redirect/b/gravacao.ogg", "file_type": "audio"},
        {"data_url": "https://cw.example/blobs/redirect/c/pedido.pdf", "file_type": "file"},
    ]);
    fixture
        .downloader
        .expect_fetch()
        .withf(|field, url, limit| {
            field == ATTACHMENT_URL_FIELD
                && url.ends_with("foto.jpg")
                && *limit == ATTACHMENT_LIMIT_BYTES
        })
        .times(1)
        .returning(|_, _, _| Ok(download_of(PNG, "application/octet-stream")));
    fixture
        .downloader
        .expect_fetch()
        .withf(|_, url, _| url.ends_with("gravacao.ogg"))
        .times(1)
        .returning(|_, _, _| Ok(download_of(OGG_OPUS, "audio/mpeg")));
    fixture
        .downloader
        .expect_fetch()
        .withf(|_, url, _| url.ends_with("pedido.pdf"))
        .times(1)
        .returning(|_, _, _| Ok(download_of(PDF, "application/pdf")));
    let relay = fixture.relay();

    assert_eq!(
        relay.handle(&queued(1, &reply), false).await,
        Ok(OutboundOutcome::Sent)
    );

    let first_id = the_reply_link(&links).whatsapp_id;
    let media: Vec<SendMedia> = sent(&outbox)
        .into_iter()
        .filter_map(|sent| match sent {
            Sent::Media(media) => Some(media),
            _ => None,
        })
        .collect();
    let summary: Vec<_> = media
        .iter()
        .map(|media| {
            (
                media.media_type,
                media.mime_type.clone().unwrap(),
                media.file_name.clone().unwrap(),
                media.is_voice,
                media.message.clone(),
                media.reply_to.clone(),
                media.id.clone().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                OutgoingMediaType::Image,
                "image/png".to_owned(),
                "foto.jpg".to_owned(),
                false,
                Some("Olá *mundo*".to_owned()),
                Some(QUOTED_WHATSAPP_ID.to_owned()),
                first_id.clone(),
            ),
            (
                OutgoingMediaType::Audio,
                "audio/ogg; codecs=opus".to_owned(),
                "gravacao.ogg".to_owned(),
                true,
                None,
                None,
                part_id(&first_id, 1),
            ),
            (
                OutgoingMediaType::Document,
                "application/pdf".to_owned(),
                "pedido.pdf".to_owned(),
                false,
                None,
                None,
                part_id(&first_id, 2),
            ),
        ]
    );
    // The extra parts have links of their own, so their `outgoing` echoes are known.
    let links = links.lock().unwrap();
    for position in 1..=2 {
        let part = links
            .iter()
            .find(|link| link.whatsapp_id == part_id(&first_id, position))
            .expect("a link for each extra part");
        assert_eq!(
            (part.direction, part.chatwoot_id, part.chat_jid.as_str()),
            (LinkDirection::ToWhatsApp, None, CUSTOMER)
        );
    }
}

#[tokio::test]
async fn a_text_with_a_voice_note_goes_first_as_its_own_message() {
    let (links, outbox) = new_state();
    let mut fixture = Fixture::new(&links, &outbox);
    let mut reply = agent_reply();
    reply["attachments"] = json!([
        {"data_url": "https://cw.example/blobs/redirect/b/audio.mp3", "file_type": "audio", "meta": {"is_recorded_audio": true}},
    ]);
    fixture.downloader.expect_fetch().returning(|_, _, _| {
        Ok(download_of(
            b"ID3\x03\x00\x00\x00\x00\x00\x00",
            "audio/mpeg",
        ))
    });
    let relay = fixture.relay();

    relay.handle(&queued(1, &reply), false).await.unwrap();

    let first_id = the_reply_link(&links).whatsapp_id;
    let sent = sent(&outbox);
    let Sent::Text(text) = &sent[0] else {
        panic!("the text first: {sent:?}")
    };
    assert_eq!(text.message, "Olá *mundo*");
    assert_eq!(text.id.as_deref(), Some(first_id.as_str()));
    let Sent::Media(voice) = &sent[1] else {
        panic!("then the voice note: {sent:?}")
    };
    assert!(voice.is_voice && voice.message.is_none());
    assert_eq!(voice.id, Some(part_id(&first_id, 1)));
}

#[tokio::test]
async fn a_quote_whatsapp_does_not_know_is_dropped_rather_than_the_reply() {
    let (links, outbox) = new_state();
    let mut fixture = Fixture::new(&links, &outbox);
    let sent = outbox.clone();
    fixture.whatsapp = whatsapp_texting(move |command| {
        sent.lock().unwrap().push(Sent::Text(command.clone()));
        match command.reply_to {
            Some(_) => Err(SendError::MessageNotFound),
            None => Ok(receipt(command.id)),
        }
    });
    let relay = fixture.relay();

    assert_eq!(
        relay.handle(&queued(1, &text_reply()), false).await,
        Ok(OutboundOutcome::Sent)
    );
    let attempts = texts(&outbox);
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[1].reply_to, None);
    assert_eq!(
        attempts[0].id, attempts[1].id,
        "the same message, not a second one"
    );
}

fn expect_failure_reported(chatwoot: &mut MockChatwootApi, reason_part: &'static str) {
    chatwoot
        .expect_update_message_status()
        .withf(move |_, conversation, message, status| {
            *conversation == ConversationDisplayId(12)
                && *message == MessageId(501)
                && matches!(status, MessageDeliveryStatus::Failed { external_error: Some(reason) } if reason.contains(reason_part))
        })
        .times(1)
        .returning(|_, _, _, _| Ok(()));
    chatwoot
        .expect_create_message()
        .withf(move |_, conversation, note| {
            *conversation == ConversationDisplayId(12)
                && note.private
                && note.source_id.is_none()
                && note.content.contains("did not receive")
                && note.content.contains(reason_part)
        })
        .times(1)
        .returning(|_, _, _| {
            Ok(Message {
                id: MessageId(900),
                conversation_display_id: Some(ConversationDisplayId(12)),
                content: None,
                message_type: Some(MessageType::Outgoing),
                private: true,
                source_id: None,
            })
        });
}

/// A relay over `whatsapp` whose Chatwoot expects one failure naming `reason_part`.
fn relay_reporting_failure(
    links: &Links,
    outbox: &Outbox,
    whatsapp: MockWhatsAppSender,
    reason_part: &'static str,
) -> Arc<OutboundRelay> {
    let mut fixture = Fixture::new(links, outbox);
    fixture.whatsapp = whatsapp;
    expect_failure_reported(&mut fixture.chatwoot, reason_part);
    fixture.relay()
}

#[tokio::test]
async fn a_lasting_refusal_marks_the_message_failed_and_tells_agents() {
    let (links, outbox) = new_state();
    let not_on_whatsapp = SendError::NotOnWhatsApp {
        message: "5511912345678 is not on WhatsApp".into(),
    };
    let relay = relay_reporting_failure(
        &links,
        &outbox,
        whatsapp_refusing_texts(not_on_whatsapp, 1),
        "is not on WhatsApp",
    );

    let outcome = relay.handle(&queued(1, &text_reply()), false).await;

    assert!(
        matches!(&outcome, Ok(OutboundOutcome::Undelivered(reason)) if reason.contains("not on WhatsApp")),
        "{outcome:?}"
    );
    let reply_link = the_reply_link(&links);
    assert_eq!(reply_link.state, LinkState::Failed);
    // Handled again (a duplicate, a crash before it was marked handled): nothing more.
    assert_eq!(
        relay.handle(&queued(1, &text_reply()), false).await,
        Ok(OutboundOutcome::Skipped("already failed"))
    );
}

#[tokio::test]
async fn an_instance_the_api_no_longer_sends_for_is_given_up_at_once_and_reported() {
    let (links, outbox) = new_state();
    // Exactly one send: no retry of a refusal that will not change.
    let relay = relay_reporting_failure(
        &links,
        &outbox,
        whatsapp_refusing_texts(SendError::InstanceGone, 1),
        "integration deactivated",
    );

    let outcome = relay.handle(&queued(1, &text_reply()), false).await;

    assert!(
        matches!(&outcome, Ok(OutboundOutcome::Undelivered(reason)) if reason.contains("instance was deleted")),
        "not retried, reported undelivered: {outcome:?}"
    );
    assert_eq!(the_reply_link(&links).state, LinkState::Failed);
}

#[tokio::test]
async fn a_contact_without_a_whatsapp_id_is_reported_undelivered() {
    let (links, outbox) = new_state();
    let relay = relay_reporting_failure(
        &links,
        &outbox,
        MockWhatsAppSender::new(),
        "no WhatsApp number",
    );
    let mut reply = text_reply();
    reply["conversation"]["meta"]["sender"] = json!({"identifier": "maria@example.com"});

    let outcome = relay.handle(&queued(1, &reply), false).await;

    assert!(
        matches!(outcome, Ok(OutboundOutcome::Undelivered(_))),
        "{outcome:?}"
    );
    assert_eq!(the_reply_link(&links).state, LinkState::Failed);
}

#[tokio::test]
async fn an_outage_is_retried_until_the_last_attempt_then_reported() {
    let (links, outbox) = new_state();
    let engine_down = SendError::NotConnected {
        detail: "engine down".into(),
    };
    // One refusal for the retried attempt, one for the last.
    let relay = relay_reporting_failure(
        &links,
        &outbox,
        whatsapp_refusing_texts(engine_down, 2),
        "could not be sent for 12 hours",
    );

    let retried = relay.handle(&queued(1, &text_reply()), false).await;
    assert!(
        matches!(retried, Err(OutboundFailure::Transient(_))),
        "{retried:?}"
    );
    assert_eq!(the_reply_link(&links).state, LinkState::Pending);

    let last = relay.handle(&queued(1, &text_reply()), true).await;
    assert!(
        matches!(last, Ok(OutboundOutcome::Undelivered(_))),
        "{last:?}"
    );
    assert_eq!(the_reply_link(&links).state, LinkState::Failed);
}

#[tokio::test(start_paused = true)]
async fn the_worker_retries_a_transient_failure_with_the_same_id_then_marks_it_handled() {
    let (links, outbox) = new_state();
    let mut fixture = Fixture::new(&links, &outbox);
    let sent = outbox.clone();
    fixture.whatsapp = whatsapp_texting(move |command| {
        let mut sent = sent.lock().unwrap();
        sent.push(Sent::Text(command.clone()));
        if sent.len() == 1 {
            Err(SendError::NotConnected {
                detail: "engine restarting".into(),
            })
        } else {
            Ok(receipt(command.id))
        }
    });
    fixture
        .queue
        .expect_record_webhook_attempt()
        .with(eq(1))
        .times(1)
        .returning(|_| Ok(1));
    fixture
        .queue
        .expect_finish_webhook()
        .with(eq(1))
        .times(1)
        .returning(|_| Ok(()));
    let relay = fixture.relay();

    worker::work(
        relay,
        worker::Budget {
            integration: Arc::new(tokio::sync::Semaphore::new(1)),
            bridge: Arc::new(tokio::sync::Semaphore::new(1)),
        },
        queued(1, &text_reply()),
    )
    .await;

    let attempts = texts(&outbox);
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].id, attempts[1].id);
    assert_eq!(the_reply_link(&links).state, LinkState::Completed);
}

#[tokio::test]
async fn a_deleted_agent_message_is_revoked_for_everyone_with_all_its_parts() {
    let (links, outbox) = new_state();
    let first_id = "3EB0BBBBBBBBBBBBBBBBBB";
    links.lock().unwrap().extend([
        link(first_id, Some(501), LinkDirection::ToWhatsApp),
        link(&part_id(first_id, 1), None, LinkDirection::ToWhatsApp),
    ]);
    let relay = Fixture::new(&links, &outbox).relay();
    let mut deleted = text_reply();
    deleted["event"] = json!("message_updated");
    deleted["content"] = json!("This message was deleted");
    deleted["content_attributes"] = json!({"deleted": true});

    let outcome = relay.handle(&queued(1, &deleted), false).await;

    assert_eq!(outcome, Ok(OutboundOutcome::Revoked));
    assert_eq!(
        sent(&outbox),
        vec![
            Sent::Delete(DeleteMessage {
                message_id: first_id.into(),
                delete_for_everyone: true,
                number: Some(CUSTOMER.into()),
                id: None,
            }),
            Sent::Delete(DeleteMessage {
                message_id: part_id(first_id, 1),
                delete_for_everyone: true,
                number: Some(CUSTOMER.into()),
                id: None,
            }),
        ]
    );
}

#[tokio::test]
async fn deleting_a_message_the_bridge_did_not_send_revokes_nothing() {
    let (links, outbox) = new_state();
    let mut fixture = Fixture::new(&links, &outbox);
    fixture.whatsapp = MockWhatsAppSender::new();
    let relay = fixture.relay();
    let mut deleted = text_reply();
    deleted["event"] = json!("message_updated");
    deleted["id"] = json!(77);
    deleted["content_attributes"] = json!({"deleted": true});

    assert_eq!(
        relay.handle(&queued(1, &deleted), false).await,
        Ok(OutboundOutcome::Skipped("not sent by the bridge"))
    );
}

// ---- The worker -------------------------------------------------------------------

fn webhook_in_conversation(
    id: i64,
    conversation: i64,
    message_id: i64,
    phone: &str,
) -> QueuedWebhook {
    let mut reply = text_reply();
    reply["id"] = json!(message_id);
    reply["content_attributes"] = json!({});
    reply["conversation"]["id"] = json!(conversation);
    reply["conversation"]["meta"]["sender"] =
        json!({"identifier": format!("{phone}@s.whatsapp.net")});
    queued(id, &reply).webhook
}

/// Puts `webhooks` in the fixture's queue: listed while pending, forgotten once
/// finished. The receiver hears the id of each webhook as it is finished.
fn queue_holding(
    fixture: &mut Fixture,
    webhooks: Vec<QueuedWebhook>,
) -> tokio::sync::mpsc::UnboundedReceiver<i64> {
    let pending = Arc::new(Mutex::new(webhooks));
    let listed = pending.clone();
    fixture
        .queue
        .expect_pending_webhooks()
        .returning(move |limit| Ok(listed.lock().unwrap().iter().take(limit).cloned().collect()));
    fixture
        .queue
        .expect_record_webhook_attempt()
        .returning(|_| Ok(1));
    fixture
        .queue
        .expect_forget_handled_before()
        .returning(|_| Ok(0));
    let (finished_sender, finished) = tokio::sync::mpsc::unbounded_channel();
    fixture.queue.expect_finish_webhook().returning(move |id| {
        pending.lock().unwrap().retain(|webhook| webhook.id != id);
        let _ = finished_sender.send(id);
        Ok(())
    });
    finished
}

/// Runs the fixture's outbound worker in the background until aborted.
fn spawn_worker(fixture: Fixture) -> tokio::task::JoinHandle<()> {
    let bridge = fixture.bridge();
    tokio::spawn(async move { bridge.run_outbound().await })
}

#[tokio::test(start_paused = true)]
async fn a_conversation_stuck_in_retries_does_not_hold_back_another() {
    let (links, outbox) = new_state();
    let mut fixture = Fixture::new(&links, &outbox);
    let stuck = webhook_in_conversation(1, 12, 501, "5511900000001");
    let free = webhook_in_conversation(2, 13, 502, "5511900000002");
    let mut finished = queue_holding(&mut fixture, vec![stuck, free]);
    let sent = outbox.clone();
    fixture.whatsapp = whatsapp_texting(move |command| {
        if command.number.starts_with("5511900000001") {
            return Err(SendError::RateLimited {
                detail: "slow down".into(),
            });
        }
        sent.lock().unwrap().push(Sent::Text(command.clone()));
        Ok(receipt(command.id))
    });
    let worker = spawn_worker(fixture);

    let first_finished = tokio::time::timeout(Duration::from_secs(30), finished.recv())
        .await
        .expect("the free conversation is handled while the other retries");

    assert_eq!(first_finished, Some(2));
    assert_eq!(texts(&outbox).len(), 1);
    assert_eq!(texts(&outbox)[0].number, "5511900000002@s.whatsapp.net");
    worker.abort();
}

#[tokio::test(start_paused = true)]
async fn a_conversations_messages_go_out_in_the_order_they_were_written() {
    let (links, outbox) = new_state();
    let mut fixture = Fixture::new(&links, &outbox);
    let first = webhook_in_conversation(1, 12, 501, "5511900000001");
    let second = webhook_in_conversation(2, 12, 502, "5511900000001");
    let mut finished = queue_holding(&mut fixture, vec![first, second]);
    let sent = outbox.clone();
    let mut failures_left = 3;
    fixture.whatsapp = whatsapp_texting(move |command| {
        if failures_left > 0 {
            // The first message fails a few times before WhatsApp takes it.
            failures_left -= 1;
            return Err(SendError::NotConnected {
                detail: "reconnecting".into(),
            });
        }
        sent.lock().unwrap().push(Sent::Text(command.clone()));
        Ok(receipt(command.id))
    });
    let worker = spawn_worker(fixture);

    let mut order = Vec::new();
    for _ in 0..2 {
        order.push(
            tokio::time::timeout(Duration::from_secs(60), finished.recv())
                .await
                .expect("both are handled")
                .unwrap(),
        );
    }

    assert_eq!(order, vec![1, 2]);
    let links = links.lock().unwrap();
    let id_of = |chatwoot| {
        links
            .iter()
            .find(|link| link.chatwoot_id == Some(MessageId(chatwoot)))
            .map(|link| link.whatsapp_id.clone())
    };
    let sent_ids: Vec<_> = texts(&outbox).into_iter().map(|text| text.id).collect();
    assert_eq!(sent_ids, vec![id_of(501), id_of(502)]);
    worker.abort();
}

// ---- The receiver -----------------------------------------------------------------

const SIGNING_SECRET: &str = "whsec_inbox_7";

fn api_inbox(secret: Option<&str>) -> Inbox {
    Inbox {
        id: InboxId(7),
        name: "RyzeAPI".into(),
        channel_type: API_CHANNEL_TYPE.into(),
        webhook_url: None,
        inbox_identifier: None,
        webhook_secret: secret.map(SecretString::from),
    }
}

/// A bridge whose queue records what was queued (with its de-duplication), and whose
/// Chatwoot shows the inbox with `signing_secret`.
fn receiving_bridge(signing_secret: Option<&'static str>) -> (Bridge, Arc<Mutex<Vec<String>>>) {
    let (links, outbox) = new_state();
    let mut fixture = Fixture::new(&links, &outbox);
    fixture
        .chatwoot
        .expect_get_inbox()
        .with(mockall::predicate::always(), eq(InboxId(7)))
        .returning(move |target, _| {
            assert_eq!(target.api_token.expose(), "cw-token");
            Ok(api_inbox(signing_secret))
        });
    let keys = Arc::new(Mutex::new(Vec::<String>::new()));
    let queued_keys = keys.clone();
    fixture
        .queue
        .expect_enqueue_webhook()
        .returning(move |integration, key, _, _| {
            assert_eq!(integration.as_str(), "int_test");
            let mut keys = queued_keys.lock().unwrap();
            if keys.iter().any(|known| known == key) {
                return Ok(EnqueueOutcome::Duplicate);
            }
            keys.push(key.to_owned());
            Ok(EnqueueOutcome::Queued {
                id: keys.len() as i64,
            })
        });
    (fixture.bridge(), keys)
}

fn unsigned(body: &[u8]) -> WebhookCall<'_> {
    WebhookCall {
        body,
        signature: SignatureHeaders::default(),
    }
}

#[tokio::test]
async fn the_receiver_queues_agents_messages_once_and_ignores_the_rest() {
    let (bridge, keys) = receiving_bridge(None);
    let integration = integration(RelayFlags::default());
    let reply = agent_reply().to_string();
    let incoming =
        json!({"event": "message_created", "id": 9, "message_type": "incoming"}).to_string();

    let first = bridge
        .receive_webhook(&integration, unsigned(reply.as_bytes()))
        .await;
    let again = bridge
        .receive_webhook(&integration, unsigned(reply.as_bytes()))
        .await;
    let ignored = bridge
        .receive_webhook(&integration, unsigned(incoming.as_bytes()))
        .await;

    assert_eq!(first.unwrap(), WebhookReceipt::Queued);
    assert_eq!(again.unwrap(), WebhookReceipt::Duplicate);
    assert_eq!(
        ignored.unwrap(),
        WebhookReceipt::Ignored("not an outgoing message")
    );
    assert_eq!(
        *keys.lock().unwrap(),
        vec!["message_created:501".to_owned()]
    );
    assert!(matches!(
        bridge
            .receive_webhook(&integration, unsigned(b"{oops"))
            .await,
        Err(ReceiveWebhookError::InvalidBody(_))
    ));
}

#[tokio::test]
async fn without_the_outbound_relay_an_agents_message_is_refused_not_dropped() {
    let bridge = Bridge::new(
        Arc::new(MockBridgeIntegrationStore::new()),
        Arc::new(MockChatwootApi::new()),
        Arc::new(MockSecretVault::new()),
        Arc::new(MockOutboundGuard::new()),
        BridgeSettings {
            public_url: "https://bridge.example".parse().unwrap(),
        },
    );
    let integration = integration(RelayFlags::default());
    let reply = agent_reply().to_string();
    let typing = json!({"event": "conversation_typing_on"}).to_string();

    assert!(matches!(
        bridge
            .receive_webhook(&integration, unsigned(reply.as_bytes()))
            .await,
        Err(ReceiveWebhookError::OutboundDisabled)
    ));
    assert!(matches!(
        bridge
            .receive_webhook(&integration, unsigned(typing.as_bytes()))
            .await,
        Ok(WebhookReceipt::Ignored(_))
    ));
}

fn signed<'a>(body: &'a [u8], signature: &'a str, timestamp: &'a str) -> WebhookCall<'a> {
    WebhookCall {
        body,
        signature: SignatureHeaders {
            signature: Some(signature),
            timestamp: Some(timestamp),
        },
    }
}

#[tokio::test]
async fn chatwoots_signature_is_checked_with_the_inboxs_signing_secret() {
    let (bridge, keys) = receiving_bridge(Some(SIGNING_SECRET));
    let integration = integration(RelayFlags::default());
    let body = agent_reply().to_string();
    let now = Utc::now().timestamp().to_string();
    let stale = (Utc::now().timestamp() - 301).to_string();
    let good = chatwoot_signature(SIGNING_SECRET, &now, body.as_bytes());
    let forged = chatwoot_signature("a guess", &now, body.as_bytes());
    let old = chatwoot_signature(SIGNING_SECRET, &stale, body.as_bytes());

    let refused_forged = bridge
        .receive_webhook(&integration, signed(body.as_bytes(), &forged, &now))
        .await;
    let refused_stale = bridge
        .receive_webhook(&integration, signed(body.as_bytes(), &old, &stale))
        .await;
    let refused_unsigned = bridge
        .receive_webhook(&integration, unsigned(body.as_bytes()))
        .await;
    let tampered = bridge
        .receive_webhook(
            &integration,
            signed(b"{\"event\":\"message_created\"}", &good, &now),
        )
        .await;
    assert!(
        keys.lock().unwrap().is_empty(),
        "nothing refused was queued"
    );
    let accepted = bridge
        .receive_webhook(&integration, signed(body.as_bytes(), &good, &now))
        .await;

    for (outcome, expected) in [
        (refused_forged, SignatureRefused::Mismatch),
        (refused_stale, SignatureRefused::Stale),
        (refused_unsigned, SignatureRefused::Missing),
        (tampered, SignatureRefused::Mismatch),
    ] {
        assert!(
            matches!(&outcome, Err(ReceiveWebhookError::Signature(refused)) if *refused == expected),
            "{outcome:?} should be refused as {expected:?}"
        );
    }
    assert_eq!(accepted.unwrap(), WebhookReceipt::Queued);
}

#[tokio::test]
async fn when_chatwoot_shows_no_signing_secret_the_url_secret_suffices() {
    // An agent's token (Chatwoot shows the secret to administrators only), or a Chatwoot
    // older than signed API-inbox webhooks.
    let (bridge, keys) = receiving_bridge(None);
    let integration = integration(RelayFlags::default());
    let body = agent_reply().to_string();
    let now = Utc::now().timestamp().to_string();
    let signature = chatwoot_signature("unknown to the bridge", &now, body.as_bytes());

    let outcome = bridge
        .receive_webhook(&integration, signed(body.as_bytes(), &signature, &now))
        .await;

    assert_eq!(outcome.unwrap(), WebhookReceipt::Queued);
    assert_eq!(keys.lock().unwrap().len(), 1);
}

// ---- Budgets and caps (one integration cannot stall the others) ----------------------

/// Downloads that never end, as from a Chatwoot trickling bytes for ever.
struct StalledDownloads;

#[async_trait::async_trait]
impl MediaFetcher for StalledDownloads {
    async fn fetch(
        &self,
        _field: &'static str,
        _url: &str,
        _max_bytes: u64,
    ) -> Result<FetchedMedia, MediaFetchError> {
        std::future::pending().await
    }
}

#[tokio::test(start_paused = true)]
async fn an_integration_whose_downloads_stall_does_not_hold_back_another_integrations_reply() {
    let (links, outbox) = new_state();
    let mut fixture = Fixture::new(&links, &outbox);
    fixture.settings.max_parallel = 4;
    fixture.settings.max_parallel_per_integration = 2;
    fixture.fetcher = Some(Arc::new(StalledDownloads));
    // More stalled conversations of one integration than the whole bridge's budget.
    let mut webhooks: Vec<QueuedWebhook> = (1..=6)
        .map(|n| {
            let mut webhook = webhook_in_conversation(n, 100 + n, 600 + n, "5511900000001");
            let mut payload: Value = serde_json::from_slice(&webhook.payload).unwrap();
            payload["attachments"] = json!([{"data_url": format!("https://cw.example/slow/{n}.pdf"), "file_type": "file"}]);
            webhook.payload = payload.to_string().into_bytes();
            webhook.integration = BridgeIntegrationId::new("int_slow");
            webhook
        })
        .collect();
    let mut other = webhook_in_conversation(50, 13, 550, "5511900000002");
    other.integration = BridgeIntegrationId::new("int_other");
    webhooks.push(other);
    let mut finished = queue_holding(&mut fixture, webhooks);
    let worker = spawn_worker(fixture);

    let first_finished = tokio::time::timeout(Duration::from_secs(30), finished.recv())
        .await
        .expect("the other integration's reply is not held back");

    assert_eq!(first_finished, Some(50));
    assert_eq!(texts(&outbox).len(), 1);
    assert_eq!(texts(&outbox)[0].number, "5511900000002@s.whatsapp.net");
    worker.abort();
}

#[tokio::test]
async fn a_retry_goes_on_after_the_attachments_already_sent() {
    let (links, outbox) = new_state();
    let mut fixture = Fixture::new(&links, &outbox);
    let mut reply = agent_reply();
    reply["attachments"] = json!([
        {"data_url": "https://cw.example/blobs/redirect/a/foto.jpg", "file_type": "image"},
        {"data_url": "https://cw.example/blobs/redirect/c/pedido.pdf", "file_type": "file"},
    ]);
    fixture
        .downloader
        .expect_fetch()
        .withf(|_, url, _| url.ends_with("foto.jpg"))
        .times(1)
        .returning(|_, _, _| Ok(download_of(PNG, "image/png")));
    let mut pdf_attempts = 0;
    fixture
        .downloader
        .expect_fetch()
        .withf(|_, url, _| url.ends_with("pedido.pdf"))
        .times(2)
        .returning(move |_, _, _| {
            pdf_attempts += 1;
            if pdf_attempts == 1 {
                Err(MediaFetchError::ServerUnavailable {
                    answer: "HTTP 503".into(),
                })
            } else {
                Ok(download_of(PDF, "application/pdf"))
            }
        });
    let relay = fixture.relay();
    let read = queued(1, &reply);

    let failed = relay.handle(&read, false).await;
    assert!(
        matches!(failed, Err(OutboundFailure::Transient(_))),
        "{failed:?}"
    );
    assert_eq!(relay.handle(&read, false).await, Ok(OutboundOutcome::Sent));

    let first_id = the_reply_link(&links).whatsapp_id;
    let media_ids: Vec<_> = sent(&outbox)
        .into_iter()
        .filter_map(|sent| match sent {
            Sent::Media(media) => Some((media.id.unwrap(), media.message)),
            _ => None,
        })
        .collect();
    assert_eq!(
        media_ids,
        vec![
            (first_id.clone(), Some("Olá *mundo*".to_owned())),
            (part_id(&first_id, 1), None),
        ],
        "the photo went out once; the retry sent only the document, without the caption"
    );
}

/// Expects one private note in conversation 12 containing every one of `parts`.
fn expect_note(chatwoot: &mut MockChatwootApi, parts: &'static [&'static str]) {
    chatwoot
        .expect_create_message()
        .withf(move |_, conversation, note| {
            *conversation == ConversationDisplayId(12)
                && note.private
                && parts.iter().all(|part| note.content.contains(part))
        })
        .times(1)
        .returning(|_, _, _| {
            Ok(Message {
                id: MessageId(901),
                conversation_display_id: Some(ConversationDisplayId(12)),
                content: None,
                message_type: Some(MessageType::Outgoing),
                private: true,
                source_id: None,
            })
        });
}

#[tokio::test]
async fn at_most_ten_attachments_are_fetched_and_agents_are_told_about_the_others() {
    let (links, outbox) = new_state();
    let mut fixture = Fixture::new(&links, &outbox);
    let mut reply = agent_reply();
    reply["attachments"] = (0..12)
        .map(|index| json!({"data_url": format!("https://cw.example/r/{index}.pdf"), "file_type": "file"}))
        .collect();
    fixture
        .downloader
        .expect_fetch()
        .withf(|_, url, _| !url.ends_with("/10.pdf") && !url.ends_with("/11.pdf"))
        .times(ATTACHMENTS_PER_MESSAGE)
        .returning(|_, _, _| Ok(download_of(PDF, "application/pdf")));
    expect_note(
        &mut fixture.chatwoot,
        &["Not sent to WhatsApp", "2 attachments beyond the 10"],
    );
    let relay = fixture.relay();

    assert_eq!(
        relay.handle(&queued(1, &reply), false).await,
        Ok(OutboundOutcome::Sent)
    );
    let media = sent(&outbox)
        .into_iter()
        .filter(|sent| matches!(sent, Sent::Media(_)))
        .count();
    assert_eq!(media, ATTACHMENTS_PER_MESSAGE);
}

#[tokio::test]
async fn an_attachment_served_from_elsewhere_is_never_fetched_and_agents_are_told() {
    let (links, outbox) = new_state();
    let mut fixture = Fixture::new(&links, &outbox);
    let mut reply = agent_reply();
    reply["attachments"] = json!([
        {"data_url": "http://10.0.0.7/admin/export?token=secret", "file_type": "file"},
    ]);
    // No download expectation: a fetch would fail the test.
    expect_note(
        &mut fixture.chatwoot,
        &["1 attachment not served by this inbox's Chatwoot (http://10.0.0.7)"],
    );
    let relay = fixture.relay();

    assert_eq!(
        relay.handle(&queued(1, &reply), false).await,
        Ok(OutboundOutcome::Sent)
    );
    let sent = sent(&outbox);
    assert!(
        matches!(&sent[0], Sent::Text(text) if text.message == "Olá *mundo*"),
        "the text still goes: {sent:?}"
    );
    assert!(!sent.iter().any(|sent| matches!(sent, Sent::Media(_))));
}

#[tokio::test]
async fn a_message_of_foreign_attachments_alone_is_reported_undelivered() {
    let (links, outbox) = new_state();
    let mut fixture = Fixture::new(&links, &outbox);
    fixture.whatsapp = MockWhatsAppSender::new();
    expect_failure_reported(&mut fixture.chatwoot, "not served by this inbox's Chatwoot");
    let mut reply = agent_reply();
    reply["content"] = json!("");
    reply["attachments"] = json!([
        {"data_url": "https://files.evil.example/x.pdf", "file_type": "file"},
    ]);
    let relay = fixture.relay();

    let outcome = relay.handle(&queued(1, &reply), false).await;

    assert!(
        matches!(outcome, Ok(OutboundOutcome::Undelivered(_))),
        "{outcome:?}"
    );
    assert_eq!(the_reply_link(&links).state, LinkState::Failed);
}

#[tokio::test(start_paused = true)]
async fn sends_wait_for_the_outbound_relays_own_budget_of_calls_to_the_api() {
    let (links, outbox) = new_state();
    let mut fixture = Fixture::new(&links, &outbox);
    fixture.settings.max_parallel_sends = 1;
    fixture.settings.send_timeout = Duration::from_secs(5);
    let relay = fixture.relay();

    // Another send holds the only call the budget allows: this one cannot start.
    let busy = relay.sends.acquire().await.unwrap();
    let waited = relay.handle(&queued(1, &text_reply()), false).await;
    assert!(
        matches!(&waited, Err(OutboundFailure::Transient(reason)) if reason.contains("no answer within 5 s")),
        "{waited:?}"
    );
    assert!(texts(&outbox).is_empty());

    drop(busy);
    assert_eq!(
        relay.handle(&queued(1, &text_reply()), false).await,
        Ok(OutboundOutcome::Sent)
    );
    assert_eq!(texts(&outbox).len(), 1);
}

/// A receiving bridge that also runs relay sessions, so it keeps conversation statuses.
fn receiving_bridge_with_sessions(fixture: Fixture) -> Bridge {
    fixture.bridge().with_relay(crate::sessions::RelayPorts {
        connector: Arc::new(ryze_ports::MockEventStreamConnector::new()),
        relay_store: Arc::new(MockRelayStore::new()),
        whatsapp: None,
        settings: crate::sessions::SessionSettings::default(),
    })
}

fn known_status(bridge: &Bridge, conversation: i64) -> Option<ConversationStatus> {
    bridge.sessions.as_ref().unwrap().status_book().trusted(
        &BridgeIntegrationId::new("int_test"),
        ConversationDisplayId(conversation),
    )
}

#[tokio::test]
async fn the_receiver_keeps_the_status_chatwoots_webhooks_tell_and_forgets_it_when_one_is_lost() {
    let (links, outbox): (Links, Outbox) = Default::default();
    let mut fixture = Fixture::new(&links, &outbox);
    fixture
        .chatwoot
        .expect_get_inbox()
        .returning(|_, _| Ok(api_inbox(None)));
    fixture
        .queue
        .expect_enqueue_webhook()
        .returning(|_, _, _, _| Err(ryze_ports::StoreError::Unavailable("down".into())));
    let bridge = receiving_bridge_with_sessions(fixture);
    let integration = integration(RelayFlags::default());
    let resolved = json!({"event": "conversation_status_changed", "id": 12, "inbox_id": 7,
                          "status": "resolved", "updated_at": 100.0})
    .to_string();
    let other_inbox = json!({"event": "conversation_updated", "id": 13, "inbox_id": 8,
                             "status": "open"})
    .to_string();

    let receipt = bridge
        .receive_webhook(&integration, unsigned(resolved.as_bytes()))
        .await
        .unwrap();
    bridge
        .receive_webhook(&integration, unsigned(other_inbox.as_bytes()))
        .await
        .unwrap();

    assert_eq!(receipt, WebhookReceipt::Ignored("event not relayed"));
    assert_eq!(
        known_status(&bridge, 12),
        Some(ConversationStatus::Resolved)
    );
    assert_eq!(known_status(&bridge, 13), None);

    // An agent's reply the bridge cannot queue: Chatwoot will not send it again, nor
    // whatever else it said, so what the bridge knew of the integration goes.
    let reply = agent_reply().to_string();
    let failed = bridge
        .receive_webhook(&integration, unsigned(reply.as_bytes()))
        .await;
    assert!(
        matches!(failed, Err(ReceiveWebhookError::Queue(_))),
        "{failed:?}"
    );
    assert_eq!(known_status(&bridge, 12), None);
}

/// A `conversation_updated` webhook: an agent set the conversation's labels to `labels`
/// at `updated_at`.
fn label_change(labels: &[&str], updated_at: f64) -> Value {
    json!({
        "event": "conversation_updated",
        "id": 12,
        "inbox_id": 7,
        "account": {"id": 5},
        "labels": labels,
        "updated_at": updated_at,
        "meta": {"sender": {"identifier": CUSTOMER}},
        "changed_attributes": [{"label_list": {"previous_value": [], "current_value": labels}}]
    })
}

#[tokio::test]
async fn a_label_change_that_arrives_after_a_newer_one_does_not_undo_it_on_whatsapp() {
    let (links, outbox) = new_state();
    let mut fixture = Fixture::new(&links, &outbox);
    let label_commands = Arc::new(Mutex::new(Vec::new()));
    let recorded = label_commands.clone();
    fixture
        .whatsapp
        .expect_set_chat_labels()
        .returning(move |_, command| {
            recorded.lock().unwrap().push(command.labels);
            Ok(EngineReceipt::default())
        });
    let relay = fixture.relay();

    // Chatwoot delivers its webhooks in parallel: the newer change arrives first.
    let newer = relay
        .handle(
            &queued(1, &label_change(&["novo-cliente", "vip"], 200.5)),
            false,
        )
        .await;
    let older = relay
        .handle(&queued(2, &label_change(&["novo-cliente"], 100.5)), false)
        .await;

    assert_eq!(newer, Ok(OutboundOutcome::LabelsSet));
    assert!(
        matches!(older, Ok(OutboundOutcome::Skipped(_))),
        "{older:?}"
    );
    assert_eq!(
        *label_commands.lock().unwrap(),
        vec![vec!["novo-cliente".to_owned(), "vip".to_owned()]],
        "WhatsApp keeps the newest labels"
    );
}
