//! [`shown_url`]: a URL as it may appear in an error text, a log line or a Chatwoot note.
//!
//! Threat model: presigned URLs (S3's `X-Amz-Signature`, ActiveStorage's signed ids in
//! the query) carry a credential in the query string, and a URL may carry a user name and
//! password; an error about a redirect to such a URL is logged, returned to the API user
//! and, for attachments, written into a private note in Chatwoot. Every URL this
//! workspace shows therefore goes through [`shown_url`] first.

use url::Url;

/// `scheme://host[:port]/path` of `url`: without user name, password, query and fragment,
/// which may carry credentials.
pub fn shown_url(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    // Both fail only for URLs that cannot have credentials (no host, `data:` and the
    // like), which then have none to remove.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_urls_drop_query_fragment_and_credentials() {
        let url =
            Url::parse("https://user:pass@s3.example/bucket/a.png?X-Amz-Signature=secret#frag")
                .unwrap();
        assert_eq!(shown_url(&url), "https://s3.example/bucket/a.png");
    }
}
