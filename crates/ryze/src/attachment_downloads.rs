//! The adapter of the bridge's `AttachmentDownloader` port: fetches the files agents
//! attach in Chatwoot, for the outbound relay to send to WhatsApp.
//!
//! Chatwoot's `data_url` is an ActiveStorage URL that redirects to the file (its own disk
//! service, S3, …). The download itself is `ryze-outbound-media-fetcher`'s guarded fetcher, the
//! one the API uses for `mediaUrl`: redirects followed, each one through the
//! outbound-address guard (the URL checked before the request, every host name at connect
//! time, every redirect target), no credential sent (the URLs are signed by Chatwoot), a
//! timeout, and the answer read up to the caller's limit and no further. This wrapper
//! only gives it the bridge's time limits and turns its answers into the port's. It lives
//! with the wiring because the bridge's use-case crate makes no HTTP calls of its own.

use std::time::Duration;

use async_trait::async_trait;
use ryze_bridge_use_cases::outbound::{AttachmentDownloader, DownloadError, DownloadedFile};
use ryze_outbound_address_guard::AddressPolicy;
use ryze_outbound_media_fetcher::{
    GuardedMediaFetcher, MediaFetcherBuildError, MediaFetcherSettings,
};
use ryze_ports::{FetchedMedia, MediaFetchError, MediaFetcher};

/// How refusals name the URL (`the attachment URL: …`).
const URL_FIELD: &str = "the attachment URL";

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

/// Downloads attachments through the guarded media fetcher.
pub struct GuardedAttachmentDownloader {
    fetcher: GuardedMediaFetcher,
}

impl GuardedAttachmentDownloader {
    pub fn new(
        policy: AddressPolicy,
        settings: AttachmentDownloadSettings,
    ) -> Result<Self, MediaFetcherBuildError> {
        let fetcher = GuardedMediaFetcher::with_user_agent(
            MediaFetcherSettings {
                policy,
                connect_timeout: settings.connect_timeout,
                request_timeout: settings.timeout,
            },
            concat!("ryze-bridge/", env!("CARGO_PKG_VERSION")),
        )?;
        Ok(Self { fetcher })
    }
}

#[async_trait]
impl AttachmentDownloader for GuardedAttachmentDownloader {
    async fn download(&self, url: &str, max_bytes: u64) -> Result<DownloadedFile, DownloadError> {
        let FetchedMedia {
            bytes,
            content_type,
            file_name,
        } = self
            .fetcher
            .fetch(URL_FIELD, url, max_bytes)
            .await
            .map_err(download_error)?;
        Ok(DownloadedFile {
            bytes,
            content_type,
            file_name,
        })
    }
}

/// The port's error for the fetcher's: the same four cases, with the same texts (which
/// never quote the URL's query: signed URLs are credentials to the file).
fn download_error(error: MediaFetchError) -> DownloadError {
    match error {
        MediaFetchError::Refused { message } => DownloadError::Refused(message),
        MediaFetchError::TooLarge { limit_bytes } => DownloadError::TooLarge { limit_bytes },
        MediaFetchError::Status { status } => DownloadError::Status { status },
        MediaFetchError::Unreachable { detail } => DownloadError::Unreachable(detail),
    }
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
}
