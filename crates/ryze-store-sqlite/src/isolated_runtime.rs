//! The public [`SqliteStore`]: every operation of the pool runs as a task on a small
//! multi-thread runtime the store owns, and the caller awaits that task.
//!
//! Why: diesel-async's `SyncConnectionWrapper` runs each query on a blocking thread and,
//! when the awaiting future is dropped half-way, waits for it with `block_in_place` —
//! which panics on a current-thread runtime. actix-web's workers are current-thread
//! runtimes and drop a request's futures whenever the client goes away or another
//! extractor of the same handler fails first. Run on our own runtime, an operation whose
//! caller stopped waiting simply finishes in the background (and its connection goes
//! back to the pool intact); nothing panics, whatever runtime the caller uses.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ryze_domain::{
    Account, AccountId, BridgeIntegration, BridgeIntegrationId, ChatwootIntegration, Instance,
    InstanceId, InstanceName, IntegrationStatus, Principal, SealedSecret, TokenHash,
};
use ryze_ports::{
    AccountStore, AcknowledgeError, AcknowledgeOutcome, AppendOutcome, Backlog,
    BridgeIntegrationStore, ContactId, ConversationDisplayId, EnqueueOutcome, EventHubStore,
    EventSequence, HubCursor, HubEvent, InsertAccountError, InsertInstanceError, InstanceStore,
    IntegrationStore, KnownContact, MessageId, MessageLink, NewAccount, NewHubEvent, NewInstance,
    NewMessageLink, OutboundQueueStore, QueuedWebhook, RelayStore, RetentionOutcome, StoreError,
    StoreHealth,
};

use crate::store::{PooledSqlite, SqliteSettings};

/// Owns the runtime; shuts it down without blocking when the last store handle goes,
/// which may happen inside an async context where a blocking shutdown would panic.
struct StoreRuntime(Option<tokio::runtime::Runtime>);

impl Drop for StoreRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// The SQLite implementation of every store port. Cloning is cheap: clones share one
/// pool and one runtime.
#[derive(Clone)]
pub struct SqliteStore {
    pooled: PooledSqlite,
    /// Where operations run; valid as long as `_runtime` lives.
    handle: tokio::runtime::Handle,
    _runtime: Arc<StoreRuntime>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.pooled.fmt(f)
    }
}

fn task_failure(error: tokio::task::JoinError) -> StoreError {
    StoreError::Unavailable(format!("database task ended abnormally: {error}"))
}

impl SqliteStore {
    /// Creates the database's directory if needed, builds the pool and opens a first
    /// connection (creating the file), so an unusable path is reported now
    /// ([`StoreError::Unavailable`]). Every connection runs in WAL mode with foreign
    /// keys enforced and a 5 s busy timeout. Does not migrate: call
    /// [`crate::run_migrations`] first.
    pub async fn open(settings: &SqliteSettings) -> Result<Self, StoreError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(settings.max_connections.max(1) + 1)
            .thread_name("sqlite-store")
            .enable_all()
            .build()
            .map_err(|error| {
                StoreError::Unavailable(format!("could not start the database runtime: {error}"))
            })?;
        let handle = runtime.handle().clone();
        // Owned before anything can fail: a bare runtime dropped in async code panics.
        let owned = Arc::new(StoreRuntime(Some(runtime)));
        let settings = settings.clone();
        let pooled = handle
            .spawn(async move { PooledSqlite::open(&settings).await })
            .await
            .map_err(task_failure)??;
        Ok(Self {
            pooled,
            handle,
            _runtime: owned,
        })
    }

    /// Runs `operation` on the store's runtime and waits for it.
    async fn isolated<T, E, Operation, Output>(&self, operation: Operation) -> Result<T, E>
    where
        Operation: FnOnce(PooledSqlite) -> Output,
        Output: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.handle
            .spawn(operation(self.pooled.clone()))
            .await
            .map_err(|error| E::from(task_failure(error)))?
    }
}

#[async_trait]
impl AccountStore for SqliteStore {
    async fn insert_account(&self, account: NewAccount) -> Result<Account, InsertAccountError> {
        self.isolated(|pooled| async move { pooled.insert_account(account).await })
            .await
    }

    async fn find_principal_by_token_hash(
        &self,
        token_hash: &TokenHash,
    ) -> Result<Option<Principal>, StoreError> {
        let token_hash = token_hash.clone();
        self.isolated(
            |pooled| async move { pooled.find_principal_by_token_hash(&token_hash).await },
        )
        .await
    }
}

#[async_trait]
impl InstanceStore for SqliteStore {
    async fn insert_instance(
        &self,
        instance: NewInstance,
    ) -> Result<Instance, InsertInstanceError> {
        self.isolated(|pooled| async move { pooled.insert_instance(instance).await })
            .await
    }

    async fn find_instance(
        &self,
        account_id: &AccountId,
        name: &InstanceName,
    ) -> Result<Option<Instance>, StoreError> {
        let (account_id, name) = (account_id.clone(), name.clone());
        self.isolated(|pooled| async move { pooled.find_instance(&account_id, &name).await })
            .await
    }

    async fn find_instance_by_id(&self, id: &InstanceId) -> Result<Option<Instance>, StoreError> {
        let id = id.clone();
        self.isolated(|pooled| async move { pooled.find_instance_by_id(&id).await })
            .await
    }

    async fn list_instances(
        &self,
        account_id: &AccountId,
    ) -> Result<Vec<(Instance, Option<ChatwootIntegration>)>, StoreError> {
        let account_id = account_id.clone();
        self.isolated(|pooled| async move { pooled.list_instances(&account_id).await })
            .await
    }

    async fn delete_instance(&self, instance_id: &InstanceId) -> Result<bool, StoreError> {
        let instance_id = instance_id.clone();
        self.isolated(|pooled| async move { pooled.delete_instance(&instance_id).await })
            .await
    }
}

#[async_trait]
impl IntegrationStore for SqliteStore {
    async fn save_integration(&self, integration: ChatwootIntegration) -> Result<(), StoreError> {
        self.isolated(|pooled| async move { pooled.save_integration(integration).await })
            .await
    }

    async fn find_integration(
        &self,
        instance_id: &InstanceId,
    ) -> Result<Option<ChatwootIntegration>, StoreError> {
        let instance_id = instance_id.clone();
        self.isolated(|pooled| async move { pooled.find_integration(&instance_id).await })
            .await
    }

    async fn delete_integration(&self, instance_id: &InstanceId) -> Result<bool, StoreError> {
        let instance_id = instance_id.clone();
        self.isolated(|pooled| async move { pooled.delete_integration(&instance_id).await })
            .await
    }

    async fn backfill_inbox_id(
        &self,
        instance_id: &InstanceId,
        inbox_id: i64,
    ) -> Result<(), StoreError> {
        let instance_id = instance_id.clone();
        self.isolated(
            |pooled| async move { pooled.backfill_inbox_id(&instance_id, inbox_id).await },
        )
        .await
    }

    async fn list_sealed_secrets(&self) -> Result<Vec<(InstanceId, SealedSecret)>, StoreError> {
        self.isolated(|pooled| async move { pooled.list_sealed_secrets().await })
            .await
    }

    async fn replace_sealed_secret(
        &self,
        instance_id: &InstanceId,
        expected: &SealedSecret,
        replacement: &SealedSecret,
    ) -> Result<bool, StoreError> {
        let (instance_id, expected, replacement) =
            (instance_id.clone(), expected.clone(), replacement.clone());
        self.isolated(|pooled| async move {
            pooled
                .replace_sealed_secret(&instance_id, &expected, &replacement)
                .await
        })
        .await
    }
}

#[async_trait]
impl StoreHealth for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.isolated(|pooled| async move { pooled.ping().await })
            .await
    }
}

#[async_trait]
impl BridgeIntegrationStore for SqliteStore {
    async fn find_bridge_integration(
        &self,
        id: &BridgeIntegrationId,
    ) -> Result<Option<BridgeIntegration>, StoreError> {
        let id = id.clone();
        self.isolated(|pooled| async move { pooled.find_bridge_integration(&id).await })
            .await
    }

    async fn find_bridge_integration_for_instance(
        &self,
        instance_id: &InstanceId,
    ) -> Result<Option<BridgeIntegration>, StoreError> {
        let instance_id = instance_id.clone();
        self.isolated(|pooled| async move {
            pooled
                .find_bridge_integration_for_instance(&instance_id)
                .await
        })
        .await
    }

    async fn save_bridge_integration(
        &self,
        integration: BridgeIntegration,
    ) -> Result<(), StoreError> {
        self.isolated(|pooled| async move { pooled.save_bridge_integration(integration).await })
            .await
    }

    async fn delete_bridge_integration(
        &self,
        id: &BridgeIntegrationId,
    ) -> Result<bool, StoreError> {
        let id = id.clone();
        self.isolated(|pooled| async move { pooled.delete_bridge_integration(&id).await })
            .await
    }

    async fn list_bridge_integrations(&self) -> Result<Vec<BridgeIntegration>, StoreError> {
        self.isolated(|pooled| async move { pooled.list_bridge_integrations().await })
            .await
    }

    async fn record_bridge_integration_state(
        &self,
        id: &BridgeIntegrationId,
        status: IntegrationStatus,
        last_error: &str,
    ) -> Result<bool, StoreError> {
        let (id, last_error) = (id.clone(), last_error.to_owned());
        self.isolated(|pooled| async move {
            pooled
                .record_bridge_integration_state(&id, status, &last_error)
                .await
        })
        .await
    }
}

#[async_trait]
impl EventHubStore for SqliteStore {
    async fn append_event(
        &self,
        instance_id: &InstanceId,
        event: NewHubEvent,
    ) -> Result<AppendOutcome, StoreError> {
        let instance_id = instance_id.clone();
        self.isolated(|pooled| async move { pooled.append_event(&instance_id, event).await })
            .await
    }

    async fn events_after(
        &self,
        instance_id: &InstanceId,
        after: EventSequence,
        limit: usize,
    ) -> Result<Vec<HubEvent>, StoreError> {
        let instance_id = instance_id.clone();
        self.isolated(|pooled| async move { pooled.events_after(&instance_id, after, limit).await })
            .await
    }

    async fn acknowledge(
        &self,
        instance_id: &InstanceId,
        up_to: EventSequence,
    ) -> Result<AcknowledgeOutcome, AcknowledgeError> {
        let instance_id = instance_id.clone();
        self.isolated(|pooled| async move { pooled.acknowledge(&instance_id, up_to).await })
            .await
    }

    async fn last_acknowledged(
        &self,
        instance_id: &InstanceId,
    ) -> Result<EventSequence, StoreError> {
        let instance_id = instance_id.clone();
        self.isolated(|pooled| async move { pooled.last_acknowledged(&instance_id).await })
            .await
    }

    async fn cursor(&self, instance_id: &InstanceId) -> Result<HubCursor, StoreError> {
        let instance_id = instance_id.clone();
        self.isolated(|pooled| async move { pooled.cursor(&instance_id).await })
            .await
    }

    async fn backlog(&self, instance_id: &InstanceId) -> Result<Backlog, StoreError> {
        let instance_id = instance_id.clone();
        self.isolated(|pooled| async move { pooled.backlog(&instance_id).await })
            .await
    }

    async fn enforce_retention(
        &self,
        instance_id: &InstanceId,
        max_events: u64,
        max_age: Duration,
        now: DateTime<Utc>,
    ) -> Result<RetentionOutcome, StoreError> {
        let instance_id = instance_id.clone();
        self.isolated(|pooled| async move {
            pooled
                .enforce_retention(&instance_id, max_events, max_age, now)
                .await
        })
        .await
    }

    async fn discard_instance(&self, instance_id: &InstanceId) -> Result<(), StoreError> {
        let instance_id = instance_id.clone();
        self.isolated(|pooled| async move { pooled.discard_instance(&instance_id).await })
            .await
    }
}

#[async_trait]
impl RelayStore for SqliteStore {
    async fn find_contact(
        &self,
        integration: &BridgeIntegrationId,
        keys: &[String],
    ) -> Result<Option<KnownContact>, StoreError> {
        let (integration, keys) = (integration.clone(), keys.to_vec());
        self.isolated(|pooled| async move { pooled.find_contact(&integration, &keys).await })
            .await
    }

    async fn remember_contact(
        &self,
        integration: &BridgeIntegrationId,
        contact_id: ContactId,
        source_id: &str,
        keys: &[String],
    ) -> Result<(), StoreError> {
        let (integration, source_id, keys) =
            (integration.clone(), source_id.to_owned(), keys.to_vec());
        self.isolated(|pooled| async move {
            pooled
                .remember_contact(&integration, contact_id, &source_id, &keys)
                .await
        })
        .await
    }

    async fn find_conversation(
        &self,
        integration: &BridgeIntegrationId,
        contact_id: ContactId,
    ) -> Result<Option<ConversationDisplayId>, StoreError> {
        let integration = integration.clone();
        self.isolated(
            |pooled| async move { pooled.find_conversation(&integration, contact_id).await },
        )
        .await
    }

    async fn remember_conversation(
        &self,
        integration: &BridgeIntegrationId,
        contact_id: ContactId,
        conversation: ConversationDisplayId,
    ) -> Result<(), StoreError> {
        let integration = integration.clone();
        self.isolated(|pooled| async move {
            pooled
                .remember_conversation(&integration, contact_id, conversation)
                .await
        })
        .await
    }

    async fn begin_message_link(
        &self,
        integration: &BridgeIntegrationId,
        link: NewMessageLink,
    ) -> Result<MessageLink, StoreError> {
        let integration = integration.clone();
        self.isolated(|pooled| async move { pooled.begin_message_link(&integration, link).await })
            .await
    }

    async fn complete_message_link(
        &self,
        integration: &BridgeIntegrationId,
        whatsapp_id: &str,
        chatwoot_id: MessageId,
        conversation: ConversationDisplayId,
    ) -> Result<bool, StoreError> {
        let (integration, whatsapp_id) = (integration.clone(), whatsapp_id.to_owned());
        self.isolated(|pooled| async move {
            pooled
                .complete_message_link(&integration, &whatsapp_id, chatwoot_id, conversation)
                .await
        })
        .await
    }

    async fn fail_message_link(
        &self,
        integration: &BridgeIntegrationId,
        whatsapp_id: &str,
        failure: &str,
    ) -> Result<bool, StoreError> {
        let (integration, whatsapp_id, failure) = (
            integration.clone(),
            whatsapp_id.to_owned(),
            failure.to_owned(),
        );
        self.isolated(|pooled| async move {
            pooled
                .fail_message_link(&integration, &whatsapp_id, &failure)
                .await
        })
        .await
    }

    async fn find_link_by_whatsapp_id(
        &self,
        integration: &BridgeIntegrationId,
        whatsapp_id: &str,
    ) -> Result<Option<MessageLink>, StoreError> {
        let (integration, whatsapp_id) = (integration.clone(), whatsapp_id.to_owned());
        self.isolated(|pooled| async move {
            pooled
                .find_link_by_whatsapp_id(&integration, &whatsapp_id)
                .await
        })
        .await
    }

    async fn find_link_by_chatwoot_id(
        &self,
        integration: &BridgeIntegrationId,
        chatwoot_id: MessageId,
    ) -> Result<Option<MessageLink>, StoreError> {
        let integration = integration.clone();
        self.isolated(|pooled| async move {
            pooled
                .find_link_by_chatwoot_id(&integration, chatwoot_id)
                .await
        })
        .await
    }

    async fn forget_integration(
        &self,
        integration: &BridgeIntegrationId,
    ) -> Result<(), StoreError> {
        let integration = integration.clone();
        self.isolated(|pooled| async move { pooled.forget_integration(&integration).await })
            .await
    }
}

#[async_trait]
impl OutboundQueueStore for SqliteStore {
    async fn enqueue_webhook(
        &self,
        integration: &BridgeIntegrationId,
        dedupe_key: &str,
        payload: Vec<u8>,
        received_at: DateTime<Utc>,
    ) -> Result<EnqueueOutcome, StoreError> {
        let (integration, dedupe_key) = (integration.clone(), dedupe_key.to_owned());
        self.isolated(|pooled| async move {
            pooled
                .enqueue_webhook(&integration, &dedupe_key, payload, received_at)
                .await
        })
        .await
    }

    async fn pending_webhooks(&self, limit: usize) -> Result<Vec<QueuedWebhook>, StoreError> {
        self.isolated(|pooled| async move { pooled.pending_webhooks(limit).await })
            .await
    }

    async fn finish_webhook(&self, id: i64) -> Result<(), StoreError> {
        self.isolated(|pooled| async move { pooled.finish_webhook(id).await })
            .await
    }

    async fn record_webhook_attempt(&self, id: i64) -> Result<u32, StoreError> {
        self.isolated(|pooled| async move { pooled.record_webhook_attempt(id).await })
            .await
    }

    async fn forget_handled_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        self.isolated(|pooled| async move { pooled.forget_handled_before(cutoff).await })
            .await
    }
}
