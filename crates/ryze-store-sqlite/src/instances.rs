//! [`InstanceStore`] for SQLite.
//!
//! `insert_instance` checks everything inside one `BEGIN IMMEDIATE` transaction, which
//! takes the database's write lock at once: concurrent inserts run one after the other,
//! so the quota, name and token checks see every committed row. The checks run in this
//! order: account exists, quota, name, token.

use async_trait::async_trait;
use diesel::dsl::exists;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use ryze_domain::{AccountId, ChatwootIntegration, Instance, InstanceId, InstanceName};
use ryze_ports::{InsertInstanceError, InstanceStore, NewInstance, StoreError};

use crate::accounts::token_hash_in_use;
use crate::errors::{query_failure, violated_unique_key, TransactionError, UniqueKey};
use crate::rows::{InstanceRow, IntegrationRow};
use crate::schema::{accounts, chatwoot_integrations, instances};
use crate::store::PooledSqlite;
use crate::store::SqliteAsyncConnection;

/// Why `instance` may not be inserted, if anything; runs inside the transaction.
async fn refusal(
    connection: &mut SqliteAsyncConnection,
    instance: &NewInstance,
) -> Result<Option<InsertInstanceError>, TransactionError<InsertInstanceError>> {
    let account_id = instance.account_id.as_str();
    let account_quota: Option<Option<i32>> = accounts::table
        .find(account_id)
        .select(accounts::instance_quota)
        .get_result(connection)
        .await
        .optional()?;
    let Some(quota) = account_quota else {
        return Ok(Some(InsertInstanceError::AccountNotFound));
    };
    if let Some(quota) = quota {
        let quota = u32::try_from(quota).map_err(|_| {
            TransactionError::Refused(InsertInstanceError::Store(StoreError::Corrupt(format!(
                "accounts row {account_id}: instance_quota: negative"
            ))))
        })?;
        let instance_count: i64 = instances::table
            .filter(instances::account_id.eq(account_id))
            .count()
            .get_result(connection)
            .await?;
        if instance_count >= i64::from(quota) {
            return Ok(Some(InsertInstanceError::QuotaExceeded { quota }));
        }
    }
    let name_taken: bool = diesel::select(exists(
        instances::table
            .filter(instances::account_id.eq(account_id))
            .filter(instances::name.eq(instance.name.as_str())),
    ))
    .get_result(connection)
    .await?;
    if name_taken {
        return Ok(Some(InsertInstanceError::NameTaken));
    }
    if token_hash_in_use(connection, &instance.token_hash).await? {
        return Ok(Some(InsertInstanceError::TokenTaken));
    }
    Ok(None)
}

#[async_trait]
impl InstanceStore for PooledSqlite {
    async fn insert_instance(
        &self,
        instance: NewInstance,
    ) -> Result<Instance, InsertInstanceError> {
        const OPERATION: &str = "insert instance";
        let mut connection = self.connection().await?;
        let row = connection
            .immediate_transaction::<_, TransactionError<InsertInstanceError>, _>(
                async |connection| {
                    if let Some(refusal) = refusal(connection, &instance).await? {
                        return Err(TransactionError::Refused(refusal));
                    }
                    let row = diesel::insert_into(instances::table)
                        .values((
                            instances::id.eq(instance.id.as_str()),
                            instances::account_id.eq(instance.account_id.as_str()),
                            instances::name.eq(instance.name.as_str()),
                            instances::token_hash.eq(instance.token_hash.as_str()),
                            instances::created_at.eq(instance.created_at),
                        ))
                        .returning(InstanceRow::as_returning())
                        .get_result(connection)
                        .await?;
                    Ok(row)
                },
            )
            .await
            .map_err(|error| match error {
                TransactionError::Refused(refusal) => refusal,
                TransactionError::Database(error) => match violated_unique_key(&error) {
                    Some(UniqueKey::TokenHash) => InsertInstanceError::TokenTaken,
                    Some(UniqueKey::InstanceName) => InsertInstanceError::NameTaken,
                    _ => InsertInstanceError::Store(query_failure(OPERATION, &error)),
                },
            })?;
        Ok(row.into_domain()?)
    }

    async fn find_instance(
        &self,
        account_id: &AccountId,
        name: &InstanceName,
    ) -> Result<Option<Instance>, StoreError> {
        let mut connection = self.connection().await?;
        instances::table
            .filter(instances::account_id.eq(account_id.as_str()))
            .filter(instances::name.eq(name.as_str()))
            .select(InstanceRow::as_select())
            .first(&mut connection)
            .await
            .optional()
            .map_err(|error| query_failure("find instance", &error))?
            .map(InstanceRow::into_domain)
            .transpose()
    }

    async fn list_instances(
        &self,
        account_id: &AccountId,
    ) -> Result<Vec<(Instance, Option<ChatwootIntegration>)>, StoreError> {
        let mut connection = self.connection().await?;
        let rows: Vec<(InstanceRow, Option<IntegrationRow>)> = instances::table
            .left_join(chatwoot_integrations::table)
            .filter(instances::account_id.eq(account_id.as_str()))
            .order(instances::name.asc())
            .select((
                InstanceRow::as_select(),
                Option::<IntegrationRow>::as_select(),
            ))
            .load(&mut connection)
            .await
            .map_err(|error| query_failure("list instances", &error))?;
        rows.into_iter()
            .map(|(instance, integration)| {
                Ok((
                    instance.into_domain()?,
                    integration.map(IntegrationRow::into_domain).transpose()?,
                ))
            })
            .collect()
    }

    async fn delete_instance(&self, instance_id: &InstanceId) -> Result<bool, StoreError> {
        let mut connection = self.connection().await?;
        let deleted = diesel::delete(instances::table.find(instance_id.as_str()))
            .execute(&mut connection)
            .await
            .map_err(|error| query_failure("delete instance", &error))?;
        Ok(deleted > 0)
    }
}
