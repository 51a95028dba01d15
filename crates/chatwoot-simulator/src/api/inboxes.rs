//! `Api::V1::Accounts::InboxesController` for API-channel inboxes: list (an
//! agent sees only the inboxes they are a member of), show (`authorize :show?`),
//! create / update / destroy (administrators only, `InboxPolicy`).

use super::{parse_id, AccountContext, AccountRequest, Outcome, Params};
use crate::error::ApiError;
use crate::model::Inbox;
use crate::store::{now, secure_token, Store, Table};
use crate::views;
use actix_web::{web, HttpResponse};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// `fetch_inbox`: find in the account (404), then `authorize @inbox, :show?` (401).
fn fetch_inbox<'a>(
    context: &AccountContext,
    store: &'a Store,
    raw_id: &str,
) -> Result<&'a Inbox, ApiError> {
    let inbox = store.inbox(context.account_id, parse_id(raw_id)?)?;
    if store.can_access_inbox(context.role, context.user_id, inbox) {
        Ok(inbox)
    } else {
        Err(ApiError::NotAuthorized)
    }
}

/// `GET /inboxes`: `{ payload: [inbox…] }`, ordered by name.
pub async fn index(request: AccountRequest) -> Result<HttpResponse, ApiError> {
    request.run(&[], |context, store, _| {
        let mut inboxes: Vec<&Inbox> = store
            .inboxes
            .values()
            .filter(|inbox| inbox.account_id == context.account_id)
            .filter(|inbox| store.can_access_inbox(context.role, context.user_id, inbox))
            .collect();
        inboxes.sort_by(|left, right| left.name.cmp(&right.name).then(left.id.cmp(&right.id)));
        let payload: Vec<Value> = inboxes
            .into_iter()
            .map(|inbox| views::inbox(inbox, context.role))
            .collect();
        Ok(Outcome::body(json!({ "payload": payload })))
    })
}

/// `GET /inboxes/{id}`.
pub async fn show(request: AccountRequest) -> Result<HttpResponse, ApiError> {
    request.run(&[], |context, store, call| {
        let inbox_id = call.path_segment("id");
        let inbox = fetch_inbox(context, store, inbox_id)?;
        Ok(Outcome::body(views::inbox(inbox, context.role)))
    })
}

/// The inbox columns `permitted_params` lets through, validated.
struct InboxAttributes<'a> {
    params: &'a Params,
}

impl InboxAttributes<'_> {
    /// `validates :name, presence: true`, and the format rule `Inbox` applies to API
    /// (and email, web widget) channels: `%r{^^\b[^/\\<>@]*\b$}` — no `/ \ < > @`, and
    /// a word character at both ends (`app/models/inbox.rb`; the message is the one
    /// `spec/models/inbox_spec.rb` expects).
    fn validate_name(&self, current_name: Option<&str>) -> Result<(), ApiError> {
        let name = match self.params.get("name") {
            Some(_) => self.params.text("name").unwrap_or_default(),
            None => current_name.unwrap_or_default().to_owned(),
        };
        if name.trim().is_empty() {
            return Err(ApiError::invalid("Name can't be blank", "name"));
        }
        let is_word = |c: char| c.is_alphanumeric() || c == '_';
        let starts_and_ends_with_word =
            name.chars().next().is_some_and(is_word) && name.chars().last().is_some_and(is_word);
        let has_forbidden = name
            .chars()
            .any(|c| matches!(c, '/' | '\\' | '<' | '>' | '@'));
        if !starts_and_ends_with_word || has_forbidden {
            return Err(ApiError::invalid(
                "Name should not start or end with symbols, and it should not have < > / \\ @ characters.",
                "name",
            ));
        }
        Ok(())
    }

    /// Assigns the permitted inbox columns present in the request.
    fn apply(&self, inbox: &mut Inbox) {
        let params = self.params;
        if let Some(name) = params.text("name") {
            inbox.name = name;
        }
        let flags: [(&str, &mut bool); 7] = [
            ("greeting_enabled", &mut inbox.greeting_enabled),
            ("enable_auto_assignment", &mut inbox.enable_auto_assignment),
            ("enable_email_collect", &mut inbox.enable_email_collect),
            ("csat_survey_enabled", &mut inbox.csat_survey_enabled),
            (
                "allow_messages_after_resolved",
                &mut inbox.allow_messages_after_resolved,
            ),
            (
                "lock_to_single_conversation",
                &mut inbox.lock_to_single_conversation,
            ),
            ("working_hours_enabled", &mut inbox.working_hours_enabled),
        ];
        for (key, field) in flags {
            if let Some(value) = params.get(key) {
                *field = super::active_record_boolean(value).unwrap_or(false);
            }
        }
        if params.get("greeting_message").is_some() {
            inbox.greeting_message = params.text("greeting_message");
        }
        if params.get("out_of_office_message").is_some() {
            inbox.out_of_office_message = params.text("out_of_office_message");
        }
        if let Some(timezone) = params.text("timezone") {
            inbox.timezone = timezone;
        }
    }

    /// Assigns `channel: { webhook_url, hmac_mandatory, additional_attributes }`
    /// (`Channel::Api::EDITABLE_ATTRS`).
    fn apply_channel(&self, inbox: &mut Inbox) {
        let Some(channel) = self.params.object("channel") else {
            return;
        };
        let channel = Params(channel);
        if channel.get("webhook_url").is_some() {
            inbox.webhook_url = channel.text("webhook_url");
        }
        if let Some(value) = channel.get("hmac_mandatory") {
            inbox.hmac_mandatory = super::active_record_boolean(value).unwrap_or(false);
        }
        if let Some(additional_attributes) = channel.object("additional_attributes") {
            inbox.additional_attributes = additional_attributes;
        }
    }
}

/// `POST /inboxes` with `channel.type == "api"`.
pub async fn create(request: AccountRequest, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    request.run(&body, |context, store, call| {
        let params = call.params;
        context.require_administrator()?;
        let channel_type = params
            .object("channel")
            .and_then(|channel| channel.get("type").and_then(super::value_text));
        if channel_type.as_deref() != Some("api") {
            return Err(ApiError::invalid("Channel must exist", "channel"));
        }
        let attributes = InboxAttributes { params };
        attributes.validate_name(None)?;
        let id = store.next_id(Table::Inbox);
        let channel_id = store.next_id(Table::Channel);
        let mut inbox = Inbox {
            id,
            account_id: context.account_id,
            name: String::new(),
            channel_id,
            webhook_url: None,
            hmac_token: secure_token(),
            secret: Some(secure_token()),
            identifier: secure_token(),
            hmac_mandatory: false,
            additional_attributes: serde_json::Map::new(),
            greeting_enabled: false,
            greeting_message: None,
            enable_auto_assignment: true,
            enable_email_collect: true,
            csat_survey_enabled: false,
            allow_messages_after_resolved: true,
            lock_to_single_conversation: false,
            working_hours_enabled: false,
            out_of_office_message: None,
            timezone: "UTC".to_owned(),
            created_at: now(),
            member_user_ids: BTreeSet::new(),
        };
        attributes.apply(&mut inbox);
        attributes.apply_channel(&mut inbox);
        let body = views::inbox(&inbox, context.role);
        store.inboxes.insert(id, inbox);
        Ok(Outcome::body(body))
    })
}

/// `PATCH /inboxes/{id}`.
pub async fn update(request: AccountRequest, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    request.run(&body, |context, store, call| {
        let (inbox_id, params) = (call.path_segment("id"), call.params);
        let inbox_id = fetch_inbox(context, store, inbox_id)?.id;
        context.require_administrator()?;
        let attributes = InboxAttributes { params };
        let inbox = store.inbox_mut(context.account_id, inbox_id)?;
        attributes.validate_name(Some(&inbox.name))?;
        attributes.apply(inbox);
        attributes.apply_channel(inbox);
        Ok(Outcome::body(views::inbox(inbox, context.role)))
    })
}

/// `DELETE /inboxes/{id}`: Chatwoot enqueues `DeleteObjectJob` and answers at
/// once; the simulator deletes the inbox with its contact inboxes,
/// conversations and messages right away.
pub async fn destroy(request: AccountRequest) -> Result<HttpResponse, ApiError> {
    request.run(&[], |context, store, call| {
        let inbox_id = call.path_segment("id");
        let inbox_id = fetch_inbox(context, store, inbox_id)?.id;
        context.require_administrator()?;
        store.inboxes.remove(&inbox_id);
        store
            .contact_inboxes
            .retain(|_, contact_inbox| contact_inbox.inbox_id != inbox_id);
        store
            .conversations
            .retain(|_, conversation| conversation.inbox_id != inbox_id);
        store
            .messages
            .retain(|_, message| message.inbox_id != inbox_id);
        Ok(Outcome::body(json!({
            "message": "Your inbox deletion request will be processed in some time."
        })))
    })
}
