//! Instances: one WhatsApp number of an account, named uniquely inside that account.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::{AccountId, InstanceId, InvalidValue};

/// Longest instance name we accept.
pub const INSTANCE_NAME_MAX_LEN: usize = 64;

/// An instance name: 1–64 characters among letters, digits, `-`, `_` and `.`, so that it
/// can stand in a URL path unescaped.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceName(String);

impl InstanceName {
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        if value.is_empty() || value.len() > INSTANCE_NAME_MAX_LEN {
            return Err(InvalidValue::new(format!(
                "must be 1 to {INSTANCE_NAME_MAX_LEN} characters"
            )));
        }
        if !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(InvalidValue::new(
                "may contain only letters, digits, '-', '_' and '.'",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InstanceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub id: InstanceId,
    pub account_id: AccountId,
    pub name: InstanceName,
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_url_safe() {
        assert!(InstanceName::parse("suporte").is_ok());
        assert!(InstanceName::parse("sales-2.br_x").is_ok());
        assert!(InstanceName::parse("").is_err());
        assert!(InstanceName::parse("has space").is_err());
        assert!(InstanceName::parse("a/b").is_err());
        assert!(InstanceName::parse(&"a".repeat(65)).is_err());
    }
}
