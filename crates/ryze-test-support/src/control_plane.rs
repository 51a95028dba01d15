//! The control plane's values: accounts, instances, sealed secrets, Chatwoot settings,
//! and the API's and the bridge's integrations, each from a builder with complete,
//! valid defaults.
//!
//! Defaults: account `acc_1` named "Acme" without a quota; Chatwoot at
//! `https://chatwoot.example.com`, account 5, the default inbox name, default flags;
//! an active integration `int_1` on inbox 4 whose token is [`sealed_secret`]`("k1")`;
//! every timestamp [`DEFAULT_TIME_UNIX_SECONDS`].

use chrono::{DateTime, Utc};
use ryze_domain::{
    Account, AccountId, AccountName, BridgeIntegration, BridgeIntegrationId, ChatwootAccountId,
    ChatwootBaseUrl, ChatwootIntegration, ChatwootSettings, InboxName, Instance, InstanceId,
    InstanceName, IntegrationStatus, KeyId, Principal, RelayFlags, SealedSecret, TokenHash,
};
use ryze_ports::{NewAccount, NewInstance};

/// 2023-11-14T22:13:20Z: when every built value was created, unless told otherwise.
pub const DEFAULT_TIME_UNIX_SECONDS: i64 = 1_700_000_000;

/// [`DEFAULT_TIME_UNIX_SECONDS`] as a timestamp.
pub fn default_time() -> DateTime<Utc> {
    at_unix_seconds(DEFAULT_TIME_UNIX_SECONDS)
}

/// The instant `seconds` after the Unix epoch.
pub fn at_unix_seconds(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).expect("test timestamps are in range")
}

/// A sealed secret under the key `key_id` (a 12-byte nonce of ones, 30 bytes of nines).
pub fn sealed_secret(key_id: &str) -> SealedSecret {
    SealedSecret {
        key_id: KeyId::new(key_id),
        nonce: vec![1; 12],
        ciphertext: vec![9; 30],
    }
}

/// Chatwoot settings: `base_url`, account `account_id`, the inbox `inbox_name` (the
/// default name when `None`) and `flags`.
pub fn chatwoot_settings(
    base_url: &str,
    account_id: i64,
    inbox_name: Option<&str>,
    flags: RelayFlags,
) -> ChatwootSettings {
    ChatwootSettings {
        base_url: ChatwootBaseUrl::parse(base_url).expect("test Chatwoot URLs are valid"),
        account_id: ChatwootAccountId::new(account_id)
            .expect("test Chatwoot account ids are valid"),
        inbox_name: InboxName::parse(inbox_name).expect("test inbox names are valid"),
        flags,
    }
}

/// Chatwoot settings as the API's `set` body and the bridge's activation body spell
/// them: Chatwoot at `base_url`, account 5, the token `api_token`, the inbox
/// "WhatsApp - Orion", messages signed, groups relayed, new conversations open and
/// resolved ones reopened. Add the instance's fields to build the bridge's body.
pub fn chatwoot_settings_json(base_url: &str, api_token: &str) -> serde_json::Value {
    serde_json::json!({
        "chatwootBaseUrl": base_url,
        "chatwootAccountId": 5,
        "chatwootApiToken": api_token,
        "inboxName": "WhatsApp - Orion",
        "signMessages": true,
        "ignoreGroups": false,
        "startAsPending": false,
        "reopenResolved": true
    })
}

/// The default Chatwoot settings (see the module documentation).
pub fn default_chatwoot_settings() -> ChatwootSettings {
    chatwoot_settings(
        "https://chatwoot.example.com",
        5,
        None,
        RelayFlags::default(),
    )
}

/// Builds an [`Account`] (or its [`NewAccount`], or its [`Principal`]).
#[derive(Debug, Clone)]
pub struct AccountBuilder {
    account: Account,
}

impl Default for AccountBuilder {
    fn default() -> Self {
        Self::new("acc_1")
    }
}

impl AccountBuilder {
    /// The account `id`, named "Acme", without a quota.
    pub fn new(id: &str) -> Self {
        Self {
            account: Account {
                id: AccountId::new(id),
                name: AccountName::parse("Acme").expect("test account names are valid"),
                instance_quota: None,
                created_at: default_time(),
            },
        }
    }

    /// Names it `name`.
    pub fn name(mut self, name: &str) -> Self {
        self.account.name = AccountName::parse(name).expect("test account names are valid");
        self
    }

    /// Limits it to `quota` instances.
    pub fn instance_quota(mut self, quota: u32) -> Self {
        self.account.instance_quota = Some(quota);
        self
    }

    /// Creates it at `created_at`.
    pub fn created_at(mut self, created_at: DateTime<Utc>) -> Self {
        self.account.created_at = created_at;
        self
    }

    /// The account.
    pub fn build(self) -> Account {
        self.account
    }

    /// The account's principal (what its token authenticates as).
    pub fn principal(self) -> Principal {
        Principal::Account(self.account)
    }

    /// The account to insert, holding the token whose hash is `token_hash`.
    pub fn build_new(self, token_hash: TokenHash) -> NewAccount {
        NewAccount {
            id: self.account.id,
            name: self.account.name,
            token_hash,
            instance_quota: self.account.instance_quota,
            created_at: self.account.created_at,
        }
    }
}

/// Builds an [`Instance`] (or its [`NewInstance`], or its [`Principal`]).
#[derive(Debug, Clone)]
pub struct InstanceBuilder {
    instance: Instance,
}

impl InstanceBuilder {
    /// The instance `ins_<name>` named `name` of the account `account_id`.
    pub fn new(account_id: &str, name: &str) -> Self {
        Self {
            instance: Instance {
                id: InstanceId::new(format!("ins_{name}")),
                account_id: AccountId::new(account_id),
                name: InstanceName::parse(name).expect("test instance names are valid"),
                created_at: default_time(),
            },
        }
    }

    /// Gives it the id `id`.
    pub fn id(mut self, id: &str) -> Self {
        self.instance.id = InstanceId::new(id);
        self
    }

    /// Creates it at `created_at`.
    pub fn created_at(mut self, created_at: DateTime<Utc>) -> Self {
        self.instance.created_at = created_at;
        self
    }

    /// The instance.
    pub fn build(self) -> Instance {
        self.instance
    }

    /// The instance's principal (what its token authenticates as).
    pub fn principal(self) -> Principal {
        Principal::Instance(self.instance)
    }

    /// The instance to insert, holding the token whose hash is `token_hash`.
    pub fn build_new(self, token_hash: TokenHash) -> NewInstance {
        NewInstance {
            id: self.instance.id,
            account_id: self.instance.account_id,
            name: self.instance.name,
            token_hash,
            created_at: self.instance.created_at,
        }
    }
}

/// The setters the API's and the bridge's integration builders share (their
/// integrations have the same settings, inbox id, status and last error).
macro_rules! shared_integration_setters {
    () => {
        /// Uses `settings`.
        pub fn settings(mut self, settings: ChatwootSettings) -> Self {
            self.integration.settings = settings;
            self
        }

        /// Sets the inbox id (`None`: not created yet).
        pub fn inbox_id(mut self, inbox_id: Option<i64>) -> Self {
            self.integration.inbox_id = inbox_id;
            self
        }

        /// Sets the status and its last error.
        pub fn status(mut self, status: IntegrationStatus, last_error: &str) -> Self {
            self.integration.status = status;
            self.integration.last_error = last_error.to_owned();
            self
        }
    };
}

/// Builds the API's [`ChatwootIntegration`] of an instance.
#[derive(Debug, Clone)]
pub struct ChatwootIntegrationBuilder {
    integration: ChatwootIntegration,
}

impl ChatwootIntegrationBuilder {
    shared_integration_setters!();

    /// The default integration (see the module documentation) of `instance_id`.
    pub fn new(instance_id: &InstanceId) -> Self {
        Self {
            integration: ChatwootIntegration {
                instance_id: instance_id.clone(),
                settings: default_chatwoot_settings(),
                api_token: sealed_secret("k1"),
                bridge_integration_id: BridgeIntegrationId::new("int_1"),
                inbox_id: Some(4),
                status: IntegrationStatus::Active,
                last_error: String::new(),
                created_at: default_time(),
                updated_at: default_time(),
            },
        }
    }

    /// Names the inbox `inbox_name` (the default name when `None`).
    pub fn inbox_name(mut self, inbox_name: Option<&str>) -> Self {
        self.integration.settings.inbox_name =
            InboxName::parse(inbox_name).expect("test inbox names are valid");
        self
    }

    /// Seals the Chatwoot token as `api_token`.
    pub fn api_token(mut self, api_token: SealedSecret) -> Self {
        self.integration.api_token = api_token;
        self
    }

    /// Links it to the bridge's integration `id`.
    pub fn bridge_integration_id(mut self, id: &str) -> Self {
        self.integration.bridge_integration_id = BridgeIntegrationId::new(id);
        self
    }

    /// Creates and updates it at `at`.
    pub fn created_at(mut self, at: DateTime<Utc>) -> Self {
        self.integration.created_at = at;
        self.integration.updated_at = at;
        self
    }

    /// Updates it at `updated_at` (after [`Self::created_at`]).
    pub fn updated_at(mut self, updated_at: DateTime<Utc>) -> Self {
        self.integration.updated_at = updated_at;
        self
    }

    /// The integration.
    pub fn build(self) -> ChatwootIntegration {
        self.integration
    }
}

/// Builds the bridge's [`BridgeIntegration`].
#[derive(Debug, Clone)]
pub struct BridgeIntegrationBuilder {
    integration: BridgeIntegration,
}

impl BridgeIntegrationBuilder {
    shared_integration_setters!();

    /// The integration `id` of the instance `instance_id` named `instance_name`, with the
    /// defaults of the module documentation; its webhook secret is sealed under "k2".
    pub fn new(id: &str, instance_id: &str, instance_name: &str) -> Self {
        Self {
            integration: BridgeIntegration {
                id: BridgeIntegrationId::new(id),
                instance_id: InstanceId::new(instance_id),
                instance_name: InstanceName::parse(instance_name)
                    .expect("test instance names are valid"),
                settings: default_chatwoot_settings(),
                api_token: sealed_secret("k1"),
                webhook_secret: sealed_secret("k2"),
                inbox_id: Some(4),
                status: IntegrationStatus::Active,
                last_error: String::new(),
                created_at: default_time(),
                updated_at: default_time(),
            },
        }
    }

    /// Seals the Chatwoot token as `api_token` and the webhook secret as `webhook_secret`.
    pub fn secrets(mut self, api_token: SealedSecret, webhook_secret: SealedSecret) -> Self {
        self.integration.api_token = api_token;
        self.integration.webhook_secret = webhook_secret;
        self
    }

    /// Creates it at `created_at` and updates it at `updated_at`.
    pub fn timestamps(mut self, created_at: DateTime<Utc>, updated_at: DateTime<Utc>) -> Self {
        self.integration.created_at = created_at;
        self.integration.updated_at = updated_at;
        self
    }

    /// The integration.
    pub fn build(self) -> BridgeIntegration {
        self.integration
    }
}
