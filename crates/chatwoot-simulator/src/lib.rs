//! A faithful stand-in for Chatwoot (4.15.x) for tests, benchmarks and demos.
//!
//! It serves the subset of Chatwoot's Application API the bridge uses
//! (profile, API-channel inboxes, contacts, conversations, messages with
//! attachments) with Chatwoot's real authentication, role checks, response
//! shapes and error bodies, delivers Chatwoot-style signed webhooks to API
//! inboxes, and adds a control API under `/_simulator/…` to seed data, read
//! state back, inspect the request log and inject faults.
//!
//! In tests, start one with [`SimulatorServer::start`] and drive it over HTTP;
//! the [`SimulatorHandle`] seeds and inspects it directly. The
//! `chatwoot-simulator` binary runs one for demos. What was checked against
//! Chatwoot's source, and what is a guess, is listed in the crate README.

pub mod api;
pub mod attachments;
pub mod control;
pub mod error;
pub mod faults;
pub mod model;
pub mod server;
pub mod state;
pub mod store;
pub mod views;
pub mod webhooks;

pub use control::{AgentReply, SeedAccount, SeedInboxMember, SeedMembership, SeedUser};
pub use error::{ApiError, SimulatorError};
pub use faults::Faults;
pub use model::Role;
pub use server::{SimulatorHandle, SimulatorServer, SimulatorSettings};
pub use state::{endpoint_of, EndpointCount, RequestLogEntry, WebhookDelivery};
