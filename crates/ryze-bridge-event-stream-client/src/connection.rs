//! The task that owns one open stream's socket: it forwards the API's frames to the
//! session as [`StreamItem`]s, sends the session's acknowledgements (only the highest of
//! those waiting), pings every heartbeat, gives up on a silent API, and closes the socket
//! when the stream ends or the session lets go of the connection.
//!
//! The task never outlives its connection: it ends when the socket closes, when it breaks,
//! or when the session has dropped both halves of the [`EventStreamConnection`].
//!
//! [`EventStreamConnection`]: ryze_ports::EventStreamConnection

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use ryze_ports::{EventSequence, EventStreamError, StreamItem, StreamedEvent};
use tokio::sync::mpsc;
use tokio::time::{interval_at, sleep, timeout, Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use crate::close_codes::{describe_close, CLOSE_INTEGRATION_ENDED, CLOSE_REPLACED};
use crate::frames::{ack_frame_text, parse_server_frame, ServerFrame};
use crate::handshake::{format_duration, shorten, StreamSocket};
use crate::redaction::Redactor;

pub(crate) type ItemSender = mpsc::Sender<Result<StreamItem, EventStreamError>>;

/// Longest wait for the last frames of a close (ours sent, the API's reply read).
const CLOSING_TIMEOUT: Duration = Duration::from_secs(5);
/// A WebSocket close reason holds at most 123 bytes.
const CLOSE_REASON_LIMIT: usize = 120;

/// One connection's task, ready to run.
pub(crate) struct ConnectionTask {
    pub socket: StreamSocket,
    pub items: ItemSender,
    pub acknowledgements: mpsc::UnboundedReceiver<EventSequence>,
    /// Every event at or below this was delivered or reported dropped: the next event
    /// must be above it.
    pub delivered_up_to: u64,
    /// The highest acknowledgement the API has (from `hello`, then sent by us).
    pub acknowledged: u64,
    pub heartbeat_interval: Duration,
    pub silence_timeout: Duration,
    pub redactor: Redactor,
}

/// How the pump ended.
enum Ending {
    /// The API closed with 1000: the stream ends cleanly.
    IntegrationEnded,
    /// The connection cannot go on; the error is the session's last item. When the close
    /// frame is set, this side sends it.
    Broken {
        error: EventStreamError,
        close: Option<CloseFrame>,
    },
    /// The session dropped both halves of the connection.
    Abandoned,
}

/// What woke the task up.
enum Wake {
    Acknowledgement(Option<EventSequence>),
    Delivered,
    ItemsClosed,
    Heartbeat,
    Message(Option<Result<Message, tokio_tungstenite::tungstenite::Error>>),
    Silence,
}

/// What one frame from the API asks of the task.
enum FrameOutcome {
    Deliver(StreamItem),
    Nothing,
    End(Ending),
}

impl ConnectionTask {
    pub(crate) async fn run(mut self) {
        let ending = self.pump().await;
        let ConnectionTask {
            mut socket, items, ..
        } = self;
        match ending {
            Ending::IntegrationEnded => {
                tracing::info!("the API ended the integration's event stream (close 1000)");
                // Sends the reply to the API's close frame.
                let _ = timeout(CLOSING_TIMEOUT, socket.close(None)).await;
                drop(socket);
                // Dropping the sender ends the session's items with `None`.
                drop(items);
            }
            Ending::Broken { error, close } => {
                tracing::warn!(%error, "the event stream ended");
                let _ = timeout(CLOSING_TIMEOUT, socket.close(close)).await;
                drop(socket);
                // Waits for room only while the session still holds the receiver.
                let _ = items.send(Err(error)).await;
            }
            Ending::Abandoned => {
                tracing::debug!("the session let go of the event stream; closing it");
                let goodbye = CloseFrame {
                    code: CloseCode::Normal,
                    reason: "the bridge closed the connection".into(),
                };
                let _ = timeout(CLOSING_TIMEOUT, async {
                    if socket.close(Some(goodbye)).await.is_ok() {
                        // Reads until the API's reply ends the connection.
                        while let Some(Ok(_)) = socket.next().await {}
                    }
                })
                .await;
            }
        }
    }

    async fn pump(&mut self) -> Ending {
        let mut pending: Option<StreamItem> = None;
        let mut items_open = true;
        let mut acknowledgements_open = true;

        let mut heartbeat = interval_at(
            Instant::now() + self.heartbeat_interval,
            self.heartbeat_interval,
        );
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let silence = sleep(self.silence_timeout);
        tokio::pin!(silence);

        loop {
            if !items_open && !acknowledgements_open {
                return Ending::Abandoned;
            }
            // While an item waits for room in the session's channel, the socket is not
            // read: the API's window bounds what waits unread.
            let wake = tokio::select! {
                biased;

                acknowledgement = self.acknowledgements.recv(), if acknowledgements_open => {
                    Wake::Acknowledgement(acknowledgement)
                }
                permit = self.items.reserve(), if pending.is_some() => match permit {
                    Ok(permit) => {
                        if let Some(item) = pending.take() {
                            permit.send(Ok(item));
                        }
                        Wake::Delivered
                    }
                    Err(_) => Wake::ItemsClosed,
                },
                () = self.items.closed(), if items_open && pending.is_none() => Wake::ItemsClosed,
                _ = heartbeat.tick() => Wake::Heartbeat,
                message = self.socket.next(), if pending.is_none() => Wake::Message(message),
                () = &mut silence, if pending.is_none() => Wake::Silence,
            };
            match wake {
                Wake::Acknowledgement(None) => acknowledgements_open = false,
                Wake::Acknowledgement(Some(first)) => {
                    if let Err(ending) = self.acknowledge_highest(first).await {
                        return ending;
                    }
                }
                Wake::Delivered => {
                    // Reading was paused while the session caught up: the API's frames
                    // waited unread, so the silence starts over.
                    silence
                        .as_mut()
                        .reset(Instant::now() + self.silence_timeout);
                }
                Wake::ItemsClosed => {
                    items_open = false;
                    pending = None;
                }
                Wake::Heartbeat => {
                    if let Err(ending) = self.send(Message::Ping(Default::default())).await {
                        return ending;
                    }
                }
                Wake::Message(message) => {
                    silence
                        .as_mut()
                        .reset(Instant::now() + self.silence_timeout);
                    match self.on_message(message) {
                        FrameOutcome::Deliver(item) => {
                            if items_open {
                                pending = Some(item);
                            }
                        }
                        FrameOutcome::Nothing => {}
                        FrameOutcome::End(ending) => return ending,
                    }
                }
                Wake::Silence => {
                    let silence = format_duration(self.silence_timeout);
                    return Ending::Broken {
                        error: EventStreamError::Unavailable {
                            detail: format!(
                                "no frame from the API for {silence}; it is considered dead"
                            ),
                        },
                        close: Some(CloseFrame {
                            code: CloseCode::Away,
                            reason: "no frame received within the silence timeout".into(),
                        }),
                    };
                }
            }
        }
    }

    /// Sends the highest of `first` and every acknowledgement already waiting, when it
    /// is above what the API already has.
    async fn acknowledge_highest(&mut self, first: EventSequence) -> Result<(), Ending> {
        let mut highest = first.get();
        while let Ok(next) = self.acknowledgements.try_recv() {
            highest = highest.max(next.get());
        }
        if highest <= self.acknowledged {
            return Ok(());
        }
        self.send(Message::text(ack_frame_text(highest))).await?;
        tracing::debug!(sequence = highest, "acknowledged");
        self.acknowledged = highest;
        Ok(())
    }

    async fn send(&mut self, message: Message) -> Result<(), Ending> {
        let written = timeout(self.silence_timeout, self.socket.send(message)).await;
        let detail = match written {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(error)) => format!("cannot write to the API: {error}"),
            Err(_) => format!(
                "the API took no frame for {}",
                format_duration(self.silence_timeout)
            ),
        };
        Err(Ending::Broken {
            error: EventStreamError::Unavailable {
                detail: self.redactor.redact(&detail),
            },
            close: None,
        })
    }

    fn on_message(
        &mut self,
        message: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    ) -> FrameOutcome {
        let message = match message {
            None => return self.unavailable("the API closed the connection without a close frame"),
            Some(Err(error)) => {
                return self.unavailable(&format!("the connection to the API broke: {error}"))
            }
            Some(Ok(message)) => message,
        };
        match message {
            Message::Text(text) => self.on_text(text.as_str()),
            Message::Binary(_) => {
                self.protocol_error("the API sent a binary frame; every frame is JSON text")
            }
            Message::Close(frame) => {
                let code = frame.as_ref().map(|frame| u16::from(frame.code));
                if code == Some(CLOSE_INTEGRATION_ENDED) {
                    FrameOutcome::End(Ending::IntegrationEnded)
                } else if code == Some(CLOSE_REPLACED) {
                    FrameOutcome::End(Ending::Broken {
                        error: EventStreamError::Replaced,
                        close: None,
                    })
                } else {
                    // The library answers the close frame; nothing to send.
                    self.unavailable(&describe_close(frame.as_ref()))
                }
            }
            // Signs of life; the library answers pings.
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => FrameOutcome::Nothing,
        }
    }

    fn on_text(&mut self, text: &str) -> FrameOutcome {
        let frame = match parse_server_frame(text) {
            Ok(frame) => frame,
            Err(detail) => return self.protocol_error(&detail),
        };
        match frame {
            ServerFrame::Event {
                sequence,
                received_at,
                traceparent,
                envelope,
            } => {
                if sequence <= self.delivered_up_to {
                    return self.protocol_error(&format!(
                        "event sequence {sequence} does not follow {}",
                        self.delivered_up_to
                    ));
                }
                if sequence > self.delivered_up_to + 1 {
                    tracing::warn!(
                        sequence,
                        previous = self.delivered_up_to,
                        "the API skipped sequences without a dropped frame"
                    );
                }
                self.delivered_up_to = sequence;
                FrameOutcome::Deliver(StreamItem::Event(StreamedEvent {
                    sequence: EventSequence::new(sequence),
                    envelope: envelope.as_bytes().to_vec(),
                    received_at,
                    traceparent,
                }))
            }
            ServerFrame::Dropped { up_to } => {
                if up_to <= self.delivered_up_to {
                    // Already reported (from `hello`), or about events already delivered.
                    tracing::debug!(up_to, "ignoring a dropped frame already accounted for");
                    return FrameOutcome::Nothing;
                }
                self.delivered_up_to = up_to;
                FrameOutcome::Deliver(StreamItem::EventsDropped {
                    up_to: EventSequence::new(up_to),
                })
            }
            ServerFrame::Hello(_) => self.protocol_error("the API sent a second hello frame"),
            ServerFrame::Unknown { kind } => {
                tracing::warn!(kind = %shorten(&kind, 40), "ignoring a frame of an unknown type");
                FrameOutcome::Nothing
            }
        }
    }

    fn unavailable(&self, detail: &str) -> FrameOutcome {
        FrameOutcome::End(Ending::Broken {
            error: EventStreamError::Unavailable {
                detail: self.redactor.redact(detail),
            },
            close: None,
        })
    }

    fn protocol_error(&self, detail: &str) -> FrameOutcome {
        let detail = self.redactor.redact(detail);
        let reason = shorten(&detail, CLOSE_REASON_LIMIT - '…'.len_utf8());
        FrameOutcome::End(Ending::Broken {
            error: EventStreamError::Protocol { detail },
            close: Some(CloseFrame {
                code: CloseCode::Policy,
                reason: reason.into(),
            }),
        })
    }
}
