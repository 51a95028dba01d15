//! Instances (docs/contract.md §4): `POST /api/instance/new`, `GET /api/instance/list`,
//! `DELETE /api/instance/delete/{instance}`. Success bodies follow the product's general
//! shape `{"success": true, "message"?, "data"?}`.

use actix_web::{web, HttpResponse};
use ryze_api_use_cases::{
    ChatwootActivationInput, InlineChatwootOutcome, InstanceSummary, NewInstanceInput,
};
use ryze_domain::{ChatwootIntegration, RelayFlags};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Authenticated;
use crate::body::JsonBody;
use crate::error_status::HttpStatus;
use crate::routes::rfc3339;
use crate::{ApiError, ApiState};

pub(crate) fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/instance/new", web::post().to(create))
        .route("/instance/list", web::get().to(list))
        .route("/instance/delete/{instance}", web::delete().to(delete));
}

/// The body of `new`. No `Debug`: it may hold tokens.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewInstanceBody {
    name: Option<String>,
    token: Option<String>,
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

async fn create(
    state: web::Data<ApiState>,
    Authenticated(principal): Authenticated,
    JsonBody(body): JsonBody<NewInstanceBody>,
) -> Result<HttpResponse, ApiError> {
    let created = state
        .control_plane
        .create_instance(&principal, body.into())
        .await
        .map_err(HttpStatus::into_api_error)?;
    let chatwoot = match created.chatwoot {
        None => Value::Null,
        Some(InlineChatwootOutcome::Active {
            bridge_integration_id,
            inbox_id,
        }) => json!({
            "enabled": true,
            "status": "active",
            "bridge_integration_id": bridge_integration_id,
            "chatwoot_inbox_id": inbox_id,
        }),
        Some(InlineChatwootOutcome::Failed { message }) => json!({
            "enabled": false,
            "status": "error",
            "error": message,
        }),
    };
    Ok(HttpResponse::Created().json(json!({
        "success": true,
        "message": "instance created",
        "data": {
            "id": created.instance.id.as_str(),
            "name": created.instance.name.as_str(),
            "token": created.token.expose(),
            "createdAt": rfc3339(created.instance.created_at),
            "chatwoot": chatwoot,
        }
    })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    /// Comma-separated instance names.
    instance_name: Option<String>,
}

fn chatwoot_summary(integration: Option<&ChatwootIntegration>) -> Value {
    match integration {
        None => json!({"enabled": false}),
        Some(integration) => json!({
            "enabled": true,
            "status": integration.status.as_str(),
            "bridge_integration_id": integration.bridge_integration_id.as_str(),
            "chatwoot_base_url": integration.settings.base_url.as_str(),
            "chatwoot_account_id": integration.settings.account_id.get(),
            "chatwoot_inbox_id": integration.inbox_id,
            "chatwoot_inbox_name": integration.settings.inbox_name.as_str(),
            "last_error": integration.last_error,
        }),
    }
}

fn instance_item(summary: &InstanceSummary) -> Value {
    json!({
        "id": summary.instance.id.as_str(),
        "name": summary.instance.name.as_str(),
        "createdAt": rfc3339(summary.instance.created_at),
        "chatwoot": chatwoot_summary(summary.integration.as_ref()),
    })
}

async fn list(
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
    Ok(HttpResponse::Ok().json(json!({
        "success": true,
        "data": instances.iter().map(instance_item).collect::<Vec<_>>(),
    })))
}

async fn delete(
    state: web::Data<ApiState>,
    Authenticated(principal): Authenticated,
    instance: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state
        .control_plane
        .delete_instance(&principal, &instance)
        .await
        .map_err(HttpStatus::into_api_error)?;
    Ok(HttpResponse::Ok().json(json!({
        "success": true,
        "message": "instance deleted",
    })))
}
