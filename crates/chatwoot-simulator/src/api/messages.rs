//! `Api::V1::Accounts::Conversations::MessagesController`: list (the
//! `MessageFinder` windows), create (JSON or multipart with `attachments[]`,
//! through the same rules as `Messages::MessageBuilder`), status update (API
//! inboxes only, `Messages::StatusUpdateService`) and delete (content replaced
//! by "This message was deleted"). Also the message side effects on the
//! conversation (reopening, activity times) that the model callbacks perform.

use super::{
    account_action, parse_id, AccountContext, AccountRequest, Outcome, Params, SharedState,
};
use crate::error::ApiError;
use crate::model::{
    Attachment, ConversationStatus, FileType, JsonObject, Message, MessageStatus, MessageType,
    Sender,
};
use crate::store::{now, secure_token, Store, Table};
use crate::views;
use crate::webhooks::DomainEvent;
use actix_multipart::Multipart;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{web, HttpRequest, HttpResponse};
use futures::StreamExt;
use serde_json::{json, Value};
use std::sync::Arc;

/// `validates :content, length: { maximum: 150_000 }`.
const MAX_CONTENT_LENGTH: usize = 150_000;
/// What Chatwoot writes over a deleted message (`conversations.messages.deleted`).
pub const DELETED_MESSAGE_CONTENT: &str = "This message was deleted";
/// `Message.content_types`.
const CONTENT_TYPES: [&str; 13] = [
    "text",
    "input_text",
    "input_textarea",
    "input_email",
    "input_select",
    "cards",
    "form",
    "article",
    "incoming_email",
    "input_csat",
    "integrations",
    "sticker",
    "voice_call",
];

/// A file uploaded as `attachments[]`.
#[derive(Debug, Clone)]
pub struct UploadedFile {
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// `Conversations::BaseController#conversation`: find by display id (404), then
/// `authorize @conversation.inbox, :show?` (401). Returns the internal id.
pub fn accessible_conversation(
    context: &AccountContext,
    store: &Store,
    raw_display_id: &str,
) -> Result<u64, ApiError> {
    let conversation =
        store.conversation_by_display_id(context.account_id, parse_id(raw_display_id)?)?;
    let inbox = store
        .inboxes
        .get(&conversation.inbox_id)
        .ok_or(ApiError::NotFound)?;
    if store.can_access_inbox(context.role, context.user_id, inbox) {
        Ok(conversation.id)
    } else {
        Err(ApiError::NotAuthorized)
    }
}

/// `rescue StandardError => e; render_could_not_create_error(e.message)` for an
/// invalid enum value.
fn invalid_enum(value: &Value, attribute: &str) -> ApiError {
    let shown = super::value_text(value).unwrap_or_else(|| value.to_string());
    ApiError::Unprocessable(format!("'{shown}' is not a valid {attribute}"))
}

/// `MessageBuilder#content_attributes`: a hash, or a JSON string of one.
fn content_attributes(params: &Params) -> JsonObject {
    match params.get("content_attributes") {
        Some(Value::Object(fields)) => fields.clone(),
        Some(Value::String(text)) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(fields)) => fields,
            _ => JsonObject::new(),
        },
        _ => JsonObject::new(),
    }
}

/// Creates a message the way `Messages::MessageBuilder#perform` and the
/// `Message` callbacks do, returning its id; the caller's events get the
/// conversation status change (if an incoming message reopened it) and
/// `message_created`.
pub fn create_message(
    store: &mut Store,
    conversation_id: u64,
    user_id: u64,
    params: &Params,
    uploads: Vec<UploadedFile>,
    events: &mut Vec<DomainEvent>,
) -> Result<u64, ApiError> {
    let conversation = store
        .conversations
        .get(&conversation_id)
        .ok_or(ApiError::NotFound)?
        .clone();
    let message_type = match params.get("message_type") {
        Some(value) if params.present("message_type") => {
            MessageType::from_param(value).ok_or_else(|| invalid_enum(value, "message_type"))?
        }
        _ => MessageType::Outgoing,
    };
    let content_type = match params.get("content_type") {
        Some(value) if params.present("content_type") => {
            let name = super::value_text(value).unwrap_or_default();
            if !CONTENT_TYPES.contains(&name.as_str()) {
                return Err(invalid_enum(value, "content_type"));
            }
            name
        }
        _ => "text".to_owned(),
    };
    let content = params.text("content");
    if content
        .as_ref()
        .is_some_and(|content| content.chars().count() > MAX_CONTENT_LENGTH)
    {
        return Err(ApiError::Unprocessable(format!(
            "Validation failed: Content is too long (maximum is {MAX_CONTENT_LENGTH} characters)"
        )));
    }
    let private = params.boolean("private").unwrap_or(false);
    let mut content_attributes = content_attributes(params);
    resolve_reply_reference(store, conversation_id, &mut content_attributes);
    let sender = match message_type {
        MessageType::Incoming => Sender::Contact(conversation.contact_id),
        _ => Sender::User(user_id),
    };
    let id = store.next_id(Table::Message);
    let created_at = now();
    let recorded = recorded_audio_file_names(params);
    let attachments = uploads
        .into_iter()
        .map(|upload| {
            let attachment_id = store.next_id(Table::Attachment);
            let mut meta = JsonObject::new();
            if recorded.contains(&upload.filename) {
                meta.insert("is_recorded_audio".into(), json!(true));
            }
            Attachment {
                id: attachment_id,
                message_id: id,
                account_id: conversation.account_id,
                file_type: FileType::from_content_type(&upload.content_type),
                byte_size: upload.bytes.len(),
                filename: upload.filename,
                content_type: upload.content_type,
                download_token: secure_token(),
                bytes: Arc::new(upload.bytes),
                meta,
            }
        })
        .collect();
    store.messages.insert(
        id,
        Message {
            id,
            account_id: conversation.account_id,
            inbox_id: conversation.inbox_id,
            conversation_id,
            message_type,
            content,
            content_type,
            content_attributes,
            private,
            status: MessageStatus::Sent,
            source_id: params.text("source_id"),
            sender: Some(sender),
            external_source_ids: JsonObject::new(),
            additional_attributes: JsonObject::new(),
            echo_id: params.text("echo_id"),
            created_at,
            updated_at: created_at,
            attachments,
        },
    );
    apply_message_side_effects(store, conversation_id, id, events);
    events.push(DomainEvent::MessageCreated { message_id: id });
    Ok(id)
}

/// The uploads Chatwoot's audio recorder made: the dashboard sends their file names as
/// `is_recorded_audio`, a JSON array (`["audio-1700000000.mp3"]`), and `MessageBuilder`
/// stores `meta: { is_recorded_audio: true }` on those attachments. An array value (JSON
/// body, or repeated `is_recorded_audio[]` fields) is read the same way.
fn recorded_audio_file_names(params: &Params) -> Vec<String> {
    let listed = match params
        .get("is_recorded_audio")
        .or_else(|| params.get("is_recorded_audio[]"))
    {
        Some(Value::Array(names)) => names.clone(),
        Some(Value::String(text)) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Array(names)) => names,
            _ => vec![Value::String(text.clone())],
        },
        _ => Vec::new(),
    };
    listed.iter().filter_map(super::value_text).collect()
}

/// `Message#ensure_in_reply_to`: fills `in_reply_to_external_id` from
/// `in_reply_to` (the replied message's `source_id`), or the other way round.
fn resolve_reply_reference(
    store: &Store,
    conversation_id: u64,
    content_attributes: &mut JsonObject,
) {
    let in_reply_to = content_attributes
        .get("in_reply_to")
        .and_then(super::value_text)
        .filter(|text| !text.is_empty());
    let external_id = content_attributes
        .get("in_reply_to_external_id")
        .and_then(super::value_text)
        .filter(|text| !text.is_empty());
    let conversation_messages = store.messages_of(conversation_id);
    match (in_reply_to, external_id) {
        (Some(reply_id), None) => {
            let source_id = reply_id.parse::<u64>().ok().and_then(|reply_id| {
                conversation_messages
                    .iter()
                    .find(|message| message.id == reply_id)
                    .and_then(|message| message.source_id.clone())
            });
            content_attributes.insert("in_reply_to_external_id".into(), json!(source_id));
        }
        (None, Some(external_id)) => {
            let message_id = conversation_messages
                .iter()
                .find(|message| message.source_id.as_deref() == Some(external_id.as_str()))
                .map(|message| message.id);
            content_attributes.insert("in_reply_to".into(), json!(message_id));
        }
        _ => {}
    }
}

/// `Message#execute_after_create_commit_callbacks` on the conversation:
/// reopen on incoming, activity time, first reply, waiting since, contact activity.
fn apply_message_side_effects(
    store: &mut Store,
    conversation_id: u64,
    message_id: u64,
    events: &mut Vec<DomainEvent>,
) {
    let Some(message) = store.messages.get(&message_id).cloned() else {
        return;
    };
    let human_reply = message.message_type == MessageType::Outgoing
        && matches!(message.sender, Some(Sender::User(_)));
    let Some(conversation) = store.conversations.get_mut(&conversation_id) else {
        return;
    };
    if message.message_type == MessageType::Incoming
        && matches!(
            conversation.status,
            ConversationStatus::Resolved | ConversationStatus::Snoozed
        )
    {
        let previous_status = conversation.status.as_str();
        conversation.status = ConversationStatus::Open;
        conversation.snoozed_until = None;
        conversation.updated_at = message.created_at;
        events.push(DomainEvent::ConversationStatusChanged {
            conversation_id,
            previous_status,
        });
    }
    if message.message_type != MessageType::Activity {
        conversation.last_activity_at = message.created_at;
    }
    if human_reply && !message.private {
        if conversation.first_reply_created_at.is_none() {
            conversation.first_reply_created_at = Some(message.created_at);
        }
        conversation.waiting_since = None;
    }
    if message.message_type == MessageType::Incoming && conversation.waiting_since.is_none() {
        conversation.waiting_since = Some(message.created_at);
    }
    let contact_id = conversation.contact_id;
    if message.message_type == MessageType::Incoming {
        if let Some(contact) = store.contacts.get_mut(&contact_id) {
            contact.last_activity_at = Some(message.created_at);
        }
    }
}

/// `GET /conversations/{id}/messages`: the latest 20, or 20 `before` an id, or
/// 100 `after` one; with the conversation meta.
pub async fn index(request: AccountRequest) -> Result<HttpResponse, ApiError> {
    request.run(&[], |context, store, call| {
        let (display_id, params, base_url) = (call.path_segment("id"), call.params, call.base_url);
        let conversation_id = accessible_conversation(context, store, display_id)?;
        let conversation = store
            .conversations
            .get(&conversation_id)
            .ok_or(ApiError::NotFound)?;
        let mut messages = store.messages_of(conversation_id);
        if params.boolean("filter_internal_messages") == Some(true) {
            messages.retain(|message| {
                !message.private && message.message_type != MessageType::Activity
            });
        }
        let before = params
            .text("before")
            .and_then(|id| id.trim().parse::<u64>().ok());
        let after = params
            .text("after")
            .and_then(|id| id.trim().parse::<u64>().ok());
        let window: Vec<&Message> = match (after, before) {
            (Some(after), Some(before)) => messages
                .into_iter()
                .filter(|message| message.id >= after && message.id < before)
                .take(1000)
                .collect(),
            (None, Some(before)) => last_n(
                messages
                    .into_iter()
                    .filter(|message| message.id < before)
                    .collect(),
                20,
            ),
            (Some(after), None) => messages
                .into_iter()
                .filter(|message| message.id > after)
                .take(100)
                .collect(),
            (None, None) => last_n(messages, 20),
        };
        let assignee = conversation
            .assignee_id
            .and_then(|user_id| store.users.get(&user_id));
        let mut meta = serde_json::Map::new();
        meta.insert("labels".into(), json!([]));
        meta.insert(
            "additional_attributes".into(),
            Value::Object(conversation.additional_attributes.clone()),
        );
        meta.insert(
            "contact".into(),
            store
                .contacts
                .get(&conversation.contact_id)
                .map_or(Value::Null, views::contact_push_event_data),
        );
        if let Some(assignee) = assignee {
            meta.insert("assignee".into(), views::user_push_event_data(assignee));
        }
        meta.insert(
            "agent_last_seen_at".into(),
            views::rails_time_or_null(conversation.agent_last_seen_at),
        );
        meta.insert(
            "assignee_last_seen_at".into(),
            views::rails_time_or_null(conversation.assignee_last_seen_at),
        );
        let payload: Vec<Value> = window
            .into_iter()
            .map(|message| views::message(store, message, base_url))
            .collect();
        Ok(Outcome::body(json!({ "meta": meta, "payload": payload })))
    })
}

fn last_n(messages: Vec<&Message>, count: usize) -> Vec<&Message> {
    let skip = messages.len().saturating_sub(count);
    messages.into_iter().skip(skip).collect()
}

/// Reads a `multipart/form-data` body: text fields become parameters, parts
/// named `attachments[]` become uploads.
async fn read_multipart(
    request: &HttpRequest,
    payload: web::Payload,
) -> Result<(Params, Vec<UploadedFile>), ApiError> {
    let mut params = Params::from_request(request, &[])?;
    let mut uploads = Vec::new();
    let mut multipart = Multipart::new(request.headers(), payload);
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(|_| ApiError::BadRequest)?;
        let disposition = field.content_disposition().cloned();
        let name = disposition
            .as_ref()
            .and_then(|disposition| disposition.get_name())
            .unwrap_or_default()
            .to_owned();
        let filename = disposition
            .as_ref()
            .and_then(|disposition| disposition.get_filename())
            .map(str::to_owned);
        let content_type = field.content_type().map_or_else(
            || "application/octet-stream".to_owned(),
            ToString::to_string,
        );
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            bytes.extend_from_slice(&chunk.map_err(|_| ApiError::BadRequest)?);
        }
        if name.starts_with("attachments") {
            uploads.push(UploadedFile {
                filename: filename.unwrap_or_else(|| "file".to_owned()),
                content_type,
                bytes,
            });
        } else if name.ends_with("[]") {
            // Rails collects repeated `name[]` fields into an array.
            let value = Value::String(String::from_utf8_lossy(&bytes).into_owned());
            match params.0.get_mut(&name) {
                Some(Value::Array(values)) => values.push(value),
                _ => {
                    params.0.insert(name, Value::Array(vec![value]));
                }
            }
        } else {
            params.0.insert(
                name,
                Value::String(String::from_utf8_lossy(&bytes).into_owned()),
            );
        }
    }
    Ok((params, uploads))
}

/// `POST /conversations/{id}/messages` (JSON, or multipart with `attachments[]`).
pub async fn create(
    state: SharedState,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (account, display_id) = path.into_inner();
    let is_multipart = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("multipart/form-data"));
    let (params, uploads) = if is_multipart {
        read_multipart(&request, payload).await?
    } else {
        let body = payload.to_bytes().await.map_err(|_| ApiError::BadRequest)?;
        (Params::from_request(&request, &body)?, Vec::new())
    };
    account_action(&state, &request, &account, |context, store, base_url| {
        let conversation_id = accessible_conversation(context, store, &display_id)?;
        let mut events = Vec::new();
        let message_id = create_message(
            store,
            conversation_id,
            context.user_id,
            &params,
            uploads,
            &mut events,
        )?;
        let message = store.messages.get(&message_id).ok_or(ApiError::Internal)?;
        Ok(Outcome {
            body: views::message(store, message, base_url),
            events,
        })
    })
}

/// Finds a message of the conversation (`@conversation.messages.find`, 404).
fn conversation_message(
    store: &Store,
    conversation_id: u64,
    raw_id: &str,
) -> Result<u64, ApiError> {
    let message_id = parse_id(raw_id)?;
    store
        .messages
        .get(&message_id)
        .filter(|message| message.conversation_id == conversation_id)
        .map(|message| message.id)
        .ok_or(ApiError::NotFound)
}

/// `PATCH /conversations/{id}/messages/{message_id}` with `status` (and
/// `external_error` for `failed`): only for API inboxes (403 otherwise); an
/// unknown status or `read` → `delivered` changes nothing.
pub async fn update(request: AccountRequest, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    request.run(&body, |context, store, call| {
        let (display_id, raw_message_id, params, base_url) = (
            call.path_segment("id"),
            call.path_segment("message_id"),
            call.params,
            call.base_url,
        );
        let conversation_id = accessible_conversation(context, store, display_id)?;
        let message_id = conversation_message(store, conversation_id, raw_message_id)?;
        let mut events = Vec::new();
        let requested = params
            .text("status")
            .as_deref()
            .and_then(MessageStatus::from_name);
        if let (Some(status), Some(message)) = (requested, store.messages.get_mut(&message_id)) {
            let allowed =
                !(message.status == MessageStatus::Read && status == MessageStatus::Delivered);
            if allowed {
                let external_error = if status == MessageStatus::Failed {
                    json!(params.text("external_error"))
                } else {
                    Value::Null
                };
                let changed = message.status != status
                    || message.content_attributes.get("external_error") != Some(&external_error);
                message.status = status;
                message
                    .content_attributes
                    .insert("external_error".into(), external_error);
                if changed {
                    message.updated_at = now();
                    events.push(DomainEvent::MessageUpdated { message_id });
                }
            }
        }
        let message = store.messages.get(&message_id).ok_or(ApiError::Internal)?;
        Ok(Outcome {
            body: views::message(store, message, base_url),
            events,
        })
    })
}

/// `DELETE /conversations/{id}/messages/{message_id}`: content becomes "This
/// message was deleted", `content_attributes` becomes `{ deleted: true }`,
/// attachments are removed; answers with the message.
pub async fn destroy(request: AccountRequest) -> Result<HttpResponse, ApiError> {
    request.run(&[], |context, store, call| {
        let (display_id, raw_message_id, base_url) = (
            call.path_segment("id"),
            call.path_segment("message_id"),
            call.base_url,
        );
        let conversation_id = accessible_conversation(context, store, display_id)?;
        let message_id = conversation_message(store, conversation_id, raw_message_id)?;
        let message = store
            .messages
            .get_mut(&message_id)
            .ok_or(ApiError::Internal)?;
        message.content = Some(DELETED_MESSAGE_CONTENT.to_owned());
        message.content_type = "text".to_owned();
        message.content_attributes = JsonObject::from_iter([("deleted".to_owned(), json!(true))]);
        message.attachments.clear();
        message.updated_at = now();
        let message = store.messages.get(&message_id).ok_or(ApiError::Internal)?;
        Ok(Outcome {
            body: views::message(store, message, base_url),
            events: vec![DomainEvent::MessageUpdated { message_id }],
        })
    })
}
