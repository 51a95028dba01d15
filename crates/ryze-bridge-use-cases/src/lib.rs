//! The bridge (RyzeIntegrations) seen from inside: the use cases behind its own API
//! (`docs/bridge-api.md`), written against ports only.
//!
//! [`Bridge::activate`] provisions an integration in Chatwoot: it checks the destination
//! with the outbound guard, finds the account's API inbox by name or creates it (never a
//! second one for the same account and name, even under concurrent calls), points its
//! webhook at a URL carrying an unguessable per-integration secret, and stores the
//! integration with both secrets sealed. [`Bridge::status`] and [`Bridge::deactivate`]
//! read and remove it; [`Bridge::authenticate_webhook`] checks a webhook's secret in
//! constant time.
//!
//! With [`Bridge::with_relay`], the bridge also runs one relay session per active
//! integration ([`sessions`]): a WebSocket to the API's event stream whose events the
//! [`inbound`] rules turn into Chatwoot contacts, conversations and messages.
//!
//! With [`Bridge::with_outbound`], agents' replies come back: [`Bridge::receive_webhook`]
//! queues Chatwoot's webhooks and [`Bridge::run_outbound`] sends them to WhatsApp
//! ([`outbound`]).

mod activation;
mod bridge;
mod chatwoot_target;
pub mod conversation_status;
mod errors;
pub mod inbound;
mod media_types;
pub mod outbound;
mod secrets;
pub mod sessions;
mod shared_by_key;
mod view;
mod webhooks;

pub use activation::ActivateCommand;
pub use bridge::{Bridge, BridgeSettings};
pub use errors::{BridgeActivateError, BridgeDeactivateError, BridgeStatusError, WebhookRefused};
/// The webhook parsing, at a path that does not follow the module layout (the fuzz
/// targets in `fuzz/` call it).
pub use outbound::payload::{AgentMessage, ReadWebhook};
pub use sessions::{RelayPorts, RelaySessions, SessionSettings};
pub use view::{ActivationOutcome, BridgeIntegrationView};
