//! HTTP client for the bridge's own API (RyzeIntegrations, docs/contract.md §7), behind the
//! [`IntegrationGateway`](ryze_ports::IntegrationGateway) port.
//!
//! The wire format is written down in `docs/bridge-api.md`; the bridge server implements
//! the same document. Every request carries `Authorization: Bearer <BRIDGE_TOKEN>` and
//! runs under a connect timeout and an overall timeout.
//!
//! Neither the bridge token nor a Chatwoot API token ever appears in an error, a `Debug`
//! output or a log line: both are kept as secrets, and every text taken from a bridge
//! answer is scrubbed of them before it becomes part of an error.

mod answers;
mod gateway;
mod settings;
mod wire;

pub use gateway::HttpIntegrationGateway;
pub use settings::{BridgeClientBuildError, BridgeClientSettings};
