//! Serves uploaded attachment bytes at the Active Storage style URLs the
//! message payloads carry in `data_url` / `thumb_url`
//! (`/rails/active_storage/{blobs,representations}/redirect/{token}/{filename}`),
//! so a client can download media like it would from Chatwoot.

use crate::state::{lock, SimulatorState};
use actix_web::{web, HttpResponse};
use std::sync::Arc;

async fn download(
    state: web::Data<Arc<SimulatorState>>,
    path: web::Path<(String, String, String)>,
) -> HttpResponse {
    let (_kind, token, _filename) = path.into_inner();
    let store = lock(&state.store);
    let attachment = store
        .messages
        .values()
        .flat_map(|message| message.attachments.iter())
        .find(|attachment| attachment.download_token == token);
    match attachment {
        Some(attachment) => HttpResponse::Ok()
            .content_type(attachment.content_type.clone())
            .body(attachment.bytes.as_ref().clone()),
        None => HttpResponse::NotFound().finish(),
    }
}

/// Registers the download route.
pub fn configure(config: &mut web::ServiceConfig) {
    config.route(
        "/rails/active_storage/{kind}/redirect/{token}/{filename}",
        web::get().to(download),
    );
}
