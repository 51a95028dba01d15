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

/// Every kind of sealed secret the product stores, each in its own columns: what key
/// rotation re-seals and what a service checks its key ring against at start-up.
///
/// A new kind is one more variant here, with its purpose (bound into its ciphertexts)
/// and its columns in the stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SealedSecretKind {
    /// The API's copy of an integration's Chatwoot token (`chatwoot_integrations`, one
    /// per instance).
    ChatwootApiToken,
    /// The bridge's copy of the Chatwoot token (`bridge_integrations`, one per bridge
    /// integration).
    BridgeChatwootApiToken,
    /// The secret in the webhook URL Chatwoot calls (`bridge_integrations`).
    BridgeWebhookSecret,
    /// The inbox's webhook signing secret the bridge learnt from Chatwoot
    /// (`bridge_integrations`, absent until learnt).
    BridgeWebhookSigningSecret,
}

impl SealedSecretKind {
    /// Every kind, in a fixed order.
    pub const ALL: [SealedSecretKind; 4] = [
        SealedSecretKind::ChatwootApiToken,
        SealedSecretKind::BridgeChatwootApiToken,
        SealedSecretKind::BridgeWebhookSecret,
        SealedSecretKind::BridgeWebhookSigningSecret,
    ];

    /// The name bound into the ciphertexts of this kind (part of their associated data).
    fn purpose(self) -> &'static str {
        match self {
            SealedSecretKind::ChatwootApiToken => "chatwoot-api-token",
            SealedSecretKind::BridgeChatwootApiToken => "bridge-chatwoot-api-token",
            SealedSecretKind::BridgeWebhookSecret => "bridge-webhook-secret",
            SealedSecretKind::BridgeWebhookSigningSecret => "bridge-webhook-signing-secret",
        }
    }

    /// What an operator reads: the secret and the service that keeps it.
    pub fn description(self) -> &'static str {
        match self {
            SealedSecretKind::ChatwootApiToken => "Chatwoot token (API)",
            SealedSecretKind::BridgeChatwootApiToken => "Chatwoot token (bridge)",
            SealedSecretKind::BridgeWebhookSecret => "webhook secret (bridge)",
            SealedSecretKind::BridgeWebhookSigningSecret => "webhook signing secret (bridge)",
        }
    }

    /// The owner of the secret of this kind held by the row `holder_id` (an instance id
    /// for [`Self::ChatwootApiToken`], a bridge integration id for the bridge's kinds).
    pub fn owner(self, holder_id: &str) -> SecretOwner {
        SecretOwner {
            purpose: self.purpose(),
            owner_id: holder_id.to_owned(),
        }
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
        SealedSecretKind::ChatwootApiToken.owner(instance_id.as_str())
    }

    /// The Chatwoot API token as the bridge keeps it, for one bridge integration.
    pub fn bridge_chatwoot_api_token(integration_id: &crate::BridgeIntegrationId) -> Self {
        SealedSecretKind::BridgeChatwootApiToken.owner(integration_id.as_str())
    }

    /// The secret in the webhook URL Chatwoot calls, for one bridge integration.
    pub fn bridge_webhook_secret(integration_id: &crate::BridgeIntegrationId) -> Self {
        SealedSecretKind::BridgeWebhookSecret.owner(integration_id.as_str())
    }

    /// The inbox's webhook signing secret learnt from Chatwoot, for one bridge integration.
    pub fn bridge_webhook_signing_secret(integration_id: &crate::BridgeIntegrationId) -> Self {
        SealedSecretKind::BridgeWebhookSigningSecret.owner(integration_id.as_str())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BridgeIntegrationId, InstanceId};

    #[test]
    fn every_kind_binds_the_associated_data_its_stored_secrets_were_sealed_with() {
        let bound = |owner: SecretOwner| String::from_utf8(owner.associated_data()).unwrap();
        assert_eq!(
            bound(SecretOwner::chatwoot_api_token(&InstanceId::new("ins_1"))),
            "ryze/v1/chatwoot-api-token/ins_1"
        );
        assert_eq!(
            bound(SecretOwner::bridge_chatwoot_api_token(
                &BridgeIntegrationId::new("int_1")
            )),
            "ryze/v1/bridge-chatwoot-api-token/int_1"
        );
        assert_eq!(
            bound(SecretOwner::bridge_webhook_secret(
                &BridgeIntegrationId::new("int_1")
            )),
            "ryze/v1/bridge-webhook-secret/int_1"
        );
        assert_eq!(
            bound(SecretOwner::bridge_webhook_signing_secret(
                &BridgeIntegrationId::new("int_1")
            )),
            "ryze/v1/bridge-webhook-signing-secret/int_1"
        );
        for kind in SealedSecretKind::ALL {
            assert!(bound(kind.owner("x")).contains(kind.purpose()));
        }
    }
}
