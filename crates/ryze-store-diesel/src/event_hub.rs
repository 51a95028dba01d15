//! [`impl_event_hub_store!`](crate::impl_event_hub_store): the queries of the event hub's
//! port, `EventHubStore` (tables `hub_events`, `hub_cursors` and `hub_event_ids`), written
//! once and expanded in each store crate for its own connection type; and
//! [`age_threshold`], the one rule of retention that is not a query.
//!
//! A sibling of [`impl_store_ports!`](crate::impl_store_ports), for the same reason it is
//! a macro (diesel checks each query against the concrete connection it runs on), and
//! apart from it because the hub's tables stand on their own: they have no foreign key
//! to `instances`, so the hub works on a database that holds no API tables (a
//! bridge-only one); the API discards an instance's stream itself when it deactivates the
//! integration or deletes the instance.
//!
//! Every write runs in a transaction and first takes the instance's `hub_cursors` row,
//! so the writes of one instance run one after the other; those of different instances
//! do not wait for each other on PostgreSQL.
//!
//! De-duplication: an append of an event with an id first inserts `(instance, id)` into
//! `hub_event_ids`, doing nothing on conflict; when that inserted no row, the id was
//! appended before and the append stops there (nothing stored, no sequence taken). A
//! concurrent append of the same id waits on the first one's uncommitted row (the primary
//! key's index on PostgreSQL, the write lock on SQLite) and then finds it: exactly one
//! of them is stored. The id row outlives the event; retention deletes the ids remembered
//! longer than its age limit (`appended_at` is the event's `received_at`, the clock the
//! age limit reads for events too), and discarding the instance deletes all of them.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

/// Events that arrived before this instant are older than `max_age` at `now`. `None` when
/// `max_age` reaches back beyond what a timestamp can hold: nothing is that old.
pub fn age_threshold(now: DateTime<Utc>, max_age: Duration) -> Option<DateTime<Utc>> {
    TimeDelta::from_std(max_age)
        .ok()
        .and_then(|age| now.checked_sub_signed(age))
}

/// Implements `EventHubStore` for a store type, with the backend's own transaction and
/// lock:
///
/// ```ignore
/// ryze_store_diesel::impl_event_hub_store! {
///     store: PostgresStore,
///     connection: AsyncPgConnection,
///     errors: PostgresErrors,
///     write_transaction: transaction,
///     cursor_row_lock: for_update,          // optional
/// }
/// ```
///
/// - `store`, `connection`, `errors`, `write_transaction`: as for
///   [`impl_store_ports!`](crate::impl_store_ports).
/// - `cursor_row_lock`: a query method locking the instance's `hub_cursors` row for the
///   rest of the transaction, applied where acknowledgement, retention and discarding
///   read it (PostgreSQL's `for_update`). Without it the row is read unlocked, which is
///   right only when `write_transaction` already makes writers take turns (SQLite's
///   `immediate_transaction`).
///
/// An append takes its sequence with one upsert of the cursor row (insert `1`, or add
/// one to `last_sequence`), which on PostgreSQL also locks the row until the event is
/// inserted and the transaction commits: concurrent appends queue on it, so the
/// sequences are consecutive, and a failed insert rolls the counter back with it. An
/// event with an id remembers it first, in the same transaction (see the module's
/// documentation).
#[macro_export]
macro_rules! impl_event_hub_store {
    (
        store: $store:ty,
        connection: $connection:ty,
        errors: $errors:ty,
        write_transaction: $write_transaction:ident,
        $(cursor_row_lock: $cursor_row_lock:ident,)?
    ) => {
        const _: () = {
            use $crate::__private::async_trait;
            use $crate::__private::chrono::{DateTime, Utc};
            use $crate::__private::diesel;
            use $crate::__private::diesel::dsl::{count_star, max, min};
            use $crate::__private::diesel::prelude::*;
            // `transaction` is a method of this trait; SQLite's `immediate_transaction` is not.
            #[allow(unused_imports)]
            use $crate::__private::diesel_async::AsyncConnection;
            use $crate::__private::diesel_async::RunQueryDsl;
            use $crate::__private::ryze_domain::InstanceId;
            use $crate::__private::ryze_ports::{
                AcknowledgeError, AcknowledgeOutcome, AppendOutcome, Backlog, EventHubStore,
                EventSequence, HubCursor, HubEvent, NewHubEvent, RetentionOutcome, StoreError,
            };
            use $crate::errors::{ErrorTranslation as _, TransactionError};
            use $crate::event_hub::age_threshold;
            use $crate::rows::{
                count_column, count_from_column, sequence_column, sequence_from_column,
                HubCursorRow, HubEventRow,
            };
            use $crate::schema::{hub_cursors, hub_event_ids, hub_events};
            use $crate::sql_types::StoredTimestamp;

            /// The instance's cursor row (locked where the backend needs it), if it has one.
            async fn cursor_row(
                connection: &mut $connection,
                instance_id: &str,
            ) -> QueryResult<Option<HubCursorRow>> {
                hub_cursors::table
                    .find(instance_id)
                    .select(HubCursorRow::as_select())
                    $(.$cursor_row_lock())?
                    .get_result(connection)
                    .await
                    .optional()
            }

            /// Remembers `event_id` for the instance; `false` when it was remembered already
            /// (the event is a duplicate).
            async fn remember_event_id(
                connection: &mut $connection,
                instance_id: &str,
                event_id: &str,
                appended_at: DateTime<Utc>,
            ) -> QueryResult<bool> {
                let inserted = diesel::insert_into(hub_event_ids::table)
                    .values((
                        hub_event_ids::instance_id.eq(instance_id),
                        hub_event_ids::event_id.eq(event_id),
                        hub_event_ids::appended_at.eq(StoredTimestamp(appended_at)),
                    ))
                    .on_conflict((hub_event_ids::instance_id, hub_event_ids::event_id))
                    .do_nothing()
                    .execute(connection)
                    .await?;
                Ok(inserted > 0)
            }

            /// Drops the oldest events beyond the limits; `(dropped, newest dropped)`, or
            /// `None` when nothing was. Runs inside the transaction, the cursor locked.
            async fn drop_beyond_limits(
                connection: &mut $connection,
                instance_id: &str,
                max_events: u64,
                too_old_before: Option<DateTime<Utc>>,
            ) -> QueryResult<Option<(usize, i64)>> {
                let of_instance =
                    || hub_events::table.filter(hub_events::instance_id.eq(instance_id));
                let stored: i64 = of_instance().count().get_result(connection).await?;
                let excess = stored.saturating_sub(count_column(max_events));
                // The newest event that must go for the count: the `excess`-th oldest.
                let by_count: Option<i64> = if excess > 0 {
                    of_instance()
                        .order(hub_events::sequence.asc())
                        .offset(excess - 1)
                        .select(hub_events::sequence)
                        .first(connection)
                        .await
                        .optional()?
                } else {
                    None
                };
                // For the age: everything before the first event young enough.
                let by_age: Option<i64> = match too_old_before {
                    Some(threshold) => {
                        let first_young: Option<i64> = of_instance()
                            .filter(hub_events::received_at.ge(StoredTimestamp(threshold)))
                            .order(hub_events::sequence.asc())
                            .select(hub_events::sequence)
                            .first(connection)
                            .await
                            .optional()?;
                        Some(first_young.map_or(i64::MAX, |young| young - 1))
                    }
                    None => None,
                };
                let Some(cutoff) = by_count.max(by_age) else {
                    return Ok(None);
                };
                let newest: Option<i64> = of_instance()
                    .filter(hub_events::sequence.le(cutoff))
                    .select(max(hub_events::sequence))
                    .get_result(connection)
                    .await?;
                let Some(newest) = newest else {
                    return Ok(None);
                };
                let dropped = diesel::delete(of_instance().filter(hub_events::sequence.le(newest)))
                    .execute(connection)
                    .await?;
                diesel::update(hub_cursors::table.find(instance_id))
                    .set(hub_cursors::dropped_up_to.eq(Some(newest)))
                    .execute(connection)
                    .await?;
                Ok(Some((dropped, newest)))
            }

            #[async_trait]
            impl EventHubStore for $store {
                async fn append_event(
                    &self,
                    instance_id: &InstanceId,
                    event: NewHubEvent,
                ) -> Result<AppendOutcome, StoreError> {
                    let instance = instance_id.as_str();
                    let mut pooled = self.connection().await?;
                    let connection: &mut $connection = &mut pooled;
                    let sequence = connection
                        .$write_transaction::<_, diesel::result::Error, _>(async |connection| {
                            if let Some(event_id) = &event.event_id {
                                let first_time = remember_event_id(
                                    connection,
                                    instance,
                                    event_id,
                                    event.received_at,
                                )
                                .await?;
                                if !first_time {
                                    return Ok(None);
                                }
                            }
                            let sequence: i64 = diesel::insert_into(hub_cursors::table)
                                .values((
                                    hub_cursors::instance_id.eq(instance),
                                    hub_cursors::last_sequence.eq(1_i64),
                                    hub_cursors::acknowledged.eq(0_i64),
                                ))
                                .on_conflict(hub_cursors::instance_id)
                                .do_update()
                                .set(
                                    hub_cursors::last_sequence
                                        .eq(hub_cursors::last_sequence + 1_i64),
                                )
                                .returning(hub_cursors::last_sequence)
                                .get_result(connection)
                                .await?;
                            diesel::insert_into(hub_events::table)
                                .values((
                                    hub_events::instance_id.eq(instance),
                                    hub_events::sequence.eq(sequence),
                                    hub_events::kind.eq(&event.kind),
                                    hub_events::payload.eq(&event.payload),
                                    hub_events::received_at.eq(StoredTimestamp(event.received_at)),
                                    hub_events::traceparent.eq(event.traceparent.as_deref()),
                                ))
                                .execute(connection)
                                .await?;
                            Ok(Some(sequence))
                        })
                        .await
                        .map_err(|error| <$errors>::query_failure("append hub event", &error))?;
                    match sequence {
                        Some(sequence) => {
                            sequence_from_column("hub_cursors", instance, "last_sequence", sequence)
                                .map(AppendOutcome::Appended)
                        }
                        None => Ok(AppendOutcome::Duplicate),
                    }
                }

                async fn events_after(
                    &self,
                    instance_id: &InstanceId,
                    after: EventSequence,
                    limit: usize,
                ) -> Result<Vec<HubEvent>, StoreError> {
                    let instance = instance_id.as_str();
                    let mut connection = self.connection().await?;
                    let rows: Vec<HubEventRow> = hub_events::table
                        .filter(hub_events::instance_id.eq(instance))
                        .filter(hub_events::sequence.gt(sequence_column(after)))
                        .order(hub_events::sequence.asc())
                        .limit(count_column(limit))
                        .select(HubEventRow::as_select())
                        .load(&mut connection)
                        .await
                        .map_err(|error| <$errors>::query_failure("read hub events", &error))?;
                    rows.into_iter().map(|row| row.into_event(instance)).collect()
                }

                async fn acknowledge(
                    &self,
                    instance_id: &InstanceId,
                    up_to: EventSequence,
                ) -> Result<AcknowledgeOutcome, AcknowledgeError> {
                    let instance = instance_id.as_str();
                    let up_to_column = sequence_column(up_to);
                    let mut pooled = self.connection().await?;
                    let connection: &mut $connection = &mut pooled;
                    let removed = connection
                        .$write_transaction::<_, TransactionError<AcknowledgeError>, _>(
                            async |connection| {
                                let cursor = match cursor_row(connection, instance).await? {
                                    Some(row) => row.into_cursor(instance).map_err(|error| {
                                        TransactionError::Refused(AcknowledgeError::Store(error))
                                    })?,
                                    None => HubCursor::default(),
                                };
                                if up_to > cursor.last_appended {
                                    return Err(TransactionError::Refused(
                                        AcknowledgeError::BeyondLastAppended {
                                            requested: up_to,
                                            last_appended: cursor.last_appended,
                                        },
                                    ));
                                }
                                if up_to <= cursor.acknowledged {
                                    return Ok(0);
                                }
                                diesel::update(hub_cursors::table.find(instance))
                                    .set(hub_cursors::acknowledged.eq(up_to_column))
                                    .execute(connection)
                                    .await?;
                                let removed = diesel::delete(
                                    hub_events::table
                                        .filter(hub_events::instance_id.eq(instance))
                                        .filter(hub_events::sequence.le(up_to_column)),
                                )
                                .execute(connection)
                                .await?;
                                Ok(removed)
                            },
                        )
                        .await
                        .map_err(|error| {
                            error.into_port_error::<$errors>("acknowledge hub events")
                        })?;
                    Ok(AcknowledgeOutcome {
                        removed: count_from_column(removed),
                    })
                }

                async fn last_acknowledged(
                    &self,
                    instance_id: &InstanceId,
                ) -> Result<EventSequence, StoreError> {
                    Ok(EventHubStore::cursor(self, instance_id).await?.acknowledged)
                }

                async fn cursor(&self, instance_id: &InstanceId) -> Result<HubCursor, StoreError> {
                    let instance = instance_id.as_str();
                    let mut connection = self.connection().await?;
                    hub_cursors::table
                        .find(instance)
                        .select(HubCursorRow::as_select())
                        .get_result(&mut connection)
                        .await
                        .optional()
                        .map_err(|error| <$errors>::query_failure("read hub cursor", &error))?
                        .map_or(Ok(HubCursor::default()), |row| row.into_cursor(instance))
                }

                async fn backlog(&self, instance_id: &InstanceId) -> Result<Backlog, StoreError> {
                    let mut connection = self.connection().await?;
                    let (events, oldest): (i64, Option<StoredTimestamp>) = hub_events::table
                        .filter(hub_events::instance_id.eq(instance_id.as_str()))
                        .select((count_star(), min(hub_events::received_at)))
                        .get_result(&mut connection)
                        .await
                        .map_err(|error| <$errors>::query_failure("read hub backlog", &error))?;
                    Ok(Backlog {
                        events: count_from_column(events),
                        oldest_received_at: oldest.map(DateTime::from),
                    })
                }

                async fn enforce_retention(
                    &self,
                    instance_id: &InstanceId,
                    max_events: u64,
                    max_age: std::time::Duration,
                    now: DateTime<Utc>,
                ) -> Result<RetentionOutcome, StoreError> {
                    let instance = instance_id.as_str();
                    let too_old_before = age_threshold(now, max_age);
                    let mut pooled = self.connection().await?;
                    let connection: &mut $connection = &mut pooled;
                    let dropped = connection
                        .$write_transaction::<_, diesel::result::Error, _>(async |connection| {
                            if cursor_row(connection, instance).await?.is_none() {
                                return Ok(None);
                            }
                            if let Some(threshold) = too_old_before {
                                diesel::delete(
                                    hub_event_ids::table
                                        .filter(hub_event_ids::instance_id.eq(instance))
                                        .filter(
                                            hub_event_ids::appended_at
                                                .lt(StoredTimestamp(threshold)),
                                        ),
                                )
                                .execute(connection)
                                .await?;
                            }
                            drop_beyond_limits(connection, instance, max_events, too_old_before)
                                .await
                        })
                        .await
                        .map_err(|error| {
                            <$errors>::query_failure("enforce hub retention", &error)
                        })?;
                    let Some((dropped, newest)) = dropped else {
                        return Ok(RetentionOutcome::default());
                    };
                    Ok(RetentionOutcome {
                        dropped: count_from_column(dropped),
                        dropped_up_to: Some(sequence_from_column(
                            "hub_events",
                            instance,
                            "sequence",
                            newest,
                        )?),
                    })
                }

                async fn discard_instance(
                    &self,
                    instance_id: &InstanceId,
                ) -> Result<(), StoreError> {
                    let instance = instance_id.as_str();
                    let mut pooled = self.connection().await?;
                    let connection: &mut $connection = &mut pooled;
                    connection
                        .$write_transaction::<_, diesel::result::Error, _>(async |connection| {
                            if cursor_row(connection, instance).await?.is_none() {
                                return Ok(());
                            }
                            diesel::delete(
                                hub_events::table.filter(hub_events::instance_id.eq(instance)),
                            )
                            .execute(connection)
                            .await?;
                            diesel::delete(
                                hub_event_ids::table
                                    .filter(hub_event_ids::instance_id.eq(instance)),
                            )
                            .execute(connection)
                            .await?;
                            diesel::update(hub_cursors::table.find(instance))
                                .set((
                                    hub_cursors::acknowledged.eq(hub_cursors::last_sequence),
                                    hub_cursors::dropped_up_to.eq(None::<i64>),
                                ))
                                .execute(connection)
                                .await?;
                            Ok(())
                        })
                        .await
                        .map_err(|error| <$errors>::query_failure("discard hub events", &error))
                }
            }
        };
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_age_threshold_is_now_minus_the_age_or_none_beyond_representable_time() {
        let now = DateTime::from_timestamp(1_741_064_767, 0).expect("a valid instant");
        assert_eq!(
            age_threshold(now, Duration::from_secs(3_600)),
            DateTime::from_timestamp(1_741_064_767 - 3_600, 0)
        );
        assert_eq!(age_threshold(now, Duration::ZERO), Some(now));
        assert_eq!(age_threshold(now, Duration::MAX), None);
    }
}
