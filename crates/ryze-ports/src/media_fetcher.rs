//! Fetching a file from a URL we were given, through the outbound-address guard: the
//! API's `mediaUrl` of `POST /api/message/media` (the API downloads it itself and hands
//! the engine the bytes, `docs/engine-contract.md` §5: the API never sends the engine a
//! URL), and the bridge's agents' attachments (Chatwoot's ActiveStorage URLs). One port
//! for both; each caller's adapter carries its own timeouts and user agent.

use async_trait::async_trait;

/// A downloaded file. `Debug` shows its size, never its bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct FetchedMedia {
    pub bytes: Vec<u8>,
    /// The `Content-Type` the server declared, if any (not trusted: callers sniff).
    pub content_type: Option<String>,
    /// The file name the server gave (`Content-Disposition`), or else the last segment
    /// of the final URL's path when it looks like a file name.
    pub file_name: Option<String>,
}

impl std::fmt::Debug for FetchedMedia {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FetchedMedia")
            .field("len", &self.bytes.len())
            .field("content_type", &self.content_type)
            .field("file_name", &self.file_name)
            .finish()
    }
}

/// Why a file could not be fetched. Texts name the caller's URL and never anything the
/// refused server would have answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaFetchError {
    /// The URL is not an http(s) URL, or the outbound-address guard refused it or a
    /// redirect target; the text starts with the field name and says why.
    #[error("{message}")]
    Refused { message: String },
    /// The file is larger than the limit.
    #[error("the file is larger than {limit_bytes} bytes")]
    TooLarge { limit_bytes: u64 },
    /// The server refused to serve the file, for good (after redirects); `answer` is
    /// what it answered, e.g. `HTTP 404`.
    #[error("the server answered {answer}")]
    ServerRefused { answer: String },
    /// The server cannot serve the file now but may later (it timed out, throttled us or
    /// failed); `answer` is what it answered, e.g. `HTTP 503`.
    #[error("the server answered {answer}")]
    ServerUnavailable { answer: String },
    /// No (complete) answer: DNS, refused, reset, timeout.
    #[error("{detail}")]
    Unreachable { detail: String },
}

impl MediaFetchError {
    /// Whether fetching again later may work: no answer, or a server that said so.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable { .. } | Self::ServerUnavailable { .. } => true,
            Self::Refused { .. } | Self::TooLarge { .. } | Self::ServerRefused { .. } => false,
        }
    }
}

/// Downloads files from URLs users give. The adapter follows redirects, checks every
/// address (the URL's and each redirect's) against the address policy, has a timeout,
/// stops reading past `max_bytes`, and sends no credentials.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait MediaFetcher: Send + Sync {
    /// `field` names the URL in refusal texts (`mediaUrl`, `the attachment URL`).
    async fn fetch(
        &self,
        field: &'static str,
        url: &str,
        max_bytes: u64,
    ) -> Result<FetchedMedia, MediaFetchError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_the_size_not_the_bytes() {
        let media = FetchedMedia {
            bytes: b"secret-bytes".to_vec(),
            content_type: Some("image/png".into()),
            file_name: None,
        };
        let shown = format!("{media:?}");
        assert!(shown.contains("len: 12"), "{shown}");
        assert!(!shown.contains("secret"), "{shown}");
    }

    #[test]
    fn only_failures_that_may_pass_later_are_transient() {
        assert!(MediaFetchError::Unreachable { detail: "x".into() }.is_transient());
        assert!(MediaFetchError::ServerUnavailable {
            answer: "HTTP 503".into()
        }
        .is_transient());
        assert!(!MediaFetchError::ServerRefused {
            answer: "HTTP 404".into()
        }
        .is_transient());
        assert!(!MediaFetchError::TooLarge { limit_bytes: 1 }.is_transient());
        assert!(!MediaFetchError::Refused {
            message: "x".into()
        }
        .is_transient());
    }
}
