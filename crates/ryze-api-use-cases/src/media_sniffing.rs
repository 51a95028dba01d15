//! The mime type a file's bytes show, for media sent without a declared type and media
//! downloaded without one.

use base64::Engine as _;
use ryze_domain::message_commands::LENIENT_BASE64;
use ryze_ports::whatsapp_events::MediaData;

/// How much base64 is decoded to sniff a downloaded file's type.
const SNIFF_BASE64_CHARS: usize = 8192;

/// The mime type the bytes show, when `infer` recognises them.
pub(crate) fn sniffed_mime_type(bytes: &[u8]) -> Option<String> {
    infer::get(bytes).map(|kind| kind.mime_type().to_owned())
}

/// The mime type the whole of checked, canonical base64 shows.
pub(crate) fn sniffed_whole_base64_mime_type(base64: &str) -> Option<String> {
    let bytes = LENIENT_BASE64.decode(base64.as_bytes()).ok()?;
    sniffed_mime_type(&bytes)
}

/// The mime type the start of base64 media shows.
pub(crate) fn sniffed_base64_mime_type(data: &MediaData) -> Option<String> {
    let text = data.as_str().trim();
    let end = text.len().min(SNIFF_BASE64_CHARS) / 4 * 4;
    let head = text.get(..end)?;
    let bytes = LENIENT_BASE64.decode(head.as_bytes()).ok()?;
    sniffed_mime_type(&bytes)
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    const PNG: &[u8] =
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00";

    #[test]
    fn inline_media_is_sniffed_from_its_bytes() {
        assert_eq!(
            sniffed_whole_base64_mime_type(&STANDARD.encode(PNG)).as_deref(),
            Some("image/png")
        );
        assert_eq!(sniffed_whole_base64_mime_type("aGVsbG8="), None);
    }

    #[test]
    fn downloaded_media_is_sniffed_from_its_first_bytes() {
        let data = MediaData::new(STANDARD.encode([PNG, &[7u8; 20_000][..]].concat()));
        assert_eq!(
            sniffed_base64_mime_type(&data).as_deref(),
            Some("image/png")
        );
        assert_eq!(sniffed_base64_mime_type(&MediaData::new("%%%%")), None);
    }
}
