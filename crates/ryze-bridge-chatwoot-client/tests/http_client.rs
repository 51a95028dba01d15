//! `ChatwootHttpClient` against a wiremock Chatwoot: the method, path, token header and
//! body of every call (checked against Chatwoot's OpenAPI request schemas and
//! controllers), the reading of realistic answers (`tests/fixtures`, after Chatwoot's
//! jbuilder views), every class of failure, and that the token appears in no error text
//! and no `Debug` output.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use ryze_bridge_chatwoot_client::{ChatwootClientSettings, ChatwootHttpClient};
use ryze_domain::{ChatwootAccountId, ChatwootApiToken, ChatwootBaseUrl};
use ryze_ports::{
    AccountRole, Attachment, ChatwootApi, ChatwootError, ChatwootTarget, ChatwootUserId, ContactId,
    ContactInbox, ContactLookup, ContactUpdate, ConversationDisplayId, ConversationStatus, InboxId,
    MessageContentAttributes, MessageDeliveryStatus, MessageDirection, MessageId, MessageType,
    NewContact, NewConversation, NewMessage,
};
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockBuilder, MockServer, Request, ResponseTemplate};

const TOKEN: &str = "cw-test-token-6Qx2LmP9";
const ACCOUNT: i64 = 5;

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn settings() -> ChatwootClientSettings {
    ChatwootClientSettings {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        ..ChatwootClientSettings::default()
    }
}

fn client() -> ChatwootHttpClient {
    ChatwootHttpClient::new(settings()).unwrap()
}

fn target_at(base_url: &str) -> ChatwootTarget {
    ChatwootTarget {
        base_url: ChatwootBaseUrl::parse(base_url).unwrap(),
        account_id: ChatwootAccountId::new(ACCOUNT).unwrap(),
        api_token: ChatwootApiToken::parse(TOKEN).unwrap(),
    }
}

fn target(server: &MockServer) -> ChatwootTarget {
    target_at(&server.uri())
}

fn account_path(rest: &str) -> String {
    format!("/api/v1/accounts/{ACCOUNT}{rest}")
}

/// A mock that only answers requests carrying the token header.
fn chatwoot(http_method: &str, request_path: &str) -> MockBuilder {
    Mock::given(method(http_method))
        .and(path(request_path))
        .and(header("api_access_token", TOKEN))
}

/// A Chatwoot that answers `request` (a [`chatwoot`] mock) with `answer`, once.
async fn chatwoot_answering_once(request: MockBuilder, answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    answer_once(&server, request, answer).await;
    server
}

/// Makes `server` answer `request` with `answer`, once.
async fn answer_once(server: &MockServer, request: MockBuilder, answer: ResponseTemplate) {
    request.respond_with(answer).expect(1).mount(server).await;
}

/// A Chatwoot that answers every request to `request_path` with `answer`, whatever its
/// method and headers.
async fn chatwoot_answering_at(
    request_path: impl Into<String>,
    answer: ResponseTemplate,
) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path(request_path))
        .respond_with(answer)
        .mount(&server)
        .await;
    server
}

fn ok_json(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

fn assert_no_token(error: &ChatwootError) {
    let display = error.to_string();
    let debug = format!("{error:?}");
    assert!(!display.contains(TOKEN), "token in Display: {display}");
    assert!(!debug.contains(TOKEN), "token in Debug: {debug}");
}

fn new_message() -> NewMessage {
    NewMessage {
        content: "Oi, tudo bem?".to_owned(),
        direction: MessageDirection::Incoming,
        private: false,
        source_id: Some("WAID:3EB0C767D26A1D".to_owned()),
        content_attributes: MessageContentAttributes {
            in_reply_to: Some(MessageId(900)),
            in_reply_to_external_id: None,
        },
    }
}

// ---------------------------------------------------------------------------------------
// Each call: request shape and answer reading
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn profile_reads_the_user_and_its_roles_per_account() {
    let server = chatwoot_answering_once(
        chatwoot("GET", "/api/v1/profile").and(header("accept", "application/json")),
        ok_json(fixture("profile.json")),
    )
    .await;

    let profile = client().profile(&target(&server)).await.unwrap();

    assert_eq!(profile.user_id, ChatwootUserId(17));
    assert_eq!(profile.name, "Ana Souza");
    assert_eq!(profile.email.as_deref(), Some("ana@acme.example"));
    assert_eq!(profile.accounts.len(), 2);
    let account = |id| ChatwootAccountId::new(id).unwrap();
    assert_eq!(
        profile.role_in(account(5)),
        Some(&AccountRole::Administrator)
    );
    assert_eq!(profile.role_in(account(9)), Some(&AccountRole::Agent));
    assert!(!format!("{profile:?}").contains(TOKEN));
}

#[tokio::test]
async fn list_inboxes_reads_the_payload_with_the_api_channel_fields() {
    let server = chatwoot_answering_once(
        chatwoot("GET", &account_path("/inboxes")),
        ok_json(fixture("inboxes_index.json")),
    )
    .await;

    let inboxes = client().list_inboxes(&target(&server)).await.unwrap();

    assert_eq!(inboxes.len(), 2);
    let api = &inboxes[0];
    assert_eq!(api.id, InboxId(7));
    assert_eq!(api.name, "RyzeAPI");
    assert!(api.is_api_channel());
    assert_eq!(
        api.webhook_url.as_deref(),
        Some("https://bridge.example/webhooks/chatwoot/int_01J0/Xq9")
    );
    assert_eq!(api.inbox_identifier.as_deref(), Some("Bq3nT8wK2pZ6"));
    assert_eq!(
        api.webhook_secret
            .as_ref()
            .map(|secret| secret.expose_secret()),
        Some("whsec-2b7f1c9e")
    );
    let website = &inboxes[1];
    assert_eq!(website.channel_type, "Channel::WebWidget");
    assert!(!website.is_api_channel());
    assert_eq!(website.webhook_url, None);
}

#[tokio::test]
async fn get_inbox_reads_one_inbox() {
    let server = chatwoot_answering_once(
        chatwoot("GET", &account_path("/inboxes/7")),
        ok_json(fixture("inbox_api.json")),
    )
    .await;

    let inbox = client()
        .get_inbox(&target(&server), InboxId(7))
        .await
        .unwrap();
    assert_eq!(inbox.id, InboxId(7));
    assert_eq!(inbox.channel_type, "Channel::Api");
}

#[tokio::test]
async fn create_api_inbox_posts_an_api_channel_with_its_webhook() {
    let server = chatwoot_answering_once(
        chatwoot("POST", &account_path("/inboxes"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "name": "RyzeAPI",
            "channel": {"type": "api", "webhook_url": "https://bridge.example/webhooks/chatwoot/int_01J0/Xq9"}
        }))),
        ok_json(fixture("inbox_api.json")),
    )
    .await;

    let inbox = client()
        .create_api_inbox(
            &target(&server),
            "RyzeAPI",
            "https://bridge.example/webhooks/chatwoot/int_01J0/Xq9",
        )
        .await
        .unwrap();
    assert_eq!(inbox.id, InboxId(7));
    assert_eq!(inbox.inbox_identifier.as_deref(), Some("Bq3nT8wK2pZ6"));
}

#[tokio::test]
async fn update_inbox_webhook_patches_the_channel_and_renames_only_when_asked() {
    let server = chatwoot_answering_once(
        chatwoot("PATCH", &account_path("/inboxes/7")).and(body_json(json!({
            "name": "RyzeAPI 2",
            "channel": {"webhook_url": "https://bridge.example/new"}
        }))),
        ok_json(fixture("inbox_api.json")),
    )
    .await;
    answer_once(
        &server,
        chatwoot("PATCH", &account_path("/inboxes/8")).and(body_json(
            json!({"channel": {"webhook_url": "https://bridge.example/new"}}),
        )),
        ok_json(fixture("inbox_api.json")),
    )
    .await;

    let client = client();
    let target = target(&server);
    client
        .update_inbox_webhook(
            &target,
            InboxId(7),
            Some("RyzeAPI 2".to_owned()),
            "https://bridge.example/new",
        )
        .await
        .unwrap();
    client
        .update_inbox_webhook(&target, InboxId(8), None, "https://bridge.example/new")
        .await
        .unwrap();
}

#[tokio::test]
async fn delete_inbox_accepts_chatwoots_deletion_message() {
    let server = chatwoot_answering_once(
        chatwoot("DELETE", &account_path("/inboxes/7")),
        ok_json(json!({"message": "Your inbox deletion request will be processed in some time."})),
    )
    .await;

    client()
        .delete_inbox(&target(&server), InboxId(7))
        .await
        .unwrap();
}

#[tokio::test]
async fn search_contacts_percent_encodes_the_query_and_reads_contact_inboxes() {
    let server = chatwoot_answering_once(
        chatwoot("GET", &account_path("/contacts/search"))
            .and(query_param("q", "+55 11 98765&x=1")),
        ok_json(fixture("contacts_search.json")),
    )
    .await;

    let contacts = client()
        .search_contacts(&target(&server), "+55 11 98765&x=1")
        .await
        .unwrap();

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests[0].url.query(), Some("q=%2B55+11+98765%26x%3D1"));
    assert_eq!(contacts.len(), 2);
    let maria = &contacts[0];
    assert_eq!(maria.id, ContactId(31));
    assert_eq!(maria.name, "Maria Oliveira");
    assert_eq!(maria.phone_number.as_deref(), Some("+5511987654321"));
    assert_eq!(
        maria.identifier.as_deref(),
        Some("5511987654321@s.whatsapp.net")
    );
    assert_eq!(
        maria
            .custom_attributes
            .get("whatsapp_lid")
            .map(String::as_str),
        Some("204871635220571@lid")
    );
    assert_eq!(
        maria.source_id_in(InboxId(7)),
        Some("5511987654321@s.whatsapp.net")
    );
    assert_eq!(contacts[1].identifier, None);
    assert!(contacts[1].contact_inboxes.is_empty());
}

#[tokio::test]
async fn filter_contacts_asks_for_identifier_or_phone_without_its_plus() {
    let server = chatwoot_answering_once(
        chatwoot("POST", &account_path("/contacts/filter")).and(body_json(json!({"payload": [
            {"attribute_key": "identifier", "filter_operator": "equal_to",
             "values": ["5511987654321@s.whatsapp.net"], "query_operator": "OR"},
            {"attribute_key": "phone_number", "filter_operator": "equal_to",
             "values": ["5511987654321"], "query_operator": null}
        ]}))),
        ok_json(fixture("contacts_filter.json")),
    )
    .await;

    let contacts = client()
        .filter_contacts_by_identifier_or_phone(
            &target(&server),
            &ContactLookup {
                identifier: Some("5511987654321@s.whatsapp.net".to_owned()),
                phone_number: Some("+5511987654321".to_owned()),
            },
        )
        .await
        .unwrap();
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0].id, ContactId(31));
}

#[tokio::test]
async fn an_empty_lookup_finds_nothing_without_asking_chatwoot() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;

    let contacts = client()
        .filter_contacts_by_identifier_or_phone(
            &target(&server),
            &ContactLookup {
                identifier: Some(String::new()),
                phone_number: None,
            },
        )
        .await
        .unwrap();
    assert!(contacts.is_empty());
}

#[tokio::test]
async fn create_contact_posts_the_contact_with_its_inbox_and_returns_the_source_id() {
    let server = chatwoot_answering_once(
        chatwoot("POST", &account_path("/contacts")).and(body_json(json!({
            "inbox_id": 7,
            "name": "Maria Oliveira",
            "phone_number": "+5511987654321",
            "identifier": "5511987654321@s.whatsapp.net",
            "source_id": "5511987654321@s.whatsapp.net",
            "custom_attributes": {"whatsapp_lid": "204871635220571@lid"}
        }))),
        ok_json(fixture("contact_create.json")),
    )
    .await;

    let created = client()
        .create_contact(
            &target(&server),
            &NewContact {
                inbox_id: InboxId(7),
                name: "Maria Oliveira".to_owned(),
                phone_number: Some("+5511987654321".to_owned()),
                identifier: Some("5511987654321@s.whatsapp.net".to_owned()),
                source_id: Some("5511987654321@s.whatsapp.net".to_owned()),
                custom_attributes: BTreeMap::from([(
                    "whatsapp_lid".to_owned(),
                    "204871635220571@lid".to_owned(),
                )]),
            },
        )
        .await
        .unwrap();

    assert_eq!(created.contact.id, ContactId(31));
    assert_eq!(
        created.contact_inbox,
        Some(ContactInbox {
            source_id: "5511987654321@s.whatsapp.net".to_owned(),
            inbox_id: InboxId(7),
        })
    );
}

#[tokio::test]
async fn create_contact_sends_only_the_fields_given() {
    let server = MockServer::start().await;
    let mut answer = fixture("contact_create.json");
    answer["payload"]["contact_inbox"] = json!({"inbox": null, "source_id": null});
    answer_once(
        &server,
        chatwoot("POST", &account_path("/contacts"))
            .and(body_json(json!({"inbox_id": 7, "name": "Maria"}))),
        ok_json(answer),
    )
    .await;

    let created = client()
        .create_contact(
            &target(&server),
            &NewContact {
                inbox_id: InboxId(7),
                name: "Maria".to_owned(),
                phone_number: None,
                identifier: None,
                source_id: None,
                custom_attributes: BTreeMap::new(),
            },
        )
        .await
        .unwrap();
    // Without a contact_inbox in the answer, the contact's own link to the inbox is used.
    assert_eq!(
        created.contact_inbox.map(|link| link.source_id),
        Some("5511987654321@s.whatsapp.net".to_owned())
    );
}

#[tokio::test]
async fn update_contact_puts_the_changed_fields() {
    let server = chatwoot_answering_once(
        chatwoot("PUT", &account_path("/contacts/31")).and(body_json(json!({
            "name": "Maria O.",
            "custom_attributes": {"whatsapp_lid": "204871635220571@lid"}
        }))),
        ok_json(fixture("contact_update.json")),
    )
    .await;

    let contact = client()
        .update_contact(
            &target(&server),
            ContactId(31),
            &ContactUpdate {
                name: Some("Maria O.".to_owned()),
                custom_attributes: BTreeMap::from([(
                    "whatsapp_lid".to_owned(),
                    "204871635220571@lid".to_owned(),
                )]),
                ..ContactUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(contact.name, "Maria O.");
}

#[tokio::test]
async fn create_contact_inbox_posts_the_inbox_and_source_id() {
    let server = chatwoot_answering_once(
        chatwoot("POST", &account_path("/contacts/31/contact_inboxes")).and(body_json(
            json!({"inbox_id": 7, "source_id": "5511987654321@s.whatsapp.net"}),
        )),
        ok_json(fixture("contact_inbox.json")),
    )
    .await;
    answer_once(
        &server,
        chatwoot("POST", &account_path("/contacts/32/contact_inboxes"))
            .and(body_json(json!({"inbox_id": 7}))),
        ok_json(fixture("contact_inbox.json")),
    )
    .await;

    let client = client();
    let target = target(&server);
    let link = client
        .create_contact_inbox(
            &target,
            ContactId(31),
            InboxId(7),
            Some("5511987654321@s.whatsapp.net".to_owned()),
        )
        .await
        .unwrap();
    assert_eq!(
        link,
        ContactInbox {
            source_id: "5511987654321@s.whatsapp.net".to_owned(),
            inbox_id: InboxId(7),
        }
    );
    client
        .create_contact_inbox(&target, ContactId(32), InboxId(7), None)
        .await
        .unwrap();
}

#[tokio::test]
async fn create_conversation_posts_the_source_id_and_reads_the_display_id() {
    let server = chatwoot_answering_once(
        chatwoot("POST", &account_path("/conversations")).and(body_json(json!({
            "source_id": "5511987654321@s.whatsapp.net",
            "inbox_id": 7,
            "contact_id": 31,
            "status": "pending"
        }))),
        ok_json(fixture("conversation.json")),
    )
    .await;

    let conversation = client()
        .create_conversation(
            &target(&server),
            &NewConversation {
                source_id: "5511987654321@s.whatsapp.net".to_owned(),
                inbox_id: InboxId(7),
                contact_id: ContactId(31),
                status: ConversationStatus::Pending,
            },
        )
        .await
        .unwrap();

    assert_eq!(conversation.display_id, ConversationDisplayId(12));
    assert_eq!(conversation.inbox_id, InboxId(7));
    assert_eq!(conversation.status, ConversationStatus::Pending);
    assert_eq!(conversation.contact_id, Some(ContactId(31)));
    assert_eq!(conversation.last_activity_at, Some(1_750_000_100));
}

#[tokio::test]
async fn get_conversation_uses_the_display_id_in_the_path() {
    let server = chatwoot_answering_once(
        chatwoot("GET", &account_path("/conversations/12")),
        ok_json(fixture("conversation.json")),
    )
    .await;

    let conversation = client()
        .get_conversation(&target(&server), ConversationDisplayId(12))
        .await
        .unwrap();
    assert_eq!(conversation.display_id, ConversationDisplayId(12));
}

#[tokio::test]
async fn list_contact_conversations_reads_each_conversation() {
    let server = chatwoot_answering_once(
        chatwoot("GET", &account_path("/contacts/31/conversations")),
        ok_json(fixture("contact_conversations.json")),
    )
    .await;

    let conversations = client()
        .list_contact_conversations(&target(&server), ContactId(31))
        .await
        .unwrap();
    let summary: Vec<_> = conversations
        .iter()
        .map(|conversation| (conversation.display_id, conversation.status))
        .collect();
    assert_eq!(
        summary,
        [
            (ConversationDisplayId(12), ConversationStatus::Pending),
            (ConversationDisplayId(3), ConversationStatus::Resolved),
        ]
    );
}

#[tokio::test]
async fn toggle_conversation_status_posts_the_status_and_returns_the_current_one() {
    let server = chatwoot_answering_once(
        chatwoot("POST", &account_path("/conversations/12/toggle_status"))
            .and(body_json(json!({"status": "open"}))),
        ok_json(fixture("toggle_status.json")),
    )
    .await;

    let status = client()
        .toggle_conversation_status(
            &target(&server),
            ConversationDisplayId(12),
            ConversationStatus::Open,
        )
        .await
        .unwrap();
    assert_eq!(status, ConversationStatus::Open);
}

#[tokio::test]
async fn create_message_posts_json_with_source_id_and_reply_and_reads_the_message() {
    let server = chatwoot_answering_once(
        chatwoot("POST", &account_path("/conversations/12/messages")).and(body_json(json!({
            "content": "Oi, tudo bem?",
            "message_type": "incoming",
            "private": false,
            "source_id": "WAID:3EB0C767D26A1D",
            "content_attributes": {"in_reply_to": 900}
        }))),
        ok_json(fixture("message.json")),
    )
    .await;

    let message = client()
        .create_message(&target(&server), ConversationDisplayId(12), &new_message())
        .await
        .unwrap();

    assert_eq!(message.id, MessageId(901));
    assert_eq!(
        message.conversation_display_id,
        Some(ConversationDisplayId(12))
    );
    assert_eq!(message.message_type, Some(MessageType::Incoming));
    assert_eq!(message.source_id.as_deref(), Some("WAID:3EB0C767D26A1D"));
    assert!(!message.private);
}

#[tokio::test]
async fn a_message_without_extras_sends_neither_source_id_nor_content_attributes() {
    let server = chatwoot_answering_once(
        chatwoot("POST", &account_path("/conversations/12/messages")).and(body_json(json!({
            "content": "note",
            "message_type": "outgoing",
            "private": true
        }))),
        ok_json(fixture("message.json")),
    )
    .await;

    client()
        .create_message(
            &target(&server),
            ConversationDisplayId(12),
            &NewMessage {
                content: "note".to_owned(),
                direction: MessageDirection::Outgoing,
                private: true,
                source_id: None,
                content_attributes: MessageContentAttributes::default(),
            },
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn create_message_with_attachments_sends_multipart_attachments() {
    let server = chatwoot_answering_once(
        chatwoot("POST", &account_path("/conversations/12/messages")),
        ok_json(fixture("message.json")),
    )
    .await;

    let message = client()
        .create_message_with_attachments(
            &target(&server),
            ConversationDisplayId(12),
            &new_message(),
            vec![
                Attachment {
                    file_name: "photo.jpg".to_owned(),
                    mime_type: "image/jpeg".to_owned(),
                    bytes: b"\xFF\xD8\xFFjpeg-bytes".to_vec(),
                },
                Attachment {
                    file_name: "voice.ogg".to_owned(),
                    mime_type: "audio/ogg; codecs=opus".to_owned(),
                    bytes: b"OggS-bytes".to_vec(),
                },
            ],
        )
        .await
        .unwrap();
    assert_eq!(message.id, MessageId(901));

    let requests = server.received_requests().await.unwrap();
    let request: &Request = &requests[0];
    let content_type = request.headers["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("multipart/form-data; boundary="),
        "{content_type}"
    );
    let body = String::from_utf8_lossy(&request.body);
    for expected in [
        "name=\"content\"\r\n\r\nOi, tudo bem?\r\n",
        "name=\"message_type\"\r\n\r\nincoming\r\n",
        "name=\"source_id\"\r\n\r\nWAID:3EB0C767D26A1D\r\n",
        "name=\"content_attributes\"\r\n\r\n{\"in_reply_to\":900}\r\n",
        "name=\"attachments[]\"; filename=\"photo.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n",
        "jpeg-bytes",
        "name=\"attachments[]\"; filename=\"voice.ogg\"\r\nContent-Type: audio/ogg; codecs=opus\r\n\r\nOggS-bytes",
    ] {
        assert!(body.contains(expected), "missing {expected:?} in {body}");
    }
    assert!(
        !body.contains("name=\"private\""),
        "private=false is left out: {body}"
    );
}

#[tokio::test]
async fn an_attachment_with_an_invalid_mime_type_is_refused_before_sending() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok_json(fixture("message.json")))
        .expect(0)
        .mount(&server)
        .await;

    let error = client()
        .create_message_with_attachments(
            &target(&server),
            ConversationDisplayId(12),
            &new_message(),
            vec![Attachment {
                file_name: "x".to_owned(),
                mime_type: "not a mime".to_owned(),
                bytes: Vec::new(),
            }],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ChatwootError::InvalidRequest { detail, .. } if detail.contains("not a mime")),
        "{error:?}"
    );
}

#[tokio::test]
async fn delete_message_deletes_by_display_id_and_message_id() {
    let server = MockServer::start().await;
    let mut deleted = fixture("message.json");
    deleted["content"] = json!("This message was deleted");
    deleted["content_attributes"] = json!({"deleted": true});
    answer_once(
        &server,
        chatwoot("DELETE", &account_path("/conversations/12/messages/901")),
        ok_json(deleted),
    )
    .await;

    client()
        .delete_message(&target(&server), ConversationDisplayId(12), MessageId(901))
        .await
        .unwrap();
}

#[tokio::test]
async fn update_message_status_patches_the_status_and_the_failure_reason() {
    let server = chatwoot_answering_once(
        chatwoot("PATCH", &account_path("/conversations/12/messages/901"))
            .and(body_json(json!({"status": "read"}))),
        ok_json(fixture("message.json")),
    )
    .await;
    answer_once(
        &server,
        chatwoot("PATCH", &account_path("/conversations/12/messages/902")).and(body_json(
            json!({"status": "failed", "external_error": "number not on WhatsApp"}),
        )),
        ResponseTemplate::new(204),
    )
    .await;

    let client = client();
    let target = target(&server);
    client
        .update_message_status(
            &target,
            ConversationDisplayId(12),
            MessageId(901),
            &MessageDeliveryStatus::Read,
        )
        .await
        .unwrap();
    client
        .update_message_status(
            &target,
            ConversationDisplayId(12),
            MessageId(902),
            &MessageDeliveryStatus::Failed {
                external_error: Some("number not on WhatsApp".to_owned()),
            },
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn paths_go_under_a_base_url_with_its_own_path() {
    let server = chatwoot_answering_once(
        chatwoot("GET", "/chatwoot/api/v1/accounts/5/inboxes"),
        ok_json(json!({"payload": []})),
    )
    .await;

    let inboxes = client()
        .list_inboxes(&target_at(&format!("{}/chatwoot/", server.uri())))
        .await
        .unwrap();
    assert!(inboxes.is_empty());
}

// ---------------------------------------------------------------------------------------
// Failures
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_401_for_a_bad_token_keeps_chatwoots_url_status_and_body() {
    let server = chatwoot_answering_at(
        "/api/v1/profile",
        ResponseTemplate::new(401).set_body_json(json!({"error": "Invalid Access Token"})),
    )
    .await;

    let error = client().profile(&target(&server)).await.unwrap_err();

    let url = format!("{}/api/v1/profile", server.uri());
    assert_eq!(
        error,
        ChatwootError::Unauthorized {
            url: url.clone(),
            detail: format!(r#"{url} HTTP 401: {{"error":"Invalid Access Token"}}"#),
        }
    );
    assert!(!error.is_transient());
    assert_no_token(&error);
}

#[tokio::test]
async fn a_404_for_an_unknown_resource_is_not_found() {
    let server = chatwoot_answering_at(
        account_path("/inboxes/99"),
        ResponseTemplate::new(404).set_body_json(json!({"error": "Resource could not be found"})),
    )
    .await;

    let error = client()
        .get_inbox(&target(&server), InboxId(99))
        .await
        .unwrap_err();
    assert!(matches!(error, ChatwootError::NotFound { .. }), "{error:?}");
    assert_eq!(
        error.url(),
        format!("{}/api/v1/accounts/5/inboxes/99", server.uri())
    );
    assert!(
        error.to_string().contains("Resource could not be found"),
        "{error}"
    );
    assert_no_token(&error);
}

#[tokio::test]
async fn a_422_is_invalid_with_the_fields_and_the_validation_body() {
    let server = MockServer::start().await;
    let validation = json!({
        "message": "Phone number should be in e164 format",
        "attributes": ["phone_number"]
    });
    Mock::given(path(account_path("/contacts")))
        .respond_with(ResponseTemplate::new(422).set_body_json(validation.clone()))
        .mount(&server)
        .await;

    let error = client()
        .create_contact(
            &target(&server),
            &NewContact {
                inbox_id: InboxId(7),
                name: "Maria".to_owned(),
                phone_number: Some("11987654321".to_owned()),
                identifier: None,
                source_id: None,
                custom_attributes: BTreeMap::new(),
            },
        )
        .await
        .unwrap_err();
    let ChatwootError::Invalid {
        url,
        detail,
        fields,
    } = &error
    else {
        panic!("expected an invalid request, got {error:?}");
    };
    assert_eq!(fields, &["phone_number".to_owned()]);
    let body = detail
        .strip_prefix(&format!("{url} HTTP 422: "))
        .unwrap_or_else(|| panic!("{detail}"));
    assert_eq!(serde_json::from_str::<Value>(body).unwrap(), validation);
    assert_no_token(&error);
}

#[tokio::test]
async fn a_403_for_a_status_update_outside_an_api_inbox_is_forbidden() {
    let server = chatwoot_answering_at(
        account_path("/conversations/12/messages/901"),
        ResponseTemplate::new(403).set_body_json(
            json!({"error": "Message status update is only allowed for API inboxes"}),
        ),
    )
    .await;

    let error = client()
        .update_message_status(
            &target(&server),
            ConversationDisplayId(12),
            MessageId(901),
            &MessageDeliveryStatus::Delivered,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, ChatwootError::Forbidden { .. }),
        "{error:?}"
    );
    assert_no_token(&error);
}

#[tokio::test]
async fn a_500_html_page_is_unavailable_with_its_start_and_is_transient() {
    let server = MockServer::start().await;
    let page = format!(
        "<!DOCTYPE html>\n<html><head><title>We're sorry, but something went wrong (500)</title></head>\
         <body>{}<p>If you are the application owner check the logs for more information.</p></body></html>",
        "<div class=\"dialog\">".repeat(300)
    );
    Mock::given(path("/api/v1/profile"))
        .respond_with(ResponseTemplate::new(500).set_body_raw(page.clone(), "text/html"))
        .mount(&server)
        .await;

    let error = client().profile(&target(&server)).await.unwrap_err();

    let ChatwootError::Unavailable { url, detail } = &error else {
        panic!("expected Chatwoot unavailable, got {error:?}");
    };
    let body = detail
        .strip_prefix(&format!("{url} HTTP 500: "))
        .unwrap_or_else(|| panic!("{detail}"));
    assert!(body.starts_with("<!DOCTYPE html>"), "{body}");
    assert!(body.len() <= 2048 + '…'.len_utf8(), "{}", body.len());
    assert!(body.ends_with('…'));
    assert!(error.is_transient());
    assert_no_token(&error);
}

#[tokio::test]
async fn a_token_echoed_in_an_error_body_is_scrubbed() {
    let server = chatwoot_answering_at(
        "/api/v1/profile",
        ResponseTemplate::new(400).set_body_string(format!("bad token {TOKEN} given")),
    )
    .await;

    let error = client().profile(&target(&server)).await.unwrap_err();
    let url = format!("{}/api/v1/profile", server.uri());
    assert_eq!(
        error,
        ChatwootError::Invalid {
            url: url.clone(),
            detail: format!("{url} HTTP 400: bad token *** given"),
            fields: Vec::new(),
        }
    );
}

#[tokio::test]
async fn a_slow_chatwoot_times_out_with_a_readable_reason() {
    let server = chatwoot_answering_at(
        "/api/v1/profile",
        ok_json(fixture("profile.json")).set_delay(Duration::from_secs(3)),
    )
    .await;
    let client = ChatwootHttpClient::new(ChatwootClientSettings {
        request_timeout: Duration::from_millis(300),
        ..settings()
    })
    .unwrap();

    let error = client.profile(&target(&server)).await.unwrap_err();

    let url = format!("{}/api/v1/profile", server.uri());
    assert_eq!(
        error,
        ChatwootError::TimedOut {
            url: url.clone(),
            detail: format!("GET {url}: timed out after 300ms"),
        }
    );
    assert!(error.is_transient());
    assert_no_token(&error);
}

#[tokio::test]
async fn a_closed_port_is_reported_as_connection_refused() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);

    let error = client()
        .create_api_inbox(&target_at(&base), "RyzeAPI", "https://bridge.example/h")
        .await
        .unwrap_err();

    let url = format!("{base}/api/v1/accounts/5/inboxes");
    assert_eq!(
        error,
        ChatwootError::Unreachable {
            url: url.clone(),
            detail: format!("POST {url}: connection refused"),
        }
    );
    assert_no_token(&error);
}

#[tokio::test]
async fn an_unreadable_200_is_an_invalid_answer_quoting_the_body_without_the_token() {
    let server = chatwoot_answering_at(
        "/api/v1/profile",
        ok_json(json!({"name": "Ana", "access_token": TOKEN, "accounts": []})),
    )
    .await;

    let error = client().profile(&target(&server)).await.unwrap_err();

    let ChatwootError::InvalidAnswer { url, detail } = &error else {
        panic!("expected an invalid answer, got {error:?}");
    };
    assert_eq!(url, &format!("{}/api/v1/profile", server.uri()));
    assert!(detail.contains("missing field `id`"), "{detail}");
    assert!(detail.contains(r#""access_token":"***""#), "{detail}");
    assert!(!error.is_transient());
    assert_no_token(&error);
}

#[tokio::test]
async fn html_or_an_empty_body_on_200_is_an_invalid_answer() {
    let server = chatwoot_answering_at(
        account_path("/inboxes"),
        ResponseTemplate::new(200).set_body_raw("<html>login</html>", "text/html"),
    )
    .await;
    Mock::given(path(account_path("/conversations/12")))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    Mock::given(path(account_path("/contacts/31/conversations")))
        .respond_with(ok_json(
            json!({"payload": [{"id": 1, "inbox_id": 7, "status": "archived"}]}),
        ))
        .mount(&server)
        .await;

    let client = client();
    let target = target(&server);
    let html = client.list_inboxes(&target).await.unwrap_err();
    assert!(
        matches!(&html, ChatwootError::InvalidAnswer { detail, .. } if detail.contains("<html>login</html>")),
        "{html:?}"
    );
    let empty = client
        .get_conversation(&target, ConversationDisplayId(12))
        .await
        .unwrap_err();
    assert!(
        matches!(&empty, ChatwootError::InvalidAnswer { detail, .. } if detail.contains("the body is empty")),
        "{empty:?}"
    );
    let unknown_status = client
        .list_contact_conversations(&target, ContactId(31))
        .await
        .unwrap_err();
    assert!(
        matches!(&unknown_status, ChatwootError::InvalidAnswer { detail, .. }
            if detail.contains("payload[0]: unknown conversation status \"archived\"")),
        "{unknown_status:?}"
    );
}

#[tokio::test]
async fn redirects_are_not_followed_so_the_token_stays_with_chatwoot() {
    let server = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(path("/api/v1/profile"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("{}/api/v1/profile", elsewhere.uri())),
        )
        .mount(&server)
        .await;
    Mock::given(path("/api/v1/profile"))
        .respond_with(ok_json(fixture("profile.json")))
        .expect(0)
        .mount(&elsewhere)
        .await;

    let error = client().profile(&target(&server)).await.unwrap_err();
    assert!(
        matches!(error, ChatwootError::Redirected { .. }),
        "{error:?}"
    );
    assert!(error.detail().contains("HTTP 302: "), "{error:?}");
    assert!(
        error
            .to_string()
            .contains(&format!("redirect to {}/api/v1/profile", elsewhere.uri())),
        "{error}"
    );
}

#[tokio::test]
async fn a_caller_supplied_builder_is_used_with_the_settings_on_top() {
    let server = chatwoot_answering_once(
        chatwoot("GET", "/api/v1/profile")
            .and(header("x-outbound-guard", "on"))
            .and(header("user-agent", "ryze-test/1")),
        ok_json(fixture("profile.json")),
    )
    .await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "x-outbound-guard",
        reqwest::header::HeaderValue::from_static("on"),
    );
    let builder = reqwest::Client::builder().default_headers(headers);

    let client = ChatwootHttpClient::with_client_builder(
        builder,
        ChatwootClientSettings {
            user_agent: "ryze-test/1".to_owned(),
            ..settings()
        },
    )
    .unwrap();
    client.profile(&target(&server)).await.unwrap();
}

/// Every call, with its result reduced to success or the error.
async fn call_each(
    client: &ChatwootHttpClient,
    target: &ChatwootTarget,
) -> Vec<(&'static str, Result<(), ChatwootError>)> {
    let conversation = ConversationDisplayId(12);
    let new_contact = NewContact {
        inbox_id: InboxId(7),
        name: "Maria".to_owned(),
        phone_number: None,
        identifier: None,
        source_id: None,
        custom_attributes: BTreeMap::new(),
    };
    let new_conversation = NewConversation {
        source_id: "s".to_owned(),
        inbox_id: InboxId(7),
        contact_id: ContactId(31),
        status: ConversationStatus::Open,
    };
    let lookup = ContactLookup {
        identifier: Some("x".to_owned()),
        phone_number: None,
    };
    let attachment = Attachment {
        file_name: "a.txt".to_owned(),
        mime_type: "text/plain".to_owned(),
        bytes: b"a".to_vec(),
    };
    vec![
        ("profile", client.profile(target).await.map(drop)),
        ("list_inboxes", client.list_inboxes(target).await.map(drop)),
        (
            "get_inbox",
            client.get_inbox(target, InboxId(7)).await.map(drop),
        ),
        (
            "create_api_inbox",
            client
                .create_api_inbox(target, "n", "https://h")
                .await
                .map(drop),
        ),
        (
            "update_inbox_webhook",
            client
                .update_inbox_webhook(target, InboxId(7), None, "https://h")
                .await
                .map(drop),
        ),
        (
            "delete_inbox",
            client.delete_inbox(target, InboxId(7)).await,
        ),
        (
            "search_contacts",
            client.search_contacts(target, "maria").await.map(drop),
        ),
        (
            "filter_contacts",
            client
                .filter_contacts_by_identifier_or_phone(target, &lookup)
                .await
                .map(drop),
        ),
        (
            "create_contact",
            client.create_contact(target, &new_contact).await.map(drop),
        ),
        (
            "update_contact",
            client
                .update_contact(target, ContactId(31), &ContactUpdate::default())
                .await
                .map(drop),
        ),
        (
            "create_contact_inbox",
            client
                .create_contact_inbox(target, ContactId(31), InboxId(7), None)
                .await
                .map(drop),
        ),
        (
            "create_conversation",
            client
                .create_conversation(target, &new_conversation)
                .await
                .map(drop),
        ),
        (
            "get_conversation",
            client
                .get_conversation(target, conversation)
                .await
                .map(drop),
        ),
        (
            "list_contact_conversations",
            client
                .list_contact_conversations(target, ContactId(31))
                .await
                .map(drop),
        ),
        (
            "toggle_conversation_status",
            client
                .toggle_conversation_status(target, conversation, ConversationStatus::Resolved)
                .await
                .map(drop),
        ),
        (
            "create_message",
            client
                .create_message(target, conversation, &new_message())
                .await
                .map(drop),
        ),
        (
            "create_message_with_attachments",
            client
                .create_message_with_attachments(
                    target,
                    conversation,
                    &new_message(),
                    vec![attachment],
                )
                .await
                .map(drop),
        ),
        (
            "delete_message",
            client
                .delete_message(target, conversation, MessageId(901))
                .await,
        ),
        (
            "update_message_status",
            client
                .update_message_status(
                    target,
                    conversation,
                    MessageId(901),
                    &MessageDeliveryStatus::Sent,
                )
                .await,
        ),
    ]
}

#[tokio::test]
async fn every_call_sends_the_token_header_and_reports_chatwoots_401_without_it() {
    let server = MockServer::start().await;
    Mock::given(header("api_access_token", TOKEN))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"error": "Invalid Access Token"})),
        )
        .mount(&server)
        .await;

    let results = call_each(&client(), &target(&server)).await;

    assert_eq!(results.len(), 19);
    for (call, result) in results {
        let error = result.expect_err(call);
        assert!(
            matches!(error, ChatwootError::Unauthorized { .. }),
            "{call}: {error:?}"
        );
        assert!(
            error
                .url()
                .starts_with(&format!("{}/api/v1/", server.uri())),
            "{call}: {error:?}"
        );
        assert_no_token(&error);
    }
    for request in server.received_requests().await.unwrap() {
        assert!(
            !request.url.as_str().contains(TOKEN),
            "token in {}",
            request.url
        );
    }
}

#[tokio::test]
async fn every_call_reports_an_unreachable_chatwoot_with_its_method_and_url() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);

    for (call, result) in call_each(&client(), &target_at(&base)).await {
        let error = result.expect_err(call);
        let ChatwootError::Unreachable { url, detail } = &error else {
            panic!("{call}: expected unreachable, got {error:?}");
        };
        assert!(url.starts_with(&format!("{base}/api/v1/")), "{call}: {url}");
        assert!(
            detail.ends_with(&format!("{url}: connection refused")),
            "{call}: {detail}"
        );
        assert_no_token(&error);
    }
}

#[test]
fn debug_of_the_client_and_the_target_shows_no_token() {
    let client = client();
    let target = target_at("https://cw.example");
    assert!(!format!("{client:?}").contains(TOKEN));
    assert!(!format!("{target:?}").contains(TOKEN));
}

/// A budget that lets every call go and counts what the client told it.
#[derive(Default)]
struct CountingBudget {
    taken: std::sync::atomic::AtomicUsize,
    exceeded: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl ryze_ports::ChatwootCallBudget for CountingBudget {
    async fn take(&self, _host: &str) {
        self.taken.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    async fn exceeded(&self, _host: &str) {
        self.exceeded
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl CountingBudget {
    fn counts(&self) -> (usize, usize) {
        (
            self.taken.load(std::sync::atomic::Ordering::SeqCst),
            self.exceeded.load(std::sync::atomic::Ordering::SeqCst),
        )
    }
}

fn paced_client() -> (ChatwootHttpClient, std::sync::Arc<CountingBudget>) {
    let budget = std::sync::Arc::new(CountingBudget::default());
    (client().with_call_budget(budget.clone()), budget)
}

/// Rack::Attack's throttled answer.
fn retry_later() -> ResponseTemplate {
    ResponseTemplate::new(429).set_body_raw("Retry later\n", "text/plain")
}

#[tokio::test]
async fn a_call_refused_for_the_rate_limit_closes_the_budget_and_goes_again_once_it_reopens() {
    let server = MockServer::start().await;
    let messages = account_path("/conversations/12/messages");
    chatwoot("POST", &messages)
        .respond_with(retry_later())
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    answer_once(
        &server,
        chatwoot("POST", &messages),
        ok_json(fixture("message.json")),
    )
    .await;
    let (client, budget) = paced_client();

    let message = client
        .create_message(&target(&server), ConversationDisplayId(12), &new_message())
        .await
        .unwrap();

    assert_eq!(message.id, MessageId(901));
    assert_eq!(
        budget.counts(),
        (2, 1),
        "(calls taken from the budget, refusals told)"
    );
}

#[tokio::test]
async fn a_call_refused_again_and_again_becomes_rate_limited_after_three_tries() {
    let server = MockServer::start().await;
    chatwoot("POST", &account_path("/conversations/12/messages"))
        .respond_with(retry_later())
        .expect(3)
        .mount(&server)
        .await;
    let (client, budget) = paced_client();

    let error = client
        .create_message(&target(&server), ConversationDisplayId(12), &new_message())
        .await
        .unwrap_err();

    assert!(
        matches!(error, ChatwootError::RateLimited { .. }),
        "{error:?}"
    );
    assert!(error.is_transient());
    assert_eq!(budget.counts(), (3, 3));
}

#[tokio::test]
async fn an_upload_refused_for_the_rate_limit_is_not_sent_again_here() {
    let server = MockServer::start().await;
    chatwoot("POST", &account_path("/conversations/12/messages"))
        .respond_with(retry_later())
        .expect(1)
        .mount(&server)
        .await;
    let (client, budget) = paced_client();
    let attachment = Attachment {
        file_name: "a.txt".into(),
        mime_type: "text/plain".into(),
        bytes: b"hello".to_vec(),
    };

    let error = client
        .create_message_with_attachments(
            &target(&server),
            ConversationDisplayId(12),
            &new_message(),
            vec![attachment],
        )
        .await
        .unwrap_err();

    assert!(
        matches!(error, ChatwootError::RateLimited { .. }),
        "{error:?}"
    );
    assert_eq!(budget.counts(), (1, 1));
}

/// A server whose first connection answers one request, then closes as the next one
/// arrives on it (what a server does when its keep-alive ends as a pooled connection is
/// reused); later connections answer every request.
fn server_closing_its_first_connection_after_one_answer(body: &'static str) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for (number, stream) in listener.incoming().enumerate() {
            let Ok(stream) = stream else { return };
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                for answered in 0.. {
                    // Read one request head (the requests here have no body).
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    if number == 0 && answered == 1 {
                        return; // closes without answering
                    }
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if writer.write_all(answer.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    base
}

#[tokio::test]
async fn a_read_on_a_pooled_connection_the_server_closed_is_sent_again_on_a_new_one() {
    let base = server_closing_its_first_connection_after_one_answer(r#"{"payload": []}"#);
    let client = client();
    let target = target_at(&base);

    client.list_inboxes(&target).await.unwrap();
    let second = client.list_inboxes(&target).await;

    let inboxes = second.unwrap_or_else(|error| {
        panic!("the second read failed on the closed connection: {error:?}")
    });
    assert!(inboxes.is_empty());
}
