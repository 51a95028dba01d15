//! JSON renderers: one function per Chatwoot jbuilder partial or model method
//! the simulated endpoints and webhooks use (`_inbox`, `_inbox_slim`, `_contact`,
//! `_contact_inbox`, `_message`, the conversation partial, `push_event_data`,
//! `webhook_data`, the profile `_user`). Field names, order and value formats
//! (integer epochs vs. ISO strings) follow the upstream files listed in the README.

use crate::model::{
    Attachment, Contact, ContactInbox, Conversation, Inbox, Message, MessageType, Role, Sender,
    User,
};
use crate::store::Store;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

/// How Rails encodes a `Time` in JSON (ISO 8601, milliseconds, `Z`).
pub fn rails_time(time: DateTime<Utc>) -> Value {
    Value::String(time.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// A nullable `Time` as Rails encodes it.
pub fn rails_time_or_null(time: Option<DateTime<Utc>>) -> Value {
    time.map_or(Value::Null, rails_time)
}

/// `time.to_i` (nil becomes 0, as in Ruby).
fn epoch(time: Option<DateTime<Utc>>) -> i64 {
    time.map_or(0, |time| time.timestamp())
}

/// `time.to_f` (seconds with microseconds).
fn epoch_float(time: DateTime<Utc>) -> Value {
    let seconds = time.timestamp() as f64 + f64::from(time.timestamp_subsec_micros()) / 1e6;
    json!(seconds)
}

/// The seven default `working_hours` rows Chatwoot creates for a new inbox
/// (Sunday and Saturday closed, 09:00–17:00 on weekdays).
fn default_working_hours() -> Value {
    let days: Vec<Value> = (0..7)
        .map(|day_of_week| {
            let weekend = day_of_week == 0 || day_of_week == 6;
            json!({
                "day_of_week": day_of_week,
                "closed_all_day": weekend,
                "open_hour": if weekend { Value::Null } else { json!(9) },
                "open_minutes": if weekend { Value::Null } else { json!(0) },
                "close_hour": if weekend { Value::Null } else { json!(17) },
                "close_minutes": if weekend { Value::Null } else { json!(0) },
                "open_all_day": false,
            })
        })
        .collect();
    Value::Array(days)
}

/// `api/v1/models/_inbox.json.jbuilder` for an API-channel inbox; `hmac_token`
/// and `secret` only for administrators.
pub fn inbox(inbox: &Inbox, viewer_role: Role) -> Value {
    let mut body = json!({
        "id": inbox.id,
        "avatar_url": "",
        "channel_id": inbox.channel_id,
        "name": inbox.name,
        "channel_type": "Channel::Api",
        "greeting_enabled": inbox.greeting_enabled,
        "greeting_message": inbox.greeting_message,
        "working_hours_enabled": inbox.working_hours_enabled,
        "enable_email_collect": inbox.enable_email_collect,
        "csat_survey_enabled": inbox.csat_survey_enabled,
        "csat_config": {},
        "enable_auto_assignment": inbox.enable_auto_assignment,
        "auto_assignment_config": {},
        "out_of_office_message": inbox.out_of_office_message,
        "working_hours": default_working_hours(),
        "timezone": inbox.timezone,
        "callback_webhook_url": null,
        "allow_messages_after_resolved": inbox.allow_messages_after_resolved,
        "lock_to_single_conversation": inbox.lock_to_single_conversation,
        "sender_name_type": "friendly",
        "business_name": null,
        "allowed_domains": null,
        "widget_color": null,
        "website_url": null,
        "hmac_mandatory": inbox.hmac_mandatory,
        "welcome_title": null,
        "welcome_tagline": null,
        "web_widget_script": null,
        "website_token": null,
        "selected_feature_flags": null,
        "reply_time": null,
        "messaging_service_sid": null,
        "phone_number": null,
    });
    if let Value::Object(fields) = &mut body {
        if viewer_role == Role::Administrator {
            fields.insert("hmac_token".into(), json!(inbox.hmac_token));
            fields.insert("secret".into(), json!(inbox.secret));
        }
        fields.insert("webhook_url".into(), json!(inbox.webhook_url));
        fields.insert("inbox_identifier".into(), json!(inbox.identifier));
        fields.insert(
            "additional_attributes".into(),
            Value::Object(inbox.additional_attributes.clone()),
        );
        fields.insert("provider".into(), Value::Null);
    }
    body
}

/// `api/v1/models/_inbox_slim.json.jbuilder`.
pub fn inbox_slim(inbox: &Inbox) -> Value {
    json!({
        "id": inbox.id,
        "avatar_url": "",
        "channel_id": inbox.channel_id,
        "name": inbox.name,
        "channel_type": "Channel::Api",
        "provider": null,
    })
}

/// `Inbox#webhook_data`.
pub fn inbox_webhook_data(inbox: &Inbox) -> Value {
    json!({ "id": inbox.id, "name": inbox.name })
}

/// `api/v1/models/_contact_inbox.json.jbuilder`.
pub fn contact_inbox(store: &Store, contact_inbox: &ContactInbox) -> Value {
    json!({
        "source_id": contact_inbox.source_id,
        "inbox": store.inboxes.get(&contact_inbox.inbox_id).map_or(Value::Null, inbox_slim),
    })
}

/// A contact inbox serialized as a raw model (`ContactInbox#as_json`), as the
/// conversation `push_data` embeds it.
pub fn contact_inbox_record(contact_inbox: &ContactInbox) -> Value {
    json!({
        "id": contact_inbox.id,
        "contact_id": contact_inbox.contact_id,
        "inbox_id": contact_inbox.inbox_id,
        "source_id": contact_inbox.source_id,
        "created_at": rails_time(contact_inbox.created_at),
        "updated_at": rails_time(contact_inbox.updated_at),
        "hmac_verified": contact_inbox.hmac_verified,
        "pubsub_token": contact_inbox.pubsub_token,
    })
}

/// `api/v1/models/_contact.json.jbuilder`; `contact_inboxes` only when asked
/// (the `/contacts` endpoints).
pub fn contact(store: &Store, contact: &Contact, with_contact_inboxes: bool) -> Value {
    let mut fields = Map::new();
    fields.insert(
        "additional_attributes".into(),
        Value::Object(contact.additional_attributes.clone()),
    );
    fields.insert("availability_status".into(), json!("offline"));
    fields.insert("email".into(), json!(contact.email));
    fields.insert("id".into(), json!(contact.id));
    fields.insert("name".into(), json!(contact.name));
    fields.insert("phone_number".into(), json!(contact.phone_number));
    fields.insert("blocked".into(), json!(contact.blocked));
    fields.insert("identifier".into(), json!(contact.identifier));
    fields.insert("thumbnail".into(), json!(""));
    fields.insert(
        "custom_attributes".into(),
        Value::Object(contact.custom_attributes.clone()),
    );
    if let Some(last_activity_at) = contact.last_activity_at {
        fields.insert(
            "last_activity_at".into(),
            json!(last_activity_at.timestamp()),
        );
    }
    fields.insert("created_at".into(), json!(contact.created_at.timestamp()));
    if with_contact_inboxes {
        let contact_inboxes: Vec<Value> = store
            .contact_inboxes_of(contact.id)
            .into_iter()
            .map(|record| contact_inbox(store, record))
            .collect();
        fields.insert("contact_inboxes".into(), Value::Array(contact_inboxes));
    }
    Value::Object(fields)
}

/// The contact columns `Contact#push_event_data` and `Contact#webhook_data` share.
fn contact_columns(contact: &Contact) -> Map<String, Value> {
    let Value::Object(fields) = json!({
        "additional_attributes": contact.additional_attributes,
        "custom_attributes": contact.custom_attributes,
        "email": contact.email,
        "id": contact.id,
        "identifier": contact.identifier,
        "name": contact.name,
        "phone_number": contact.phone_number,
        "thumbnail": "",
        "blocked": contact.blocked,
    }) else {
        unreachable!("a json! object literal is an object")
    };
    fields
}

/// `Contact#push_event_data`.
pub fn contact_push_event_data(contact: &Contact) -> Value {
    let mut fields = contact_columns(contact);
    fields.insert("type".into(), json!("contact"));
    Value::Object(fields)
}

/// `Contact#webhook_data`.
pub fn contact_webhook_data(store: &Store, contact: &Contact) -> Value {
    let mut fields = contact_columns(contact);
    fields.insert(
        "account".into(),
        account_webhook_data(store, contact.account_id),
    );
    fields.insert("avatar".into(), json!(""));
    Value::Object(fields)
}

/// `Account#webhook_data`.
pub fn account_webhook_data(store: &Store, account_id: u64) -> Value {
    let name = store
        .accounts
        .get(&account_id)
        .map(|account| account.name.clone());
    json!({ "id": account_id, "name": name })
}

/// `User#push_event_data`.
pub fn user_push_event_data(user: &User) -> Value {
    json!({
        "id": user.id,
        "name": user.name,
        "available_name": user.available_name(),
        "avatar_url": "",
        "type": "user",
        "availability_status": "offline",
        "thumbnail": "",
    })
}

/// `User#webhook_data`.
pub fn user_webhook_data(user: &User) -> Value {
    json!({ "id": user.id, "name": user.name, "email": user.email, "type": "user" })
}

/// `api/v1/models/_user.json.jbuilder`, as `GET /api/v1/profile` renders it; the
/// first account membership is the active one.
pub fn profile(store: &Store, user: &User) -> Value {
    let memberships: Vec<_> = store
        .account_users
        .iter()
        .filter(|member| member.user_id == user.id)
        .collect();
    let active = memberships.first();
    let accounts: Vec<Value> = memberships
        .iter()
        .map(|member| {
            let account = store.accounts.get(&member.account_id);
            json!({
                "id": member.account_id,
                "name": account.map(|account| account.name.clone()),
                "status": "active",
                "active_at": null,
                "role": member.role.as_str(),
                "permissions": [member.role.as_str()],
                "availability": "online",
                "availability_status": "offline",
                "auto_offline": true,
                "custom_role_id": null,
                "custom_role": null,
            })
        })
        .collect();
    json!({
        "access_token": user.access_token,
        "account_id": active.map(|member| member.account_id),
        "available_name": user.available_name(),
        "avatar_url": "",
        "confirmed": true,
        "display_name": user.display_name,
        "message_signature": null,
        "email": user.email,
        "hmac_identifier": hex::encode(user.pubsub_token.as_bytes()),
        "id": user.id,
        "inviter_id": null,
        "name": user.name,
        "provider": "email",
        "pubsub_token": user.pubsub_token,
        "role": active.map(|member| member.role.as_str()),
        "ui_settings": {},
        "uid": user.email,
        "type": null,
        "accounts": accounts,
    })
}

/// `Attachment#push_event_data` for a file upload.
pub fn attachment(attachment: &Attachment, base_url: &str) -> Value {
    let data_url = format!(
        "{base_url}/rails/active_storage/blobs/redirect/{}/{}",
        attachment.download_token, attachment.filename
    );
    let thumb_url = if attachment.file_type == crate::model::FileType::Image {
        format!(
            "{base_url}/rails/active_storage/representations/redirect/{}/{}",
            attachment.download_token, attachment.filename
        )
    } else {
        String::new()
    };
    let extension = attachment
        .filename
        .rsplit_once('.')
        .map(|(_, extension)| extension.to_owned());
    let mut fields = json!({
        "id": attachment.id,
        "message_id": attachment.message_id,
        "file_type": attachment.file_type.as_str(),
        "account_id": attachment.account_id,
        "extension": extension,
        "data_url": data_url,
        "thumb_url": thumb_url,
        "file_size": attachment.byte_size,
        "width": null,
        "height": null,
    });
    if !attachment.meta.is_empty() {
        fields["meta"] = Value::Object(attachment.meta.clone());
    }
    fields
}

/// `sender.push_event_data` of a message.
fn sender_push_event_data(store: &Store, sender: Option<Sender>) -> Option<Value> {
    match sender? {
        Sender::Contact(contact_id) => store.contacts.get(&contact_id).map(contact_push_event_data),
        Sender::User(user_id) => store.users.get(&user_id).map(user_push_event_data),
    }
}

/// `(sender_type, sender_id)` columns of a message.
fn sender_columns(sender: Option<Sender>) -> (Value, Value) {
    match sender {
        Some(Sender::Contact(id)) => (json!("Contact"), json!(id)),
        Some(Sender::User(id)) => (json!("User"), json!(id)),
        None => (Value::Null, Value::Null),
    }
}

/// `Conversation#unread_incoming_messages.count` (capped at 10 by `.last(10)`).
pub fn unread_incoming_count(store: &Store, conversation: &Conversation) -> usize {
    store
        .messages_of(conversation.id)
        .into_iter()
        .filter(|message| message.message_type == MessageType::Incoming)
        .filter(|message| {
            conversation
                .agent_last_seen_at
                .is_none_or(|seen_at| message.created_at > seen_at)
        })
        .count()
        .min(10)
}

/// The columns every rendering of a message (API view, push event, webhook) shows
/// the same way.
fn message_columns(message: &Message) -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert("id".into(), json!(message.id));
    fields.insert("content".into(), json!(message.content));
    fields.insert("content_type".into(), json!(message.content_type));
    fields.insert(
        "content_attributes".into(),
        Value::Object(message.content_attributes.clone()),
    );
    fields.insert("private".into(), json!(message.private));
    fields.insert("source_id".into(), json!(message.source_id));
    fields
}

/// [`message_columns`] plus what the API view and the push event add the same way:
/// the inbox, the conversation's display id, and integer `message_type` and `created_at`.
fn message_api_columns(
    message: &Message,
    conversation: Option<&Conversation>,
) -> Map<String, Value> {
    let mut fields = message_columns(message);
    fields.insert("inbox_id".into(), json!(message.inbox_id));
    fields.insert(
        "conversation_id".into(),
        json!(conversation.map(|conversation| conversation.display_id)),
    );
    fields.insert(
        "message_type".into(),
        json!(message.message_type.as_integer()),
    );
    fields.insert("status".into(), json!(message.status.as_str()));
    fields.insert("created_at".into(), json!(message.created_at.timestamp()));
    fields
}

/// `Message#push_event_data`: every column, with integer `created_at` and
/// `message_type`, the conversation's display id, a conversation summary and the sender.
pub fn message_push_event_data(store: &Store, message: &Message, base_url: &str) -> Value {
    let conversation = store.conversations.get(&message.conversation_id);
    let (sender_type, sender_id) = sender_columns(message.sender);
    let mut fields = message_api_columns(message, conversation);
    fields.insert("account_id".into(), json!(message.account_id));
    fields.insert("updated_at".into(), rails_time(message.updated_at));
    fields.insert("sender_type".into(), sender_type);
    fields.insert("sender_id".into(), sender_id);
    fields.insert(
        "external_source_ids".into(),
        Value::Object(message.external_source_ids.clone()),
    );
    fields.insert(
        "additional_attributes".into(),
        Value::Object(message.additional_attributes.clone()),
    );
    fields.insert("processed_message_content".into(), json!(message.content));
    fields.insert("sentiment".into(), json!({}));
    if let Some(conversation) = conversation {
        let source_id = store
            .contact_inboxes
            .get(&conversation.contact_inbox_id)
            .map(|contact_inbox| contact_inbox.source_id.clone());
        fields.insert(
            "conversation".into(),
            json!({
                "assignee_id": conversation.assignee_id,
                "unread_count": unread_incoming_count(store, conversation),
                "last_activity_at": conversation.last_activity_at.timestamp(),
                "contact_inbox": { "source_id": source_id },
            }),
        );
    }
    if let Some(echo_id) = &message.echo_id {
        fields.insert("echo_id".into(), json!(echo_id));
    }
    if !message.attachments.is_empty() {
        fields.insert("attachments".into(), attachments(message, base_url));
    }
    if let Some(sender) = sender_push_event_data(store, message.sender) {
        fields.insert("sender".into(), sender);
    }
    Value::Object(fields)
}

fn attachments(message: &Message, base_url: &str) -> Value {
    Value::Array(
        message
            .attachments
            .iter()
            .map(|record| attachment(record, base_url))
            .collect(),
    )
}

/// `api/v1/models/_message.json.jbuilder` (message create, index, update, destroy).
pub fn message(store: &Store, message: &Message, base_url: &str) -> Value {
    let conversation = store.conversations.get(&message.conversation_id);
    let mut fields = message_api_columns(message, conversation);
    if let Some(echo_id) = &message.echo_id {
        fields.insert("echo_id".into(), json!(echo_id));
    }
    if let Some(sender) = sender_push_event_data(store, message.sender) {
        fields.insert("sender".into(), sender);
    }
    if !message.attachments.is_empty() {
        fields.insert("attachments".into(), attachments(message, base_url));
    }
    Value::Object(fields)
}

/// `Message#webhook_data` (the `message_created` / `message_updated` body, before `event`).
pub fn message_webhook_data(store: &Store, message: &Message, base_url: &str) -> Value {
    let sender = match message.sender {
        Some(Sender::Contact(contact_id)) => store
            .contacts
            .get(&contact_id)
            .map_or(Value::Null, |contact| contact_webhook_data(store, contact)),
        Some(Sender::User(user_id)) => store
            .users
            .get(&user_id)
            .map_or(Value::Null, user_webhook_data),
        None => Value::Null,
    };
    let mut fields = message_columns(message);
    fields.insert(
        "account".into(),
        account_webhook_data(store, message.account_id),
    );
    fields.insert(
        "additional_attributes".into(),
        Value::Object(message.additional_attributes.clone()),
    );
    fields.insert(
        "conversation".into(),
        store
            .conversations
            .get(&message.conversation_id)
            .map_or(Value::Null, |conversation| {
                conversation_webhook_data(store, conversation, base_url)
            }),
    );
    fields.insert("created_at".into(), rails_time(message.created_at));
    fields.insert(
        "inbox".into(),
        store
            .inboxes
            .get(&message.inbox_id)
            .map_or(Value::Null, inbox_webhook_data),
    );
    fields.insert("message_type".into(), json!(message.message_type.as_str()));
    fields.insert("sender".into(), sender);
    if !message.attachments.is_empty() {
        fields.insert("attachments".into(), attachments(message, base_url));
    }
    Value::Object(fields)
}

/// The last non-activity message of a conversation (`non_activity_messages.first`).
fn last_non_activity_message<'a>(
    store: &'a Store,
    conversation: &Conversation,
) -> Option<&'a Message> {
    store
        .messages_of(conversation.id)
        .into_iter()
        .rev()
        .find(|message| message.message_type != MessageType::Activity)
}

/// `Conversations::EventDataPresenter#push_data` plus the account
/// (`Conversation#webhook_data`), the body of conversation webhooks.
pub fn conversation_webhook_data(
    store: &Store,
    conversation: &Conversation,
    base_url: &str,
) -> Value {
    let contact = store.contacts.get(&conversation.contact_id);
    let assignee = conversation
        .assignee_id
        .and_then(|user_id| store.users.get(&user_id));
    let contact_inbox = store.contact_inboxes.get(&conversation.contact_inbox_id);
    let last_chat_message: Vec<Value> = store
        .messages_of(conversation.id)
        .into_iter()
        .rev()
        .find(|message| {
            matches!(
                message.message_type,
                MessageType::Incoming | MessageType::Outgoing
            )
        })
        .map(|message| message_push_event_data(store, message, base_url))
        .into_iter()
        .collect();
    json!({
        "additional_attributes": conversation.additional_attributes,
        "can_reply": true,
        "channel": "Channel::Api",
        "contact_inbox": contact_inbox.map_or(Value::Null, contact_inbox_record),
        "id": conversation.display_id,
        "inbox_id": conversation.inbox_id,
        "messages": last_chat_message,
        "labels": conversation.labels,
        "meta": {
            "sender": contact.map_or(Value::Null, contact_push_event_data),
            "assignee": assignee.map_or(Value::Null, user_push_event_data),
            "assignee_type": assignee.map(|_| "User"),
            "team": null,
            "hmac_verified": contact_inbox.map(|contact_inbox| contact_inbox.hmac_verified),
        },
        "status": conversation.status.as_str(),
        "custom_attributes": conversation.custom_attributes,
        "snoozed_until": rails_time_or_null(conversation.snoozed_until),
        "unread_count": unread_incoming_count(store, conversation),
        "first_reply_created_at": rails_time_or_null(conversation.first_reply_created_at),
        "priority": conversation.priority,
        "waiting_since": epoch(conversation.waiting_since),
        "agent_last_seen_at": epoch(conversation.agent_last_seen_at),
        "contact_last_seen_at": epoch(conversation.contact_last_seen_at),
        "last_activity_at": conversation.last_activity_at.timestamp(),
        "timestamp": conversation.last_activity_at.timestamp(),
        "created_at": conversation.created_at.timestamp(),
        "updated_at": epoch_float(conversation.updated_at),
        "account": account_webhook_data(store, conversation.account_id),
    })
}

/// `api/v1/conversations/partials/_conversation.json.jbuilder` (conversation
/// create, show, list and the contact's conversations).
pub fn conversation(store: &Store, conversation: &Conversation, base_url: &str) -> Value {
    let contact = store.contacts.get(&conversation.contact_id);
    let assignee = conversation
        .assignee_id
        .and_then(|user_id| store.users.get(&user_id));
    let contact_inbox = store.contact_inboxes.get(&conversation.contact_inbox_id);
    let all_messages = store.messages_of(conversation.id);
    let unread_count = unread_incoming_count(store, conversation);
    let messages: Vec<Value> = if all_messages.is_empty() {
        Vec::new()
    } else if unread_count == 0 {
        all_messages
            .last()
            .map(|message| message_push_event_data(store, message, base_url))
            .into_iter()
            .collect()
    } else {
        let unread: Vec<&&Message> = all_messages
            .iter()
            .filter(|message| {
                conversation
                    .agent_last_seen_at
                    .is_none_or(|seen_at| message.created_at > seen_at)
            })
            .collect();
        let skip = unread.len().saturating_sub(10);
        unread
            .into_iter()
            .skip(skip)
            .map(|message| message_push_event_data(store, message, base_url))
            .collect()
    };
    let mut meta = Map::new();
    meta.insert(
        "sender".into(),
        contact.map_or(Value::Null, |contact| self::contact(store, contact, false)),
    );
    meta.insert("channel".into(), json!("Channel::Api"));
    if let Some(assignee) = assignee {
        meta.insert(
            "assignee".into(),
            agent(store, assignee, conversation.account_id),
        );
        meta.insert("assignee_type".into(), json!("User"));
    }
    meta.insert(
        "hmac_verified".into(),
        json!(contact_inbox.map(|contact_inbox| contact_inbox.hmac_verified)),
    );
    json!({
        "meta": meta,
        "id": conversation.display_id,
        "messages": messages,
        "account_id": conversation.account_id,
        "uuid": conversation.uuid,
        "additional_attributes": conversation.additional_attributes,
        "agent_last_seen_at": epoch(conversation.agent_last_seen_at),
        "assignee_last_seen_at": epoch(conversation.assignee_last_seen_at),
        "can_reply": true,
        "contact_last_seen_at": epoch(conversation.contact_last_seen_at),
        "custom_attributes": conversation.custom_attributes,
        "inbox_id": conversation.inbox_id,
        "labels": conversation.labels,
        "muted": false,
        "snoozed_until": rails_time_or_null(conversation.snoozed_until),
        "status": conversation.status.as_str(),
        "created_at": conversation.created_at.timestamp(),
        "updated_at": epoch_float(conversation.updated_at),
        "timestamp": conversation.last_activity_at.timestamp(),
        "first_reply_created_at": epoch(conversation.first_reply_created_at),
        "unread_count": unread_count,
        "last_non_activity_message": last_non_activity_message(store, conversation)
            .map_or(Value::Null, |message| message_push_event_data(store, message, base_url)),
        "last_activity_at": conversation.last_activity_at.timestamp(),
        "priority": conversation.priority,
        "waiting_since": epoch(conversation.waiting_since),
        "sla_policy_id": null,
    })
}

/// `api/v1/models/_agent.json.jbuilder` (a conversation's assignee).
pub fn agent(store: &Store, user: &User, account_id: u64) -> Value {
    let role = store
        .account_user(account_id, user.id)
        .map(|member| member.role.as_str());
    json!({
        "id": user.id,
        "account_id": account_id,
        "availability_status": "offline",
        "auto_offline": true,
        "confirmed": true,
        "email": user.email,
        "available_name": user.available_name(),
        "name": user.name,
        "role": role,
        "thumbnail": "",
        "custom_role_id": null,
    })
}
