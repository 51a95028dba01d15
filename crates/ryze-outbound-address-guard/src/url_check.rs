//! Checking a URL before anything is sent to it: scheme, host, and every address the host
//! resolves to.
//!
//! Threat model: a user gives us a URL (say `chatwootBaseUrl`) whose host is, or resolves
//! to, an address we must not reach. [`AddressPolicy::check_url`] is the check at the time
//! the user hands the URL over, so that the refusal is a clear validation error instead of
//! a failed connection later; [`AddressPolicy::check_request_url`] is the cheap check before
//! every request, for the IP-literal hosts that reqwest never passes to the guarded
//! resolver. A host name that resolves to a harmless address now may resolve elsewhere
//! later (DNS rebinding): the guarded resolver re-checks at connect time.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use url::{Host, Url};

use crate::error::GuardError;
use crate::policy::AddressPolicy;

/// How long [`AddressPolicy::check_url`] and the guarded resolver wait for DNS.
pub const DEFAULT_RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a lookup failed, before it is given a subject.
pub(crate) enum LookupFailure {
    Io(std::io::Error),
    Timeout(Duration),
    Empty,
}

impl LookupFailure {
    pub(crate) fn into_guard_error(self, subject: String) -> GuardError {
        match self {
            Self::Io(source) => GuardError::Unresolvable { subject, source },
            Self::Timeout(timeout) => GuardError::ResolveTimeout { subject, timeout },
            Self::Empty => GuardError::NoAddress { subject },
        }
    }
}

/// Every address `host` resolves to, through the system resolver (tokio's
/// `lookup_host`, that is `getaddrinfo` on a blocking thread), within `timeout`.
pub(crate) async fn lookup(
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<Vec<SocketAddr>, LookupFailure> {
    let addrs = tokio::time::timeout(timeout, tokio::net::lookup_host((host, port)))
        .await
        .map_err(|_| LookupFailure::Timeout(timeout))?
        .map_err(LookupFailure::Io)?
        .collect::<Vec<_>>();
    if addrs.is_empty() {
        return Err(LookupFailure::Empty);
    }
    Ok(addrs)
}

impl AddressPolicy {
    /// Checks `url` before a request: the scheme must be `http` or `https`, and an
    /// IP-literal host must be allowed by the policy. A host *name* passes: the guarded
    /// resolver checks what it resolves to at connect time.
    ///
    /// **Call this (or [`check_url`](Self::check_url)) before sending every request**
    /// through a [`guarded_client_builder`](crate::guarded_client_builder) client: reqwest
    /// does not ask the resolver about IP literals, so nothing else would refuse
    /// `http://169.254.169.254/`.
    ///
    /// `field` names the URL in the message (`chatwootBaseUrl`).
    pub fn check_request_url(&self, url: &Url, field: &str) -> Result<(), GuardError> {
        self.request_host(url, field).map(|_| ())
    }

    /// Checks `url` when a user hands it over: what
    /// [`check_request_url`](Self::check_request_url) checks, and for a host name, every
    /// address it resolves to (within [`DEFAULT_RESOLVE_TIMEOUT`]); one refused address
    /// refuses the URL.
    ///
    /// `field` names the URL in the message: "chatwootBaseUrl resolves to 10.0.0.5, a
    /// private address; set BRIDGE_ALLOW_PRIVATE_ADDRESSES=true to allow private networks".
    pub async fn check_url(&self, url: &Url, field: &str) -> Result<(), GuardError> {
        self.check_url_with_timeout(url, field, DEFAULT_RESOLVE_TIMEOUT)
            .await
    }

    /// [`check_url`](Self::check_url) with a chosen DNS timeout.
    pub async fn check_url_with_timeout(
        &self,
        url: &Url,
        field: &str,
        timeout: Duration,
    ) -> Result<(), GuardError> {
        let Some(name) = self.request_host(url, field)? else {
            return Ok(());
        };
        let subject = format!("{field} (host {name})");
        let port = url.port_or_known_default().unwrap_or(0);
        let addrs = lookup(name, port, timeout)
            .await
            .map_err(|failure| failure.into_guard_error(subject.clone()))?;
        for addr in addrs {
            self.check_ip(addr.ip())
                .map_err(|refused| GuardError::Refused {
                    subject: subject.clone(),
                    refused,
                })?;
        }
        Ok(())
    }

    /// The scheme and IP-literal checks shared by both URL checks; the host name, if the
    /// host is one (an allowed IP literal gives `None`).
    fn request_host<'a>(&self, url: &'a Url, field: &str) -> Result<Option<&'a str>, GuardError> {
        check_scheme(url, field)?;
        let ip = match url.host() {
            None => {
                return Err(GuardError::MissingHost {
                    subject: field.to_owned(),
                })
            }
            Some(Host::Domain(name)) => return Ok(Some(name)),
            Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
        };
        self.check_ip(ip).map_err(|refused| GuardError::Refused {
            subject: field.to_owned(),
            refused,
        })?;
        Ok(None)
    }
}

/// Only `http` and `https` may be fetched.
pub(crate) fn check_scheme(url: &Url, subject: &str) -> Result<(), GuardError> {
    match url.scheme() {
        "http" | "https" => Ok(()),
        other => Err(GuardError::UnsupportedScheme {
            subject: subject.to_owned(),
            scheme: other.to_owned(),
        }),
    }
}
