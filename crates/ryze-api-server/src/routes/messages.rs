//! The message endpoints (docs/contract.md §6, `docs/api.md` "Messages"):
//! `POST /api/message/{text,media,reaction}/{instance}`, `POST /api/chat/edit/{instance}`,
//! `DELETE` (or `POST`) `/api/chat/delete/{instance}`, `POST /api/chat/markRead/{instance}`,
//! `POST /api/chat/{presence,labels}/{instance}`, `GET /api/chat/base64/{instance}?messageId=`
//! and `POST /api/instance/{reconnect,logout}/{instance}` (the instance's WhatsApp
//! session).
//!
//! Callers: the `/api` tokens (the path names the instance), and the bridge with
//! `BRIDGE_TOKEN` (compared in constant time; the path holds the instance **id**). The
//! bridge is not rate limited: it relays every agent of every integration through one
//! token, and it is ours. Everyone else is limited exactly as the rest of `/api` (the
//! same middleware, the same counters and headers).
//!
//! These routes live in scopes of their own (`/api/message`, `/api/chat`), registered
//! before the `/api` scope, so the bridge can be let through the limiter.
//!
//! Callers are authenticated by the middleware before any body is read. Bodies are JSON
//! as elsewhere; the media route reads up to [`MEDIA_BODY_LIMIT_BYTES`] (base64 of a
//! 64 MiB file), by hand, once it holds one of the API's media permits
//! ([`crate::MediaWorkLimit`]: 503 when none frees up in time); the others the usual
//! limit. Downloading media (`/api/chat/base64`) takes a permit too.

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::middleware::from_fn;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use futures::future::{ready, Ready};
use ryze_api_use_cases::{
    AuthorizedInstance, CommandDone, MessageCommandError, MessagingCaller, SentMessage,
};
use ryze_domain::{
    ChatLabelsRequest, ChatPresenceRequest, DeleteMessageCommand, DeleteMessageRequest,
    EditMessageCommand, EditMessageRequest, MarkReadCommand, MarkReadRequest, MediaMessageRequest,
    MessageCommandRefusal, ReactionRequest, SendMediaCommand, SendPresenceCommand,
    SendReactionCommand, SendTextCommand, SetChatLabelsCommand, TextMessageRequest,
};
use ryze_ports::whatsapp_events::InstanceAction;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::authenticated_caller;
use crate::body::{parse_json, read_limited, JsonBody};
use crate::error_status::HttpStatus;
use crate::openapi::message_bodies::{
    ChatLabelsBody, ChatPresenceBody, DeleteMessageBody, EditMessageBody, MarkReadBody,
    MediaMessageBody, ReactionBody, TextMessageBody,
};
use crate::openapi::ErrorEnvelope;
use crate::{rate_limit, ApiError, ApiState};

// The refusals the message and chat commands share, each one answer of the API's
// description (utoipa lists them in `responses(…)`); never built.

/// 400: the body, or the engine's answer about it.
#[derive(utoipa::IntoResponses)]
#[response(
    status = 400,
    description = "`invalid body: …`, the engine refused a field, or the number is not on WhatsApp"
)]
struct InvalidCommand(#[allow(dead_code)] ErrorEnvelope);

/// 404 of a command that may quote a message.
#[derive(utoipa::IntoResponses)]
#[response(
    status = 404,
    description = "`instance not found`, or the message quoted is unknown"
)]
struct InstanceOrQuotedMessageNotFound(#[allow(dead_code)] ErrorEnvelope);

/// 404 of a command about a chat or the session.
#[derive(utoipa::IntoResponses)]
#[response(status = 404, description = "`instance not found`")]
struct InstanceNotFound(#[allow(dead_code)] ErrorEnvelope);

/// 413 of a command carrying a body or media.
#[derive(utoipa::IntoResponses)]
#[response(status = 413, description = "Body over the limit, or media too large")]
struct CommandTooLarge(#[allow(dead_code)] ErrorEnvelope);

/// 502: WhatsApp failed.
#[derive(utoipa::IntoResponses)]
#[response(
    status = 502,
    description = "`WhatsApp failed to carry out the command; retry later`"
)]
struct WhatsAppFailed(#[allow(dead_code)] ErrorEnvelope);

/// 503: no engine, a disconnected instance, or throttling.
#[derive(utoipa::IntoResponses)]
#[response(
    status = 503,
    description = "`Instance is not connected to WhatsApp` (no engine configured, or the engine says so), or `WhatsApp is throttling this instance; retry later`"
)]
struct InstanceNotConnected(#[allow(dead_code)] ErrorEnvelope);

/// Largest body of `POST /api/message/media`: the base64 of a 64 MiB file (the most the
/// API sends) and the other fields.
pub const MEDIA_BODY_LIMIT_BYTES: usize = 90 * 1024 * 1024;

pub(crate) fn configure(config: &mut web::ServiceConfig) {
    config
        .service(
            web::scope("/api/message")
                .wrap(from_fn(rate_limit::enforce_unless_bridge))
                .route("/text/{instance}", web::post().to(send_text))
                .route("/media/{instance}", web::post().to(send_media))
                .route("/reaction/{instance}", web::post().to(send_reaction))
                .default_service(web::to(super::no_such_route)),
        )
        .service(
            web::scope("/api/chat")
                .wrap(from_fn(rate_limit::enforce_unless_bridge))
                .route("/edit/{instance}", web::post().to(edit_message))
                .service(
                    web::resource("/delete/{instance}")
                        .route(web::delete().to(delete_message))
                        .route(web::post().to(delete_message)),
                )
                .route("/markRead/{instance}", web::post().to(mark_read))
                .route("/presence/{instance}", web::post().to(send_presence))
                .route("/labels/{instance}", web::post().to(set_chat_labels))
                .route("/base64/{instance}", web::get().to(download_media))
                .default_service(web::to(super::no_such_route)),
        )
        .service(
            web::resource("/api/instance/reconnect/{instance}")
                .wrap(from_fn(rate_limit::enforce_unless_bridge))
                .route(web::post().to(reconnect_instance)),
        )
        .service(
            web::resource("/api/instance/logout/{instance}")
                .wrap(from_fn(rate_limit::enforce_unless_bridge))
                .route(web::post().to(logout_instance)),
        );
}

/// The caller of a message endpoint: the bridge, or an authenticated `/api` token, as
/// the middleware found (it answered 401 otherwise).
pub(crate) struct Caller(MessagingCaller);

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(authenticated_caller(request).map(Caller))
    }
}

fn media_too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "request body too large: the limit is {MEDIA_BODY_LIMIT_BYTES} bytes (base64 of a 64 MiB file); send larger files by mediaUrl"
        ),
    )
}

// ------------------------------------------------------------------------- bodies
//
// Each body is read as the domain's `…Request` and made into its command once the
// caller was found to act on the instance (the order the use cases document).

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Base64Query {
    /// Required: the WhatsApp id of the message whose media to download.
    #[serde(rename = "messageId")]
    #[param(required)]
    message_id: Option<String>,
}

// ------------------------------------------------------------------------ answers

/// `{"success": true, "messageId", "timestamp"}`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SentAnswer {
    success: bool,
    /// The WhatsApp id of the new message.
    #[schema(example = "3EB0F1E2D3C4B5A6978877")]
    message_id: String,
    /// WhatsApp's (unix seconds), or the API's clock when the engine gave none.
    timestamp: i64,
}

impl From<SentMessage> for SentAnswer {
    fn from(sent: SentMessage) -> Self {
        Self {
            success: true,
            message_id: sent.message_id,
            timestamp: sent.timestamp,
        }
    }
}

/// `{"success": true}`, with `messageId` and `timestamp` when the engine gave them.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DoneAnswer {
    success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timestamp: Option<i64>,
}

impl From<CommandDone> for DoneAnswer {
    fn from(done: CommandDone) -> Self {
        Self {
            success: true,
            message_id: done.message_id,
            timestamp: done.timestamp,
        }
    }
}

/// `{"success": true, "messageId", "base64", "mimetype", "fileName"?}`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MediaAnswer<'a> {
    success: bool,
    message_id: &'a str,
    base64: &'a str,
    mimetype: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    file_name: Option<&'a str>,
}

// ----------------------------------------------------------------------- handlers

/// The instance the path names, if the caller may act on it (checked before the body).
async fn authorized(
    state: &ApiState,
    caller: &MessagingCaller,
    instance: &str,
) -> Result<AuthorizedInstance, ApiError> {
    state
        .messaging
        .authorize(caller, instance)
        .await
        .map_err(HttpStatus::into_api_error)
}

/// A body that is no command: 400, or 413 for media over the limit.
fn refused(refusal: MessageCommandRefusal) -> ApiError {
    MessageCommandError::from(refusal).into_api_error()
}

/// Send a text.
#[utoipa::path(
    post,
    path = "/api/message/text/{instance}",
    tag = "messages",
    operation_id = "sendText",
    params(("instance" = String, Path, description = "The instance's name, or its id (`ins_…`) for the bridge")),
    request_body = TextMessageBody,
    responses(
        (status = 200, description = "Done", body = SentAnswer),
        InvalidCommand,
        InstanceOrQuotedMessageNotFound,
        CommandTooLarge,
        WhatsAppFailed,
        InstanceNotConnected,
    )
)]
pub(crate) async fn send_text(
    state: web::Data<ApiState>,
    Caller(caller): Caller,
    instance: web::Path<String>,
    JsonBody(request): JsonBody<TextMessageRequest>,
) -> Result<HttpResponse, ApiError> {
    let instance = authorized(&state, &caller, &instance).await?;
    let command = SendTextCommand::try_from(request).map_err(refused)?;
    let sent = state
        .messaging
        .send_text(&instance, command)
        .await
        .map_err(HttpStatus::into_api_error)?;
    Ok(HttpResponse::Ok().json(SentAnswer::from(sent)))
}

/// Send an image, video, document or audio, inline (`mediaBase64`) or by URL (`mediaUrl`,
/// downloaded by the API).
#[utoipa::path(
    post,
    path = "/api/message/media/{instance}",
    tag = "messages",
    operation_id = "sendMedia",
    params(("instance" = String, Path, description = "The instance's name, or its id (`ins_…`) for the bridge")),
    request_body = MediaMessageBody,
    responses(
        (status = 200, description = "Done", body = SentAnswer),
        InvalidCommand,
        InstanceOrQuotedMessageNotFound,
        CommandTooLarge,
        WhatsAppFailed,
        InstanceNotConnected,
    )
)]
pub(crate) async fn send_media(
    request: HttpRequest,
    state: web::Data<ApiState>,
    Caller(caller): Caller,
    instance: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let instance = authorized(&state, &caller, &instance).await?;
    let _permit = state.media_work.hold().await?;
    let bytes = read_limited(
        request.headers(),
        payload,
        MEDIA_BODY_LIMIT_BYTES,
        media_too_large,
    )
    .await?;
    let body: MediaMessageRequest = parse_json(&bytes)?;
    drop(bytes);
    let max_bytes = state.messaging.settings().max_media_bytes;
    let command = SendMediaCommand::from_request(body, max_bytes).map_err(refused)?;
    let sent = state
        .messaging
        .send_media(&instance, command)
        .await
        .map_err(HttpStatus::into_api_error)?;
    Ok(HttpResponse::Ok().json(SentAnswer::from(sent)))
}

/// React to a message (`""` removes the reaction).
#[utoipa::path(
    post,
    path = "/api/message/reaction/{instance}",
    tag = "messages",
    operation_id = "sendReaction",
    params(("instance" = String, Path, description = "The instance's name, or its id (`ins_…`) for the bridge")),
    request_body = ReactionBody,
    responses(
        (status = 200, description = "Done", body = SentAnswer),
        InvalidCommand,
        InstanceOrQuotedMessageNotFound,
        CommandTooLarge,
        WhatsAppFailed,
        InstanceNotConnected,
    )
)]
pub(crate) async fn send_reaction(
    state: web::Data<ApiState>,
    Caller(caller): Caller,
    instance: web::Path<String>,
    JsonBody(request): JsonBody<ReactionRequest>,
) -> Result<HttpResponse, ApiError> {
    let instance = authorized(&state, &caller, &instance).await?;
    let command = SendReactionCommand::try_from(request).map_err(refused)?;
    let sent = state
        .messaging
        .send_reaction(&instance, command)
        .await
        .map_err(HttpStatus::into_api_error)?;
    Ok(HttpResponse::Ok().json(SentAnswer::from(sent)))
}

/// Edit a message the instance sent.
#[utoipa::path(
    post,
    path = "/api/chat/edit/{instance}",
    tag = "messages",
    operation_id = "editMessage",
    params(("instance" = String, Path, description = "The instance's name, or its id (`ins_…`) for the bridge")),
    request_body = EditMessageBody,
    responses(
        (status = 200, description = "Done", body = DoneAnswer),
        InvalidCommand,
        InstanceOrQuotedMessageNotFound,
        CommandTooLarge,
        WhatsAppFailed,
        InstanceNotConnected,
    )
)]
pub(crate) async fn edit_message(
    state: web::Data<ApiState>,
    Caller(caller): Caller,
    instance: web::Path<String>,
    JsonBody(request): JsonBody<EditMessageRequest>,
) -> Result<HttpResponse, ApiError> {
    let instance = authorized(&state, &caller, &instance).await?;
    let command = EditMessageCommand::try_from(request).map_err(refused)?;
    let done = state
        .messaging
        .edit_message(&instance, command)
        .await
        .map_err(HttpStatus::into_api_error)?;
    Ok(HttpResponse::Ok().json(DoneAnswer::from(done)))
}

/// Delete a message, for everyone or on the instance's devices only (`POST` is accepted
/// too, since proxies drop bodies of `DELETE`).
#[utoipa::path(
    method(delete, post),
    path = "/api/chat/delete/{instance}",
    tag = "messages",
    operation_id = "deleteMessage",
    params(("instance" = String, Path, description = "The instance's name, or its id (`ins_…`) for the bridge")),
    request_body = DeleteMessageBody,
    responses(
        (status = 200, description = "Done", body = DoneAnswer),
        InvalidCommand,
        InstanceOrQuotedMessageNotFound,
        CommandTooLarge,
        WhatsAppFailed,
        InstanceNotConnected,
    )
)]
pub(crate) async fn delete_message(
    state: web::Data<ApiState>,
    Caller(caller): Caller,
    instance: web::Path<String>,
    JsonBody(request): JsonBody<DeleteMessageRequest>,
) -> Result<HttpResponse, ApiError> {
    let instance = authorized(&state, &caller, &instance).await?;
    let command = DeleteMessageCommand::try_from(request).map_err(refused)?;
    let done = state
        .messaging
        .delete_message(&instance, command)
        .await
        .map_err(HttpStatus::into_api_error)?;
    Ok(HttpResponse::Ok().json(DoneAnswer::from(done)))
}

/// Mark a chat read up to a message.
#[utoipa::path(
    post,
    path = "/api/chat/markRead/{instance}",
    tag = "messages",
    operation_id = "markRead",
    params(("instance" = String, Path, description = "The instance's name, or its id (`ins_…`) for the bridge")),
    request_body = MarkReadBody,
    responses(
        (status = 200, description = "Done", body = DoneAnswer),
        InvalidCommand,
        InstanceOrQuotedMessageNotFound,
        CommandTooLarge,
        WhatsAppFailed,
        InstanceNotConnected,
    )
)]
pub(crate) async fn mark_read(
    state: web::Data<ApiState>,
    Caller(caller): Caller,
    instance: web::Path<String>,
    JsonBody(request): JsonBody<MarkReadRequest>,
) -> Result<HttpResponse, ApiError> {
    let instance = authorized(&state, &caller, &instance).await?;
    let command = MarkReadCommand::try_from(request).map_err(refused)?;
    let done = state
        .messaging
        .mark_read(&instance, command)
        .await
        .map_err(HttpStatus::into_api_error)?;
    Ok(HttpResponse::Ok().json(DoneAnswer::from(done)))
}

/// Show the chat the business typing (`composing`) or no longer (`paused`).
#[utoipa::path(
    post,
    path = "/api/chat/presence/{instance}",
    tag = "messages",
    operation_id = "sendPresence",
    params(("instance" = String, Path, description = "The instance's name, or its id (`ins_…`) for the bridge")),
    request_body = ChatPresenceBody,
    responses(
        (status = 200, description = "Done", body = DoneAnswer),
        InvalidCommand,
        InstanceNotFound,
        WhatsAppFailed,
        InstanceNotConnected,
    )
)]
pub(crate) async fn send_presence(
    state: web::Data<ApiState>,
    Caller(caller): Caller,
    instance: web::Path<String>,
    JsonBody(request): JsonBody<ChatPresenceRequest>,
) -> Result<HttpResponse, ApiError> {
    let instance = authorized(&state, &caller, &instance).await?;
    let command = SendPresenceCommand::try_from(request).map_err(refused)?;
    let done = state
        .messaging
        .send_presence(&instance, command)
        .await
        .map_err(HttpStatus::into_api_error)?;
    Ok(HttpResponse::Ok().json(DoneAnswer::from(done)))
}

/// Set a chat's whole set of WhatsApp Business labels.
#[utoipa::path(
    post,
    path = "/api/chat/labels/{instance}",
    tag = "messages",
    operation_id = "setChatLabels",
    params(("instance" = String, Path, description = "The instance's name, or its id (`ins_…`) for the bridge")),
    request_body = ChatLabelsBody,
    responses(
        (status = 200, description = "Done", body = DoneAnswer),
        InvalidCommand,
        InstanceNotFound,
        WhatsAppFailed,
        InstanceNotConnected,
    )
)]
pub(crate) async fn set_chat_labels(
    state: web::Data<ApiState>,
    Caller(caller): Caller,
    instance: web::Path<String>,
    JsonBody(request): JsonBody<ChatLabelsRequest>,
) -> Result<HttpResponse, ApiError> {
    let instance = authorized(&state, &caller, &instance).await?;
    let command = SetChatLabelsCommand::try_from(request).map_err(refused)?;
    let done = state
        .messaging
        .set_chat_labels(&instance, command)
        .await
        .map_err(HttpStatus::into_api_error)?;
    Ok(HttpResponse::Ok().json(DoneAnswer::from(done)))
}

/// Reconnect the instance's WhatsApp session.
#[utoipa::path(
    post,
    path = "/api/instance/reconnect/{instance}",
    tag = "instances",
    operation_id = "reconnectInstance",
    params(("instance" = String, Path, description = "The instance's name, or its id (`ins_…`) for the bridge")),
    responses(
        (status = 200, description = "Done", body = DoneAnswer),
        InvalidCommand,
        InstanceNotFound,
        WhatsAppFailed,
        InstanceNotConnected,
    )
)]
pub(crate) async fn reconnect_instance(
    state: web::Data<ApiState>,
    Caller(caller): Caller,
    instance: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    instance_action(&state, &caller, &instance, InstanceAction::Reconnect).await
}

/// Log the instance out of WhatsApp (a new pairing is needed).
#[utoipa::path(
    post,
    path = "/api/instance/logout/{instance}",
    tag = "instances",
    operation_id = "logoutInstance",
    params(("instance" = String, Path, description = "The instance's name, or its id (`ins_…`) for the bridge")),
    responses(
        (status = 200, description = "Done", body = DoneAnswer),
        InvalidCommand,
        InstanceNotFound,
        WhatsAppFailed,
        InstanceNotConnected,
    )
)]
pub(crate) async fn logout_instance(
    state: web::Data<ApiState>,
    Caller(caller): Caller,
    instance: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    instance_action(&state, &caller, &instance, InstanceAction::Logout).await
}

async fn instance_action(
    state: &ApiState,
    caller: &MessagingCaller,
    instance: &str,
    action: InstanceAction,
) -> Result<HttpResponse, ApiError> {
    let instance = authorized(state, caller, instance).await?;
    let done = state
        .messaging
        .instance_action(&instance, action)
        .await
        .map_err(HttpStatus::into_api_error)?;
    Ok(HttpResponse::Ok().json(DoneAnswer::from(done)))
}

/// Download a message's media as base64.
#[utoipa::path(
    get,
    path = "/api/chat/base64/{instance}",
    tag = "messages",
    operation_id = "downloadMedia",
    params(("instance" = String, Path, description = "The instance's name, or its id (`ins_…`) for the bridge"), Base64Query),
    responses(
        (status = 200, description = "The media", body = MediaAnswer<'static>),
        (status = 400, description = "`invalid query string: messageId: is required: …`", body = ErrorEnvelope),
        (status = 404, description = "`instance not found`, `message not found` or `media no longer available`", body = ErrorEnvelope),
        (status = 413, description = "The media exceeds what the engine hands over", body = ErrorEnvelope),
        (status = 502, description = "`WhatsApp failed to carry out the command; retry later`", body = ErrorEnvelope),
        (status = 503, description = "`Instance is not connected to WhatsApp`, or `too many media requests in progress; try again in a few seconds`", body = ErrorEnvelope),
    )
)]
pub(crate) async fn download_media(
    state: web::Data<ApiState>,
    Caller(caller): Caller,
    instance: web::Path<String>,
    query: web::Query<Base64Query>,
) -> Result<HttpResponse, ApiError> {
    let _permit = state.media_work.hold().await?;
    let media = state
        .messaging
        .download_media(&caller, &instance, query.message_id.as_deref())
        .await
        .map_err(HttpStatus::into_api_error)?;
    Ok(HttpResponse::Ok().json(MediaAnswer {
        success: true,
        message_id: &media.message_id,
        base64: media.base64.as_str(),
        mimetype: &media.mimetype,
        file_name: media.file_name.as_deref(),
    }))
}
