//! A master key: 32 bytes for AES-256-GCM, with an id derived from the key itself.
//!
//! Configuration gives a key as 64 hexadecimal characters or as base64 (standard or
//! URL-safe alphabet, padded or not) of exactly 32 bytes. The id is the first 16 hex
//! characters of SHA-256 over a fixed label and the key bytes: stable, different for
//! every key, and revealing nothing usable about the key.

use std::fmt;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use ring::aead::{LessSafeKey, UnboundKey, AES_256_GCM};
use ring::digest;
use ryze_domain::KeyId;
use secrecy::zeroize::Zeroize;
use secrecy::{ExposeSecret, ExposeSecretMut, SecretBox, SecretString};

/// Length of an AES-256 key in bytes.
pub(crate) const MASTER_KEY_LEN: usize = 32;
/// Hex characters of the SHA-256 kept as the key id.
const KEY_ID_HEX_LEN: usize = 16;
/// Domain separation for the key id hash, so the id is not a plain hash of the key.
const KEY_ID_LABEL: &[u8] = b"ryze-vault/master-key-id/v1\0";

const BASE64_CONFIG: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const BASE64_STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, BASE64_CONFIG);
const BASE64_URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, BASE64_CONFIG);

/// One AES-256-GCM master key. `Debug` shows only its id.
pub struct MasterKey {
    id: KeyId,
    bytes: SecretBox<[u8; MASTER_KEY_LEN]>,
    aead_key: LessSafeKey,
}

impl MasterKey {
    /// Parses a key from configuration: 64 hex characters, or base64 of 32 bytes.
    /// Surrounding whitespace is ignored. The error never repeats the text.
    pub fn parse(text: &str) -> Result<Self, KeyParseError> {
        parse_key_bytes(text.trim())
            .map(Self::from_bytes)
            .map_err(|problem| KeyParseError {
                role: KeyRole::Current,
                problem,
            })
    }

    /// A new key from the system's secure random number generator.
    pub fn generate() -> Result<Self, RandomnessUnavailable> {
        let mut bytes = SecretBox::new(Box::new([0u8; MASTER_KEY_LEN]));
        ryze_random::fill_random(bytes.expose_secret_mut()).map_err(|_| RandomnessUnavailable)?;
        Ok(Self::from_bytes(bytes))
    }

    /// The id stored beside every secret this key seals.
    pub fn id(&self) -> &KeyId {
        &self.id
    }

    /// The key as padded standard base64, for writing a key file or showing a freshly
    /// generated key once to an operator. Never log it.
    pub fn export_base64(&self) -> SecretString {
        SecretString::from(BASE64_STANDARD.encode(self.bytes.expose_secret()))
    }

    pub(crate) fn aead_key(&self) -> &LessSafeKey {
        &self.aead_key
    }

    fn from_bytes(bytes: SecretBox<[u8; MASTER_KEY_LEN]>) -> Self {
        let id = derive_key_id(bytes.expose_secret());
        // Infallible: UnboundKey::new only fails when the length does not match the
        // algorithm, and the array type fixes it at AES-256's 32 bytes.
        let unbound = UnboundKey::new(&AES_256_GCM, bytes.expose_secret())
            .expect("a 32-byte key is always a valid AES-256-GCM key");
        Self {
            id,
            bytes,
            aead_key: LessSafeKey::new(unbound),
        }
    }
}

impl Clone for MasterKey {
    fn clone(&self) -> Self {
        Self {
            id: self.id.clone(),
            bytes: SecretBox::new(Box::new(*self.bytes.expose_secret())),
            aead_key: self.aead_key.clone(),
        }
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id.as_str())
            .finish_non_exhaustive()
    }
}

fn derive_key_id(key: &[u8; MASTER_KEY_LEN]) -> KeyId {
    let mut context = digest::Context::new(&digest::SHA256);
    context.update(KEY_ID_LABEL);
    context.update(key);
    let mut id = hex::encode(context.finish());
    id.truncate(KEY_ID_HEX_LEN);
    KeyId::new(id)
}

fn parse_key_bytes(text: &str) -> Result<SecretBox<[u8; MASTER_KEY_LEN]>, KeyParseProblem> {
    if text.is_empty() {
        return Err(KeyParseProblem::Empty);
    }
    // Hex first: a hex string is also valid base64, but means its hex reading.
    let all_hex_digits = text.bytes().all(|byte| byte.is_ascii_hexdigit());
    let mut decoded = all_hex_digits
        .then(|| hex::decode(text).ok())
        .flatten()
        .or_else(|| BASE64_STANDARD.decode(text).ok())
        .or_else(|| BASE64_URL_SAFE.decode(text).ok())
        .ok_or(KeyParseProblem::NotHexOrBase64)?;
    let result = <[u8; MASTER_KEY_LEN]>::try_from(decoded.as_slice())
        .map(|array| SecretBox::new(Box::new(array)))
        .map_err(|_| KeyParseProblem::WrongLength {
            decoded_len: decoded.len(),
        });
    decoded.zeroize();
    result
}

/// Which configured key a parse error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRole {
    Current,
    /// 1-based position in the list of previous keys.
    Previous {
        position: usize,
    },
}

impl fmt::Display for KeyRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyRole::Current => f.write_str("the master key"),
            KeyRole::Previous { position } => write!(f, "previous master key #{position}"),
        }
    }
}

/// What is wrong with a configured key. Never contains the key text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyParseProblem {
    #[error("is empty; give 32 random bytes as 64 hexadecimal characters or as base64 (for example the output of `openssl rand -base64 32`)")]
    Empty,
    #[error("is neither 64 hexadecimal characters nor base64; give 32 random bytes, for example the output of `openssl rand -base64 32`")]
    NotHexOrBase64,
    #[error("decodes to {decoded_len} bytes, but AES-256 needs exactly 32 (64 hexadecimal characters or 44 base64 characters)")]
    WrongLength { decoded_len: usize },
}

/// A configured master key could not be read. The text names the key by its role, never
/// by its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{role} {problem}")]
pub struct KeyParseError {
    pub role: KeyRole,
    pub problem: KeyParseProblem,
}

impl KeyParseError {
    /// The same problem, attributed to another key of the configuration.
    pub(crate) fn for_role(self, role: KeyRole) -> Self {
        Self { role, ..self }
    }
}

/// The system's secure random number generator failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the system's secure random number generator failed")]
pub struct RandomnessUnavailable;

#[cfg(test)]
mod tests {
    use super::*;

    const HEX_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn raw_bytes(key: &MasterKey) -> [u8; MASTER_KEY_LEN] {
        *key.bytes.expose_secret()
    }

    #[test]
    fn hex_and_every_base64_form_of_the_same_bytes_give_the_same_key() {
        let from_hex = MasterKey::parse(HEX_KEY).unwrap();
        let bytes: Vec<u8> = (0u8..32).collect();
        let standard = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let standard_no_pad = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&bytes);
        let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([0xfbu8; 32]);

        for text in [
            standard.as_str(),
            standard_no_pad.as_str(),
            &format!("  {HEX_KEY}\n"),
            &HEX_KEY.to_uppercase(),
        ] {
            let key = MasterKey::parse(text).unwrap();
            assert_eq!(raw_bytes(&key), raw_bytes(&from_hex), "{text}");
            assert_eq!(key.id(), from_hex.id());
        }
        assert_eq!(
            raw_bytes(&MasterKey::parse(&url_safe).unwrap()),
            [0xfbu8; 32]
        );
    }

    #[test]
    fn wrong_lengths_and_junk_are_refused_without_echoing_the_text() {
        let cases = [
            ("", KeyParseProblem::Empty),
            ("   ", KeyParseProblem::Empty),
            ("0011", KeyParseProblem::WrongLength { decoded_len: 2 }),
            (
                &HEX_KEY[..62],
                KeyParseProblem::WrongLength { decoded_len: 31 },
            ),
            (
                "c2hvcnQta2V5LXNlY3JldA==",
                KeyParseProblem::WrongLength { decoded_len: 16 },
            ),
            ("not a key at all!", KeyParseProblem::NotHexOrBase64),
            ("secret-junk-value\u{e9}", KeyParseProblem::NotHexOrBase64),
        ];
        for (text, expected) in cases {
            let error = MasterKey::parse(text).unwrap_err();
            assert_eq!(error.problem, expected, "{text:?}");
            assert_eq!(error.role, KeyRole::Current);
            let message = error.to_string();
            assert!(message.starts_with("the master key "), "{message}");
            if !text.trim().is_empty() {
                assert!(!message.contains(text.trim()), "{message}");
                assert!(!format!("{error:?}").contains(text.trim()));
            }
        }
    }

    #[test]
    fn key_id_is_16_hex_characters_distinct_per_key_and_not_a_prefix_of_the_key() {
        let first = MasterKey::parse(HEX_KEY).unwrap();
        let second = MasterKey::generate().unwrap();
        assert_eq!(first.id().as_str().len(), 16);
        assert!(first.id().as_str().bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(first.id(), second.id());
        assert!(!HEX_KEY.starts_with(first.id().as_str()));
        assert_eq!(MasterKey::parse(HEX_KEY).unwrap().id(), first.id());
    }

    #[test]
    fn debug_shows_only_the_id_and_export_round_trips() {
        let key = MasterKey::generate().unwrap();
        let exported = key.export_base64();
        let debug = format!("{key:?}");
        assert!(debug.contains(key.id().as_str()));
        assert!(!debug.contains(exported.expose_secret()));
        assert!(!debug.contains(&hex::encode(raw_bytes(&key))));
        let reparsed = MasterKey::parse(exported.expose_secret()).unwrap();
        assert_eq!(raw_bytes(&reparsed), raw_bytes(&key));
        assert_eq!(raw_bytes(&key.clone()), raw_bytes(&key));
    }
}
