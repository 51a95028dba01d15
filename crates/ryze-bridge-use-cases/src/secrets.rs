//! Fresh integration ids and webhook secrets from the system's CSPRNG.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::rand::{SecureRandom, SystemRandom};
use ryze_domain::BridgeIntegrationId;
use secrecy::SecretString;

use crate::BridgeActivateError;

fn random_bytes<const N: usize>() -> Result<[u8; N], BridgeActivateError> {
    let mut bytes = [0u8; N];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| BridgeActivateError::RandomnessUnavailable)?;
    Ok(bytes)
}

/// `int_` and 24 hex characters.
pub(crate) fn new_integration_id() -> Result<BridgeIntegrationId, BridgeActivateError> {
    let bytes: [u8; 12] = random_bytes()?;
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    Ok(BridgeIntegrationId::new(format!("int_{hex}")))
}

/// 256 random bits, URL-safe: the secret in an inbox's webhook URL.
pub(crate) fn new_webhook_secret() -> Result<SecretString, BridgeActivateError> {
    let bytes: [u8; 32] = random_bytes()?;
    Ok(SecretString::from(URL_SAFE_NO_PAD.encode(bytes)))
}
