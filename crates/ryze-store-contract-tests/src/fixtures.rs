//! Sample accounts, instances and integrations (the API's and the bridge's), event hub
//! events, and the relay's integrations and message links, for store tests.
//!
//! Every value is derived from a short label, so a test reads as what it sets up
//! (`new_account("acme")`, `new_instance(&acme.id, "sales")`) and two calls with the same
//! label collide on purpose. Timestamps have microsecond precision, the finest every
//! backend keeps, so a value read back compares equal to the one written.

use chrono::{DateTime, Utc};
use ryze_domain::{
    AccountId, BridgeIntegration, BridgeIntegrationId, ChatwootIntegration, ChatwootSettings,
    InstanceId, KeyId, RelayFlags, SealedSecret, TokenHash,
};
use ryze_ports::{LinkDirection, NewAccount, NewHubEvent, NewInstance, NewMessageLink};
use ryze_test_support::control_plane::{
    chatwoot_settings, AccountBuilder, BridgeIntegrationBuilder, ChatwootIntegrationBuilder,
    InstanceBuilder,
};

/// 2025-03-04T05:06:07.123456Z in microseconds since the epoch.
const REFERENCE_INSTANT_MICROS: i64 = 1_741_064_767_123_456;

/// A fixed instant, `offset_seconds` after the reference instant (a weekday morning
/// with a non-zero microsecond part, so precision loss would show).
pub fn instant(offset_seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(REFERENCE_INSTANT_MICROS + offset_seconds * 1_000_000)
        .expect("the reference instant plus a test offset is a valid timestamp")
}

/// The hash of the token labelled `label`.
pub fn token_hash(label: &str) -> TokenHash {
    TokenHash::of(&format!("sample-token-{label}"))
}

/// An account `acc_<label>` without a quota, holding the token labelled `label`.
pub fn new_account(label: &str) -> NewAccount {
    AccountBuilder::new(&format!("acc_{label}"))
        .name(&format!("Account {label}"))
        .created_at(instant(0))
        .build_new(token_hash(&format!("account-{label}")))
}

/// [`new_account`] limited to `quota` instances.
pub fn new_account_with_quota(label: &str, quota: u32) -> NewAccount {
    NewAccount {
        instance_quota: Some(quota),
        ..new_account(label)
    }
}

/// An instance `name` of `account_id`, with an id and token unique to the pair.
pub fn new_instance(account_id: &AccountId, name: &str) -> NewInstance {
    InstanceBuilder::new(account_id.as_str(), name)
        .id(&format!("ins_{account_id}_{name}"))
        .created_at(instant(60))
        .build_new(token_hash(&format!("instance-{account_id}-{name}")))
}

/// A sealed secret whose bytes depend on `variant`; the ciphertext holds a NUL and
/// bytes above 0x7F, so a backend that treats it as text would break it.
pub fn sealed_secret(variant: u8) -> SealedSecret {
    SealedSecret {
        key_id: KeyId::new(format!("master-key-{variant}")),
        nonce: (0u8..12)
            .map(|byte| byte.wrapping_mul(7) ^ variant)
            .collect(),
        ciphertext: (0u8..48)
            .map(|byte| byte.wrapping_mul(37) ^ variant)
            .chain([0x00, 0xff, 0x80])
            .collect(),
    }
}

/// The Chatwoot settings of the sample integrations: every optional field set, with
/// `flags`.
fn support_settings(flags: RelayFlags) -> ChatwootSettings {
    chatwoot_settings(
        "https://chatwoot.example.com/support",
        4_200_000_001,
        Some("WhatsApp - Suporte"),
        flags,
    )
}

/// A complete integration of `instance_id` with every optional field set and every
/// flag differing from its neighbour, so a swapped column would show.
pub fn sample_integration(instance_id: &InstanceId) -> ChatwootIntegration {
    ChatwootIntegrationBuilder::new(instance_id)
        .settings(support_settings(RelayFlags {
            sign_messages: true,
            ignore_groups: false,
            start_as_pending: true,
            reopen_resolved: false,
        }))
        .api_token(sealed_secret(1))
        .bridge_integration_id(&format!("int_{instance_id}"))
        .inbox_id(Some(9_000_000_007))
        .created_at(instant(120))
        .updated_at(instant(180))
        .build()
}

/// A complete bridge integration `int_<label>` of the instance `ins_<label>` (which need
/// not exist: the bridge's table has no foreign key), created at `instant(offset_seconds)`.
/// Every optional field is set, every flag differs from its neighbour, and the two
/// sealed secrets differ, so a swapped column would show.
pub fn sample_bridge_integration(label: &str, offset_seconds: i64) -> BridgeIntegration {
    BridgeIntegrationBuilder::new(
        &format!("int_{label}"),
        &format!("ins_{label}"),
        &format!("whatsapp-{label}"),
    )
    .settings(support_settings(RelayFlags {
        sign_messages: false,
        ignore_groups: true,
        start_as_pending: false,
        reopen_resolved: true,
    }))
    .secrets(sealed_secret(4), sealed_secret(5))
    .inbox_id(Some(9_000_000_011))
    .timestamps(instant(offset_seconds), instant(offset_seconds + 30))
    .build()
}

/// A `message.exchange` event labelled `label`, received at `instant(offset_seconds)`:
/// its payload is the JSON envelope's bytes, with the label as the message id. It has no
/// event id, so appending it twice stores it twice ([`identified_hub_event`] has one).
pub fn hub_event(label: &str, offset_seconds: i64) -> NewHubEvent {
    NewHubEvent {
        event_id: None,
        kind: "message.exchange".to_owned(),
        payload: format!(
            r#"{{"event":"message.exchange","data":{{"id":"{label}"}},"instanceData":{{"instance":"whatsapp"}}}}"#
        )
        .into_bytes(),
        received_at: instant(offset_seconds),
        traceparent: None,
    }
}

/// [`hub_event`] with `event_id` as its event id (and the label in its payload), so the
/// hub refuses a second event with the same id.
pub fn identified_hub_event(event_id: &str, label: &str, offset_seconds: i64) -> NewHubEvent {
    NewHubEvent {
        event_id: Some(event_id.to_owned()),
        ..hub_event(label, offset_seconds)
    }
}

/// The bridge integration `int_relay_<label>` the relay's rows are scoped by (the relay's
/// tables have no foreign key: no integration is saved).
pub fn relay_integration(label: &str) -> BridgeIntegrationId {
    BridgeIntegrationId::new(format!("int_relay_{label}"))
}

/// A WhatsApp message `whatsapp_id` from a person in a group, to be written into Chatwoot:
/// no Chatwoot id nor conversation yet, every other field set.
pub fn new_message_link(whatsapp_id: &str) -> NewMessageLink {
    NewMessageLink {
        whatsapp_id: whatsapp_id.to_owned(),
        chatwoot_id: None,
        conversation: None,
        direction: LinkDirection::ToChatwoot,
        chat_jid: "120363040000000001@g.us".to_owned(),
        from_me: false,
        participant_jid: Some("5511988887777@s.whatsapp.net".to_owned()),
    }
}
