//! The use cases of the control plane, written against the ports only.
//!
//! [`ControlPlane`] is the one entry point: the delivery layer authenticates a request
//! with it, then calls the operation. Each operation has its own error enum whose
//! `Display` text is the exact message the API returns; which HTTP status goes with each
//! variant is decided by the delivery crate alone.

mod access;
mod accounts;
mod chatwoot_module;
mod control_plane;
mod errors;
mod event_hub;
mod instance_directory;
mod instances;
mod key_rotation;
mod live_status_cache;
mod live_streams;
mod media_sniffing;
mod messaging;
mod pending_teardowns;
mod random_tokens;
mod read_cache;

pub use access::{AuthError, InstanceAccessError};
pub use accounts::{CreateAccountError, CreatedAccount};
pub use chatwoot_module::{
    ActivateError, ActivatedChatwoot, ActivationField, ActivationFieldNames,
    ChatwootActivationInput, ChatwootFailure, DeactivateError, GatewayFailure, IntegrationView,
    StatusError,
};
pub use control_plane::{Budgets, ControlPlane};
pub use errors::{GATEWAY_NOT_CONFIGURED, INTERNAL_ERROR_PREFIX};
#[cfg(any(test, feature = "mock"))]
pub use event_hub::MockInstanceDirectory;
pub use event_hub::{
    EventHub, EventHubSettings, HubCounters, IngestError, IngestOutcome, InstanceBacklog,
    InstanceDirectory, OpenStreamError, OpenedStream, StreamAcknowledgeError, StreamSession,
    StreamStoreError,
};
pub use instance_directory::StoreInstanceDirectory;
pub use instances::{
    CreateInstanceError, CreatedInstance, DeleteInstanceError, InlineChatwootOutcome,
    InstanceSummary, ListInstancesError, NewInstanceInput,
};
pub use key_rotation::{
    keys_missing_from_ring, KeyRotation, MissingKey, RotationCounts, RotationFailure,
    RotationReport,
};
pub use live_streams::{StreamEnd, StreamSignal, StreamSignals};
pub use messaging::{
    AuthorizedInstance, CommandDone, DownloadedMedia, EngineFailure, MediaDownloadError,
    MessageCommandError, Messaging, MessagingCaller, MessagingEngine, MessagingSettings,
    SentMessage, MAX_MEDIA_BYTES, NOT_CONNECTED,
};
pub use pending_teardowns::TeardownRetrySettings;
pub use random_tokens::RandomnessUnavailable;
pub use read_cache::{READ_CACHE_CAPACITY, READ_CACHE_TTL};
