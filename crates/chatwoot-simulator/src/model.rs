//! The records the simulator keeps in memory: one struct per Chatwoot table it
//! needs (accounts, users, account users, API-channel inboxes, contacts, contact
//! inboxes, conversations, messages, attachments), plus the enums Chatwoot stores
//! as integers. Everything serializes, so the control API can hand back the
//! whole state for assertions.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::sync::Arc;

/// A JSON object, as Chatwoot's `jsonb` columns hold them.
pub type JsonObject = Map<String, Value>;

/// A Chatwoot account (tenant).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Account {
    pub id: u64,
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// Last conversation `display_id` handed out (Chatwoot keeps one sequence
    /// per account, `conv_dpid_seq_<account_id>`).
    pub last_display_id: u64,
}

/// The role of a user inside one account (`account_users.role`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Agent,
    Administrator,
}

impl Role {
    /// The name Chatwoot renders for the role.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Administrator => "administrator",
        }
    }
}

/// A Chatwoot user (agent or administrator) with its personal access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct User {
    pub id: u64,
    pub name: String,
    pub display_name: Option<String>,
    pub email: String,
    pub access_token: String,
    pub pubsub_token: String,
    pub created_at: DateTime<Utc>,
}

impl User {
    /// Chatwoot's `available_name`: the display name if set, else the name.
    pub fn available_name(&self) -> &str {
        match self.display_name.as_deref() {
            Some(display_name) if !display_name.is_empty() => display_name,
            _ => &self.name,
        }
    }
}

/// Membership of a user in an account.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AccountUser {
    pub account_id: u64,
    pub user_id: u64,
    pub role: Role,
}

/// An inbox with an API channel (`Channel::Api`), the only channel type the
/// simulator creates.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Inbox {
    pub id: u64,
    pub account_id: u64,
    pub name: String,
    pub channel_id: u64,
    pub webhook_url: Option<String>,
    pub hmac_token: String,
    /// The webhook signing secret (`channel_api.secret`); `None` sends unsigned webhooks.
    pub secret: Option<String>,
    pub identifier: String,
    pub hmac_mandatory: bool,
    pub additional_attributes: JsonObject,
    pub greeting_enabled: bool,
    pub greeting_message: Option<String>,
    pub enable_auto_assignment: bool,
    pub enable_email_collect: bool,
    pub csat_survey_enabled: bool,
    pub allow_messages_after_resolved: bool,
    pub lock_to_single_conversation: bool,
    pub working_hours_enabled: bool,
    pub out_of_office_message: Option<String>,
    pub timezone: String,
    pub created_at: DateTime<Utc>,
    /// Users who are inbox members (`inbox_members`); agents only see these inboxes.
    pub member_user_ids: BTreeSet<u64>,
}

/// A contact of an account.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Contact {
    pub id: u64,
    pub account_id: u64,
    pub name: String,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub identifier: Option<String>,
    pub blocked: bool,
    pub additional_attributes: JsonObject,
    pub custom_attributes: JsonObject,
    pub last_activity_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The link of a contact to an inbox, identified there by `source_id`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ContactInbox {
    pub id: u64,
    pub contact_id: u64,
    pub inbox_id: u64,
    pub source_id: String,
    pub hmac_verified: bool,
    pub pubsub_token: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Conversation status (`conversations.status`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ConversationStatus {
    Open,
    Resolved,
    Pending,
    Snoozed,
}

impl ConversationStatus {
    /// Parses the status names Rails' enum accepts (names or integer values).
    pub fn from_param(value: &Value) -> Option<Self> {
        match value {
            Value::String(name) => match name.as_str() {
                "open" => Some(Self::Open),
                "resolved" => Some(Self::Resolved),
                "pending" => Some(Self::Pending),
                "snoozed" => Some(Self::Snoozed),
                _ => None,
            },
            Value::Number(number) => match number.as_u64()? {
                0 => Some(Self::Open),
                1 => Some(Self::Resolved),
                2 => Some(Self::Pending),
                3 => Some(Self::Snoozed),
                _ => None,
            },
            _ => None,
        }
    }

    /// The name Chatwoot renders.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Resolved => "resolved",
            Self::Pending => "pending",
            Self::Snoozed => "snoozed",
        }
    }
}

/// A conversation; `display_id` is the per-account number used in URLs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Conversation {
    pub id: u64,
    pub account_id: u64,
    pub display_id: u64,
    pub inbox_id: u64,
    pub contact_id: u64,
    pub contact_inbox_id: u64,
    pub uuid: String,
    pub status: ConversationStatus,
    pub assignee_id: Option<u64>,
    pub additional_attributes: JsonObject,
    pub custom_attributes: JsonObject,
    pub snoozed_until: Option<DateTime<Utc>>,
    pub agent_last_seen_at: Option<DateTime<Utc>>,
    pub assignee_last_seen_at: Option<DateTime<Utc>>,
    pub contact_last_seen_at: Option<DateTime<Utc>>,
    pub first_reply_created_at: Option<DateTime<Utc>>,
    pub waiting_since: Option<DateTime<Utc>>,
    pub last_activity_at: DateTime<Utc>,
    pub priority: Option<String>,
    /// `label_list`: the conversation's labels (titles), in the order set.
    #[serde(default)]
    pub labels: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An account's label (`labels`): Chatwoot shows a conversation's labels that have one.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AccountLabel {
    pub id: u64,
    pub account_id: u64,
    /// Lower case: letters, digits, `-` and `_`.
    pub title: String,
    pub show_on_sidebar: bool,
}

/// Someone typing in a conversation, or no longer, as Chatwoot was told.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TypingEvent {
    /// Internal conversation id.
    pub conversation_id: u64,
    /// `contact` (through the client API) or `user` (an agent in the dashboard).
    pub typist: String,
    pub on: bool,
    /// An agent typing a private note.
    pub is_private: bool,
    pub at: DateTime<Utc>,
}

/// Message direction (`messages.message_type`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MessageType {
    Incoming,
    Outgoing,
    Activity,
    Template,
}

impl MessageType {
    /// Parses what Rails' enum accepts: a name or the integer value.
    pub fn from_param(value: &Value) -> Option<Self> {
        match value {
            Value::String(name) => match name.as_str() {
                "incoming" => Some(Self::Incoming),
                "outgoing" => Some(Self::Outgoing),
                "activity" => Some(Self::Activity),
                "template" => Some(Self::Template),
                _ => None,
            },
            Value::Number(number) => match number.as_u64()? {
                0 => Some(Self::Incoming),
                1 => Some(Self::Outgoing),
                2 => Some(Self::Activity),
                3 => Some(Self::Template),
                _ => None,
            },
            _ => None,
        }
    }

    /// The integer Chatwoot stores (`message_type_before_type_cast`).
    pub fn as_integer(self) -> u8 {
        match self {
            Self::Incoming => 0,
            Self::Outgoing => 1,
            Self::Activity => 2,
            Self::Template => 3,
        }
    }

    /// The name Chatwoot renders in webhooks.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Incoming => "incoming",
            Self::Outgoing => "outgoing",
            Self::Activity => "activity",
            Self::Template => "template",
        }
    }
}

/// Delivery status of a message (`messages.status`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    Sent,
    Delivered,
    Read,
    Failed,
}

impl MessageStatus {
    /// Parses a status name (`Message.statuses.key?(status)` only accepts names).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "sent" => Some(Self::Sent),
            "delivered" => Some(Self::Delivered),
            "read" => Some(Self::Read),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }

    /// The name Chatwoot renders.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Failed => "failed",
        }
    }
}

/// Who sent a message (`sender_type` + `sender_id`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "type", content = "id")]
pub enum Sender {
    Contact(u64),
    User(u64),
}

/// A message of a conversation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Message {
    pub id: u64,
    pub account_id: u64,
    pub inbox_id: u64,
    /// Internal conversation id (not the display id).
    pub conversation_id: u64,
    pub message_type: MessageType,
    pub content: Option<String>,
    pub content_type: String,
    pub content_attributes: JsonObject,
    pub private: bool,
    pub status: MessageStatus,
    pub source_id: Option<String>,
    pub sender: Option<Sender>,
    pub external_source_ids: JsonObject,
    pub additional_attributes: JsonObject,
    pub echo_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub attachments: Vec<Attachment>,
}

/// Chatwoot's attachment `file_type`, derived from the upload's content type.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FileType {
    Image,
    Audio,
    Video,
    File,
}

impl FileType {
    /// `Messages::MessageBuilder#file_type`: image/audio/video by MIME prefix, else file.
    pub fn from_content_type(content_type: &str) -> Self {
        if content_type.starts_with("image/") {
            Self::Image
        } else if content_type.starts_with("audio/") {
            Self::Audio
        } else if content_type.starts_with("video/") {
            Self::Video
        } else {
            Self::File
        }
    }

    /// The name Chatwoot renders.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Audio => "audio",
            Self::Video => "video",
            Self::File => "file",
        }
    }
}

/// A file attached to a message; the bytes are served back by the simulator.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Attachment {
    pub id: u64,
    pub message_id: u64,
    pub account_id: u64,
    pub file_type: FileType,
    pub filename: String,
    pub content_type: String,
    /// Random token in the download URL (stands in for Active Storage's signed id).
    pub download_token: String,
    #[serde(skip)]
    pub bytes: Arc<Vec<u8>>,
    pub byte_size: usize,
    /// The `meta` jsonb column: `{"is_recorded_audio": true}` for a recording made with
    /// Chatwoot's audio recorder (the upload named in the `is_recorded_audio` parameter).
    #[serde(default)]
    pub meta: JsonObject,
}
