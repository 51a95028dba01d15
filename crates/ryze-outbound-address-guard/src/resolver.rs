//! [`GuardedResolver`]: a `reqwest` DNS resolver that drops the addresses the policy
//! refuses, so the check happens at connect time on the very addresses reqwest will use.
//!
//! Threat model: DNS rebinding. A name checked with
//! [`AddressPolicy::check_url`](crate::AddressPolicy::check_url) can answer with a public
//! address then and with `169.254.169.254` a second later (short TTL, or a resolver that
//! alternates answers); any check done before the request is therefore not enough for host
//! names. This resolver is the one reqwest uses to connect, so whatever the name resolves
//! to at that moment is checked, for the first request and for every redirect. It does
//! not see IP-literal hosts (reqwest connects to those directly); see the crate docs.

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::error::GuardError;
use crate::policy::AddressPolicy;
use crate::url_check::{lookup, DEFAULT_RESOLVE_TIMEOUT};

/// A `reqwest::dns::Resolve` that resolves through the system resolver and keeps only the
/// addresses `policy` allows; when none is left, resolution fails with
/// [`GuardError::Refused`] naming the first refused address.
///
/// Install it with `reqwest::ClientBuilder::dns_resolver(Arc::new(...))`, or use
/// [`guarded_client_builder`](crate::guarded_client_builder), which also sets the redirect
/// policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuardedResolver {
    policy: AddressPolicy,
    timeout: Duration,
}

impl GuardedResolver {
    /// A resolver for `policy`, waiting at most [`DEFAULT_RESOLVE_TIMEOUT`] for DNS.
    pub const fn new(policy: AddressPolicy) -> Self {
        Self {
            policy,
            timeout: DEFAULT_RESOLVE_TIMEOUT,
        }
    }

    /// The same resolver with another DNS timeout.
    pub const fn with_timeout(self, timeout: Duration) -> Self {
        Self { timeout, ..self }
    }

    /// The policy the resolver applies.
    pub const fn policy(&self) -> AddressPolicy {
        self.policy
    }

    /// Resolves `host` and keeps the allowed addresses (port 0: reqwest sets the port).
    pub async fn resolve_allowed(&self, host: &str) -> Result<Vec<SocketAddr>, GuardError> {
        let subject = format!("the host {host}");
        let addrs = lookup(host, 0, self.timeout)
            .await
            .map_err(|failure| failure.into_guard_error(subject.clone()))?;
        let mut allowed = Vec::with_capacity(addrs.len());
        let mut first_refusal = None;
        for addr in addrs {
            match self.policy.check_ip(addr.ip()) {
                Ok(()) => allowed.push(addr),
                Err(refused) => {
                    tracing::warn!(host, address = %refused.ip, reason = %refused.reason,
                        "address guard: dropped a resolved address");
                    first_refusal.get_or_insert(refused);
                }
            }
        }
        match first_refusal {
            Some(refused) if allowed.is_empty() => Err(GuardError::Refused { subject, refused }),
            _ => Ok(allowed),
        }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let resolver = *self;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = resolver.resolve_allowed(&host).await?;
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}
