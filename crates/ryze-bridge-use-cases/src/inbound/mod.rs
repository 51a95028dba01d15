//! WhatsApp → Chatwoot, the sibling of [`crate::outbound`]: how each WhatsApp event
//! becomes Chatwoot contacts, conversations and messages ([`InboundRelay`]), and how
//! messages read there ([`rendering`]).

mod calls;
mod chat_state;
mod destination;
mod messages;
mod receipts;
mod relay;
pub mod rendering;
mod status;
#[cfg(test)]
mod tests;

pub(crate) use calls::is_call_notice_id;
pub use relay::{ordering_key, InboundRelay, RelayContext, RelayFailure, RelayOutcome};
pub(crate) use status::{connection_notice, status_message_link};
