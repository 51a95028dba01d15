//! Persistence of accounts, instances and integrations.
//!
//! Every implementation must pass the shared contract suite in
//! `ryze-store-contract-tests`; the behaviour documented on each method is what that
//! suite checks.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ryze_domain::{
    Account, AccountId, AccountName, BridgeIntegrationId, ChatwootIntegration, Instance,
    InstanceId, InstanceName, Principal, SealedSecret, TokenHash,
};

/// A failure of the storage backend itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached (pool exhausted, connection refused, timeout).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A stored row no longer satisfies the domain's rules.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Query(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount {
    pub id: AccountId,
    pub name: AccountName,
    pub token_hash: TokenHash,
    pub instance_quota: Option<u32>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InsertAccountError {
    /// The token hash is already used by an account or an instance.
    #[error("token already in use")]
    TokenTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInstance {
    pub id: InstanceId,
    pub account_id: AccountId,
    pub name: InstanceName,
    pub token_hash: TokenHash,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InsertInstanceError {
    #[error("the account already has an instance with this name")]
    NameTaken,
    /// The token hash is already used by an account or an instance.
    #[error("token already in use")]
    TokenTaken,
    /// The account holds `quota` instances already.
    #[error("account instance quota of {quota} reached")]
    QuotaExceeded { quota: u32 },
    #[error("account not found")]
    AccountNotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Inserts an account. Fails with `TokenTaken` when any account or instance already
    /// has this token hash.
    async fn insert_account(&self, account: NewAccount) -> Result<Account, InsertAccountError>;

    /// Finds whoever owns this token: an account or an instance.
    async fn find_principal_by_token_hash(
        &self,
        token_hash: &TokenHash,
    ) -> Result<Option<Principal>, StoreError>;
}

#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait InstanceStore: Send + Sync {
    /// Inserts an instance, atomically checking the account's quota, the name's uniqueness
    /// inside the account and the token's uniqueness across accounts and instances.
    async fn insert_instance(&self, instance: NewInstance)
        -> Result<Instance, InsertInstanceError>;

    async fn find_instance(
        &self,
        account_id: &AccountId,
        name: &InstanceName,
    ) -> Result<Option<Instance>, StoreError>;

    /// Finds an instance by its global id, whatever account owns it. `None` when no
    /// instance has this id (never created, or deleted).
    async fn find_instance_by_id(&self, id: &InstanceId) -> Result<Option<Instance>, StoreError>;

    /// All instances of the account, by name, each with its integration if it has one.
    async fn list_instances(
        &self,
        account_id: &AccountId,
    ) -> Result<Vec<(Instance, Option<ChatwootIntegration>)>, StoreError>;

    /// Deletes the instance and its integration. `false` when it did not exist.
    async fn delete_instance(&self, instance_id: &InstanceId) -> Result<bool, StoreError>;
}

#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait IntegrationStore: Send + Sync {
    /// Inserts or replaces the integration of `integration.instance_id`. On replace,
    /// `created_at` of the existing row is kept.
    async fn save_integration(&self, integration: ChatwootIntegration) -> Result<(), StoreError>;

    async fn find_integration(
        &self,
        instance_id: &InstanceId,
    ) -> Result<Option<ChatwootIntegration>, StoreError>;

    /// `false` when there was none.
    async fn delete_integration(&self, instance_id: &InstanceId) -> Result<bool, StoreError>;

    /// Records the inbox id learnt from the bridge, only if none is stored yet.
    async fn backfill_inbox_id(
        &self,
        instance_id: &InstanceId,
        inbox_id: i64,
    ) -> Result<(), StoreError>;

    /// Every integration's sealed Chatwoot token, with its instance (the event hub lists
    /// the instances with an integration through it). Key rotation goes through
    /// [`crate::SealedSecretStore`], which sees every kind of secret.
    async fn list_sealed_secrets(&self) -> Result<Vec<(InstanceId, SealedSecret)>, StoreError>;

    /// Remembers that the bridge has not confirmed deleting this integration, so the
    /// deletion is retried until it does. Recording it twice keeps one.
    async fn record_pending_teardown(&self, id: &BridgeIntegrationId) -> Result<(), StoreError>;

    /// Every integration whose deletion on the bridge is still pending.
    async fn list_pending_teardowns(&self) -> Result<Vec<BridgeIntegrationId>, StoreError>;

    /// The bridge confirmed (or the integration was activated again): nothing pending.
    async fn forget_pending_teardown(&self, id: &BridgeIntegrationId) -> Result<(), StoreError>;
}

#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait StoreHealth: Send + Sync {
    /// Succeeds when the database answers a trivial query.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// Everything the control plane stores, behind one handle.
pub trait Store: AccountStore + InstanceStore + IntegrationStore + StoreHealth {}

impl<T: AccountStore + InstanceStore + IntegrationStore + StoreHealth> Store for T {}

#[cfg(any(test, feature = "mock"))]
mockall::mock! {
    /// One mock implementing every store port, for use-case and delivery tests that need
    /// an `Arc<dyn Store>`.
    pub Store {}

    #[async_trait]
    impl AccountStore for Store {
        async fn insert_account(&self, account: NewAccount) -> Result<Account, InsertAccountError>;
        async fn find_principal_by_token_hash(
            &self,
            token_hash: &TokenHash,
        ) -> Result<Option<Principal>, StoreError>;
    }

    #[async_trait]
    impl InstanceStore for Store {
        async fn insert_instance(&self, instance: NewInstance)
            -> Result<Instance, InsertInstanceError>;
        async fn find_instance(
            &self,
            account_id: &AccountId,
            name: &InstanceName,
        ) -> Result<Option<Instance>, StoreError>;
        async fn find_instance_by_id(&self, id: &InstanceId) -> Result<Option<Instance>, StoreError>;
        async fn list_instances(
            &self,
            account_id: &AccountId,
        ) -> Result<Vec<(Instance, Option<ChatwootIntegration>)>, StoreError>;
        async fn delete_instance(&self, instance_id: &InstanceId) -> Result<bool, StoreError>;
    }

    #[async_trait]
    impl IntegrationStore for Store {
        async fn save_integration(&self, integration: ChatwootIntegration) -> Result<(), StoreError>;
        async fn find_integration(
            &self,
            instance_id: &InstanceId,
        ) -> Result<Option<ChatwootIntegration>, StoreError>;
        async fn delete_integration(&self, instance_id: &InstanceId) -> Result<bool, StoreError>;
        async fn backfill_inbox_id(
            &self,
            instance_id: &InstanceId,
            inbox_id: i64,
        ) -> Result<(), StoreError>;
        async fn list_sealed_secrets(&self) -> Result<Vec<(InstanceId, SealedSecret)>, StoreError>;
        async fn record_pending_teardown(&self, id: &BridgeIntegrationId) -> Result<(), StoreError>;
        async fn list_pending_teardowns(&self) -> Result<Vec<BridgeIntegrationId>, StoreError>;
        async fn forget_pending_teardown(&self, id: &BridgeIntegrationId) -> Result<(), StoreError>;
    }

    #[async_trait]
    impl StoreHealth for Store {
        async fn ping(&self) -> Result<(), StoreError>;
    }
}
