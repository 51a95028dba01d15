//! Instances (docs/contract.md §4): `POST /api/instance/new`, `GET /api/instance/list`,
//! `DELETE /api/instance/delete/{instance}`. Success bodies follow the product's general
//! shape `{"success": true, "message"?, "data"?}`.

use actix_web::{web, HttpResponse};
use ryze_api_use_cases::{
    ChatwootActivationInput, InlineChatwootOutcome, InstanceSummary, NewInstanceInput,
};
use ryze_domain::{ChatwootIntegration, RelayFlags};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Authenticated;
use crate::body::JsonBody;
use crate::error_status::HttpStatus;
use crate::openapi::ErrorEnvelope;
use crate::routes::rfc3339;
use crate::{ApiError, ApiState};

pub(crate) fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/instance/new", web::post().to(create))
        .route("/instance/list", web::get().to(list))
        .route("/instance/delete/{instance}", web::delete().to(delete));
}

/// The body of `new`. No `Debug`: it may hold tokens.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = NewInstance)]
pub(crate) struct NewInstanceBody {
    /// Required: 1–64 letters, digits, `-`, `_` or `.`; unique in the account.
    #[schema(required, example = "suporte")]
    name: Option<String>,
    /// The instance token to use (16–256 printable ASCII characters without spaces,
    /// unique); one is generated when absent.
    token: Option<String>,
    /// Activate Chatwoot at creation with the `chatwoot*` fields (read only when true).
    chatwoot_enabled: Option<bool>,
    chatwoot_base_url: Option<String>,
    chatwoot_account_id: Option<i64>,
    chatwoot_api_token: Option<String>,
    chatwoot_inbox_name: Option<String>,
    chatwoot_sign_messages: Option<bool>,
    chatwoot_ignore_groups: Option<bool>,
    chatwoot_start_as_pending: Option<bool>,
    chatwoot_reopen_resolved: Option<bool>,
}

impl From<NewInstanceBody> for NewInstanceInput {
    fn from(body: NewInstanceBody) -> Self {
        // The chatwoot* fields are read only when chatwootEnabled is true.
        let chatwoot = body
            .chatwoot_enabled
            .unwrap_or(false)
            .then(|| ChatwootActivationInput {
                base_url: body.chatwoot_base_url,
                account_id: body.chatwoot_account_id,
                api_token: body.chatwoot_api_token,
                inbox_name: body.chatwoot_inbox_name,
                flags: RelayFlags {
                    sign_messages: body.chatwoot_sign_messages.unwrap_or(false),
                    ignore_groups: body.chatwoot_ignore_groups.unwrap_or(false),
                    start_as_pending: body.chatwoot_start_as_pending.unwrap_or(false),
                    reopen_resolved: body.chatwoot_reopen_resolved.unwrap_or(false),
                },
            });
        NewInstanceInput {
            name: body.name,
            token: body.token,
            chatwoot,
        }
    }
}

/// The inline Chatwoot activation's outcome: `enabled` and `status` always; the
/// integration's ids when it activated, `error` when it did not.
#[derive(Serialize, ToSchema)]
pub(crate) struct InlineChatwootAnswer {
    enabled: bool,
    /// `active` or `error`.
    #[schema(example = "active")]
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    bridge_integration_id: Option<String>,
    /// Present (possibly `null`) when the integration activated.
    #[serde(skip_serializing_if = "Option::is_none")]
    chatwoot_inbox_id: Option<Option<i64>>,
    /// The message `set` would have answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl From<InlineChatwootOutcome> for InlineChatwootAnswer {
    fn from(outcome: InlineChatwootOutcome) -> Self {
        match outcome {
            InlineChatwootOutcome::Active {
                bridge_integration_id,
                inbox_id,
            } => Self {
                enabled: true,
                status: "active",
                bridge_integration_id: Some(bridge_integration_id),
                chatwoot_inbox_id: Some(inbox_id),
                error: None,
            },
            InlineChatwootOutcome::Failed { message } => Self {
                enabled: false,
                status: "error",
                bridge_integration_id: None,
                chatwoot_inbox_id: None,
                error: Some(message),
            },
        }
    }
}

/// The instance just created, with its token (shown this once).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreatedInstanceData {
    /// The instance's id (`ins_…`), the one the engine contract uses.
    #[schema(example = "ins_4f9a…")]
    id: String,
    #[schema(example = "suporte")]
    name: String,
    /// The TokenInstance.
    #[schema(example = "ryzeins_…")]
    token: String,
    /// RFC 3339.
    created_at: String,
    /// `null` without the inline Chatwoot block.
    chatwoot: Option<InlineChatwootAnswer>,
}

/// The answer of `new`.
#[derive(Serialize, ToSchema)]
pub(crate) struct InstanceCreatedAnswer {
    success: bool,
    #[schema(example = "instance created")]
    message: &'static str,
    data: CreatedInstanceData,
}

/// Create an instance (account token only).
///
/// A failed inline Chatwoot activation never fails the creation: `data.chatwoot` says
/// why.
#[utoipa::path(
    post,
    path = "/api/instance/new",
    tag = "instances",
    operation_id = "createInstance",
    request_body = NewInstanceBody,
    responses(
        (status = 201, description = "Created", body = InstanceCreatedAnswer),
        (status = 400, description = "`invalid body: name: …` / `token: …`", body = ErrorEnvelope),
        (status = 403, description = "An instance token was sent, or `Account instance quota exceeded`", body = ErrorEnvelope),
        (status = 409, description = "The name is taken in this account, or the token is in use", body = ErrorEnvelope),
    )
)]
pub(crate) async fn create(
    state: web::Data<ApiState>,
    Authenticated(principal): Authenticated,
    JsonBody(body): JsonBody<NewInstanceBody>,
) -> Result<HttpResponse, ApiError> {
    let created = state
        .control_plane
        .create_instance(&principal, body.into())
        .await
        .map_err(HttpStatus::into_api_error)?;
    Ok(HttpResponse::Created().json(InstanceCreatedAnswer {
        success: true,
        message: "instance created",
        data: CreatedInstanceData {
            id: created.instance.id.as_str().to_owned(),
            name: created.instance.name.as_str().to_owned(),
            token: created.token.expose().to_owned(),
            created_at: rfc3339(created.instance.created_at),
            chatwoot: created.chatwoot.map(InlineChatwootAnswer::from),
        },
    }))
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Comma-separated instance names to keep (`a,b`).
    instance_name: Option<String>,
}

/// An instance's Chatwoot integration as stored: `enabled` only when there is none.
#[derive(Serialize, ToSchema)]
pub(crate) struct ChatwootSummary {
    enabled: bool,
    /// `active`, `paused` or `error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bridge_integration_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    chatwoot_base_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    chatwoot_account_id: Option<i64>,
    /// Present (possibly `null`) when there is an integration.
    #[serde(skip_serializing_if = "Option::is_none")]
    chatwoot_inbox_id: Option<Option<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    chatwoot_inbox_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_error: Option<String>,
}

impl From<Option<&ChatwootIntegration>> for ChatwootSummary {
    fn from(integration: Option<&ChatwootIntegration>) -> Self {
        match integration {
            None => Self {
                enabled: false,
                status: None,
                bridge_integration_id: None,
                chatwoot_base_url: None,
                chatwoot_account_id: None,
                chatwoot_inbox_id: None,
                chatwoot_inbox_name: None,
                last_error: None,
            },
            Some(integration) => Self {
                enabled: true,
                status: Some(integration.status.as_str()),
                bridge_integration_id: Some(integration.bridge_integration_id.as_str().to_owned()),
                chatwoot_base_url: Some(integration.settings.base_url.as_str().to_owned()),
                chatwoot_account_id: Some(integration.settings.account_id.get()),
                chatwoot_inbox_id: Some(integration.inbox_id),
                chatwoot_inbox_name: Some(integration.settings.inbox_name.as_str().to_owned()),
                last_error: Some(integration.last_error.clone()),
            },
        }
    }
}

/// One instance of `list`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InstanceItem {
    /// The instance's id (`ins_…`), the one the engine contract uses.
    id: String,
    name: String,
    /// RFC 3339.
    created_at: String,
    chatwoot: ChatwootSummary,
}

impl From<&InstanceSummary> for InstanceItem {
    fn from(summary: &InstanceSummary) -> Self {
        Self {
            id: summary.instance.id.as_str().to_owned(),
            name: summary.instance.name.as_str().to_owned(),
            created_at: rfc3339(summary.instance.created_at),
            chatwoot: ChatwootSummary::from(summary.integration.as_ref()),
        }
    }
}

/// The answer of `list`.
#[derive(Serialize, ToSchema)]
pub(crate) struct InstanceListAnswer {
    success: bool,
    /// Sorted by name.
    data: Vec<InstanceItem>,
}

/// The instances the token sees (an instance token: its own), sorted by name.
///
/// The Chatwoot summary is the stored state; no bridge call per instance.
#[utoipa::path(
    get,
    path = "/api/instance/list",
    tag = "instances",
    operation_id = "listInstances",
    params(ListQuery),
    responses(
        (status = 200, description = "The instances", body = InstanceListAnswer),
        (status = 400, description = "`invalid query string: …`", body = ErrorEnvelope),
    )
)]
pub(crate) async fn list(
    state: web::Data<ApiState>,
    Authenticated(principal): Authenticated,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let names: Option<Vec<String>> = query.instance_name.as_deref().map(|names| {
        names
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
            .collect()
    });
    let instances = state
        .control_plane
        .list_instances(&principal, names.as_deref())
        .await
        .map_err(HttpStatus::into_api_error)?;
    Ok(HttpResponse::Ok().json(InstanceListAnswer {
        success: true,
        data: instances.iter().map(InstanceItem::from).collect(),
    }))
}

/// `{"success": true, "message"}`.
#[derive(Serialize, ToSchema)]
pub(crate) struct InstanceDeletedAnswer {
    success: bool,
    #[schema(example = "instance deleted")]
    message: &'static str,
}

/// Delete an instance (account token only), tearing its Chatwoot integration down as
/// `DELETE /api/chatwoot/delete` does.
#[utoipa::path(
    delete,
    path = "/api/instance/delete/{instance}",
    tag = "instances",
    operation_id = "deleteInstance",
    params(("instance" = String, Path, description = "The instance's name, e.g. `suporte`")),
    responses(
        (status = 200, description = "Deleted", body = InstanceDeletedAnswer),
        (status = 403, description = "An instance token was sent", body = ErrorEnvelope),
        (status = 503, description = "The instance has an integration and no bridge is configured: nothing removed", body = ErrorEnvelope),
    )
)]
pub(crate) async fn delete(
    state: web::Data<ApiState>,
    Authenticated(principal): Authenticated,
    instance: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state
        .control_plane
        .delete_instance(&principal, &instance)
        .await
        .map_err(HttpStatus::into_api_error)?;
    Ok(HttpResponse::Ok().json(InstanceDeletedAnswer {
        success: true,
        message: "instance deleted",
    }))
}
