//! Re-sealing every stored secret under the vault's current key (`ryze keys rotate`), and
//! finding the master keys stored secrets need that a key ring lacks (each service's
//! start-up check).
//!
//! Both go over every [`SealedSecretKind`], whatever table keeps it (the API's Chatwoot
//! token, the bridge's copy of it and its webhook secret), in whichever database the
//! store opens: a new kind of secret is one more variant, not another loop.
//!
//! Each secret is opened with the key that sealed it and sealed again under the current
//! key, then swapped in only if the row still holds what we read (a concurrent save
//! wins). A secret that cannot be opened is reported, not skipped silently, so the
//! operator knows which integration needs its token sent again.

use std::collections::BTreeMap;
use std::sync::Arc;

use ryze_domain::{InstanceId, KeyId, SealedSecretKind};
use ryze_ports::{SealedSecretStore, SecretVault, StoreError, StoredSealedSecret, VaultError};

/// Re-seals the secrets of one database's store under the vault's current key.
#[derive(Clone)]
pub struct KeyRotation {
    store: Arc<dyn SealedSecretStore>,
    vault: Arc<dyn SecretVault>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationFailure {
    pub kind: SealedSecretKind,
    /// The row holding the secret (an instance id or a bridge integration id, as
    /// [`SealedSecretKind::owner`] says).
    pub holder_id: String,
    pub instance_id: InstanceId,
    pub error: VaultError,
}

/// What a rotation did with the secrets of one kind, or of all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RotationCounts {
    /// Re-sealed under the current key.
    pub rotated: usize,
    /// Already under the current key.
    pub already_current: usize,
    /// Changed by someone else while we worked; already re-sealed by them.
    pub changed_concurrently: usize,
    /// Could not be opened (see [`RotationReport::failed`]).
    pub failed: usize,
}

impl RotationCounts {
    fn add(&mut self, other: RotationCounts) {
        self.rotated += other.rotated;
        self.already_current += other.already_current;
        self.changed_concurrently += other.changed_concurrently;
        self.failed += other.failed;
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RotationReport {
    /// The counts of every kind, each listed even when it has no secret.
    pub by_kind: BTreeMap<SealedSecretKind, RotationCounts>,
    pub failed: Vec<RotationFailure>,
}

impl RotationReport {
    /// The counts over every kind.
    pub fn total(&self) -> RotationCounts {
        let mut total = RotationCounts::default();
        for counts in self.by_kind.values() {
            total.add(*counts);
        }
        total
    }
}

/// A master key that sealed stored secrets, missing from a key ring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingKey {
    pub key_id: KeyId,
    /// How many stored secrets it sealed.
    pub secrets: usize,
}

impl KeyRotation {
    pub fn new(store: Arc<dyn SealedSecretStore>, vault: Arc<dyn SecretVault>) -> Self {
        Self { store, vault }
    }

    /// Re-seals every stored secret of every kind not yet under the current key.
    pub async fn rotate(&self) -> Result<RotationReport, StoreError> {
        let mut report = RotationReport::default();
        for kind in SealedSecretKind::ALL {
            let mut counts = RotationCounts::default();
            for stored in self.store.list_sealed_secrets_of_kind(kind).await? {
                match self.reseal(kind, &stored).await? {
                    Resealed::Rotated => counts.rotated += 1,
                    Resealed::AlreadyCurrent => counts.already_current += 1,
                    Resealed::ChangedConcurrently => counts.changed_concurrently += 1,
                    Resealed::Unreadable(error) => {
                        counts.failed += 1;
                        report.failed.push(RotationFailure {
                            kind,
                            holder_id: stored.holder_id,
                            instance_id: stored.instance_id,
                            error,
                        });
                    }
                }
            }
            report.by_kind.insert(kind, counts);
        }
        Ok(report)
    }

    /// Re-seals one secret under the current key, swapping it in if it is unchanged.
    async fn reseal(
        &self,
        kind: SealedSecretKind,
        stored: &StoredSealedSecret,
    ) -> Result<Resealed, StoreError> {
        if stored.sealed.key_id == self.vault.current_key_id() {
            return Ok(Resealed::AlreadyCurrent);
        }
        let owner = kind.owner(&stored.holder_id);
        let resealed = self
            .vault
            .open(&stored.sealed, &owner)
            .and_then(|plaintext| self.vault.seal(&plaintext, &owner));
        let resealed = match resealed {
            Ok(resealed) => resealed,
            Err(error) => return Ok(Resealed::Unreadable(error)),
        };
        let replaced = self
            .store
            .replace_sealed_secret_of_kind(kind, &stored.holder_id, &stored.sealed, &resealed)
            .await?;
        Ok(if replaced {
            Resealed::Rotated
        } else {
            Resealed::ChangedConcurrently
        })
    }
}

/// What became of one secret.
enum Resealed {
    Rotated,
    AlreadyCurrent,
    ChangedConcurrently,
    Unreadable(VaultError),
}

/// The master keys that sealed stored secrets (of any kind) but are not among `held`,
/// in the order first met, each with how many secrets it sealed. Empty when every
/// stored secret can be opened with a held key.
pub async fn keys_missing_from_ring(
    store: &dyn SealedSecretStore,
    held: &[KeyId],
) -> Result<Vec<MissingKey>, StoreError> {
    let mut missing: Vec<MissingKey> = Vec::new();
    for kind in SealedSecretKind::ALL {
        for stored in store.list_sealed_secrets_of_kind(kind).await? {
            let key_id = stored.sealed.key_id;
            if held.contains(&key_id) {
                continue;
            }
            match missing.iter_mut().find(|known| known.key_id == key_id) {
                Some(known) => known.secrets += 1,
                None => missing.push(MissingKey { key_id, secrets: 1 }),
            }
        }
    }
    Ok(missing)
}
