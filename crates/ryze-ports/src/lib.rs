//! The ports of the control plane: small traits for everything the use cases need from
//! the outside world. Adapters implement them; the application holds them as
//! `Arc<dyn …>`. With the `mock` feature (or in tests) each trait has a mockall
//! `Mock…` double.
//!
//! Each port has its own error types, written in the port's terms; adapters translate
//! their driver's errors into them at the seam.

pub mod bridge_store;
pub mod chatwoot;
pub mod chatwoot_budget;
pub mod event_hub;
pub mod event_stream;
pub mod gateway;
pub mod leases;
pub mod media_fetcher;
pub mod outage;
pub mod outbound_guard;
pub mod rate_limit;
pub mod relay_metrics;
pub mod relay_store;
pub mod sealed_secret_store;
pub mod store;
pub mod vault;
pub mod whatsapp_events;
pub mod whatsapp_sender;

pub use bridge_store::{BridgeIntegrationStore, StoredWebhookSigningSecret};
pub use chatwoot::{
    AccountRole, Attachment, ChatwootApi, ChatwootError, ChatwootTarget, ChatwootUserId, Contact,
    ContactId, ContactInbox, ContactLookup, ContactUpdate, Conversation, ConversationDisplayId,
    ConversationStatus, CreatedContact, Inbox, InboxId, Message, MessageContentAttributes,
    MessageDeliveryStatus, MessageDirection, MessageId, MessageType, NewContact, NewConversation,
    NewMessage, Profile, ProfileAccount,
};
pub use chatwoot_budget::ChatwootCallBudget;
pub use event_hub::{
    AcknowledgeError, AcknowledgeOutcome, AppendOutcome, Backlog, EventHubStore, EventSequence,
    HubAnnouncements, HubCursor, HubEvent, NewHubEvent, RetentionOutcome,
};
pub use event_stream::{
    EventStreamConnection, EventStreamConnector, EventStreamError, StreamItem, StreamedEvent,
};
pub use gateway::{
    ActivatedIntegration, ActivationRequest, ChatwootFailureKind, GatewayError, IntegrationGateway,
    LiveIntegrationStatus, RelayCounters,
};
pub use leases::{IntegrationLeases, Lease, LeaseHolder};
pub use media_fetcher::{FetchedMedia, MediaFetchError, MediaFetcher};
pub use outage::OutageLatch;
pub use outbound_guard::{DestinationCheckError, OutboundGuard};
pub use rate_limit::{RateLimitDecision, RateLimitError, RateLimitPolicy, RateLimiter};
pub use relay_metrics::{
    no_relay_metrics, CallOutcome, CallPeer, MetricsRenderError, NoRelayMetrics, RelayDirection,
    RelayMetrics,
};
pub use relay_store::{
    EnqueueOutcome, KnownContact, LinkDirection, LinkState, MessageLink, NewMessageLink,
    OutboundQueueStore, QueuedWebhook, RelayStore,
};
pub use sealed_secret_store::{SealedSecretStore, StoredSealedSecret};
pub use store::{
    AccountStore, InsertAccountError, InsertInstanceError, InstanceStore, IntegrationStore,
    NewAccount, NewInstance, Store, StoreError, StoreHealth,
};
pub use vault::{SecretVault, VaultError};
pub use whatsapp_sender::{SendError, WhatsAppSender};

#[cfg(any(test, feature = "mock"))]
pub use bridge_store::MockBridgeIntegrationStore;
#[cfg(any(test, feature = "mock"))]
pub use chatwoot::MockChatwootApi;
#[cfg(any(test, feature = "mock"))]
pub use chatwoot_budget::MockChatwootCallBudget;
#[cfg(any(test, feature = "mock"))]
pub use event_hub::{MockEventHubStore, MockHubAnnouncements};
#[cfg(any(test, feature = "mock"))]
pub use event_stream::MockEventStreamConnector;
#[cfg(any(test, feature = "mock"))]
pub use gateway::MockIntegrationGateway;
#[cfg(any(test, feature = "mock"))]
pub use leases::MockIntegrationLeases;
#[cfg(any(test, feature = "mock"))]
pub use media_fetcher::MockMediaFetcher;
#[cfg(any(test, feature = "mock"))]
pub use outbound_guard::MockOutboundGuard;
#[cfg(any(test, feature = "mock"))]
pub use rate_limit::MockRateLimiter;
#[cfg(any(test, feature = "mock"))]
pub use relay_metrics::MockRelayMetrics;
#[cfg(any(test, feature = "mock"))]
pub use relay_store::{MockOutboundQueueStore, MockRelayStore};
#[cfg(any(test, feature = "mock"))]
pub use sealed_secret_store::MockSealedSecretStore;
#[cfg(any(test, feature = "mock"))]
pub use store::MockStore;
#[cfg(any(test, feature = "mock"))]
pub use vault::MockSecretVault;
#[cfg(any(test, feature = "mock"))]
pub use whatsapp_sender::MockWhatsAppSender;
