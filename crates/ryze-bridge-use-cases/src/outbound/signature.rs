//! Chatwoot's webhook signature, checked on top of the secret in the webhook URL.
//!
//! What Chatwoot does (v4.13 and later sign API-inbox webhooks; older ones send none):
//! `X-Chatwoot-Timestamp` is the sending time in Unix seconds, and
//! `X-Chatwoot-Signature` is `sha256=` + the hex HMAC-SHA256 of `"{timestamp}.{body}"`,
//! keyed with the inbox channel's own `secret`. Chatwoot generates that secret itself and
//! does not let a client choose it, so the bridge cannot sign with the secret it put in the
//! webhook URL; it learns the inbox's secret from Chatwoot instead (`GET …/inboxes/{id}`
//! shows it to administrators), keeps it in memory, and keeps it sealed in the
//! integration's row too, so that a restart does not forget that the inbox signs.
//!
//! Decisions:
//! - The URL secret authenticates every call; the signature is checked when the bridge
//!   knows the inbox's signing secret. A signed call with a wrong signature, or a
//!   timestamp more than five minutes away from now, is refused. An unsigned call to an
//!   inbox known to sign is refused too (stripping the headers must not get around the
//!   check).
//! - When Chatwoot shows no secret (a token that is not an administrator's, an older
//!   Chatwoot), calls are accepted on the URL secret alone: refusing them would lose
//!   agents' replies, and the URL secret is 256 random bits.
//! - When Chatwoot cannot be read for the moment (unreachable, slower than 3 s), the
//!   secret learnt before is used: from memory, or after a restart from the store. Only an
//!   inbox never seen signing is then checked by the URL secret alone.
//! - The secret is re-read every ten minutes, and at once (at most every 30 seconds) when
//!   a signature does not match, so a secret reset in Chatwoot is picked up.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ring::hmac;
use ryze_domain::SecretOwner;
use ryze_domain::{BridgeIntegration, BridgeIntegrationId};
use ryze_ports::chatwoot::{ChatwootApi, InboxId};
use ryze_ports::{BridgeIntegrationStore, SecretVault, StoredWebhookSigningSecret};
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

/// The inboxes' signing secrets, learnt from Chatwoot and kept in the store.
pub struct SigningSecrets {
    chatwoot: Arc<dyn ChatwootApi>,
    vault: Arc<dyn SecretVault>,
    store: Arc<dyn BridgeIntegrationStore>,
    known: Mutex<HashMap<BridgeIntegrationId, Known>>,
}

fn same_secret(left: Option<&SecretString>, right: Option<&SecretString>) -> bool {
    match (left, right) {
        (None, None) => true,
        (Some(left), Some(right)) => left.expose_secret() == right.expose_secret(),
        _ => false,
    }
}

impl SigningSecrets {
    pub fn new(
        chatwoot: Arc<dyn ChatwootApi>,
        vault: Arc<dyn SecretVault>,
        store: Arc<dyn BridgeIntegrationStore>,
    ) -> Self {
        Self {
            chatwoot,
            vault,
            store,
            known: Mutex::new(HashMap::new()),
        }
    }

    /// The secret kept in the store for this inbox (after a restart), as already due for
    /// a re-read from Chatwoot, which it stands in for while Chatwoot cannot be read.
    async fn kept(&self, integration: &BridgeIntegration, inbox: InboxId) -> Option<Known> {
        let kept = match self
            .store
            .find_webhook_signing_secret(&integration.id)
            .await
        {
            Ok(kept) => kept?,
            Err(error) => {
                tracing::warn!(integration_id = %integration.id, %error, "cannot read the kept webhook signing secret");
                return None;
            }
        };
        if kept.inbox_id != inbox.0 {
            return None;
        }
        let owner = SecretOwner::bridge_webhook_signing_secret(&integration.id);
        match self.vault.open(&kept.sealed, &owner) {
            Ok(secret) => {
                let now = Instant::now();
                Some(Known {
                    inbox,
                    secret: Some(secret),
                    read_at: now,
                    valid_until: now,
                })
            }
            Err(error) => {
                tracing::warn!(integration_id = %integration.id, %error, "cannot open the kept webhook signing secret");
                None
            }
        }
    }

    /// Keeps what Chatwoot showed in the store (sealed), for after a restart.
    async fn keep(
        &self,
        integration: &BridgeIntegration,
        inbox: InboxId,
        secret: Option<&SecretString>,
    ) {
        let owner = SecretOwner::bridge_webhook_signing_secret(&integration.id);
        let sealed = match secret
            .map(|secret| self.vault.seal(secret, &owner))
            .transpose()
        {
            Ok(sealed) => sealed,
            Err(error) => {
                tracing::warn!(integration_id = %integration.id, %error, "cannot seal the webhook signing secret");
                return;
            }
        };
        let kept = sealed.map(|sealed| StoredWebhookSigningSecret {
            inbox_id: inbox.0,
            sealed,
        });
        if let Err(error) = self
            .store
            .record_webhook_signing_secret(&integration.id, kept)
            .await
        {
            tracing::warn!(integration_id = %integration.id, %error, "cannot keep the webhook signing secret");
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
        let remembered = match self.remembered(&integration.id, inbox) {
            Some(known) => Some(known),
            None => self.kept(integration, inbox).await,
        };
        let now = Instant::now();
        if let Some(known) = &remembered {
            let fresh = now < known.valid_until;
            let may_reread = !fresh || now.duration_since(known.read_at) >= RETRY_AFTER;
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
                let already_kept = remembered
                    .as_ref()
                    .is_some_and(|known| same_secret(known.secret.as_ref(), secret.as_ref()));
                if !already_kept {
                    self.keep(integration, inbox, secret.as_ref()).await;
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

    // ---- The secret kept across restarts (finding L5) ---------------------------

    use mockall::predicate::eq;
    use ryze_domain::{KeyId, RelayFlags, SealedSecret};
    use ryze_ports::chatwoot::{ChatwootError, Inbox, MockChatwootApi, API_CHANNEL_TYPE};
    use ryze_ports::{MockBridgeIntegrationStore, MockSecretVault};

    const KEPT_SECRET: &str = "whsec_kept_for_inbox_7";

    /// A "sealed" secret whose ciphertext is the plaintext (the vault double opens it as is).
    fn sealed(plaintext: &str) -> SealedSecret {
        SealedSecret {
            key_id: KeyId::new("k"),
            nonce: vec![0; 12],
            ciphertext: plaintext.as_bytes().to_vec(),
        }
    }

    fn plain_vault() -> MockSecretVault {
        let mut vault = MockSecretVault::new();
        vault.expect_open().returning(|sealed, _| {
            Ok(SecretString::from(
                String::from_utf8(sealed.ciphertext.clone()).unwrap(),
            ))
        });
        vault
            .expect_seal()
            .returning(|plaintext, _| Ok(sealed(plaintext.expose_secret())));
        vault
    }

    /// A store that kept `KEPT_SECRET` for inbox 7 before the restart.
    fn store_that_kept_a_secret() -> MockBridgeIntegrationStore {
        let mut store = MockBridgeIntegrationStore::new();
        store.expect_find_webhook_signing_secret().returning(|_| {
            Ok(Some(StoredWebhookSigningSecret {
                inbox_id: 7,
                sealed: sealed(KEPT_SECRET),
            }))
        });
        // Chatwoot cannot be read: nothing new is learnt, so nothing is recorded.
        store.expect_record_webhook_signing_secret().never();
        store
    }

    fn chatwoot_down() -> MockChatwootApi {
        let mut chatwoot = MockChatwootApi::new();
        chatwoot.expect_get_inbox().returning(|_, _| {
            Err(ChatwootError::Unreachable {
                url: "https://cw.example".into(),
                detail: "connection refused".into(),
            })
        });
        chatwoot
    }

    /// A bridge just restarted: nothing in memory, the store holding what it learnt.
    fn restarted_bridge(chatwoot: MockChatwootApi) -> SigningSecrets {
        SigningSecrets::new(
            Arc::new(chatwoot),
            Arc::new(plain_vault()),
            Arc::new(store_that_kept_a_secret()),
        )
    }

    const BODY: &[u8] = br#"{"event":"message_created"}"#;
    const NOW: i64 = 1_700_000_000;

    #[tokio::test]
    async fn after_a_restart_an_unsigned_webhook_to_an_inbox_known_to_sign_is_refused_while_chatwoot_is_down(
    ) {
        let secrets = restarted_bridge(chatwoot_down());
        let integration = crate::outbound::tests::integration(RelayFlags::default());
        let now = NOW.to_string();
        let forged = chatwoot_signature("a guess", &now, BODY);
        let good = chatwoot_signature(KEPT_SECRET, &now, BODY);

        assert_eq!(
            secrets
                .check(&integration, SignatureHeaders::default(), BODY, NOW)
                .await,
            Err(SignatureRefused::Missing)
        );
        assert_eq!(
            secrets
                .check(&integration, headers(&forged, &now), BODY, NOW)
                .await,
            Err(SignatureRefused::Mismatch)
        );
        assert_eq!(
            secrets
                .check(&integration, headers(&good, &now), BODY, NOW)
                .await,
            Ok(())
        );
    }

    #[tokio::test]
    async fn a_learnt_secret_is_kept_sealed_in_the_store_once() {
        let (store, recorded) = {
            let mut store = MockBridgeIntegrationStore::new();
            store
                .expect_find_webhook_signing_secret()
                .with(eq(ryze_domain::BridgeIntegrationId::new("int_test")))
                .returning(|_| Ok(None));
            let recorded = Arc::new(Mutex::new(Vec::new()));
            let records = recorded.clone();
            store
                .expect_record_webhook_signing_secret()
                .returning(move |_, kept| {
                    records.lock().unwrap().push(kept);
                    Ok(true)
                });
            (store, recorded)
        };
        let mut chatwoot = MockChatwootApi::new();
        chatwoot.expect_get_inbox().returning(|_, _| {
            Ok(Inbox {
                id: InboxId(7),
                name: "RyzeAPI".into(),
                channel_type: API_CHANNEL_TYPE.into(),
                webhook_url: None,
                inbox_identifier: None,
                webhook_secret: Some(SecretString::from("learnt")),
            })
        });
        let secrets =
            SigningSecrets::new(Arc::new(chatwoot), Arc::new(plain_vault()), Arc::new(store));
        let integration = crate::outbound::tests::integration(RelayFlags::default());

        for _ in 0..2 {
            assert_eq!(
                secrets
                    .check(&integration, SignatureHeaders::default(), BODY, NOW)
                    .await,
                Err(SignatureRefused::Missing)
            );
        }
        assert_eq!(
            *recorded.lock().unwrap(),
            vec![Some(StoredWebhookSigningSecret {
                inbox_id: 7,
                sealed: sealed("learnt"),
            })]
        );
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
