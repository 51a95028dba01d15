//! Labels and typing: `Api::V1::Accounts::LabelsController` (the account's labels:
//! index, create), `Api::V1::Accounts::Conversations::LabelsController` (a
//! conversation's labels: index, and create, which makes the given list the whole set
//! and dispatches `conversation_updated` with `label_list` in `changed_attributes`), and
//! the client API's `toggle_typing` (`Public::Api::V1::Inboxes::ConversationsController`),
//! which tells agents that the contact types and dispatches `conversation_typing_on` /
//! `_off` with the contact as `user`.

use super::messages::accessible_conversation;
use super::{AccountRequest, Outcome, SharedState};
use crate::error::ApiError;
use crate::model::{AccountLabel, TypingEvent};
use crate::state::lock;
use crate::store::{now, Table};
use crate::views;
use crate::webhooks::{self, DomainEvent};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

/// `Label` titles: letters, digits, `-` and `_` (stored in lower case).
fn valid_title(title: &str) -> bool {
    !title.is_empty()
        && title
            .chars()
            .all(|character| character.is_alphanumeric() || character == '-' || character == '_')
}

fn label_json(label: &AccountLabel) -> Value {
    json!({
        "id": label.id,
        "title": label.title,
        "description": null,
        "color": "#1f93ff",
        "show_on_sidebar": label.show_on_sidebar,
    })
}

/// `GET /labels`: `{ payload: [label…] }`.
pub async fn account_index(request: AccountRequest) -> Result<HttpResponse, ApiError> {
    request.run(&[], |context, store, _call| {
        let payload: Vec<Value> = store
            .labels
            .values()
            .filter(|label| label.account_id == context.account_id)
            .map(label_json)
            .collect();
        Ok(Outcome::body(json!({ "payload": payload })))
    })
}

/// `POST /labels` (administrators): the title is stored in lower case and must be
/// unique in the account.
pub async fn account_create(
    request: AccountRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    request.run(&body, |context, store, call| {
        context.require_administrator()?;
        let title = call.params.text("title").unwrap_or_default().to_lowercase();
        if !valid_title(&title) {
            return Err(ApiError::Unprocessable("Title is invalid".to_owned()));
        }
        let taken = store
            .labels
            .values()
            .any(|label| label.account_id == context.account_id && label.title == title);
        if taken {
            return Err(ApiError::Unprocessable(
                "Title has already been taken".to_owned(),
            ));
        }
        let id = store.next_id(Table::Label);
        let label = AccountLabel {
            id,
            account_id: context.account_id,
            title,
            show_on_sidebar: call.params.boolean("show_on_sidebar").unwrap_or(false),
        };
        let body = label_json(&label);
        store.labels.insert(id, label);
        Ok(Outcome::body(body))
    })
}

/// `GET /conversations/{id}/labels`: `{ payload: [title…] }`.
pub async fn conversation_index(request: AccountRequest) -> Result<HttpResponse, ApiError> {
    request.run(&[], |context, store, call| {
        let conversation_id = accessible_conversation(context, store, call.path_segment("id"))?;
        let conversation = store
            .conversations
            .get(&conversation_id)
            .ok_or(ApiError::NotFound)?;
        Ok(Outcome::body(json!({ "payload": conversation.labels })))
    })
}

/// `POST /conversations/{id}/labels` with `labels: [...]`: the conversation's whole set
/// (tags are kept in lower case, each once).
pub async fn conversation_create(
    request: AccountRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    request.run(&body, |context, store, call| {
        let conversation_id = accessible_conversation(context, store, call.path_segment("id"))?;
        let mut labels: Vec<String> = Vec::new();
        if let Some(Value::Array(items)) = call.params.get("labels") {
            for item in items {
                let Some(title) = super::value_text(item) else {
                    continue;
                };
                let title = title.trim().to_lowercase();
                if !title.is_empty() && !labels.contains(&title) {
                    labels.push(title);
                }
            }
        }
        let conversation = store
            .conversations
            .get_mut(&conversation_id)
            .ok_or(ApiError::NotFound)?;
        let mut events = Vec::new();
        let (mut before, mut after) = (conversation.labels.clone(), labels.clone());
        before.sort();
        after.sort();
        if before != after {
            let previous = std::mem::replace(&mut conversation.labels, labels.clone());
            conversation.updated_at = now();
            events.push(DomainEvent::ConversationUpdated {
                conversation_id,
                changed_attributes: json!([{ "label_list": {
                    "previous_value": previous,
                    "current_value": labels,
                }}]),
            });
        }
        Ok(Outcome {
            body: json!({ "payload": conversation.labels }),
            events,
        })
    })
}

/// The client API's `POST /public/api/v1/inboxes/{inbox_identifier}/contacts/
/// {contact_identifier}/conversations/{id}/toggle_typing` with `typing_status` `on` or
/// `off`: no token; the inbox by its identifier, the contact by its contact-inbox
/// `source_id`, the conversation by its display id among that contact inbox's.
pub async fn public_toggle_typing(
    state: SharedState,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let params = super::Params::from_request(&request, &body)?;
    let info = request.match_info();
    let (inbox_identifier, source_id, display_id) = (
        info.query("inbox_identifier"),
        info.query("contact_identifier"),
        super::parse_id(info.query("id"))?,
    );
    let mut store = lock(&state.store);
    let inbox_id = store
        .inboxes
        .values()
        .find(|inbox| inbox.identifier == inbox_identifier)
        .map(|inbox| inbox.id)
        .ok_or(ApiError::NotFound)?;
    let contact_inbox = store
        .contact_inboxes
        .values()
        .find(|link| link.inbox_id == inbox_id && link.source_id == source_id)
        .cloned()
        .ok_or(ApiError::NotFound)?;
    let conversation_id = store
        .conversations
        .values()
        .find(|conversation| {
            conversation.contact_inbox_id == contact_inbox.id
                && conversation.display_id == display_id
        })
        .map(|conversation| conversation.id)
        .ok_or(ApiError::NotFound)?;
    let on = match params.text("typing_status").as_deref() {
        Some("on") => true,
        Some("off") => false,
        // `Conversations::TypingStatusManager` does nothing for other values.
        _ => return Ok(HttpResponse::Ok().finish()),
    };
    let contact = store
        .contacts
        .get(&contact_inbox.contact_id)
        .ok_or(ApiError::NotFound)?;
    let mut typist = views::contact_webhook_data(&store, contact);
    if let Value::Object(fields) = &mut typist {
        fields.insert("type".into(), json!("contact"));
    }
    store.typing_events.push(TypingEvent {
        conversation_id,
        typist: "contact".to_owned(),
        on,
        is_private: false,
        at: now(),
    });
    webhooks::dispatch(
        &state,
        &store,
        vec![DomainEvent::Typing {
            conversation_id,
            on,
            typist,
            is_private: false,
        }],
    );
    Ok(HttpResponse::Ok().finish())
}
