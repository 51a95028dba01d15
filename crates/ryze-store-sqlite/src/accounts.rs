//! [`AccountStore`] for SQLite, and the token-hash rule shared with instances: a hash
//! belongs to at most one account or instance, across both tables.

use async_trait::async_trait;
use diesel::dsl::exists;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use ryze_domain::{Account, Principal, TokenHash};
use ryze_ports::{AccountStore, InsertAccountError, NewAccount, StoreError};

use crate::errors::{query_failure, violated_unique_key, TransactionError, UniqueKey};
use crate::rows::{quota_column, AccountRow, InstanceRow};
use crate::schema::{accounts, instances};
use crate::store::PooledSqlite;
use crate::store::SqliteAsyncConnection;

/// Whether an account or an instance already holds this token hash. Race-free inside an
/// IMMEDIATE transaction: no other writer runs until it ends.
pub(crate) async fn token_hash_in_use(
    connection: &mut SqliteAsyncConnection,
    token_hash: &TokenHash,
) -> QueryResult<bool> {
    diesel::select(
        exists(accounts::table.filter(accounts::token_hash.eq(token_hash.as_str()))).or(exists(
            instances::table.filter(instances::token_hash.eq(token_hash.as_str())),
        )),
    )
    .get_result(connection)
    .await
}

#[async_trait]
impl AccountStore for PooledSqlite {
    async fn insert_account(&self, account: NewAccount) -> Result<Account, InsertAccountError> {
        const OPERATION: &str = "insert account";
        let instance_quota = account.instance_quota.map(quota_column).transpose()?;
        let mut connection = self.connection().await?;
        let row = connection
            .immediate_transaction::<_, TransactionError<InsertAccountError>, _>(
                async |connection| {
                    if token_hash_in_use(connection, &account.token_hash).await? {
                        return Err(TransactionError::Refused(InsertAccountError::TokenTaken));
                    }
                    let row = diesel::insert_into(accounts::table)
                        .values((
                            accounts::id.eq(account.id.as_str()),
                            accounts::name.eq(account.name.as_str()),
                            accounts::token_hash.eq(account.token_hash.as_str()),
                            accounts::instance_quota.eq(instance_quota),
                            accounts::created_at.eq(account.created_at),
                        ))
                        .returning(AccountRow::as_returning())
                        .get_result(connection)
                        .await?;
                    Ok(row)
                },
            )
            .await
            .map_err(|error| match error {
                TransactionError::Refused(refusal) => refusal,
                TransactionError::Database(error) => match violated_unique_key(&error) {
                    Some(UniqueKey::TokenHash) => InsertAccountError::TokenTaken,
                    _ => InsertAccountError::Store(query_failure(OPERATION, &error)),
                },
            })?;
        Ok(row.into_domain()?)
    }

    async fn find_principal_by_token_hash(
        &self,
        token_hash: &TokenHash,
    ) -> Result<Option<Principal>, StoreError> {
        const OPERATION: &str = "find token owner";
        let mut connection = self.connection().await?;
        let account = accounts::table
            .filter(accounts::token_hash.eq(token_hash.as_str()))
            .select(AccountRow::as_select())
            .first(&mut connection)
            .await
            .optional()
            .map_err(|error| query_failure(OPERATION, &error))?;
        if let Some(account) = account {
            return Ok(Some(Principal::Account(account.into_domain()?)));
        }
        let instance = instances::table
            .filter(instances::token_hash.eq(token_hash.as_str()))
            .select(InstanceRow::as_select())
            .first(&mut connection)
            .await
            .optional()
            .map_err(|error| query_failure(OPERATION, &error))?;
        instance
            .map(|instance| instance.into_domain().map(Principal::Instance))
            .transpose()
    }
}
