//! Who may do what: turning a presented token into a [`Principal`], and a principal plus
//! an instance name into the instance it may act on.
//!
//! Rules (docs/contract.md §2): a missing or unknown token is refused before anything else; an
//! account token sees only its account's instances, and an instance it cannot see is
//! "not found" whether or not another account has one by that name; an instance token
//! used on any other instance name is refused the same way whether that instance exists
//! or not. Nothing here reveals another account's instances.

use ryze_domain::{Instance, InstanceName, Principal, TokenHash};
use ryze_ports::StoreError;

use crate::errors::INTERNAL_ERROR_PREFIX;
use crate::ControlPlane;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("Missing token")]
    MissingToken,
    #[error("Invalid token")]
    InvalidToken,
    #[error("{INTERNAL_ERROR_PREFIX}: {0}")]
    Store(StoreError),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstanceAccessError {
    #[error("instance not found")]
    NotFound,
    #[error("Instance token does not match instance {requested} — use that instance's token or the account token")]
    TokenForAnotherInstance { requested: String },
    #[error("{INTERNAL_ERROR_PREFIX}: {0}")]
    Store(#[from] StoreError),
}

impl ControlPlane {
    /// Resolves the token sent with a request. Blank counts as missing. A token found in
    /// the last [`READ_CACHE_TTL`](crate::READ_CACHE_TTL) is not looked up again
    /// (`read_cache`).
    pub async fn authenticate(&self, presented: Option<&str>) -> Result<Principal, AuthError> {
        let presented = presented.map(str::trim).unwrap_or_default();
        if presented.is_empty() {
            return Err(AuthError::MissingToken);
        }
        if presented.len() > ryze_domain::access_token::TOKEN_MAX_LEN {
            return Err(AuthError::InvalidToken);
        }
        let hash = TokenHash::of(presented);
        let cache = &self.read_cache.principals;
        if let Some(principal) = cache.fresh(&hash) {
            return Ok(principal);
        }
        let generation = cache.generation();
        let principal = self
            .store
            .find_principal_by_token_hash(&hash)
            .await
            .map_err(AuthError::Store)?
            .ok_or(AuthError::InvalidToken)?;
        cache.keep(hash, principal.clone(), generation);
        Ok(principal)
    }

    /// The instance named `requested_name` if `principal` may act on it (an account's
    /// instance found in the last [`READ_CACHE_TTL`](crate::READ_CACHE_TTL) is not looked
    /// up again).
    pub(crate) async fn instance_for(
        &self,
        principal: &Principal,
        requested_name: &str,
    ) -> Result<Instance, InstanceAccessError> {
        match principal {
            Principal::Instance(own) => {
                if own.name.as_str() == requested_name {
                    Ok(own.clone())
                } else {
                    Err(InstanceAccessError::TokenForAnotherInstance {
                        requested: requested_name.to_owned(),
                    })
                }
            }
            Principal::Account(account) => {
                let Ok(name) = InstanceName::parse(requested_name) else {
                    return Err(InstanceAccessError::NotFound);
                };
                let key = (account.id.clone(), name);
                let cache = &self.read_cache.instances;
                if let Some(instance) = cache.fresh(&key) {
                    return Ok(instance);
                }
                let generation = cache.generation();
                let instance = self
                    .store
                    .find_instance(&key.0, &key.1)
                    .await?
                    .ok_or(InstanceAccessError::NotFound)?;
                cache.keep(key, instance.clone(), generation);
                Ok(instance)
            }
        }
    }
}
