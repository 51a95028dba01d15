//! Webhook delivery to API-channel inboxes, as `WebhookListener` +
//! `WebhookJob` + `Webhooks::Trigger` do it: the payload is `webhook_data`
//! merged with `event`, POSTed as JSON with `X-Chatwoot-Delivery` and (when the
//! channel has a secret) `X-Chatwoot-Timestamp` + `X-Chatwoot-Signature`
//! (`sha256=` + hex HMAC-SHA256 of `"{timestamp}.{body}"`). Fire-and-forget,
//! one attempt, a timeout (5 s by default); a failed `message_created` /
//! `message_updated` delivery marks the message `failed` with the error text.

use crate::model::{MessageStatus, MessageType};
use crate::state::{lock, SimulatorState, WebhookDelivery};
use crate::store::{now, Store};
use crate::views;
use ring::hmac;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Something that happened which Chatwoot dispatches to its listeners.
#[derive(Debug, Clone, PartialEq)]
pub enum DomainEvent {
    ConversationCreated {
        conversation_id: u64,
    },
    ConversationStatusChanged {
        conversation_id: u64,
        previous_status: &'static str,
    },
    MessageCreated {
        message_id: u64,
    },
    MessageUpdated {
        message_id: u64,
    },
}

/// A webhook ready to send.
#[derive(Debug, Clone)]
struct PendingWebhook {
    url: String,
    secret: Option<String>,
    event: &'static str,
    body: String,
    payload: Value,
    message_id: Option<u64>,
}

/// Builds the payloads of `events` from the current state (must run while the
/// store lock is held) and starts their delivery.
pub fn dispatch(state: &Arc<SimulatorState>, store: &Store, events: Vec<DomainEvent>) {
    let base_url = state.base_url();
    let drop_status_webhooks = lock(&state.faults).faults.drop_status_webhooks;
    for event in events {
        let webhooks = build_webhooks(store, &event, &base_url)
            .into_iter()
            .filter(|webhook| !(drop_status_webhooks && webhook.is_about_status()));
        for webhook in webhooks {
            let state = Arc::clone(state);
            let duplicate = lock(&state.faults).faults.duplicate_webhooks;
            state.runtime.clone().spawn(async move {
                let delivery_id = uuid::Uuid::new_v4().to_string();
                let attempts = if duplicate { 2 } else { 1 };
                for attempt in 1..=attempts {
                    deliver(&state, &webhook, &delivery_id, attempt).await;
                }
            });
        }
    }
}

impl PendingWebhook {
    /// The webhooks a status change sends (the `drop_status_webhooks` fault drops them).
    fn is_about_status(&self) -> bool {
        matches!(
            self.event,
            "conversation_status_changed" | "conversation_updated"
        )
    }
}

/// The webhooks Chatwoot sends an API inbox for `event`. A status change is two:
/// `conversation_status_changed` (`notify_status_change`) and `conversation_updated`
/// (`notify_conversation_updation`: `status` is one of the keys it reports).
fn build_webhooks(store: &Store, event: &DomainEvent, base_url: &str) -> Vec<PendingWebhook> {
    let mut webhooks: Vec<PendingWebhook> =
        build_webhook(store, event, base_url).into_iter().collect();
    if let DomainEvent::ConversationStatusChanged {
        conversation_id,
        previous_status,
    } = event
    {
        webhooks.extend(conversation_updated_webhook(
            store,
            *conversation_id,
            previous_status,
            base_url,
        ));
    }
    webhooks
}

/// `WebhookListener#conversation_updated` after a status change: the conversation with
/// `changed_attributes` listing what the save changed (its status, and `updated_at`).
fn conversation_updated_webhook(
    store: &Store,
    conversation_id: u64,
    previous_status: &str,
    base_url: &str,
) -> Option<PendingWebhook> {
    let conversation = store.conversations.get(&conversation_id)?;
    let mut payload = views::conversation_webhook_data(store, conversation, base_url);
    if let Value::Object(fields) = &mut payload {
        fields.insert(
            "changed_attributes".into(),
            json!([
                { "status": {
                    "previous_value": previous_status,
                    "current_value": conversation.status.as_str(),
                }},
                { "updated_at": {
                    "previous_value": null,
                    "current_value": views::rails_time(conversation.updated_at),
                }},
            ]),
        );
    }
    finish_webhook(
        store,
        conversation.inbox_id,
        "conversation_updated",
        payload,
        None,
    )
}

/// `WebhookListener#<event>` for an API inbox: `None` when the inbox has no
/// webhook URL or the message is not `webhook_sendable?`.
fn build_webhook(store: &Store, event: &DomainEvent, base_url: &str) -> Option<PendingWebhook> {
    let (inbox_id, event_name, payload, message_id) = match event {
        DomainEvent::ConversationCreated { conversation_id } => {
            let conversation = store.conversations.get(conversation_id)?;
            (
                conversation.inbox_id,
                "conversation_created",
                views::conversation_webhook_data(store, conversation, base_url),
                None,
            )
        }
        DomainEvent::ConversationStatusChanged {
            conversation_id,
            previous_status,
        } => {
            let conversation = store.conversations.get(conversation_id)?;
            let mut payload = views::conversation_webhook_data(store, conversation, base_url);
            if let Value::Object(fields) = &mut payload {
                fields.insert(
                    "changed_attributes".into(),
                    json!([{ "status": {
                        "previous_value": previous_status,
                        "current_value": conversation.status.as_str(),
                    }}]),
                );
            }
            (
                conversation.inbox_id,
                "conversation_status_changed",
                payload,
                None,
            )
        }
        DomainEvent::MessageCreated { message_id } | DomainEvent::MessageUpdated { message_id } => {
            let message = store.messages.get(message_id)?;
            let sendable = matches!(
                message.message_type,
                MessageType::Incoming | MessageType::Outgoing | MessageType::Template
            );
            if !sendable {
                return None;
            }
            let event_name = if matches!(event, DomainEvent::MessageCreated { .. }) {
                "message_created"
            } else {
                "message_updated"
            };
            (
                message.inbox_id,
                event_name,
                views::message_webhook_data(store, message, base_url),
                Some(*message_id),
            )
        }
    };
    finish_webhook(store, inbox_id, event_name, payload, message_id)
}

/// The webhook of `payload` to the inbox's `webhook_url`, when it has one.
fn finish_webhook(
    store: &Store,
    inbox_id: u64,
    event_name: &'static str,
    mut payload: Value,
    message_id: Option<u64>,
) -> Option<PendingWebhook> {
    let inbox = store.inboxes.get(&inbox_id)?;
    let url = inbox.webhook_url.clone().filter(|url| !url.is_empty())?;
    if let Value::Object(fields) = &mut payload {
        fields.insert("event".into(), json!(event_name));
    }
    Some(PendingWebhook {
        url,
        secret: inbox.secret.clone().filter(|secret| !secret.is_empty()),
        event: event_name,
        body: payload.to_string(),
        payload,
        message_id,
    })
}

/// `X-Chatwoot-Signature` for a body sent at `timestamp`.
pub fn signature(secret: &str, timestamp: &str, body: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let tag = hmac::sign(&key, format!("{timestamp}.{body}").as_bytes());
    format!("sha256={}", hex::encode(tag.as_ref()))
}

/// The headers `Webhooks::Trigger#request_headers` sends.
fn request_headers(webhook: &PendingWebhook, delivery_id: &str) -> BTreeMap<String, String> {
    let mut headers = BTreeMap::new();
    headers.insert("Content-Type".to_owned(), "application/json".to_owned());
    headers.insert("Accept".to_owned(), "application/json".to_owned());
    headers.insert("X-Chatwoot-Delivery".to_owned(), delivery_id.to_owned());
    if let Some(secret) = &webhook.secret {
        let timestamp = chrono::Utc::now().timestamp().to_string();
        headers.insert(
            "X-Chatwoot-Signature".to_owned(),
            signature(secret, &timestamp, &webhook.body),
        );
        headers.insert("X-Chatwoot-Timestamp".to_owned(), timestamp);
    }
    headers
}

/// One POST of a webhook; records it, and on failure runs `handle_error`.
async fn deliver(
    state: &Arc<SimulatorState>,
    webhook: &PendingWebhook,
    delivery_id: &str,
    attempt: u32,
) {
    let headers = request_headers(webhook, delivery_id);
    let mut request = state
        .webhook_client
        .post(&webhook.url)
        .timeout(state.webhook_timeout)
        .body(webhook.body.clone());
    for (name, value) in &headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let sent_at = chrono::Utc::now();
    let (response_status, error) = match request.send().await {
        Ok(response) if response.status().is_success() => (Some(response.status().as_u16()), None),
        Ok(response) => {
            let status = response.status();
            let reason = status.canonical_reason().unwrap_or("");
            (
                Some(status.as_u16()),
                Some(
                    format!("{} {reason}", status.as_u16())
                        .trim_end()
                        .to_owned(),
                ),
            )
        }
        Err(transport_error) => (None, Some(transport_error.to_string())),
    };
    state.record_delivery(WebhookDelivery {
        delivery_id: delivery_id.to_owned(),
        url: webhook.url.clone(),
        event: webhook.event.to_owned(),
        attempt,
        headers,
        body: webhook.payload.clone(),
        response_status,
        error: error.clone(),
        sent_at,
    });
    if let (Some(error), Some(message_id)) = (error, webhook.message_id) {
        mark_message_failed(state, message_id, &error);
    }
}

/// `Messages::StatusUpdateService.new(message, 'failed', error.message)`: only a
/// real change is saved (and dispatches `message_updated`).
fn mark_message_failed(state: &Arc<SimulatorState>, message_id: u64, error: &str) {
    let mut store = lock(&state.store);
    let Some(message) = store.messages.get_mut(&message_id) else {
        return;
    };
    let error_value = json!(error);
    let unchanged = message.status == MessageStatus::Failed
        && message.content_attributes.get("external_error") == Some(&error_value);
    if unchanged {
        return;
    }
    message.status = MessageStatus::Failed;
    message
        .content_attributes
        .insert("external_error".into(), error_value);
    message.updated_at = now();
    dispatch(
        state,
        &store,
        vec![DomainEvent::MessageUpdated { message_id }],
    );
}

#[cfg(test)]
mod tests {
    use super::signature;

    #[test]
    fn signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac secret
        assert_eq!(
            signature("secret", "1700000000", r#"{"a":1}"#),
            "sha256=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686"
        );
    }
}
