//! The fetcher against local servers: what a caller's `mediaUrl` gives, redirects, the
//! size limit (declared and streamed), the address guard and failures.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use ryze_outbound_address_guard::AddressPolicy;
use ryze_outbound_media_fetcher::{GuardedMediaFetcher, MediaFetcherSettings};
use ryze_ports::{MediaFetchError, MediaFetcher};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02";

fn fetcher(policy: AddressPolicy) -> GuardedMediaFetcher {
    GuardedMediaFetcher::new(MediaFetcherSettings {
        policy,
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_millis(500),
    })
    .unwrap()
}

/// Loopback allowed: the test servers listen there.
fn local() -> GuardedMediaFetcher {
    fetcher(AddressPolicy::embedded_default())
}

#[tokio::test]
async fn the_bytes_type_and_file_name_are_returned() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/files/x"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/octet-stream")
                .insert_header("content-disposition", "attachment; filename=\"foto.png\"")
                .set_body_bytes(PNG),
        )
        .mount(&server)
        .await;
    let fetched = local()
        .fetch(
            "mediaUrl",
            &format!("{}/files/x?sig=abc", server.uri()),
            1024,
        )
        .await
        .unwrap();
    assert_eq!(fetched.bytes, PNG);
    assert_eq!(
        fetched.content_type.as_deref(),
        Some("application/octet-stream")
    );
    assert_eq!(fetched.file_name.as_deref(), Some("foto.png"));
}

#[tokio::test]
async fn redirects_are_followed_and_the_final_url_names_the_file() {
    let server = MockServer::start().await;
    Mock::given(path("/short"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("{}/storage/catalogo.pdf", server.uri())),
        )
        .mount(&server)
        .await;
    Mock::given(path("/storage/catalogo.pdf"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"%PDF-1.4\n".to_vec()))
        .mount(&server)
        .await;
    let fetched = local()
        .fetch("mediaUrl", &format!("{}/short", server.uri()), 1024)
        .await
        .unwrap();
    assert_eq!(fetched.bytes, b"%PDF-1.4\n");
    assert_eq!(fetched.file_name.as_deref(), Some("catalogo.pdf"));
}

#[tokio::test]
async fn a_file_over_the_limit_is_refused_by_its_declared_length() {
    let server = MockServer::start().await;
    Mock::given(path("/big"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![1u8; 2048]))
        .mount(&server)
        .await;
    let error = local()
        .fetch("mediaUrl", &format!("{}/big", server.uri()), 1024)
        .await
        .unwrap_err();
    assert_eq!(error, MediaFetchError::TooLarge { limit_bytes: 1024 });
}

#[tokio::test]
async fn a_file_over_the_limit_is_refused_while_streaming_without_a_length() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 1024];
        let _ = socket.read(&mut request).await;
        // No Content-Length: the body ends when the connection closes.
        let _ = socket
            .write_all(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n")
            .await;
        let _ = socket.write_all(&[7u8; 4096]).await;
        let _ = socket.shutdown().await;
    });
    let error = local()
        .fetch("mediaUrl", &format!("http://{address}/stream"), 1024)
        .await
        .unwrap_err();
    assert_eq!(error, MediaFetchError::TooLarge { limit_bytes: 1024 });
}

#[tokio::test]
async fn the_guard_refuses_loopback_under_a_strict_policy_and_metadata_always() {
    let server = MockServer::start().await;
    Mock::given(path("/x"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(PNG))
        .expect(0)
        .mount(&server)
        .await;
    let strict = fetcher(AddressPolicy::strict());
    let error = strict
        .fetch("mediaUrl", &format!("{}/x", server.uri()), 1024)
        .await
        .unwrap_err();
    let MediaFetchError::Refused { message } = error else {
        panic!("{error:?}");
    };
    assert!(
        message.starts_with("mediaUrl resolves to 127.0.0.1"),
        "{message}"
    );

    // A server we may reach redirecting to cloud metadata.
    Mock::given(path("/to-metadata"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", "http://169.254.169.254/latest/meta-data/"),
        )
        .mount(&server)
        .await;
    let error = local()
        .fetch("mediaUrl", &format!("{}/to-metadata", server.uri()), 1024)
        .await
        .unwrap_err();
    let MediaFetchError::Refused { message } = error else {
        panic!("{error:?}");
    };
    assert!(
        message.starts_with("mediaUrl: the redirect target http://169.254.169.254/"),
        "{message}"
    );
}

#[tokio::test]
async fn bad_urls_are_refused_before_any_request() {
    let fetcher = local();
    for (url, expected) in [
        (
            "ftp://files.example/x.png",
            "mediaUrl must be an http or https URL, not ftp",
        ),
        ("not a url", "mediaUrl: not a valid absolute URL"),
        (
            "http://user:pw@127.0.0.1/x.png",
            "mediaUrl: must not contain a user name or password",
        ),
    ] {
        let error = fetcher.fetch("mediaUrl", url, 1024).await.unwrap_err();
        let MediaFetchError::Refused { message } = error else {
            panic!("{url}: {error:?}");
        };
        assert!(message.starts_with(expected), "{url}: {message}");
    }
}

#[tokio::test]
async fn error_statuses_and_dead_servers_are_told_apart() {
    let server = MockServer::start().await;
    Mock::given(path("/gone"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    Mock::given(path("/slow"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_bytes(PNG)
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    let fetcher = local();
    let error = fetcher
        .fetch("mediaUrl", &format!("{}/gone", server.uri()), 1024)
        .await
        .unwrap_err();
    assert_eq!(
        error,
        MediaFetchError::ServerRefused {
            answer: "HTTP 404".into()
        }
    );
    assert!(!error.is_transient());

    let error = fetcher
        .fetch("mediaUrl", &format!("{}/slow", server.uri()), 1024)
        .await
        .unwrap_err();
    assert_eq!(
        error,
        MediaFetchError::Unreachable {
            detail: "timed out after 500ms".into()
        }
    );

    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = closed.local_addr().unwrap();
    drop(closed);
    let error = fetcher
        .fetch("mediaUrl", &format!("http://{address}/x.png"), 1024)
        .await
        .unwrap_err();
    assert_eq!(
        error,
        MediaFetchError::Unreachable {
            detail: "connection refused".into()
        }
    );
    assert!(error.is_transient());
}

/// The bridge's fetcher: Chatwoot's ActiveStorage URL redirects to the file, which comes
/// with its name; the bridge introduces itself as such.
#[tokio::test]
async fn the_bridge_follows_chatwoots_redirect_to_an_attachment_as_ryze_bridge() {
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

    let fetched = GuardedMediaFetcher::for_chatwoot_attachments(AddressPolicy::embedded_default())
        .unwrap()
        .fetch(
            "the attachment URL",
            &format!(
                "{}/rails/active_storage/blobs/redirect/tok/foto.jpg",
                server.uri()
            ),
            1024,
        )
        .await
        .unwrap();

    assert_eq!(fetched.bytes, b"\xFF\xD8\xFFjpeg");
    assert_eq!(fetched.content_type.as_deref(), Some("image/jpeg"));
    assert_eq!(fetched.file_name.as_deref(), Some("foto.jpg"));
    for request in server.received_requests().await.unwrap() {
        let agent = request.headers.get("user-agent").unwrap().to_str().unwrap();
        assert!(agent.starts_with("ryze-bridge/"), "{agent}");
    }
}

#[tokio::test]
async fn server_answers_are_named_retryable_or_refused_for_good() {
    let server = MockServer::start().await;
    for status in [204, 400, 403, 404, 408, 410, 429, 500, 502, 503] {
        Mock::given(path(format!("/status/{status}")))
            .respond_with(ResponseTemplate::new(status))
            .mount(&server)
            .await;
    }
    let fetcher = local();
    for (status, retryable) in [
        (204, false),
        (400, false),
        (403, false),
        (404, false),
        (410, false),
        (408, true),
        (429, true),
        (500, true),
        (502, true),
        (503, true),
    ] {
        let error = fetcher
            .fetch(
                "mediaUrl",
                &format!("{}/status/{status}", server.uri()),
                1024,
            )
            .await
            .unwrap_err();
        let answer = format!("HTTP {status}");
        let expected = if retryable {
            MediaFetchError::ServerUnavailable { answer }
        } else {
            MediaFetchError::ServerRefused { answer }
        };
        assert_eq!(error, expected, "HTTP {status}");
        assert_eq!(error.is_transient(), retryable, "HTTP {status}");
    }
}

/// A presigned URL's signature never reaches an error text (which is logged, returned to
/// the API user and written into Chatwoot notes): not through a refused redirect, not
/// through a redirect loop, whatever the fetcher.
#[tokio::test]
async fn redirects_to_presigned_urls_never_put_the_signature_in_an_error() {
    let server = MockServer::start().await;
    Mock::given(path("/to-metadata"))
        .respond_with(ResponseTemplate::new(302).insert_header(
            "location",
            "http://169.254.169.254/bucket/a.png?X-Amz-Signature=secret#frag",
        ))
        .mount(&server)
        .await;
    Mock::given(path("/loop"))
        .respond_with(
            ResponseTemplate::new(302).insert_header("location", "/loop?X-Amz-Signature=secret"),
        )
        .mount(&server)
        .await;
    let attachments =
        GuardedMediaFetcher::for_chatwoot_attachments(AddressPolicy::embedded_default()).unwrap();
    for fetcher in [&local(), &attachments] {
        for start in ["/to-metadata", "/loop"] {
            let error = fetcher
                .fetch("mediaUrl", &format!("{}{start}", server.uri()), 1024)
                .await
                .unwrap_err();
            let MediaFetchError::Refused { message } = &error else {
                panic!("{start}: {error:?}");
            };
            assert!(message.starts_with("mediaUrl: "), "{message}");
            assert!(!message.contains("secret"), "{start}: {message}");
            assert!(
                !format!("{error:?}").contains("secret"),
                "{start}: {error:?}"
            );
        }
    }
}

/// A caller's `mediaUrl` reaches neither loopback nor a private network by default, and
/// the refusal names the setting of `mediaUrl`, not Chatwoot's; nothing is sent.
#[tokio::test]
async fn media_urls_reach_no_loopback_or_private_address_unless_allowed() {
    let server = MockServer::start().await;
    Mock::given(path("/admin/export"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(PNG))
        .mount(&server)
        .await;
    let refusing = GuardedMediaFetcher::new(MediaFetcherSettings::for_media_urls(false)).unwrap();
    for url in [
        format!("{}/admin/export", server.uri()),
        format!("http://localhost:{}/admin/export", server.address().port()),
        "http://10.0.0.7/admin/export".to_owned(),
    ] {
        let error = refusing.fetch("mediaUrl", &url, 1024).await.unwrap_err();
        let MediaFetchError::Refused { message } = error else {
            panic!("{url}: {error:?}");
        };
        assert!(
            message.contains("set MEDIA_URL_ALLOW_PRIVATE_ADDRESSES=true"),
            "{url}: {message}"
        );
    }
    assert!(server.received_requests().await.unwrap().is_empty());

    let allowing = GuardedMediaFetcher::new(MediaFetcherSettings::for_media_urls(true)).unwrap();
    let fetched = allowing
        .fetch("mediaUrl", &format!("{}/admin/export", server.uri()), 1024)
        .await
        .unwrap();
    assert_eq!(fetched.bytes, PNG);
}
