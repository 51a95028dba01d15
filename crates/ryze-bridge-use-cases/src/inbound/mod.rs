//! WhatsApp → Chatwoot, the sibling of [`crate::outbound`]: how each WhatsApp event
//! becomes Chatwoot contacts, conversations and messages ([`InboundRelay`]), and how
//! messages read there ([`rendering`]).

mod destination;
mod messages;
mod receipts;
mod relay;
pub mod rendering;
#[cfg(test)]
mod tests;

pub use relay::{ordering_key, InboundRelay, RelayContext, RelayFailure, RelayOutcome};
