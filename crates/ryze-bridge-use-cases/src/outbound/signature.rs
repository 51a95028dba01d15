//! Chatwoot's webhook signature, checked on top of the secret in the webhook URL.
//!
//! What Chatwoot does (v4.13 and later sign API-inbox webhooks; older ones send none):
//! `X-Chatwoot-Timestamp` is the sending time in Unix seconds, and
//! `X-Chatwoot-Signature` is `sha256=` + the hex HMAC-SHA256 of `"{timestamp}.{body}"`,
//! keyed with the inbox channel's own `secret`. Chatwoot generates that secret itself and
//! does not let a client choose it, so the bridge cannot sign with the secret it put in the
//! webhook URL; it learns the inbox's secret from Chatwoot instead (`GET …/inboxes/{id}`
//! shows it to administrators) and keeps it in memory.
//!
//! Decisions:
//! - The URL secret authenticates every call; the signature is checked when the bridge
//!   knows the inbox's signing secret. A signed call with a wrong signature, or a
//!   timestamp more than five minutes away from now, is refused. An unsigned call to an
//!   inbox known to sign is refused too (stripping the headers must not get around the
//!   check).
//! - When the secret cannot be learnt (a token that is not an administrator's, an older
//!   Chatwoot, Chatwoot unreachable for the moment), calls are accepted on the URL secret
//!   alone: refusing them would lose agents' replies, and the URL secret is 256 random bits.
//! - The secret is re-read every ten minutes, and at once (at most every 30 seconds) when
//!   a signature does not match, so a secret reset in Chatwoot is picked up.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ring::hmac;
use ryze_domain::{BridgeIntegration, BridgeIntegrationId};
use ryze_ports::chatwoot::{ChatwootApi, InboxId};
use ryze_ports::SecretVault;
use secrecy::{ExposeSecret, SecretString};

use crate::chatwoot_target::chatwoot_target_of;

/// How far a signed timestamp may be from the bridge's clock.
pub const SIGNATURE_TOLERANCE: Duration = Duration::from_secs(5 * 60);
/// How long a learnt signing secret is trusted before it is read again.
const SECRET_TTL: Duration = Duration::from_secs(10 * 60);
/// How long a failed attempt to read it is remembered, and the least time between reads.
const RETRY_AFTER: Duration = Duration::from_secs(30);
/// Time allowed for reading the inbox from Chatwoot while Chatwoot waits for our answer.
const FETCH_TIMEOUT: Duration = Duration::from_secs(3);

/// Why a webhook's signature was refused. Says nothing about the expected value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureRefused {
    #[error("X-Chatwoot-Signature and X-Chatwoot-Timestamp must come together")]
    Incomplete,
    #[error("X-Chatwoot-Timestamp is not a Unix time in seconds")]
    UnreadableTimestamp,
    #[error("X-Chatwoot-Timestamp is more than 5 minutes away from now")]
    Stale,
    #[error("X-Chatwoot-Signature is not sha256=<hex>")]
    UnreadableSignature,
    #[error("X-Chatwoot-Signature does not match the body")]
    Mismatch,
    #[error("this inbox's webhooks are signed by Chatwoot, and this call carries no signature")]
    Missing,
}

/// The signature headers of one call, as received.
#[derive(Debug, Clone, Copy, Default)]
pub struct SignatureHeaders<'a> {
    pub signature: Option<&'a str>,
    pub timestamp: Option<&'a str>,
}

/// A parsed, fresh signature: the timestamp text (as signed) and the tag.
struct PresentedSignature<'a> {
    timestamp: &'a str,
    tag: Vec<u8>,
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    text.as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [high, low] => {
                let digit = |byte: u8| char::from(byte).to_digit(16);
                let value = digit(*high)? * 16 + digit(*low)?;
                u8::try_from(value).ok()
            }
            _ => None,
        })
        .collect()
}

fn presented<'a>(
    headers: SignatureHeaders<'a>,
    now_unix: i64,
) -> Result<Option<PresentedSignature<'a>>, SignatureRefused> {
    let (signature, timestamp) = match (headers.signature, headers.timestamp) {
        (None, None) => return Ok(None),
        (Some(signature), Some(timestamp)) => (signature.trim(), timestamp.trim()),
        _ => return Err(SignatureRefused::Incomplete),
    };
    let sent_at: i64 = timestamp
        .parse()
        .map_err(|_| SignatureRefused::UnreadableTimestamp)?;
    let tolerance = i64::try_from(SIGNATURE_TOLERANCE.as_secs()).unwrap_or(i64::MAX);
    if now_unix.abs_diff(sent_at) > tolerance.unsigned_abs() {
        return Err(SignatureRefused::Stale);
    }
    let tag = signature
        .strip_prefix("sha256=")
        .and_then(decode_hex)
        .filter(|tag| tag.len() == 32)
        .ok_or(SignatureRefused::UnreadableSignature)?;
    Ok(Some(PresentedSignature { timestamp, tag }))
}

fn matches(secret: &SecretString, signature: &PresentedSignature<'_>, body: &[u8]) -> bool {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.expose_secret().as_bytes());
    let mut signed = Vec::with_capacity(signature.timestamp.len() + 1 + body.len());
    signed.extend_from_slice(signature.timestamp.as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(body);
    // Constant time.
    hmac::verify(&key, &signed, &signature.tag).is_ok()
}

/// `X-Chatwoot-Signature` for `body` sent at `timestamp`, as Chatwoot computes it (tests
/// and tools sign with it).
pub fn chatwoot_signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut signed = format!("{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    let tag = hmac::sign(&key, &signed);
    let hex: String = tag
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("sha256={hex}")
}

/// What the bridge knows of one inbox's signing secret.
#[derive(Clone)]
struct Known {
    inbox: InboxId,
    /// `None`: Chatwoot does not sign this inbox's webhooks, or did not tell.
    secret: Option<SecretString>,
    read_at: Instant,
    valid_until: Instant,
}

/// The inboxes' signing secrets, learnt from Chatwoot.
pub struct SigningSecrets {
    chatwoot: Arc<dyn ChatwootApi>,
    vault: Arc<dyn SecretVault>,
    known: Mutex<HashMap<BridgeIntegrationId, Known>>,
}

impl SigningSecrets {
    pub fn new(chatwoot: Arc<dyn ChatwootApi>, vault: Arc<dyn SecretVault>) -> Self {
        Self {
            chatwoot,
            vault,
            known: Mutex::new(HashMap::new()),
        }
    }

    fn remembered(&self, integration: &BridgeIntegrationId, inbox: InboxId) -> Option<Known> {
        self.known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(integration)
            .filter(|known| known.inbox == inbox)
            .cloned()
    }

    fn remember(&self, integration: &BridgeIntegrationId, known: Known) {
        self.known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(integration.clone(), known);
    }

    /// The inbox's signing secret: remembered, or read from Chatwoot when unknown,
    /// expired, or (with `after_mismatch`) possibly changed.
    async fn secret_of(
        &self,
        integration: &BridgeIntegration,
        inbox: InboxId,
        after_mismatch: bool,
    ) -> Option<SecretString> {
        let now = Instant::now();
        let remembered = self.remembered(&integration.id, inbox);
        if let Some(known) = &remembered {
            let fresh = now < known.valid_until;
            let may_reread = now.duration_since(known.read_at) >= RETRY_AFTER;
            if fresh && !(after_mismatch && may_reread) {
                return known.secret.clone();
            }
            if !may_reread {
                return known.secret.clone();
            }
        }
        let (secret, trusted_for) = match self.read_from_chatwoot(integration, inbox).await {
            Ok(secret) => {
                if secret.is_none() {
                    tracing::debug!(integration_id = %integration.id, "Chatwoot shows no webhook signing secret for the inbox; webhooks are checked by the URL secret only");
                }
                (secret, SECRET_TTL)
            }
            Err(reason) => {
                tracing::info!(integration_id = %integration.id, %reason, "cannot read the inbox's webhook signing secret");
                (remembered.and_then(|known| known.secret), RETRY_AFTER)
            }
        };
        self.remember(
            &integration.id,
            Known {
                inbox,
                secret: secret.clone(),
                read_at: now,
                valid_until: now + trusted_for,
            },
        );
        secret
    }

    async fn read_from_chatwoot(
        &self,
        integration: &BridgeIntegration,
        inbox: InboxId,
    ) -> Result<Option<SecretString>, String> {
        let target = chatwoot_target_of(self.vault.as_ref(), integration)
            .map_err(|error| format!("cannot open the Chatwoot token: {error}"))?;
        match tokio::time::timeout(FETCH_TIMEOUT, self.chatwoot.get_inbox(&target, inbox)).await {
            Ok(Ok(found)) => Ok(found.webhook_secret),
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err(format!(
                "Chatwoot did not answer within {} s",
                FETCH_TIMEOUT.as_secs()
            )),
        }
    }

    /// Checks a webhook call's signature (see the module's decisions).
    pub async fn check(
        &self,
        integration: &BridgeIntegration,
        headers: SignatureHeaders<'_>,
        body: &[u8],
        now_unix: i64,
    ) -> Result<(), SignatureRefused> {
        let presented = presented(headers, now_unix)?;
        let Some(inbox) = integration.inbox_id.map(InboxId) else {
            return Ok(());
        };
        let Some(signature) = presented else {
            return match self.secret_of(integration, inbox, false).await {
                Some(_) => Err(SignatureRefused::Missing),
                None => Ok(()),
            };
        };
        let Some(secret) = self.secret_of(integration, inbox, false).await else {
            return Ok(());
        };
        if matches(&secret, &signature, body) {
            return Ok(());
        }
        match self.secret_of(integration, inbox, true).await {
            Some(reread) if matches(&reread, &signature, body) => Ok(()),
            Some(_) => Err(SignatureRefused::Mismatch),
            // Chatwoot no longer shows a secret: nothing to check against.
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_chatwoots_hmac_of_timestamp_dot_body() {
        // Computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac secret
        assert_eq!(
            chatwoot_signature("secret", "1700000000", br#"{"a":1}"#),
            "sha256=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686"
        );
    }

    fn headers<'a>(signature: &'a str, timestamp: &'a str) -> SignatureHeaders<'a> {
        SignatureHeaders {
            signature: Some(signature),
            timestamp: Some(timestamp),
        }
    }

    #[test]
    fn signatures_are_read_with_their_timestamp_window() {
        let body = br#"{"event":"message_created"}"#;
        let signature = chatwoot_signature("s3cret", "1700000000", body);
        let read = presented(headers(&signature, "1700000000"), 1_700_000_299)
            .unwrap()
            .unwrap();
        assert!(matches(&SecretString::from("s3cret"), &read, body));
        assert!(!matches(&SecretString::from("other"), &read, body));
        assert!(!matches(&SecretString::from("s3cret"), &read, b"{}"));

        assert!(matches!(
            presented(headers(&signature, "1700000000"), 1_700_000_301),
            Err(SignatureRefused::Stale)
        ));
        assert!(matches!(
            presented(headers(&signature, "1700000000"), 1_699_999_699),
            Err(SignatureRefused::Stale)
        ));
        assert!(matches!(
            presented(headers("sha256=zz", "1700000000"), 1_700_000_000),
            Err(SignatureRefused::UnreadableSignature)
        ));
        assert!(matches!(
            presented(headers(&signature, "yesterday"), 1_700_000_000),
            Err(SignatureRefused::UnreadableTimestamp)
        ));
        assert!(matches!(
            presented(
                SignatureHeaders {
                    signature: Some(&signature),
                    timestamp: None
                },
                0
            ),
            Err(SignatureRefused::Incomplete)
        ));
        assert!(presented(SignatureHeaders::default(), 0).unwrap().is_none());
    }
}
