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

mod activation;
mod bridge;
mod errors;
mod secrets;
mod view;
mod webhooks;

pub use activation::ActivateCommand;
pub use bridge::{Bridge, BridgeSettings};
pub use errors::{BridgeActivateError, BridgeDeactivateError, BridgeStatusError, WebhookRefused};
pub use view::{ActivationOutcome, BridgeIntegrationView};
