//! SSRF guard for the URLs users give us: `chatwootBaseUrl` (every Chatwoot API call goes
//! there) and, later, attachment URLs.
//!
//! # Threat model
//!
//! A user of the API controls a URL that the server then fetches. Without a guard they can
//! point it at the cloud provider's metadata service (`169.254.169.254`, which hands out
//! instance credentials), at services bound to the server's loopback interface, or at
//! anything on the private network the server sits in, and read the answers back through
//! our error messages (server-side request forgery). They can also hide such an address
//! behind a host name, behind an IPv4-mapped or NAT64 IPv6 form, behind a redirect from a
//! harmless server, or behind a DNS name that answers with a public address when we check
//! it and with a private one a moment later when we connect (DNS rebinding). This crate
//! refuses all of those; it does not defend against a malicious *public* server (that is
//! what timeouts and body limits are for), and it trusts the machine's own resolver
//! configuration.
//!
//! # How to use it
//!
//! - [`AddressPolicy`] decides which addresses may be contacted:
//!   [`AddressPolicy::embedded_default`] allows loopback and private networks (a Chatwoot
//!   installed next to us), [`AddressPolicy::strict`] allows neither. Each use has its
//!   own policy and settings: [`AddressPolicy::chatwoot`] for `chatwootBaseUrl` and
//!   Chatwoot's attachments, [`AddressPolicy::media_url`] for a caller's `mediaUrl`
//!   (whose answer goes back to the caller, so it reaches no loopback or private address
//!   unless [`MEDIA_URL_ALLOW_PRIVATE_SETTING`] says so). Link-local (cloud
//!   metadata), unspecified, multicast, broadcast, documentation and reserved addresses
//!   are refused under every policy; see [`RefusalReason`] for the whole table.
//! - [`AddressPolicy::check_url`] validates a URL when the user hands it to us (scheme,
//!   host, and every address its host resolves to), with an error whose `Display` is a
//!   sentence for the API user naming the field, the address, why it is refused and the
//!   setting to change.
//! - [`guarded_client_builder`] returns a `reqwest::ClientBuilder` whose DNS resolver
//!   ([`GuardedResolver`]) re-checks every address at connect time, which defeats DNS
//!   rebinding, and whose redirect policy ([`guarded_redirect_policy`]) checks each
//!   redirect target.
//!
//! **Callers must call [`AddressPolicy::check_request_url`] (or [`AddressPolicy::check_url`])
//! on every URL before sending a request to it.** reqwest never calls the resolver for a URL
//! whose host is an IP literal (`http://10.0.0.5/`), so the resolver alone cannot see those;
//! the redirect policy covers IP literals in redirect targets, and the resolver covers every
//! host name, including those reached through redirects. When a request fails,
//! [`find_guard_error`] digs this crate's error out of the `reqwest::Error` chain. Errors
//! name URLs through [`shown_url`], never with their query, fragment or credentials.

mod client;
mod error;
mod outbound_guard_port;
mod policy;
mod resolver;
mod shown_url;
mod url_check;

pub use client::{guarded_client_builder, guarded_redirect_policy, MAX_REDIRECTS};
pub use error::{find_guard_error, GuardError};
pub use outbound_guard_port::PolicyOutboundGuard;
pub use policy::{
    AddressPolicy, AllowSettings, Ipv4Embedding, PrivateRange, RefusalReason, RefusedAddress,
    ALLOW_LOOPBACK_SETTING, ALLOW_PRIVATE_SETTING, MEDIA_URL_ALLOW_PRIVATE_SETTING,
};
pub use resolver::GuardedResolver;
pub use shown_url::shown_url;
pub use url_check::DEFAULT_RESOLVE_TIMEOUT;
