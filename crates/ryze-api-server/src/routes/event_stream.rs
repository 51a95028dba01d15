//! `GET /ws/chatwoot/{instanceId}`: the bridge's WebSocket to an instance's events,
//! framed as `docs/event-stream.md` says: `hello`, then `event` and `dropped` frames down,
//! cumulative `ack` frames up, at most `window` events in flight, heartbeats both ways,
//! one connection per instance.
//!
//! Authenticated by `BRIDGE_TOKEN`, as `Authorization: Bearer` only (a `?token=` query
//! parameter is not read: query strings end up in proxies' logs). Events are pushed as soon as the ingest use case
//! wakes the stream up, and the store is polled as well so events appended by another
//! API process arrive too.

use ryze_domain::cut_on_char_boundary;
use std::collections::VecDeque;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{CloseCode, CloseReason, Message, MessageStream, Session};
use chrono::{DateTime, Utc};
use ryze_api_use_cases::{
    OpenedStream, StreamAcknowledgeError, StreamEnd, StreamSession, StreamSignal, StreamSignals,
};
use ryze_ports::{EventSequence, HubCursor, HubEvent, RelayMetrics};
use serde::{Deserialize, Serialize};
use tokio::time::{interval_at, sleep_until, Instant, MissedTickBehavior};

use crate::error_status::HttpStatus;
use crate::event_hub::{require_bearer, EventStreamSettings};
use crate::{ApiError, ApiState};

/// Without `BRIDGE_TOKEN` (or without an event hub) the stream does not exist.
pub const STREAM_NOT_AVAILABLE: &str = "event stream not available: no bridge is configured";

/// Close codes of `docs/event-stream.md`.
pub const CLOSE_INTEGRATION_ENDED: u16 = 1000;
pub const CLOSE_GOING_AWAY: u16 = 1001;
pub const CLOSE_PROTOCOL_ERROR: u16 = 1008;
pub const CLOSE_INTERNAL_ERROR: u16 = 1011;
pub const CLOSE_REPLACED: u16 = 4409;

/// Longest close reason a WebSocket close frame can carry, in bytes.
const CLOSE_REASON_MAX_BYTES: usize = 123;

/// Largest frame accepted from the bridge (acks are a few dozen bytes).
const MAX_INCOMING_FRAME_BYTES: usize = 4 * 1024;

pub(crate) fn configure(config: &mut web::ServiceConfig) {
    config.route("/ws/chatwoot/{instance_id}", web::get().to(open));
}

async fn open(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<ApiState>,
    instance_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let not_available = || ApiError::new(StatusCode::NOT_FOUND, STREAM_NOT_AVAILABLE);
    let expected = state
        .event_hub
        .bridge_token
        .as_ref()
        .ok_or_else(not_available)?;
    let hub = state.control_plane.event_hub().ok_or_else(not_available)?;
    require_bearer(request.headers(), expected)?;

    // The handshake is checked before the stream opens: opening replaces the instance's
    // current connection, which a request that cannot upgrade must not do.
    let (response, session, messages) = actix_ws::handle(&request, payload).map_err(|error| {
        // The handshake error's own response carries its status (its `status_code()`
        // is the generic 500).
        let status = error.error_response().status();
        ApiError::new(status, format!("expected a WebSocket upgrade: {error}"))
    })?;
    let opened = hub
        .open_stream(&instance_id)
        .await
        .map_err(HttpStatus::into_api_error)?;
    let settings = state.event_hub.stream;
    let metrics = state.relay_metrics.clone();
    actix_web::rt::spawn(async move {
        let messages = messages.max_frame_size(MAX_INCOMING_FRAME_BYTES);
        run_connection(opened, session, messages, settings, metrics).await;
    });
    Ok(response)
}

// ------------------------------------------------------------------------------ frames

/// Frames the API sends.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
enum OutgoingFrame<'a> {
    #[serde(rename_all = "camelCase")]
    Hello {
        instance_id: &'a str,
        acknowledged: u64,
        last_appended: u64,
        dropped_up_to: Option<u64>,
        heartbeat_seconds: u64,
        window: usize,
    },
    #[serde(rename_all = "camelCase")]
    Dropped { up_to: u64 },
}

/// Frames the bridge sends.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
enum IncomingFrame {
    Ack { sequence: u64 },
}

/// `{"type":"event","sequence":n,"receivedAt":"<RFC 3339>","traceparent":"…","event":<stored
/// envelope>}` (`traceparent` only when the ingest recorded one); the stored bytes are the
/// JSON the API wrote at ingest, spliced in as they are.
fn event_frame(event: &HubEvent) -> String {
    let envelope = String::from_utf8_lossy(&event.payload);
    let traceparent = event
        .traceparent
        .as_deref()
        .map(|traceparent| {
            // A JSON string, escaped whatever the stored text holds.
            format!(r#""traceparent":{},"#, serde_json::Value::from(traceparent))
        })
        .unwrap_or_default();
    format!(
        r#"{{"type":"event","sequence":{},"receivedAt":"{}",{traceparent}"event":{}}}"#,
        event.sequence.get(),
        event
            .received_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        envelope
    )
}

fn encode(frame: &OutgoingFrame<'_>) -> String {
    // Serializing these plain structs cannot fail.
    serde_json::to_string(frame).unwrap_or_default()
}

// ------------------------------------------------------------------------------ session

/// Why the connection ends; `Some` close frame to send, or none when the peer is gone.
struct Ending {
    close: Option<CloseReason>,
    why: String,
}

impl Ending {
    fn close(code: u16, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        Self {
            close: Some(CloseReason {
                code: CloseCode::from(code),
                description: Some(cut_on_char_boundary(&reason, CLOSE_REASON_MAX_BYTES).to_owned()),
            }),
            why: reason,
        }
    }

    fn gone(why: impl Into<String>) -> Self {
        Self {
            close: None,
            why: why.into(),
        }
    }
}

struct Connection {
    socket: Session,
    stream: StreamSession,
    settings: EventStreamSettings,
    /// The last sequence sent (an `event`, or the `upTo` of a `dropped`).
    last_sent: u64,
    /// The last sequence acknowledged.
    acknowledged: u64,
    /// Sequences sent and not yet acknowledged, oldest first, with when the API
    /// received each.
    in_flight: VecDeque<(u64, DateTime<Utc>)>,
    /// Where the delivery latency of each acknowledged event goes.
    metrics: Arc<dyn RelayMetrics>,
}

async fn run_connection(
    opened: OpenedStream,
    socket: Session,
    mut messages: MessageStream,
    settings: EventStreamSettings,
    metrics: Arc<dyn RelayMetrics>,
) {
    let OpenedStream {
        session: stream,
        mut signals,
        cursor,
    } = opened;
    let instance_id = stream.instance_id().clone();
    let mut connection = Connection {
        socket,
        stream,
        settings,
        last_sent: cursor.acknowledged.get(),
        acknowledged: cursor.acknowledged.get(),
        in_flight: VecDeque::new(),
        metrics,
    };
    let ending = connection.serve(&mut signals, &mut messages, cursor).await;
    let Connection { socket, stream, .. } = connection;
    // Unregister before closing, so a replacing connection is not ended by this one.
    drop(stream);
    tracing::info!(instance_id = %instance_id, code = ?ending.close.as_ref().map(|close| u16::from(close.code)), reason = %ending.why, "event stream closed");
    if let Some(close) = ending.close {
        let _ignored_if_gone = socket.close(Some(close)).await;
    }
}

impl Connection {
    /// Sends a text frame. A bridge that stops reading fills the socket's buffers; one
    /// that takes no frame for `peer_timeout` is treated as dead.
    async fn send(&mut self, text: String) -> Result<(), Ending> {
        let peer_timeout = self.settings.peer_timeout;
        match tokio::time::timeout(peer_timeout, self.socket.text(text)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_closed)) => Err(Ending::gone("the connection closed")),
            Err(_elapsed) => Err(Ending::gone(format!(
                "the bridge took no frame for {}s",
                peer_timeout.as_secs_f64()
            ))),
        }
    }

    async fn serve(
        &mut self,
        signals: &mut StreamSignals,
        messages: &mut MessageStream,
        cursor: HubCursor,
    ) -> Ending {
        match self.greet(cursor).await {
            Ok(()) => {}
            Err(ending) => return ending,
        }
        let settings = self.settings;
        let start = Instant::now();
        let mut heartbeat = interval_at(
            start + settings.heartbeat_interval,
            settings.heartbeat_interval,
        );
        let mut poll = interval_at(start + settings.poll_interval, settings.poll_interval);
        let mut integration_check = interval_at(
            start + settings.integration_check_interval,
            settings.integration_check_interval,
        );
        for timer in [&mut heartbeat, &mut poll, &mut integration_check] {
            timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
        }
        let mut last_heard = Instant::now();
        let mut deliver = true;
        loop {
            if deliver {
                if let Err(ending) = self.deliver().await {
                    return ending;
                }
                deliver = false;
            }
            // Frames from the bridge first: an ack already received is recorded before
            // a replacement or an end closes the connection.
            tokio::select! {
                biased;
                message = messages.recv() => {
                    last_heard = Instant::now();
                    match self.on_message(message).await {
                        Ok(progress) => deliver = progress,
                        Err(ending) => return ending,
                    }
                }
                signal = signals.next() => match signal {
                    StreamSignal::NewEvents => deliver = true,
                    StreamSignal::Ended(StreamEnd::Replaced) => {
                        return Ending::close(CLOSE_REPLACED, "replaced by a newer connection");
                    }
                    StreamSignal::Ended(StreamEnd::IntegrationEnded) => {
                        return Ending::close(CLOSE_INTEGRATION_ENDED, "the chatwoot integration ended");
                    }
                },
                _ = poll.tick() => deliver = true,
                _ = heartbeat.tick() => {
                    match tokio::time::timeout(settings.peer_timeout, self.socket.ping(b"")).await {
                        Ok(Ok(())) => {}
                        Ok(Err(_closed)) => return Ending::gone("the connection closed"),
                        Err(_elapsed) => return Ending::gone("the bridge took no frame in time"),
                    }
                }
                _ = integration_check.tick() => match self.stream.integration_still_active().await {
                    Ok(true) => {}
                    Ok(false) => {
                        return Ending::close(CLOSE_INTEGRATION_ENDED, "the chatwoot integration ended");
                    }
                    Err(error) => {
                        tracing::warn!(instance_id = %self.stream.instance_id(), error = %error, "could not check the integration; will check again");
                    }
                },
                () = sleep_until(last_heard + settings.peer_timeout) => {
                    return Ending::close(
                        CLOSE_GOING_AWAY,
                        format!("nothing received from the bridge for {}s", settings.peer_timeout.as_secs_f64()),
                    );
                }
            }
        }
    }

    /// `hello`, then `dropped` when retention dropped events after the acknowledged one.
    async fn greet(&mut self, cursor: HubCursor) -> Result<(), Ending> {
        let instance_id = self.stream.instance_id().as_str().to_owned();
        let heartbeat = self.settings.heartbeat_interval;
        let heartbeat_seconds = heartbeat.as_secs() + u64::from(heartbeat.subsec_nanos() > 0);
        let hello = encode(&OutgoingFrame::Hello {
            instance_id: &instance_id,
            acknowledged: cursor.acknowledged.get(),
            last_appended: cursor.last_appended.get(),
            dropped_up_to: cursor.dropped_up_to.map(EventSequence::get),
            heartbeat_seconds: heartbeat_seconds.max(1),
            window: self.settings.window,
        });
        self.send(hello).await?;
        if let Some(dropped) = cursor.dropped_up_to {
            if dropped.get() > self.last_sent {
                self.send_dropped(dropped.get()).await?;
            }
        }
        Ok(())
    }

    async fn send_dropped(&mut self, up_to: u64) -> Result<(), Ending> {
        self.send(encode(&OutgoingFrame::Dropped { up_to })).await?;
        self.last_sent = up_to;
        Ok(())
    }

    /// Sends stored events until the window is full or none is left. A store failure is
    /// logged and retried at the next poll.
    async fn deliver(&mut self) -> Result<(), Ending> {
        let window = self.settings.window;
        while self.in_flight.len() < window {
            let limit = (window - self.in_flight.len()).min(self.settings.batch_size.max(1));
            let events = match self
                .stream
                .events_after(EventSequence::new(self.last_sent), limit)
                .await
            {
                Ok(events) => events,
                Err(error) => {
                    tracing::warn!(instance_id = %self.stream.instance_id(), error = %error, "could not read the event hub; will try again");
                    return Ok(());
                }
            };
            let read = events.len();
            for event in events {
                let sequence = event.sequence.get();
                if sequence <= self.last_sent {
                    continue;
                }
                if sequence > self.last_sent + 1 {
                    // Retention removed the events in between before they were sent.
                    self.send_dropped(sequence - 1).await?;
                }
                self.send(event_frame(&event)).await?;
                self.last_sent = sequence;
                self.in_flight.push_back((sequence, event.received_at));
            }
            if read < limit {
                break;
            }
        }
        Ok(())
    }

    /// Handles one frame from the bridge; `Ok(true)` when more events may now be sent.
    async fn on_message(
        &mut self,
        message: Option<Result<Message, actix_ws::ProtocolError>>,
    ) -> Result<bool, Ending> {
        match message {
            None => Err(Ending::gone("the bridge went away")),
            Some(Err(error)) => Err(Ending::close(
                CLOSE_PROTOCOL_ERROR,
                format!("unreadable frame: {error}"),
            )),
            Some(Ok(Message::Text(text))) => self.on_text(&text).await,
            Some(Ok(Message::Ping(bytes))) => {
                match tokio::time::timeout(self.settings.peer_timeout, self.socket.pong(&bytes))
                    .await
                {
                    Ok(Ok(())) => Ok(false),
                    Ok(Err(_closed)) => Err(Ending::gone("the connection closed")),
                    Err(_elapsed) => Err(Ending::gone("the bridge took no frame in time")),
                }
            }
            Some(Ok(Message::Pong(_) | Message::Nop)) => Ok(false),
            Some(Ok(Message::Close(_))) => {
                Err(Ending::close(CLOSE_GOING_AWAY, "closed by the bridge"))
            }
            Some(Ok(Message::Binary(_) | Message::Continuation(_))) => Err(Ending::close(
                CLOSE_PROTOCOL_ERROR,
                "only text frames holding one JSON object are accepted",
            )),
        }
    }

    async fn on_text(&mut self, text: &str) -> Result<bool, Ending> {
        let IncomingFrame::Ack { sequence } = serde_json::from_str(text).map_err(|error| {
            Ending::close(CLOSE_PROTOCOL_ERROR, format!("unreadable frame: {error}"))
        })?;
        if sequence <= self.acknowledged {
            return Ok(false);
        }
        if sequence > self.last_sent {
            return Err(Ending::close(
                CLOSE_PROTOCOL_ERROR,
                format!(
                    "ack of event {sequence} beyond the last event sent ({})",
                    self.last_sent
                ),
            ));
        }
        match self.stream.acknowledge(EventSequence::new(sequence)).await {
            Ok(_outcome) => {
                self.acknowledged = sequence;
                let now = Utc::now();
                while let Some(&(in_flight, received_at)) = self.in_flight.front() {
                    if in_flight > sequence {
                        break;
                    }
                    self.in_flight.pop_front();
                    let latency = now.signed_duration_since(received_at);
                    self.metrics
                        .event_acknowledged(latency.to_std().unwrap_or_default());
                }
                Ok(true)
            }
            Err(StreamAcknowledgeError::BeyondLastAppended { .. }) => Err(Ending::close(
                CLOSE_PROTOCOL_ERROR,
                format!("ack of event {sequence} beyond the last event appended"),
            )),
            Err(StreamAcknowledgeError::Store(error)) => {
                tracing::error!(instance_id = %self.stream.instance_id(), error = %error, "could not record an acknowledgement; closing so the bridge resumes after the last recorded one");
                Err(Ending::close(
                    CLOSE_INTERNAL_ERROR,
                    "the event hub could not record the acknowledgement; reconnect",
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    #[test]
    fn frames_have_the_documented_shapes() {
        let hello: serde_json::Value = serde_json::from_str(&encode(&OutgoingFrame::Hello {
            instance_id: "ins_1",
            acknowledged: 41,
            last_appended: 57,
            dropped_up_to: None,
            heartbeat_seconds: 15,
            window: 1000,
        }))
        .unwrap();
        assert_eq!(
            hello,
            serde_json::json!({"type": "hello", "instanceId": "ins_1", "acknowledged": 41,
                "lastAppended": 57, "droppedUpTo": null, "heartbeatSeconds": 15, "window": 1000})
        );
        assert_eq!(
            encode(&OutgoingFrame::Dropped { up_to: 50 }),
            r#"{"type":"dropped","upTo":50}"#
        );
        let event = HubEvent {
            sequence: EventSequence::new(42),
            kind: "instance.state".into(),
            payload: br#"{"event":"instance.state","data":{}}"#.to_vec(),
            received_at: chrono::DateTime::parse_from_rfc3339("2026-03-01T12:00:00.250Z")
                .unwrap()
                .with_timezone(&Utc),
            traceparent: None,
        };
        let frame: serde_json::Value = serde_json::from_str(&event_frame(&event)).unwrap();
        assert_eq!(
            frame,
            serde_json::json!({"type": "event", "sequence": 42,
                "receivedAt": "2026-03-01T12:00:00.250Z",
                "event": {"event": "instance.state", "data": {}}})
        );
        let traced = HubEvent {
            traceparent: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into()),
            ..event
        };
        let frame: serde_json::Value = serde_json::from_str(&event_frame(&traced)).unwrap();
        assert_eq!(
            frame,
            serde_json::json!({"type": "event", "sequence": 42,
                "receivedAt": "2026-03-01T12:00:00.250Z",
                "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                "event": {"event": "instance.state", "data": {}}})
        );
        assert!(matches!(
            serde_json::from_str::<IncomingFrame>(r#"{"type":"ack","sequence":7}"#),
            Ok(IncomingFrame::Ack { sequence: 7 })
        ));
        assert!(serde_json::from_str::<IncomingFrame>(r#"{"type":"nack"}"#).is_err());
    }

    #[test]
    fn close_reasons_fit_a_close_frame() {
        let long = "é".repeat(100);
        let short = cut_on_char_boundary(&long, CLOSE_REASON_MAX_BYTES);
        assert!(short.len() <= CLOSE_REASON_MAX_BYTES);
        assert!(long.starts_with(short));
        assert_eq!(cut_on_char_boundary("fine", 10), "fine");
    }
}
