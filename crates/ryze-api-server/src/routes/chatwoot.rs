//! The Chatwoot module (docs/contract.md §3): `set`, `list` and `delete` on
//! `/api/chatwoot/{…}/{instance}`. Their success bodies carry no `success` field, as
//! documented.

use actix_web::{web, HttpResponse};
use ryze_api_use_cases::{ChatwootActivationInput, IntegrationView};
use ryze_domain::RelayFlags;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::auth::Authenticated;
use crate::body::JsonBody;
use crate::error_status::HttpStatus;
use crate::routes::rfc3339;
use crate::{ApiError, ApiState};

pub(crate) fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/chatwoot/set/{instance}", web::post().to(activate))
        .route("/chatwoot/list/{instance}", web::get().to(status))
        .route("/chatwoot/delete/{instance}", web::delete().to(deactivate));
}

/// The body of `set`. No `Debug`: it holds the Chatwoot token.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ActivateBody {
    chatwoot_base_url: Option<String>,
    chatwoot_account_id: Option<i64>,
    chatwoot_api_token: Option<String>,
    inbox_name: Option<String>,
    sign_messages: Option<bool>,
    ignore_groups: Option<bool>,
    start_as_pending: Option<bool>,
    reopen_resolved: Option<bool>,
}

impl From<ActivateBody> for ChatwootActivationInput {
    fn from(body: ActivateBody) -> Self {
        ChatwootActivationInput {
            base_url: body.chatwoot_base_url,
            account_id: body.chatwoot_account_id,
            api_token: body.chatwoot_api_token,
            inbox_name: body.inbox_name,
            flags: RelayFlags {
                sign_messages: body.sign_messages.unwrap_or(false),
                ignore_groups: body.ignore_groups.unwrap_or(false),
                start_as_pending: body.start_as_pending.unwrap_or(false),
                reopen_resolved: body.reopen_resolved.unwrap_or(false),
            },
        }
    }
}

async fn activate(
    state: web::Data<ApiState>,
    Authenticated(principal): Authenticated,
    instance: web::Path<String>,
    JsonBody(body): JsonBody<ActivateBody>,
) -> Result<HttpResponse, ApiError> {
    let activated = state
        .control_plane
        .activate_chatwoot(&principal, &instance, &body.into())
        .await
        .map_err(HttpStatus::into_api_error)?;
    Ok(HttpResponse::Created().json(json!({
        "instance": activated.instance_name.as_str(),
        "status": "active",
        "bridge_integration_id": activated.bridge_integration_id.as_str(),
        "message": "chatwoot integration activated",
    })))
}

#[derive(Serialize)]
struct CountersBody {
    received: u64,
    relayed: u64,
    failed: u64,
    queued: u64,
}

/// The status object of `list`.
#[derive(Serialize)]
struct StatusBody {
    instance_name: String,
    status: &'static str,
    bridge_integration_id: String,
    chatwoot_base_url: String,
    chatwoot_account_id: i64,
    chatwoot_inbox_id: Option<i64>,
    chatwoot_inbox_name: String,
    last_error: String,
    created_at: String,
    sign_messages: bool,
    ignore_groups: bool,
    start_as_pending: bool,
    reopen_resolved: bool,
    /// The bridge's WebSocket state, when the bridge answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    connection: Option<String>,
    /// Relay counters, when the bridge answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    counters: Option<CountersBody>,
}

impl From<IntegrationView> for StatusBody {
    fn from(view: IntegrationView) -> Self {
        let flags = view.settings.flags;
        StatusBody {
            instance_name: view.instance_name.as_str().to_owned(),
            status: view.status.as_str(),
            bridge_integration_id: view.bridge_integration_id.into_string(),
            chatwoot_base_url: view.settings.base_url.to_string(),
            chatwoot_account_id: view.settings.account_id.get(),
            chatwoot_inbox_id: view.inbox_id,
            chatwoot_inbox_name: view.settings.inbox_name.as_str().to_owned(),
            last_error: view.last_error,
            created_at: rfc3339(view.created_at),
            sign_messages: flags.sign_messages,
            ignore_groups: flags.ignore_groups,
            start_as_pending: flags.start_as_pending,
            reopen_resolved: flags.reopen_resolved,
            connection: view.connection,
            counters: view.counters.map(|c| CountersBody {
                received: c.received,
                relayed: c.relayed,
                failed: c.failed,
                queued: c.queued,
            }),
        }
    }
}

async fn status(
    state: web::Data<ApiState>,
    Authenticated(principal): Authenticated,
    instance: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let view = state
        .control_plane
        .chatwoot_status(&principal, &instance)
        .await
        .map_err(HttpStatus::into_api_error)?;
    Ok(HttpResponse::Ok().json(StatusBody::from(view)))
}

async fn deactivate(
    state: web::Data<ApiState>,
    Authenticated(principal): Authenticated,
    instance: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state
        .control_plane
        .deactivate_chatwoot(&principal, &instance)
        .await
        .map_err(HttpStatus::into_api_error)?;
    Ok(HttpResponse::Ok().json(json!({"message": "chatwoot integration deactivated"})))
}
