//! A secret as it rests in storage: AES-256-GCM ciphertext, its nonce, and the id of the
//! master key that sealed it. The plaintext never reaches a store.

use std::fmt;

/// Names the master key a secret was sealed with, so keys can rotate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyId(String);

impl KeyId {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a secret belongs to. The vault binds a ciphertext to its owner (as AEAD associated
/// data): a ciphertext copied onto another owner's row does not decrypt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretOwner {
    purpose: &'static str,
    owner_id: String,
}

impl SecretOwner {
    /// The Chatwoot API token of one instance's integration.
    pub fn chatwoot_api_token(instance_id: &crate::InstanceId) -> Self {
        Self {
            purpose: "chatwoot-api-token",
            owner_id: instance_id.as_str().to_owned(),
        }
    }

    /// The Chatwoot API token as the bridge keeps it, for one bridge integration.
    pub fn bridge_chatwoot_api_token(integration_id: &crate::BridgeIntegrationId) -> Self {
        Self {
            purpose: "bridge-chatwoot-api-token",
            owner_id: integration_id.as_str().to_owned(),
        }
    }

    /// The secret in the webhook URL Chatwoot calls, for one bridge integration.
    pub fn bridge_webhook_secret(integration_id: &crate::BridgeIntegrationId) -> Self {
        Self {
            purpose: "bridge-webhook-secret",
            owner_id: integration_id.as_str().to_owned(),
        }
    }

    /// The bytes bound to the ciphertext.
    pub fn associated_data(&self) -> Vec<u8> {
        format!("ryze/v1/{}/{}", self.purpose, self.owner_id).into_bytes()
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct SealedSecret {
    pub key_id: KeyId,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

impl fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedSecret")
            .field("key_id", &self.key_id)
            .field("ciphertext_len", &self.ciphertext.len())
            .finish()
    }
}
