//! A scriptable stand-in for the WhatsApp engine (`docs/engine-contract.md`), for tests,
//! demos and manual runs. Nothing in production depends on it.
//!
//! It plays both halves of the engine's side of the contract:
//!
//! - **Commands** (API → engine, §5): [`EngineSimulator::start`] serves
//!   `POST /v1/instances/{instanceId}/message/text|media|reaction`,
//!   `POST …/chat/edit|delete|markRead|presence|labels`,
//!   `POST …/instance/reconnect|logout` and `GET …/media/{messageId}` behind
//!   `Bearer ENGINE_TOKEN`, answering like an engine (receipts, the `id` of a repeated
//!   command answered with its first result and not sent again, the error answers of
//!   §5). The [`EngineSimulatorHandle`] records every command for tests
//!   ([`EngineSimulatorHandle::commands`], [`EngineSimulatorHandle::wait_for_commands`])
//!   and changes how the engine behaves: instances disconnected or unknown, the next
//!   commands failing with a code, numbers not on WhatsApp, media gone.
//! - **Events** (engine → API, §1–§4): [`script::EventScript`] builds realistic events
//!   (texts, every media kind, locations, contact cards, replies, reactions, edits,
//!   revokes, group messages, messages sent from the phone, receipts, connection
//!   changes and QR codes, calls, a contact typing, a chat's labels) as the contract's [`EventEnvelope`](ryze_ports::whatsapp_events::EventEnvelope),
//!   and [`EventPublisher`] delivers them to `POST /engine/v1/events` in order per
//!   instance, retrying as the contract says. With
//!   [`EngineSimulatorHandle::echo_sends_to`], the messages the API asks it to send
//!   come back as `outgoing` events, as with a real engine.
//!
//! The `engine-simulator` binary runs the command endpoints (`serve`) or publishes one
//! scripted event (`send`) from a shell.

mod echo;
mod engine;
mod http;
pub mod ids;
mod media_file;
mod media_library;
mod publisher;
mod records;
pub mod script;
mod server;

pub use echo::EchoedEvent;
pub use media_file::{mimetype_of_extension, sniff_mimetype, MediaFile};
pub use media_library::{MediaLibrary, StoredMedia};
pub use publisher::{
    EventPublisher, PublishAnswer, PublishError, PublisherBuildError, PublisherSettings,
    RetryPolicy,
};
pub use records::{
    status_of, CommandKind, CommandOutcome, EngineCommand, InjectedFailure, InstanceAvailability,
    ReceivedCommand, RejectedRequest,
};
pub use server::{
    EngineSimulator, EngineSimulatorHandle, EngineSimulatorSettings, StartError, WaitTimedOut,
};
