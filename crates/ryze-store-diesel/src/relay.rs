//! [`impl_relay_store!`](crate::impl_relay_store): the queries of the bridge's relay
//! memory, `RelayStore` and `OutboundQueueStore` (tables `relay_contact_keys`,
//! `relay_conversations`, `relay_message_links` and `relay_outbound_webhooks`), written
//! once and expanded in each store crate for its own connection type; and the rows those
//! queries read, with their conversion to the ports' types.
//!
//! A sibling of [`impl_store_ports!`](crate::impl_store_ports), a macro for the same
//! reason (diesel checks each query against the concrete connection it runs on). The
//! relay's tables have no foreign key: they are scoped by the bridge integration's id,
//! and the relay forgets an integration's rows itself when it is deactivated.
//!
//! Race safety comes from the tables' unique rules, not from locks: a message link or a
//! queued webhook is inserted with `ON CONFLICT DO NOTHING` (the same words on both
//! backends), and whoever inserted nothing reads the row that won. Contact keys are
//! inserted the same way, in a sorted order, so two writers of overlapping keys cannot
//! wait on each other in a cycle.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use ryze_domain::BridgeIntegrationId;
use ryze_ports::{
    ConversationDisplayId, LinkDirection, LinkState, MessageId, MessageLink, QueuedWebhook,
    StoreError,
};

use crate::rows::corrupt;
use crate::schema::{relay_message_links, relay_outbound_webhooks};
use crate::sql_types::StoredTimestamp;

/// How many times [`impl_relay_store!`](crate::impl_relay_store)'s `begin_message_link`
/// inserts-then-reads before giving up: a second round is only needed when the link that
/// made the insert do nothing was deleted (the integration forgotten) before it was read.
pub const BEGIN_LINK_ATTEMPTS: usize = 3;

/// What `begin_message_link` reports when every attempt found its conflicting link gone.
pub const BEGIN_LINK_VANISHED: &str =
    "begin message link: the conflicting link kept disappearing (is the integration being forgotten?)";

/// A link direction as the `direction` column holds it.
pub fn direction_column(direction: LinkDirection) -> &'static str {
    match direction {
        LinkDirection::ToChatwoot => "to_chatwoot",
        LinkDirection::ToWhatsApp => "to_whatsapp",
    }
}

/// A link state as the `state` column holds it.
pub fn state_column(state: LinkState) -> &'static str {
    match state {
        LinkState::Pending => "pending",
        LinkState::Completed => "completed",
        LinkState::Failed => "failed",
    }
}

fn direction_from_column(value: &str) -> Option<LinkDirection> {
    [LinkDirection::ToChatwoot, LinkDirection::ToWhatsApp]
        .into_iter()
        .find(|direction| direction_column(*direction) == value)
}

fn state_from_column(value: &str) -> Option<LinkState> {
    [LinkState::Pending, LinkState::Completed, LinkState::Failed]
        .into_iter()
        .find(|state| state_column(*state) == value)
}

/// A `relay_message_links` row of one integration, as read back (the integration is
/// known).
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = relay_message_links)]
pub struct MessageLinkRow {
    pub whatsapp_id: String,
    pub chatwoot_id: Option<i64>,
    pub conversation_display_id: Option<i64>,
    pub direction: String,
    pub chat_jid: String,
    pub from_me: bool,
    pub participant_jid: Option<String>,
    pub state: String,
    pub failure: String,
    #[diesel(deserialize_as = StoredTimestamp)]
    pub created_at: DateTime<Utc>,
}

impl MessageLinkRow {
    /// The link; an unknown direction or state is corrupt.
    pub fn into_domain(self) -> Result<MessageLink, StoreError> {
        let invalid =
            |column: &str| corrupt("relay_message_links", &self.whatsapp_id, column, "unknown");
        let direction =
            direction_from_column(&self.direction).ok_or_else(|| invalid("direction"))?;
        let state = state_from_column(&self.state).ok_or_else(|| invalid("state"))?;
        Ok(MessageLink {
            whatsapp_id: self.whatsapp_id,
            chatwoot_id: self.chatwoot_id.map(MessageId),
            conversation: self.conversation_display_id.map(ConversationDisplayId),
            direction,
            chat_jid: self.chat_jid,
            from_me: self.from_me,
            participant_jid: self.participant_jid,
            state,
            failure: self.failure,
            created_at: self.created_at,
        })
    }
}

/// A `relay_outbound_webhooks` row not yet handled, as read back.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = relay_outbound_webhooks)]
pub struct QueuedWebhookRow {
    pub id: i64,
    pub integration_id: String,
    pub dedupe_key: String,
    pub payload: Vec<u8>,
    #[diesel(deserialize_as = StoredTimestamp)]
    pub received_at: DateTime<Utc>,
    pub attempts: i32,
}

impl QueuedWebhookRow {
    /// The queued webhook; a negative attempt count is corrupt.
    pub fn into_domain(self) -> Result<QueuedWebhook, StoreError> {
        Ok(QueuedWebhook {
            attempts: attempts_from_column(self.id, self.attempts)?,
            id: self.id,
            integration: BridgeIntegrationId::new(self.integration_id),
            dedupe_key: self.dedupe_key,
            payload: self.payload,
            received_at: self.received_at,
        })
    }
}

/// An attempt count read from the `attempts` column of the webhook `id`.
pub fn attempts_from_column(id: i64, attempts: i32) -> Result<u32, StoreError> {
    u32::try_from(attempts).map_err(|_| {
        corrupt(
            "relay_outbound_webhooks",
            &id.to_string(),
            "attempts",
            "negative",
        )
    })
}

/// `keys` sorted, without repeats: the order contact keys are inserted in.
pub fn sorted_keys(keys: &[String]) -> Vec<&str> {
    let mut sorted: Vec<&str> = keys.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted.dedup();
    sorted
}

/// Implements `RelayStore` and `OutboundQueueStore` for a store type, with the backend's
/// own write transaction:
///
/// ```ignore
/// ryze_store_diesel::impl_relay_store! {
///     store: PostgresStore,
///     connection: AsyncPgConnection,
///     errors: PostgresErrors,
///     write_transaction: transaction,
/// }
/// ```
///
/// - `store`, `connection`, `errors`, `write_transaction`: as for
///   [`impl_store_ports!`](crate::impl_store_ports). The transaction runs the writes of
///   several rows (a contact's keys, forgetting an integration); every other write is a
///   single statement.
///
/// `begin_message_link` inserts with `ON CONFLICT DO NOTHING` (any unique rule: the
/// WhatsApp id, or the Chatwoot id when given), then reads the link by WhatsApp id, then
/// by Chatwoot id: whichever of concurrent begins inserted, all of them return the one
/// stored link. A finished webhook keeps its row (and so its key) until
/// `forget_handled_before` deletes it; finishing an unknown or already finished webhook
/// changes nothing, and counting an attempt of an unknown one is a
/// [`StoreError::Query`].
#[macro_export]
macro_rules! impl_relay_store {
    (
        store: $store:ty,
        connection: $connection:ty,
        errors: $errors:ty,
        write_transaction: $write_transaction:ident $(,)?
    ) => {
        const _: () = {
            use $crate::__private::async_trait;
            use $crate::__private::chrono::{DateTime, Utc};
            use $crate::__private::diesel;
            use $crate::__private::diesel::prelude::*;
            use $crate::__private::diesel::upsert::excluded;
            // `transaction` is a method of this trait; SQLite's `immediate_transaction` is not.
            #[allow(unused_imports)]
            use $crate::__private::diesel_async::AsyncConnection;
            use $crate::__private::diesel_async::RunQueryDsl;
            use $crate::__private::ryze_domain::BridgeIntegrationId;
            use $crate::__private::ryze_ports::{
                ContactId, ConversationDisplayId, EnqueueOutcome, KnownContact, LinkState,
                MessageId, MessageLink, NewMessageLink, OutboundQueueStore, QueuedWebhook,
                RelayStore, StoreError,
            };
            use $crate::errors::ErrorTranslation as _;
            use $crate::relay::{
                attempts_from_column, direction_column, sorted_keys, state_column, MessageLinkRow,
                QueuedWebhookRow, BEGIN_LINK_ATTEMPTS, BEGIN_LINK_VANISHED,
            };
            use $crate::rows::{count_column, count_from_column};
            use $crate::schema::{
                relay_contact_keys, relay_conversations, relay_message_links,
                relay_outbound_webhooks,
            };
            use $crate::sql_types::StoredTimestamp;

            /// Inserts `link` as a pending link unless one with its WhatsApp id (or its
            /// Chatwoot id) exists.
            async fn insert_link_unless_linked(
                connection: &mut $connection,
                integration: &str,
                link: &NewMessageLink,
            ) -> QueryResult<usize> {
                let now = StoredTimestamp::now();
                diesel::insert_into(relay_message_links::table)
                    .values((
                        relay_message_links::integration_id.eq(integration),
                        relay_message_links::whatsapp_id.eq(&link.whatsapp_id),
                        relay_message_links::chatwoot_id.eq(link.chatwoot_id.map(MessageId::get)),
                        relay_message_links::conversation_display_id
                            .eq(link.conversation.map(ConversationDisplayId::get)),
                        relay_message_links::direction.eq(direction_column(link.direction)),
                        relay_message_links::chat_jid.eq(&link.chat_jid),
                        relay_message_links::from_me.eq(link.from_me),
                        relay_message_links::participant_jid.eq(&link.participant_jid),
                        relay_message_links::state.eq(state_column(LinkState::Pending)),
                        relay_message_links::failure.eq(""),
                        relay_message_links::created_at.eq(now),
                        relay_message_links::updated_at.eq(now),
                    ))
                    .on_conflict_do_nothing()
                    .execute(connection)
                    .await
            }

            async fn link_by_whatsapp_id(
                connection: &mut $connection,
                integration: &str,
                whatsapp_id: &str,
            ) -> QueryResult<Option<MessageLinkRow>> {
                relay_message_links::table
                    .find((integration, whatsapp_id))
                    .select(MessageLinkRow::as_select())
                    .get_result(connection)
                    .await
                    .optional()
            }

            async fn link_by_chatwoot_id(
                connection: &mut $connection,
                integration: &str,
                chatwoot_id: MessageId,
            ) -> QueryResult<Option<MessageLinkRow>> {
                relay_message_links::table
                    .filter(relay_message_links::integration_id.eq(integration))
                    .filter(relay_message_links::chatwoot_id.eq(chatwoot_id.get()))
                    .select(MessageLinkRow::as_select())
                    .first(connection)
                    .await
                    .optional()
            }

            /// The link that exists for `link`'s WhatsApp id or, failing that, its
            /// Chatwoot id.
            async fn existing_link(
                connection: &mut $connection,
                integration: &str,
                link: &NewMessageLink,
            ) -> QueryResult<Option<MessageLinkRow>> {
                if let Some(row) =
                    link_by_whatsapp_id(connection, integration, &link.whatsapp_id).await?
                {
                    return Ok(Some(row));
                }
                match link.chatwoot_id {
                    Some(chatwoot_id) => {
                        link_by_chatwoot_id(connection, integration, chatwoot_id).await
                    }
                    None => Ok(None),
                }
            }

            #[async_trait]
            impl RelayStore for $store {
                async fn find_contact(
                    &self,
                    integration: &BridgeIntegrationId,
                    keys: &[String],
                ) -> Result<Option<KnownContact>, StoreError> {
                    if keys.is_empty() {
                        return Ok(None);
                    }
                    let integration = integration.as_str();
                    let mut pooled = self.connection().await?;
                    let connection: &mut $connection = &mut pooled;
                    let failure = |error| <$errors>::query_failure("find relay contact", &error);
                    let oldest: Option<(i64, String)> = relay_contact_keys::table
                        .filter(relay_contact_keys::integration_id.eq(integration))
                        .filter(relay_contact_keys::key.eq_any(sorted_keys(keys)))
                        .order((
                            relay_contact_keys::created_at.asc(),
                            relay_contact_keys::contact_id.asc(),
                            relay_contact_keys::key.asc(),
                        ))
                        .select((
                            relay_contact_keys::contact_id,
                            relay_contact_keys::source_id,
                        ))
                        .first(connection)
                        .await
                        .optional()
                        .map_err(failure)?;
                    let Some((contact_id, source_id)) = oldest else {
                        return Ok(None);
                    };
                    let keys: Vec<String> = relay_contact_keys::table
                        .filter(relay_contact_keys::integration_id.eq(integration))
                        .filter(relay_contact_keys::contact_id.eq(contact_id))
                        .order(relay_contact_keys::key.asc())
                        .select(relay_contact_keys::key)
                        .load(connection)
                        .await
                        .map_err(failure)?;
                    Ok(Some(KnownContact {
                        contact_id: ContactId(contact_id),
                        source_id,
                        keys,
                    }))
                }

                async fn remember_contact(
                    &self,
                    integration: &BridgeIntegrationId,
                    contact_id: ContactId,
                    source_id: &str,
                    keys: &[String],
                ) -> Result<(), StoreError> {
                    let integration = integration.as_str();
                    let keys = sorted_keys(keys);
                    if keys.is_empty() {
                        return Ok(());
                    }
                    let created_at = StoredTimestamp::now();
                    let mut pooled = self.connection().await?;
                    let connection: &mut $connection = &mut pooled;
                    connection
                        .$write_transaction::<_, diesel::result::Error, _>(async |connection| {
                            for key in &keys {
                                diesel::insert_into(relay_contact_keys::table)
                                    .values((
                                        relay_contact_keys::integration_id.eq(integration),
                                        relay_contact_keys::key.eq(*key),
                                        relay_contact_keys::contact_id.eq(contact_id.get()),
                                        relay_contact_keys::source_id.eq(source_id),
                                        relay_contact_keys::created_at.eq(created_at),
                                    ))
                                    .on_conflict((
                                        relay_contact_keys::integration_id,
                                        relay_contact_keys::key,
                                    ))
                                    .do_nothing()
                                    .execute(connection)
                                    .await?;
                            }
                            Ok(())
                        })
                        .await
                        .map_err(|error| <$errors>::query_failure("remember relay contact", &error))
                }

                async fn find_conversation(
                    &self,
                    integration: &BridgeIntegrationId,
                    contact_id: ContactId,
                ) -> Result<Option<ConversationDisplayId>, StoreError> {
                    let mut connection = self.connection().await?;
                    let conversation: Option<i64> = relay_conversations::table
                        .find((integration.as_str(), contact_id.get()))
                        .select(relay_conversations::conversation_display_id)
                        .get_result(&mut connection)
                        .await
                        .optional()
                        .map_err(|error| {
                            <$errors>::query_failure("find relay conversation", &error)
                        })?;
                    Ok(conversation.map(ConversationDisplayId))
                }

                async fn remember_conversation(
                    &self,
                    integration: &BridgeIntegrationId,
                    contact_id: ContactId,
                    conversation: ConversationDisplayId,
                ) -> Result<(), StoreError> {
                    let mut connection = self.connection().await?;
                    diesel::insert_into(relay_conversations::table)
                        .values((
                            relay_conversations::integration_id.eq(integration.as_str()),
                            relay_conversations::contact_id.eq(contact_id.get()),
                            relay_conversations::conversation_display_id.eq(conversation.get()),
                        ))
                        .on_conflict((
                            relay_conversations::integration_id,
                            relay_conversations::contact_id,
                        ))
                        .do_update()
                        .set(
                            relay_conversations::conversation_display_id
                                .eq(excluded(relay_conversations::conversation_display_id)),
                        )
                        .execute(&mut connection)
                        .await
                        .map_err(|error| {
                            <$errors>::query_failure("remember relay conversation", &error)
                        })?;
                    Ok(())
                }

                async fn begin_message_link(
                    &self,
                    integration: &BridgeIntegrationId,
                    link: NewMessageLink,
                ) -> Result<MessageLink, StoreError> {
                    let integration = integration.as_str();
                    let mut pooled = self.connection().await?;
                    let connection: &mut $connection = &mut pooled;
                    let failure = |error| <$errors>::query_failure("begin message link", &error);
                    for _ in 0..BEGIN_LINK_ATTEMPTS {
                        insert_link_unless_linked(connection, integration, &link)
                            .await
                            .map_err(failure)?;
                        if let Some(row) = existing_link(connection, integration, &link)
                            .await
                            .map_err(failure)?
                        {
                            return row.into_domain();
                        }
                    }
                    Err(StoreError::Query(BEGIN_LINK_VANISHED.to_owned()))
                }

                async fn complete_message_link(
                    &self,
                    integration: &BridgeIntegrationId,
                    whatsapp_id: &str,
                    chatwoot_id: MessageId,
                    conversation: ConversationDisplayId,
                ) -> Result<bool, StoreError> {
                    let mut connection = self.connection().await?;
                    let updated = diesel::update(
                        relay_message_links::table.find((integration.as_str(), whatsapp_id)),
                    )
                    .set((
                        relay_message_links::chatwoot_id.eq(Some(chatwoot_id.get())),
                        relay_message_links::conversation_display_id.eq(Some(conversation.get())),
                        relay_message_links::state.eq(state_column(LinkState::Completed)),
                        relay_message_links::failure.eq(""),
                        relay_message_links::updated_at.eq(StoredTimestamp::now()),
                    ))
                    .execute(&mut connection)
                    .await
                    .map_err(|error| <$errors>::query_failure("complete message link", &error))?;
                    Ok(updated > 0)
                }

                async fn fail_message_link(
                    &self,
                    integration: &BridgeIntegrationId,
                    whatsapp_id: &str,
                    failure: &str,
                ) -> Result<bool, StoreError> {
                    let mut connection = self.connection().await?;
                    let updated = diesel::update(
                        relay_message_links::table.find((integration.as_str(), whatsapp_id)),
                    )
                    .set((
                        relay_message_links::state.eq(state_column(LinkState::Failed)),
                        relay_message_links::failure.eq(failure),
                        relay_message_links::updated_at.eq(StoredTimestamp::now()),
                    ))
                    .execute(&mut connection)
                    .await
                    .map_err(|error| <$errors>::query_failure("fail message link", &error))?;
                    Ok(updated > 0)
                }

                async fn find_link_by_whatsapp_id(
                    &self,
                    integration: &BridgeIntegrationId,
                    whatsapp_id: &str,
                ) -> Result<Option<MessageLink>, StoreError> {
                    let mut pooled = self.connection().await?;
                    let connection: &mut $connection = &mut pooled;
                    link_by_whatsapp_id(connection, integration.as_str(), whatsapp_id)
                        .await
                        .map_err(|error| <$errors>::query_failure("find message link", &error))?
                        .map(MessageLinkRow::into_domain)
                        .transpose()
                }

                async fn find_link_by_chatwoot_id(
                    &self,
                    integration: &BridgeIntegrationId,
                    chatwoot_id: MessageId,
                ) -> Result<Option<MessageLink>, StoreError> {
                    let mut pooled = self.connection().await?;
                    let connection: &mut $connection = &mut pooled;
                    link_by_chatwoot_id(connection, integration.as_str(), chatwoot_id)
                        .await
                        .map_err(|error| <$errors>::query_failure("find message link", &error))?
                        .map(MessageLinkRow::into_domain)
                        .transpose()
                }

                async fn forget_integration(
                    &self,
                    integration: &BridgeIntegrationId,
                ) -> Result<(), StoreError> {
                    let integration = integration.as_str();
                    let mut pooled = self.connection().await?;
                    let connection: &mut $connection = &mut pooled;
                    connection
                        .$write_transaction::<_, diesel::result::Error, _>(async |connection| {
                            diesel::delete(
                                relay_contact_keys::table
                                    .filter(relay_contact_keys::integration_id.eq(integration)),
                            )
                            .execute(connection)
                            .await?;
                            diesel::delete(
                                relay_conversations::table
                                    .filter(relay_conversations::integration_id.eq(integration)),
                            )
                            .execute(connection)
                            .await?;
                            diesel::delete(
                                relay_message_links::table
                                    .filter(relay_message_links::integration_id.eq(integration)),
                            )
                            .execute(connection)
                            .await?;
                            diesel::delete(
                                relay_outbound_webhooks::table.filter(
                                    relay_outbound_webhooks::integration_id.eq(integration),
                                ),
                            )
                            .execute(connection)
                            .await?;
                            Ok(())
                        })
                        .await
                        .map_err(|error| {
                            <$errors>::query_failure("forget relay integration", &error)
                        })
                }
            }

            #[async_trait]
            impl OutboundQueueStore for $store {
                async fn enqueue_webhook(
                    &self,
                    integration: &BridgeIntegrationId,
                    dedupe_key: &str,
                    payload: Vec<u8>,
                    received_at: DateTime<Utc>,
                ) -> Result<EnqueueOutcome, StoreError> {
                    let mut connection = self.connection().await?;
                    let queued: Option<i64> = diesel::insert_into(relay_outbound_webhooks::table)
                        .values((
                            relay_outbound_webhooks::integration_id.eq(integration.as_str()),
                            relay_outbound_webhooks::dedupe_key.eq(dedupe_key),
                            relay_outbound_webhooks::payload.eq(&payload),
                            relay_outbound_webhooks::received_at.eq(StoredTimestamp(received_at)),
                            relay_outbound_webhooks::attempts.eq(0_i32),
                        ))
                        .on_conflict((
                            relay_outbound_webhooks::integration_id,
                            relay_outbound_webhooks::dedupe_key,
                        ))
                        .do_nothing()
                        .returning(relay_outbound_webhooks::id)
                        .get_result(&mut connection)
                        .await
                        .optional()
                        .map_err(|error| {
                            <$errors>::query_failure("enqueue outbound webhook", &error)
                        })?;
                    Ok(match queued {
                        Some(id) => EnqueueOutcome::Queued { id },
                        None => EnqueueOutcome::Duplicate,
                    })
                }

                async fn pending_webhooks(
                    &self,
                    limit: usize,
                ) -> Result<Vec<QueuedWebhook>, StoreError> {
                    let mut connection = self.connection().await?;
                    let rows: Vec<QueuedWebhookRow> = relay_outbound_webhooks::table
                        .filter(relay_outbound_webhooks::handled_at.is_null())
                        .order((
                            relay_outbound_webhooks::received_at.asc(),
                            relay_outbound_webhooks::id.asc(),
                        ))
                        .limit(count_column(limit))
                        .select(QueuedWebhookRow::as_select())
                        .load(&mut connection)
                        .await
                        .map_err(|error| {
                            <$errors>::query_failure("read pending outbound webhooks", &error)
                        })?;
                    rows.into_iter()
                        .map(QueuedWebhookRow::into_domain)
                        .collect()
                }

                async fn count_pending_webhooks(&self) -> Result<u64, StoreError> {
                    let mut connection = self.connection().await?;
                    let pending: i64 = relay_outbound_webhooks::table
                        .filter(relay_outbound_webhooks::handled_at.is_null())
                        .count()
                        .get_result(&mut connection)
                        .await
                        .map_err(|error| {
                            <$errors>::query_failure("count pending outbound webhooks", &error)
                        })?;
                    Ok(count_from_column(pending))
                }

                async fn finish_webhook(&self, id: i64) -> Result<(), StoreError> {
                    let mut connection = self.connection().await?;
                    diesel::update(
                        relay_outbound_webhooks::table
                            .find(id)
                            .filter(relay_outbound_webhooks::handled_at.is_null()),
                    )
                    .set((
                        relay_outbound_webhooks::handled_at.eq(Some(StoredTimestamp::now())),
                        // Only the key is needed from now on (de-duplication).
                        relay_outbound_webhooks::payload.eq(Vec::<u8>::new()),
                    ))
                    .execute(&mut connection)
                    .await
                    .map_err(|error| <$errors>::query_failure("finish outbound webhook", &error))?;
                    Ok(())
                }

                async fn record_webhook_attempt(&self, id: i64) -> Result<u32, StoreError> {
                    let mut connection = self.connection().await?;
                    let attempts: Option<i32> =
                        diesel::update(relay_outbound_webhooks::table.find(id))
                            .set(
                                relay_outbound_webhooks::attempts
                                    .eq(relay_outbound_webhooks::attempts + 1_i32),
                            )
                            .returning(relay_outbound_webhooks::attempts)
                            .get_result(&mut connection)
                            .await
                            .optional()
                            .map_err(|error| {
                                <$errors>::query_failure("record outbound webhook attempt", &error)
                            })?;
                    match attempts {
                        Some(attempts) => attempts_from_column(id, attempts),
                        None => Err(StoreError::Query(format!(
                            "record outbound webhook attempt: no queued webhook has id {id}"
                        ))),
                    }
                }

                async fn forget_handled_before(
                    &self,
                    cutoff: DateTime<Utc>,
                ) -> Result<u64, StoreError> {
                    let mut connection = self.connection().await?;
                    let forgotten = diesel::delete(
                        relay_outbound_webhooks::table
                            .filter(relay_outbound_webhooks::handled_at.is_not_null())
                            .filter(
                                relay_outbound_webhooks::handled_at.lt(StoredTimestamp(cutoff)),
                            ),
                    )
                    .execute(&mut connection)
                    .await
                    .map_err(|error| {
                        <$errors>::query_failure("forget handled outbound webhooks", &error)
                    })?;
                    Ok(count_from_column(forgotten))
                }
            }
        };
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions_and_states_read_back_as_written() {
        for direction in [LinkDirection::ToChatwoot, LinkDirection::ToWhatsApp] {
            assert_eq!(
                direction_from_column(direction_column(direction)),
                Some(direction)
            );
        }
        for state in [LinkState::Pending, LinkState::Completed, LinkState::Failed] {
            assert_eq!(state_from_column(state_column(state)), Some(state));
        }
        assert_eq!(direction_from_column("sideways"), None);
        assert_eq!(state_from_column("Pending"), None);
    }

    #[test]
    fn a_corrupt_link_names_the_row_and_column_but_not_the_value() {
        let row = MessageLinkRow {
            whatsapp_id: "wamid-1".to_owned(),
            chatwoot_id: None,
            conversation_display_id: None,
            direction: "to_chatwoot".to_owned(),
            chat_jid: "5511999999999@s.whatsapp.net".to_owned(),
            from_me: false,
            participant_jid: None,
            state: "sleeping".to_owned(),
            failure: String::new(),
            created_at: DateTime::from_timestamp(1_741_064_767, 0).expect("a valid instant"),
        };
        let error = row.into_domain().expect_err("the state is unknown");
        assert_eq!(
            error,
            StoreError::Corrupt("relay_message_links row wamid-1: state: unknown".to_owned())
        );
    }

    #[test]
    fn a_negative_attempt_count_is_corrupt() {
        assert_eq!(attempts_from_column(7, 3), Ok(3));
        assert!(matches!(
            attempts_from_column(7, -1),
            Err(StoreError::Corrupt(_))
        ));
    }

    #[test]
    fn contact_keys_are_inserted_sorted_once_each() {
        let keys = ["b".to_owned(), "a".to_owned(), "b".to_owned()];
        assert_eq!(sorted_keys(&keys), ["a", "b"]);
    }
}
