//! The Chatwoot integration of one instance, as the control plane keeps it.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use crate::{BridgeIntegrationId, ChatwootSettings, InstanceId, InvalidValue, SealedSecret};

/// State of an integration as the API reports it (`list`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntegrationStatus {
    Active,
    Paused,
    Error,
}

impl IntegrationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IntegrationStatus::Active => "active",
            IntegrationStatus::Paused => "paused",
            IntegrationStatus::Error => "error",
        }
    }
}

impl fmt::Display for IntegrationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for IntegrationStatus {
    type Err = InvalidValue;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "active" => Ok(IntegrationStatus::Active),
            "paused" => Ok(IntegrationStatus::Paused),
            "error" => Ok(IntegrationStatus::Error),
            other => Err(InvalidValue::new(format!(
                "unknown integration status {other:?} (expected active, paused or error)"
            ))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatwootIntegration {
    pub instance_id: InstanceId,
    pub settings: ChatwootSettings,
    /// The Chatwoot API token, sealed by the vault for this instance.
    pub api_token: SealedSecret,
    pub bridge_integration_id: BridgeIntegrationId,
    /// Known once the bridge has created or found the inbox.
    pub inbox_id: Option<i64>,
    pub status: IntegrationStatus,
    /// `""` when healthy.
    pub last_error: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips_through_its_text() {
        for status in [
            IntegrationStatus::Active,
            IntegrationStatus::Paused,
            IntegrationStatus::Error,
        ] {
            assert_eq!(status.as_str().parse::<IntegrationStatus>(), Ok(status));
        }
        assert!("activ".parse::<IntegrationStatus>().is_err());
    }
}
