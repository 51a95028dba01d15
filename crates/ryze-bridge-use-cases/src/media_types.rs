//! Mime types as both relay directions need them: a `Content-Type`'s essence, and the
//! file extension to name a file of a given type when its sender gave no name.

/// `type/subtype` of a `Content-Type`, lowercased, without parameters.
pub(crate) fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// The usual extension of the media types WhatsApp and Chatwoot exchange; `None` for
/// another type. Parameters (`; codecs=opus`) are ignored.
pub(crate) fn extension_for(content_type: &str) -> Option<&'static str> {
    Some(match essence(content_type).as_str() {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        "image/gif" => "gif",
        "video/mp4" => "mp4",
        "video/3gpp" => "3gp",
        "audio/ogg" | "audio/opus" => "ogg",
        "audio/webm" => "webm",
        "audio/mpeg" => "mp3",
        "audio/mp4" | "audio/m4a" | "audio/aac" => "m4a",
        "application/pdf" => "pdf",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_ignore_parameters_and_case() {
        assert_eq!(extension_for("audio/ogg; codecs=opus"), Some("ogg"));
        assert_eq!(extension_for("Image/JPEG"), Some("jpg"));
        assert_eq!(extension_for("application/x-unknown"), None);
        assert_eq!(essence(" Text/Plain ; charset=utf-8"), "text/plain");
    }
}
