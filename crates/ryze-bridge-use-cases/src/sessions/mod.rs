//! Relay sessions: one per active integration, each holding a WebSocket to the API's
//! event stream ([`RelaySessions`]), relaying its events in per-chat order
//! ([`connection`]) and reporting its live state ([`live_state`]), under a lease
//! among bridge nodes when configured ([`leasing`]).

pub mod connection;
pub mod leasing;
pub mod live_state;
mod supervisor;

pub use connection::RetryPolicy;
pub use leasing::{LeaseFence, LeaseSettings};
pub use live_state::{ConnectionState, LiveSnapshot};
pub use supervisor::{RelayPorts, RelaySessions, SessionSettings};
