//! The bridge's client of the API's message endpoints (docs/contract.md §6, `docs/api.md`
//! "Messages"): the [`WhatsAppSender`](ryze_ports::WhatsAppSender) port over HTTP.
//!
//! Each command is `POST {API_URL}/api/message/text|media|reaction/{instanceId}` or
//! `POST {API_URL}/api/chat/edit|delete|markRead/{instanceId}` with the same JSON body the
//! port's command serializes to (the API's field names), and `download_media` is
//! `GET {API_URL}/api/chat/base64/{instanceId}?messageId=…`. Every request carries
//! `Authorization: Bearer <BRIDGE_TOKEN>` (the API's bridge principal: any instance, by
//! its id, not rate limited) and runs under a connect timeout and an overall timeout.
//!
//! The API's answers become [`SendError`](ryze_ports::SendError) by status and message:
//! 503 is `NotConnected` (or `RateLimited` when the API says WhatsApp is throttling),
//! 404 `message not found` / `media no longer available` are `MessageNotFound` /
//! `MediaGone` (any other 404, such as `instance not found`, is `NotConnected`), 400 is
//! `InvalidRequest` with the API's message, 413 `MediaTooLarge`, 429 `RateLimited`,
//! 502 and other failures `WhatsAppFailed`; an API that cannot be reached (refused,
//! DNS, timeout) is `NotConnected`, and so is one refusing the token, which is also
//! logged as an error. The token never appears in an error, a `Debug` output or a log
//! line: texts taken from the API's answers are scrubbed of it.

mod answers;
mod client;
mod settings;

pub use client::ApiMessageClient;
pub use settings::{
    ApiMessageClientBuildError, ApiMessageClientSettings, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_DOWNLOAD_BYTES, DEFAULT_REQUEST_TIMEOUT,
};
