//! Chatwoot's Application API as the bridge needs it: one small call per thing the bridge
//! does (check a token, keep its API inbox, find or create contacts and conversations,
//! relay messages), each aimed at a [`ChatwootTarget`] (installation, account, token).
//!
//! The resources are plain data holding only the fields the bridge works with, not
//! Chatwoot's whole payloads. Ids are newtypes so that a conversation's `display_id`
//! (what every conversation path uses) cannot be mixed up with another id.
//!
//! Errors are named for what Chatwoot's answer means (not found, bad token, throttled, …),
//! decided by the adapter; each keeps the URL and a text with Chatwoot's raw answer, or a
//! readable reason why Chatwoot could not be reached. No error text and no `Debug` output
//! ever contains the API token.

use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;
use ryze_domain::{ChatwootAccountId, ChatwootApiToken, ChatwootBaseUrl};
use secrecy::SecretString;

/// Which Chatwoot installation, account and agent token a call is for. `Debug` redacts
/// the token.
#[derive(Debug, Clone)]
pub struct ChatwootTarget {
    pub base_url: ChatwootBaseUrl,
    pub account_id: ChatwootAccountId,
    pub api_token: ChatwootApiToken,
}

macro_rules! chatwoot_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub i64);

        impl $name {
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

chatwoot_id!(
    /// A Chatwoot user (agent or administrator).
    ChatwootUserId
);
chatwoot_id!(
    /// An inbox of the account.
    InboxId
);
chatwoot_id!(
    /// A contact of the account.
    ContactId
);
chatwoot_id!(
    /// A conversation's `display_id`: the number shown in Chatwoot's UI and used in every
    /// `/conversations/{id}` path. Chatwoot's views render it as the conversation's `id`.
    ConversationDisplayId
);
chatwoot_id!(
    /// A message, unique in the installation.
    MessageId
);

/// An agent's role in an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountRole {
    Administrator,
    Agent,
    /// A role this client does not know, as Chatwoot spelled it.
    Other(String),
}

/// One account the token's user belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileAccount {
    pub account_id: i64,
    pub name: String,
    pub role: Option<AccountRole>,
}

/// Whose token it is (`GET /api/v1/profile`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub user_id: ChatwootUserId,
    pub name: String,
    pub email: Option<String>,
    pub accounts: Vec<ProfileAccount>,
}

impl Profile {
    /// The user's role in `account`, or `None` when the user is not a member of it (or
    /// Chatwoot did not say).
    pub fn role_in(&self, account: ChatwootAccountId) -> Option<&AccountRole> {
        self.accounts
            .iter()
            .find(|membership| membership.account_id == account.get())
            .and_then(|membership| membership.role.as_ref())
    }
}

/// `channel_type` of an API-channel inbox, the kind the bridge creates.
pub const API_CHANNEL_TYPE: &str = "Channel::Api";

/// An inbox. `Debug` redacts the webhook secret.
#[derive(Debug, Clone)]
pub struct Inbox {
    pub id: InboxId,
    pub name: String,
    /// `Channel::Api`, `Channel::WebWidget`, …
    pub channel_type: String,
    /// API inboxes only: where Chatwoot posts the inbox's events.
    pub webhook_url: Option<String>,
    /// API inboxes only: the channel's public identifier.
    pub inbox_identifier: Option<String>,
    /// API inboxes only, shown to administrators by Chatwoot versions that sign the
    /// inbox's webhooks: the key of the `X-Chatwoot-Signature` HMAC.
    pub webhook_secret: Option<SecretString>,
}

impl Inbox {
    pub fn is_api_channel(&self) -> bool {
        self.channel_type == API_CHANNEL_TYPE
    }
}

/// The link between a contact and an inbox; conversations are created with its
/// `source_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactInbox {
    pub source_id: String,
    pub inbox_id: InboxId,
}

/// A contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub id: ContactId,
    pub name: String,
    pub phone_number: Option<String>,
    pub identifier: Option<String>,
    /// Text values as they are; other JSON values as their JSON text.
    pub custom_attributes: BTreeMap<String, String>,
    /// The contact's inbox links, when Chatwoot listed them.
    pub contact_inboxes: Vec<ContactInbox>,
}

impl Contact {
    /// This contact's `source_id` in `inbox`, if the contact is linked to it.
    pub fn source_id_in(&self, inbox: InboxId) -> Option<&str> {
        self.contact_inboxes
            .iter()
            .find(|link| link.inbox_id == inbox)
            .map(|link| link.source_id.as_str())
    }
}

/// What a new contact is made of. Chatwoot links it to `inbox_id` at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewContact {
    pub inbox_id: InboxId,
    pub name: String,
    /// E.164 with the leading `+`, as Chatwoot validates it.
    pub phone_number: Option<String>,
    /// Unique in the account.
    pub identifier: Option<String>,
    /// The contact-inbox `source_id` to use; Chatwoot makes one up (a UUID) when absent.
    pub source_id: Option<String>,
    pub custom_attributes: BTreeMap<String, String>,
}

/// A created contact and the contact-inbox Chatwoot made for it. `contact_inbox` is `None`
/// only if Chatwoot did not report one; then link it with
/// [`ChatwootApi::create_contact_inbox`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedContact {
    pub contact: Contact,
    pub contact_inbox: Option<ContactInbox>,
}

/// Fields to change on a contact; `None` leaves a field as it is. Custom attributes are
/// merged into the contact's (Chatwoot keeps the keys not given).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactUpdate {
    pub name: Option<String>,
    pub phone_number: Option<String>,
    pub identifier: Option<String>,
    pub custom_attributes: BTreeMap<String, String>,
}

/// How to find a contact exactly: by identifier, or by phone number (E.164, with or
/// without the leading `+`); either match counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactLookup {
    pub identifier: Option<String>,
    pub phone_number: Option<String>,
}

/// A conversation's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConversationStatus {
    Open,
    Resolved,
    Pending,
    Snoozed,
}

impl ConversationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Resolved => "resolved",
            Self::Pending => "pending",
            Self::Snoozed => "snoozed",
        }
    }

    /// Parses Chatwoot's spelling; `None` for anything else.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "open" => Some(Self::Open),
            "resolved" => Some(Self::Resolved),
            "pending" => Some(Self::Pending),
            "snoozed" => Some(Self::Snoozed),
            _ => None,
        }
    }
}

impl fmt::Display for ConversationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    pub display_id: ConversationDisplayId,
    pub inbox_id: InboxId,
    pub status: ConversationStatus,
    /// The contact the conversation is with, when Chatwoot said.
    pub contact_id: Option<ContactId>,
    /// Unix seconds.
    pub last_activity_at: Option<i64>,
}

/// What a new conversation is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConversation {
    /// The contact-inbox `source_id` of `contact_id` in `inbox_id`.
    pub source_id: String,
    pub inbox_id: InboxId,
    pub contact_id: ContactId,
    /// `Snoozed` is not accepted by Chatwoot at creation.
    pub status: ConversationStatus,
}

/// Who a message is from, as the bridge writes it: `Incoming` from the contact,
/// `Outgoing` from the business (an agent, the phone, the API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageDirection {
    Incoming,
    Outgoing,
}

impl MessageDirection {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Incoming => "incoming",
            Self::Outgoing => "outgoing",
        }
    }
}

/// Every kind of message Chatwoot reports (`message_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    Incoming,
    Outgoing,
    Activity,
    Template,
}

/// The `content_attributes` the bridge sets on a new message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageContentAttributes {
    /// The Chatwoot message this one replies to.
    pub in_reply_to: Option<MessageId>,
    /// The replied-to message's `source_id`; Chatwoot resolves it to `in_reply_to`.
    pub in_reply_to_external_id: Option<String>,
}

impl MessageContentAttributes {
    pub fn is_empty(&self) -> bool {
        self.in_reply_to.is_none() && self.in_reply_to_external_id.is_none()
    }
}

/// What a new message is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub content: String,
    pub direction: MessageDirection,
    /// A private note, seen by agents only.
    pub private: bool,
    /// The WhatsApp message id, kept by Chatwoot as the message's `source_id`.
    pub source_id: Option<String>,
    pub content_attributes: MessageContentAttributes,
}

/// A file to attach to a new message. `Debug` shows the size, not the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Attachment {
    pub file_name: String,
    /// For example `image/jpeg`.
    pub mime_type: String,
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Attachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attachment")
            .field("file_name", &self.file_name)
            .field("mime_type", &self.mime_type)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// A message as Chatwoot reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: MessageId,
    pub conversation_display_id: Option<ConversationDisplayId>,
    pub content: Option<String>,
    /// `None` for a kind this client does not know.
    pub message_type: Option<MessageType>,
    pub private: bool,
    pub source_id: Option<String>,
}

/// A delivery status to set on a message of an API inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageDeliveryStatus {
    Sent,
    Delivered,
    Read,
    /// With the reason shown to agents.
    Failed {
        external_error: Option<String>,
    },
}

impl MessageDeliveryStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Failed { .. } => "failed",
        }
    }
}

/// Why a Chatwoot call failed, as the client classified Chatwoot's answer (or the lack of
/// one). Callers decide on the variant; no HTTP status travels past the client. `url` is
/// the request's URL; `detail` is the text for people: for an answer, the URL, Chatwoot's
/// status line and its raw body (`https://cw/api/v1/profile HTTP 401: {"error":…}`), cut to
/// a few KiB; for no answer, the request and the reason. None of the texts contains the
/// API token: it travels in a header, never in a URL, and every text taken from an answer
/// is scrubbed of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChatwootError {
    /// The account, the endpoint or the record does not exist (or no longer does).
    #[error("Chatwoot found no such resource: {detail}")]
    NotFound { url: String, detail: String },
    /// The API token is not valid (or was not accepted as one).
    #[error("Chatwoot rejected the API token: {detail}")]
    Unauthorized { url: String, detail: String },
    /// The token's user may not do this in the account (their role, or the inbox's kind).
    #[error("Chatwoot refused the action to the token's user: {detail}")]
    Forbidden { url: String, detail: String },
    /// The token's user is not a member of the account.
    #[error("the token's user is not a member of the Chatwoot account: {detail}")]
    NotAccountMember { url: String, detail: String },
    /// Chatwoot refused the values sent. `fields` names the attributes it found invalid,
    /// when it said.
    #[error("Chatwoot refused the request as invalid: {detail}")]
    Invalid {
        url: String,
        detail: String,
        fields: Vec<String>,
    },
    /// Chatwoot throttles the caller: try again later.
    #[error("Chatwoot is rate limiting the bridge: {detail}")]
    RateLimited { url: String, detail: String },
    /// Chatwoot answered that it cannot serve the request now (its server errors).
    #[error("Chatwoot is unavailable: {detail}")]
    Unavailable { url: String, detail: String },
    /// The base URL answered with a redirect, which the client does not follow.
    #[error("Chatwoot's address redirects elsewhere: {detail}")]
    Redirected { url: String, detail: String },
    /// No answer in time (the client's timeout, or Chatwoot's own request timeout).
    #[error("{detail}")]
    TimedOut { url: String, detail: String },
    /// No answer: DNS failure, connection refused, TLS error, reset. `detail` names the
    /// request and the reason, e.g. `POST https://x/api/v1/accounts/5/inboxes: connection
    /// refused`.
    #[error("{detail}")]
    Unreachable { url: String, detail: String },
    /// A 2xx answer that does not hold what the call expects.
    #[error("{detail}")]
    InvalidAnswer { url: String, detail: String },
    /// The request could not be built from the given values; nothing was sent.
    #[error("{detail}")]
    InvalidRequest { url: String, detail: String },
}

impl ChatwootError {
    /// The URL of the request that failed.
    pub fn url(&self) -> &str {
        self.url_and_detail().0
    }

    /// What happened, for people: Chatwoot's answer (URL, status line, raw body) or why
    /// there was none. The variant's own text adds what it means.
    pub fn detail(&self) -> &str {
        self.url_and_detail().1
    }

    fn url_and_detail(&self) -> (&str, &str) {
        match self {
            Self::NotFound { url, detail }
            | Self::Unauthorized { url, detail }
            | Self::Forbidden { url, detail }
            | Self::NotAccountMember { url, detail }
            | Self::Invalid { url, detail, .. }
            | Self::RateLimited { url, detail }
            | Self::Unavailable { url, detail }
            | Self::Redirected { url, detail }
            | Self::TimedOut { url, detail }
            | Self::Unreachable { url, detail }
            | Self::InvalidAnswer { url, detail }
            | Self::InvalidRequest { url, detail } => (url, detail),
        }
    }

    /// Whether trying again later may succeed: no answer or none in time, throttling, or
    /// Chatwoot unavailable. Other failures will fail again.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::RateLimited { .. }
            | Self::Unavailable { .. }
            | Self::TimedOut { .. }
            | Self::Unreachable { .. } => true,
            Self::NotFound { .. }
            | Self::Unauthorized { .. }
            | Self::Forbidden { .. }
            | Self::NotAccountMember { .. }
            | Self::Invalid { .. }
            | Self::Redirected { .. }
            | Self::InvalidAnswer { .. }
            | Self::InvalidRequest { .. } => false,
        }
    }
}

/// Chatwoot's Application API. One implementation serves every integration; each call
/// names its target. Implementations do not retry: the caller decides (see
/// [`ChatwootError::is_transient`]).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ChatwootApi: Send + Sync {
    /// `GET /api/v1/profile`: whose token this is and the user's accounts and roles.
    async fn profile(&self, target: &ChatwootTarget) -> Result<Profile, ChatwootError>;

    /// `GET …/inboxes`: the account's inboxes the token may see.
    async fn list_inboxes(&self, target: &ChatwootTarget) -> Result<Vec<Inbox>, ChatwootError>;

    /// `GET …/inboxes/{id}`.
    async fn get_inbox(
        &self,
        target: &ChatwootTarget,
        inbox_id: InboxId,
    ) -> Result<Inbox, ChatwootError>;

    /// `POST …/inboxes`: a new API-channel inbox posting its events to `webhook_url`.
    async fn create_api_inbox(
        &self,
        target: &ChatwootTarget,
        name: &str,
        webhook_url: &str,
    ) -> Result<Inbox, ChatwootError>;

    /// `PATCH …/inboxes/{id}`: points an API inbox's webhook at `webhook_url`, and
    /// renames it when `name` is given.
    async fn update_inbox_webhook(
        &self,
        target: &ChatwootTarget,
        inbox_id: InboxId,
        name: Option<String>,
        webhook_url: &str,
    ) -> Result<Inbox, ChatwootError>;

    /// `DELETE …/inboxes/{id}`. Chatwoot deletes the inbox (with its conversations) in
    /// the background.
    async fn delete_inbox(
        &self,
        target: &ChatwootTarget,
        inbox_id: InboxId,
    ) -> Result<(), ChatwootError>;

    /// `GET …/contacts/search?q=`: contacts whose name, email, phone number or identifier
    /// contains `query` (first page, 15 contacts).
    async fn search_contacts(
        &self,
        target: &ChatwootTarget,
        query: &str,
    ) -> Result<Vec<Contact>, ChatwootError>;

    /// `POST …/contacts/filter`: contacts whose identifier or phone number equals the
    /// lookup's. A lookup with neither finds nothing, without asking Chatwoot.
    async fn filter_contacts_by_identifier_or_phone(
        &self,
        target: &ChatwootTarget,
        lookup: &ContactLookup,
    ) -> Result<Vec<Contact>, ChatwootError>;

    /// `POST …/contacts`: a new contact, linked to the given inbox.
    async fn create_contact(
        &self,
        target: &ChatwootTarget,
        contact: &NewContact,
    ) -> Result<CreatedContact, ChatwootError>;

    /// `PUT …/contacts/{id}`.
    async fn update_contact(
        &self,
        target: &ChatwootTarget,
        contact_id: ContactId,
        update: &ContactUpdate,
    ) -> Result<Contact, ChatwootError>;

    /// `POST …/contacts/{id}/contact_inboxes`: links a contact to an inbox, with the given
    /// `source_id` or one Chatwoot makes up.
    async fn create_contact_inbox(
        &self,
        target: &ChatwootTarget,
        contact_id: ContactId,
        inbox_id: InboxId,
        source_id: Option<String>,
    ) -> Result<ContactInbox, ChatwootError>;

    /// `POST …/conversations`.
    async fn create_conversation(
        &self,
        target: &ChatwootTarget,
        conversation: &NewConversation,
    ) -> Result<Conversation, ChatwootError>;

    /// `GET …/conversations/{display_id}`.
    async fn get_conversation(
        &self,
        target: &ChatwootTarget,
        display_id: ConversationDisplayId,
    ) -> Result<Conversation, ChatwootError>;

    /// `GET …/contacts/{id}/conversations`: the contact's conversations in every inbox.
    async fn list_contact_conversations(
        &self,
        target: &ChatwootTarget,
        contact_id: ContactId,
    ) -> Result<Vec<Conversation>, ChatwootError>;

    /// `POST …/conversations/{display_id}/toggle_status`; returns the status Chatwoot
    /// reports afterwards.
    async fn toggle_conversation_status(
        &self,
        target: &ChatwootTarget,
        display_id: ConversationDisplayId,
        status: ConversationStatus,
    ) -> Result<ConversationStatus, ChatwootError>;

    /// `GET …/conversations/{display_id}/messages`: the conversation's latest messages
    /// (Chatwoot's default window, the last 20), oldest first.
    async fn list_messages(
        &self,
        target: &ChatwootTarget,
        display_id: ConversationDisplayId,
    ) -> Result<Vec<Message>, ChatwootError>;

    /// `POST …/conversations/{display_id}/messages` (JSON).
    async fn create_message(
        &self,
        target: &ChatwootTarget,
        display_id: ConversationDisplayId,
        message: &NewMessage,
    ) -> Result<Message, ChatwootError>;

    /// `POST …/conversations/{display_id}/messages` (multipart, files as
    /// `attachments[]`).
    async fn create_message_with_attachments(
        &self,
        target: &ChatwootTarget,
        display_id: ConversationDisplayId,
        message: &NewMessage,
        attachments: Vec<Attachment>,
    ) -> Result<Message, ChatwootError>;

    /// `DELETE …/conversations/{display_id}/messages/{id}`. Chatwoot keeps the message,
    /// marked deleted, without content or attachments.
    async fn delete_message(
        &self,
        target: &ChatwootTarget,
        display_id: ConversationDisplayId,
        message_id: MessageId,
    ) -> Result<(), ChatwootError>;

    /// `PATCH …/conversations/{display_id}/messages/{id}`: sets a message's delivery
    /// status. API inboxes only (Chatwoot answers 403 for others); Chatwoot ignores a
    /// step back from `read` to `delivered` and still answers 200.
    async fn update_message_status(
        &self,
        target: &ChatwootTarget,
        display_id: ConversationDisplayId,
        message_id: MessageId,
        status: &MessageDeliveryStatus,
    ) -> Result<(), ChatwootError>;

    /// `GET …/conversations/{display_id}/labels`: the conversation's labels.
    async fn conversation_labels(
        &self,
        target: &ChatwootTarget,
        display_id: ConversationDisplayId,
    ) -> Result<Vec<String>, ChatwootError>;

    /// `POST …/conversations/{display_id}/labels`: makes `labels` the conversation's
    /// whole set (the others are taken off); returns the set Chatwoot reports.
    async fn set_conversation_labels(
        &self,
        target: &ChatwootTarget,
        display_id: ConversationDisplayId,
        labels: &[String],
    ) -> Result<Vec<String>, ChatwootError>;

    /// `GET …/labels`: the titles of the account's labels (the ones Chatwoot shows).
    async fn list_account_labels(
        &self,
        target: &ChatwootTarget,
    ) -> Result<Vec<String>, ChatwootError>;

    /// `POST …/labels`: a new account label with this title.
    async fn create_account_label(
        &self,
        target: &ChatwootTarget,
        title: &str,
    ) -> Result<(), ChatwootError>;

    /// The client API's `POST /public/api/v1/inboxes/{inbox_identifier}/contacts/
    /// {source_id}/conversations/{display_id}/toggle_typing`: shows agents that the
    /// contact is typing (`on`) or no longer is. Authenticated by the inbox identifier and
    /// the contact's `source_id`, not by the API token.
    async fn toggle_contact_typing(
        &self,
        target: &ChatwootTarget,
        inbox_identifier: &str,
        contact_source_id: &str,
        display_id: ConversationDisplayId,
        on: bool,
    ) -> Result<(), ChatwootError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_url_and_say_whether_a_retry_may_help() {
        let unavailable = ChatwootError::Unavailable {
            url: "https://cw.example/api/v1/profile".to_owned(),
            detail: "https://cw.example/api/v1/profile HTTP 503: down".to_owned(),
        };
        assert_eq!(
            unavailable.to_string(),
            "Chatwoot is unavailable: https://cw.example/api/v1/profile HTTP 503: down"
        );
        assert_eq!(unavailable.url(), "https://cw.example/api/v1/profile");
        assert_eq!(
            unavailable.detail(),
            "https://cw.example/api/v1/profile HTTP 503: down"
        );
        assert!(unavailable.is_transient());

        let url = || "u".to_owned();
        let detail = String::new;
        for (error, transient) in [
            (
                ChatwootError::RateLimited {
                    url: url(),
                    detail: detail(),
                },
                true,
            ),
            (
                ChatwootError::TimedOut {
                    url: url(),
                    detail: detail(),
                },
                true,
            ),
            (
                ChatwootError::NotFound {
                    url: url(),
                    detail: detail(),
                },
                false,
            ),
            (
                ChatwootError::Unauthorized {
                    url: url(),
                    detail: detail(),
                },
                false,
            ),
            (
                ChatwootError::Forbidden {
                    url: url(),
                    detail: detail(),
                },
                false,
            ),
            (
                ChatwootError::NotAccountMember {
                    url: url(),
                    detail: detail(),
                },
                false,
            ),
            (
                ChatwootError::Invalid {
                    url: url(),
                    detail: detail(),
                    fields: Vec::new(),
                },
                false,
            ),
            (
                ChatwootError::Redirected {
                    url: url(),
                    detail: detail(),
                },
                false,
            ),
            (
                ChatwootError::InvalidAnswer {
                    url: url(),
                    detail: detail(),
                },
                false,
            ),
        ] {
            assert_eq!(error.is_transient(), transient, "{error:?}");
        }

        let unreachable = ChatwootError::Unreachable {
            url: "u".to_owned(),
            detail: "GET u: connection refused".to_owned(),
        };
        assert_eq!(unreachable.to_string(), "GET u: connection refused");
        assert_eq!(unreachable.url(), "u");
        assert!(unreachable.is_transient());
    }

    #[test]
    fn a_profile_knows_the_role_in_each_account() {
        let profile = Profile {
            user_id: ChatwootUserId(1),
            name: "Ana".to_owned(),
            email: None,
            accounts: vec![
                ProfileAccount {
                    account_id: 5,
                    name: "Acme".to_owned(),
                    role: Some(AccountRole::Administrator),
                },
                ProfileAccount {
                    account_id: 6,
                    name: "Other".to_owned(),
                    role: None,
                },
            ],
        };
        let account = |id| ChatwootAccountId::new(id).unwrap();
        assert_eq!(
            profile.role_in(account(5)),
            Some(&AccountRole::Administrator)
        );
        assert_eq!(profile.role_in(account(6)), None);
        assert_eq!(profile.role_in(account(7)), None);
    }

    #[test]
    fn statuses_read_and_write_chatwoots_spelling() {
        for status in [
            ConversationStatus::Open,
            ConversationStatus::Resolved,
            ConversationStatus::Pending,
            ConversationStatus::Snoozed,
        ] {
            assert_eq!(ConversationStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(ConversationStatus::parse("closed"), None);
    }

    #[test]
    fn debug_of_a_target_an_inbox_and_an_attachment_shows_no_secret() {
        let target = ChatwootTarget {
            base_url: ChatwootBaseUrl::parse("https://cw.example").unwrap(),
            account_id: ChatwootAccountId::new(5).unwrap(),
            api_token: ChatwootApiToken::parse("tok-very-secret").unwrap(),
        };
        assert!(!format!("{target:?}").contains("tok-very-secret"));

        let inbox = Inbox {
            id: InboxId(1),
            name: "RyzeAPI".to_owned(),
            channel_type: API_CHANNEL_TYPE.to_owned(),
            webhook_url: None,
            inbox_identifier: None,
            webhook_secret: Some(SecretString::from("hook-secret")),
        };
        assert!(inbox.is_api_channel());
        assert!(!format!("{inbox:?}").contains("hook-secret"));

        let attachment = Attachment {
            file_name: "a.jpg".to_owned(),
            mime_type: "image/jpeg".to_owned(),
            bytes: vec![7; 3],
        };
        assert_eq!(
            format!("{attachment:?}"),
            r#"Attachment { file_name: "a.jpg", mime_type: "image/jpeg", len: 3 }"#
        );
    }
}
