//! The engine's command endpoints over actix-web (docs/engine-contract.md §5):
//! `POST /v1/instances/{instanceId}/message/text|media|reaction`,
//! `POST …/chat/edit|delete|markRead|presence|labels`, `POST …/instance/reconnect|logout`
//! and `GET …/media/{messageId}`, behind
//! `Authorization: Bearer ENGINE_TOKEN` (compared in constant time). Bodies are read
//! here (up to the configured limit) and parsed into the contract's command types;
//! what to answer is decided by [`EngineState::handle`].

use std::sync::Arc;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::AUTHORIZATION;
use actix_web::http::StatusCode;
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, Error, HttpRequest, HttpResponse, Route};
use ryze_ports::whatsapp_events::{
    DeleteMessage, EditMessage, EngineErrorCode, InstanceAction, MarkRead, SendMedia, SendPresence,
    SendReaction, SendText, SetChatLabels,
};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use serde_json::Value;
use subtle::ConstantTimeEq;

use crate::engine::{Answer, EngineState};
use crate::records::{CommandKind, EngineCommand, RejectedRequest};

type State = web::Data<Arc<EngineState>>;

/// The commands posted with a body, each to its [`CommandKind::path`] (downloads are
/// `GET media/{messageId}`).
const POSTED_COMMANDS: [CommandKind; 10] = [
    CommandKind::Text,
    CommandKind::Media,
    CommandKind::Reaction,
    CommandKind::Edit,
    CommandKind::Delete,
    CommandKind::MarkRead,
    CommandKind::Presence,
    CommandKind::Labels,
    CommandKind::Reconnect,
    CommandKind::Logout,
];

/// Mounts the command endpoints.
pub(crate) fn configure(config: &mut web::ServiceConfig) {
    let mut scope = web::scope("/v1/instances/{instance}").wrap(from_fn(require_engine_token));
    for kind in POSTED_COMMANDS {
        scope = scope.route(&format!("/{}", kind.path()), command_route(kind));
    }
    config.service(scope.route("/media/{message_id}", web::get().to(download_media)));
}

/// `POST` of one command: its body is read and parsed as `kind`.
fn command_route(kind: CommandKind) -> Route {
    web::post().to(
        move |state: State,
              path: web::Path<String>,
              request: HttpRequest,
              payload: web::Payload| {
            receive(state, path.into_inner(), request, payload, kind)
        },
    )
}

fn respond(answer: Answer) -> HttpResponse {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(status).json(answer.body)
}

/// Records and answers a request refused before a command could be read.
fn reject(
    state: &EngineState,
    request: &HttpRequest,
    status: u16,
    code: &str,
    message: String,
) -> HttpResponse {
    state.reject(RejectedRequest {
        method: request.method().to_string(),
        path: request.path().to_owned(),
        status,
        code: code.to_owned(),
        message: message.clone(),
    });
    respond(Answer::error(status, EngineErrorCode::from(code), message))
}

/// Any route the engine does not have.
pub(crate) async fn unknown_route(state: State, request: HttpRequest) -> HttpResponse {
    let message = format!("no route {} {}", request.method(), request.path());
    reject(&state, &request, 404, "not_found", message)
}

fn bearer_matches(request: &ServiceRequest, state: &EngineState) -> bool {
    let Some(presented) = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
    else {
        return false;
    };
    presented
        .trim()
        .as_bytes()
        .ct_eq(state.token.expose_secret().as_bytes())
        .into()
}

async fn require_engine_token(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(state) = request.app_data::<State>().cloned() else {
        return Ok(request.into_response(HttpResponse::InternalServerError().finish()));
    };
    if !bearer_matches(&request, &state) {
        let answer = reject(
            &state,
            request.request(),
            401,
            "unauthorized",
            "missing or wrong ENGINE_TOKEN".to_owned(),
        );
        return Ok(request.into_response(answer));
    }
    next.call(request)
        .await
        .map(ServiceResponse::map_into_boxed_body)
}

/// `path: problem`, or the problem alone for the whole body.
fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    let deserializer = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if path == "." {
            inner.to_string()
        } else {
            format!("{path}: {inner}")
        }
    })
}

fn parse_command(kind: CommandKind, body: &[u8]) -> Result<EngineCommand, String> {
    match kind {
        CommandKind::Text => parse_json::<SendText>(body).map(EngineCommand::Text),
        CommandKind::Media => {
            let raw: Value = parse_json(body)?;
            let sources = ["mediaBase64", "mediaUrl"]
                .iter()
                .filter(|key| raw.get(**key).is_some())
                .count();
            if raw.is_object() && sources != 1 {
                return Err("exactly one of mediaBase64 and mediaUrl is required".to_owned());
            }
            parse_json::<SendMedia>(body).map(EngineCommand::Media)
        }
        CommandKind::Reaction => parse_json::<SendReaction>(body).map(EngineCommand::Reaction),
        CommandKind::Edit => parse_json::<EditMessage>(body).map(EngineCommand::Edit),
        CommandKind::Delete => parse_json::<DeleteMessage>(body).map(EngineCommand::Delete),
        CommandKind::MarkRead => parse_json::<MarkRead>(body).map(EngineCommand::MarkRead),
        CommandKind::Presence => parse_json::<SendPresence>(body).map(EngineCommand::Presence),
        CommandKind::Labels => parse_json::<SetChatLabels>(body).map(EngineCommand::Labels),
        CommandKind::Reconnect => Ok(EngineCommand::Instance(InstanceAction::Reconnect)),
        CommandKind::Logout => Ok(EngineCommand::Instance(InstanceAction::Logout)),
        CommandKind::DownloadMedia => Err("downloads have no body".to_owned()),
    }
}

async fn receive(
    state: State,
    instance: String,
    request: HttpRequest,
    payload: web::Payload,
    kind: CommandKind,
) -> HttpResponse {
    let body = match payload.to_bytes_limited(state.max_body_bytes).await {
        Ok(Ok(body)) => body,
        Ok(Err(_limit)) => {
            let message = format!("the body is larger than {} bytes", state.max_body_bytes);
            return reject(&state, &request, 413, "media_too_large", message);
        }
        Err(error) => {
            return reject(
                &state,
                &request,
                400,
                "invalid_request",
                format!("cannot read the body: {error}"),
            );
        }
    };
    match parse_command(kind, &body) {
        Ok(command) => respond(state.handle(&instance, command)),
        Err(problem) => reject(&state, &request, 400, "invalid_request", problem),
    }
}

async fn download_media(state: State, path: web::Path<(String, String)>) -> HttpResponse {
    let (instance, message_id) = path.into_inner();
    respond(state.handle(&instance, EngineCommand::DownloadMedia { message_id }))
}
