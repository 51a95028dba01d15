//! Accounts: the tenant that owns instances, created by an operator command.

use chrono::{DateTime, Utc};

use crate::{AccountId, InvalidValue};

/// A human-readable account name (1–100 characters, trimmed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountName(String);

impl AccountName {
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        let trimmed = value.trim();
        if trimmed.is_empty() || trimmed.chars().count() > 100 {
            return Err(InvalidValue::new("must be 1 to 100 characters"));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub name: AccountName,
    /// Most instances the account may hold; `None` means no limit.
    pub instance_quota: Option<u32>,
    pub created_at: DateTime<Utc>,
}
