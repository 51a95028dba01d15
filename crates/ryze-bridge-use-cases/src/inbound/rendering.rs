//! How WhatsApp messages read in Chatwoot: the text of each kind of message, the header
//! of a group message, and the names of attached files. Pure functions.

use ryze_domain::message_formatting::whatsapp_to_chatwoot;

use crate::media_types::extension_for;
use ryze_domain::whatsapp_identity::ContactKey;
use ryze_ports::whatsapp_events::{ContactCard, Location, Media, MediaKind, Participant};

/// `**Name** (+5511912345678):` then a newline, heading a group message so agents see
/// who wrote it. The number is left out when the participant's phone is hidden.
pub fn group_header(participant: &Participant) -> String {
    let phone = ContactKey::from_sender(participant.jid.as_deref(), participant.lid.as_deref())
        .ok()
        .and_then(|key| key.phone().map(|phone| format!("+{}", phone.as_str())));
    let name = participant
        .name
        .as_deref()
        .map(str::trim)
        .filter(|name| !name.is_empty());
    match (name, phone) {
        (Some(name), Some(phone)) => format!("**{name}** ({phone}):\n"),
        (Some(name), None) => format!("**{name}**:\n"),
        (None, Some(phone)) => format!("**{phone}**:\n"),
        (None, None) => "**Unknown participant**:\n".to_owned(),
    }
}

/// A text message's content in Chatwoot markdown.
pub fn text(text: &str) -> String {
    whatsapp_to_chatwoot(text)
}

/// A location: its name and address when given, then a map link.
pub fn location(location: &Location) -> String {
    let mut lines = vec![if location.live {
        "📍 Live location".to_owned()
    } else {
        "📍 Location".to_owned()
    }];
    lines.extend(location.name.iter().map(|name| name.trim().to_owned()));
    lines.extend(
        location
            .address
            .iter()
            .map(|address| address.trim().to_owned()),
    );
    lines.push(location.map_url());
    if let Some(url) = location.url.as_deref().filter(|url| !url.trim().is_empty()) {
        lines.push(url.trim().to_owned());
    }
    lines.retain(|line| !line.is_empty());
    lines.join("\n")
}

/// Contact cards: each card's name, then its numbers (with their labels).
pub fn contact_cards(cards: &[ContactCard]) -> String {
    cards
        .iter()
        .map(|card| {
            let mut lines = vec![format!("👤 {}", card.display_name.trim())];
            lines.extend(card.numbers.iter().map(|number| match &number.label {
                Some(label) if !label.trim().is_empty() => {
                    format!("{} ({})", number.number.trim(), label.trim().to_lowercase())
                }
                _ => number.number.trim().to_owned(),
            }));
            lines.join("\n")
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// An edit, shown as a reply to the message it changes.
pub fn edit(new_text: &str) -> String {
    format!("✏️ Edited: {}", whatsapp_to_chatwoot(new_text))
}

/// A reaction whose target is not in Chatwoot (so it cannot be a reply to it).
pub fn reaction_to_unknown(emoji: &str) -> String {
    format!("{emoji} (reaction to a message that is not in this conversation)")
}

/// A message type the bridge does not know: said so, rather than dropped silently.
pub fn unsupported(type_name: &str) -> String {
    format!(
        "⚠️ A WhatsApp message of type \"{type_name}\" cannot be shown here; see it on the phone."
    )
}

/// The caption of a media message, in Chatwoot markdown (empty when none).
pub fn caption(media: &Media) -> String {
    media
        .caption
        .as_deref()
        .map(whatsapp_to_chatwoot)
        .unwrap_or_default()
}

/// The file name to upload a media message under: the original when the sender's app
/// gave one, else one made from the kind, the message id and the mime type.
pub fn file_name(media: &Media, message_id: &str, mime_type: &str) -> String {
    if let Some(name) = media
        .file_name
        .as_deref()
        .map(str::trim)
        .filter(|name| !name.is_empty())
    {
        return name.replace(['/', '\\'], "_");
    }
    let stem = match media.kind {
        MediaKind::Image => "image",
        MediaKind::Video => "video",
        MediaKind::Audio => "audio",
        MediaKind::Ptt => "voice-note",
        MediaKind::Ptv => "video-note",
        MediaKind::Document => "document",
        MediaKind::Sticker => "sticker",
    };
    format!(
        "{stem}-{message_id}.{}",
        extension_for_kind(mime_type, media.kind)
    )
}

/// The mime type to upload a media message with: what the engine said, else a sensible
/// default for the kind.
pub fn mime_type(media: &Media) -> String {
    media
        .mimetype
        .as_deref()
        .map(str::trim)
        .filter(|mime| !mime.is_empty())
        .map(str::to_owned)
        .unwrap_or_else(|| {
            match media.kind {
                MediaKind::Image => "image/jpeg",
                MediaKind::Video | MediaKind::Ptv => "video/mp4",
                MediaKind::Audio => "audio/mpeg",
                MediaKind::Ptt => "audio/ogg; codecs=opus",
                MediaKind::Document => "application/octet-stream",
                MediaKind::Sticker => "image/webp",
            }
            .to_owned()
        })
}

/// The extension for `mime_type`, else the usual one of the kind.
fn extension_for_kind(mime_type: &str, kind: MediaKind) -> &'static str {
    extension_for(mime_type).unwrap_or(match kind {
        MediaKind::Ptt => "ogg",
        MediaKind::Sticker => "webp",
        _ => "bin",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ryze_ports::whatsapp_events::ContactNumber;

    fn media(kind: MediaKind) -> Media {
        Media {
            kind,
            url: None,
            base64: None,
            mimetype: None,
            file_name: None,
            caption: None,
            size: None,
            seconds: None,
        }
    }

    #[test]
    fn group_messages_are_headed_by_the_participants_name_and_number() {
        let participant = Participant {
            jid: Some("5521999990000@s.whatsapp.net".into()),
            lid: None,
            name: Some("João".into()),
        };
        assert_eq!(group_header(&participant), "**João** (+5521999990000):\n");
        let hidden = Participant {
            jid: None,
            lid: Some("123456789@lid".into()),
            name: Some("Ana".into()),
        };
        assert_eq!(group_header(&hidden), "**Ana**:\n");
    }

    #[test]
    fn a_location_reads_as_its_place_and_a_map_link() {
        let place = Location {
            latitude: -23.5,
            longitude: -46.6,
            name: Some("Loja Centro".into()),
            address: Some("Rua A, 10".into()),
            url: None,
            live: false,
        };
        let text = location(&place);
        assert!(
            text.starts_with("📍 Location\nLoja Centro\nRua A, 10\n"),
            "{text}"
        );
        assert!(text.contains("-23.5"), "{text}");
        assert!(text.contains("-46.6"), "{text}");
    }

    #[test]
    fn contact_cards_list_names_and_numbers() {
        let cards = vec![ContactCard {
            display_name: "Carlos".into(),
            numbers: vec![ContactNumber {
                number: "+55 11 98888-7777".into(),
                wa_id: Some("5511988887777".into()),
                label: Some("CELL".into()),
            }],
            vcard: None,
        }];
        assert_eq!(contact_cards(&cards), "👤 Carlos\n+55 11 98888-7777 (cell)");
    }

    #[test]
    fn files_keep_their_names_or_get_one_from_kind_and_type() {
        let mut document = media(MediaKind::Document);
        document.file_name = Some("contrato/final.pdf".into());
        assert_eq!(
            file_name(&document, "ID1", "application/pdf"),
            "contrato_final.pdf"
        );
        let voice = media(MediaKind::Ptt);
        assert_eq!(mime_type(&voice), "audio/ogg; codecs=opus");
        assert_eq!(
            file_name(&voice, "ID2", &mime_type(&voice)),
            "voice-note-ID2.ogg"
        );
        let sticker = media(MediaKind::Sticker);
        assert_eq!(
            file_name(&sticker, "ID3", &mime_type(&sticker)),
            "sticker-ID3.webp"
        );
    }

    #[test]
    fn edits_say_they_are_edits() {
        assert_eq!(edit("*novo* texto"), "✏️ Edited: **novo** texto");
    }
}
