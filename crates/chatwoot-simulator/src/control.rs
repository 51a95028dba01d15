//! The control API under `/_simulator/…` (no Chatwoot auth) and the operations
//! behind it, which [`crate::SimulatorHandle`] calls directly: seeding accounts,
//! users, memberships and inbox members; reading the whole state back; the
//! request log; faults (including refusing connections for a while); webhook
//! deliveries; an "agent replies" helper; and a reset.

use crate::api::messages::create_message;
use crate::api::Params;
use crate::error::SimulatorError;
use crate::faults::Faults;
use crate::model::{Account, AccountUser, Message, Role, User};
use crate::state::{lock, RequestLogEntry, SimulatorState, WebhookDelivery};
use crate::store::{now, secure_token, Store, Table};
use crate::views;
use crate::webhooks;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// `POST /_simulator/accounts`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedAccount {
    /// Explicit account id (e.g. 1 for demos); the next free id otherwise.
    #[serde(default)]
    pub id: Option<u64>,
    pub name: String,
}

/// `POST /_simulator/users`: a user with its access token, optionally made a
/// member of one account right away.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedUser {
    pub name: String,
    pub email: String,
    /// The `api_access_token` to accept for this user; random when absent.
    #[serde(default)]
    pub access_token: Option<String>,
    #[serde(default)]
    pub account_id: Option<u64>,
    #[serde(default)]
    pub role: Option<Role>,
}

/// `POST /_simulator/account_users`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedMembership {
    pub account_id: u64,
    pub user_id: u64,
    pub role: Role,
}

/// `POST /_simulator/inbox_members`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedInboxMember {
    pub inbox_id: u64,
    pub user_id: u64,
}

/// `PUT /_simulator/inboxes/{id}/secret`: `null` makes webhooks unsigned.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboxSecret {
    pub secret: Option<String>,
}

/// `POST /_simulator/agent_replies`: an outgoing message typed by `user_id`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentReply {
    pub account_id: u64,
    /// The conversation's display id (the id in Chatwoot URLs).
    pub conversation_id: u64,
    pub user_id: u64,
    pub content: String,
    #[serde(default)]
    pub private: bool,
    #[serde(default)]
    pub content_attributes: Option<Value>,
}

/// `POST /_simulator/refuse_connections`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefuseConnections {
    /// How long the listener stays closed before it is bound again.
    pub duration_ms: u64,
}

/// Creates an account.
pub fn seed_account(state: &SimulatorState, seed: SeedAccount) -> Result<Account, SimulatorError> {
    let mut store = lock(&state.store);
    let id = match seed.id {
        Some(id) if store.accounts.contains_key(&id) => {
            return Err(SimulatorError::Invalid(format!(
                "account {id} already exists"
            )))
        }
        Some(id) => {
            store.reserve_account_id(id);
            id
        }
        None => store.next_id(Table::Account),
    };
    let account = Account {
        id,
        name: seed.name,
        created_at: now(),
        last_display_id: 0,
    };
    store.accounts.insert(id, account.clone());
    Ok(account)
}

/// Creates a user (and its membership when `account_id` is given).
pub fn seed_user(state: &SimulatorState, seed: SeedUser) -> Result<User, SimulatorError> {
    let mut store = lock(&state.store);
    let access_token = seed.access_token.unwrap_or_else(secure_token);
    if access_token.trim().is_empty() {
        return Err(SimulatorError::Invalid(
            "access_token must not be blank".into(),
        ));
    }
    if store.user_by_token(&access_token).is_some() {
        return Err(SimulatorError::Invalid(
            "access_token is already used".into(),
        ));
    }
    if let Some(account_id) = seed.account_id {
        if !store.accounts.contains_key(&account_id) {
            return Err(SimulatorError::NotFound(format!("account {account_id}")));
        }
    }
    let id = store.next_id(Table::User);
    let user = User {
        id,
        name: seed.name,
        display_name: None,
        email: seed.email,
        access_token,
        pubsub_token: secure_token(),
        created_at: now(),
    };
    store.users.insert(id, user.clone());
    if let Some(account_id) = seed.account_id {
        store.account_users.push(AccountUser {
            account_id,
            user_id: id,
            role: seed.role.unwrap_or(Role::Agent),
        });
    }
    Ok(user)
}

/// Adds (or changes) a user's membership of an account.
pub fn seed_membership(
    state: &SimulatorState,
    seed: SeedMembership,
) -> Result<AccountUser, SimulatorError> {
    let mut store = lock(&state.store);
    if !store.accounts.contains_key(&seed.account_id) {
        return Err(SimulatorError::NotFound(format!(
            "account {}",
            seed.account_id
        )));
    }
    if !store.users.contains_key(&seed.user_id) {
        return Err(SimulatorError::NotFound(format!("user {}", seed.user_id)));
    }
    store
        .account_users
        .retain(|member| !(member.account_id == seed.account_id && member.user_id == seed.user_id));
    let member = AccountUser {
        account_id: seed.account_id,
        user_id: seed.user_id,
        role: seed.role,
    };
    store.account_users.push(member.clone());
    Ok(member)
}

/// Makes a user a member of an inbox.
pub fn seed_inbox_member(
    state: &SimulatorState,
    seed: SeedInboxMember,
) -> Result<(), SimulatorError> {
    let mut store = lock(&state.store);
    if !store.users.contains_key(&seed.user_id) {
        return Err(SimulatorError::NotFound(format!("user {}", seed.user_id)));
    }
    let inbox = store
        .inboxes
        .get_mut(&seed.inbox_id)
        .ok_or_else(|| SimulatorError::NotFound(format!("inbox {}", seed.inbox_id)))?;
    inbox.member_user_ids.insert(seed.user_id);
    Ok(())
}

/// Sets or clears the webhook signing secret of an inbox.
pub fn set_inbox_secret(
    state: &SimulatorState,
    inbox_id: u64,
    secret: Option<String>,
) -> Result<(), SimulatorError> {
    let mut store = lock(&state.store);
    let inbox = store
        .inboxes
        .get_mut(&inbox_id)
        .ok_or_else(|| SimulatorError::NotFound(format!("inbox {inbox_id}")))?;
    inbox.secret = secret;
    Ok(())
}

/// Creates an outgoing message as `user_id` typed it (dispatching
/// `message_created`), and returns the stored message.
pub fn agent_reply(
    state: &Arc<SimulatorState>,
    reply: AgentReply,
) -> Result<Message, SimulatorError> {
    let mut store = lock(&state.store);
    let conversation_id = store
        .conversation_by_display_id(reply.account_id, reply.conversation_id)
        .map_err(|_| {
            SimulatorError::NotFound(format!(
                "conversation {} of account {}",
                reply.conversation_id, reply.account_id
            ))
        })?
        .id;
    if store
        .account_user(reply.account_id, reply.user_id)
        .is_none()
    {
        return Err(SimulatorError::Invalid(format!(
            "user {} is not a member of account {}",
            reply.user_id, reply.account_id
        )));
    }
    let content = if lock(&state.faults).faults.escape_newlines_like_4_10 {
        reply.content.replace('\n', "\\\n")
    } else {
        reply.content
    };
    let mut fields = serde_json::Map::new();
    fields.insert("content".into(), json!(content));
    fields.insert("message_type".into(), json!("outgoing"));
    fields.insert("private".into(), json!(reply.private));
    if let Some(content_attributes) = reply.content_attributes {
        fields.insert("content_attributes".into(), content_attributes);
    }
    let mut events = Vec::new();
    let message_id = create_message(
        &mut store,
        conversation_id,
        reply.user_id,
        &Params(fields),
        Vec::new(),
        &mut events,
    )?;
    webhooks::dispatch(state, &store, events);
    store
        .messages
        .get(&message_id)
        .cloned()
        .ok_or_else(|| SimulatorError::NotFound(format!("message {message_id}")))
}

/// A copy of every table.
pub fn snapshot(state: &SimulatorState) -> Store {
    lock(&state.store).clone()
}

/// Empties every table, the request log, the deliveries and the faults.
pub fn reset(state: &SimulatorState) {
    *lock(&state.store) = Store::default();
    state.clear_requests();
    lock(&state.webhook_deliveries).clear();
    lock(&state.faults).replace(Faults::default());
}

/// The request log.
pub fn requests(state: &SimulatorState) -> Vec<RequestLogEntry> {
    lock(&state.request_log).clone()
}

/// The webhook deliveries so far.
pub fn webhook_deliveries(state: &SimulatorState) -> Vec<WebhookDelivery> {
    lock(&state.webhook_deliveries).clone()
}

/// Closes the listener now and binds it again after `duration` (connections
/// are refused meanwhile). Runs on the simulator's runtime.
pub fn refuse_connections_for(state: &Arc<SimulatorState>, duration: Duration) {
    let state = Arc::clone(state);
    state.runtime.clone().spawn(async move {
        crate::server::close_listener(&state).await;
        tokio::time::sleep(duration).await;
        if let Err(error) = crate::server::open_listener(&state) {
            tracing::error!(%error, "could not reopen the simulator listener");
        }
    });
}

type ControlResult = Result<HttpResponse, SimulatorError>;
type Shared = web::Data<Arc<SimulatorState>>;

async fn post_account(state: Shared, seed: web::Json<SeedAccount>) -> ControlResult {
    Ok(HttpResponse::Created().json(seed_account(&state, seed.into_inner())?))
}

async fn post_user(state: Shared, seed: web::Json<SeedUser>) -> ControlResult {
    Ok(HttpResponse::Created().json(seed_user(&state, seed.into_inner())?))
}

async fn post_account_user(state: Shared, seed: web::Json<SeedMembership>) -> ControlResult {
    Ok(HttpResponse::Created().json(seed_membership(&state, seed.into_inner())?))
}

async fn post_inbox_member(state: Shared, seed: web::Json<SeedInboxMember>) -> ControlResult {
    seed_inbox_member(&state, seed.into_inner())?;
    Ok(HttpResponse::NoContent().finish())
}

async fn put_inbox_secret(
    state: Shared,
    path: web::Path<u64>,
    body: web::Json<InboxSecret>,
) -> ControlResult {
    set_inbox_secret(&state, path.into_inner(), body.into_inner().secret)?;
    Ok(HttpResponse::NoContent().finish())
}

async fn post_agent_reply(state: Shared, reply: web::Json<AgentReply>) -> ControlResult {
    let message = agent_reply(&state, reply.into_inner())?;
    let store = lock(&state.store);
    Ok(HttpResponse::Created().json(views::message(&store, &message, &state.base_url())))
}

async fn get_state(state: Shared) -> ControlResult {
    Ok(HttpResponse::Ok().json(snapshot(&state)))
}

/// `GET /_simulator/accounts/{id}/{table}`: the account's rows of one table.
async fn get_account_table(state: Shared, path: web::Path<(u64, String)>) -> ControlResult {
    let (account_id, table) = path.into_inner();
    let store = lock(&state.store);
    if !store.accounts.contains_key(&account_id) {
        return Err(SimulatorError::NotFound(format!("account {account_id}")));
    }
    let rows: Vec<Value> = match table.as_str() {
        "inboxes" => rows(
            store
                .inboxes
                .values()
                .filter(|row| row.account_id == account_id),
        ),
        "contacts" => rows(
            store
                .contacts
                .values()
                .filter(|row| row.account_id == account_id),
        ),
        "contact_inboxes" => rows(store.contact_inboxes.values().filter(|row| {
            store
                .inboxes
                .get(&row.inbox_id)
                .is_some_and(|inbox| inbox.account_id == account_id)
        })),
        "conversations" => rows(
            store
                .conversations
                .values()
                .filter(|row| row.account_id == account_id),
        ),
        "messages" => rows(
            store
                .messages
                .values()
                .filter(|row| row.account_id == account_id),
        ),
        other => return Err(SimulatorError::NotFound(format!("table {other}"))),
    };
    Ok(HttpResponse::Ok().json(rows))
}

fn rows<'a, T: Serialize + 'a>(records: impl Iterator<Item = &'a T>) -> Vec<Value> {
    records
        .filter_map(|record| serde_json::to_value(record).ok())
        .collect()
}

async fn get_requests(state: Shared) -> ControlResult {
    Ok(HttpResponse::Ok().json(requests(&state)))
}

async fn get_request_counts(state: Shared) -> ControlResult {
    Ok(HttpResponse::Ok().json(state.request_counts()))
}

async fn delete_requests(state: Shared) -> ControlResult {
    state.clear_requests();
    Ok(HttpResponse::NoContent().finish())
}

async fn get_faults(state: Shared) -> ControlResult {
    Ok(HttpResponse::Ok().json(lock(&state.faults).faults.clone()))
}

async fn put_faults(state: Shared, faults: web::Json<Faults>) -> ControlResult {
    lock(&state.faults).replace(faults.into_inner());
    Ok(HttpResponse::Ok().json(lock(&state.faults).faults.clone()))
}

async fn delete_faults(state: Shared) -> ControlResult {
    lock(&state.faults).replace(Faults::default());
    Ok(HttpResponse::NoContent().finish())
}

async fn post_refuse_connections(
    state: Shared,
    body: web::Json<RefuseConnections>,
) -> ControlResult {
    refuse_connections_for(&state, Duration::from_millis(body.duration_ms));
    Ok(HttpResponse::Accepted().finish())
}

async fn get_webhook_deliveries(state: Shared) -> ControlResult {
    Ok(HttpResponse::Ok().json(webhook_deliveries(&state)))
}

async fn delete_webhook_deliveries(state: Shared) -> ControlResult {
    lock(&state.webhook_deliveries).clear();
    Ok(HttpResponse::NoContent().finish())
}

async fn post_reset(state: Shared) -> ControlResult {
    reset(&state);
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the control routes (mounted under `/_simulator`).
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/accounts", web::post().to(post_account))
        .route("/users", web::post().to(post_user))
        .route("/account_users", web::post().to(post_account_user))
        .route("/inbox_members", web::post().to(post_inbox_member))
        .route("/inboxes/{id}/secret", web::put().to(put_inbox_secret))
        .route("/agent_replies", web::post().to(post_agent_reply))
        .route("/state", web::get().to(get_state))
        .route("/accounts/{id}/{table}", web::get().to(get_account_table))
        .route("/requests", web::get().to(get_requests))
        .route("/requests", web::delete().to(delete_requests))
        .route("/request_counts", web::get().to(get_request_counts))
        .route("/faults", web::get().to(get_faults))
        .route("/faults", web::put().to(put_faults))
        .route("/faults", web::delete().to(delete_faults))
        .route(
            "/refuse_connections",
            web::post().to(post_refuse_connections),
        )
        .route("/webhook_deliveries", web::get().to(get_webhook_deliveries))
        .route(
            "/webhook_deliveries",
            web::delete().to(delete_webhook_deliveries),
        )
        .route("/reset", web::post().to(post_reset));
}
