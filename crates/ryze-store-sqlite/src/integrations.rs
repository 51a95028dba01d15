//! [`IntegrationStore`] for SQLite.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::RunQueryDsl;
use ryze_domain::{ChatwootIntegration, InstanceId, SealedSecret};
use ryze_ports::{IntegrationStore, StoreError};

use crate::errors::query_failure;
use crate::rows::{IntegrationRow, SealedSecretRow};
use crate::schema::chatwoot_integrations::dsl::*;
use crate::store::PooledSqlite;

#[async_trait]
impl IntegrationStore for PooledSqlite {
    async fn save_integration(&self, integration: ChatwootIntegration) -> Result<(), StoreError> {
        let mut connection = self.connection().await?;
        // On replace, every column but the key and `created_at` takes the new value.
        diesel::insert_into(chatwoot_integrations)
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
            .map_err(|error| query_failure("save integration", &error))?;
        Ok(())
    }

    async fn find_integration(
        &self,
        owner: &InstanceId,
    ) -> Result<Option<ChatwootIntegration>, StoreError> {
        let mut connection = self.connection().await?;
        chatwoot_integrations
            .find(owner.as_str())
            .select(IntegrationRow::as_select())
            .first(&mut connection)
            .await
            .optional()
            .map_err(|error| query_failure("find integration", &error))?
            .map(IntegrationRow::into_domain)
            .transpose()
    }

    async fn delete_integration(&self, owner: &InstanceId) -> Result<bool, StoreError> {
        let mut connection = self.connection().await?;
        let deleted = diesel::delete(chatwoot_integrations.find(owner.as_str()))
            .execute(&mut connection)
            .await
            .map_err(|error| query_failure("delete integration", &error))?;
        Ok(deleted > 0)
    }

    async fn backfill_inbox_id(
        &self,
        owner: &InstanceId,
        learnt_inbox_id: i64,
    ) -> Result<(), StoreError> {
        let mut connection = self.connection().await?;
        diesel::update(
            chatwoot_integrations
                .find(owner.as_str())
                .filter(inbox_id.is_null()),
        )
        .set(inbox_id.eq(learnt_inbox_id))
        .execute(&mut connection)
        .await
        .map_err(|error| query_failure("backfill inbox id", &error))?;
        Ok(())
    }

    async fn list_sealed_secrets(&self) -> Result<Vec<(InstanceId, SealedSecret)>, StoreError> {
        let mut connection = self.connection().await?;
        let rows: Vec<SealedSecretRow> = chatwoot_integrations
            .order(instance_id.asc())
            .select(SealedSecretRow::as_select())
            .load(&mut connection)
            .await
            .map_err(|error| query_failure("list sealed secrets", &error))?;
        Ok(rows.into_iter().map(SealedSecretRow::into_domain).collect())
    }

    async fn replace_sealed_secret(
        &self,
        owner: &InstanceId,
        expected: &SealedSecret,
        replacement: &SealedSecret,
    ) -> Result<bool, StoreError> {
        let mut connection = self.connection().await?;
        let replaced = diesel::update(
            chatwoot_integrations
                .find(owner.as_str())
                .filter(api_token_key_id.eq(expected.key_id.as_str()))
                .filter(api_token_nonce.eq(&expected.nonce))
                .filter(api_token_ciphertext.eq(&expected.ciphertext)),
        )
        .set((
            api_token_key_id.eq(replacement.key_id.as_str()),
            api_token_nonce.eq(&replacement.nonce),
            api_token_ciphertext.eq(&replacement.ciphertext),
        ))
        .execute(&mut connection)
        .await
        .map_err(|error| query_failure("replace sealed secret", &error))?;
        Ok(replaced > 0)
    }
}
