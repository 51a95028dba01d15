//! `Api::V1::Accounts::ContactsController` (index, search, filter, show,
//! create with an optional `inbox_id`, update), plus
//! `Contacts::ContactInboxesController#create` and
//! `Contacts::ConversationsController#index`. Contacts are open to every
//! account member (`ContactPolicy`); inbox access still applies to inboxes.

use super::{parse_id, AccountContext, AccountRequest, Outcome, Params};
use crate::error::ApiError;
use crate::model::{Contact, JsonObject};
use crate::store::{now, Store, Table};
use crate::views;
use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

/// Page size of index, search and filter (`RESULTS_PER_PAGE`).
const RESULTS_PER_PAGE: usize = 15;
/// Page sizes a client may ask for (`ALLOWED_PER_PAGE`).
const ALLOWED_PER_PAGE: [usize; 4] = [15, 25, 50, 100];

/// `@current_page = params[:page] || 1` (a string when given, as Rails keeps it).
fn current_page(params: &Params) -> (Value, usize) {
    match params.text("page") {
        Some(page) => {
            let number = page.trim().parse::<usize>().unwrap_or(0).max(1);
            (Value::String(page), number)
        }
        None => (json!(1), 1),
    }
}

fn per_page(params: &Params) -> usize {
    params
        .text("per_page")
        .and_then(|requested| requested.trim().parse::<usize>().ok())
        .filter(|requested| ALLOWED_PER_PAGE.contains(requested))
        .unwrap_or(RESULTS_PER_PAGE)
}

fn present(value: Option<&String>) -> bool {
    value.is_some_and(|text| !text.is_empty())
}

/// `Contact.resolved_contacts`: contacts with an email, phone number or identifier.
fn is_resolved(contact: &Contact) -> bool {
    present(contact.email.as_ref())
        || present(contact.phone_number.as_ref())
        || present(contact.identifier.as_ref())
}

/// Sift sorting on `params[:sort]` (`name`, `email`, `phone_number`,
/// `last_activity_at`, `created_at`, `-` for descending); unsorted keeps id order.
fn sort_contacts(contacts: &mut [&Contact], sort: Option<&str>) {
    let Some(sort) = sort.filter(|sort| !sort.is_empty()) else {
        return;
    };
    let (descending, key) = match sort.strip_prefix('-') {
        Some(key) => (true, key),
        None => (false, sort),
    };
    contacts.sort_by(|left, right| {
        let ordering = match key {
            "name" => left.name.to_lowercase().cmp(&right.name.to_lowercase()),
            "email" => left.email.cmp(&right.email),
            "phone_number" => left.phone_number.cmp(&right.phone_number),
            "last_activity_at" => left.last_activity_at.cmp(&right.last_activity_at),
            "created_at" => left.created_at.cmp(&right.created_at),
            _ => left.id.cmp(&right.id),
        };
        if descending {
            ordering.reverse()
        } else {
            ordering
        }
    });
}

/// Renders one page of contacts as `{ meta: { count, current_page }, payload }`.
fn contact_page(store: &Store, contacts: &[&Contact], params: &Params) -> Value {
    let (page_value, page) = current_page(params);
    let per_page = per_page(params);
    let payload: Vec<Value> = contacts
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|contact| views::contact(store, contact, true))
        .collect();
    json!({
        "meta": { "count": contacts.len(), "current_page": page_value },
        "payload": payload,
    })
}

fn account_contacts(store: &Store, account_id: u64) -> Vec<&Contact> {
    store
        .contacts
        .values()
        .filter(|contact| contact.account_id == account_id)
        .collect()
}

/// `GET /contacts`.
pub async fn index(request: AccountRequest) -> Result<HttpResponse, ApiError> {
    request.run(&[], |context, store, call| {
        let params = call.params;
        let mut contacts: Vec<&Contact> = account_contacts(store, context.account_id)
            .into_iter()
            .filter(|contact| is_resolved(contact))
            .collect();
        sort_contacts(&mut contacts, params.text("sort").as_deref());
        Ok(Outcome::body(contact_page(store, &contacts, params)))
    })
}

/// `GET /contacts/search?q=`: ILIKE on name, email, phone number, identifier
/// and company name; one extra row tells `has_more`.
pub async fn search(request: AccountRequest) -> Result<HttpResponse, ApiError> {
    request.run(&[], |context, store, call| {
        let params = call.params;
        let (page_value, page) = current_page(params);
        // Upstream's guard `render … if params[:q].blank? && return` returns
        // before rendering, so a blank query falls through to the view with no
        // contacts: an empty payload and no count.
        let Some(query) = params
            .text("q")
            .map(|query| query.trim().to_lowercase())
            .filter(|query| !query.is_empty())
        else {
            return Ok(Outcome::body(json!({
                "meta": { "count": null, "current_page": page_value, "has_more": null },
                "payload": [],
            })));
        };
        let matches =
            |text: Option<&str>| text.is_some_and(|text| text.to_lowercase().contains(&query));
        let mut contacts: Vec<&Contact> = account_contacts(store, context.account_id)
            .into_iter()
            .filter(|contact| {
                matches(Some(&contact.name))
                    || matches(contact.email.as_deref())
                    || matches(contact.phone_number.as_deref())
                    || matches(contact.identifier.as_deref())
                    || matches(
                        contact
                            .additional_attributes
                            .get("company_name")
                            .and_then(Value::as_str),
                    )
            })
            .collect();
        sort_contacts(&mut contacts, params.text("sort").as_deref());
        let per_page = per_page(params);
        let window: Vec<&&Contact> = contacts
            .iter()
            .skip((page - 1) * per_page)
            .take(per_page + 1)
            .collect();
        let has_more = window.len() > per_page;
        let payload: Vec<Value> = window
            .into_iter()
            .take(per_page)
            .map(|contact| views::contact(store, contact, true))
            .collect();
        Ok(Outcome::body(json!({
            "meta": { "count": payload.len(), "current_page": page_value, "has_more": has_more },
            "payload": payload,
        })))
    })
}

/// The standard contact attributes `Contacts::FilterService` accepts here.
const STANDARD_FILTER_KEYS: [&str; 8] = [
    "name",
    "email",
    "phone_number",
    "identifier",
    "country_code",
    "city",
    "company",
    "blocked",
];

/// The value of a filterable attribute of a contact, as text.
fn filter_value(contact: &Contact, key: &str) -> Option<String> {
    match key {
        "name" => Some(contact.name.clone()),
        "email" => contact.email.clone(),
        "phone_number" => contact.phone_number.clone(),
        "identifier" => contact.identifier.clone(),
        "blocked" => Some(contact.blocked.to_string()),
        "country_code" | "city" | "company" => contact
            .additional_attributes
            .get(key)
            .and_then(super::value_text),
        custom => contact
            .custom_attributes
            .get(custom)
            .and_then(super::value_text),
    }
}

/// One condition of a filter payload.
fn condition_matches(
    contact: &Contact,
    key: &str,
    operator: &str,
    values: &[String],
) -> Result<bool, ApiError> {
    let actual = filter_value(contact, key).map(|value| value.to_lowercase());
    let values: Vec<String> = values.iter().map(|value| value.to_lowercase()).collect();
    let contains = |actual: &str| values.iter().any(|value| actual.contains(value.as_str()));
    Ok(match operator {
        "equal_to" => actual.is_some_and(|actual| values.contains(&actual)),
        "not_equal_to" => actual.is_none_or(|actual| !values.contains(&actual)),
        "contains" => actual.is_some_and(|actual| contains(&actual)),
        "does_not_contain" => actual.is_none_or(|actual| !contains(&actual)),
        "starts_with" => actual
            .is_some_and(|actual| values.iter().any(|value| actual.starts_with(value.as_str()))),
        "is_present" => actual.is_some_and(|actual| !actual.is_empty()),
        "is_not_present" => actual.is_none_or(|actual| actual.is_empty()),
        other => {
            return Err(ApiError::Unprocessable(format!(
                "Invalid operator. The allowed operators for {key} are [equal_to,not_equal_to,contains,does_not_contain,starts_with,is_present,is_not_present]. Got {other}."
            )))
        }
    })
}

/// `POST /contacts/filter` with `{ payload: [{ attribute_key, filter_operator,
/// values, query_operator }] }`, conditions chained left to right.
pub async fn filter(request: AccountRequest, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    request.run(&body, |context, store, call| {
        let params = call.params;
        let Some(Value::Array(conditions)) = params.get("payload") else {
            return Err(ApiError::Internal);
        };
        let contacts = account_contacts(store, context.account_id);
        let custom_keys: Vec<&String> = contacts
            .iter()
            .flat_map(|contact| contact.custom_attributes.keys())
            .collect();
        let mut matched: Vec<&Contact> = Vec::new();
        for contact in contacts.iter().copied() {
            let mut result: Option<bool> = None;
            let mut pending_operator = "and".to_owned();
            for condition in conditions {
                let key = condition
                    .get("attribute_key")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if !STANDARD_FILTER_KEYS.contains(&key)
                    && !custom_keys.iter().any(|custom| *custom == key)
                {
                    return Err(ApiError::Unprocessable(format!(
                        "Invalid attribute key - [{key}]. The key should be one of [{}] or a custom attribute defined in the account.",
                        STANDARD_FILTER_KEYS.join(",")
                    )));
                }
                let operator = condition
                    .get("filter_operator")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let values: Vec<String> = match condition.get("values") {
                    Some(Value::Array(values)) => {
                        values.iter().filter_map(super::value_text).collect()
                    }
                    Some(value) => super::value_text(value).into_iter().collect(),
                    None => Vec::new(),
                };
                let this = condition_matches(contact, key, operator, &values)?;
                result = Some(match result {
                    None => this,
                    Some(previous) if pending_operator == "or" => previous || this,
                    Some(previous) => previous && this,
                });
                pending_operator = condition
                    .get("query_operator")
                    .and_then(Value::as_str)
                    .unwrap_or("and")
                    .to_lowercase();
            }
            if result.unwrap_or(true) {
                matched.push(contact);
            }
        }
        Ok(Outcome::body(contact_page(store, &matched, params)))
    })
}

/// `GET /contacts/{id}`: `{ payload: contact }`.
pub async fn show(request: AccountRequest) -> Result<HttpResponse, ApiError> {
    request.run(&[], |context, store, call| {
        let contact_id = call.path_segment("id");
        let contact = store.contact(context.account_id, parse_id(contact_id)?)?;
        Ok(Outcome::body(
            json!({ "payload": views::contact(store, contact, true) }),
        ))
    })
}

/// The contact columns a create or update assigns.
struct ContactChanges {
    name: Option<String>,
    email: Option<Option<String>>,
    phone_number: Option<Option<String>>,
    identifier: Option<Option<String>>,
    blocked: Option<bool>,
    additional_attributes: Option<JsonObject>,
    custom_attributes: Option<JsonObject>,
}

/// A blankable column: absent → unchanged, blank → nil.
fn nullable_text(params: &Params, key: &str) -> Option<Option<String>> {
    params.get(key)?;
    Some(params.text(key).filter(|text| !text.trim().is_empty()))
}

impl ContactChanges {
    fn from_params(params: &Params) -> Self {
        Self {
            name: params.text("name"),
            email: nullable_text(params, "email")
                .map(|email| email.map(|email| email.to_lowercase())),
            phone_number: nullable_text(params, "phone_number"),
            identifier: nullable_text(params, "identifier"),
            blocked: params.boolean("blocked"),
            additional_attributes: params.object("additional_attributes"),
            custom_attributes: params.object("custom_attributes"),
        }
    }

    /// Applies the changes; `merge_attributes` merges the jsonb columns (update)
    /// instead of replacing them (create).
    fn apply(self, contact: &mut Contact, merge_attributes: bool) {
        if let Some(name) = self.name {
            contact.name = name;
        }
        if let Some(email) = self.email {
            contact.email = email;
        }
        if let Some(phone_number) = self.phone_number {
            contact.phone_number = phone_number;
        }
        if let Some(identifier) = self.identifier {
            contact.identifier = identifier;
        }
        if let Some(blocked) = self.blocked {
            contact.blocked = blocked;
        }
        for (incoming, column) in [
            (
                self.additional_attributes,
                &mut contact.additional_attributes,
            ),
            (self.custom_attributes, &mut contact.custom_attributes),
        ] {
            if let Some(incoming) = incoming {
                if merge_attributes {
                    column.extend(incoming);
                } else {
                    *column = incoming;
                }
            }
        }
        contact.updated_at = now();
    }
}

/// `Devise.email_regexp`.
fn valid_email(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !email.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// `/\A\+[1-9]\d{1,14}\z/` (the `Contact` phone number format).
fn valid_e164(phone_number: &str) -> bool {
    let Some(digits) = phone_number.strip_prefix('+') else {
        return false;
    };
    (2..=15).contains(&digits.len())
        && digits.chars().all(|digit| digit.is_ascii_digit())
        && !digits.starts_with('0')
}

/// The `Contact` model validations, in declaration order.
fn validate_contact(store: &Store, contact: &Contact) -> Result<(), ApiError> {
    let others = || {
        store
            .contacts
            .values()
            .filter(|other| other.account_id == contact.account_id && other.id != contact.id)
    };
    let mut messages: Vec<&str> = Vec::new();
    let mut attributes: Vec<&str> = Vec::new();
    let mut fail = |message: &'static str, attribute: &'static str| {
        messages.push(message);
        if !attributes.contains(&attribute) {
            attributes.push(attribute);
        }
    };
    if let Some(email) = contact.email.as_deref() {
        if others().any(|other| {
            other
                .email
                .as_deref()
                .is_some_and(|existing| existing.eq_ignore_ascii_case(email))
        }) {
            fail("Email has already been taken", "email");
        }
        if !valid_email(email) {
            fail("Email Invalid email", "email");
        }
    }
    if let Some(identifier) = contact.identifier.as_deref() {
        if others().any(|other| other.identifier.as_deref() == Some(identifier)) {
            fail("Identifier has already been taken", "identifier");
        }
    }
    if let Some(phone_number) = contact.phone_number.as_deref() {
        if others().any(|other| other.phone_number.as_deref() == Some(phone_number)) {
            fail("Phone number has already been taken", "phone_number");
        }
        if !valid_e164(phone_number) {
            fail("Phone number should be in e164 format", "phone_number");
        }
    }
    if messages.is_empty() {
        Ok(())
    } else {
        Err(ApiError::RecordInvalid {
            message: messages.join(", "),
            attributes: attributes.into_iter().map(str::to_owned).collect(),
        })
    }
}

/// An inbox as a raw model (`@contact_inbox.inbox` rendered without a partial).
fn inbox_record(store: &Store, inbox_id: u64) -> Value {
    let Some(inbox) = store.inboxes.get(&inbox_id) else {
        return Value::Null;
    };
    json!({
        "id": inbox.id,
        "channel_id": inbox.channel_id,
        "account_id": inbox.account_id,
        "name": inbox.name,
        "created_at": views::rails_time(inbox.created_at),
        "updated_at": views::rails_time(inbox.created_at),
        "channel_type": "Channel::Api",
        "enable_auto_assignment": inbox.enable_auto_assignment,
        "greeting_enabled": inbox.greeting_enabled,
        "greeting_message": inbox.greeting_message,
        "email_address": null,
        "working_hours_enabled": inbox.working_hours_enabled,
        "out_of_office_message": inbox.out_of_office_message,
        "timezone": inbox.timezone,
        "enable_email_collect": inbox.enable_email_collect,
        "csat_survey_enabled": inbox.csat_survey_enabled,
        "allow_messages_after_resolved": inbox.allow_messages_after_resolved,
        "auto_assignment_config": {},
        "lock_to_single_conversation": inbox.lock_to_single_conversation,
        "portal_id": null,
        "sender_name_type": "friendly",
        "business_name": null,
        "csat_config": {},
    })
}

/// `POST /contacts`: `{ payload: { contact, contact_inbox: { inbox, source_id } } }`.
pub async fn create(request: AccountRequest, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    request.run(&body, |context, store, call| {
        let params = call.params;
        let created_at = now();
        let mut contact = Contact {
            id: 0,
            account_id: context.account_id,
            name: String::new(),
            email: None,
            phone_number: None,
            identifier: None,
            blocked: false,
            additional_attributes: JsonObject::new(),
            custom_attributes: JsonObject::new(),
            last_activity_at: None,
            created_at,
            updated_at: created_at,
        };
        ContactChanges::from_params(params).apply(&mut contact, false);
        validate_contact(store, &contact)?;
        let inbox_id = match params.id("inbox_id")? {
            Some(inbox_id) => Some(store.inbox(context.account_id, inbox_id)?.id),
            None => None,
        };
        contact.id = store.next_id(Table::Contact);
        let contact_id = contact.id;
        store.contacts.insert(contact_id, contact);
        let contact_inbox_id = match inbox_id {
            Some(inbox_id) => {
                match store.build_contact_inbox(contact_id, inbox_id, params.text("source_id")) {
                    Ok(contact_inbox_id) => Some(contact_inbox_id),
                    Err(crate::store::SourceIdTaken) => {
                        // RecordNotUnique is not rescued here: the transaction rolls back, 500.
                        store.contacts.remove(&contact_id);
                        return Err(ApiError::Internal);
                    }
                }
            }
            None => None,
        };
        let contact_inbox = contact_inbox_id.and_then(|id| store.contact_inboxes.get(&id));
        let body = json!({
            "payload": {
                "contact": store.contacts.get(&contact_id).map_or(Value::Null, |contact| views::contact(store, contact, true)),
                "contact_inbox": {
                    "inbox": contact_inbox.map_or(Value::Null, |contact_inbox| inbox_record(store, contact_inbox.inbox_id)),
                    "source_id": contact_inbox.map(|contact_inbox| contact_inbox.source_id.clone()),
                },
            }
        });
        Ok(Outcome::body(body))
    })
}

/// `PATCH /contacts/{id}`: jsonb attributes are merged; `{ payload: contact }`.
pub async fn update(request: AccountRequest, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    request.run(&body, |context, store, call| {
        let (contact_id, params) = (call.path_segment("id"), call.params);
        let mut contact = store
            .contact(context.account_id, parse_id(contact_id)?)?
            .clone();
        ContactChanges::from_params(params).apply(&mut contact, true);
        validate_contact(store, &contact)?;
        let body = json!({ "payload": views::contact(store, &contact, true) });
        store.contacts.insert(contact.id, contact);
        Ok(Outcome::body(body))
    })
}

/// `ensure_inbox`: find (404) and `authorize @inbox, :show?` (401).
fn accessible_inbox(
    context: &AccountContext,
    store: &Store,
    inbox_id: u64,
) -> Result<u64, ApiError> {
    let inbox = store.inbox(context.account_id, inbox_id)?;
    if store.can_access_inbox(context.role, context.user_id, inbox) {
        Ok(inbox.id)
    } else {
        Err(ApiError::NotAuthorized)
    }
}

/// `POST /contacts/{id}/contact_inboxes` with `inbox_id` and optional `source_id`.
pub async fn create_contact_inbox(
    request: AccountRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    request.run(&body, |context, store, call| {
        let (contact_id, params) = (call.path_segment("id"), call.params);
        let contact_id = store.contact(context.account_id, parse_id(contact_id)?)?.id;
        let inbox_id = params.id("inbox_id")?.ok_or(ApiError::NotFound)?;
        let inbox_id = accessible_inbox(context, store, inbox_id)?;
        let contact_inbox_id = store
            .build_contact_inbox(contact_id, inbox_id, params.text("source_id"))
            .map_err(|_| ApiError::Internal)?;
        let contact_inbox = store
            .contact_inboxes
            .get(&contact_inbox_id)
            .ok_or(ApiError::Internal)?;
        Ok(Outcome::body(views::contact_inbox(store, contact_inbox)))
    })
}

/// `GET /contacts/{id}/conversations`: the contact's conversations the caller
/// may see, latest activity first (at most 20).
pub async fn conversations(request: AccountRequest) -> Result<HttpResponse, ApiError> {
    request.run(&[], |context, store, call| {
        let (contact_id, base_url) = (call.path_segment("id"), call.base_url);
        let contact_id = store.contact(context.account_id, parse_id(contact_id)?)?.id;
        let mut conversations: Vec<_> = store
            .conversations
            .values()
            .filter(|conversation| conversation.contact_id == contact_id)
            .filter(|conversation| {
                store
                    .inboxes
                    .get(&conversation.inbox_id)
                    .is_some_and(|inbox| {
                        store.can_access_inbox(context.role, context.user_id, inbox)
                    })
            })
            .collect();
        conversations.sort_by_key(|conversation| std::cmp::Reverse(conversation.last_activity_at));
        let payload: Vec<Value> = conversations
            .into_iter()
            .take(20)
            .map(|conversation| views::conversation(store, conversation, base_url))
            .collect();
        Ok(Outcome::body(json!({ "payload": payload })))
    })
}

#[cfg(test)]
mod tests {
    use super::{valid_e164, valid_email};

    #[test]
    fn e164_follows_the_upstream_regex() {
        assert!(valid_e164("+5511999998888"));
        assert!(!valid_e164("5511999998888"));
        assert!(!valid_e164("+0123"));
        assert!(!valid_e164("+1"));
        assert!(!valid_e164("abc+14155550100"));
        assert!(!valid_e164("+1234567890123456"));
    }

    #[test]
    fn email_follows_devise_regexp() {
        assert!(valid_email("a@b"));
        assert!(!valid_email("ab"));
        assert!(!valid_email("a b@c"));
        assert!(!valid_email("a@b@c"));
    }
}
