//! [`SecretVault`] over AES-256-GCM (ring).
//!
//! Every seal draws a fresh random 96-bit nonce from the system's secure random number
//! generator, and binds the ciphertext to its owner by passing
//! [`SecretOwner::associated_data`] as AEAD associated data: a ciphertext copied onto
//! another owner's row fails to open. The stored ciphertext carries the 16-byte GCM tag
//! at its end; the key id beside it says which held key opens it.

use ring::aead::{Aad, Nonce, NONCE_LEN};
use ryze_domain::{KeyId, SealedSecret, SecretOwner};
use ryze_ports::{SecretVault, VaultError};
use secrecy::zeroize::Zeroize;
use secrecy::{ExposeSecret, SecretString};

use crate::KeyRing;

/// The vault: seals with the ring's current key, opens with any key it holds.
#[derive(Debug)]
pub struct AesGcmVault {
    keys: KeyRing,
}

impl AesGcmVault {
    pub fn new(keys: KeyRing) -> Self {
        Self { keys }
    }

    /// The keys this vault holds.
    pub fn key_ring(&self) -> &KeyRing {
        &self.keys
    }
}

impl SecretVault for AesGcmVault {
    fn seal(
        &self,
        plaintext: &SecretString,
        owner: &SecretOwner,
    ) -> Result<SealedSecret, VaultError> {
        let key = &self.keys.current;
        let mut nonce = [0u8; NONCE_LEN];
        ryze_random::fill_random(&mut nonce).map_err(|_| VaultError::SealFailed)?;

        let plaintext = plaintext.expose_secret().as_bytes();
        // Room for the tag up front, so appending it never leaves a stray copy of the
        // plaintext behind in a reallocated buffer.
        let mut buffer = Vec::with_capacity(plaintext.len() + key.aead_key().algorithm().tag_len());
        buffer.extend_from_slice(plaintext);
        if key
            .aead_key()
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(owner.associated_data()),
                &mut buffer,
            )
            .is_err()
        {
            buffer.zeroize();
            return Err(VaultError::SealFailed);
        }
        Ok(SealedSecret {
            key_id: key.id().clone(),
            nonce: nonce.to_vec(),
            ciphertext: buffer,
        })
    }

    fn open(&self, sealed: &SealedSecret, owner: &SecretOwner) -> Result<SecretString, VaultError> {
        let key = self
            .keys
            .find(&sealed.key_id)
            .ok_or_else(|| VaultError::UnknownKey(sealed.key_id.clone()))?;
        let nonce = Nonce::try_assume_unique_for_key(&sealed.nonce)
            .map_err(|_| VaultError::Undecryptable)?;

        let mut buffer = sealed.ciphertext.clone();
        let opened = key
            .aead_key()
            .open_in_place(nonce, Aad::from(owner.associated_data()), &mut buffer)
            .map_err(|_| VaultError::Undecryptable)
            .and_then(|plaintext| {
                std::str::from_utf8(plaintext)
                    .map(SecretString::from)
                    .map_err(|_| VaultError::Undecryptable)
            });
        buffer.zeroize();
        opened
    }

    fn current_key_id(&self) -> KeyId {
        self.keys.current.id().clone()
    }
}

#[cfg(test)]
mod tests {
    use ryze_domain::InstanceId;

    use super::*;
    use crate::MasterKey;

    const TOKEN: &str = "sk_live_chatwoot_token_123";

    fn owner(id: &str) -> SecretOwner {
        SecretOwner::chatwoot_api_token(&InstanceId::new(id))
    }

    fn secret(text: &str) -> SecretString {
        SecretString::from(text)
    }

    fn fresh_vault() -> AesGcmVault {
        AesGcmVault::new(KeyRing::new(MasterKey::generate().unwrap()))
    }

    #[test]
    fn sealed_secret_opens_back_to_the_plaintext() {
        let vault = fresh_vault();
        let sealed = vault.seal(&secret(TOKEN), &owner("ins_1")).unwrap();
        assert_eq!(sealed.key_id, vault.current_key_id());
        assert_eq!(sealed.nonce.len(), NONCE_LEN);
        assert_eq!(sealed.ciphertext.len(), TOKEN.len() + 16);
        assert!(!sealed
            .ciphertext
            .windows(TOKEN.len())
            .any(|window| window == TOKEN.as_bytes()));
        let opened = vault.open(&sealed, &owner("ins_1")).unwrap();
        assert_eq!(opened.expose_secret(), TOKEN);
    }

    #[test]
    fn empty_and_unicode_secrets_round_trip() {
        let vault = fresh_vault();
        for text in ["", "ünïcødé-tøken-✓"] {
            let sealed = vault.seal(&secret(text), &owner("ins_1")).unwrap();
            assert_eq!(
                vault
                    .open(&sealed, &owner("ins_1"))
                    .unwrap()
                    .expose_secret(),
                text
            );
        }
    }

    #[test]
    fn two_seals_of_the_same_plaintext_differ() {
        let vault = fresh_vault();
        let first = vault.seal(&secret(TOKEN), &owner("ins_1")).unwrap();
        let second = vault.seal(&secret(TOKEN), &owner("ins_1")).unwrap();
        assert_ne!(first.nonce, second.nonce);
        assert_ne!(first.ciphertext, second.ciphertext);
    }

    #[test]
    fn ciphertext_copied_to_another_owner_does_not_open() {
        let vault = fresh_vault();
        let sealed = vault.seal(&secret(TOKEN), &owner("ins_1")).unwrap();
        assert_eq!(
            vault.open(&sealed, &owner("ins_2")).unwrap_err(),
            VaultError::Undecryptable
        );
    }

    #[test]
    fn any_flipped_bit_of_ciphertext_or_nonce_is_detected() {
        let vault = fresh_vault();
        let sealed = vault.seal(&secret(TOKEN), &owner("ins_1")).unwrap();
        for byte in 0..sealed.ciphertext.len() {
            let mut tampered = sealed.clone();
            tampered.ciphertext[byte] ^= 0x01;
            assert_eq!(
                vault.open(&tampered, &owner("ins_1")).unwrap_err(),
                VaultError::Undecryptable,
                "byte {byte}"
            );
        }
        let mut tampered = sealed.clone();
        tampered.nonce[0] ^= 0x80;
        assert_eq!(
            vault.open(&tampered, &owner("ins_1")).unwrap_err(),
            VaultError::Undecryptable
        );
        let mut truncated = sealed;
        truncated.nonce.pop();
        assert_eq!(
            vault.open(&truncated, &owner("ins_1")).unwrap_err(),
            VaultError::Undecryptable
        );
    }

    #[test]
    fn secret_sealed_with_a_key_not_held_reports_its_key_id() {
        let sealed = fresh_vault().seal(&secret(TOKEN), &owner("ins_1")).unwrap();
        let other_vault = fresh_vault();
        assert_eq!(
            other_vault.open(&sealed, &owner("ins_1")).unwrap_err(),
            VaultError::UnknownKey(sealed.key_id.clone())
        );
    }

    #[test]
    fn old_secret_opens_through_previous_key_and_reseals_under_the_current_one() {
        let old_key = MasterKey::generate().unwrap();
        let old_vault = AesGcmVault::new(KeyRing::new(old_key.clone()));
        let sealed_before_rotation = old_vault.seal(&secret(TOKEN), &owner("ins_1")).unwrap();

        let new_key = MasterKey::generate().unwrap();
        let rotated_vault =
            AesGcmVault::new(KeyRing::new(old_key.clone()).rotated(new_key.clone()));
        let opened = rotated_vault
            .open(&sealed_before_rotation, &owner("ins_1"))
            .unwrap();
        assert_eq!(opened.expose_secret(), TOKEN);

        let resealed = rotated_vault.seal(&opened, &owner("ins_1")).unwrap();
        assert_eq!(&resealed.key_id, new_key.id());
        assert_ne!(resealed.key_id, sealed_before_rotation.key_id);
        let new_only_vault = AesGcmVault::new(KeyRing::new(new_key));
        assert_eq!(
            new_only_vault
                .open(&resealed, &owner("ins_1"))
                .unwrap()
                .expose_secret(),
            TOKEN
        );
    }

    #[test]
    fn debug_output_holds_key_ids_but_no_key_material() {
        let key = MasterKey::generate().unwrap();
        let exported = key.export_base64();
        let vault = AesGcmVault::new(KeyRing::new(key.clone()));
        let debug = format!("{vault:?}");
        assert!(debug.contains(key.id().as_str()));
        assert!(!debug.contains(exported.expose_secret()));
    }
}
