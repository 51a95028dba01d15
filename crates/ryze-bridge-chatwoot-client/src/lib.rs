//! HTTP client for Chatwoot's Application API, behind the
//! [`ChatwootApi`](ryze_ports::ChatwootApi) port.
//!
//! **One client for every integration.** [`ChatwootHttpClient`] wraps a single
//! `reqwest::Client`; clone it or share it in an `Arc`. reqwest keeps one pool of idle
//! connections per scheme, host and port, so every integration that talks to the same
//! Chatwoot installation reuses the same connections (at most
//! [`ChatwootClientSettings::max_idle_per_host`] idle ones), and installations never share
//! one. The target of each call (base URL, account, token) travels with the call.
//!
//! **Every call is bounded**: a connect timeout and an overall timeout (from connecting to
//! the last byte of the answer), applied to the client and to each request.
//!
//! **The token** is sent only in the `api_access_token` header, marked sensitive so that
//! HTTP-level logging redacts it; it is never put in a URL. Every text taken from an
//! answer (Chatwoot's profile answer contains the token) is scrubbed of it before it
//! becomes part of an error, so no error text and no `Debug` output contains it. Note for
//! operators: nginx drops header names with underscores unless `underscores_in_headers
//! on;` is set in front of Chatwoot, and Chatwoot then answers 401.
//!
//! **Redirects** are not followed by [`ChatwootHttpClient::new`]: reqwest strips only the
//! standard credential headers on a redirect to another host, not `api_access_token`, so
//! following one could hand the token to that host. A redirect is reported as
//! [`ChatwootError::Redirected`](ryze_ports::ChatwootError::Redirected).
//!
//! **Errors are named here**: Chatwoot's status (and, where one status means several
//! things, its body) becomes a [`ChatwootError`](ryze_ports::ChatwootError) variant (not
//! found, bad token, role refusal, not a member, invalid, rate limited, unavailable, timed
//! out, …), so no caller reads an HTTP status.
//!
//! **Paced per host** ([`pacing`]): every call first takes its turn in the budget of its
//! Chatwoot host (a [`ChatwootCallBudget`](ryze_ports::ChatwootCallBudget), by default
//! [`InProcessCallBudget`] at Chatwoot's default limit), shared by every integration
//! there, so the bridge stays under Chatwoot's rate limit instead of being refused.
//!
//! **One kind of retry** here: a call Chatwoot refused for its rate limit (429, refused
//! before anything ran) is sent again once the budget reopened at Chatwoot's next window,
//! up to three times, unless its body is a multipart upload. Everything else is the
//! bridge's queue's to decide, from
//! [`ChatwootError::is_transient`](ryze_ports::ChatwootError::is_transient).
//!
//! Request shapes follow Chatwoot's OpenAPI description (vendored in
//! `crates/chatwoot-simulator/contracts/`) and, where it is silent or wrong, Chatwoot's
//! controllers and jbuilder views.

mod api;
mod client;
mod failure;
pub mod pacing;
mod settings;
mod wire;

pub use client::ChatwootHttpClient;
pub use pacing::{CallBudgetSettings, InProcessCallBudget};
pub use settings::{ChatwootClientBuildError, ChatwootClientSettings};
