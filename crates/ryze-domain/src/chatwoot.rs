//! The Chatwoot side of an integration: where Chatwoot is, which account, which inbox,
//! and the relay flags. Each value checks its own rules; the texts of the errors are the
//! `<what is wrong>` part of the API's `invalid body: …` message.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::InvalidValue;

/// The inbox name used when the caller gives none.
pub const DEFAULT_INBOX_NAME: &str = "RyzeAPI";
const BASE_URL_MAX_LEN: usize = 2048;
const INBOX_NAME_MAX_LEN: usize = 255;
const API_TOKEN_MAX_LEN: usize = 512;

/// Base URL of a Chatwoot installation: absolute, http or https, with a host, without
/// credentials, query or fragment, and without a trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatwootBaseUrl(String);

impl ChatwootBaseUrl {
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        let value = value.trim();
        if value.is_empty() {
            return Err(InvalidValue::new(
                "must not be empty; give the URL of your Chatwoot installation, e.g. https://chatwoot.example.com",
            ));
        }
        if value.len() > BASE_URL_MAX_LEN {
            return Err(InvalidValue::new(format!(
                "must be at most {BASE_URL_MAX_LEN} characters"
            )));
        }
        let url = Url::parse(value).map_err(|error| {
            InvalidValue::new(format!(
                "must be an absolute http or https URL (RFC 3986), e.g. https://chatwoot.example.com ({error})"
            ))
        })?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(InvalidValue::new(format!(
                "must use http or https, not {}",
                url.scheme()
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(InvalidValue::new("must name a host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(InvalidValue::new(
                "must not contain a user name or password; send the token in chatwootApiToken",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(InvalidValue::new("must not contain a query or a fragment"));
        }
        Ok(Self(url.as_str().trim_end_matches('/').to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ChatwootBaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Numeric id of a Chatwoot account; always greater than 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChatwootAccountId(i64);

impl ChatwootAccountId {
    pub fn new(value: i64) -> Result<Self, InvalidValue> {
        if value <= 0 {
            return Err(InvalidValue::new(format!(
                "must be greater than 0 (got {value})"
            )));
        }
        Ok(Self(value))
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for ChatwootAccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Name of the Chatwoot inbox the integration creates or reuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxName(String);

impl InboxName {
    /// Parses an optional name: absent means [`DEFAULT_INBOX_NAME`].
    pub fn parse(value: Option<&str>) -> Result<Self, InvalidValue> {
        let Some(value) = value else {
            return Ok(Self(DEFAULT_INBOX_NAME.to_owned()));
        };
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return Err(InvalidValue::new(
                "must not be blank; leave it out to use the default \"RyzeAPI\"",
            ));
        }
        if trimmed.chars().count() > INBOX_NAME_MAX_LEN {
            return Err(InvalidValue::new(format!(
                "must be at most {INBOX_NAME_MAX_LEN} characters"
            )));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(InvalidValue::new("must not contain control characters"));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The Chatwoot agent's API access token. `Debug` is redacted; the only way to read it is
/// [`ChatwootApiToken::expose`], which adapters call at the moment they use it.
#[derive(Clone)]
pub struct ChatwootApiToken(SecretString);

impl ChatwootApiToken {
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return Err(InvalidValue::new(
                "must not be empty; copy the access token from your Chatwoot profile settings",
            ));
        }
        if trimmed.len() > API_TOKEN_MAX_LEN {
            return Err(InvalidValue::new(format!(
                "must be at most {API_TOKEN_MAX_LEN} characters"
            )));
        }
        if trimmed.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(InvalidValue::new(
                "must not contain spaces or control characters",
            ));
        }
        Ok(Self(SecretString::from(trimmed.to_owned())))
    }

    pub fn from_secret(secret: SecretString) -> Self {
        Self(secret)
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    pub fn as_secret(&self) -> &SecretString {
        &self.0
    }
}

impl fmt::Debug for ChatwootApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChatwootApiToken(***)")
    }
}

/// How the bridge relays messages for this integration. All default to `false`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayFlags {
    pub sign_messages: bool,
    pub ignore_groups: bool,
    pub start_as_pending: bool,
    pub reopen_resolved: bool,
}

/// Everything about an integration except its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatwootSettings {
    pub base_url: ChatwootBaseUrl,
    pub account_id: ChatwootAccountId,
    pub inbox_name: InboxName,
    pub flags: RelayFlags,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_loses_its_trailing_slashes() {
        let url = ChatwootBaseUrl::parse("https://chatwoot.example.com/").unwrap();
        assert_eq!(url.as_str(), "https://chatwoot.example.com");
        let url = ChatwootBaseUrl::parse(" http://10.0.0.5:3000/chatwoot// ").unwrap();
        assert_eq!(url.as_str(), "http://10.0.0.5:3000/chatwoot");
    }

    #[test]
    fn base_url_refuses_what_is_not_an_http_url() {
        for (input, expected) in [
            ("ftp://x", "must use http or https, not ftp"),
            ("not a url", "must be an absolute http or https URL"),
            ("", "must not be empty"),
            (
                "https://user:pw@chatwoot.example.com",
                "must not contain a user name",
            ),
            (
                "https://chatwoot.example.com/?a=b",
                "must not contain a query",
            ),
            (
                "mailto:someone@example.com",
                "must use http or https, not mailto",
            ),
        ] {
            let error = ChatwootBaseUrl::parse(input).unwrap_err();
            assert!(
                error.reason().starts_with(expected),
                "{input:?}: {}",
                error.reason()
            );
        }
    }

    #[test]
    fn account_id_must_be_positive() {
        assert_eq!(
            ChatwootAccountId::new(0).unwrap_err().reason(),
            "must be greater than 0 (got 0)"
        );
        assert!(ChatwootAccountId::new(-3).is_err());
        assert_eq!(ChatwootAccountId::new(5).unwrap().get(), 5);
    }

    #[test]
    fn inbox_name_defaults_and_is_trimmed() {
        assert_eq!(InboxName::parse(None).unwrap().as_str(), "RyzeAPI");
        assert_eq!(
            InboxName::parse(Some("  WhatsApp - Orion "))
                .unwrap()
                .as_str(),
            "WhatsApp - Orion"
        );
        assert!(InboxName::parse(Some("   ")).is_err());
    }

    #[test]
    fn api_token_is_required_and_redacted() {
        assert!(ChatwootApiToken::parse("  ").is_err());
        assert!(ChatwootApiToken::parse("abc def").is_err());
        let token = ChatwootApiToken::parse("sk_live_abc123").unwrap();
        assert_eq!(token.expose(), "sk_live_abc123");
        assert!(!format!("{token:?}").contains("sk_live"));
    }
}
