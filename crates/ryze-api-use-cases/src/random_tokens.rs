//! Fresh random identifiers and access tokens, from the operating system's CSPRNG.

use ryze_domain::{AccessToken, AccountId, InstanceId};
pub use ryze_random::RandomnessUnavailable;
use ryze_random::{prefixed_hex_id, url_safe_token};

pub(crate) fn new_account_id() -> Result<AccountId, RandomnessUnavailable> {
    prefixed_hex_id("acc_").map(AccountId::new)
}

pub(crate) fn new_instance_id() -> Result<InstanceId, RandomnessUnavailable> {
    prefixed_hex_id("ins_").map(InstanceId::new)
}

/// 256 random bits, URL-safe, with a prefix that tells secret scanners what it is.
fn new_token(prefix: &str) -> Result<AccessToken, RandomnessUnavailable> {
    Ok(AccessToken::generated(format!(
        "{prefix}{}",
        url_safe_token()?
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
