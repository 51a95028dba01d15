//! End-to-end tests of the guarded reqwest client against local wiremock servers
//! (127.0.0.1 only): refusal at connect time for host names (the resolver), and refusal
//! of redirect targets before any connection (the redirect policy).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use ryze_outbound_address_guard::{
    find_guard_error, guarded_client_builder, AddressPolicy, GuardError, GuardedResolver,
    RefusalReason, MAX_REDIRECTS,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// No test may hang on a connection: everything here is local or refused.
const BUDGET: Duration = Duration::from_secs(20);

async fn ok_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("hello"))
        .mount(&server)
        .await;
    server
}

async fn redirecting_server(location: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/start"))
        .respond_with(ResponseTemplate::new(302).insert_header("Location", location))
        .mount(&server)
        .await;
    server
}

/// A server that answers every GET with a redirect to `location`, and the error of
/// following it with an embedded-default client.
async fn error_following_redirects_to(location: &str) -> (MockServer, reqwest::Error) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(302).insert_header("Location", location))
        .mount(&server)
        .await;
    let client = guarded_client_builder(AddressPolicy::embedded_default())
        .build()
        .expect("client");
    let error = get(&client, &format!("{}/start", server.uri()))
        .await
        .expect_err("refused");
    (server, error)
}

async fn received(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .map(|requests| requests.len())
        .unwrap_or(0)
}

async fn get(client: &reqwest::Client, url: &str) -> Result<reqwest::Response, reqwest::Error> {
    tokio::time::timeout(BUDGET, client.get(url).send())
        .await
        .unwrap_or_else(|_| panic!("GET {url} did not finish within {BUDGET:?}"))
}

fn guard_error(error: &reqwest::Error) -> &GuardError {
    find_guard_error(error).unwrap_or_else(|| panic!("not a guard error: {error:?}"))
}

#[tokio::test]
async fn strict_client_refuses_localhost_at_connect_time() {
    let server = ok_server().await;
    let client = guarded_client_builder(AddressPolicy::strict())
        .build()
        .expect("client");
    let url = format!("http://localhost:{}/", server.address().port());

    let error = get(&client, &url).await.expect_err("refused");
    let guard = guard_error(&error);
    assert_eq!(
        guard.refused_address().map(|r| r.reason),
        Some(RefusalReason::Loopback),
        "{guard:?}"
    );
    let message = guard.to_string();
    assert!(
        message.starts_with("the host localhost resolves to "),
        "{message}"
    );
    assert!(
        message.contains("set BRIDGE_ALLOW_LOOPBACK_ADDRESSES=true"),
        "{message}"
    );
    assert_eq!(received(&server).await, 0);
}

#[tokio::test]
async fn embedded_client_reaches_localhost() {
    let server = ok_server().await;
    let client = guarded_client_builder(AddressPolicy::embedded_default())
        .build()
        .expect("client");
    let url = format!("http://localhost:{}/", server.address().port());

    let response = get(&client, &url).await.expect("allowed");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("body"), "hello");
    assert_eq!(received(&server).await, 1);
}

#[tokio::test]
async fn redirect_to_the_metadata_address_is_refused_without_connecting() {
    let server = redirecting_server("http://169.254.169.254/latest/meta-data/").await;
    let policy = AddressPolicy::embedded_default();
    let client = guarded_client_builder(policy).build().expect("client");
    let start = format!("{}/start", server.uri());
    policy
        .check_request_url(&start.parse().expect("url"), "chatwootBaseUrl")
        .expect("the first hop is allowed");

    let error = get(&client, &start).await.expect_err("refused");
    // A redirect error: the policy stopped it before reqwest opened a connection.
    assert!(error.is_redirect(), "{error:?}");
    assert!(!error.is_connect(), "{error:?}");
    let guard = guard_error(&error);
    assert_eq!(
        guard.to_string(),
        "the redirect target http://169.254.169.254/latest/meta-data/ resolves to \
         169.254.169.254, a link-local address (cloud metadata), which is never allowed"
    );
    assert_eq!(received(&server).await, 1);
}

/// A strict client whose first hop (`chatwoot.test`) is pinned to a loopback server with a
/// `resolve` override, which reqwest answers without the guarded resolver: the only way to
/// have a strict client talk to a local server, and exactly why production code must not
/// add overrides.
fn strict_client_pinned_to(server: &MockServer) -> reqwest::Client {
    guarded_client_builder(AddressPolicy::strict())
        .resolve("chatwoot.test", *server.address())
        .build()
        .expect("client")
}

#[tokio::test]
async fn redirect_to_a_refused_ip_literal_never_reaches_it() {
    let target = ok_server().await;
    let location = format!("http://127.0.0.1:{}/", target.address().port());
    let server = redirecting_server(&location).await;
    let client = strict_client_pinned_to(&server);

    let start = format!("http://chatwoot.test:{}/start", server.address().port());
    let error = get(&client, &start).await.expect_err("refused");
    assert!(error.is_redirect(), "{error:?}");
    assert_eq!(
        guard_error(&error).refused_address().map(|r| r.reason),
        Some(RefusalReason::Loopback)
    );
    assert_eq!(received(&server).await, 1);
    assert_eq!(received(&target).await, 0);
}

#[tokio::test]
async fn redirect_to_a_refused_host_name_is_stopped_by_the_resolver() {
    let target = ok_server().await;
    let location = format!("http://localhost:{}/", target.address().port());
    let server = redirecting_server(&location).await;
    let client = strict_client_pinned_to(&server);

    let start = format!("http://chatwoot.test:{}/start", server.address().port());
    let error = get(&client, &start).await.expect_err("refused");
    let guard = guard_error(&error);
    assert!(
        guard
            .to_string()
            .starts_with("the host localhost resolves to "),
        "{guard}"
    );
    assert_eq!(received(&server).await, 1);
    assert_eq!(received(&target).await, 0);
}

#[tokio::test]
async fn redirect_loops_stop_after_the_limit() {
    let (server, error) = error_following_redirects_to("/again").await;
    assert!(
        matches!(
            guard_error(&error),
            GuardError::TooManyRedirects {
                max: MAX_REDIRECTS,
                ..
            }
        ),
        "{error:?}"
    );
    // The first request and MAX_REDIRECTS redirects were sent, no more.
    assert_eq!(received(&server).await, MAX_REDIRECTS + 1);
}

#[tokio::test]
async fn resolver_keeps_only_allowed_addresses() {
    let strict = GuardedResolver::new(AddressPolicy::strict());
    let error = strict
        .resolve_allowed("localhost")
        .await
        .expect_err("refused");
    assert_eq!(
        error.refused_address().map(|r| r.reason),
        Some(RefusalReason::Loopback)
    );

    let embedded = GuardedResolver::new(AddressPolicy::embedded_default());
    let addrs = embedded
        .resolve_allowed("localhost")
        .await
        .expect("allowed");
    assert!(
        addrs
            .iter()
            .any(|a| a.ip() == IpAddr::V4(Ipv4Addr::LOCALHOST)),
        "{addrs:?}"
    );

    let error = embedded
        .with_timeout(Duration::from_secs(10))
        .resolve_allowed("chatwoot.invalid")
        .await
        .expect_err("unresolvable");
    assert!(
        error
            .to_string()
            .starts_with("the host chatwoot.invalid could not be resolved"),
        "{error}"
    );
}

const PRESIGNED_SECRET: &str = "X-Amz-Signature=secret";

#[tokio::test]
async fn a_refused_redirect_never_shows_the_targets_query() {
    let (_server, error) = error_following_redirects_to(&format!(
        "http://169.254.169.254/bucket/a.png?{PRESIGNED_SECRET}#frag"
    ))
    .await;
    let message = guard_error(&error).to_string();
    assert!(
        message.starts_with("the redirect target http://169.254.169.254/bucket/a.png resolves"),
        "{message}"
    );
    assert!(!message.contains("secret"), "{message}");
    assert!(!format!("{:?}", guard_error(&error)).contains("secret"));
}

#[tokio::test]
async fn too_many_redirects_never_shows_the_last_targets_query() {
    let (_server, error) =
        error_following_redirects_to(&format!("/again?{PRESIGNED_SECRET}")).await;
    let guard = guard_error(&error);
    assert!(
        matches!(guard, GuardError::TooManyRedirects { .. }),
        "{guard:?}"
    );
    let message = guard.to_string();
    assert!(message.contains("/again"), "{message}");
    assert!(!message.contains("secret"), "{message}");
    assert!(!format!("{guard:?}").contains("secret"));
}

#[tokio::test]
async fn the_media_url_policy_refuses_loopback_and_names_its_own_setting() {
    let server = ok_server().await;
    let policy = AddressPolicy::media_url(false);
    let client = guarded_client_builder(policy).build().expect("client");
    let url = format!("http://localhost:{}/", server.address().port());

    let message = guard_error(&get(&client, &url).await.expect_err("refused")).to_string();
    assert!(
        message.ends_with(
            "a loopback address; set MEDIA_URL_ALLOW_PRIVATE_ADDRESSES=true to allow loopback \
             addresses"
        ),
        "{message}"
    );
    let literal = format!("http://127.0.0.1:{}/", server.address().port());
    assert!(policy
        .check_request_url(&literal.parse().expect("url"), "mediaUrl")
        .is_err());
    assert_eq!(received(&server).await, 0);

    let allowed = guarded_client_builder(AddressPolicy::media_url(true))
        .build()
        .expect("client");
    assert_eq!(get(&allowed, &url).await.expect("allowed").status(), 200);
}
