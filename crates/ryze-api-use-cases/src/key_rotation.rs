//! Re-sealing every stored secret under the vault's current key (`ryze keys rotate`).
//!
//! Each secret is opened with the key that sealed it and sealed again under the current
//! key, then swapped in only if the row still holds what we read (a concurrent `set`
//! wins). A secret that cannot be opened is reported, not skipped silently, so the
//! operator knows which integration needs its token sent again.

use ryze_domain::{InstanceId, SecretOwner};
use ryze_ports::{StoreError, VaultError};

use crate::ControlPlane;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationFailure {
    pub instance_id: InstanceId,
    pub error: VaultError,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RotationReport {
    /// Re-sealed under the current key.
    pub rotated: usize,
    /// Already under the current key.
    pub already_current: usize,
    /// Changed by someone else while we worked; already re-sealed by them.
    pub changed_concurrently: usize,
    pub failed: Vec<RotationFailure>,
}

impl ControlPlane {
    pub async fn rotate_secrets(&self) -> Result<RotationReport, StoreError> {
        let current = self.vault.current_key_id();
        let mut report = RotationReport::default();
        for (instance_id, sealed) in self.store.list_sealed_secrets().await? {
            if sealed.key_id == current {
                report.already_current += 1;
                continue;
            }
            let owner = SecretOwner::chatwoot_api_token(&instance_id);
            let resealed = self
                .vault
                .open(&sealed, &owner)
                .and_then(|plaintext| self.vault.seal(&plaintext, &owner));
            match resealed {
                Ok(resealed) => {
                    if self
                        .store
                        .replace_sealed_secret(&instance_id, &sealed, &resealed)
                        .await?
                    {
                        report.rotated += 1;
                    } else {
                        report.changed_concurrently += 1;
                    }
                }
                Err(error) => report.failed.push(RotationFailure { instance_id, error }),
            }
        }
        Ok(report)
    }
}
