//! [`impl_sealed_secret_store!`](crate::impl_sealed_secret_store): the queries of
//! `SealedSecretStore`, every kind of sealed secret over its own table and columns,
//! expanded in each store crate for its own store type (by
//! [`impl_store_ports!`](crate::impl_store_ports)).
//!
//! Where each kind rests is one line of [`__sealed_secret_query!`](crate::__sealed_secret_query):
//! its table, the column naming its holder (the row's key), the column naming its
//! instance, and its three sealed columns (marked `nullable` when a row may hold no secret
//! of the kind: such rows are not listed). The list and the compare-and-swap are written
//! once, over those columns.

/// Implements `SealedSecretStore` for a store type:
///
/// ```ignore
/// ryze_store_diesel::impl_sealed_secret_store! {
///     store: PostgresStore,
///     errors: PostgresErrors,
/// }
/// ```
///
/// with the same `store` and `errors` as [`impl_store_ports!`](crate::impl_store_ports)
/// (which expands it).
#[macro_export]
macro_rules! impl_sealed_secret_store {
    (
        store: $store:ty,
        errors: $errors:ty $(,)?
    ) => {
        const _: () = {
            use $crate::__private::async_trait;
            use $crate::__private::diesel;
            use $crate::__private::diesel::prelude::*;
            use $crate::__private::diesel_async::RunQueryDsl;
            use $crate::__private::ryze_domain::{SealedSecret, SealedSecretKind};
            use $crate::__private::ryze_ports::{
                SealedSecretStore, StoreError, StoredSealedSecret,
            };
            use $crate::errors::ErrorTranslation as _;
            use $crate::rows::{stored_sealed_secret, StoredSealedSecretRow};

            #[async_trait]
            impl SealedSecretStore for $store {
                async fn list_sealed_secrets_of_kind(
                    &self,
                    kind: SealedSecretKind,
                ) -> Result<Vec<StoredSealedSecret>, StoreError> {
                    let mut connection = self.connection().await?;
                    let rows: Vec<StoredSealedSecretRow> =
                        $crate::__sealed_secret_query!(kind, list(&mut connection)).map_err(
                            |error| <$errors>::query_failure("list sealed secrets", &error),
                        )?;
                    Ok(rows.into_iter().map(stored_sealed_secret).collect())
                }

                async fn replace_sealed_secret_of_kind(
                    &self,
                    kind: SealedSecretKind,
                    holder_id: &str,
                    expected: &SealedSecret,
                    replacement: &SealedSecret,
                ) -> Result<bool, StoreError> {
                    let mut connection = self.connection().await?;
                    let replaced: usize = $crate::__sealed_secret_query!(
                        kind,
                        replace(&mut connection, holder_id, expected, replacement)
                    )
                    .map_err(|error| <$errors>::query_failure("replace sealed secret", &error))?;
                    Ok(replaced > 0)
                }
            }
        };
    };
}

/// Implementation detail of [`impl_sealed_secret_store!`]: where each kind of secret
/// rests (one line per kind), and the two queries over those columns.
#[doc(hidden)]
#[macro_export]
macro_rules! __sealed_secret_query {
    (@run $table:ident nullable {
        holder: $holder:ident,
        instance: $instance:ident,
        key_id: $key_id:ident,
        nonce: $nonce:ident,
        ciphertext: $ciphertext:ident $(,)?
    } list($connection:expr)) => {{
        use $crate::schema::$table;
        $table::table
            .filter($table::$key_id.is_not_null())
            .filter($table::$nonce.is_not_null())
            .filter($table::$ciphertext.is_not_null())
            .order($table::$holder.asc())
            .select((
                $table::$holder,
                $table::$instance,
                $table::$key_id.assume_not_null(),
                $table::$nonce.assume_not_null(),
                $table::$ciphertext.assume_not_null(),
            ))
            .load($connection)
            .await
    }};
    (@run $table:ident nullable $columns:tt replace($($arguments:tt)*)) => {
        $crate::__sealed_secret_query!(@run $table $columns replace($($arguments)*))
    };
    (@run $table:ident {
        holder: $holder:ident,
        instance: $instance:ident,
        key_id: $key_id:ident,
        nonce: $nonce:ident,
        ciphertext: $ciphertext:ident $(,)?
    } list($connection:expr)) => {{
        use $crate::schema::$table;
        $table::table
            .order($table::$holder.asc())
            .select((
                $table::$holder,
                $table::$instance,
                $table::$key_id,
                $table::$nonce,
                $table::$ciphertext,
            ))
            .load($connection)
            .await
    }};
    (@run $table:ident {
        holder: $holder:ident,
        instance: $instance:ident,
        key_id: $key_id:ident,
        nonce: $nonce:ident,
        ciphertext: $ciphertext:ident $(,)?
    } replace($connection:expr, $holder_id:expr, $expected:expr, $replacement:expr)) => {{
        use $crate::schema::$table;
        let (expected, replacement) = ($expected, $replacement);
        diesel::update(
            $table::table
                .filter($table::$holder.eq($holder_id))
                .filter($table::$key_id.eq(expected.key_id.as_str()))
                .filter($table::$nonce.eq(&expected.nonce))
                .filter($table::$ciphertext.eq(&expected.ciphertext)),
        )
        .set((
            $table::$key_id.eq(replacement.key_id.as_str()),
            $table::$nonce.eq(&replacement.nonce),
            $table::$ciphertext.eq(&replacement.ciphertext),
        ))
        .execute($connection)
        .await
    }};
    ($kind:expr, $($query:tt)+) => {
        match $kind {
            $crate::__private::ryze_domain::SealedSecretKind::ChatwootApiToken => {
                $crate::__sealed_secret_query!(@run chatwoot_integrations {
                    holder: instance_id,
                    instance: instance_id,
                    key_id: api_token_key_id,
                    nonce: api_token_nonce,
                    ciphertext: api_token_ciphertext,
                } $($query)+)
            }
            $crate::__private::ryze_domain::SealedSecretKind::BridgeChatwootApiToken => {
                $crate::__sealed_secret_query!(@run bridge_integrations {
                    holder: id,
                    instance: instance_id,
                    key_id: api_token_key_id,
                    nonce: api_token_nonce,
                    ciphertext: api_token_ciphertext,
                } $($query)+)
            }
            $crate::__private::ryze_domain::SealedSecretKind::BridgeWebhookSecret => {
                $crate::__sealed_secret_query!(@run bridge_integrations {
                    holder: id,
                    instance: instance_id,
                    key_id: webhook_secret_key_id,
                    nonce: webhook_secret_nonce,
                    ciphertext: webhook_secret_ciphertext,
                } $($query)+)
            }
            $crate::__private::ryze_domain::SealedSecretKind::BridgeWebhookSigningSecret => {
                $crate::__sealed_secret_query!(@run bridge_integrations nullable {
                    holder: id,
                    instance: instance_id,
                    key_id: webhook_signing_secret_key_id,
                    nonce: webhook_signing_secret_nonce,
                    ciphertext: webhook_signing_secret_ciphertext,
                } $($query)+)
            }
        }
    };
}
