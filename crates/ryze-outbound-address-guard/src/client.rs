//! A `reqwest` client builder with the guard installed: the [`GuardedResolver`] for host
//! names at connect time and [`guarded_redirect_policy`] for redirect targets.
//!
//! Threat model: a server we are allowed to reach (or one the user controls on the public
//! internet) answers `302 Location: http://169.254.169.254/latest/meta-data/`; reqwest
//! would follow it. The redirect policy refuses an IP-literal target the policy refuses
//! before any connection is made, and a host-name target goes through the guarded
//! resolver like any other request. System proxies are turned off: through a proxy the
//! resolver would only ever see the proxy's name, and the proxy would resolve the target.

use std::net::IpAddr;
use std::sync::Arc;

use reqwest::redirect::{Attempt, Policy};
use url::Host;

use crate::error::GuardError;
use crate::policy::AddressPolicy;
use crate::resolver::GuardedResolver;
use crate::shown_url::shown_url;
use crate::url_check::check_scheme;

/// How many redirects [`guarded_client_builder`]'s client follows.
pub const MAX_REDIRECTS: usize = 5;

/// A `reqwest::ClientBuilder` that only reaches addresses `policy` allows:
/// [`GuardedResolver`] as DNS resolver, [`guarded_redirect_policy`] with
/// [`MAX_REDIRECTS`], and no proxy (environment proxies would bypass the resolver).
///
/// Callers add their own timeouts, headers and so on, and **must still call
/// [`AddressPolicy::check_request_url`] before each request**: reqwest connects to an
/// IP-literal host without asking the resolver. Do not add `resolve`/`resolve_to_addrs`
/// overrides to the builder either: reqwest answers those itself, past the guard.
pub fn guarded_client_builder(policy: AddressPolicy) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(GuardedResolver::new(policy)))
        .redirect(guarded_redirect_policy(policy, MAX_REDIRECTS))
        .no_proxy()
}

/// A redirect policy that follows at most `max_redirects` redirects, only to `http`/`https`,
/// and refuses a target whose host is an IP literal the policy refuses. Host-name targets
/// are followed: the [`GuardedResolver`] checks them at connect time.
///
/// The error of a refused redirect is a [`GuardError`] inside the `reqwest::Error` (which
/// reports `is_redirect()`); get it with [`find_guard_error`](crate::find_guard_error).
pub fn guarded_redirect_policy(policy: AddressPolicy, max_redirects: usize) -> Policy {
    Policy::custom(move |attempt| check_redirect(policy, max_redirects, attempt))
}

fn check_redirect(
    policy: AddressPolicy,
    max_redirects: usize,
    attempt: Attempt<'_>,
) -> reqwest::redirect::Action {
    // `previous` holds the original URL and every redirect followed so far.
    // Error texts name the target without its query: a presigned URL carries its
    // signature there.
    if attempt.previous().len() > max_redirects {
        let url = shown_url(attempt.url());
        return attempt.error(GuardError::TooManyRedirects {
            max: max_redirects,
            url,
        });
    }
    let url = attempt.url();
    let subject = format!("the redirect target {}", shown_url(url));
    if let Err(error) = check_scheme(url, &subject) {
        return attempt.error(error);
    }
    let ip = match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
        Some(Host::Domain(_)) => return attempt.follow(),
        None => return attempt.error(GuardError::MissingHost { subject }),
    };
    match policy.check_ip(ip) {
        Ok(()) => attempt.follow(),
        Err(refused) => attempt.error(GuardError::Refused { subject, refused }),
    }
}
