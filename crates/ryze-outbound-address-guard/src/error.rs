//! The error of a URL check, of the guarded resolver and of the guarded redirect policy,
//! and [`find_guard_error`] to recover it from a failed `reqwest` request.
//!
//! Threat model: these messages go back to the API user who supplied the URL, so they say
//! what was refused and what to change, but only ever about the user's own URL; they name
//! the resolved address (which the user could look up themselves) and never echo anything
//! the refused server would have answered, because no connection is made.

use std::error::Error as StdError;
use std::io;
use std::time::Duration;

use crate::policy::RefusedAddress;

/// Why a URL may not be fetched.
///
/// Each message begins with its *subject*: the field name given to
/// [`AddressPolicy::check_url`](crate::AddressPolicy::check_url) (`chatwootBaseUrl`, with
/// the host in parentheses when it is a name), `the host <name>` when the guarded resolver
/// refuses at connect time, or `the redirect target <url>` for a redirect.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GuardError {
    /// The URL's scheme is not `http` or `https`.
    #[error("{subject} must be an http or https URL, not {scheme}")]
    UnsupportedScheme {
        /// What the message is about.
        subject: String,
        /// The scheme that was given.
        scheme: String,
    },

    /// The URL has no host (`http:///path`, `unix:` and the like).
    #[error("{subject} has no host; give an absolute http or https URL")]
    MissingHost {
        /// What the message is about.
        subject: String,
    },

    /// The host is, or resolves to, an address the policy refuses.
    #[error("{subject} resolves to {}, {}", .refused.ip, .refused.explanation())]
    Refused {
        /// What the message is about.
        subject: String,
        /// The refused address and why.
        refused: RefusedAddress,
    },

    /// The host name could not be resolved.
    #[error("{subject} could not be resolved ({source}); verify the host name")]
    Unresolvable {
        /// What the message is about.
        subject: String,
        /// The resolver's error.
        source: io::Error,
    },

    /// Resolving the host name took too long.
    #[error(
        "{subject} could not be resolved within {} ms; verify the host name and the server's DNS",
        .timeout.as_millis()
    )]
    ResolveTimeout {
        /// What the message is about.
        subject: String,
        /// The time allowed.
        timeout: Duration,
    },

    /// The host name resolved to no address at all.
    #[error("{subject} resolves to no address; verify the host name")]
    NoAddress {
        /// What the message is about.
        subject: String,
    },

    /// A server answered with more redirects than allowed.
    #[error("the server redirected more than {max} times (the last one to {url}); giving up")]
    TooManyRedirects {
        /// The limit.
        max: usize,
        /// The last redirect target, without query, fragment or credentials
        /// ([`shown_url`](crate::shown_url)).
        url: String,
    },
}

impl GuardError {
    /// The refused address, when the error is a refusal.
    pub fn refused_address(&self) -> Option<&RefusedAddress> {
        match self {
            Self::Refused { refused, .. } => Some(refused),
            _ => None,
        }
    }
}

/// This crate's error inside a failed request's source chain (a `reqwest::Error` from a
/// client built by [`guarded_client_builder`](crate::guarded_client_builder)), if the
/// guard caused the failure.
///
/// The resolver's and the redirect policy's refusals reach the caller wrapped in reqwest's
/// (and hyper's) errors; use this to show the API user the guard's sentence rather than a
/// generic "error sending request".
pub fn find_guard_error<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a GuardError> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(guard) = error.downcast_ref::<GuardError>() {
            return Some(guard);
        }
        current = error.source();
    }
    None
}
