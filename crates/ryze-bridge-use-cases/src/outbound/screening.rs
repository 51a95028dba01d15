//! Which of an agent's attachments the bridge downloads at all. The webhook body names
//! them, and whoever knows the integration's webhook URL can write that body, so the
//! bridge fetches only:
//! - files its own Chatwoot serves: a `data_url` with the same origin (scheme, host,
//!   port) as the integration's Chatwoot base URL; the downloader follows that URL's
//!   redirects (ActiveStorage redirects to its disk service or to S3 and the like);
//! - at most [`ATTACHMENTS_PER_MESSAGE`] of them, in order.
//!
//! The others are never fetched. They are not dropped silently either: agents get a
//! private note naming why (origins only, never a path or query string).

use ryze_domain::ChatwootBaseUrl;

use super::payload::AttachmentRef;
use super::ATTACHMENTS_PER_MESSAGE;

/// An agent's attachments, split into those sent and why the others are not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreenedAttachments {
    pub sendable: Vec<AttachmentRef>,
    /// One reason per kind of refusal; empty when every attachment goes out.
    pub refused: Vec<String>,
}

impl ScreenedAttachments {
    /// Splits `attachments` for the integration whose Chatwoot is at `chatwoot`.
    pub fn of(attachments: &[AttachmentRef], chatwoot: &ChatwootBaseUrl) -> Self {
        let own_origin = url::Url::parse(chatwoot.as_str())
            .ok()
            .map(|url| url.origin());
        let mut foreign_origins: Vec<String> = Vec::new();
        let mut foreign = 0;
        let mut same_origin = Vec::new();
        for attachment in attachments {
            let origin = url::Url::parse(&attachment.data_url)
                .ok()
                .map(|url| url.origin());
            match origin {
                Some(origin) if origin.is_tuple() && Some(&origin) == own_origin.as_ref() => {
                    same_origin.push(attachment.clone());
                }
                other => {
                    foreign += 1;
                    let shown = other.filter(url::Origin::is_tuple).map_or_else(
                        || "not a web address".to_owned(),
                        |origin| origin.ascii_serialization(),
                    );
                    if !foreign_origins.contains(&shown) {
                        foreign_origins.push(shown);
                    }
                }
            }
        }
        let mut refused = Vec::new();
        if foreign > 0 {
            refused.push(format!(
                "{} not served by this inbox's Chatwoot ({})",
                attachments_in_words(foreign),
                foreign_origins.join(", ")
            ));
        }
        if same_origin.len() > ATTACHMENTS_PER_MESSAGE {
            let beyond = same_origin.len() - ATTACHMENTS_PER_MESSAGE;
            same_origin.truncate(ATTACHMENTS_PER_MESSAGE);
            refused.push(format!(
                "{} beyond the {ATTACHMENTS_PER_MESSAGE} one message may carry",
                attachments_in_words(beyond)
            ));
        }
        Self {
            sendable: same_origin,
            refused,
        }
    }

    /// The private note telling agents what did not go out; `None` when all did.
    pub fn note(&self) -> Option<String> {
        (!self.refused.is_empty()).then(|| {
            format!(
                "Not sent to WhatsApp with the message above: {}. Send them in another message, from this conversation.",
                self.refused.join("; ")
            )
        })
    }
}

fn attachments_in_words(count: usize) -> String {
    match count {
        1 => "1 attachment".to_owned(),
        _ => format!("{count} attachments"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::media::tests::attachment;

    fn chatwoot() -> ChatwootBaseUrl {
        ChatwootBaseUrl::parse("https://cw.example").unwrap()
    }

    #[test]
    fn only_files_of_the_integrations_own_chatwoot_are_fetched() {
        let attachments = [
            attachment(
                "https://cw.example/rails/active_storage/blobs/redirect/a/1.jpg",
                "image",
            ),
            attachment(
                "https://evil.example:8443/slow/2.jpg?X-Amz-Signature=secret",
                "image",
            ),
            attachment(
                "http://cw.example/rails/active_storage/blobs/redirect/b/3.jpg",
                "image",
            ),
            attachment("https://cw.example.evil.test/4.jpg", "image"),
            attachment("file:///etc/passwd", "file"),
        ];

        let screened = ScreenedAttachments::of(&attachments, &chatwoot());

        assert_eq!(screened.sendable, vec![attachments[0].clone()]);
        let note = screened.note().unwrap();
        assert!(
            note.contains("4 attachments not served by this inbox's Chatwoot"),
            "{note}"
        );
        assert!(note.contains("https://evil.example:8443"), "{note}");
        assert!(
            note.contains("http://cw.example,"),
            "another scheme is another origin: {note}"
        );
        assert!(note.contains("not a web address"), "{note}");
        assert!(
            !note.contains("slow") && !note.contains("secret"),
            "no path or query: {note}"
        );
    }

    #[test]
    fn at_most_ten_attachments_go_out_and_agents_are_told_about_the_rest() {
        let attachments: Vec<AttachmentRef> = (0..13)
            .map(|index| attachment(&format!("https://cw.example/r/{index}.pdf"), "file"))
            .collect();

        let screened = ScreenedAttachments::of(&attachments, &chatwoot());

        assert_eq!(screened.sendable, attachments[..10].to_vec());
        assert_eq!(
            screened.note().unwrap(),
            "Not sent to WhatsApp with the message above: 3 attachments beyond the 10 one message may carry. Send them in another message, from this conversation."
        );
        assert_eq!(
            ScreenedAttachments::of(&attachments[..10], &chatwoot()).note(),
            None
        );
    }
}
