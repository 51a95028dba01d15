//! The domain of RyzeAPI's Chatwoot integration: accounts, instances, access tokens and
//! the Chatwoot integration of an instance, with the rules that make a value valid.
//!
//! This crate knows no framework and does no IO. Every other crate depends on it; it
//! depends on none of ours.

pub mod access_token;
pub mod account;
pub mod bridge_integration;
pub mod call_notices;
pub mod chatwoot;
pub mod ids;
pub mod instance;
pub mod integration;
pub mod labels;
pub mod message_commands;
pub mod message_formatting;
pub mod message_values;
pub mod pairing_qr;
pub mod principal;
pub mod sealed_secret;
pub mod status_conversation;
pub mod text_cut;
pub mod validation;
pub mod whatsapp_identity;

pub use access_token::{AccessToken, TokenHash};
pub use account::{Account, AccountName};
pub use bridge_integration::BridgeIntegration;
pub use call_notices::{call_notice_text, CallStage};
pub use chatwoot::{
    ChatwootAccountId, ChatwootApiToken, ChatwootBaseUrl, ChatwootSettings, InboxName, RelayFlags,
};
pub use ids::{AccountId, BridgeIntegrationId, InstanceId};
pub use instance::{Instance, InstanceName};
pub use integration::{ChatwootIntegration, IntegrationStatus};
pub use labels::chatwoot_label_title;
pub use message_commands::{
    BusinessPresence, ChatLabelsRequest, ChatPresenceRequest, DeleteMessageCommand,
    DeleteMessageRequest, EditMessageCommand, EditMessageRequest, MarkReadCommand, MarkReadRequest,
    MediaInput, MediaMessageRequest, MessageCommandRefusal, ReactionRequest, SendMediaCommand,
    SendPresenceCommand, SendReactionCommand, SendTextCommand, SetChatLabelsCommand,
    TextMessageRequest, MAX_TEXT_CHARS,
};
pub use message_values::{
    ChatAddress, FileName, MediaKind, MessageId, MimeType, NewMessageId, PersonJid,
};
pub use pairing_qr::pairing_qr_png;
pub use principal::Principal;
pub use sealed_secret::{KeyId, SealedSecret, SealedSecretKind, SecretOwner};
pub use status_conversation::{ConnectionNotice, StatusCommand};
pub use text_cut::cut_on_char_boundary;
pub use validation::InvalidValue;
pub use whatsapp_identity::{ContactKey, IdentityKey, JidKind, PhoneNumber, WhatsAppJid};
