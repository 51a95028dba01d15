//! The simulated Application API (`/api/v1/...`). This module holds what every
//! endpoint shares: request parameters (JSON body merged over the query string,
//! as Rails' `params`), token authentication and account membership
//! ([`authenticate`]), and [`account_action`], the one generic handler that
//! authenticates, runs an endpoint against the locked store, and dispatches the
//! webhooks the endpoint's changes produced.

pub mod contacts;
pub mod conversations;
pub mod inboxes;
pub mod labels;
pub mod messages;

use crate::error::ApiError;
use crate::model::{JsonObject, Role};
use crate::state::{lock, SimulatorState};
use crate::store::Store;
use crate::views;
use crate::webhooks::{self, DomainEvent};
use actix_web::dev::Payload;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use serde_json::Value;
use std::future::{ready, Ready};
use std::sync::Arc;

/// The shared state as handlers receive it.
pub type SharedState = web::Data<Arc<SimulatorState>>;

/// Who is calling, in which account, with which role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountContext {
    pub user_id: u64,
    pub account_id: u64,
    pub role: Role,
}

impl AccountContext {
    /// `Current.account_user.administrator?`
    pub fn is_administrator(&self) -> bool {
        self.role == Role::Administrator
    }

    /// Pundit `authorize` for administrator-only actions.
    pub fn require_administrator(&self) -> Result<(), ApiError> {
        if self.is_administrator() {
            Ok(())
        } else {
            Err(ApiError::NotAuthorized)
        }
    }
}

/// Parses a path or parameter id the way `find(params[:id])` does: anything
/// that is not a positive integer finds nothing (404).
pub fn parse_id(raw: &str) -> Result<u64, ApiError> {
    raw.trim().parse::<u64>().map_err(|_| ApiError::NotFound)
}

/// Request parameters: the JSON (or form) body merged over the query string.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params(pub JsonObject);

impl Params {
    /// Builds the parameters of a request; a body that does not parse is a 400,
    /// like Rails' `ParseError`.
    pub fn from_request(request: &HttpRequest, body: &[u8]) -> Result<Self, ApiError> {
        let mut fields = JsonObject::new();
        for (key, value) in url::form_urlencoded::parse(request.query_string().as_bytes()) {
            fields.insert(key.into_owned(), Value::String(value.into_owned()));
        }
        let content_type = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(fields));
        }
        if content_type.starts_with("application/x-www-form-urlencoded") {
            for (key, value) in url::form_urlencoded::parse(body) {
                fields.insert(key.into_owned(), Value::String(value.into_owned()));
            }
            return Ok(Self(fields));
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(body_fields)) => fields.extend(body_fields),
            Ok(_) => {}
            Err(_) => return Err(ApiError::BadRequest),
        }
        Ok(Self(fields))
    }

    /// The raw value of a parameter.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    /// `params[key].present?`
    pub fn present(&self, key: &str) -> bool {
        match self.0.get(key) {
            None | Some(Value::Null) => false,
            Some(Value::String(text)) => !text.trim().is_empty(),
            Some(Value::Array(items)) => !items.is_empty(),
            Some(Value::Object(fields)) => !fields.is_empty(),
            Some(_) => true,
        }
    }

    /// A parameter as text (numbers and booleans are stringified, like Rails params).
    pub fn text(&self, key: &str) -> Option<String> {
        value_text(self.0.get(key)?)
    }

    /// A parameter as an id; `Err(NotFound)` when present but not an id.
    pub fn id(&self, key: &str) -> Result<Option<u64>, ApiError> {
        if !self.present(key) {
            return Ok(None);
        }
        match self.0.get(key) {
            Some(Value::Number(number)) => number.as_u64().map(Some).ok_or(ApiError::NotFound),
            Some(other) => value_text(other)
                .map(|text| parse_id(&text))
                .transpose()
                .map_err(|_| ApiError::NotFound),
            None => Ok(None),
        }
    }

    /// A parameter as a JSON object (`additional_attributes: {}` style).
    pub fn object(&self, key: &str) -> Option<JsonObject> {
        match self.0.get(key)? {
            Value::Object(fields) => Some(fields.clone()),
            _ => None,
        }
    }

    /// A boolean column assignment, cast like ActiveRecord's boolean type.
    pub fn boolean(&self, key: &str) -> Option<bool> {
        active_record_boolean(self.0.get(key)?)
    }
}

/// A scalar parameter as text.
pub fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// ActiveRecord's boolean cast: `false`, `0`, `"0"`, `"f"`, `"false"`, `"off"`
/// (any case) are false, blank is nil, everything else true.
pub fn active_record_boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Null => None,
        Value::Bool(flag) => Some(*flag),
        Value::Number(number) => Some(number.as_f64() != Some(0.0)),
        Value::String(text) if text.is_empty() => None,
        Value::String(text) => Some(!matches!(
            text.to_ascii_lowercase().as_str(),
            "0" | "f" | "false" | "off"
        )),
        _ => Some(true),
    }
}

/// The access token of a request (`api_access_token` header, also spelled
/// `api-access-token`); blank counts as absent.
fn access_token(request: &HttpRequest) -> Option<String> {
    ["api_access_token", "api-access-token"]
        .iter()
        .find_map(|name| request.headers().get(*name))
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .map(str::to_owned)
}

/// `Api::BaseController` authentication: no token → Devise's sign-in error,
/// unknown token → "Invalid Access Token". Returns the user id.
pub fn authenticate(request: &HttpRequest, store: &Store) -> Result<u64, ApiError> {
    let token = access_token(request).ok_or(ApiError::SignInRequired)?;
    store
        .user_by_token(&token)
        .map(|user| user.id)
        .ok_or(ApiError::InvalidAccessToken)
}

/// `Api::V1::Accounts::BaseController#current_account`: `Account.find` (404),
/// then membership (401 "You are not authorized to access this account").
pub fn authorize_account(
    store: &Store,
    user_id: u64,
    account_param: &str,
) -> Result<AccountContext, ApiError> {
    let account_id = parse_id(account_param)?;
    if !store.accounts.contains_key(&account_id) {
        return Err(ApiError::NotFound);
    }
    let member = store
        .account_user(account_id, user_id)
        .ok_or(ApiError::NotAccountMember)?;
    Ok(AccountContext {
        user_id,
        account_id,
        role: member.role,
    })
}

/// What an endpoint hands back: the JSON body and the events its changes raised.
pub struct Outcome {
    pub body: Value,
    pub events: Vec<DomainEvent>,
}

impl Outcome {
    /// A response without events.
    pub fn body(body: Value) -> Self {
        Self {
            body,
            events: Vec::new(),
        }
    }
}

/// Runs `action` for an authenticated account member against the locked store,
/// dispatches the webhooks of its events, and renders the body with 200.
/// Endpoints validate before they mutate, so an error leaves the store as it was.
pub fn account_action<F>(
    state: &Arc<SimulatorState>,
    request: &HttpRequest,
    account_param: &str,
    action: F,
) -> Result<HttpResponse, ApiError>
where
    F: FnOnce(&AccountContext, &mut Store, &str) -> Result<Outcome, ApiError>,
{
    let base_url = state.base_url();
    let mut store = lock(&state.store);
    let user_id = authenticate(request, &store)?;
    let context = authorize_account(&store, user_id, account_param)?;
    let outcome = action(&context, &mut store, &base_url)?;
    webhooks::dispatch(state, &store, outcome.events);
    Ok(HttpResponse::Ok().json(outcome.body))
}

/// A request to an account's endpoint (`/api/v1/accounts/{account_id}/…`): the shared
/// state and the request, extracted once so every endpoint runs through
/// [`AccountRequest::run`].
pub struct AccountRequest {
    state: SharedState,
    request: HttpRequest,
}

impl FromRequest for AccountRequest {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(
            request
                .app_data::<SharedState>()
                .cloned()
                .map(|state| Self {
                    state,
                    request: request.clone(),
                })
                .ok_or(ApiError::Internal),
        )
    }
}

impl AccountRequest {
    /// Parses the parameters (query string and `body`; a body that does not parse is a
    /// 400 before authentication), then runs `action` through [`account_action`].
    pub fn run<F>(&self, body: &[u8], action: F) -> Result<HttpResponse, ApiError>
    where
        F: FnOnce(&AccountContext, &mut Store, &AccountCall<'_>) -> Result<Outcome, ApiError>,
    {
        let params = Params::from_request(&self.request, body)?;
        let account = self.request.match_info().query("account_id");
        account_action(
            &self.state,
            &self.request,
            account,
            |context, store, base_url| {
                let call = AccountCall {
                    request: &self.request,
                    params: &params,
                    base_url,
                };
                action(context, store, &call)
            },
        )
    }
}

/// What an endpoint reads besides the account and the store.
pub struct AccountCall<'request> {
    request: &'request HttpRequest,
    /// The request's parameters.
    pub params: &'request Params,
    /// The simulator's public base URL (for attachment links).
    pub base_url: &'request str,
}

impl AccountCall<'_> {
    /// The raw path segment `name` (`id`, `message_id`), as the route matched it.
    pub fn path_segment(&self, name: &str) -> &str {
        self.request.match_info().query(name)
    }
}

/// `GET /api/v1/profile`.
pub async fn show_profile(
    state: SharedState,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let store = lock(&state.store);
    let user_id = authenticate(&request, &store)?;
    let user = store.users.get(&user_id).ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(views::profile(&store, user)))
}

/// Registers every Application API route.
pub fn configure(config: &mut web::ServiceConfig) {
    let account = "/api/v1/accounts/{account_id}";
    config
        .route("/api/v1/profile", web::get().to(show_profile))
        .route(&format!("{account}/inboxes"), web::get().to(inboxes::index))
        .route(
            &format!("{account}/inboxes"),
            web::post().to(inboxes::create),
        )
        .route(
            &format!("{account}/inboxes/{{id}}"),
            web::get().to(inboxes::show),
        )
        .route(
            &format!("{account}/inboxes/{{id}}"),
            web::patch().to(inboxes::update),
        )
        .route(
            &format!("{account}/inboxes/{{id}}"),
            web::put().to(inboxes::update),
        )
        .route(
            &format!("{account}/inboxes/{{id}}"),
            web::delete().to(inboxes::destroy),
        )
        .route(
            &format!("{account}/contacts"),
            web::get().to(contacts::index),
        )
        .route(
            &format!("{account}/contacts"),
            web::post().to(contacts::create),
        )
        .route(
            &format!("{account}/contacts/search"),
            web::get().to(contacts::search),
        )
        .route(
            &format!("{account}/contacts/filter"),
            web::post().to(contacts::filter),
        )
        .route(
            &format!("{account}/contacts/{{id}}"),
            web::get().to(contacts::show),
        )
        .route(
            &format!("{account}/contacts/{{id}}"),
            web::patch().to(contacts::update),
        )
        .route(
            &format!("{account}/contacts/{{id}}"),
            web::put().to(contacts::update),
        )
        .route(
            &format!("{account}/contacts/{{id}}/contact_inboxes"),
            web::post().to(contacts::create_contact_inbox),
        )
        .route(
            &format!("{account}/contacts/{{id}}/conversations"),
            web::get().to(contacts::conversations),
        )
        .route(
            &format!("{account}/conversations"),
            web::get().to(conversations::index),
        )
        .route(
            &format!("{account}/conversations"),
            web::post().to(conversations::create),
        )
        .route(
            &format!("{account}/conversations/{{id}}"),
            web::get().to(conversations::show),
        )
        .route(
            &format!("{account}/conversations/{{id}}/toggle_status"),
            web::post().to(conversations::toggle_status),
        )
        .route(
            &format!("{account}/conversations/{{id}}/labels"),
            web::get().to(labels::conversation_index),
        )
        .route(
            &format!("{account}/conversations/{{id}}/labels"),
            web::post().to(labels::conversation_create),
        )
        .route(
            &format!("{account}/labels"),
            web::get().to(labels::account_index),
        )
        .route(
            &format!("{account}/labels"),
            web::post().to(labels::account_create),
        )
        .route(
            "/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}/conversations/{id}/toggle_typing",
            web::post().to(labels::public_toggle_typing),
        )
        .route(
            &format!("{account}/conversations/{{id}}/messages"),
            web::get().to(messages::index),
        )
        .route(
            &format!("{account}/conversations/{{id}}/messages"),
            web::post().to(messages::create),
        )
        .route(
            &format!("{account}/conversations/{{id}}/messages/{{message_id}}"),
            web::patch().to(messages::update),
        )
        .route(
            &format!("{account}/conversations/{{id}}/messages/{{message_id}}"),
            web::put().to(messages::update),
        )
        .route(
            &format!("{account}/conversations/{{id}}/messages/{{message_id}}"),
            web::delete().to(messages::destroy),
        );
}
