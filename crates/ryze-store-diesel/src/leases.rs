//! [`impl_integration_leases!`](crate::impl_integration_leases): the queries of the
//! bridge's `IntegrationLeases` port (tables `bridge_leases` and `bridge_nodes`), written
//! once and expanded in each store crate with its backend's "now in milliseconds".
//!
//! Every step is one statement made race-free by its own condition (a compare-and-set on
//! the epoch and the expiry), so no transaction or lock is needed: of two nodes taking
//! an expired lease at once, one update matches the row and the other matches nothing.
//! The time is always the database's ([`POSTGRES_NOW_MS`], [`SQLITE_NOW_MS`]), so nodes
//! whose clocks disagree still agree on what is expired.

/// PostgreSQL's clock, in milliseconds since the Unix epoch.
pub const POSTGRES_NOW_MS: &str = "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)";

/// SQLite's clock, in milliseconds since the Unix epoch.
pub const SQLITE_NOW_MS: &str = "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)";

/// Implements `IntegrationLeases` for a store type:
///
/// ```ignore
/// ryze_store_diesel::impl_integration_leases! {
///     store: PostgresStore,
///     errors: PostgresErrors,
///     now_ms: ryze_store_diesel::leases::POSTGRES_NOW_MS,
/// }
/// ```
#[macro_export]
macro_rules! impl_integration_leases {
    (
        store: $store:ty,
        errors: $errors:ty,
        now_ms: $now:expr $(,)?
    ) => {
        const _: () = {
            use std::time::Duration;

            use $crate::__private::async_trait;
            use $crate::__private::diesel;
            use $crate::__private::diesel::dsl::sql;
            use $crate::__private::diesel::prelude::*;
            use $crate::__private::diesel::sql_types::BigInt;
            use $crate::__private::diesel_async::RunQueryDsl;
            use $crate::__private::ryze_domain::BridgeIntegrationId;
            use $crate::__private::ryze_ports::{
                IntegrationLeases, Lease, LeaseHolder, StoreError,
            };
            use $crate::errors::ErrorTranslation as _;
            use $crate::schema::{bridge_leases, bridge_nodes};

            /// The database's now plus `ttl`, as an SQL expression.
            fn now_plus(ttl: Duration) -> diesel::expression::SqlLiteral<BigInt> {
                let millis = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2);
                sql::<BigInt>(&format!("(({}) + {millis})", $now))
            }

            fn now() -> diesel::expression::SqlLiteral<BigInt> {
                sql::<BigInt>(&format!("({})", $now))
            }

            #[async_trait]
            impl IntegrationLeases for $store {
                async fn try_acquire(
                    &self,
                    integration: &BridgeIntegrationId,
                    node: &str,
                    ttl: Duration,
                ) -> Result<Option<Lease>, StoreError> {
                    let mut connection = self.connection().await?;
                    let inserted = diesel::insert_into(bridge_leases::table)
                        .values((
                            bridge_leases::integration_id.eq(integration.as_str()),
                            bridge_leases::holder.eq(node),
                            bridge_leases::epoch.eq(1_i64),
                            bridge_leases::expires_at_ms.eq(now_plus(ttl)),
                        ))
                        .on_conflict_do_nothing()
                        .execute(&mut connection)
                        .await
                        .map_err(|error| <$errors>::query_failure("acquire lease", &error))?;
                    if inserted == 1 {
                        return Ok(Some(Lease {
                            integration: integration.clone(),
                            node: node.to_owned(),
                            epoch: 1,
                        }));
                    }
                    let current: Option<i64> = bridge_leases::table
                        .find(integration.as_str())
                        .filter(bridge_leases::expires_at_ms.le(now()))
                        .select(bridge_leases::epoch)
                        .first(&mut connection)
                        .await
                        .optional()
                        .map_err(|error| <$errors>::query_failure("read lease", &error))?;
                    let Some(epoch) = current else {
                        return Ok(None);
                    };
                    let taken = diesel::update(
                        bridge_leases::table
                            .find(integration.as_str())
                            .filter(bridge_leases::epoch.eq(epoch))
                            .filter(bridge_leases::expires_at_ms.le(now())),
                    )
                    .set((
                        bridge_leases::holder.eq(node),
                        bridge_leases::epoch.eq(epoch + 1),
                        bridge_leases::expires_at_ms.eq(now_plus(ttl)),
                    ))
                    .execute(&mut connection)
                    .await
                    .map_err(|error| <$errors>::query_failure("take over lease", &error))?;
                    Ok((taken == 1).then(|| Lease {
                        integration: integration.clone(),
                        node: node.to_owned(),
                        epoch: epoch + 1,
                    }))
                }

                async fn renew(&self, lease: &Lease, ttl: Duration) -> Result<bool, StoreError> {
                    let mut connection = self.connection().await?;
                    let renewed = diesel::update(
                        bridge_leases::table
                            .find(lease.integration.as_str())
                            .filter(bridge_leases::epoch.eq(lease.epoch))
                            .filter(bridge_leases::holder.eq(&lease.node)),
                    )
                    .set(bridge_leases::expires_at_ms.eq(now_plus(ttl)))
                    .execute(&mut connection)
                    .await
                    .map_err(|error| <$errors>::query_failure("renew lease", &error))?;
                    Ok(renewed == 1)
                }

                async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
                    let mut connection = self.connection().await?;
                    diesel::update(
                        bridge_leases::table
                            .find(lease.integration.as_str())
                            .filter(bridge_leases::epoch.eq(lease.epoch))
                            .filter(bridge_leases::holder.eq(&lease.node)),
                    )
                    .set((
                        bridge_leases::holder.eq(""),
                        bridge_leases::expires_at_ms.eq(0_i64),
                    ))
                    .execute(&mut connection)
                    .await
                    .map_err(|error| <$errors>::query_failure("release lease", &error))?;
                    Ok(())
                }

                async fn held_by(
                    &self,
                    integration: &BridgeIntegrationId,
                ) -> Result<Option<LeaseHolder>, StoreError> {
                    let mut connection = self.connection().await?;
                    let row: Option<(String, i64, i64, i64)> = bridge_leases::table
                        .find(integration.as_str())
                        .select((
                            bridge_leases::holder,
                            bridge_leases::epoch,
                            bridge_leases::expires_at_ms,
                            now(),
                        ))
                        .first(&mut connection)
                        .await
                        .optional()
                        .map_err(|error| <$errors>::query_failure("read lease holder", &error))?;
                    Ok(row.filter(|(holder, ..)| !holder.is_empty()).map(
                        |(node, epoch, expires_at, now)| LeaseHolder {
                            node,
                            epoch,
                            live: expires_at > now,
                        },
                    ))
                }

                async fn announce_node(
                    &self,
                    node: &str,
                    ttl: Duration,
                ) -> Result<Vec<String>, StoreError> {
                    let mut connection = self.connection().await?;
                    let updated = diesel::update(bridge_nodes::table.find(node))
                        .set(bridge_nodes::expires_at_ms.eq(now_plus(ttl)))
                        .execute(&mut connection)
                        .await
                        .map_err(|error| <$errors>::query_failure("announce node", &error))?;
                    if updated == 0 {
                        diesel::insert_into(bridge_nodes::table)
                            .values((
                                bridge_nodes::node_id.eq(node),
                                bridge_nodes::expires_at_ms.eq(now_plus(ttl)),
                            ))
                            .on_conflict_do_nothing()
                            .execute(&mut connection)
                            .await
                            .map_err(|error| <$errors>::query_failure("announce node", &error))?;
                    }
                    // Nodes gone for a long while are forgotten.
                    diesel::delete(
                        bridge_nodes::table.filter(
                            bridge_nodes::expires_at_ms
                                .lt(sql::<BigInt>(&format!("(({}) - 3600000)", $now))),
                        ),
                    )
                    .execute(&mut connection)
                    .await
                    .map_err(|error| <$errors>::query_failure("forget nodes", &error))?;
                    bridge_nodes::table
                        .filter(bridge_nodes::expires_at_ms.gt(now()))
                        .select(bridge_nodes::node_id)
                        .order(bridge_nodes::node_id.asc())
                        .load(&mut connection)
                        .await
                        .map_err(|error| <$errors>::query_failure("list nodes", &error))
                }
            }
        };
    };
}
