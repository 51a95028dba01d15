//! The guard as the bridge's `OutboundGuard` port: a URL a user gave is resolved and
//! every address it resolves to is checked against the policy.

use async_trait::async_trait;
use ryze_ports::{DestinationCheckError, OutboundGuard};
use url::Url;

use crate::{AddressPolicy, GuardError};

/// [`OutboundGuard`] over an [`AddressPolicy`].
#[derive(Debug, Clone)]
pub struct PolicyOutboundGuard {
    policy: AddressPolicy,
}

impl PolicyOutboundGuard {
    pub fn new(policy: AddressPolicy) -> Self {
        Self { policy }
    }
}

#[async_trait]
impl OutboundGuard for PolicyOutboundGuard {
    async fn check(&self, field: &'static str, url: &str) -> Result<(), DestinationCheckError> {
        let parsed = Url::parse(url).map_err(|error| DestinationCheckError::Refused {
            message: format!("{field}: not a valid URL ({error})"),
        })?;
        self.policy
            .check_url(&parsed, field)
            .await
            .map_err(|error| {
                let message = error.to_string();
                match error {
                    // Nothing to connect to: the host is as unreachable as a server that
                    // refuses the connection.
                    GuardError::Unresolvable { .. }
                    | GuardError::ResolveTimeout { .. }
                    | GuardError::NoAddress { .. } => {
                        DestinationCheckError::Unresolvable { message }
                    }
                    GuardError::UnsupportedScheme { .. }
                    | GuardError::MissingHost { .. }
                    | GuardError::Refused { .. }
                    | GuardError::TooManyRedirects { .. } => {
                        DestinationCheckError::Refused { message }
                    }
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn metadata_addresses_are_refused_with_the_field_named() {
        let guard = PolicyOutboundGuard::new(AddressPolicy::embedded_default());
        let refused = guard
            .check("chatwootBaseUrl", "http://169.254.169.254")
            .await
            .unwrap_err();
        assert!(
            matches!(&refused, DestinationCheckError::Refused { message } if message.starts_with("chatwootBaseUrl resolves to 169.254.169.254")),
            "{refused:?}"
        );
        assert!(guard
            .check("chatwootBaseUrl", "http://127.0.0.1:3000")
            .await
            .is_ok());
        let strict = PolicyOutboundGuard::new(AddressPolicy::strict());
        assert!(strict
            .check("chatwootBaseUrl", "http://127.0.0.1:3000")
            .await
            .is_err());
    }

    #[tokio::test]
    async fn a_host_that_does_not_resolve_is_unresolvable_not_refused() {
        let guard = PolicyOutboundGuard::new(AddressPolicy::embedded_default());
        let error = guard
            .check("chatwootBaseUrl", "https://chatwoot.invalid")
            .await
            .unwrap_err();
        assert!(
            matches!(&error, DestinationCheckError::Unresolvable { message } if message.starts_with("chatwootBaseUrl (host chatwoot.invalid) could not be resolved")),
            "{error:?}"
        );
    }
}
