//! Agents' attachments: how a downloaded file goes out on WhatsApp
//! ([`OutgoingFile::classify`]). They are downloaded through the [`MediaFetcher`] port, the
//! one the API fetches `mediaUrl` with (adapter: `ryze-outbound-media-fetcher`).
//!
//! Chatwoot's `data_url` is an ActiveStorage URL that redirects (to its own disk service
//! or to S3 and the like), and the mime type Chatwoot or the storage declares is not
//! trusted: the bytes are sniffed (`infer`), the declared type is only a fallback.
//!
//! Decisions:
//! - JPEG, PNG and WebP go out as images; MP4 and 3GPP as videos; other images and
//!   videos (GIF, HEIC, QuickTime, Matroska, …), which WhatsApp would refuse or mangle,
//!   as documents with their file name. Audio goes out as audio.
//! - A voice note (`isVoice`) is an audio Chatwoot's recorder made
//!   (`meta.is_recorded_audio`), or any Ogg/Opus or WebM audio (the containers browsers
//!   record in). Chatwoot's recorder in Chrome writes WebM, which sniffs as `video/webm`:
//!   with Chatwoot's `file_type: audio` it is audio.
//! - Everything else is a document, with the file name from the URL.

use ryze_ports::whatsapp_events::OutgoingMediaType;
use ryze_ports::FetchedMedia;
#[cfg(doc)]
use ryze_ports::MediaFetcher;

use super::payload::AttachmentRef;
use crate::media_types::{essence, extension_for};

/// How refusals of the download name the URL (`the attachment URL: …`).
pub const ATTACHMENT_URL_FIELD: &str = "the attachment URL";

/// How one attachment goes out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingFile {
    pub media_type: OutgoingMediaType,
    pub mime_type: String,
    pub file_name: String,
    pub is_voice: bool,
}

const OCTET_STREAM: &str = "application/octet-stream";

/// `%XX` sequences decoded; invalid UTF-8 replaced.
fn percent_decoded(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// The last path segment of a URL, percent-decoded, if it looks like a file name.
fn file_name_in_url(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let segment = parsed.path_segments()?.next_back()?;
    let cleaned: String = percent_decoded(segment)
        .chars()
        .filter(|character| !character.is_control() && !matches!(character, '/' | '\\'))
        .collect();
    let cleaned = cleaned.trim();
    (!cleaned.is_empty()).then(|| cleaned.to_owned())
}

impl OutgoingFile {
    /// How `file`, downloaded for `attachment`, goes out.
    pub fn classify(file: &FetchedMedia, attachment: &AttachmentRef) -> Self {
        let chatwoot_says_audio = attachment.file_type.as_deref() == Some("audio");
        let declared = file
            .content_type
            .as_deref()
            .map(essence)
            .filter(|declared| !declared.is_empty() && declared != OCTET_STREAM);
        let sniffed = infer::get(&file.bytes).map(|kind| kind.mime_type().to_owned());
        let mime_type = match sniffed.as_deref() {
            // Browsers record audio in WebM/MP4 containers, which sniff as video.
            Some("video/webm") if chatwoot_says_audio => "audio/webm".to_owned(),
            Some("video/mp4") if chatwoot_says_audio => "audio/mp4".to_owned(),
            Some(sniffed) => sniffed.to_owned(),
            None => declared.unwrap_or_else(|| OCTET_STREAM.to_owned()),
        };
        let (media_type, is_voice) = match mime_type.as_str() {
            "image/jpeg" | "image/png" | "image/webp" => (OutgoingMediaType::Image, false),
            "video/mp4" | "video/3gpp" => (OutgoingMediaType::Video, false),
            "audio/ogg" | "audio/opus" | "audio/webm" => (OutgoingMediaType::Audio, true),
            audio if audio.starts_with("audio/") => (OutgoingMediaType::Audio, attachment.recorded),
            _ => (OutgoingMediaType::Document, false),
        };
        let mime_type = match mime_type.as_str() {
            // What WhatsApp calls a voice note's type.
            "audio/opus" => "audio/ogg; codecs=opus".to_owned(),
            _ => mime_type,
        };
        let file_name = file
            .file_name
            .clone()
            .filter(|name| !name.trim().is_empty())
            .or_else(|| file_name_in_url(&attachment.data_url))
            .unwrap_or_else(|| {
                format!("attachment.{}", extension_for(&mime_type).unwrap_or("bin"))
            });
        Self {
            media_type,
            mime_type,
            file_name,
            is_voice,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const PNG: &[u8] = &[
        0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, b'I', b'H', b'D', b'R',
    ];
    pub(crate) const OGG_OPUS: &[u8] = b"OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x13OpusHead\x01\x01";
    pub(crate) const PDF: &[u8] = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n";
    const MP3: &[u8] = b"ID3\x03\x00\x00\x00\x00\x00\x00";
    const WEBM: &[u8] = &[
        0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81, 0x01, 0x42, 0xF7, 0x81, 0x01, 0x42, 0xF2,
        0x81, 0x04, 0x42, 0xF3, 0x81, 0x08, 0x42, 0x82, 0x84, b'w', b'e', b'b', b'm', 0x42, 0x87,
        0x81, 0x04,
    ];

    pub(crate) fn attachment(url: &str, file_type: &str) -> AttachmentRef {
        AttachmentRef {
            data_url: url.to_owned(),
            file_type: Some(file_type.to_owned()),
            extension: None,
            recorded: false,
        }
    }

    fn file(bytes: &[u8], content_type: Option<&str>) -> FetchedMedia {
        FetchedMedia {
            bytes: bytes.to_vec(),
            content_type: content_type.map(str::to_owned),
            file_name: None,
        }
    }

    #[test]
    fn the_bytes_decide_over_the_declared_type() {
        let outgoing = OutgoingFile::classify(
            &file(PNG, Some("application/octet-stream")),
            &attachment(
                "https://cw.example/blobs/redirect/x/foto%20nova.jpg",
                "file",
            ),
        );
        assert_eq!(outgoing.media_type, OutgoingMediaType::Image);
        assert_eq!(outgoing.mime_type, "image/png");
        assert_eq!(outgoing.file_name, "foto nova.jpg");
        assert!(!outgoing.is_voice);
    }

    #[test]
    fn recordings_go_out_as_voice_notes_and_other_audio_as_audio() {
        let ogg = OutgoingFile::classify(
            &file(OGG_OPUS, Some("audio/mpeg")),
            &attachment("https://cw.example/r/x/voz.ogg", "audio"),
        );
        assert_eq!(
            (ogg.media_type, ogg.mime_type.as_str(), ogg.is_voice),
            (OutgoingMediaType::Audio, "audio/ogg; codecs=opus", true)
        );

        let webm = OutgoingFile::classify(
            &file(WEBM, None),
            &attachment("https://cw.example/r/x/rec.webm", "audio"),
        );
        assert_eq!(
            (webm.media_type, webm.mime_type.as_str(), webm.is_voice),
            (OutgoingMediaType::Audio, "audio/webm", true)
        );

        let song = OutgoingFile::classify(
            &file(MP3, None),
            &attachment("https://cw.example/r/x/song.mp3", "audio"),
        );
        assert_eq!(
            (song.media_type, song.is_voice),
            (OutgoingMediaType::Audio, false)
        );

        let mut recorded = attachment("https://cw.example/r/x/audio.mp3", "audio");
        recorded.recorded = true;
        let recorded = OutgoingFile::classify(&file(MP3, None), &recorded);
        assert!(recorded.is_voice, "Chatwoot's recorder made it");
    }

    #[test]
    fn unknown_bytes_fall_back_to_the_declared_type_and_go_out_as_documents() {
        let csv = OutgoingFile::classify(
            &file(b"a,b\n1,2\n", Some("text/csv; charset=utf-8")),
            &attachment("https://cw.example/r/x/report.csv", "file"),
        );
        assert_eq!(csv.media_type, OutgoingMediaType::Document);
        assert_eq!(csv.mime_type, "text/csv");
        assert_eq!(csv.file_name, "report.csv");

        let pdf = OutgoingFile::classify(&file(PDF, None), &attachment("not a url", "file"));
        assert_eq!(pdf.media_type, OutgoingMediaType::Document);
        assert_eq!(pdf.file_name, "attachment.pdf");
    }
}
