//! The request bodies of the message endpoints as the OpenAPI document describes them.
//!
//! The handlers read these bodies into the domain's `…Request` types
//! (`ryze_domain::message_commands`), which know nothing of OpenAPI; these mirrors carry
//! the same field names (camelCase) and the rules `docs/api.md` states. A test fills every
//! property of each schema and reads the object into its domain type: a field one side
//! has and the other lacks fails it.

use utoipa::ToSchema;

/// `POST /api/message/text/{instance}`.
#[derive(ToSchema)]
#[schema(as = TextMessage, rename_all = "camelCase")]
#[allow(dead_code)]
pub(crate) struct TextMessageBody {
    /// A phone number with its country code (`5511912345678`), or a `@s.whatsapp.net`,
    /// `@lid` or `@g.us` JID.
    #[schema(example = "5511912345678")]
    number: String,
    /// The text, at most 65,536 characters, not blank.
    #[schema(example = "Olá!")]
    message: String,
    /// The WhatsApp id of the message quoted.
    reply_to: Option<String>,
    /// The WhatsApp id to give the new message: 16–32 uppercase hex digits. Repeating a
    /// command with the same `id` never sends twice.
    id: Option<String>,
}

/// `POST /api/message/media/{instance}`: exactly one of `mediaUrl` and `mediaBase64`.
#[derive(ToSchema)]
#[schema(as = MediaMessage, rename_all = "camelCase")]
#[allow(dead_code)]
pub(crate) struct MediaMessageBody {
    #[schema(example = "5511912345678")]
    number: String,
    /// `image`, `video`, `document` or `audio`.
    #[schema(example = "image")]
    media_type: String,
    /// A URL the API downloads (through its outbound-address guard).
    media_url: Option<String>,
    /// The file in standard base64 (a `data:<mime>;base64,` prefix is accepted).
    media_base64: Option<String>,
    /// The caption.
    message: Option<String>,
    /// `type/subtype[; parameters]`.
    mime_type: Option<String>,
    /// At most 255 characters, no `/`, `\` or control characters.
    file_name: Option<String>,
    /// A voice note; only with `mediaType: "audio"`.
    is_voice: Option<bool>,
    reply_to: Option<String>,
    id: Option<String>,
}

/// `POST /api/message/reaction/{instance}`.
#[derive(ToSchema)]
#[schema(as = Reaction, rename_all = "camelCase")]
#[allow(dead_code)]
pub(crate) struct ReactionBody {
    #[schema(example = "5511912345678")]
    number: String,
    /// The WhatsApp id of the message reacted to.
    message_id: String,
    /// An emoji (at most 64 bytes), or `""` to remove the reaction.
    #[schema(example = "👍")]
    reaction: String,
    /// Whether the instance sent the message reacted to; default false.
    from_me: Option<bool>,
    /// In a group: who sent the message reacted to.
    participant: Option<String>,
    id: Option<String>,
}

/// `POST /api/chat/edit/{instance}`.
#[derive(ToSchema)]
#[schema(as = EditMessage, rename_all = "camelCase")]
#[allow(dead_code)]
pub(crate) struct EditMessageBody {
    message_id: String,
    /// The new text.
    content: String,
    /// The chat, when known.
    number: Option<String>,
    id: Option<String>,
}

/// `DELETE` (or `POST`) `/api/chat/delete/{instance}`.
#[derive(ToSchema)]
#[schema(as = DeleteMessage, rename_all = "camelCase")]
#[allow(dead_code)]
pub(crate) struct DeleteMessageBody {
    message_id: String,
    /// `true` revokes for everyone, `false` deletes on the instance's devices only.
    delete_for_everyone: bool,
    number: Option<String>,
    id: Option<String>,
}

/// `POST /api/chat/markRead/{instance}`.
#[derive(ToSchema)]
#[schema(as = MarkRead, rename_all = "camelCase")]
#[allow(dead_code)]
pub(crate) struct MarkReadBody {
    message_id: String,
    #[schema(example = "5511912345678")]
    number: String,
    /// In a group: who sent the message.
    sender: Option<String>,
}
