//! Creating accounts: an operator action (`ryze account create`), not an API route.

use chrono::Utc;
use ryze_domain::{AccessToken, Account, AccountName, InvalidValue};
use ryze_ports::{InsertAccountError, NewAccount, StoreError};

use crate::errors::INTERNAL_ERROR_PREFIX;
use crate::random_tokens::{new_account_id, new_account_token, RandomnessUnavailable};
use crate::ControlPlane;

/// A new account and its TokenAccount, which is shown this once and never stored.
#[derive(Debug)]
pub struct CreatedAccount {
    pub account: Account,
    pub token: AccessToken,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreateAccountError {
    #[error("invalid account name: {0}")]
    InvalidName(InvalidValue),
    #[error("invalid instance quota: must be at least 1 (leave it out for no limit)")]
    InvalidQuota,
    #[error("{INTERNAL_ERROR_PREFIX}: {0}")]
    Randomness(#[from] RandomnessUnavailable),
    #[error("{INTERNAL_ERROR_PREFIX}: {0}")]
    Store(#[from] StoreError),
}

/// Generated tokens collide with probability ~2^-256; still, a collision must not leave
/// the operator without an account, so we draw again a few times.
const TOKEN_ATTEMPTS: usize = 3;

impl ControlPlane {
    pub async fn create_account(
        &self,
        name: &str,
        instance_quota: Option<u32>,
    ) -> Result<CreatedAccount, CreateAccountError> {
        let name = AccountName::parse(name).map_err(CreateAccountError::InvalidName)?;
        if instance_quota == Some(0) {
            return Err(CreateAccountError::InvalidQuota);
        }
        let mut last_error = StoreError::Query("token collision".to_owned());
        for _ in 0..TOKEN_ATTEMPTS {
            let token = new_account_token()?;
            let new_account = NewAccount {
                id: new_account_id()?,
                name: name.clone(),
                token_hash: token.hash(),
                instance_quota,
                created_at: Utc::now(),
            };
            match self.store.insert_account(new_account).await {
                Ok(account) => {
                    tracing::info!(account_id = %account.id, "account created");
                    return Ok(CreatedAccount { account, token });
                }
                Err(InsertAccountError::TokenTaken) => continue,
                Err(InsertAccountError::Store(error)) => {
                    last_error = error;
                    break;
                }
            }
        }
        Err(CreateAccountError::Store(last_error))
    }
}
