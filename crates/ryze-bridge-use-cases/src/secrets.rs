//! Fresh integration ids and webhook secrets from the system's CSPRNG.

use ryze_domain::BridgeIntegrationId;
use secrecy::SecretString;

use crate::BridgeActivateError;

/// `int_` and 24 hex characters.
pub(crate) fn new_integration_id() -> Result<BridgeIntegrationId, BridgeActivateError> {
    ryze_random::prefixed_hex_id("int_")
        .map(BridgeIntegrationId::new)
        .map_err(|_| BridgeActivateError::RandomnessUnavailable)
}

/// 256 random bits, URL-safe: the secret in an inbox's webhook URL.
pub(crate) fn new_webhook_secret() -> Result<SecretString, BridgeActivateError> {
    ryze_random::url_safe_token()
        .map(SecretString::from)
        .map_err(|_| BridgeActivateError::RandomnessUnavailable)
}
