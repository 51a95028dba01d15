//! Rows as diesel reads and writes them, and their conversion to and from the domain.
//!
//! Reading a row validates every value through the domain's own constructors, so a row
//! that no longer satisfies the domain's rules (edited by hand, written by a buggy
//! version) becomes [`StoreError::Corrupt`] instead of an invalid value. The error names
//! the table, the row's id and the column, never the offending value.

use std::fmt::Display;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use ryze_domain::{
    Account, AccountId, AccountName, BridgeIntegrationId, ChatwootAccountId, ChatwootBaseUrl,
    ChatwootIntegration, ChatwootSettings, InboxName, Instance, InstanceId, InstanceName,
    IntegrationStatus, KeyId, RelayFlags, SealedSecret,
};
use ryze_ports::StoreError;

use crate::schema::{accounts, chatwoot_integrations, instances};

fn corrupt(table: &str, row_id: &str, column: &str, reason: impl Display) -> StoreError {
    StoreError::Corrupt(format!("{table} row {row_id}: {column}: {reason}"))
}

/// An instance quota as the `INTEGER` column holds it.
pub(crate) fn quota_column(quota: u32) -> Result<i32, StoreError> {
    i32::try_from(quota).map_err(|_| {
        StoreError::Query(format!(
            "an instance quota above {} cannot be stored",
            i32::MAX
        ))
    })
}

fn quota_from_column(account_id: &str, quota: i32) -> Result<u32, StoreError> {
    u32::try_from(quota).map_err(|_| corrupt("accounts", account_id, "instance_quota", "negative"))
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = accounts, check_for_backend(diesel::sqlite::Sqlite))]
pub(crate) struct AccountRow {
    pub id: String,
    pub name: String,
    pub instance_quota: Option<i32>,
    pub created_at: DateTime<Utc>,
}

impl AccountRow {
    pub fn into_domain(self) -> Result<Account, StoreError> {
        let name = AccountName::parse(&self.name)
            .map_err(|error| corrupt("accounts", &self.id, "name", error))?;
        let instance_quota = self
            .instance_quota
            .map(|quota| quota_from_column(&self.id, quota))
            .transpose()?;
        Ok(Account {
            id: AccountId::new(self.id),
            name,
            instance_quota,
            created_at: self.created_at,
        })
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = instances, check_for_backend(diesel::sqlite::Sqlite))]
pub(crate) struct InstanceRow {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl InstanceRow {
    pub fn into_domain(self) -> Result<Instance, StoreError> {
        let name = InstanceName::parse(&self.name)
            .map_err(|error| corrupt("instances", &self.id, "name", error))?;
        Ok(Instance {
            id: InstanceId::new(self.id),
            account_id: AccountId::new(self.account_id),
            name,
            created_at: self.created_at,
        })
    }
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = chatwoot_integrations, check_for_backend(diesel::sqlite::Sqlite))]
pub(crate) struct IntegrationRow {
    pub instance_id: String,
    pub base_url: String,
    pub chatwoot_account_id: i64,
    pub inbox_name: String,
    pub inbox_id: Option<i64>,
    pub sign_messages: bool,
    pub ignore_groups: bool,
    pub start_as_pending: bool,
    pub reopen_resolved: bool,
    pub bridge_integration_id: String,
    pub status: String,
    pub last_error: String,
    pub api_token_key_id: String,
    pub api_token_nonce: Vec<u8>,
    pub api_token_ciphertext: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<ChatwootIntegration> for IntegrationRow {
    fn from(integration: ChatwootIntegration) -> Self {
        let ChatwootIntegration {
            instance_id,
            settings,
            api_token,
            bridge_integration_id,
            inbox_id,
            status,
            last_error,
            created_at,
            updated_at,
        } = integration;
        Self {
            instance_id: instance_id.into_string(),
            base_url: settings.base_url.as_str().to_owned(),
            chatwoot_account_id: settings.account_id.get(),
            inbox_name: settings.inbox_name.as_str().to_owned(),
            inbox_id,
            sign_messages: settings.flags.sign_messages,
            ignore_groups: settings.flags.ignore_groups,
            start_as_pending: settings.flags.start_as_pending,
            reopen_resolved: settings.flags.reopen_resolved,
            bridge_integration_id: bridge_integration_id.into_string(),
            status: status.as_str().to_owned(),
            last_error,
            api_token_key_id: api_token.key_id.as_str().to_owned(),
            api_token_nonce: api_token.nonce,
            api_token_ciphertext: api_token.ciphertext,
            created_at,
            updated_at,
        }
    }
}

impl IntegrationRow {
    pub fn into_domain(self) -> Result<ChatwootIntegration, StoreError> {
        let invalid = |column: &str, error| {
            corrupt("chatwoot_integrations", &self.instance_id, column, error)
        };
        let settings = ChatwootSettings {
            base_url: ChatwootBaseUrl::parse(&self.base_url)
                .map_err(|error| invalid("base_url", error))?,
            account_id: ChatwootAccountId::new(self.chatwoot_account_id)
                .map_err(|error| invalid("chatwoot_account_id", error))?,
            inbox_name: InboxName::parse(Some(&self.inbox_name))
                .map_err(|error| invalid("inbox_name", error))?,
            flags: RelayFlags {
                sign_messages: self.sign_messages,
                ignore_groups: self.ignore_groups,
                start_as_pending: self.start_as_pending,
                reopen_resolved: self.reopen_resolved,
            },
        };
        let status = self
            .status
            .parse::<IntegrationStatus>()
            .map_err(|error| invalid("status", error))?;
        Ok(ChatwootIntegration {
            instance_id: InstanceId::new(self.instance_id),
            settings,
            api_token: SealedSecret {
                key_id: KeyId::new(self.api_token_key_id),
                nonce: self.api_token_nonce,
                ciphertext: self.api_token_ciphertext,
            },
            bridge_integration_id: BridgeIntegrationId::new(self.bridge_integration_id),
            inbox_id: self.inbox_id,
            status,
            last_error: self.last_error,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = chatwoot_integrations, check_for_backend(diesel::sqlite::Sqlite))]
pub(crate) struct SealedSecretRow {
    pub instance_id: String,
    pub api_token_key_id: String,
    pub api_token_nonce: Vec<u8>,
    pub api_token_ciphertext: Vec<u8>,
}

impl SealedSecretRow {
    pub fn into_domain(self) -> (InstanceId, SealedSecret) {
        (
            InstanceId::new(self.instance_id),
            SealedSecret {
                key_id: KeyId::new(self.api_token_key_id),
                nonce: self.api_token_nonce,
                ciphertext: self.api_token_ciphertext,
            },
        )
    }
}
