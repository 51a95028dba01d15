//! The JSON bodies of the bridge API (`docs/bridge-api.md`), field for field.

use serde::{Deserialize, Serialize};

/// Error codes of the error envelope.
pub(crate) mod codes {
    use ryze_ports::ChatwootFailureKind;

    pub(crate) const INVALID_REQUEST: &str = "invalid_request";
    pub(crate) const NOT_FOUND: &str = "not_found";
    pub(crate) const UNAUTHORIZED: &str = "unauthorized";

    /// The `chatwoot_*` codes: the bridge's classification of a Chatwoot failure.
    pub(crate) fn chatwoot_failure(code: &str) -> Option<ChatwootFailureKind> {
        Some(match code {
            "chatwoot_not_found" => ChatwootFailureKind::NotFound,
            "chatwoot_unauthorized" => ChatwootFailureKind::Unauthorized,
            "chatwoot_forbidden" => ChatwootFailureKind::Forbidden,
            "chatwoot_not_account_member" => ChatwootFailureKind::NotAccountMember,
            "chatwoot_invalid" => ChatwootFailureKind::Invalid,
            "chatwoot_rate_limited" => ChatwootFailureKind::RateLimited,
            "chatwoot_unavailable" => ChatwootFailureKind::Unavailable,
            "chatwoot_redirected" => ChatwootFailureKind::Redirected,
            "chatwoot_timed_out" => ChatwootFailureKind::TimedOut,
            "chatwoot_unreachable" => ChatwootFailureKind::Unreachable,
            "chatwoot_unreadable_answer" => ChatwootFailureKind::UnreadableAnswer,
            _ => return None,
        })
    }
}

/// `POST /v1/integrations/activate`. Holds the Chatwoot API token in clear, so it has no
/// `Debug` and lives only while the request is built.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ActivateBody<'a> {
    pub instance_id: &'a str,
    pub instance_name: &'a str,
    pub chatwoot_base_url: &'a str,
    pub chatwoot_account_id: i64,
    pub chatwoot_api_token: &'a str,
    pub inbox_name: &'a str,
    pub sign_messages: bool,
    pub ignore_groups: bool,
    pub start_as_pending: bool,
    pub reopen_resolved: bool,
}

/// Answer to activate (`200` or `201`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ActivateAnswer {
    pub id: String,
    #[serde(default)]
    pub inbox_id: Option<i64>,
}

/// Answer to `GET /v1/integrations/{id}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StatusAnswer {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default)]
    pub inbox_id: Option<i64>,
    #[serde(default)]
    pub connection: Option<String>,
    #[serde(default)]
    pub counters: Option<CountersAnswer>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct CountersAnswer {
    #[serde(default)]
    pub received: u64,
    #[serde(default)]
    pub relayed: u64,
    #[serde(default)]
    pub failed: u64,
    #[serde(default)]
    pub queued: u64,
}

/// Every error answer: `{"error": {...}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorEnvelope {
    pub error: ErrorAnswer,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ErrorAnswer {
    pub code: String,
    #[serde(default)]
    pub message: String,
}
