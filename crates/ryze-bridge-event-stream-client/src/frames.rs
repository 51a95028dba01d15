//! The JSON frames of docs/event-stream.md: the API's `hello`, `event` and `dropped`, and
//! the bridge's `ack`. Every frame is one JSON object in a text frame, told apart by
//! `type`.
//!
//! An `event` frame is parsed in two steps (its `type` first, then its fields) so that
//! the envelope can be kept as the exact bytes the API sent, through
//! [`serde_json::value::RawValue`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// A frame the API sent, with the envelope of an event borrowed from the frame's text.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ServerFrame<'a> {
    Hello(HelloFrame),
    Event {
        sequence: u64,
        /// When the API received the event (absent from older APIs).
        received_at: Option<DateTime<Utc>>,
        /// The W3C `traceparent` of the API's ingest (absent when the API exported no
        /// trace, and from older APIs).
        traceparent: Option<String>,
        envelope: &'a str,
    },
    Dropped {
        up_to: u64,
    },
    /// A `type` this client does not know: ignored, so the API can add frames later.
    Unknown {
        kind: String,
    },
}

/// The API's first frame.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HelloFrame {
    pub instance_id: String,
    /// Delivery resumes right after this sequence.
    pub acknowledged: u64,
    #[serde(default)]
    pub last_appended: u64,
    /// When set above `acknowledged`, events up to it were dropped before delivery.
    #[serde(default)]
    pub dropped_up_to: Option<u64>,
    #[serde(default)]
    pub heartbeat_seconds: Option<u64>,
    /// At most this many events are sent and not yet acknowledged.
    pub window: u64,
}

#[derive(Deserialize)]
struct FrameKind<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
}

#[derive(Deserialize)]
struct EventFrame<'a> {
    sequence: u64,
    #[serde(default, rename = "receivedAt")]
    received_at: Option<DateTime<Utc>>,
    #[serde(default)]
    traceparent: Option<String>,
    #[serde(borrow)]
    event: &'a RawValue,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DroppedFrame {
    up_to: u64,
}

/// Reads one text frame of the API. The error says what is wrong, in words.
pub(crate) fn parse_server_frame(text: &str) -> Result<ServerFrame<'_>, String> {
    let FrameKind { kind } = serde_json::from_str(text)
        .map_err(|error| format!("a frame is not a JSON object with a type: {error}"))?;
    match kind.as_ref() {
        "hello" => serde_json::from_str::<HelloFrame>(text)
            .map(ServerFrame::Hello)
            .map_err(|error| format!("unreadable hello frame: {error}")),
        "event" => {
            let frame: EventFrame<'_> = serde_json::from_str(text)
                .map_err(|error| format!("unreadable event frame: {error}"))?;
            let envelope = frame.event.get();
            if !envelope.starts_with('{') {
                return Err(format!(
                    "the event of sequence {} is not a JSON object",
                    frame.sequence
                ));
            }
            Ok(ServerFrame::Event {
                sequence: frame.sequence,
                received_at: frame.received_at,
                traceparent: frame.traceparent,
                envelope,
            })
        }
        "dropped" => serde_json::from_str::<DroppedFrame>(text)
            .map(|frame| ServerFrame::Dropped { up_to: frame.up_to })
            .map_err(|error| format!("unreadable dropped frame: {error}")),
        other => Ok(ServerFrame::Unknown {
            kind: other.to_owned(),
        }),
    }
}

/// The bridge's cumulative acknowledgement.
#[derive(Debug, Serialize)]
struct AckFrame {
    #[serde(rename = "type")]
    kind: &'static str,
    sequence: u64,
}

/// `{"type":"ack","sequence":n}`.
pub(crate) fn ack_frame_text(sequence: u64) -> String {
    // Serializing a struct of a static string and an integer cannot fail; the fallback
    // writes the same text by hand.
    serde_json::to_string(&AckFrame {
        kind: "ack",
        sequence,
    })
    .unwrap_or_else(|_| format!(r#"{{"type":"ack","sequence":{sequence}}}"#))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_hello() {
        let text = r#"{"type": "hello", "instanceId": "ins_01J9Z8Y7X6W5V4", "acknowledged": 41, "lastAppended": 57, "droppedUpTo": null, "heartbeatSeconds": 15, "window": 1000}"#;
        assert_eq!(
            parse_server_frame(text),
            Ok(ServerFrame::Hello(HelloFrame {
                instance_id: "ins_01J9Z8Y7X6W5V4".into(),
                acknowledged: 41,
                last_appended: 57,
                dropped_up_to: None,
                heartbeat_seconds: Some(15),
                window: 1000,
            }))
        );
    }

    #[test]
    fn keeps_the_exact_bytes_of_an_event_envelope() {
        let envelope = r#"{"event": "message.exchange", "data": {"z": 1, "a": [1,  2]}, "instanceData": {"baseUrl": "https://api.example.com", "instance": "suporte"}}"#;
        let text = format!(r#"{{"type": "event", "sequence": 42, "event": {envelope}}}"#);
        assert_eq!(
            parse_server_frame(&text),
            Ok(ServerFrame::Event {
                sequence: 42,
                received_at: None,
                traceparent: None,
                envelope
            })
        );
        let text = format!(
            r#"{{"type": "event", "sequence": 43, "receivedAt": "2026-03-01T12:00:00.250Z", "event": {envelope}}}"#
        );
        let Ok(ServerFrame::Event { received_at, .. }) = parse_server_frame(&text) else {
            panic!("not an event frame");
        };
        assert_eq!(
            received_at.map(|at| at.timestamp_millis()),
            Some(1_772_366_400_250)
        );
        let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let text = format!(
            r#"{{"type": "event", "sequence": 44, "traceparent": "{traceparent}", "event": {envelope}}}"#
        );
        assert_eq!(
            parse_server_frame(&text),
            Ok(ServerFrame::Event {
                sequence: 44,
                received_at: None,
                traceparent: Some(traceparent.to_owned()),
                envelope
            })
        );
    }

    #[test]
    fn reads_dropped_and_tolerates_unknown_types() {
        assert_eq!(
            parse_server_frame(r#"{"type": "dropped", "upTo": 50}"#),
            Ok(ServerFrame::Dropped { up_to: 50 })
        );
        assert_eq!(
            parse_server_frame(r#"{"type": "notice", "text": "hi"}"#),
            Ok(ServerFrame::Unknown {
                kind: "notice".into()
            })
        );
    }

    #[test]
    fn refuses_broken_frames() {
        assert!(parse_server_frame("not json").is_err());
        assert!(parse_server_frame(r#"{"sequence": 1}"#).is_err());
        assert!(parse_server_frame(r#"{"type": "event", "sequence": -1, "event": {}}"#).is_err());
        assert!(parse_server_frame(r#"{"type": "event", "sequence": 1, "event": "x"}"#).is_err());
        assert!(parse_server_frame(r#"{"type": "dropped"}"#).is_err());
    }

    #[test]
    fn writes_the_documented_ack() {
        assert_eq!(ack_frame_text(42), r#"{"type":"ack","sequence":42}"#);
    }
}
