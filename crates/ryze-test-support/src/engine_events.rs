//! Engine events (`ryze_ports::whatsapp_events` envelopes) as an engine posts them:
//! [`WhatsAppMessageEvent`] builds a `message.exchange` and [`instance_state_event`] an
//! `instance.state`, as JSON ([`WhatsAppMessageEvent::to_json`]) or as the parsed
//! [`EventEnvelope`]; [`ack_frame`] is the bridge's answer on the event stream.

use ryze_ports::whatsapp_events::EventEnvelope;
use serde_json::{json, Value};

/// The private chat (and sender) every built message comes from.
pub const MARIA_JID: &str = "5511912345678@s.whatsapp.net";

/// Builds a `message.exchange` event: an incoming message of Maria ([`MARIA_JID`]) in
/// her private chat, at 1718000100, with an empty `baseUrl`.
#[derive(Debug, Clone)]
pub struct WhatsAppMessageEvent {
    instance: String,
    message_id: String,
    timestamp: i64,
    kind: &'static str,
    body_field: &'static str,
    body: Value,
}

impl WhatsAppMessageEvent {
    /// A text message `message_id` saying `text`, for the instance `instance` (an
    /// instance id as an engine sends it, a name as the API forwards it).
    pub fn text(instance: &str, message_id: &str, text: &str) -> Self {
        Self {
            instance: instance.to_owned(),
            message_id: message_id.to_owned(),
            timestamp: 1_718_000_100,
            kind: "text",
            body_field: "content",
            body: json!({ "text": text }),
        }
    }

    /// A media message `message_id` of `media_type` (`image`, `audio`, …) with `base64`
    /// bytes of `mimetype`.
    pub fn media(
        instance: &str,
        message_id: &str,
        media_type: &'static str,
        base64: &str,
        mimetype: &str,
    ) -> Self {
        Self {
            kind: media_type,
            body_field: "media",
            body: json!({ "type": media_type, "base64": base64, "mimetype": mimetype }),
            ..Self::text(instance, message_id, "")
        }
    }

    /// Sends it at `timestamp` (seconds since the epoch).
    pub fn timestamp(mut self, timestamp: i64) -> Self {
        self.timestamp = timestamp;
        self
    }

    /// The event as JSON.
    pub fn to_json(&self) -> Value {
        let mut message = json!({
            "id": self.message_id,
            "direction": "incoming",
            "timestamp": self.timestamp,
            "type": self.kind,
            "chat": {"jid": MARIA_JID, "name": "Maria", "type": "private"},
            "sender": {"jid": MARIA_JID, "name": "Maria"},
        });
        message[self.body_field] = self.body.clone();
        json!({
            "event": "message.exchange",
            "data": { "id": self.message_id, "message": message },
            "instanceData": {"baseUrl": "", "instance": self.instance},
        })
    }

    /// The event as the parsed envelope.
    pub fn envelope(&self) -> EventEnvelope {
        envelope(self.to_json())
    }
}

/// An `instance.state` event of `instance`: `connecting` after a `network` problem, at
/// 1718000810, from the engine at `https://engine.internal`.
pub fn instance_state_event(instance: &str) -> Value {
    json!({
        "event": "instance.state",
        "data": {"state": "connecting", "reason": "network", "timestamp": 1718000810},
        "instanceData": {"baseUrl": "https://engine.internal", "instance": instance}
    })
}

/// The bridge's acknowledgement of every event up to `sequence`, as the text of a frame
/// on the event stream (`/ws/chatwoot/{instanceId}`).
pub fn ack_frame(sequence: u64) -> String {
    json!({"type": "ack", "sequence": sequence}).to_string()
}

/// Parses a built event into its envelope.
pub fn envelope(event: Value) -> EventEnvelope {
    serde_json::from_value(event).expect("built events are valid envelopes")
}
