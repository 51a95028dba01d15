//! The adapter of the bridge's `AttachmentDownloader` port: fetches the files agents
//! attach in Chatwoot, for the outbound relay to send to WhatsApp.
//!
//! Chatwoot's `data_url` is an ActiveStorage URL that redirects to the file (its own disk
//! service, S3, …), so redirects are followed, each one through the outbound-address
//! guard (the guarded resolver checks every host name at connect time, the guarded
//! redirect policy every IP-literal target, and the URL itself is checked before the
//! request). No credential is sent: the URLs are signed by Chatwoot. The answer is read up
//! to the caller's limit and no further. It lives with the wiring because the bridge's
//! use-case crate makes no HTTP calls of its own.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use ryze_address_guard::{find_guard_error, guarded_client_builder, AddressPolicy};
use ryze_bridge::outbound::{AttachmentDownloader, DownloadError, DownloadedFile};
use url::Url;

/// Time limits of a download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttachmentDownloadSettings {
    pub connect_timeout: Duration,
    /// For the whole download, redirects and body included.
    pub timeout: Duration,
}

impl Default for AttachmentDownloadSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(120),
        }
    }
}

/// Downloads attachments with reqwest, behind the outbound-address guard.
pub struct GuardedAttachmentDownloader {
    client: reqwest::Client,
    policy: AddressPolicy,
}

impl GuardedAttachmentDownloader {
    pub fn new(
        policy: AddressPolicy,
        settings: AttachmentDownloadSettings,
    ) -> Result<Self, reqwest::Error> {
        let client = guarded_client_builder(policy)
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            .build()?;
        Ok(Self { client, policy })
    }

    async fn fetch(&self, url: &str, max_bytes: u64) -> Result<DownloadedFile, DownloadError> {
        let parsed = Url::parse(url).map_err(|error| {
            DownloadError::Refused(format!("the attachment URL is not a valid URL: {error}"))
        })?;
        self.policy
            .check_request_url(&parsed, "the attachment URL")
            .map_err(|error| DownloadError::Refused(error.to_string()))?;
        let mut response = self
            .client
            .get(parsed)
            .send()
            .await
            .map_err(transport_failure)?;
        let status = response.status();
        if !status.is_success() {
            return Err(DownloadError::Status {
                status: status.as_u16(),
            });
        }
        if response
            .content_length()
            .is_some_and(|length| length > max_bytes)
        {
            return Err(DownloadError::TooLarge {
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
        let content_type = header(CONTENT_TYPE);
        let file_name = header(CONTENT_DISPOSITION).and_then(|value| file_name_in(&value));
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport_failure)? {
            if (bytes.len() + chunk.len()) as u64 > max_bytes {
                return Err(DownloadError::TooLarge {
                    limit_bytes: max_bytes,
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(DownloadedFile {
            bytes,
            content_type,
            file_name,
        })
    }
}

#[async_trait]
impl AttachmentDownloader for GuardedAttachmentDownloader {
    async fn download(&self, url: &str, max_bytes: u64) -> Result<DownloadedFile, DownloadError> {
        self.fetch(url, max_bytes).await
    }
}

/// A failed request in words, without its URL (signed URLs are credentials to the file).
fn transport_failure(error: reqwest::Error) -> DownloadError {
    if let Some(refused) = find_guard_error(&error) {
        return DownloadError::Refused(refused.to_string());
    }
    let error = error.without_url();
    if error.is_timeout() {
        return DownloadError::Unreachable("the download timed out".to_owned());
    }
    let mut detail = error.to_string();
    let mut cause = std::error::Error::source(&error);
    while let Some(inner) = cause {
        detail = format!("{detail}: {inner}");
        cause = inner.source();
    }
    DownloadError::Unreachable(detail)
}

/// The `filename` of a `Content-Disposition` (quoted or not), without any path.
fn file_name_in(disposition: &str) -> Option<String> {
    disposition
        .split(';')
        .map(str::trim)
        .find_map(|part| part.strip_prefix("filename="))
        .map(|name| name.trim_matches('"'))
        .and_then(|name| name.rsplit(['/', '\\']).next())
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const LOCAL: AddressPolicy = AddressPolicy {
        allow_loopback: true,
        allow_private: true,
    };

    fn downloader(policy: AddressPolicy) -> GuardedAttachmentDownloader {
        GuardedAttachmentDownloader::new(
            policy,
            AttachmentDownloadSettings {
                connect_timeout: Duration::from_secs(2),
                timeout: Duration::from_secs(5),
            },
        )
        .unwrap()
    }

    #[tokio::test]
    async fn follows_chatwoots_redirect_to_the_file() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/rails/active_storage/blobs/redirect/tok/foto.jpg"))
            .respond_with(
                ResponseTemplate::new(302)
                    .insert_header("location", format!("{}/storage/abc", server.uri())),
            )
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/storage/abc"))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("content-type", "image/jpeg")
                    .insert_header("content-disposition", "inline; filename=\"foto.jpg\"")
                    .set_body_bytes(b"\xFF\xD8\xFFjpeg".to_vec()),
            )
            .mount(&server)
            .await;

        let file = downloader(LOCAL)
            .download(
                &format!(
                    "{}/rails/active_storage/blobs/redirect/tok/foto.jpg",
                    server.uri()
                ),
                1024,
            )
            .await
            .unwrap();

        assert_eq!(file.bytes, b"\xFF\xD8\xFFjpeg");
        assert_eq!(file.content_type.as_deref(), Some("image/jpeg"));
        assert_eq!(file.file_name.as_deref(), Some("foto.jpg"));
    }

    #[tokio::test]
    async fn a_file_over_the_limit_is_refused() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![7u8; 2048]))
            .mount(&server)
            .await;

        let refused = downloader(LOCAL)
            .download(&format!("{}/big.bin", server.uri()), 1024)
            .await;

        assert_eq!(refused, Err(DownloadError::TooLarge { limit_bytes: 1024 }));
    }

    #[tokio::test]
    async fn the_guard_refuses_addresses_the_policy_forbids() {
        let server = MockServer::start().await;
        let strict = AddressPolicy {
            allow_loopback: false,
            allow_private: false,
        };

        let refused = downloader(strict)
            .download(&format!("{}/file.pdf", server.uri()), 1024)
            .await;

        assert!(
            matches!(refused, Err(DownloadError::Refused(_))),
            "{refused:?}"
        );
        assert!(server.received_requests().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_redirect_to_cloud_metadata_is_refused() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(302)
                    .insert_header("location", "http://169.254.169.254/latest/meta-data/"),
            )
            .mount(&server)
            .await;

        let refused = downloader(LOCAL)
            .download(&format!("{}/blob", server.uri()), 1024)
            .await;

        assert!(
            matches!(refused, Err(DownloadError::Refused(_))),
            "{refused:?}"
        );
    }

    #[tokio::test]
    async fn error_statuses_say_whether_to_retry() {
        let server = MockServer::start().await;
        Mock::given(path("/gone"))
            .respond_with(ResponseTemplate::new(404))
            .mount(&server)
            .await;
        Mock::given(path("/busy"))
            .respond_with(ResponseTemplate::new(503))
            .mount(&server)
            .await;
        let downloader = downloader(LOCAL);

        let gone = downloader
            .download(&format!("{}/gone", server.uri()), 1024)
            .await
            .unwrap_err();
        let busy = downloader
            .download(&format!("{}/busy", server.uri()), 1024)
            .await
            .unwrap_err();

        assert_eq!(gone, DownloadError::Status { status: 404 });
        assert!(!gone.is_transient());
        assert!(busy.is_transient());
    }

    #[test]
    fn file_names_come_from_content_disposition_without_paths() {
        assert_eq!(
            file_name_in("attachment; filename=\"../../etc/relatorio.pdf\"").as_deref(),
            Some("relatorio.pdf")
        );
        assert_eq!(
            file_name_in("inline; filename=a.png").as_deref(),
            Some("a.png")
        );
        assert_eq!(file_name_in("inline"), None);
    }
}
