//! Tests of `AddressPolicy::check_url` and `check_request_url`: IP literals (checked
//! without DNS, in every spelling the URL parser accepts), `localhost`, an unresolvable
//! host, and schemes. No network beyond the machine's own resolver and loopback.

use std::time::Duration;

use ryze_outbound_address_guard::{AddressPolicy, GuardError, RefusalReason};
use url::Url;

const FIELD: &str = "chatwootBaseUrl";

fn url(text: &str) -> Url {
    Url::parse(text).unwrap_or_else(|e| panic!("bad URL {text}: {e}"))
}

async fn check(policy: AddressPolicy, text: &str) -> Result<(), GuardError> {
    policy.check_url(&url(text), FIELD).await
}

fn refusal_reason(result: Result<(), GuardError>) -> RefusalReason {
    match result {
        Err(GuardError::Refused { refused, .. }) => refused.reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn ip_literal_messages_name_the_field_the_address_and_the_setting() {
    let strict = AddressPolicy::strict();
    let message = |r: Result<(), GuardError>| r.expect_err("refused").to_string();
    assert_eq!(
        message(check(strict, "http://169.254.169.254/latest/meta-data/").await),
        "chatwootBaseUrl resolves to 169.254.169.254, a link-local address (cloud metadata), \
         which is never allowed"
    );
    assert_eq!(
        message(check(strict, "https://10.0.0.5:3000").await),
        "chatwootBaseUrl resolves to 10.0.0.5, a private address; set \
         BRIDGE_ALLOW_PRIVATE_ADDRESSES=true to allow private networks"
    );
    assert_eq!(
        message(check(strict, "http://127.0.0.1:3000").await),
        "chatwootBaseUrl resolves to 127.0.0.1, a loopback address; set \
         BRIDGE_ALLOW_LOOPBACK_ADDRESSES=true to allow loopback addresses"
    );
    assert_eq!(
        message(
            check(
                AddressPolicy::embedded_default(),
                "http://[::ffff:169.254.169.254]/"
            )
            .await
        ),
        "chatwootBaseUrl resolves to ::ffff:169.254.169.254, a link-local address (cloud \
         metadata), which is never allowed"
    );
}

#[tokio::test]
async fn ip_literals_follow_the_policy() {
    let strict = AddressPolicy::strict();
    let embedded = AddressPolicy::embedded_default();
    for text in [
        "http://8.8.8.8/",
        "https://[2606:4700:4700::1111]:8443/app",
        "http://[64:ff9b::808:808]/",
    ] {
        assert!(check(strict, text).await.is_ok(), "{text}");
        assert!(check(embedded, text).await.is_ok(), "{text}");
    }
    for text in [
        "http://127.0.0.1:3000",
        "http://[::1]:3000",
        "http://[::ffff:127.0.0.1]/",
        "http://192.168.1.20/",
        "http://[fd12::1]/",
        "http://100.64.1.1/",
    ] {
        assert!(check(strict, text).await.is_err(), "{text}");
        assert!(check(embedded, text).await.is_ok(), "{text}");
    }
    for text in [
        "http://169.254.169.254/",
        "http://[fe80::1]/",
        "http://0.0.0.0:3000/",
        "http://[::]:3000/",
        "http://255.255.255.255/",
        "http://224.0.0.1/",
        "http://192.0.2.10/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://100.100.100.200/",
        "http://[fd00:ec2::254]/",
    ] {
        assert!(check(strict, text).await.is_err(), "{text}");
        assert!(check(embedded, text).await.is_err(), "{text}");
    }
}

#[tokio::test]
async fn obfuscated_ipv4_spellings_are_normalised_before_the_check() {
    // The WHATWG URL parser turns these into IPv4 hosts, so they never reach DNS.
    let strict = AddressPolicy::strict();
    for (text, reason) in [
        ("http://2130706433/", RefusalReason::Loopback),
        ("http://0x7f.1/", RefusalReason::Loopback),
        ("http://0177.0.0.1/", RefusalReason::Loopback),
        ("http://169.254.169.254./", RefusalReason::LinkLocal),
        ("http://0xa9fea9fe/", RefusalReason::LinkLocal),
        ("http://[::ffff:a9fe:a9fe]/", RefusalReason::LinkLocal),
        ("http://0/", RefusalReason::Unspecified),
    ] {
        assert_eq!(refusal_reason(check(strict, text).await), reason, "{text}");
        // The pre-request check sees the same thing without resolving.
        assert!(
            strict.check_request_url(&url(text), FIELD).is_err(),
            "{text}"
        );
    }
}

#[tokio::test]
async fn localhost_resolves_to_loopback() {
    let result = check(AddressPolicy::strict(), "http://localhost:3000/").await;
    let message = result.as_ref().expect_err("refused").to_string();
    assert_eq!(refusal_reason(result), RefusalReason::Loopback);
    assert!(
        message.starts_with("chatwootBaseUrl (host localhost) resolves to "),
        "{message}"
    );
    assert!(
        message.ends_with(
            "a loopback address; set BRIDGE_ALLOW_LOOPBACK_ADDRESSES=true to allow loopback addresses"
        ),
        "{message}"
    );

    assert!(
        check(AddressPolicy::embedded_default(), "http://localhost:3000/")
            .await
            .is_ok()
    );
    let private_only = AddressPolicy::chatwoot(false, true);
    assert!(check(private_only, "http://localhost:3000/").await.is_err());
}

#[tokio::test]
async fn an_unresolvable_host_is_a_clear_error() {
    // `.invalid` never resolves (RFC 6761); a slow resolver gives the timeout instead.
    let result = AddressPolicy::embedded_default()
        .check_url_with_timeout(
            &url("https://chatwoot.invalid/"),
            FIELD,
            Duration::from_secs(10),
        )
        .await;
    let error = result.expect_err("must not resolve");
    let message = error.to_string();
    assert!(
        matches!(
            error,
            GuardError::Unresolvable { .. } | GuardError::ResolveTimeout { .. }
        ),
        "{error:?}"
    );
    assert!(
        message.starts_with("chatwootBaseUrl (host chatwoot.invalid) could not be resolved"),
        "{message}"
    );
    assert!(message.contains("verify the host name"), "{message}");
}

#[tokio::test]
async fn the_pre_request_check_leaves_host_names_to_the_resolver() {
    // No DNS here: the guarded resolver checks names at connect time.
    let strict = AddressPolicy::strict();
    assert!(strict
        .check_request_url(&url("http://chatwoot.invalid/"), FIELD)
        .is_ok());
    assert!(strict
        .check_request_url(&url("http://localhost/"), FIELD)
        .is_ok());
    assert!(strict
        .check_request_url(&url("http://10.1.2.3/"), FIELD)
        .is_err());
}

#[tokio::test]
async fn only_http_and_https_are_accepted() {
    let embedded = AddressPolicy::embedded_default();
    for (text, scheme) in [
        ("ftp://example.com/", "ftp"),
        ("file:///etc/passwd", "file"),
        ("gopher://127.0.0.1:6379/_INFO", "gopher"),
        ("ws://example.com/", "ws"),
        ("data:text/plain,hello", "data"),
    ] {
        let error = check(embedded, text).await.expect_err("refused");
        assert_eq!(
            error.to_string(),
            format!("chatwootBaseUrl must be an http or https URL, not {scheme}"),
            "{text}"
        );
        assert!(embedded.check_request_url(&url(text), FIELD).is_err());
    }
    assert!(check(embedded, "HTTPS://8.8.8.8/").await.is_ok());
}
