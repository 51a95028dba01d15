//! Chatwoot's JSON, as far as the bridge reads and writes it, and its translation into
//! the port's types.
//!
//! Answers are read leniently (unknown fields ignored, optional ones defaulted): the
//! views differ between Chatwoot versions (`app/views/api/v1/...`), and a call that
//! Chatwoot carried out must not be reported as failed for a field the bridge does not
//! need. Only the ids and what the bridge branches on are required.

use std::collections::BTreeMap;

use ryze_ports::{
    AccountRole, Contact, ContactId, ContactInbox, Conversation, ConversationDisplayId,
    ConversationStatus, CreatedContact, Inbox, InboxId, Message, MessageContentAttributes,
    MessageId, MessageType, Profile, ProfileAccount,
};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

// ---------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------

/// `POST /inboxes` and `PATCH /inboxes/{id}` (OpenAPI `inbox_create_payload`,
/// `inbox_update_payload`; the channel is `inbox_create_api_channel_payload`).
#[derive(Serialize)]
pub(crate) struct InboxBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    pub channel: ApiChannelBody<'a>,
}

#[derive(Serialize)]
pub(crate) struct ApiChannelBody<'a> {
    /// `api` at creation; absent on update (the channel's type cannot change).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub channel_type: Option<&'static str>,
    pub webhook_url: &'a str,
}

/// `POST /contacts` (OpenAPI `contact_create_payload`, plus `source_id`, which
/// `ContactsController#build_contact_inbox` passes to the contact-inbox).
#[derive(Serialize)]
pub(crate) struct NewContactBody<'a> {
    pub inbox_id: i64,
    pub name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_id: Option<&'a str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_attributes: &'a BTreeMap<String, String>,
}

/// `PUT /contacts/{id}` (OpenAPI `contact_update_payload`).
#[derive(Serialize)]
pub(crate) struct ContactUpdateBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier: Option<&'a str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_attributes: &'a BTreeMap<String, String>,
}

/// `POST /contacts/filter`: conditions joined by their `query_operator`; the last one has
/// none (`FilterService#query_builder` appends each condition's operator after it).
#[derive(Serialize)]
pub(crate) struct FilterBody<'a> {
    pub payload: Vec<FilterCondition<'a>>,
}

#[derive(Serialize)]
pub(crate) struct FilterCondition<'a> {
    pub attribute_key: &'static str,
    pub filter_operator: &'static str,
    pub values: [&'a str; 1],
    pub query_operator: Option<&'static str>,
}

impl<'a> FilterBody<'a> {
    /// `identifier = … OR phone_number = …`, with whichever is given. Chatwoot puts a `+`
    /// in front of the phone number it is given (`Contacts::FilterService#filter_values`),
    /// so the number goes without its own.
    pub(crate) fn identifier_or_phone(
        identifier: Option<&'a str>,
        phone_number: Option<&'a str>,
    ) -> Self {
        let conditions = [
            identifier.map(|value| ("identifier", value)),
            phone_number.map(|value| ("phone_number", value.trim_start_matches('+'))),
        ];
        let mut payload: Vec<FilterCondition<'a>> = conditions
            .into_iter()
            .flatten()
            .map(|(attribute_key, value)| FilterCondition {
                attribute_key,
                filter_operator: "equal_to",
                values: [value],
                query_operator: Some("OR"),
            })
            .collect();
        if let Some(last) = payload.last_mut() {
            last.query_operator = None;
        }
        Self { payload }
    }
}

/// `POST /contacts/{id}/contact_inboxes`.
#[derive(Serialize)]
pub(crate) struct ContactInboxBody<'a> {
    pub inbox_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_id: Option<&'a str>,
}

/// `POST /conversations` (OpenAPI `conversation_create_payload`).
#[derive(Serialize)]
pub(crate) struct NewConversationBody<'a> {
    pub source_id: &'a str,
    pub inbox_id: i64,
    pub contact_id: i64,
    pub status: &'static str,
}

/// `POST /conversations/{id}/labels`.
#[derive(Serialize)]
pub(crate) struct LabelsBody<'a> {
    pub labels: &'a [String],
}

/// An element of `GET /labels`.
#[derive(Deserialize)]
pub(crate) struct AccountLabelAnswer {
    pub title: String,
}

/// `POST /labels`.
#[derive(Serialize)]
pub(crate) struct NewLabelBody<'a> {
    pub title: &'a str,
    pub show_on_sidebar: bool,
}

/// The client API's `POST …/toggle_typing`.
#[derive(Serialize)]
pub(crate) struct TypingBody {
    pub typing_status: &'static str,
}

/// `POST /conversations/{id}/toggle_status`.
#[derive(Serialize)]
pub(crate) struct ToggleStatusBody {
    pub status: &'static str,
}

/// `POST /conversations/{id}/messages` as JSON (OpenAPI
/// `conversation_message_create_payload`, plus `source_id`, which
/// `Messages::MessageBuilder#message_params` keeps).
#[derive(Serialize)]
pub(crate) struct NewMessageBody<'a> {
    pub content: &'a str,
    pub message_type: &'static str,
    pub private: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_attributes: Option<ContentAttributesBody<'a>>,
}

#[derive(Serialize)]
pub(crate) struct ContentAttributesBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_reply_to_external_id: Option<&'a str>,
}

impl<'a> ContentAttributesBody<'a> {
    pub(crate) fn from_port(attributes: &'a MessageContentAttributes) -> Option<Self> {
        (!attributes.is_empty()).then(|| Self {
            in_reply_to: attributes.in_reply_to.map(MessageId::get),
            in_reply_to_external_id: attributes.in_reply_to_external_id.as_deref(),
        })
    }
}

/// `PATCH /conversations/{id}/messages/{id}` (`MessagesController#update`, API inboxes
/// only; absent from the OpenAPI description).
#[derive(Serialize)]
pub(crate) struct MessageStatusBody<'a> {
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_error: Option<&'a str>,
}

// ---------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------

/// The `{"payload": …}` envelope of list and some single answers.
#[derive(Deserialize)]
pub(crate) struct Payload<T> {
    pub payload: T,
}

impl<W> Payload<Vec<W>> {
    /// Every element of a `{"payload": [...]}` answer, converted.
    pub(crate) fn into_each<T>(self, convert: impl FnMut(W) -> T) -> Vec<T> {
        self.payload.into_iter().map(convert).collect()
    }
}

/// Turns every element, or says which one could not be.
pub(crate) fn convert_all<W, T>(
    items: Vec<W>,
    convert: impl Fn(W) -> Result<T, String>,
) -> Result<Vec<T>, String> {
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            convert(item).map_err(|problem| format!("payload[{index}]: {problem}"))
        })
        .collect()
}

/// `api/v1/models/_user.json.jbuilder` (profile). Its `access_token` is deliberately not
/// read.
#[derive(Deserialize)]
pub(crate) struct ProfileAnswer {
    id: i64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    accounts: Vec<ProfileAccountAnswer>,
}

#[derive(Deserialize)]
struct ProfileAccountAnswer {
    id: i64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    role: Option<String>,
}

impl ProfileAnswer {
    pub(crate) fn into_port(self) -> Profile {
        Profile {
            user_id: ryze_ports::ChatwootUserId(self.id),
            name: self.name.unwrap_or_default(),
            email: non_empty(self.email),
            accounts: self
                .accounts
                .into_iter()
                .map(|account| ProfileAccount {
                    account_id: account.id,
                    name: account.name.unwrap_or_default(),
                    role: account.role.map(|role| match role.as_str() {
                        "administrator" => AccountRole::Administrator,
                        "agent" => AccountRole::Agent,
                        _ => AccountRole::Other(role),
                    }),
                })
                .collect(),
        }
    }
}

/// `api/v1/models/_inbox.json.jbuilder` (show, create, update, and index since Chatwoot
/// renders the partial there; older index views lack the API-channel fields).
#[derive(Deserialize)]
pub(crate) struct InboxAnswer {
    id: i64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    channel_type: Option<String>,
    #[serde(default)]
    webhook_url: Option<String>,
    #[serde(default)]
    inbox_identifier: Option<String>,
    /// Administrators only, in versions that sign API-inbox webhooks.
    #[serde(default)]
    secret: Option<String>,
}

impl InboxAnswer {
    pub(crate) fn into_port(self) -> Inbox {
        Inbox {
            id: InboxId(self.id),
            name: self.name.unwrap_or_default(),
            channel_type: self.channel_type.unwrap_or_default(),
            webhook_url: non_empty(self.webhook_url),
            inbox_identifier: non_empty(self.inbox_identifier),
            webhook_secret: non_empty(self.secret).map(SecretString::from),
        }
    }
}

/// Any object with an `id`: the inbox inside a contact-inbox.
#[derive(Deserialize)]
pub(crate) struct IdOnly {
    id: i64,
}

/// `api/v1/models/_contact_inbox.json.jbuilder`.
#[derive(Deserialize)]
pub(crate) struct ContactInboxAnswer {
    #[serde(default)]
    source_id: Option<String>,
    #[serde(default)]
    inbox: Option<IdOnly>,
}

impl ContactInboxAnswer {
    /// `None` when Chatwoot gave no source id or no inbox.
    fn into_port(self) -> Option<ContactInbox> {
        Some(ContactInbox {
            source_id: non_empty(self.source_id)?,
            inbox_id: InboxId(self.inbox?.id),
        })
    }

    /// For the answer of `create_contact_inbox`, where both are required.
    pub(crate) fn into_required_port(self) -> Result<ContactInbox, String> {
        self.into_port()
            .ok_or_else(|| "the contact inbox has no source_id or no inbox id".to_owned())
    }
}

/// `api/v1/models/_contact.json.jbuilder`.
#[derive(Deserialize)]
pub(crate) struct ContactAnswer {
    id: i64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    phone_number: Option<String>,
    #[serde(default)]
    identifier: Option<String>,
    #[serde(default)]
    custom_attributes: Option<Map<String, Value>>,
    #[serde(default)]
    contact_inboxes: Option<Vec<ContactInboxAnswer>>,
}

impl ContactAnswer {
    pub(crate) fn into_port(self) -> Contact {
        Contact {
            id: ContactId(self.id),
            name: self.name.unwrap_or_default(),
            phone_number: non_empty(self.phone_number),
            identifier: non_empty(self.identifier),
            custom_attributes: self
                .custom_attributes
                .unwrap_or_default()
                .into_iter()
                .map(|(key, value)| match value {
                    Value::String(text) => (key, text),
                    other => (key, other.to_string()),
                })
                .collect(),
            contact_inboxes: self
                .contact_inboxes
                .unwrap_or_default()
                .into_iter()
                .filter_map(ContactInboxAnswer::into_port)
                .collect(),
        }
    }
}

/// `api/v1/accounts/contacts/create.json.jbuilder`:
/// `{"payload": {"contact": …, "contact_inbox": {"inbox": …, "source_id": …}}}`.
#[derive(Deserialize)]
pub(crate) struct CreatedContactAnswer {
    contact: ContactAnswer,
    #[serde(default)]
    contact_inbox: Option<ContactInboxAnswer>,
}

impl CreatedContactAnswer {
    /// Takes the contact-inbox from the answer, or else from the contact's own list.
    pub(crate) fn into_port(self, inbox_id: InboxId) -> CreatedContact {
        let contact = self.contact.into_port();
        let contact_inbox = self
            .contact_inbox
            .and_then(ContactInboxAnswer::into_port)
            .or_else(|| {
                contact
                    .contact_inboxes
                    .iter()
                    .find(|link| link.inbox_id == inbox_id)
                    .cloned()
            });
        CreatedContact {
            contact,
            contact_inbox,
        }
    }
}

/// `api/v1/conversations/partials/_conversation.json.jbuilder`, whose `id` is the
/// conversation's `display_id`.
#[derive(Deserialize)]
pub(crate) struct ConversationAnswer {
    id: i64,
    inbox_id: i64,
    status: String,
    #[serde(default)]
    meta: Option<ConversationMeta>,
    #[serde(default)]
    last_activity_at: Option<i64>,
}

#[derive(Deserialize)]
struct ConversationMeta {
    #[serde(default)]
    sender: Option<IdOnly>,
}

impl ConversationAnswer {
    pub(crate) fn into_port(self) -> Result<Conversation, String> {
        Ok(Conversation {
            display_id: ConversationDisplayId(self.id),
            inbox_id: InboxId(self.inbox_id),
            status: conversation_status(&self.status)?,
            contact_id: self
                .meta
                .and_then(|meta| meta.sender)
                .map(|sender| ContactId(sender.id)),
            last_activity_at: self.last_activity_at,
        })
    }
}

/// `api/v1/accounts/conversations/toggle_status.json.jbuilder`.
#[derive(Deserialize)]
pub(crate) struct ToggledStatusAnswer {
    current_status: String,
}

impl ToggledStatusAnswer {
    pub(crate) fn into_port(self) -> Result<ConversationStatus, String> {
        conversation_status(&self.current_status)
    }
}

fn conversation_status(value: &str) -> Result<ConversationStatus, String> {
    ConversationStatus::parse(value).ok_or_else(|| format!("unknown conversation status {value:?}"))
}

/// `api/v1/models/_message.json.jbuilder` (and the messages `create` view).
#[derive(Deserialize)]
pub(crate) struct MessageAnswer {
    id: i64,
    /// The conversation's `display_id`.
    #[serde(default)]
    conversation_id: Option<i64>,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    message_type: Option<MessageTypeAnswer>,
    #[serde(default)]
    private: Option<bool>,
    #[serde(default)]
    source_id: Option<String>,
}

/// The API views write `message_type` as its number; the webhooks as its name.
#[derive(Deserialize)]
#[serde(untagged)]
enum MessageTypeAnswer {
    Number(i64),
    Name(String),
}

impl MessageTypeAnswer {
    fn into_port(self) -> Option<MessageType> {
        match self {
            Self::Number(0) => Some(MessageType::Incoming),
            Self::Number(1) => Some(MessageType::Outgoing),
            Self::Number(2) => Some(MessageType::Activity),
            Self::Number(3) => Some(MessageType::Template),
            Self::Number(_) => None,
            Self::Name(name) => match name.as_str() {
                "incoming" => Some(MessageType::Incoming),
                "outgoing" => Some(MessageType::Outgoing),
                "activity" => Some(MessageType::Activity),
                "template" => Some(MessageType::Template),
                _ => None,
            },
        }
    }
}

impl MessageAnswer {
    pub(crate) fn into_port(self) -> Message {
        Message {
            id: MessageId(self.id),
            conversation_display_id: self.conversation_id.map(ConversationDisplayId),
            content: self.content,
            message_type: self.message_type.and_then(MessageTypeAnswer::into_port),
            private: self.private.unwrap_or(false),
            source_id: non_empty(self.source_id),
        }
    }
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|text| !text.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_filter_joins_given_conditions_with_or_and_ends_without_an_operator() {
        let both = FilterBody::identifier_or_phone(Some("5511@s.whatsapp.net"), Some("+5511"));
        assert_eq!(
            serde_json::to_value(&both).unwrap(),
            json!({"payload": [
                {"attribute_key": "identifier", "filter_operator": "equal_to", "values": ["5511@s.whatsapp.net"], "query_operator": "OR"},
                {"attribute_key": "phone_number", "filter_operator": "equal_to", "values": ["5511"], "query_operator": null},
            ]})
        );
        let phone_only = FilterBody::identifier_or_phone(None, Some("5511"));
        assert_eq!(
            serde_json::to_value(&phone_only).unwrap(),
            json!({"payload": [
                {"attribute_key": "phone_number", "filter_operator": "equal_to", "values": ["5511"], "query_operator": null},
            ]})
        );
        assert!(FilterBody::identifier_or_phone(None, None)
            .payload
            .is_empty());
    }

    #[test]
    fn message_types_are_read_as_numbers_or_names() {
        let read = |value: Value| {
            serde_json::from_value::<MessageAnswer>(json!({"id": 1, "message_type": value}))
                .unwrap()
                .into_port()
                .message_type
        };
        assert_eq!(read(json!(0)), Some(MessageType::Incoming));
        assert_eq!(read(json!(1)), Some(MessageType::Outgoing));
        assert_eq!(read(json!("template")), Some(MessageType::Template));
        assert_eq!(read(json!(9)), None);
    }

    #[test]
    fn custom_attributes_keep_text_and_render_other_values_as_json() {
        let contact: ContactAnswer = serde_json::from_value(json!({
            "id": 3,
            "name": null,
            "phone_number": "",
            "custom_attributes": {"lid": "123@lid", "score": 4, "vip": true}
        }))
        .unwrap();
        let contact = contact.into_port();
        assert_eq!(contact.name, "");
        assert_eq!(contact.phone_number, None);
        assert_eq!(contact.custom_attributes["lid"], "123@lid");
        assert_eq!(contact.custom_attributes["score"], "4");
        assert_eq!(contact.custom_attributes["vip"], "true");
    }

    #[test]
    fn an_unknown_conversation_status_is_an_error() {
        let conversation: ConversationAnswer =
            serde_json::from_value(json!({"id": 1, "inbox_id": 2, "status": "archived"})).unwrap();
        assert_eq!(
            conversation.into_port().unwrap_err(),
            "unknown conversation status \"archived\""
        );
    }
}
