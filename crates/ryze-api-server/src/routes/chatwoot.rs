//! The Chatwoot module (docs/contract.md §3): `set`, `list` and `delete` on
//! `/api/chatwoot/{…}/{instance}`. Their success bodies carry no `success` field, as
//! documented.

use actix_web::{web, HttpResponse};
use ryze_api_use_cases::{ChatwootActivationInput, IntegrationView};
use ryze_domain::RelayFlags;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Authenticated;
use crate::body::JsonBody;
use crate::error_status::HttpStatus;
use crate::openapi::ErrorEnvelope;
use crate::routes::rfc3339;
use crate::{ApiError, ApiState};

pub(crate) fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/chatwoot/set/{instance}", web::post().to(activate))
        .route("/chatwoot/list/{instance}", web::get().to(status))
        .route("/chatwoot/delete/{instance}", web::delete().to(deactivate));
}

/// The body of `set`. No `Debug`: it holds the Chatwoot token.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ChatwootActivation)]
pub(crate) struct ActivateBody {
    /// Required. The Chatwoot installation, an absolute `http`/`https` URL (RFC 3986);
    /// a trailing `/` is removed.
    #[schema(required, example = "https://chatwoot.example.com")]
    chatwoot_base_url: Option<String>,
    /// Required. The Chatwoot account's numeric id, greater than 0.
    #[schema(required, example = 5)]
    chatwoot_account_id: Option<i64>,
    /// Required. The API token (`access_token`) of a Chatwoot administrator. Sealed at
    /// rest with AES-256-GCM, never returned.
    #[schema(required, example = "sk_live_abc123")]
    chatwoot_api_token: Option<String>,
    /// The inbox to create or reuse; default `RyzeAPI`.
    #[schema(example = "WhatsApp - Orion")]
    inbox_name: Option<String>,
    /// Prefix agents' messages with their name in bold. Default false.
    sign_messages: Option<bool>,
    /// Do not relay group chats. Default false.
    ignore_groups: Option<bool>,
    /// New conversations start as pending instead of open. Default false.
    start_as_pending: Option<bool>,
    /// A new message reopens a resolved conversation. Default false.
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

/// The answer of `set`.
#[derive(Serialize, ToSchema)]
pub(crate) struct ActivatedAnswer {
    /// The instance's name.
    #[schema(example = "suporte")]
    instance: String,
    /// Always `active`.
    #[schema(example = "active")]
    status: &'static str,
    /// The bridge's id of the integration.
    #[schema(example = "int_xyz789abc")]
    bridge_integration_id: String,
    /// Always `chatwoot integration activated`.
    #[schema(example = "chatwoot integration activated")]
    message: &'static str,
}

/// Activate (or reconfigure) the Chatwoot integration of an instance.
///
/// The bridge creates (or reuses) the API inbox in Chatwoot and starts relaying. The
/// call has a 60 s budget. With no bridge configured every module endpoint answers 503.
#[utoipa::path(
    post,
    path = "/api/chatwoot/set/{instance}",
    tag = "chatwoot",
    operation_id = "activateChatwoot",
    params(("instance" = String, Path, description = "The instance's name, e.g. `suporte`")),
    request_body = ActivateBody,
    responses(
        (status = 201, description = "Activated", body = ActivatedAnswer),
        (status = 400, description = "`invalid body: …`, Chatwoot account or endpoint not found, Chatwoot refused the request as invalid, or the bridge refused the address", body = ErrorEnvelope),
        (status = 401, description = "Missing or invalid token, or Chatwoot rejected the API token", body = ErrorEnvelope),
        (status = 403, description = "Instance token of another instance, or Chatwoot denied the request", body = ErrorEnvelope),
        (status = 404, description = "`instance not found`", body = ErrorEnvelope),
        (status = 413, description = "Body over the limit", body = ErrorEnvelope),
        (status = 500, description = "`chatwoot integration failed: …` (storing or sealing failed)", body = ErrorEnvelope),
        (status = 502, description = "Chatwoot is unreachable (DNS, refused, timeout, 5xx), or the bridge failed", body = ErrorEnvelope),
        (status = 503, description = "`integration gateway not configured (set BRIDGE_URL and BRIDGE_TOKEN)`", body = ErrorEnvelope),
    )
)]
pub(crate) async fn activate(
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
    Ok(HttpResponse::Created().json(ActivatedAnswer {
        instance: activated.instance_name.as_str().to_owned(),
        status: "active",
        bridge_integration_id: activated.bridge_integration_id.into_string(),
        message: "chatwoot integration activated",
    }))
}

/// The bridge's relay counters.
#[derive(Serialize, ToSchema)]
#[schema(as = RelayCounters)]
pub(crate) struct CountersBody {
    received: u64,
    relayed: u64,
    failed: u64,
    queued: u64,
}

/// The status object of `list`. Never holds the Chatwoot token.
#[derive(Serialize, ToSchema)]
#[schema(as = ChatwootIntegrationStatus)]
pub(crate) struct StatusBody {
    /// The instance's id (`ins_…`): the engine contract names instances by it.
    #[schema(example = "ins_4f9a…")]
    instance_id: String,
    instance_name: String,
    /// `active`, `paused` or `error`.
    #[schema(example = "active")]
    status: &'static str,
    bridge_integration_id: String,
    chatwoot_base_url: String,
    chatwoot_account_id: i64,
    chatwoot_inbox_id: Option<i64>,
    chatwoot_inbox_name: String,
    /// Empty when healthy.
    last_error: String,
    /// RFC 3339.
    #[schema(example = "2026-11-24T03:00:00Z")]
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
            instance_id: view.instance_id.as_str().to_owned(),
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

/// The integration of an instance, with the bridge's live state.
///
/// The stored row, enriched from the bridge within 10 s; without an answer in time the
/// stored data comes back without `connection` and `counters`.
#[utoipa::path(
    get,
    path = "/api/chatwoot/list/{instance}",
    tag = "chatwoot",
    operation_id = "chatwootStatus",
    params(("instance" = String, Path, description = "The instance's name, e.g. `suporte`")),
    responses(
        (status = 200, description = "The integration", body = StatusBody),
        (status = 404, description = "`instance not found`, or `no chatwoot integration for this instance`", body = ErrorEnvelope),
        (status = 503, description = "`integration gateway not configured (set BRIDGE_URL and BRIDGE_TOKEN)`", body = ErrorEnvelope),
    )
)]
pub(crate) async fn status(
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

/// The answer of `delete`.
#[derive(Serialize, ToSchema)]
pub(crate) struct DeactivatedAnswer {
    /// Always `chatwoot integration deactivated`.
    #[schema(example = "chatwoot integration deactivated")]
    message: &'static str,
}

/// Deactivate the integration: the bridge stops relaying and deletes the inbox.
///
/// The bridge has 30 s; a failure there is retried in the background and the
/// integration is removed here anyway.
#[utoipa::path(
    delete,
    path = "/api/chatwoot/delete/{instance}",
    tag = "chatwoot",
    operation_id = "deactivateChatwoot",
    params(("instance" = String, Path, description = "The instance's name, e.g. `suporte`")),
    responses(
        (status = 200, description = "Deactivated", body = DeactivatedAnswer),
        (status = 404, description = "`instance not found`, or `no chatwoot integration to delete`", body = ErrorEnvelope),
        (status = 503, description = "`integration gateway not configured (set BRIDGE_URL and BRIDGE_TOKEN)`", body = ErrorEnvelope),
    )
)]
pub(crate) async fn deactivate(
    state: web::Data<ApiState>,
    Authenticated(principal): Authenticated,
    instance: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state
        .control_plane
        .deactivate_chatwoot(&principal, &instance)
        .await
        .map_err(HttpStatus::into_api_error)?;
    Ok(HttpResponse::Ok().json(DeactivatedAnswer {
        message: "chatwoot integration deactivated",
    }))
}
