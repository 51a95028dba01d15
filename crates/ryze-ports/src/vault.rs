//! Sealing secrets for storage. Pure computation: no IO, so the trait is synchronous.

use ryze_domain::{KeyId, SealedSecret, SecretOwner};
use secrecy::SecretString;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// The secret was sealed with a key this vault does not hold.
    #[error("no master key with id {0} is configured; add it to the previous keys to read secrets sealed with it")]
    UnknownKey(KeyId),
    /// The ciphertext, nonce or owner does not match: tampering, or a row copied from
    /// another owner.
    #[error("secret could not be decrypted (wrong key, wrong owner or tampered data)")]
    Undecryptable,
    #[error("encryption failed")]
    SealFailed,
}

#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait SecretVault: Send + Sync {
    /// Seals `plaintext` for `owner` under the current master key.
    fn seal(
        &self,
        plaintext: &SecretString,
        owner: &SecretOwner,
    ) -> Result<SealedSecret, VaultError>;

    /// Opens a secret sealed for `owner`, with whichever held key sealed it.
    fn open(&self, sealed: &SealedSecret, owner: &SecretOwner) -> Result<SecretString, VaultError>;

    /// The key new secrets are sealed with.
    fn current_key_id(&self) -> KeyId;
}
