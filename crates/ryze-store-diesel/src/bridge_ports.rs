//! [`impl_bridge_integration_store!`](crate::impl_bridge_integration_store): the queries
//! of the bridge's own port, `BridgeIntegrationStore`, written once and expanded in each
//! store crate for its own store type.
//!
//! A sibling of [`impl_store_ports!`](crate::impl_store_ports) rather than part of it: the
//! bridge is a service of its own, whose table (`bridge_integrations`) may live next to
//! the API's tables or in a database of its own, and none of its queries needs a
//! transaction or a lock, so nothing backend-specific comes in but the error rules. A
//! macro for the same reason as its sibling: diesel checks each query against the
//! concrete connection it runs on.

/// Implements `BridgeIntegrationStore` for a store type:
///
/// ```ignore
/// ryze_store_diesel::impl_bridge_integration_store! {
///     store: PostgresStore,
///     errors: PostgresErrors,
/// }
/// ```
///
/// - `store`: the type to implement the port on, with the same
///   `async fn connection(&self) -> Result<P, StoreError>` as
///   [`impl_store_ports!`](crate::impl_store_ports) asks for.
/// - `errors`: the backend's [`ErrorTranslation`](crate::errors::ErrorTranslation).
///
/// A save is one upsert by id; a second integration for an instance breaks the table's
/// unique rule on `instance_id` and is refused with
/// [`BRIDGE_INSTANCE_TAKEN`](crate::errors::BRIDGE_INSTANCE_TAKEN).
#[macro_export]
macro_rules! impl_bridge_integration_store {
    (
        store: $store:ty,
        errors: $errors:ty $(,)?
    ) => {
        const _: () = {
            use $crate::__private::async_trait;
            use $crate::__private::diesel;
            use $crate::__private::diesel::prelude::*;
            use $crate::__private::diesel::upsert::excluded;
            use $crate::__private::diesel_async::RunQueryDsl;
            use $crate::__private::ryze_domain::{
                BridgeIntegration, BridgeIntegrationId, InstanceId, IntegrationStatus,
            };
            use $crate::__private::ryze_ports::{
                BridgeIntegrationStore, StoreError, StoredWebhookSigningSecret,
            };
            use $crate::errors::{bridge_integration_save_failure, ErrorTranslation as _};
            use $crate::rows::BridgeIntegrationRow;
            use $crate::schema::bridge_integrations;
            use $crate::sql_types::StoredTimestamp;

            #[async_trait]
            impl BridgeIntegrationStore for $store {
                async fn find_bridge_integration(
                    &self,
                    id: &BridgeIntegrationId,
                ) -> Result<Option<BridgeIntegration>, StoreError> {
                    let mut connection = self.connection().await?;
                    bridge_integrations::table
                        .find(id.as_str())
                        .select(BridgeIntegrationRow::as_select())
                        .first(&mut connection)
                        .await
                        .optional()
                        .map_err(|error| {
                            <$errors>::query_failure("find bridge integration", &error)
                        })?
                        .map(BridgeIntegrationRow::into_domain)
                        .transpose()
                }

                async fn find_bridge_integration_for_instance(
                    &self,
                    instance_id: &InstanceId,
                ) -> Result<Option<BridgeIntegration>, StoreError> {
                    let mut connection = self.connection().await?;
                    bridge_integrations::table
                        .filter(bridge_integrations::instance_id.eq(instance_id.as_str()))
                        .select(BridgeIntegrationRow::as_select())
                        .first(&mut connection)
                        .await
                        .optional()
                        .map_err(|error| {
                            <$errors>::query_failure("find bridge integration for instance", &error)
                        })?
                        .map(BridgeIntegrationRow::into_domain)
                        .transpose()
                }

                async fn save_bridge_integration(
                    &self,
                    integration: BridgeIntegration,
                ) -> Result<(), StoreError> {
                    use bridge_integrations::{
                        api_token_ciphertext, api_token_key_id, api_token_nonce, base_url,
                        chatwoot_account_id, id, ignore_groups, inbox_id, inbox_name, instance_id,
                        instance_name, last_error, reopen_resolved, sign_messages,
                        start_as_pending, status, updated_at, webhook_secret_ciphertext,
                        webhook_secret_key_id, webhook_secret_nonce,
                    };
                    let mut connection = self.connection().await?;
                    // On replace, every column but the key and `created_at` takes the new value.
                    diesel::insert_into(bridge_integrations::table)
                        .values(BridgeIntegrationRow::from(integration))
                        .on_conflict(id)
                        .do_update()
                        .set((
                            instance_id.eq(excluded(instance_id)),
                            instance_name.eq(excluded(instance_name)),
                            base_url.eq(excluded(base_url)),
                            chatwoot_account_id.eq(excluded(chatwoot_account_id)),
                            inbox_name.eq(excluded(inbox_name)),
                            inbox_id.eq(excluded(inbox_id)),
                            sign_messages.eq(excluded(sign_messages)),
                            ignore_groups.eq(excluded(ignore_groups)),
                            start_as_pending.eq(excluded(start_as_pending)),
                            reopen_resolved.eq(excluded(reopen_resolved)),
                            api_token_key_id.eq(excluded(api_token_key_id)),
                            api_token_nonce.eq(excluded(api_token_nonce)),
                            api_token_ciphertext.eq(excluded(api_token_ciphertext)),
                            webhook_secret_key_id.eq(excluded(webhook_secret_key_id)),
                            webhook_secret_nonce.eq(excluded(webhook_secret_nonce)),
                            webhook_secret_ciphertext.eq(excluded(webhook_secret_ciphertext)),
                            status.eq(excluded(status)),
                            last_error.eq(excluded(last_error)),
                            updated_at.eq(excluded(updated_at)),
                        ))
                        .execute(&mut connection)
                        .await
                        .map_err(|error| bridge_integration_save_failure::<$errors>(&error))?;
                    Ok(())
                }

                async fn delete_bridge_integration(
                    &self,
                    id: &BridgeIntegrationId,
                ) -> Result<bool, StoreError> {
                    let mut connection = self.connection().await?;
                    let deleted = diesel::delete(bridge_integrations::table.find(id.as_str()))
                        .execute(&mut connection)
                        .await
                        .map_err(|error| {
                            <$errors>::query_failure("delete bridge integration", &error)
                        })?;
                    Ok(deleted > 0)
                }

                async fn list_bridge_integrations(
                    &self,
                ) -> Result<Vec<BridgeIntegration>, StoreError> {
                    let mut connection = self.connection().await?;
                    let rows: Vec<BridgeIntegrationRow> = bridge_integrations::table
                        .order((
                            bridge_integrations::created_at.asc(),
                            bridge_integrations::id.asc(),
                        ))
                        .select(BridgeIntegrationRow::as_select())
                        .load(&mut connection)
                        .await
                        .map_err(|error| {
                            <$errors>::query_failure("list bridge integrations", &error)
                        })?;
                    rows.into_iter()
                        .map(BridgeIntegrationRow::into_domain)
                        .collect()
                }

                async fn record_bridge_integration_state(
                    &self,
                    id: &BridgeIntegrationId,
                    status: IntegrationStatus,
                    last_error: &str,
                ) -> Result<bool, StoreError> {
                    let mut connection = self.connection().await?;
                    let updated = diesel::update(bridge_integrations::table.find(id.as_str()))
                        .set((
                            bridge_integrations::status.eq(status.as_str()),
                            bridge_integrations::last_error.eq(last_error),
                            bridge_integrations::updated_at.eq(StoredTimestamp::now()),
                        ))
                        .execute(&mut connection)
                        .await
                        .map_err(|error| {
                            <$errors>::query_failure("record bridge integration state", &error)
                        })?;
                    Ok(updated > 0)
                }

                async fn find_webhook_signing_secret(
                    &self,
                    id: &BridgeIntegrationId,
                ) -> Result<Option<StoredWebhookSigningSecret>, StoreError> {
                    let mut connection = self.connection().await?;
                    let columns: Option<$crate::rows::WebhookSigningSecretColumns> =
                        bridge_integrations::table
                            .find(id.as_str())
                            .select((
                                bridge_integrations::webhook_signing_inbox_id,
                                bridge_integrations::webhook_signing_secret_key_id,
                                bridge_integrations::webhook_signing_secret_nonce,
                                bridge_integrations::webhook_signing_secret_ciphertext,
                            ))
                            .first(&mut connection)
                            .await
                            .optional()
                            .map_err(|error| {
                                <$errors>::query_failure("find webhook signing secret", &error)
                            })?;
                    Ok(columns.and_then($crate::rows::webhook_signing_secret))
                }

                async fn record_webhook_signing_secret(
                    &self,
                    id: &BridgeIntegrationId,
                    secret: Option<StoredWebhookSigningSecret>,
                ) -> Result<bool, StoreError> {
                    let mut connection = self.connection().await?;
                    let (inbox, key_id, nonce, ciphertext) =
                        $crate::rows::webhook_signing_secret_columns(secret);
                    let updated = diesel::update(bridge_integrations::table.find(id.as_str()))
                        .set((
                            bridge_integrations::webhook_signing_inbox_id.eq(inbox),
                            bridge_integrations::webhook_signing_secret_key_id.eq(key_id),
                            bridge_integrations::webhook_signing_secret_nonce.eq(nonce),
                            bridge_integrations::webhook_signing_secret_ciphertext.eq(ciphertext),
                        ))
                        .execute(&mut connection)
                        .await
                        .map_err(|error| {
                            <$errors>::query_failure("record webhook signing secret", &error)
                        })?;
                    Ok(updated > 0)
                }
            }
        };
    };
}
