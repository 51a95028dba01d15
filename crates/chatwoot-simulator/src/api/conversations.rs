//! `Api::V1::Accounts::ConversationsController`: list (`ConversationFinder`:
//! status filter defaulting to `open`, assignee type, inbox, 25 per page, with
//! the mine/assigned/unassigned/all counts), create (`ConversationBuilder`
//! through a contact inbox found by `inbox_id` + `contact_id` + `source_id`, or
//! by `source_id` alone), show, and `toggle_status`. URLs use the per-account
//! `display_id`.

use super::messages::{accessible_conversation, create_message};
use super::{AccountContext, AccountRequest, Outcome, Params};
use crate::error::ApiError;
use crate::model::{Conversation, ConversationStatus};
use crate::store::{now, Store, Table};
use crate::views;
use crate::webhooks::DomainEvent;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// `ConversationFinder` page size.
const CONVERSATIONS_PER_PAGE: usize = 25;

/// Whether the caller may see the conversation's inbox.
fn visible(context: &AccountContext, store: &Store, conversation: &Conversation) -> bool {
    store
        .inboxes
        .get(&conversation.inbox_id)
        .is_some_and(|inbox| store.can_access_inbox(context.role, context.user_id, inbox))
}

/// `GET /conversations`: `{ data: { meta: {mine_count, assigned_count,
/// unassigned_count, all_count}, payload: [...] } }`.
pub async fn index(request: AccountRequest) -> Result<HttpResponse, ApiError> {
    request.run(&[], |context, store, call| {
        let (params, base_url) = (call.params, call.base_url);
        let status = params.text("status").unwrap_or_else(|| "open".to_owned());
        let inbox_filter = params.id("inbox_id").ok().flatten();
        let mut conversations: Vec<&Conversation> = store
            .conversations
            .values()
            .filter(|conversation| conversation.account_id == context.account_id)
            .filter(|conversation| visible(context, store, conversation))
            .filter(|conversation| status == "all" || conversation.status.as_str() == status)
            .filter(|conversation| {
                inbox_filter.is_none_or(|inbox_id| conversation.inbox_id == inbox_id)
            })
            .collect();
        let mine_count = conversations
            .iter()
            .filter(|conversation| conversation.assignee_id == Some(context.user_id))
            .count();
        let assigned_count = conversations
            .iter()
            .filter(|conversation| conversation.assignee_id.is_some())
            .count();
        let all_count = conversations.len();
        match params.text("assignee_type").as_deref() {
            Some("me") => conversations
                .retain(|conversation| conversation.assignee_id == Some(context.user_id)),
            Some("unassigned") => {
                conversations.retain(|conversation| conversation.assignee_id.is_none())
            }
            Some("assigned") => {
                conversations.retain(|conversation| conversation.assignee_id.is_some())
            }
            _ => {}
        }
        conversations.sort_by(|left, right| {
            right
                .last_activity_at
                .cmp(&left.last_activity_at)
                .then(right.id.cmp(&left.id))
        });
        let page = params
            .text("page")
            .and_then(|page| page.trim().parse::<usize>().ok())
            .unwrap_or(1)
            .max(1);
        let payload: Vec<Value> = conversations
            .into_iter()
            .skip((page - 1) * CONVERSATIONS_PER_PAGE)
            .take(CONVERSATIONS_PER_PAGE)
            .map(|conversation| views::conversation(store, conversation, base_url))
            .collect();
        Ok(Outcome::body(json!({
            "data": {
                "meta": {
                    "mine_count": mine_count,
                    "assigned_count": assigned_count,
                    "unassigned_count": all_count - assigned_count,
                    "all_count": all_count,
                },
                "payload": payload,
            }
        })))
    })
}

/// `GET /conversations/{id}`.
pub async fn show(request: AccountRequest) -> Result<HttpResponse, ApiError> {
    request.run(&[], |context, store, call| {
        let (display_id, base_url) = (call.path_segment("id"), call.base_url);
        let conversation_id = accessible_conversation(context, store, display_id)?;
        let conversation = store
            .conversations
            .get(&conversation_id)
            .ok_or(ApiError::NotFound)?;
        Ok(Outcome::body(views::conversation(
            store,
            conversation,
            base_url,
        )))
    })
}

/// Parses `status`; Rails raises `ArgumentError` on an unknown enum value,
/// which nothing rescues (500).
fn status_param(params: &Params) -> Result<Option<ConversationStatus>, ApiError> {
    match params.get("status") {
        Some(value) if params.present("status") => ConversationStatus::from_param(value)
            .map(Some)
            .ok_or(ApiError::Internal),
        _ => Ok(None),
    }
}

fn parse_time(params: &Params, key: &str) -> Option<DateTime<Utc>> {
    let text = params.text(key)?;
    if let Ok(epoch) = text.trim().parse::<i64>() {
        return DateTime::from_timestamp(epoch, 0);
    }
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|time| time.with_timezone(&Utc))
}

/// The contact inbox a create request refers to (`inbox`, `contact`,
/// `contact_inbox` before-actions).
fn resolve_contact_inbox(
    context: &AccountContext,
    store: &mut Store,
    params: &Params,
) -> Result<u64, ApiError> {
    let inbox_id = match params.id("inbox_id")? {
        Some(inbox_id) => {
            let inbox = store.inbox(context.account_id, inbox_id)?;
            if !store.can_access_inbox(context.role, context.user_id, inbox) {
                return Err(ApiError::NotAuthorized);
            }
            Some(inbox.id)
        }
        None => None,
    };
    let contact_id = match params.id("contact_id")? {
        Some(contact_id) => Some(store.contact(context.account_id, contact_id)?.id),
        None => None,
    };
    let contact_inbox_id = match (inbox_id, contact_id) {
        (Some(inbox_id), Some(contact_id)) => store
            .build_contact_inbox(contact_id, inbox_id, params.text("source_id"))
            .map_err(|_| ApiError::Unprocessable("source_id should be unique".to_owned()))?,
        _ => {
            let source_id = params.text("source_id").ok_or(ApiError::NotFound)?;
            store
                .contact_inboxes
                .values()
                .find(|contact_inbox| contact_inbox.source_id == source_id)
                .map(|contact_inbox| contact_inbox.id)
                .ok_or(ApiError::NotFound)?
        }
    };
    let contact_inbox = store
        .contact_inboxes
        .get(&contact_inbox_id)
        .ok_or(ApiError::NotFound)?;
    let inbox = store
        .inboxes
        .get(&contact_inbox.inbox_id)
        .ok_or(ApiError::NotFound)?;
    if inbox.account_id != context.account_id
        || !store.can_access_inbox(context.role, context.user_id, inbox)
    {
        return Err(ApiError::NotAuthorized);
    }
    Ok(contact_inbox_id)
}

/// `POST /conversations`: creates (or, for `lock_to_single_conversation`
/// inboxes, reuses) a conversation, plus the optional `message`.
pub async fn create(request: AccountRequest, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    request.run(&body, |context, store, call| {
        let (params, base_url) = (call.params, call.base_url);
        let status = status_param(params)?;
        let contact_inbox_id = resolve_contact_inbox(context, store, params)?;
        let contact_inbox = store
            .contact_inboxes
            .get(&contact_inbox_id)
            .ok_or(ApiError::NotFound)?
            .clone();
        let inbox = store
            .inboxes
            .get(&contact_inbox.inbox_id)
            .ok_or(ApiError::NotFound)?
            .clone();
        let mut events = Vec::new();
        let existing = inbox
            .lock_to_single_conversation
            .then(|| {
                store
                    .conversations
                    .values()
                    .filter(|conversation| conversation.contact_inbox_id == contact_inbox_id)
                    .map(|conversation| conversation.id)
                    .max()
            })
            .flatten();
        let conversation_id = match existing {
            Some(conversation_id) => conversation_id,
            None => {
                let blocked = store
                    .contacts
                    .get(&contact_inbox.contact_id)
                    .is_some_and(|contact| contact.blocked);
                let display_id = store.next_display_id(context.account_id)?;
                let id = store.next_id(Table::Conversation);
                let created_at = now();
                let status = if blocked {
                    ConversationStatus::Resolved
                } else {
                    status.unwrap_or(ConversationStatus::Open)
                };
                let assignee_id =
                    params.id("assignee_id").ok().flatten().filter(|user_id| {
                        store.account_user(context.account_id, *user_id).is_some()
                    });
                store.conversations.insert(
                    id,
                    Conversation {
                        id,
                        account_id: context.account_id,
                        display_id,
                        inbox_id: inbox.id,
                        contact_id: contact_inbox.contact_id,
                        contact_inbox_id,
                        uuid: uuid::Uuid::new_v4().to_string(),
                        status,
                        assignee_id,
                        additional_attributes: params
                            .object("additional_attributes")
                            .unwrap_or_default(),
                        custom_attributes: params.object("custom_attributes").unwrap_or_default(),
                        snoozed_until: if status == ConversationStatus::Snoozed {
                            parse_time(params, "snoozed_until")
                        } else {
                            None
                        },
                        agent_last_seen_at: None,
                        assignee_last_seen_at: None,
                        contact_last_seen_at: None,
                        first_reply_created_at: None,
                        waiting_since: Some(created_at),
                        last_activity_at: created_at,
                        priority: None,
                        labels: Vec::new(),
                        created_at,
                        updated_at: created_at,
                    },
                );
                events.push(DomainEvent::ConversationCreated {
                    conversation_id: id,
                });
                id
            }
        };
        if let Some(message) = params.object("message") {
            create_message(
                store,
                conversation_id,
                context.user_id,
                &Params(message),
                Vec::new(),
                &mut events,
            )?;
        }
        let conversation = store
            .conversations
            .get(&conversation_id)
            .ok_or(ApiError::Internal)?;
        Ok(Outcome {
            body: views::conversation(store, conversation, base_url),
            events,
        })
    })
}

/// `POST /conversations/{id}/toggle_status`: sets `status` (and
/// `snoozed_until`) if given, else toggles open ↔ resolved (pending and snoozed
/// become open).
pub async fn toggle_status(
    request: AccountRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    request.run(&body, |context, store, call| {
        let (display_id, params) = (call.path_segment("id"), call.params);
        let conversation_id = accessible_conversation(context, store, display_id)?;
        let requested = status_param(params)?;
        let conversation = store
            .conversations
            .get_mut(&conversation_id)
            .ok_or(ApiError::NotFound)?;
        let previous_status = conversation.status;
        let next_status = requested.unwrap_or(match previous_status {
            ConversationStatus::Open => ConversationStatus::Resolved,
            _ => ConversationStatus::Open,
        });
        conversation.status = next_status;
        conversation.snoozed_until = if next_status == ConversationStatus::Snoozed {
            parse_time(params, "snoozed_until").or(conversation.snoozed_until)
        } else {
            None
        };
        if next_status == ConversationStatus::Resolved {
            conversation.waiting_since = None;
        }
        let mut events = Vec::new();
        if next_status != previous_status {
            conversation.updated_at = now();
            events.push(DomainEvent::ConversationStatusChanged {
                conversation_id,
                previous_status: previous_status.as_str(),
            });
        }
        Ok(Outcome {
            body: json!({
                "meta": {},
                "payload": {
                    "success": true,
                    "current_status": next_status.as_str(),
                    "conversation_id": conversation.display_id,
                }
            }),
            events,
        })
    })
}
