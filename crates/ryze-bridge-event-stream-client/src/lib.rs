//! The bridge's client of the API's internal event stream (`GET /ws/chatwoot/{instanceId}`,
//! docs/event-stream.md), implementing the [`ryze_ports::EventStreamConnector`] port over
//! tokio-tungstenite.
//!
//! `EventStreamClient::connect` authenticates with the bridge token, reads the API's
//! `hello` and hands the socket to a task of its own, which delivers events in sequence
//! order (their envelopes byte for byte), sends the session's acknowledgements, keeps the
//! heartbeat, and closes the socket when the session drops the connection.

mod client;
mod close_codes;
mod connection;
mod frames;
mod handshake;
mod redaction;
mod settings;

pub use client::EventStreamClient;
pub use close_codes::{
    CLOSE_INTEGRATION_ENDED, CLOSE_PROTOCOL_ERROR, CLOSE_REPLACED, CLOSE_SHUTTING_DOWN,
    REPLACED_DETAIL_PREFIX,
};
pub use settings::{
    EventStreamClientBuildError, EventStreamClientSettings, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_SILENCE_TIMEOUT,
};
