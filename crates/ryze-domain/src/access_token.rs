//! Access tokens (TokenAccount and TokenInstance) and the only form in which they are
//! stored: a SHA-256 hash.
//!
//! Tokens are high-entropy random strings (or a caller-chosen instance token that must be
//! long enough), so a plain SHA-256 is the right tool: it is a lookup key, not a password
//! hash. The plaintext is shown once, at creation, and never kept.

use std::fmt;

use ring::digest;
use secrecy::{ExposeSecret, SecretString};

use crate::InvalidValue;

/// Shortest caller-chosen instance token we accept.
pub const CUSTOM_TOKEN_MIN_LEN: usize = 16;
/// Longest token we accept, chosen or presented.
pub const TOKEN_MAX_LEN: usize = 256;

/// A token as presented by a caller or freshly generated. Its `Debug` output is redacted.
#[derive(Clone)]
pub struct AccessToken(SecretString);

impl AccessToken {
    /// Wraps a freshly generated token. Generated tokens are always valid.
    pub fn generated(value: String) -> Self {
        Self(SecretString::from(value))
    }

    /// Validates a token the caller chose for a new instance.
    pub fn custom(value: &str) -> Result<Self, InvalidValue> {
        let length = value.chars().count();
        if !(CUSTOM_TOKEN_MIN_LEN..=TOKEN_MAX_LEN).contains(&length) {
            return Err(InvalidValue::new(format!(
                "must be between {CUSTOM_TOKEN_MIN_LEN} and {TOKEN_MAX_LEN} characters"
            )));
        }
        if !value.chars().all(|c| c.is_ascii_graphic()) {
            return Err(InvalidValue::new(
                "must contain only printable ASCII characters, without spaces",
            ));
        }
        Ok(Self(SecretString::from(value.to_owned())))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash::of(self.expose())
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(***)")
    }
}

/// Lower-case hex SHA-256 of a token: what the stores keep and look tokens up by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenHash(String);

impl TokenHash {
    pub fn of(token: &str) -> Self {
        Self(hex::encode(digest::digest(
            &digest::SHA256,
            token.as_bytes(),
        )))
    }

    /// Rebuilds a hash read back from storage.
    pub fn from_stored(hex_digest: impl Into<String>) -> Self {
        Self(hex_digest.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_stable_hex_sha256_and_never_the_token() {
        let hash = TokenHash::of("abc");
        assert_eq!(
            hash.as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(!hash.as_str().contains("abc"));
    }

    #[test]
    fn custom_tokens_must_be_long_enough_and_printable() {
        assert!(AccessToken::custom("short").is_err());
        assert!(AccessToken::custom("with a space in the middle").is_err());
        assert!(AccessToken::custom(&"x".repeat(TOKEN_MAX_LEN + 1)).is_err());
        assert!(AccessToken::custom("a-perfectly-fine-token-1234").is_ok());
    }

    #[test]
    fn debug_output_never_shows_the_token() {
        let token = AccessToken::custom("super-secret-token-value").unwrap();
        assert!(!format!("{token:?}").contains("super-secret"));
    }
}
