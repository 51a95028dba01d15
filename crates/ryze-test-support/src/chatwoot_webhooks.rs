//! Chatwoot webhook bodies as Chatwoot posts them to the bridge.

use serde_json::{json, Value};

/// Builds a `message_created` webhook: agent Ana (user 3) replying "Seu pedido sai
/// hoje" in conversation 12 of inbox 7 (account 5), whose contact is the WhatsApp
/// chat `5511912345678@s.whatsapp.net`.
#[derive(Debug, Clone)]
pub struct MessageWebhook {
    body: Value,
}

impl MessageWebhook {
    /// An agent's public reply `message_id`.
    pub fn agent_reply(message_id: i64) -> Self {
        Self {
            body: json!({
                "event": "message_created",
                "id": message_id,
                "content": "Seu pedido sai hoje",
                "message_type": "outgoing",
                "private": false,
                "source_id": null,
                "content_attributes": {},
                "sender": {"id": 3, "name": "Ana", "type": "user"},
                "inbox": {"id": 7},
                "account": {"id": 5},
                "conversation": {"id": 12, "meta": {"sender": {"identifier": "5511912345678@s.whatsapp.net"}}}
            }),
        }
    }

    /// Sets the top-level field `name` to `value` (`event`, `content`, `private`, …).
    pub fn with(mut self, name: &str, value: Value) -> Self {
        self.body[name] = value;
        self
    }

    /// The body as JSON.
    pub fn to_json(&self) -> Value {
        self.body.clone()
    }
}
