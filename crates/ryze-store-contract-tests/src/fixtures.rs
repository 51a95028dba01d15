//! Sample accounts, instances and integrations (the API's and the bridge's), event hub
//! events, and the relay's integrations and message links, for store tests.
//!
//! Every value is derived from a short label, so a test reads as what it sets up
//! (`new_account("acme")`, `new_instance(&acme.id, "sales")`) and two calls with the same
//! label collide on purpose. Timestamps have microsecond precision, the finest every
//! backend keeps, so a value read back compares equal to the one written.

use chrono::{DateTime, Utc};
use ryze_domain::{
    AccountId, AccountName, BridgeIntegration, BridgeIntegrationId, ChatwootAccountId,
    ChatwootBaseUrl, ChatwootIntegration, ChatwootSettings, InboxName, InstanceId, InstanceName,
    IntegrationStatus, KeyId, RelayFlags, SealedSecret, TokenHash,
};
use ryze_ports::{LinkDirection, NewAccount, NewHubEvent, NewInstance, NewMessageLink};

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
    NewAccount {
        id: AccountId::new(format!("acc_{label}")),
        name: AccountName::parse(&format!("Account {label}"))
            .expect("sample account names are valid"),
        token_hash: token_hash(&format!("account-{label}")),
        instance_quota: None,
        created_at: instant(0),
    }
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
    NewInstance {
        id: InstanceId::new(format!("ins_{account_id}_{name}")),
        account_id: account_id.clone(),
        name: InstanceName::parse(name).expect("sample instance names are valid"),
        token_hash: token_hash(&format!("instance-{account_id}-{name}")),
        created_at: instant(60),
    }
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

/// A complete integration of `instance_id` with every optional field set and every
/// flag differing from its neighbour, so a swapped column would show.
pub fn sample_integration(instance_id: &InstanceId) -> ChatwootIntegration {
    ChatwootIntegration {
        instance_id: instance_id.clone(),
        settings: ChatwootSettings {
            base_url: ChatwootBaseUrl::parse("https://chatwoot.example.com/support")
                .expect("the sample base URL is valid"),
            account_id: ChatwootAccountId::new(4_200_000_001)
                .expect("the sample Chatwoot account id is valid"),
            inbox_name: InboxName::parse(Some("WhatsApp - Suporte"))
                .expect("the sample inbox name is valid"),
            flags: RelayFlags {
                sign_messages: true,
                ignore_groups: false,
                start_as_pending: true,
                reopen_resolved: false,
            },
        },
        api_token: sealed_secret(1),
        bridge_integration_id: BridgeIntegrationId::new(format!("int_{instance_id}")),
        inbox_id: Some(9_000_000_007),
        status: IntegrationStatus::Active,
        last_error: String::new(),
        created_at: instant(120),
        updated_at: instant(180),
    }
}

/// A complete bridge integration `int_<label>` of the instance `ins_<label>` (which need
/// not exist: the bridge's table has no foreign key), created at `instant(offset_seconds)`.
/// Every optional field is set, every flag differs from its neighbour, and the two
/// sealed secrets differ, so a swapped column would show.
pub fn sample_bridge_integration(label: &str, offset_seconds: i64) -> BridgeIntegration {
    BridgeIntegration {
        id: BridgeIntegrationId::new(format!("int_{label}")),
        instance_id: InstanceId::new(format!("ins_{label}")),
        instance_name: InstanceName::parse(&format!("whatsapp-{label}"))
            .expect("sample instance names are valid"),
        settings: ChatwootSettings {
            base_url: ChatwootBaseUrl::parse("https://chatwoot.example.com/support")
                .expect("the sample base URL is valid"),
            account_id: ChatwootAccountId::new(4_200_000_001)
                .expect("the sample Chatwoot account id is valid"),
            inbox_name: InboxName::parse(Some("WhatsApp - Suporte"))
                .expect("the sample inbox name is valid"),
            flags: RelayFlags {
                sign_messages: false,
                ignore_groups: true,
                start_as_pending: false,
                reopen_resolved: true,
            },
        },
        api_token: sealed_secret(4),
        webhook_secret: sealed_secret(5),
        inbox_id: Some(9_000_000_011),
        status: IntegrationStatus::Active,
        last_error: String::new(),
        created_at: instant(offset_seconds),
        updated_at: instant(offset_seconds + 30),
    }
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
