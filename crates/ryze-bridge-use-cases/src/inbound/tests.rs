//! The inbound relay's rules against mocked Chatwoot and store.

use std::sync::Arc;

use ryze_domain::{BridgeIntegrationId, InstanceId, RelayFlags};
use ryze_ports::chatwoot::{
    ChatwootError, ChatwootTarget, ConversationDisplayId, ConversationStatus, InboxId,
    MessageDirection, MessageId,
};
use ryze_ports::whatsapp_events::EventEnvelope;
use ryze_ports::{KnownContact, LinkDirection, LinkState};

use super::relay::*;
use crate::conversation_status::ConversationStatusBook;
use chrono::Utc;
use mockall::predicate::eq;
use ryze_domain::{ChatwootAccountId, ChatwootApiToken, ChatwootBaseUrl};
use ryze_ports::chatwoot::{
    Contact, ContactId, ContactInbox, Conversation, CreatedContact, Message,
};
use ryze_ports::{MessageLink, MockChatwootApi, MockRelayStore};

const MESSAGE_ID: &str = "3A0011223344556677AA";

fn context(flags: RelayFlags) -> RelayContext {
    RelayContext {
        integration_id: BridgeIntegrationId::new("int_test"),
        instance_id: InstanceId::new("ins_test"),
        target: ChatwootTarget {
            base_url: ChatwootBaseUrl::parse("http://chatwoot.test").unwrap(),
            account_id: ChatwootAccountId::new(1).unwrap(),
            api_token: ChatwootApiToken::parse("token").unwrap(),
        },
        inbox_id: InboxId(7),
        flags,
    }
}

fn text_event(chat: serde_json::Value) -> EventEnvelope {
    serde_json::from_value(serde_json::json!({
        "event": "message.exchange",
        "data": {
            "id": MESSAGE_ID,
            "message": {
                "id": MESSAGE_ID,
                "direction": "incoming",
                "timestamp": 1718000000,
                "type": "text",
                "chat": chat,
                "sender": {"jid": "5511912345678@s.whatsapp.net", "name": "Maria"},
                "content": {"text": "Olá *mundo*"}
            }
        },
        "instanceData": {"baseUrl": "", "instance": "suporte"}
    }))
    .unwrap()
}

fn private_chat() -> serde_json::Value {
    serde_json::json!({"jid": "5511912345678@s.whatsapp.net", "name": "Maria", "type": "private"})
}

fn link(state: LinkState, chatwoot_id: Option<i64>) -> MessageLink {
    MessageLink {
        whatsapp_id: MESSAGE_ID.into(),
        chatwoot_id: chatwoot_id.map(MessageId),
        conversation: Some(ConversationDisplayId(3)),
        direction: LinkDirection::ToChatwoot,
        chat_jid: "5511912345678@s.whatsapp.net".into(),
        from_me: false,
        participant_jid: None,
        state,
        failure: String::new(),
        created_at: Utc::now(),
    }
}

fn relay(chatwoot: MockChatwootApi, store: MockRelayStore, flags: RelayFlags) -> InboundRelay {
    relay_with_book(chatwoot, store, flags, Arc::new(status_book()))
}

fn status_book() -> ConversationStatusBook {
    ConversationStatusBook::new(std::time::Duration::from_secs(60))
}

fn relay_with_book(
    chatwoot: MockChatwootApi,
    store: MockRelayStore,
    flags: RelayFlags,
    book: Arc<ConversationStatusBook>,
) -> InboundRelay {
    InboundRelay::new(
        Arc::new(chatwoot),
        Arc::new(store),
        None,
        context(flags),
        book,
    )
}

fn conversation(display_id: i64, status: ConversationStatus) -> Conversation {
    Conversation {
        display_id: ConversationDisplayId(display_id),
        inbox_id: InboxId(7),
        status,
        contact_id: Some(ContactId(5)),
        last_activity_at: None,
    }
}

fn message(id: i64, source_id: &str) -> Message {
    Message {
        id: MessageId(id),
        conversation_display_id: Some(ConversationDisplayId(3)),
        content: None,
        message_type: None,
        private: false,
        source_id: Some(source_id.to_owned()),
    }
}

#[tokio::test]
async fn a_message_already_relayed_is_not_written_again() {
    let mut store = MockRelayStore::new();
    store
        .expect_find_link_by_whatsapp_id()
        .returning(|_, _| Ok(Some(link(LinkState::Completed, Some(40)))));
    // No Chatwoot call is expected: the mock fails the test on any.
    let relay = relay(MockChatwootApi::new(), store, RelayFlags::default());
    let outcome = relay.relay(&text_event(private_chat())).await.unwrap();
    assert_eq!(outcome, RelayOutcome::Skipped("already relayed"));
}

fn known_contact_and_open_conversation(store: &mut MockRelayStore, chatwoot: &mut MockChatwootApi) {
    store.expect_find_contact().returning(|_, keys| {
        Ok(Some(KnownContact {
            contact_id: ContactId(5),
            source_id: "src-5".into(),
            keys: keys.to_vec(),
        }))
    });
    store
        .expect_find_conversation()
        .returning(|_, _| Ok(Some(ConversationDisplayId(3))));
    chatwoot
        .expect_get_conversation()
        .returning(|_, _| Ok(conversation(3, ConversationStatus::Open)));
}

/// A crash left the message's link pending; its sender and conversation are known.
fn pending_message_of_a_known_contact_in_an_open_conversation() -> (MockRelayStore, MockChatwootApi)
{
    let mut store = MockRelayStore::new();
    let mut chatwoot = MockChatwootApi::new();
    store
        .expect_find_link_by_whatsapp_id()
        .returning(|_, _| Ok(Some(link(LinkState::Pending, None))));
    known_contact_and_open_conversation(&mut store, &mut chatwoot);
    (store, chatwoot)
}

#[tokio::test]
async fn after_a_crash_a_pending_message_found_in_chatwoot_is_only_recorded() {
    let (mut store, mut chatwoot) = pending_message_of_a_known_contact_in_an_open_conversation();
    chatwoot
        .expect_list_messages()
        .with(mockall::predicate::always(), eq(ConversationDisplayId(3)))
        .returning(|_, _| Ok(vec![message(39, "OTHER"), message(40, MESSAGE_ID)]));
    store
        .expect_complete_message_link()
        .withf(|_, id, chatwoot_id, conversation| {
            id == MESSAGE_ID
                && *chatwoot_id == MessageId(40)
                && *conversation == ConversationDisplayId(3)
        })
        .times(1)
        .returning(|_, _, _, _| Ok(true));
    let relay = relay(chatwoot, store, RelayFlags::default());
    let outcome = relay.relay(&text_event(private_chat())).await.unwrap();
    assert_eq!(outcome, RelayOutcome::Skipped("already in Chatwoot"));
}

#[tokio::test]
async fn after_a_crash_a_pending_message_missing_from_chatwoot_is_written_once() {
    let (mut store, mut chatwoot) = pending_message_of_a_known_contact_in_an_open_conversation();
    chatwoot
        .expect_list_messages()
        .returning(|_, _| Ok(vec![message(39, "OTHER")]));
    store
        .expect_begin_message_link()
        .returning(|_, _| Ok(link(LinkState::Pending, None)));
    chatwoot
        .expect_create_message()
        .withf(|_, conversation, message| {
            *conversation == ConversationDisplayId(3)
                && message.content == "Olá **mundo**"
                && message.direction == MessageDirection::Incoming
                && message.source_id.as_deref() == Some(MESSAGE_ID)
                && !message.private
        })
        .times(1)
        .returning(|_, _, _| Ok(message(41, MESSAGE_ID)));
    store
        .expect_complete_message_link()
        .times(1)
        .returning(|_, _, _, _| Ok(true));
    assert_eq!(
        relay_text_from_a_private_chat(chatwoot, store, RelayFlags::default()).await,
        RelayOutcome::Relayed
    );
}

/// Relays a text message from a private chat and returns the outcome.
async fn relay_text_from_a_private_chat(
    chatwoot: MockChatwootApi,
    store: MockRelayStore,
    flags: RelayFlags,
) -> RelayOutcome {
    relay(chatwoot, store, flags)
        .relay(&text_event(private_chat()))
        .await
        .unwrap()
}

/// Expects the conversation `display_id` to be remembered for the contact, once.
fn expect_conversation_remembered(store: &mut MockRelayStore, display_id: i64) {
    store
        .expect_remember_conversation()
        .withf(move |_, _, conversation| *conversation == ConversationDisplayId(display_id))
        .times(1)
        .returning(|_, _, _| Ok(()));
}

fn new_person_with_a_resolved_conversation(
    store: &mut MockRelayStore,
    chatwoot: &mut MockChatwootApi,
) {
    store
        .expect_find_link_by_whatsapp_id()
        .returning(|_, _| Ok(None));
    store.expect_find_contact().returning(|_, _| Ok(None));
    chatwoot
        .expect_filter_contacts_by_identifier_or_phone()
        .withf(|_, lookup| {
            lookup.identifier.as_deref() == Some("5511912345678@s.whatsapp.net")
                && lookup.phone_number.as_deref() == Some("+5511912345678")
        })
        .returning(|_, _| Ok(vec![]));
    chatwoot
        .expect_create_contact()
        .withf(|_, contact| contact.inbox_id == InboxId(7) && contact.name == "Maria")
        .times(1)
        .returning(|_, contact| {
            Ok(CreatedContact {
                contact: Contact {
                    id: ContactId(5),
                    name: contact.name.clone(),
                    phone_number: contact.phone_number.clone(),
                    identifier: contact.identifier.clone(),
                    custom_attributes: Default::default(),
                    contact_inboxes: vec![],
                },
                contact_inbox: Some(ContactInbox {
                    source_id: "src-5".into(),
                    inbox_id: InboxId(7),
                }),
            })
        });
    store
        .expect_remember_contact()
        .withf(|_, contact, source, keys| {
            *contact == ContactId(5)
                && source == "src-5"
                && keys == ["5511912345678@s.whatsapp.net".to_owned()]
        })
        .times(1)
        .returning(|_, _, _, _| Ok(()));
    store.expect_find_conversation().returning(|_, _| Ok(None));
    chatwoot
        .expect_list_contact_conversations()
        .returning(|_, _| Ok(vec![conversation(2, ConversationStatus::Resolved)]));
    store
        .expect_begin_message_link()
        .returning(|_, _| Ok(link(LinkState::Pending, None)));
    chatwoot
        .expect_create_message()
        .returning(|_, _, _| Ok(message(41, MESSAGE_ID)));
    store
        .expect_complete_message_link()
        .returning(|_, _, _, _| Ok(true));
}

#[tokio::test]
async fn a_resolved_conversation_is_left_alone_and_a_pending_one_starts() {
    let mut store = MockRelayStore::new();
    let mut chatwoot = MockChatwootApi::new();
    new_person_with_a_resolved_conversation(&mut store, &mut chatwoot);
    chatwoot
        .expect_create_conversation()
        .withf(|_, conversation| {
            conversation.source_id == "src-5"
                && conversation.contact_id == ContactId(5)
                && conversation.status == ConversationStatus::Pending
        })
        .times(1)
        .returning(|_, _| Ok(conversation(3, ConversationStatus::Pending)));
    expect_conversation_remembered(&mut store, 3);
    let flags = RelayFlags {
        start_as_pending: true,
        ..RelayFlags::default()
    };
    assert_eq!(
        relay_text_from_a_private_chat(chatwoot, store, flags).await,
        RelayOutcome::Relayed
    );
}

#[tokio::test]
async fn with_reopen_resolved_the_resolved_conversation_is_reopened() {
    let mut store = MockRelayStore::new();
    let mut chatwoot = MockChatwootApi::new();
    new_person_with_a_resolved_conversation(&mut store, &mut chatwoot);
    chatwoot
        .expect_toggle_conversation_status()
        .with(
            mockall::predicate::always(),
            eq(ConversationDisplayId(2)),
            eq(ConversationStatus::Open),
        )
        .times(1)
        .returning(|_, _, status| Ok(status));
    expect_conversation_remembered(&mut store, 2);
    let flags = RelayFlags {
        reopen_resolved: true,
        ..RelayFlags::default()
    };
    assert_eq!(
        relay_text_from_a_private_chat(chatwoot, store, flags).await,
        RelayOutcome::Relayed
    );
}

#[tokio::test]
async fn groups_are_skipped_when_ignored() {
    let relay = relay(
        MockChatwootApi::new(),
        MockRelayStore::new(),
        RelayFlags {
            ignore_groups: true,
            ..RelayFlags::default()
        },
    );
    let event = text_event(
        serde_json::json!({"jid": "120363025246125486@g.us", "name": "Equipe", "type": "group"}),
    );
    assert_eq!(
        relay.relay(&event).await.unwrap(),
        RelayOutcome::Skipped("group messages are ignored")
    );
}

#[test]
fn chatwoot_outages_are_retried_and_refusals_are_not() {
    let unreachable = ChatwootError::Unreachable {
        url: "u".into(),
        detail: "connection refused".into(),
    };
    assert!(matches!(
        RelayFailure::from(unreachable),
        RelayFailure::Transient(_)
    ));
    let url = || "u".to_owned();
    let detail = String::new;
    for (refused, transient) in [
        (
            ChatwootError::RateLimited {
                url: url(),
                detail: detail(),
            },
            true,
        ),
        (
            ChatwootError::Unavailable {
                url: url(),
                detail: detail(),
            },
            true,
        ),
        (
            ChatwootError::Invalid {
                url: url(),
                detail: detail(),
                fields: Vec::new(),
            },
            false,
        ),
        (
            ChatwootError::NotFound {
                url: url(),
                detail: detail(),
            },
            false,
        ),
    ] {
        let name = format!("{refused:?}");
        assert_eq!(
            matches!(RelayFailure::from(refused), RelayFailure::Transient(_)),
            transient,
            "{name}"
        );
    }
}

/// A known contact whose conversation 3 is recorded; a new message for it is written
/// with `create_message` (counted by the caller's expectation).
fn known_contact_with_recorded_conversation(store: &mut MockRelayStore) {
    store
        .expect_find_link_by_whatsapp_id()
        .returning(|_, _| Ok(None));
    store.expect_find_contact().returning(|_, keys| {
        Ok(Some(KnownContact {
            contact_id: ContactId(5),
            source_id: "src-5".into(),
            keys: keys.to_vec(),
        }))
    });
    store
        .expect_find_conversation()
        .returning(|_, _| Ok(Some(ConversationDisplayId(3))));
    store
        .expect_begin_message_link()
        .returning(|_, _| Ok(link(LinkState::Pending, None)));
    store
        .expect_complete_message_link()
        .returning(|_, _, _, _| Ok(true));
}

/// Chatwoot's webhook about conversation 3 of inbox 7, as the receiver passes it on.
fn status_webhook(book: &ConversationStatusBook, status: &str) {
    book.take_webhook(
        &BridgeIntegrationId::new("int_test"),
        InboxId(7),
        &serde_json::json!({"event": "conversation_status_changed", "id": 3, "inbox_id": 7, "status": status}),
    );
}

#[tokio::test]
async fn a_steady_state_message_costs_one_chatwoot_call_whatever_reopen_resolved_says() {
    for reopen_resolved in [false, true] {
        let mut store = MockRelayStore::new();
        known_contact_with_recorded_conversation(&mut store);
        let mut chatwoot = MockChatwootApi::new();
        // The only Chatwoot call: any other (a GET of the conversation) fails the test.
        chatwoot
            .expect_create_message()
            .withf(|_, conversation, _| *conversation == ConversationDisplayId(3))
            .times(1)
            .returning(|_, _, _| Ok(message(41, MESSAGE_ID)));
        let book = Arc::new(status_book());
        status_webhook(&book, "open");
        let flags = RelayFlags {
            reopen_resolved,
            ..RelayFlags::default()
        };
        let outcome = relay_with_book(chatwoot, store, flags, book)
            .relay(&text_event(private_chat()))
            .await
            .unwrap();
        assert_eq!(
            outcome,
            RelayOutcome::Relayed,
            "reopenResolved {reopen_resolved}"
        );
    }
}

#[tokio::test]
async fn with_reopen_resolved_an_incoming_message_needs_no_status_chatwoot_reopens_itself() {
    let mut store = MockRelayStore::new();
    known_contact_with_recorded_conversation(&mut store);
    let mut chatwoot = MockChatwootApi::new();
    chatwoot
        .expect_create_message()
        .times(1)
        .returning(|_, _, _| Ok(message(41, MESSAGE_ID)));
    let book = Arc::new(status_book());
    status_webhook(&book, "resolved");
    let flags = RelayFlags {
        reopen_resolved: true,
        ..RelayFlags::default()
    };
    let outcome = relay_with_book(chatwoot, store, flags, book)
        .relay(&text_event(private_chat()))
        .await
        .unwrap();
    assert_eq!(outcome, RelayOutcome::Relayed);
}

#[tokio::test]
async fn without_reopen_resolved_a_resolved_status_from_a_webhook_starts_a_new_conversation_at_once(
) {
    let mut store = MockRelayStore::new();
    known_contact_with_recorded_conversation(&mut store);
    expect_conversation_remembered(&mut store, 4);
    let mut chatwoot = MockChatwootApi::new();
    chatwoot
        .expect_create_conversation()
        .times(1)
        .returning(|_, _| Ok(conversation(4, ConversationStatus::Open)));
    chatwoot
        .expect_create_message()
        .withf(|_, conversation, _| *conversation == ConversationDisplayId(4))
        .times(1)
        .returning(|_, _, _| Ok(message(41, MESSAGE_ID)));
    let book = Arc::new(status_book());
    status_webhook(&book, "resolved");
    let outcome = relay_with_book(chatwoot, store, RelayFlags::default(), book)
        .relay(&text_event(private_chat()))
        .await
        .unwrap();
    assert_eq!(outcome, RelayOutcome::Relayed);
}

#[tokio::test]
async fn without_reopen_resolved_a_status_not_confirmed_lately_is_checked_with_one_get() {
    let mut store = MockRelayStore::new();
    known_contact_with_recorded_conversation(&mut store);
    expect_conversation_remembered(&mut store, 4);
    let mut chatwoot = MockChatwootApi::new();
    // The book says open, but too long ago: Chatwoot says resolved (the webhook was lost).
    chatwoot
        .expect_get_conversation()
        .times(1)
        .returning(|_, _| Ok(conversation(3, ConversationStatus::Resolved)));
    chatwoot
        .expect_create_conversation()
        .times(1)
        .returning(|_, _| Ok(conversation(4, ConversationStatus::Open)));
    chatwoot
        .expect_create_message()
        .withf(|_, conversation, _| *conversation == ConversationDisplayId(4))
        .times(1)
        .returning(|_, _, _| Ok(message(41, MESSAGE_ID)));
    let book = Arc::new(ConversationStatusBook::new(std::time::Duration::ZERO));
    status_webhook(&book, "open");
    std::thread::sleep(std::time::Duration::from_millis(2));
    let outcome = relay_with_book(chatwoot, store, RelayFlags::default(), book)
        .relay(&text_event(private_chat()))
        .await
        .unwrap();
    assert_eq!(outcome, RelayOutcome::Relayed);
}

#[tokio::test]
async fn a_conversation_gone_from_chatwoot_is_checked_again_instead_of_failing_the_message() {
    let mut store = MockRelayStore::new();
    known_contact_with_recorded_conversation(&mut store);
    let mut chatwoot = MockChatwootApi::new();
    chatwoot
        .expect_create_message()
        .times(1)
        .returning(|_, _, _| {
            Err(ChatwootError::NotFound {
                url: "u".into(),
                detail: "d".into(),
            })
        });
    let book = Arc::new(status_book());
    status_webhook(&book, "open");
    let flags = RelayFlags {
        reopen_resolved: true,
        ..RelayFlags::default()
    };
    let failure = relay_with_book(chatwoot, store, flags, book.clone())
        .relay(&text_event(private_chat()))
        .await
        .unwrap_err();
    assert!(matches!(failure, RelayFailure::Transient(_)), "{failure:?}");
    let integration = BridgeIntegrationId::new("int_test");
    assert!(book.is_doubted(&integration, ConversationDisplayId(3)));
}
