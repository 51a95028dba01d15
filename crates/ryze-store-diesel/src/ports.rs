//! [`impl_store_ports!`](crate::impl_store_ports): the queries of every store port,
//! written once and expanded in each store crate for its own connection type.
//!
//! Why a macro rather than functions generic over the connection: diesel checks a query
//! against its backend through the query's full type, so a generic function has to
//! spell, in its where-clause, that every query it runs can be loaded on the connection
//! — `for<'a> Limit<Select<Find<chatwoot_integrations::table, &'a str>,
//! AsSelect<IntegrationRow, C::Backend>>>: LoadQuery<'a, C, IntegrationRow>` — one such
//! bound per query (about twenty), longer still for the upsert and the left join, and the
//! transaction bodies' closure bound cannot be named at all (diesel-async keeps it
//! private). A macro expands the same source for each concrete connection, where diesel
//! checks every query as if it had been written there.
//!
//! Everything that does not have to be a query lives outside the macro, as plain
//! functions: the rows and their conversions ([`crate::rows`]) and error translation
//! ([`crate::errors`]).

/// Implements `AccountStore`, `InstanceStore`, `IntegrationStore` and `StoreHealth` for a
/// store type, with the backend's own transaction and locks, and `SealedSecretStore`
/// (through [`impl_sealed_secret_store!`](crate::impl_sealed_secret_store): every store
/// of the API's tables holds the bridge's too, the migrations being one set):
///
/// ```ignore
/// ryze_store_diesel::impl_store_ports! {
///     store: PostgresStore,
///     connection: AsyncPgConnection,
///     errors: PostgresErrors,
///     write_transaction: transaction,
///     account_row_lock: for_update,            // optional
///     token_hash_lock: lock_token_hash,        // optional
/// }
/// ```
///
/// - `store`: the type to implement the ports on. It has a method
///   `async fn connection(&self) -> Result<P, StoreError>`, where `P` (a pooled
///   connection) dereferences mutably to `connection` and `&mut P` is itself a diesel-async
///   connection, as deadpool's pooled objects are.
/// - `connection`: the backend's diesel-async connection type.
/// - `errors`: the backend's [`ErrorTranslation`](crate::errors::ErrorTranslation).
/// - `write_transaction`: the method of `connection` that runs the inserts' transactions,
///   called as `connection.write_transaction::<_, E, _>(async |connection| …)`
///   (`transaction`, or SQLite's `immediate_transaction`).
/// - `account_row_lock`: a query method locking the account's row for the rest of the
///   transaction, applied to the read of the account's quota before an instance insert
///   (PostgreSQL's `for_update`). Without it the row is read unlocked.
/// - `token_hash_lock`: an async function `(&mut connection, &TokenHash) ->
///   QueryResult<()>` called, inside the transaction, before checking that a token hash
///   is unused (PostgreSQL's advisory lock). Without it nothing is locked.
///
/// Inserts check, in this order: the account exists, its quota, the instance name, the
/// token hash (unused by every account and instance); a refusal rolls the transaction
/// back. A unique violation the checks could not see (a concurrent insert) is still
/// reported as the matching refusal.
#[macro_export]
macro_rules! impl_store_ports {
    (
        store: $store:ty,
        connection: $connection:ty,
        errors: $errors:ty,
        write_transaction: $write_transaction:ident,
        $(account_row_lock: $account_row_lock:ident,)?
        $(token_hash_lock: $token_hash_lock:path,)?
    ) => {
        $crate::impl_sealed_secret_store! {
            store: $store,
            errors: $errors,
        }

        const _: () = {
            use $crate::__private::async_trait;
            use $crate::__private::diesel;
            use $crate::__private::diesel::dsl::exists;
            use $crate::__private::diesel::prelude::*;
            use $crate::__private::diesel::upsert::excluded;
            // `transaction` is a method of this trait; SQLite's `immediate_transaction` is not.
            #[allow(unused_imports)]
            use $crate::__private::diesel_async::AsyncConnection;
            use $crate::__private::diesel_async::RunQueryDsl;
            use $crate::__private::ryze_domain::{
                Account, AccountId, BridgeIntegrationId, ChatwootIntegration, Instance, InstanceId,
                InstanceName, Principal, SealedSecret, SealedSecretKind, TokenHash,
            };
            use $crate::__private::ryze_ports::{
                AccountStore, InsertAccountError, InsertInstanceError, InstanceStore,
                IntegrationStore, NewAccount, NewInstance, SealedSecretStore, StoreError,
                StoreHealth,
            };
            use $crate::errors::{ErrorTranslation as _, TransactionError};
            use $crate::rows::{
                quota_column, quota_from_column, AccountRow, InstanceRow, IntegrationRow,
            };
            use $crate::schema::{
                accounts, chatwoot_integrations, instances, pending_bridge_teardowns,
            };
            use $crate::sql_types::StoredTimestamp;

            /// Whether an account or an instance already holds this token hash.
            async fn token_hash_in_use(
                connection: &mut $connection,
                token_hash: &TokenHash,
            ) -> QueryResult<bool> {
                diesel::select(
                    exists(accounts::table.filter(accounts::token_hash.eq(token_hash.as_str())))
                        .or(exists(
                            instances::table
                                .filter(instances::token_hash.eq(token_hash.as_str())),
                        )),
                )
                .get_result(connection)
                .await
            }

            /// Why `instance` may not be inserted, if anything; runs inside the transaction.
            async fn instance_refusal(
                connection: &mut $connection,
                instance: &NewInstance,
            ) -> Result<Option<InsertInstanceError>, TransactionError<InsertInstanceError>> {
                let account_id = instance.account_id.as_str();
                let account_quota: Option<Option<i32>> = accounts::table
                    .find(account_id)
                    .select(accounts::instance_quota)
                    $(.$account_row_lock())?
                    .get_result(connection)
                    .await
                    .optional()?;
                let Some(quota) = account_quota else {
                    return Ok(Some(InsertInstanceError::AccountNotFound));
                };
                if let Some(quota) = quota {
                    let quota = quota_from_column(account_id, quota).map_err(|error| {
                        TransactionError::Refused(InsertInstanceError::Store(error))
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
                $($token_hash_lock(connection, &instance.token_hash).await?;)?
                if token_hash_in_use(connection, &instance.token_hash).await? {
                    return Ok(Some(InsertInstanceError::TokenTaken));
                }
                Ok(None)
            }

            #[async_trait]
            impl AccountStore for $store {
                async fn insert_account(
                    &self,
                    account: NewAccount,
                ) -> Result<Account, InsertAccountError> {
                    const OPERATION: &str = "insert account";
                    let instance_quota = account.instance_quota.map(quota_column).transpose()?;
                    let created_at = StoredTimestamp(account.created_at);
                    let mut pooled = self.connection().await?;
                    let connection: &mut $connection = &mut pooled;
                    let row = connection
                        .$write_transaction::<_, TransactionError<InsertAccountError>, _>(
                            async |connection| {
                                $($token_hash_lock(connection, &account.token_hash).await?;)?
                                if token_hash_in_use(connection, &account.token_hash).await? {
                                    return Err(TransactionError::Refused(
                                        InsertAccountError::TokenTaken,
                                    ));
                                }
                                let row = diesel::insert_into(accounts::table)
                                    .values((
                                        accounts::id.eq(account.id.as_str()),
                                        accounts::name.eq(account.name.as_str()),
                                        accounts::token_hash.eq(account.token_hash.as_str()),
                                        accounts::instance_quota.eq(instance_quota),
                                        accounts::created_at.eq(created_at),
                                    ))
                                    .returning(AccountRow::as_returning())
                                    .get_result(connection)
                                    .await?;
                                Ok(row)
                            },
                        )
                        .await
                        .map_err(|error| error.into_port_error::<$errors>(OPERATION))?;
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
                        .map_err(|error| <$errors>::query_failure(OPERATION, &error))?;
                    if let Some(account) = account {
                        return Ok(Some(Principal::Account(account.into_domain()?)));
                    }
                    let instance = instances::table
                        .filter(instances::token_hash.eq(token_hash.as_str()))
                        .select(InstanceRow::as_select())
                        .first(&mut connection)
                        .await
                        .optional()
                        .map_err(|error| <$errors>::query_failure(OPERATION, &error))?;
                    instance
                        .map(|instance| instance.into_domain().map(Principal::Instance))
                        .transpose()
                }
            }

            #[async_trait]
            impl InstanceStore for $store {
                async fn insert_instance(
                    &self,
                    instance: NewInstance,
                ) -> Result<Instance, InsertInstanceError> {
                    const OPERATION: &str = "insert instance";
                    let created_at = StoredTimestamp(instance.created_at);
                    let mut pooled = self.connection().await?;
                    let connection: &mut $connection = &mut pooled;
                    let row = connection
                        .$write_transaction::<_, TransactionError<InsertInstanceError>, _>(
                            async |connection| {
                                let refusal = instance_refusal(connection, &instance).await?;
                                if let Some(refusal) = refusal {
                                    return Err(TransactionError::Refused(refusal));
                                }
                                let row = diesel::insert_into(instances::table)
                                    .values((
                                        instances::id.eq(instance.id.as_str()),
                                        instances::account_id.eq(instance.account_id.as_str()),
                                        instances::name.eq(instance.name.as_str()),
                                        instances::token_hash.eq(instance.token_hash.as_str()),
                                        instances::created_at.eq(created_at),
                                    ))
                                    .returning(InstanceRow::as_returning())
                                    .get_result(connection)
                                    .await?;
                                Ok(row)
                            },
                        )
                        .await
                        .map_err(|error| error.into_port_error::<$errors>(OPERATION))?;
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
                        .map_err(|error| <$errors>::query_failure("find instance", &error))?
                        .map(InstanceRow::into_domain)
                        .transpose()
                }

                async fn find_instance_by_id(
                    &self,
                    id: &InstanceId,
                ) -> Result<Option<Instance>, StoreError> {
                    let mut connection = self.connection().await?;
                    instances::table
                        .find(id.as_str())
                        .select(InstanceRow::as_select())
                        .first(&mut connection)
                        .await
                        .optional()
                        .map_err(|error| {
                            <$errors>::query_failure("find instance by id", &error)
                        })?
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
                        .map_err(|error| <$errors>::query_failure("list instances", &error))?;
                    rows.into_iter()
                        .map(|(instance, integration)| {
                            Ok((
                                instance.into_domain()?,
                                integration.map(IntegrationRow::into_domain).transpose()?,
                            ))
                        })
                        .collect()
                }

                async fn delete_instance(
                    &self,
                    instance_id: &InstanceId,
                ) -> Result<bool, StoreError> {
                    let mut connection = self.connection().await?;
                    let deleted = diesel::delete(instances::table.find(instance_id.as_str()))
                        .execute(&mut connection)
                        .await
                        .map_err(|error| <$errors>::query_failure("delete instance", &error))?;
                    Ok(deleted > 0)
                }
            }

            #[async_trait]
            impl IntegrationStore for $store {
                async fn save_integration(
                    &self,
                    integration: ChatwootIntegration,
                ) -> Result<(), StoreError> {
                    use chatwoot_integrations::{
                        api_token_ciphertext, api_token_key_id, api_token_nonce, base_url,
                        bridge_integration_id, chatwoot_account_id, ignore_groups, inbox_id,
                        inbox_name, instance_id, last_error, reopen_resolved, sign_messages,
                        start_as_pending, status, updated_at,
                    };
                    let mut connection = self.connection().await?;
                    // On replace, every column but the key and `created_at` takes the new value.
                    diesel::insert_into(chatwoot_integrations::table)
                        .values(IntegrationRow::from(integration))
                        .on_conflict(instance_id)
                        .do_update()
                        .set((
                            base_url.eq(excluded(base_url)),
                            chatwoot_account_id.eq(excluded(chatwoot_account_id)),
                            inbox_name.eq(excluded(inbox_name)),
                            inbox_id.eq(excluded(inbox_id)),
                            sign_messages.eq(excluded(sign_messages)),
                            ignore_groups.eq(excluded(ignore_groups)),
                            start_as_pending.eq(excluded(start_as_pending)),
                            reopen_resolved.eq(excluded(reopen_resolved)),
                            bridge_integration_id.eq(excluded(bridge_integration_id)),
                            status.eq(excluded(status)),
                            last_error.eq(excluded(last_error)),
                            api_token_key_id.eq(excluded(api_token_key_id)),
                            api_token_nonce.eq(excluded(api_token_nonce)),
                            api_token_ciphertext.eq(excluded(api_token_ciphertext)),
                            updated_at.eq(excluded(updated_at)),
                        ))
                        .execute(&mut connection)
                        .await
                        .map_err(|error| <$errors>::query_failure("save integration", &error))?;
                    Ok(())
                }

                async fn find_integration(
                    &self,
                    owner: &InstanceId,
                ) -> Result<Option<ChatwootIntegration>, StoreError> {
                    let mut connection = self.connection().await?;
                    chatwoot_integrations::table
                        .find(owner.as_str())
                        .select(IntegrationRow::as_select())
                        .first(&mut connection)
                        .await
                        .optional()
                        .map_err(|error| <$errors>::query_failure("find integration", &error))?
                        .map(IntegrationRow::into_domain)
                        .transpose()
                }

                async fn delete_integration(&self, owner: &InstanceId) -> Result<bool, StoreError> {
                    let mut connection = self.connection().await?;
                    let deleted = diesel::delete(chatwoot_integrations::table.find(owner.as_str()))
                        .execute(&mut connection)
                        .await
                        .map_err(|error| <$errors>::query_failure("delete integration", &error))?;
                    Ok(deleted > 0)
                }

                async fn backfill_inbox_id(
                    &self,
                    owner: &InstanceId,
                    learnt_inbox_id: i64,
                ) -> Result<(), StoreError> {
                    let mut connection = self.connection().await?;
                    diesel::update(
                        chatwoot_integrations::table
                            .find(owner.as_str())
                            .filter(chatwoot_integrations::inbox_id.is_null()),
                    )
                    .set(chatwoot_integrations::inbox_id.eq(learnt_inbox_id))
                    .execute(&mut connection)
                    .await
                    .map_err(|error| <$errors>::query_failure("backfill inbox id", &error))?;
                    Ok(())
                }

                async fn list_sealed_secrets(
                    &self,
                ) -> Result<Vec<(InstanceId, SealedSecret)>, StoreError> {
                    let secrets = SealedSecretStore::list_sealed_secrets_of_kind(
                        self,
                        SealedSecretKind::ChatwootApiToken,
                    )
                    .await?;
                    Ok(secrets
                        .into_iter()
                        .map(|secret| (secret.instance_id, secret.sealed))
                        .collect())
                }

                async fn record_pending_teardown(
                    &self,
                    id: &BridgeIntegrationId,
                ) -> Result<(), StoreError> {
                    let mut connection = self.connection().await?;
                    diesel::insert_into(pending_bridge_teardowns::table)
                        .values(pending_bridge_teardowns::bridge_integration_id.eq(id.as_str()))
                        .on_conflict_do_nothing()
                        .execute(&mut connection)
                        .await
                        .map_err(|error| {
                            <$errors>::query_failure("record pending teardown", &error)
                        })?;
                    Ok(())
                }

                async fn list_pending_teardowns(
                    &self,
                ) -> Result<Vec<BridgeIntegrationId>, StoreError> {
                    let mut connection = self.connection().await?;
                    let ids: Vec<String> = pending_bridge_teardowns::table
                        .select(pending_bridge_teardowns::bridge_integration_id)
                        .order(pending_bridge_teardowns::bridge_integration_id)
                        .load(&mut connection)
                        .await
                        .map_err(|error| {
                            <$errors>::query_failure("list pending teardowns", &error)
                        })?;
                    Ok(ids.into_iter().map(BridgeIntegrationId::new).collect())
                }

                async fn forget_pending_teardown(
                    &self,
                    id: &BridgeIntegrationId,
                ) -> Result<(), StoreError> {
                    let mut connection = self.connection().await?;
                    diesel::delete(pending_bridge_teardowns::table.find(id.as_str()))
                        .execute(&mut connection)
                        .await
                        .map_err(|error| {
                            <$errors>::query_failure("forget pending teardown", &error)
                        })?;
                    Ok(())
                }
            }

            #[async_trait]
            impl StoreHealth for $store {
                async fn ping(&self) -> Result<(), StoreError> {
                    let mut connection = self.connection().await?;
                    diesel::sql_query("SELECT 1")
                        .execute(&mut connection)
                        .await
                        .map_err(|error| <$errors>::query_failure("ping", &error))?;
                    Ok(())
                }
            }
        };
    };
}
