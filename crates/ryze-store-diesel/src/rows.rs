//! Rows as diesel reads and writes them, and their conversion to and from the domain.
//!
//! Reading a row validates every value through the domain's own constructors, so a row
//! that no longer satisfies the domain's rules (edited by hand, written by a buggy
//! version) becomes [`StoreError::Corrupt`] instead of an invalid value. The error names
//! the table, the row's id and the column, never the offending value.
//!
//! Fields are plain Rust types; timestamps go through [`StoredTimestamp`] on their way in
//! and out, so the same rows serve both backends.

use std::fmt::Display;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use ryze_domain::{
    Account, AccountId, AccountName, BridgeIntegration, BridgeIntegrationId, ChatwootAccountId,
    ChatwootBaseUrl, ChatwootIntegration, ChatwootSettings, InboxName, Instance, InstanceId,
    InstanceName, IntegrationStatus, InvalidValue, KeyId, RelayFlags, SealedSecret,
};
use ryze_ports::{
    EventSequence, HubCursor, HubEvent, StoreError, StoredSealedSecret, StoredWebhookSigningSecret,
};

use crate::schema::{
    accounts, bridge_integrations, chatwoot_integrations, hub_cursors, hub_events, instances,
};
use crate::sql_types::StoredTimestamp;

pub(crate) fn corrupt(table: &str, row_id: &str, column: &str, reason: impl Display) -> StoreError {
    StoreError::Corrupt(format!("{table} row {row_id}: {column}: {reason}"))
}

/// An instance quota as the `INTEGER` column holds it.
pub fn quota_column(quota: u32) -> Result<i32, StoreError> {
    i32::try_from(quota).map_err(|_| {
        StoreError::Query(format!(
            "an instance quota above {} cannot be stored",
            i32::MAX
        ))
    })
}

/// An instance quota read from the `INTEGER` column of the account `account_id`; a
/// negative one is corrupt.
pub fn quota_from_column(account_id: &str, quota: i32) -> Result<u32, StoreError> {
    u32::try_from(quota).map_err(|_| corrupt("accounts", account_id, "instance_quota", "negative"))
}

/// An `accounts` row as read back (never its token hash).
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = accounts)]
pub struct AccountRow {
    pub id: String,
    pub name: String,
    pub instance_quota: Option<i32>,
    #[diesel(deserialize_as = StoredTimestamp)]
    pub created_at: DateTime<Utc>,
}

impl AccountRow {
    /// The account, validated by the domain.
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

/// An `instances` row as read back (never its token hash).
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = instances)]
pub struct InstanceRow {
    pub id: String,
    pub account_id: String,
    pub name: String,
    #[diesel(deserialize_as = StoredTimestamp)]
    pub created_at: DateTime<Utc>,
}

impl InstanceRow {
    /// The instance, validated by the domain.
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

/// A `chatwoot_integrations` row, read and written whole.
#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = chatwoot_integrations)]
pub struct IntegrationRow {
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
    #[diesel(deserialize_as = StoredTimestamp, serialize_as = StoredTimestamp)]
    pub created_at: DateTime<Utc>,
    #[diesel(deserialize_as = StoredTimestamp, serialize_as = StoredTimestamp)]
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
    /// The integration, validated by the domain.
    pub fn into_domain(self) -> Result<ChatwootIntegration, StoreError> {
        let invalid = |column: &str, error| {
            corrupt("chatwoot_integrations", &self.instance_id, column, error)
        };
        let flags = RelayFlags {
            sign_messages: self.sign_messages,
            ignore_groups: self.ignore_groups,
            start_as_pending: self.start_as_pending,
            reopen_resolved: self.reopen_resolved,
        };
        let settings = settings_from_columns(
            &self.base_url,
            self.chatwoot_account_id,
            &self.inbox_name,
            flags,
            invalid,
        )?;
        let status = status_from_column(&self.status, invalid)?;
        Ok(ChatwootIntegration {
            instance_id: InstanceId::new(self.instance_id),
            settings,
            api_token: sealed_secret(
                self.api_token_key_id,
                self.api_token_nonce,
                self.api_token_ciphertext,
            ),
            bridge_integration_id: BridgeIntegrationId::new(self.bridge_integration_id),
            inbox_id: self.inbox_id,
            status,
            last_error: self.last_error,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// A stored sealed secret as its table's columns hold it: holder id, instance id, key
/// id, nonce, ciphertext.
pub type StoredSealedSecretRow = (String, String, String, Vec<u8>, Vec<u8>);

/// The stored secret of a [`StoredSealedSecretRow`].
pub fn stored_sealed_secret(
    (holder_id, instance_id, key_id, nonce, ciphertext): StoredSealedSecretRow,
) -> StoredSealedSecret {
    StoredSealedSecret {
        holder_id,
        instance_id: InstanceId::new(instance_id),
        sealed: sealed_secret(key_id, nonce, ciphertext),
    }
}

/// The webhook signing secret columns of a `bridge_integrations` row: the inbox, then the
/// sealed secret; all set or all `NULL`.
pub type WebhookSigningSecretColumns = (
    Option<i64>,
    Option<String>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
);

/// The kept webhook signing secret of [`WebhookSigningSecretColumns`], if all are set.
pub fn webhook_signing_secret(
    (inbox_id, key_id, nonce, ciphertext): WebhookSigningSecretColumns,
) -> Option<StoredWebhookSigningSecret> {
    Some(StoredWebhookSigningSecret {
        inbox_id: inbox_id?,
        sealed: sealed_secret(key_id?, nonce?, ciphertext?),
    })
}

/// The [`WebhookSigningSecretColumns`] holding `secret` (all `NULL` for `None`).
pub fn webhook_signing_secret_columns(
    secret: Option<StoredWebhookSigningSecret>,
) -> WebhookSigningSecretColumns {
    match secret {
        Some(StoredWebhookSigningSecret { inbox_id, sealed }) => (
            Some(inbox_id),
            Some(sealed.key_id.as_str().to_owned()),
            Some(sealed.nonce),
            Some(sealed.ciphertext),
        ),
        None => (None, None, None, None),
    }
}

/// A `bridge_integrations` row, read and written whole.
#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = bridge_integrations)]
pub struct BridgeIntegrationRow {
    pub id: String,
    pub instance_id: String,
    pub instance_name: String,
    pub base_url: String,
    pub chatwoot_account_id: i64,
    pub inbox_name: String,
    pub inbox_id: Option<i64>,
    pub sign_messages: bool,
    pub ignore_groups: bool,
    pub start_as_pending: bool,
    pub reopen_resolved: bool,
    pub api_token_key_id: String,
    pub api_token_nonce: Vec<u8>,
    pub api_token_ciphertext: Vec<u8>,
    pub webhook_secret_key_id: String,
    pub webhook_secret_nonce: Vec<u8>,
    pub webhook_secret_ciphertext: Vec<u8>,
    pub status: String,
    pub last_error: String,
    #[diesel(deserialize_as = StoredTimestamp, serialize_as = StoredTimestamp)]
    pub created_at: DateTime<Utc>,
    #[diesel(deserialize_as = StoredTimestamp, serialize_as = StoredTimestamp)]
    pub updated_at: DateTime<Utc>,
}

impl From<BridgeIntegration> for BridgeIntegrationRow {
    fn from(integration: BridgeIntegration) -> Self {
        let BridgeIntegration {
            id,
            instance_id,
            instance_name,
            settings,
            api_token,
            webhook_secret,
            inbox_id,
            status,
            last_error,
            created_at,
            updated_at,
        } = integration;
        Self {
            id: id.into_string(),
            instance_id: instance_id.into_string(),
            instance_name: instance_name.as_str().to_owned(),
            base_url: settings.base_url.as_str().to_owned(),
            chatwoot_account_id: settings.account_id.get(),
            inbox_name: settings.inbox_name.as_str().to_owned(),
            inbox_id,
            sign_messages: settings.flags.sign_messages,
            ignore_groups: settings.flags.ignore_groups,
            start_as_pending: settings.flags.start_as_pending,
            reopen_resolved: settings.flags.reopen_resolved,
            api_token_key_id: api_token.key_id.as_str().to_owned(),
            api_token_nonce: api_token.nonce,
            api_token_ciphertext: api_token.ciphertext,
            webhook_secret_key_id: webhook_secret.key_id.as_str().to_owned(),
            webhook_secret_nonce: webhook_secret.nonce,
            webhook_secret_ciphertext: webhook_secret.ciphertext,
            status: status.as_str().to_owned(),
            last_error,
            created_at,
            updated_at,
        }
    }
}

impl BridgeIntegrationRow {
    /// The bridge's integration, validated by the domain.
    pub fn into_domain(self) -> Result<BridgeIntegration, StoreError> {
        let invalid = |column: &str, error| corrupt("bridge_integrations", &self.id, column, error);
        let instance_name = InstanceName::parse(&self.instance_name)
            .map_err(|error| invalid("instance_name", error))?;
        let flags = RelayFlags {
            sign_messages: self.sign_messages,
            ignore_groups: self.ignore_groups,
            start_as_pending: self.start_as_pending,
            reopen_resolved: self.reopen_resolved,
        };
        let settings = settings_from_columns(
            &self.base_url,
            self.chatwoot_account_id,
            &self.inbox_name,
            flags,
            invalid,
        )?;
        let status = status_from_column(&self.status, invalid)?;
        Ok(BridgeIntegration {
            id: BridgeIntegrationId::new(self.id),
            instance_id: InstanceId::new(self.instance_id),
            instance_name,
            settings,
            api_token: sealed_secret(
                self.api_token_key_id,
                self.api_token_nonce,
                self.api_token_ciphertext,
            ),
            webhook_secret: sealed_secret(
                self.webhook_secret_key_id,
                self.webhook_secret_nonce,
                self.webhook_secret_ciphertext,
            ),
            inbox_id: self.inbox_id,
            status,
            last_error: self.last_error,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// The Chatwoot settings a row's columns hold, validated by the domain; `invalid` makes
/// the row's error for a column that breaks a rule.
fn settings_from_columns(
    base_url: &str,
    chatwoot_account_id: i64,
    inbox_name: &str,
    flags: RelayFlags,
    invalid: impl Fn(&str, InvalidValue) -> StoreError,
) -> Result<ChatwootSettings, StoreError> {
    Ok(ChatwootSettings {
        base_url: ChatwootBaseUrl::parse(base_url).map_err(|error| invalid("base_url", error))?,
        account_id: ChatwootAccountId::new(chatwoot_account_id)
            .map_err(|error| invalid("chatwoot_account_id", error))?,
        inbox_name: InboxName::parse(Some(inbox_name))
            .map_err(|error| invalid("inbox_name", error))?,
        flags,
    })
}

/// An integration's status as its `status` column holds it.
fn status_from_column(
    status: &str,
    invalid: impl Fn(&str, InvalidValue) -> StoreError,
) -> Result<IntegrationStatus, StoreError> {
    status
        .parse::<IntegrationStatus>()
        .map_err(|error| invalid("status", error))
}

/// A sealed secret from its three columns.
fn sealed_secret(key_id: String, nonce: Vec<u8>, ciphertext: Vec<u8>) -> SealedSecret {
    SealedSecret {
        key_id: KeyId::new(key_id),
        nonce,
        ciphertext,
    }
}

/// A sequence as the hub's `BIGINT` columns hold it. One beyond `i64::MAX` becomes
/// `i64::MAX`: no stored sequence reaches it, so every comparison keeps its answer.
pub fn sequence_column(sequence: EventSequence) -> i64 {
    i64::try_from(sequence.get()).unwrap_or(i64::MAX)
}

/// A sequence read from `column` of the hub row `row_id` of `table`; a negative one is
/// corrupt.
pub fn sequence_from_column(
    table: &str,
    row_id: &str,
    column: &str,
    value: i64,
) -> Result<EventSequence, StoreError> {
    u64::try_from(value)
        .map(EventSequence::new)
        .map_err(|_| corrupt(table, row_id, column, "negative"))
}

/// A count (of rows, or a limit) as SQL takes it: one beyond `i64::MAX` becomes
/// `i64::MAX`, which no table reaches.
pub fn count_column(count: impl TryInto<i64>) -> i64 {
    count.try_into().unwrap_or(i64::MAX)
}

/// A row count as the ports report it (a count is never negative).
pub fn count_from_column(count: impl TryInto<u64>) -> u64 {
    count.try_into().unwrap_or(0)
}

/// A `hub_events` row of one instance, as read back (the instance is known).
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = hub_events)]
pub struct HubEventRow {
    pub sequence: i64,
    pub kind: String,
    pub payload: Vec<u8>,
    #[diesel(deserialize_as = StoredTimestamp)]
    pub received_at: DateTime<Utc>,
    pub traceparent: Option<String>,
}

impl HubEventRow {
    /// The event of the instance `instance_id`; a negative sequence is corrupt.
    pub fn into_event(self, instance_id: &str) -> Result<HubEvent, StoreError> {
        Ok(HubEvent {
            sequence: sequence_from_column("hub_events", instance_id, "sequence", self.sequence)?,
            kind: self.kind,
            payload: self.payload,
            received_at: self.received_at,
            traceparent: self.traceparent,
        })
    }
}

/// A `hub_cursors` row of one instance, as read back.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = hub_cursors)]
pub struct HubCursorRow {
    pub last_sequence: i64,
    pub acknowledged: i64,
    pub dropped_up_to: Option<i64>,
}

impl HubCursorRow {
    /// The cursor of the instance `instance_id`; a negative sequence is corrupt.
    pub fn into_cursor(self, instance_id: &str) -> Result<HubCursor, StoreError> {
        let sequence =
            |column, value| sequence_from_column("hub_cursors", instance_id, column, value);
        Ok(HubCursor {
            last_appended: sequence("last_sequence", self.last_sequence)?,
            acknowledged: sequence("acknowledged", self.acknowledged)?,
            dropped_up_to: self
                .dropped_up_to
                .map(|value| sequence("dropped_up_to", value))
                .transpose()?,
        })
    }
}
