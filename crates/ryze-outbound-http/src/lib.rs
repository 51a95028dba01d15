//! Building blocks shared by our outbound HTTP clients (`ryze-chatwoot-client`,
//! `ryze-bridge-client`): readable transport failures, secret scrubbing, bounded answer
//! reading.
//!
//! Everything here is about HTTP and text only. It knows no port, no domain type and no
//! error enum of a client: each client turns these pieces into its own errors, with its
//! own words for the peer it talks to.
//!
//! - [`RequestLabel`] names one request in error texts (`POST https://host/path`).
//! - [`Scrubber`] replaces secrets with `***` in any text from the outside, and quotes
//!   answer bodies cut to a limit on a char boundary.
//! - [`transport_failure_reason`] says in plain words why a request got no answer
//!   (connect timeout, overall timeout, refused, reset, DNS, TLS, …).
//! - [`send_and_read`] sends a request and reads at most a given number of bytes of the
//!   answer.

mod answer;
mod label;
mod scrub;
mod transport;

pub use answer::{send_and_read, BoundedAnswer};
pub use label::RequestLabel;
pub use scrub::{Scrubber, REDACTED};
pub use transport::{readable_duration, root_cause, transport_failure_reason, Timeouts};
