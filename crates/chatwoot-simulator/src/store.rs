//! The in-memory database: id sequences, the tables of [`crate::model`], and
//! the lookups and mutations the API handlers share (account-scoped finds that
//! fail with `RecordNotFound`, the conversation `display_id` sequence, contact
//! inbox building). Guarded by one mutex in [`crate::state::SimulatorState`].

use crate::error::ApiError;
use crate::model::{
    Account, AccountLabel, AccountUser, Contact, ContactInbox, Conversation, Inbox, Message, Role,
    TypingEvent, User,
};
use chrono::{DateTime, SubsecRound, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// Every table, keyed by primary key.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Store {
    pub accounts: BTreeMap<u64, Account>,
    pub users: BTreeMap<u64, User>,
    pub account_users: Vec<AccountUser>,
    pub inboxes: BTreeMap<u64, Inbox>,
    pub contacts: BTreeMap<u64, Contact>,
    pub contact_inboxes: BTreeMap<u64, ContactInbox>,
    pub conversations: BTreeMap<u64, Conversation>,
    pub messages: BTreeMap<u64, Message>,
    /// Account labels.
    pub labels: BTreeMap<u64, AccountLabel>,
    /// Every typing change Chatwoot was told of, oldest first.
    pub typing_events: Vec<TypingEvent>,
    sequences: Sequences,
}

/// The primary-key sequences (one per table, like Postgres).
#[derive(Debug, Default, Clone, Serialize)]
struct Sequences {
    account: u64,
    user: u64,
    inbox: u64,
    channel: u64,
    contact: u64,
    contact_inbox: u64,
    conversation: u64,
    message: u64,
    attachment: u64,
    label: u64,
}

/// `ActiveRecord::RecordNotUnique` on `contact_inboxes (inbox_id, source_id)`:
/// the source id already belongs to another contact of the inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("source_id is already taken in this inbox")]
pub struct SourceIdTaken;

/// Which table a new id is for.
#[derive(Debug, Clone, Copy)]
pub enum Table {
    Account,
    User,
    Inbox,
    Channel,
    Contact,
    ContactInbox,
    Conversation,
    Message,
    Attachment,
    Label,
}

/// The current time at the precision Chatwoot's timestamp columns keep
/// (microseconds, like Postgres `timestamp`).
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// A random token like Rails' `has_secure_token` (24 base58 characters).
pub fn secure_token() -> String {
    const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let bytes = uuid::Uuid::new_v4().into_bytes();
    let more = uuid::Uuid::new_v4().into_bytes();
    bytes
        .iter()
        .chain(more.iter())
        .take(24)
        .map(|byte| char::from(ALPHABET[usize::from(*byte) % ALPHABET.len()]))
        .collect()
}

impl Store {
    /// Hands out the next primary key of `table`.
    pub fn next_id(&mut self, table: Table) -> u64 {
        let sequence = match table {
            Table::Account => &mut self.sequences.account,
            Table::User => &mut self.sequences.user,
            Table::Inbox => &mut self.sequences.inbox,
            Table::Channel => &mut self.sequences.channel,
            Table::Contact => &mut self.sequences.contact,
            Table::ContactInbox => &mut self.sequences.contact_inbox,
            Table::Conversation => &mut self.sequences.conversation,
            Table::Message => &mut self.sequences.message,
            Table::Attachment => &mut self.sequences.attachment,
            Table::Label => &mut self.sequences.label,
        };
        *sequence += 1;
        *sequence
    }

    /// Makes sure later account ids do not collide with an explicitly chosen one.
    pub fn reserve_account_id(&mut self, id: u64) {
        self.sequences.account = self.sequences.account.max(id);
    }

    /// The user owning `token`, if any.
    pub fn user_by_token(&self, token: &str) -> Option<&User> {
        self.users.values().find(|user| user.access_token == token)
    }

    /// The membership of `user_id` in `account_id`, if any.
    pub fn account_user(&self, account_id: u64, user_id: u64) -> Option<&AccountUser> {
        self.account_users
            .iter()
            .find(|member| member.account_id == account_id && member.user_id == user_id)
    }

    /// Account-scoped inbox find (`Current.account.inboxes.find`).
    pub fn inbox(&self, account_id: u64, inbox_id: u64) -> Result<&Inbox, ApiError> {
        self.inboxes
            .get(&inbox_id)
            .filter(|inbox| inbox.account_id == account_id)
            .ok_or(ApiError::NotFound)
    }

    /// Mutable account-scoped inbox find.
    pub fn inbox_mut(&mut self, account_id: u64, inbox_id: u64) -> Result<&mut Inbox, ApiError> {
        self.inboxes
            .get_mut(&inbox_id)
            .filter(|inbox| inbox.account_id == account_id)
            .ok_or(ApiError::NotFound)
    }

    /// Account-scoped contact find (`Current.account.contacts.find`).
    pub fn contact(&self, account_id: u64, contact_id: u64) -> Result<&Contact, ApiError> {
        self.contacts
            .get(&contact_id)
            .filter(|contact| contact.account_id == account_id)
            .ok_or(ApiError::NotFound)
    }

    /// Conversation by display id (`Current.account.conversations.find_by!(display_id:)`).
    pub fn conversation_by_display_id(
        &self,
        account_id: u64,
        display_id: u64,
    ) -> Result<&Conversation, ApiError> {
        self.conversations
            .values()
            .find(|conversation| {
                conversation.account_id == account_id && conversation.display_id == display_id
            })
            .ok_or(ApiError::NotFound)
    }

    /// Whether `user_id` may see `inbox` (`User#assigned_inboxes`): administrators
    /// see every inbox of the account, agents only those they are members of.
    pub fn can_access_inbox(&self, role: Role, user_id: u64, inbox: &Inbox) -> bool {
        role == Role::Administrator || inbox.member_user_ids.contains(&user_id)
    }

    /// Contact inboxes of a contact, in creation order.
    pub fn contact_inboxes_of(&self, contact_id: u64) -> Vec<&ContactInbox> {
        self.contact_inboxes
            .values()
            .filter(|contact_inbox| contact_inbox.contact_id == contact_id)
            .collect()
    }

    /// Messages of a conversation (internal id), in creation order.
    pub fn messages_of(&self, conversation_id: u64) -> Vec<&Message> {
        self.messages
            .values()
            .filter(|message| message.conversation_id == conversation_id)
            .collect()
    }

    /// `ContactInboxBuilder#perform` for an API inbox: reuses the contact inbox with
    /// this contact, inbox and source id, creates it otherwise (a blank source id
    /// becomes a UUID). The same source id on another contact of the inbox hits
    /// the unique index, returned as [`SourceIdTaken`].
    pub fn build_contact_inbox(
        &mut self,
        contact_id: u64,
        inbox_id: u64,
        source_id: Option<String>,
    ) -> Result<u64, SourceIdTaken> {
        let source_id = source_id
            .filter(|source_id| !source_id.is_empty())
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        if let Some(existing) = self.contact_inboxes.values().find(|contact_inbox| {
            contact_inbox.inbox_id == inbox_id && contact_inbox.source_id == source_id
        }) {
            return if existing.contact_id == contact_id {
                Ok(existing.id)
            } else {
                Err(SourceIdTaken)
            };
        }
        let id = self.next_id(Table::ContactInbox);
        let created_at = now();
        self.contact_inboxes.insert(
            id,
            ContactInbox {
                id,
                contact_id,
                inbox_id,
                source_id,
                hmac_verified: false,
                pubsub_token: secure_token(),
                created_at,
                updated_at: created_at,
            },
        );
        Ok(id)
    }

    /// The next conversation display id of an account.
    pub fn next_display_id(&mut self, account_id: u64) -> Result<u64, ApiError> {
        let account = self
            .accounts
            .get_mut(&account_id)
            .ok_or(ApiError::NotFound)?;
        account.last_display_id += 1;
        Ok(account.last_display_id)
    }
}
