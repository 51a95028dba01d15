//! The operating system's cryptographically secure random number generator, in one
//! place: random bytes, prefixed hexadecimal ids and URL-safe tokens. Every id, token,
//! secret, key and nonce of the workspace is drawn here.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::rand::{SecureRandom, SystemRandom};

/// The operating system refused to give random bytes. Nothing was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the system random number generator is unavailable")]
pub struct RandomnessUnavailable;

/// Fills `buffer` with random bytes.
pub fn fill_random(buffer: &mut [u8]) -> Result<(), RandomnessUnavailable> {
    SystemRandom::new()
        .fill(buffer)
        .map_err(|_| RandomnessUnavailable)
}

/// `N` random bytes.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], RandomnessUnavailable> {
    let mut bytes = [0u8; N];
    fill_random(&mut bytes)?;
    Ok(bytes)
}

/// `prefix` and 96 random bits as 24 lowercase hex digits (`ins_5f…`).
pub fn prefixed_hex_id(prefix: &str) -> Result<String, RandomnessUnavailable> {
    let bytes: [u8; 12] = random_bytes()?;
    let mut id = String::with_capacity(prefix.len() + 24);
    id.push_str(prefix);
    for byte in bytes {
        id.push_str(&format!("{byte:02x}"));
    }
    Ok(id)
}

/// 256 random bits, URL-safe base64 without padding (43 characters).
pub fn url_safe_token() -> Result<String, RandomnessUnavailable> {
    let bytes: [u8; 32] = random_bytes()?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_tokens_have_their_shape_and_differ() {
        let id = prefixed_hex_id("ins_").unwrap();
        assert!(id.starts_with("ins_"));
        assert_eq!(id.len(), 4 + 24);
        assert!(id[4..].bytes().all(|byte| byte.is_ascii_hexdigit()));
        assert_ne!(id, prefixed_hex_id("ins_").unwrap());

        let token = url_safe_token().unwrap();
        assert_eq!(token.len(), 43);
        assert!(token
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'));
        assert_ne!(token, url_safe_token().unwrap());
        assert_ne!(random_bytes::<16>().unwrap(), [0u8; 16]);
    }
}
