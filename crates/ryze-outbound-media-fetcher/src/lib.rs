//! Downloads files from URLs users give (`mediaUrl` of `POST /api/message/media`): the
//! [`MediaFetcher`] port over reqwest, behind the outbound-address guard. The bridge
//! downloads agents' attachments with it too
//! ([`GuardedMediaFetcher::for_chatwoot_attachments`]: Chatwoot's ActiveStorage URLs,
//! which redirect to the file; signed, so no credential is needed).
//!
//! Every URL is checked before the request ([`AddressPolicy::check_request_url`]); the
//! client's DNS resolver and redirect policy ([`guarded_client_builder`]) check every
//! address again at connect time and every redirect target, so neither a DNS answer nor a
//! redirect can lead to cloud metadata or, unless the policy allows it, to loopback or a
//! private network. Redirects are followed (at most
//! [`ryze_outbound_address_guard::MAX_REDIRECTS`]), the whole download has a timeout, the answer is
//! read up to the caller's limit and no further, and no credentials are sent (a URL with
//! a user name or password is refused).
//!
//! Error texts name the field and the problem, never the URL's query (presigned URLs
//! carry credentials there) nor anything the refused server would have answered; URLs
//! are shown through [`shown_url`], the guard's one helper for that.
//!
//! Each use has its own address policy: a caller's `mediaUrl`
//! ([`MediaFetcherSettings::for_media_urls`]) reaches no loopback or private address
//! unless `MEDIA_URL_ALLOW_PRIVATE_ADDRESSES` allows it, since the file goes back to the
//! caller; Chatwoot's attachments ([`GuardedMediaFetcher::for_chatwoot_attachments`])
//! follow the integration's Chatwoot policy.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use reqwest::StatusCode;
use ryze_outbound_address_guard::{
    find_guard_error, guarded_client_builder, shown_url, AddressPolicy,
};
use ryze_outbound_service_client::{transport_failure_reason, Timeouts};
use ryze_ports::{FetchedMedia, MediaFetchError, MediaFetcher};
use url::Url;

/// Longest wait for the connection by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for a whole download by default (64 MiB at ~20 Mbit/s).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait for the connection to an agent's attachment (the bridge).
pub const ATTACHMENT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for a whole attachment download (the bridge; 64 MiB on a slow link).
pub const ATTACHMENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// Who resets a connection, in `connection reset by …`.
const PEER: &str = "the media's server";
const MAX_FILE_NAME_CHARS: usize = 255;

/// Which addresses may be fetched and how long a download may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaFetcherSettings {
    pub policy: AddressPolicy,
    pub connect_timeout: Duration,
    /// From connecting to the last byte, redirects included.
    pub request_timeout: Duration,
}

impl MediaFetcherSettings {
    /// The default timeouts (5 s to connect, 30 s in all) under `policy`.
    pub fn new(policy: AddressPolicy) -> Self {
        Self {
            policy,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }

    /// A caller's `mediaUrl`: the default timeouts under [`AddressPolicy::media_url`], so
    /// loopback and private networks only when `allow_private_addresses`
    /// (`MEDIA_URL_ALLOW_PRIVATE_ADDRESSES`, off by default): the caller gets the file
    /// back through WhatsApp, so a URL inside our network would read it for them.
    pub fn for_media_urls(allow_private_addresses: bool) -> Self {
        Self::new(AddressPolicy::media_url(allow_private_addresses))
    }
}

/// Why the settings cannot make a fetcher.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaFetcherBuildError {
    #[error("cannot build the media download client: {0}")]
    HttpClient(String),
}

/// [`MediaFetcher`] over a guarded reqwest client. Cheap to share in an `Arc`.
#[derive(Debug)]
pub struct GuardedMediaFetcher {
    http: reqwest::Client,
    policy: AddressPolicy,
    timeouts: Timeouts,
}

impl GuardedMediaFetcher {
    /// A fetcher for the API, introducing itself as `ryze-api/<version>`.
    pub fn new(settings: MediaFetcherSettings) -> Result<Self, MediaFetcherBuildError> {
        Self::with_user_agent(settings, concat!("ryze-api/", env!("CARGO_PKG_VERSION")))
    }

    /// The bridge's fetcher of agents' attachments, introducing itself as
    /// `ryze-bridge/<version>`, with the attachment timeouts (10 s to connect, 120 s in
    /// all) under `policy`: the integration's Chatwoot policy
    /// ([`AddressPolicy::chatwoot`]), since the URLs come from that Chatwoot.
    pub fn for_chatwoot_attachments(policy: AddressPolicy) -> Result<Self, MediaFetcherBuildError> {
        Self::with_user_agent(
            MediaFetcherSettings {
                policy,
                connect_timeout: ATTACHMENT_CONNECT_TIMEOUT,
                request_timeout: ATTACHMENT_REQUEST_TIMEOUT,
            },
            concat!("ryze-bridge/", env!("CARGO_PKG_VERSION")),
        )
    }

    /// A fetcher sending `user_agent` as its `User-Agent`.
    pub fn with_user_agent(
        settings: MediaFetcherSettings,
        user_agent: &'static str,
    ) -> Result<Self, MediaFetcherBuildError> {
        let http = guarded_client_builder(settings.policy)
            .user_agent(user_agent)
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .build()
            .map_err(|error| MediaFetcherBuildError::HttpClient(error.to_string()))?;
        Ok(Self {
            http,
            policy: settings.policy,
            timeouts: Timeouts {
                connect: settings.connect_timeout,
                request: settings.request_timeout,
            },
        })
    }

    /// What a failed request means: a guard refusal (with the guard's sentence) or no
    /// answer. The URL, query included, is dropped from the error first: no text made
    /// from it may show a presigned URL's signature.
    fn failure(&self, field: &str, error: reqwest::Error) -> MediaFetchError {
        let error = error.without_url();
        match find_guard_error(&error) {
            Some(guard) => MediaFetchError::Refused {
                message: format!("{field}: {guard}"),
            },
            None => MediaFetchError::Unreachable {
                detail: transport_failure_reason(&error, self.timeouts, PEER),
            },
        }
    }
}

#[async_trait]
impl MediaFetcher for GuardedMediaFetcher {
    async fn fetch(
        &self,
        field: &'static str,
        url: &str,
        max_bytes: u64,
    ) -> Result<FetchedMedia, MediaFetchError> {
        let parsed = Url::parse(url.trim()).map_err(|error| MediaFetchError::Refused {
            message: format!("{field}: not a valid absolute URL ({error})"),
        })?;
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(MediaFetchError::Refused {
                message: format!("{field}: must not contain a user name or password"),
            });
        }
        self.policy
            .check_request_url(&parsed, field)
            .map_err(|error| MediaFetchError::Refused {
                message: error.to_string(),
            })?;
        tracing::debug!(url = %shown_url(&parsed), "fetching media");
        let mut response = self
            .http
            .get(parsed)
            .send()
            .await
            .map_err(|error| self.failure(field, error))?;
        let status = response.status();
        if !status.is_success() {
            tracing::debug!(status = status.as_u16(), "the media's server refused");
            return Err(server_error(status));
        }
        if status == StatusCode::NO_CONTENT {
            return Err(server_error(status));
        }
        if response
            .content_length()
            .is_some_and(|length| length > max_bytes)
        {
            return Err(MediaFetchError::TooLarge {
                limit_bytes: max_bytes,
            });
        }
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|value: &reqwest::header::HeaderValue| value.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header(CONTENT_TYPE).filter(|value| !value.trim().is_empty());
        let file_name = header(CONTENT_DISPOSITION)
            .and_then(|value| file_name_in_disposition(&value))
            .or_else(|| file_name_in_url(response.url()));
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| self.failure(field, error))?
        {
            if (bytes.len() + chunk.len()) as u64 > max_bytes {
                return Err(MediaFetchError::TooLarge {
                    limit_bytes: max_bytes,
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(FetchedMedia {
            bytes,
            content_type,
            file_name,
        })
    }
}

/// `%XX` sequences decoded; invalid UTF-8 replaced.
fn percent_decoded(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// A name fit to give WhatsApp: its last path component, without control characters,
/// trimmed, at most 255 characters; `None` when nothing is left.
fn cleaned_file_name(raw: &str) -> Option<String> {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_FILE_NAME_CHARS)
        .collect();
    let cleaned = cleaned.trim();
    (!cleaned.is_empty() && cleaned != "." && cleaned != "..").then(|| cleaned.to_owned())
}

/// The file name of a `Content-Disposition` header: `filename*=UTF-8''…` first, then
/// `filename=` (quoted or not).
fn file_name_in_disposition(header: &str) -> Option<String> {
    let parameters: Vec<(String, &str)> = header
        .split(';')
        .skip(1)
        .filter_map(|parameter| {
            let (name, value) = parameter.split_once('=')?;
            Some((name.trim().to_ascii_lowercase(), value.trim()))
        })
        .collect();
    let extended = parameters
        .iter()
        .find(|(name, _)| name == "filename*")
        .and_then(|(_, value)| {
            let (_charset_and_language, encoded) = value.split_once("''")?;
            cleaned_file_name(&percent_decoded(encoded.trim_matches('"')))
        });
    extended.or_else(|| {
        parameters
            .iter()
            .find(|(name, _)| name == "filename")
            .and_then(|(_, value)| cleaned_file_name(value.trim_matches('"')))
    })
}

/// The last segment of the URL's path, decoded, when it looks like a file name (has an
/// extension).
fn file_name_in_url(url: &Url) -> Option<String> {
    let segment = url.path_segments()?.next_back()?;
    let name = cleaned_file_name(&percent_decoded(segment))?;
    let has_extension = name
        .rsplit_once('.')
        .is_some_and(|(stem, extension)| !stem.is_empty() && !extension.is_empty());
    has_extension.then_some(name)
}

/// A server's error answer as the port names it: worth another try later (timed out,
/// throttled, failing) or refused for good.
fn server_error(status: StatusCode) -> MediaFetchError {
    let answer = format!("HTTP {}", status.as_u16());
    if status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
    {
        MediaFetchError::ServerUnavailable { answer }
    } else {
        MediaFetchError::ServerRefused { answer }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_come_from_the_disposition_then_the_url() {
        assert_eq!(
            file_name_in_disposition("attachment; filename=\"relatório final.pdf\"").as_deref(),
            Some("relatório final.pdf")
        );
        assert_eq!(
            file_name_in_disposition(
                "attachment; filename=\"fallback.pdf\"; filename*=UTF-8''relat%C3%B3rio.pdf"
            )
            .as_deref(),
            Some("relatório.pdf")
        );
        assert_eq!(
            file_name_in_disposition("attachment; filename=../../etc/passwd").as_deref(),
            Some("passwd")
        );
        assert_eq!(file_name_in_disposition("inline").as_deref(), None);
        let url = |text: &str| Url::parse(text).unwrap();
        assert_eq!(
            file_name_in_url(&url("https://cdn.example/a/foto%20nova.jpg?sig=x")).as_deref(),
            Some("foto nova.jpg")
        );
        assert_eq!(file_name_in_url(&url("https://cdn.example/download")), None);
        assert_eq!(file_name_in_url(&url("https://cdn.example/")), None);
    }

    #[test]
    fn file_names_come_from_content_disposition_without_paths() {
        assert_eq!(
            file_name_in_disposition("attachment; filename=\"../../etc/relatorio.pdf\"").as_deref(),
            Some("relatorio.pdf")
        );
        assert_eq!(
            file_name_in_disposition("inline; filename=a.png").as_deref(),
            Some("a.png")
        );
        assert_eq!(file_name_in_disposition("inline"), None);
    }

    #[test]
    fn shown_urls_drop_the_query() {
        let url =
            Url::parse("https://s3.example/bucket/a.png?X-Amz-Signature=secret#frag").unwrap();
        assert_eq!(shown_url(&url), "https://s3.example/bucket/a.png");
    }
}
