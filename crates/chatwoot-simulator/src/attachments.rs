//! Serves uploaded attachments the way Chatwoot's Active Storage does, so a client
//! downloads media as it would from Chatwoot: the `data_url` / `thumb_url` of a message
//! (`/rails/active_storage/{blobs,representations}/redirect/{token}/{filename}`) answers
//! `302 Found` to the disk service (`/rails/active_storage/disk/{token}/{filename}`),
//! which serves the bytes with the uploaded content type and a `Content-Disposition`
//! (`ActiveStorage::Blobs::RedirectController` → `DiskController#show`).
//!
//! The disposition follows Active Storage: `inline` for the types it allows inline
//! (images and PDF), `attachment` otherwise; the file name as `ActionDispatch`'s
//! `ContentDisposition` writes it, an ASCII `filename="…"` (accents transliterated,
//! other characters percent-escaped) and the exact UTF-8 name in `filename*`.

use crate::model::Attachment;
use crate::state::{lock, SimulatorState};
use actix_web::http::header::{CONTENT_DISPOSITION, LOCATION};
use actix_web::{web, HttpResponse};
use std::sync::Arc;

/// `ActiveStorage.content_types_allowed_inline` (Rails 7 defaults).
const ALLOWED_INLINE: [&str; 12] = [
    "image/png",
    "image/gif",
    "image/jpeg",
    "image/tiff",
    "image/bmp",
    "image/vnd.adobe.photoshop",
    "image/vnd.microsoft.icon",
    "image/webp",
    "image/avif",
    "image/heic",
    "image/heif",
    "application/pdf",
];

fn attachment_with_token<'a>(
    store: &'a crate::store::Store,
    token: &str,
) -> Option<&'a Attachment> {
    store
        .messages
        .values()
        .flat_map(|message| message.attachments.iter())
        .find(|attachment| attachment.download_token == token)
}

/// `GET /rails/active_storage/{blobs,representations}/redirect/{token}/{filename}`: the
/// redirect to the file on the disk service.
async fn redirect(
    state: web::Data<Arc<SimulatorState>>,
    path: web::Path<(String, String, String)>,
) -> HttpResponse {
    let (_kind, token, _filename) = path.into_inner();
    let store = lock(&state.store);
    match attachment_with_token(&store, &token) {
        Some(attachment) => HttpResponse::Found()
            .insert_header((
                LOCATION,
                format!(
                    "{}/rails/active_storage/disk/{token}/{}",
                    state.base_url(),
                    escaped(&attachment.filename, is_rfc5987_char)
                ),
            ))
            .finish(),
        None => HttpResponse::NotFound().finish(),
    }
}

/// `GET /rails/active_storage/disk/{token}/{filename}`: the file.
async fn disk(
    state: web::Data<Arc<SimulatorState>>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (token, _filename) = path.into_inner();
    let store = lock(&state.store);
    match attachment_with_token(&store, &token) {
        Some(attachment) => HttpResponse::Ok()
            .content_type(attachment.content_type.clone())
            .insert_header((
                CONTENT_DISPOSITION,
                content_disposition(&attachment.content_type, &attachment.filename),
            ))
            .body(attachment.bytes.as_ref().clone()),
        None => HttpResponse::NotFound().finish(),
    }
}

/// `ActionDispatch::Http::ContentDisposition.format(disposition:, filename:)`.
pub fn content_disposition(content_type: &str, filename: &str) -> String {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let disposition = if ALLOWED_INLINE.contains(&essence.as_str()) {
        "inline"
    } else {
        "attachment"
    };
    let ascii: String = filename.chars().map(transliterated).collect();
    format!(
        "{disposition}; filename=\"{}\"; filename*=UTF-8''{}",
        escaped(&ascii, is_traditional_char),
        escaped(filename, is_rfc5987_char)
    )
}

/// `I18n.transliterate` for the accented Latin letters file names usually carry; any
/// other non-ASCII character becomes `?`, as Rails' default replacement.
fn transliterated(character: char) -> char {
    if character.is_ascii() {
        return character;
    }
    const TABLE: [(&str, char); 12] = [
        ("áàâãäå", 'a'),
        ("ÁÀÂÃÄÅ", 'A'),
        ("éèêë", 'e'),
        ("ÉÈÊË", 'E'),
        ("íìîï", 'i'),
        ("ÍÌÎÏ", 'I'),
        ("óòôõö", 'o'),
        ("ÓÒÔÕÖ", 'O'),
        ("úùûü", 'u'),
        ("ÚÙÛÜ", 'U'),
        ("ç", 'c'),
        ("Ç", 'C'),
    ];
    TABLE
        .iter()
        .find(|(accented, _)| accented.contains(character))
        .map_or('?', |(_, plain)| *plain)
}

/// `TRADITIONAL_ESCAPED_CHAR` leaves these alone.
fn is_traditional_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b" !#$+.^_`|~-".contains(&byte)
}

/// `RFC_5987_ESCAPED_CHAR` leaves these alone.
fn is_rfc5987_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$&+.^_`|~-".contains(&byte)
}

/// Percent-escapes every UTF-8 byte `keep` does not accept.
fn escaped(text: &str, keep: fn(u8) -> bool) -> String {
    text.bytes()
        .map(|byte| {
            if keep(byte) {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

/// Registers the download routes.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route(
            "/rails/active_storage/{kind}/redirect/{token}/{filename}",
            web::get().to(redirect),
        )
        .route(
            "/rails/active_storage/disk/{token}/{filename}",
            web::get().to(disk),
        );
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn the_file_name_is_written_as_rails_writes_it() {
        assert_eq!(
            content_disposition("image/jpeg", "foto da loja.jpg"),
            "inline; filename=\"foto da loja.jpg\"; filename*=UTF-8''foto%20da%20loja.jpg"
        );
        assert_eq!(
            content_disposition("application/pdf", "relatório.pdf"),
            "inline; filename=\"relatorio.pdf\"; filename*=UTF-8''relat%C3%B3rio.pdf"
        );
        assert_eq!(
            content_disposition("audio/mpeg; charset=binary", "voz.mp3"),
            "attachment; filename=\"voz.mp3\"; filename*=UTF-8''voz.mp3"
        );
    }
}
