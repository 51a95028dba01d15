//! Fresh random identifiers and access tokens, from the operating system's CSPRNG.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::rand::{SecureRandom, SystemRandom};
use ryze_domain::{AccessToken, AccountId, InstanceId};

/// The operating system refused to give random bytes. Nothing was created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the system random number generator is unavailable")]
pub struct RandomnessUnavailable;

fn random_bytes<const N: usize>() -> Result<[u8; N], RandomnessUnavailable> {
    let mut bytes = [0u8; N];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| RandomnessUnavailable)?;
    Ok(bytes)
}

fn prefixed_hex_id(prefix: &str) -> Result<String, RandomnessUnavailable> {
    let bytes: [u8; 12] = random_bytes()?;
    let mut id = String::with_capacity(prefix.len() + 24);
    id.push_str(prefix);
    for byte in bytes {
        id.push_str(&format!("{byte:02x}"));
    }
    Ok(id)
}

pub(crate) fn new_account_id() -> Result<AccountId, RandomnessUnavailable> {
    prefixed_hex_id("acc_").map(AccountId::new)
}

pub(crate) fn new_instance_id() -> Result<InstanceId, RandomnessUnavailable> {
    prefixed_hex_id("ins_").map(InstanceId::new)
}

/// 256 random bits, URL-safe, with a prefix that tells secret scanners what it is.
fn new_token(prefix: &str) -> Result<AccessToken, RandomnessUnavailable> {
    let bytes: [u8; 32] = random_bytes()?;
    Ok(AccessToken::generated(format!(
        "{prefix}{}",
        URL_SAFE_NO_PAD.encode(bytes)
    )))
}

pub(crate) fn new_account_token() -> Result<AccessToken, RandomnessUnavailable> {
    new_token("ryzeacc_")
}

pub(crate) fn new_instance_token() -> Result<AccessToken, RandomnessUnavailable> {
    new_token("ryzeins_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_tokens_are_prefixed_and_unique() {
        let first = new_instance_id().unwrap();
        let second = new_instance_id().unwrap();
        assert!(first.as_str().starts_with("ins_"));
        assert_eq!(first.as_str().len(), 4 + 24);
        assert_ne!(first, second);

        let token = new_account_token().unwrap();
        assert!(token.expose().starts_with("ryzeacc_"));
        assert_eq!(token.expose().len(), "ryzeacc_".len() + 43);
        assert_ne!(token.expose(), new_account_token().unwrap().expose());
    }
}
