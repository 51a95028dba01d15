//! Every sealed secret a database holds, whatever table keeps it, seen through one port:
//! key rotation re-seals them (`ryze keys rotate`), and each service checks at start-up
//! that its key ring opens them. Every implementation must pass the shared contract
//! suite in `ryze-store-contract-tests`.

use async_trait::async_trait;
use ryze_domain::{InstanceId, SealedSecret, SealedSecretKind};

use crate::StoreError;

/// One stored secret of a [`SealedSecretKind`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSealedSecret {
    /// The id of the row holding it, which its owner is built from
    /// ([`SealedSecretKind::owner`]): the instance id for the API's token, the bridge
    /// integration id for the bridge's secrets.
    pub holder_id: String,
    /// The instance the secret serves, to tell an operator which integration it is.
    pub instance_id: InstanceId,
    pub sealed: SealedSecret,
}

#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait SealedSecretStore: Send + Sync {
    /// Every stored secret of `kind`, by holder id.
    async fn list_sealed_secrets_of_kind(
        &self,
        kind: SealedSecretKind,
    ) -> Result<Vec<StoredSealedSecret>, StoreError>;

    /// Replaces the secret of `kind` held by `holder_id` only if it is still `expected`
    /// (key id, nonce and ciphertext), so a secret saved meanwhile is never overwritten
    /// with an older one. `true` when it was replaced.
    async fn replace_sealed_secret_of_kind(
        &self,
        kind: SealedSecretKind,
        holder_id: &str,
        expected: &SealedSecret,
        replacement: &SealedSecret,
    ) -> Result<bool, StoreError>;
}
