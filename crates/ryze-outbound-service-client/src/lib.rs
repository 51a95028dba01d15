//! Building blocks shared by our outbound HTTP clients (`ryze-bridge-chatwoot-client`,
//! `ryze-api-bridge-client`, `ryze-api-engine-client`, `ryze-bridge-message-client`): readable
//! transport failures, secret scrubbing, bounded answer reading, and the plumbing of a
//! client of one of our own services.
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
//! - [`ServiceClient`] is what a client of one of our own services (the bridge, the API,
//!   the WhatsApp engine) shares: its settings checked ([`check_service_url`], the
//!   token), the reqwest client with the bearer token, timeouts and no redirects,
//!   endpoints under the base URL, and [`ServiceClient::exchange`], which sends a request,
//!   reads the answer up to a limit and logs it, or says why there was none
//!   ([`Unanswered`]). [`ServiceClient::call`] and [`ServiceClient::read_json`] do the
//!   same and decode the answer, worded by the client's [`ServiceErrors`]. With
//!   [`ServiceClient::with_metrics`], every call is counted by route template and
//!   outcome ([`answered_outcome`], [`unanswered_outcome`]).

mod answer;
mod label;
mod outcome;
mod scrub;
mod service;
mod transport;

pub use answer::{send_and_read, BoundedAnswer};
pub use label::RequestLabel;
pub use outcome::{answered_outcome, unanswered_outcome};
pub use scrub::{Scrubber, QUOTED_ANSWER_MAX_BYTES, REDACTED};
pub use service::{
    check_service_url, BlankBody, ServiceClient, ServiceClientSettings, ServiceClientSetupError,
    ServiceErrorWords, ServiceErrors, Unanswered, UnansweredLog,
};
pub use transport::{readable_duration, root_cause, transport_failure_reason, Timeouts};
