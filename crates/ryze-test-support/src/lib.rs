//! Builders of the values tests across the workspace set up by hand: accounts,
//! instances, the API's and the bridge's integrations ([`control_plane`]), engine
//! events ([`engine_events`]), Chatwoot webhook bodies ([`chatwoot_webhooks`]) and the
//! commands the WhatsApp sender clients' tests send ([`sent_commands`]), plus
//! [`waiting`] for simulators that wait on a notification, [`logs`] to read what a
//! piece of code logged, and (with the `mock`
//! feature) `mock_stores`, mocked stores holding sample instances, and `mock_engines`,
//! mocked engines.
//!
//! A dev-dependency only (and a dependency of the test tools: the store contract tests
//! and the simulators): production crates never link it. Every builder starts from a
//! complete, valid value and lets a test change only what it is about, so a test reads
//! as what it sets up.

pub mod chatwoot_webhooks;
pub mod control_plane;
pub mod engine_events;
pub mod logs;
#[cfg(feature = "mock")]
pub mod mock_engines;
#[cfg(feature = "mock")]
pub mod mock_stores;
pub mod sent_commands;
pub mod waiting;
