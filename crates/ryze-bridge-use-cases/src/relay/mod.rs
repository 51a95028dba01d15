//! The relay rules: how each WhatsApp event becomes Chatwoot contacts, conversations
//! and messages ([`InboundRelay`]), and how messages read there ([`rendering`]).

mod inbound;
pub mod rendering;

pub use inbound::{ordering_key, InboundRelay, RelayContext, RelayFailure, RelayOutcome};
