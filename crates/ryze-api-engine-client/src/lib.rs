//! The API's client of the WhatsApp engine (`docs/engine-contract.md` §5): the
//! [`WhatsAppSender`](ryze_ports::WhatsAppSender) port over HTTP.
//!
//! Each command is `POST {ENGINE_URL}/v1/instances/{instanceId}/message/text|media|reaction`
//! or `…/chat/edit|delete|markRead` with the contract's JSON body, and
//! `download_media` is `GET …/media/{messageId}`. Every request carries
//! `Authorization: Bearer <ENGINE_TOKEN>` and runs under a connect timeout and an
//! overall timeout (30 s by default, the contract's budget for media uploads).
//!
//! Answers become [`SendError`](ryze_ports::SendError) by the engine's error `code`, as
//! the table of §5 says; an unknown code, or a body that is not the engine's error
//! shape, is read by its HTTP status; an engine that cannot be reached (refused, DNS,
//! timeout) is `NotConnected`, and so is one refusing our token, which is also logged as
//! an error since an operator must fix the configuration. The token never appears in an
//! error, a `Debug` output or a log line: texts taken from the engine's answers are
//! scrubbed of it.

mod answers;
mod client;
mod settings;

pub use client::EngineClient;
pub use settings::{
    EngineClientBuildError, EngineClientSettings, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_DOWNLOAD_BYTES, DEFAULT_REQUEST_TIMEOUT,
};
