//! The guard as the bridge's `OutboundGuard` port: a URL a user gave is resolved and
//! every address it resolves to is checked against the policy.

use async_trait::async_trait;
use ryze_ports::{OutboundGuard, RefusedDestination};
use url::Url;

use crate::AddressPolicy;

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
    async fn check(&self, field: &'static str, url: &str) -> Result<(), RefusedDestination> {
        let parsed = Url::parse(url).map_err(|error| RefusedDestination {
            message: format!("{field}: not a valid URL ({error})"),
        })?;
        self.policy
            .check_url(&parsed, field)
            .await
            .map_err(|error| RefusedDestination {
                message: error.to_string(),
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
            refused
                .message
                .starts_with("chatwootBaseUrl resolves to 169.254.169.254"),
            "{}",
            refused.message
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
}
