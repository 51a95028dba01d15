//! Configuration, layered with the `config` crate: built-in defaults, then an optional
//! TOML file (`--config FILE`, or `ryze.toml` in the working directory when present),
//! then `RYZE__SECTION__KEY` environment variables, then the documented short variables
//! (`DATABASE_URL`, `BRIDGE_URL`, `BRIDGE_TOKEN`, `RYZE_MASTER_KEY`, …) which win.
//! `docs/configuration.md` lists every setting.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use config::{Config, Environment, File, FileFormat};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// `embedded`: one process, SQLite file, generated key file — nothing to set up.
/// `production`: refuses to start without an explicit master key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Embedded,
    Production,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub mode: Mode,
    /// Address the API listens on.
    pub listen: String,
    /// The API's address as others reach it: `instanceData.baseUrl` of the events it
    /// forwards. Defaults to `http://<listen>`.
    pub public_url: Option<String>,
    pub database: DatabaseSettings,
    pub bridge: BridgeSettings,
    pub bridge_service: BridgeServiceSettings,
    pub vault: VaultSettings,
    pub rate_limit: RateLimitSettings,
    pub http: HttpSettings,
    pub log: LogSettings,
    /// The WhatsApp engine (`docs/engine-contract.md`).
    #[serde(default)]
    pub engine: EngineSettings,
    pub event_hub: EventHubRetentionSettings,
    #[serde(default)]
    pub metrics: MetricsSettings,
    #[serde(default)]
    pub media_url: MediaUrlSettings,
    /// OpenTelemetry traces (`docs/observability.md`, "Traces").
    pub traces: TracesSettings,
}

/// OpenTelemetry traces over OTLP, read from the standard `OTEL_*` variables. Nothing is
/// exported, and no exporter is built, unless `otlp_endpoint` is set.
#[derive(Debug, Clone, Deserialize)]
pub struct TracesSettings {
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`: the collector's base URL; spans go to
    /// `<endpoint>/v1/traces`.
    pub otlp_endpoint: Option<String>,
    /// `OTEL_EXPORTER_OTLP_PROTOCOL`: `http/protobuf`, the only one this build speaks.
    pub otlp_protocol: String,
    /// `OTEL_SERVICE_NAME`: overrides `ryze-api`, `ryze-bridge` or `ryze`.
    pub service_name: Option<String>,
    /// `OTEL_EXPORTER_OTLP_TIMEOUT`: the longest one export may take, in milliseconds.
    pub export_timeout_millis: u64,
    /// `OTEL_BSP_SCHEDULE_DELAY`: how long finished spans wait to be sent in a batch, in
    /// milliseconds.
    pub schedule_delay_millis: u64,
    /// `OTEL_BSP_MAX_QUEUE_SIZE`: most finished spans waiting to be sent; past it, new
    /// ones are dropped (a collector that is down never grows the process's memory).
    pub max_queue_size: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    /// `sqlite://path/to/file.db` or `postgres://user@host:port/db`. Secret: it may hold
    /// the database password.
    pub url: SecretString,
    pub max_connections: usize,
    pub connect_timeout_secs: u64,
    /// Apply pending migrations when a command opens the database. Defaults to true in
    /// embedded mode and false in production (run `ryze migrate` in your deploy step).
    pub migrate_on_start: Option<bool>,
}

/// Where the bridge (RyzeIntegrations) is. Both or neither. `Debug` redacts the token.
#[derive(Debug, Clone, Deserialize)]
pub struct BridgeSettings {
    pub url: Option<String>,
    pub token: Option<SecretString>,
    pub connect_timeout_secs: u64,
    pub request_timeout_secs: u64,
}

/// The WhatsApp engine: it posts events to `POST /engine/v1/events` with `token`, and
/// the API sends through it at `url` with the same token. `Debug` redacts the token.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EngineSettings {
    pub url: Option<String>,
    /// Shared secret (`ENGINE_TOKEN`). Without it the ingest route answers 404.
    pub token: Option<SecretString>,
}

/// How long the event hub keeps events the bridge has not acknowledged.
#[derive(Debug, Clone, Deserialize)]
pub struct EventHubRetentionSettings {
    /// At most this many per instance; the oldest are dropped first.
    pub max_events: u64,
    /// Events older than this are dropped.
    pub max_age_secs: u64,
    /// `nats://host:port` (`EVENT_HUB_URL`): the events live in NATS JetStream, shared by
    /// every API node. Unset, they live in the database. Secret: it may hold a password.
    #[serde(default)]
    pub url: Option<SecretString>,
    /// Prefix of the hub's streams and subjects on NATS (`EVENT_HUB_NATS_PREFIX`).
    pub nats_prefix: String,
    /// Replicas of the hub's streams (`EVENT_HUB_NATS_REPLICAS`): 1, or 3 on a cluster.
    pub nats_replicas: usize,
}

/// `GET /metrics`. `Debug` redacts the token.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MetricsSettings {
    /// When set, `/metrics` needs `Authorization: Bearer <token>`.
    pub token: Option<SecretString>,
}

/// A caller's `mediaUrl` (`POST /api/message/media`): the API downloads it and sends the
/// file back out through WhatsApp, so whoever holds a token reads what the URL answers.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MediaUrlSettings {
    /// Let `mediaUrl` reach loopback and private networks
    /// (`MEDIA_URL_ALLOW_PRIVATE_ADDRESSES`). Off by default in every mode, embedded
    /// included: independent of the bridge's settings for `chatwootBaseUrl`.
    #[serde(default)]
    pub allow_private_addresses: bool,
}

/// The bridge service itself (`ryze bridge`, and the bridge half of `ryze serve`).
#[derive(Debug, Clone, Deserialize)]
pub struct BridgeServiceSettings {
    /// Address the bridge listens on.
    pub listen: String,
    /// The bridge's address as Chatwoot reaches it (webhook URLs start with it);
    /// defaults to `http://<listen>`.
    pub public_url: Option<String>,
    /// Let `chatwootBaseUrl` resolve to private networks (10/8, 192.168/16, …). Default:
    /// true in embedded mode, false in production.
    pub allow_private_addresses: Option<bool>,
    /// Let `chatwootBaseUrl` resolve to loopback. Default as for private addresses.
    pub allow_loopback_addresses: Option<bool>,
    pub chatwoot_connect_timeout_secs: u64,
    /// Per Chatwoot call; an activation makes at most three, inside the API's 60 s.
    pub chatwoot_request_timeout_secs: u64,
    /// The API as the bridge reaches it (`API_URL`): its event stream and message
    /// endpoints. `ryze serve` uses its own API; `ryze bridge` relays nothing without it.
    pub api_url: Option<String>,
    /// Longest wait between two retries of a relay step Chatwoot may accept later.
    pub relay_retry_max_delay_secs: u64,
    /// Longest wait between two attempts to reconnect to the event stream.
    pub reconnect_max_delay_secs: u64,
    /// A chat's relay worker idle this long is stopped (a new one starts with the chat's
    /// next event).
    pub chat_worker_idle_secs: u64,
    /// Agents' replies (webhooks) handled at once, all integrations together.
    pub outbound_parallel: usize,
    /// Agents' replies one integration has handled at once: its share of
    /// `outbound_parallel`.
    pub outbound_parallel_per_integration: usize,
    /// Calls to the API's message endpoints the outbound relay makes at once.
    pub outbound_parallel_sends: usize,
    /// Relay steps (WhatsApp → Chatwoot) one integration runs at once.
    pub inbound_parallel_per_integration: usize,
    /// Webhooks one integration may post per minute (429 beyond).
    pub webhooks_per_integration_per_minute: u32,
    /// Calls the bridge allows itself to each Chatwoot host per window, shared by every
    /// integration there: the Chatwoot's `RACK_ATTACK_LIMIT` (3,000 by default).
    pub chatwoot_calls_per_window: u32,
    /// The length of that window (Chatwoot's: a minute).
    pub chatwoot_call_window_secs: u64,
    /// With `REDIS_URL`, the prefix of the call budget's keys in Redis, so several
    /// deployments can share one Redis (each its own budget).
    pub chatwoot_budget_key_prefix: String,
    /// With `reopenResolved` off, how long a conversation status Chatwoot told the bridge
    /// (by a webhook or an answer) is trusted before a message is written without a `GET`.
    pub conversation_status_trust_secs: u64,
    /// How long a bridge node's lease of an integration lasts without renewal (renewed
    /// every third of it); a dead node's integrations move within about this plus a
    /// third. `0` turns leases off: every bridge process relays every integration.
    pub lease_ttl_secs: u64,
}

/// The master keys. `Debug` redacts every key.
#[derive(Debug, Clone, Deserialize)]
pub struct VaultSettings {
    /// Current master key (32 bytes, hex or base64).
    pub master_key: Option<SecretString>,
    /// Older keys still needed to read secrets sealed before a rotation.
    pub previous_master_keys: Vec<SecretString>,
    /// Embedded mode without `master_key`: the key file, created on first run.
    pub key_file: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RateLimitSettings {
    pub per_minute: u32,
    pub instance_creation_per_minute: u32,
    /// Requests without a token and failed authentications per client address (per
    /// /64 for IPv6) and minute.
    pub unauthenticated_per_minute: u32,
    /// Reverse proxies in front of the API that append the client to
    /// `X-Forwarded-For` (`TRUSTED_PROXY_HOPS`); 0, the default, ignores the header.
    pub trusted_proxy_hops: usize,
    /// Media requests (`/api/message/media`, `/api/chat/base64`) handled at once
    /// (`MEDIA_CONCURRENCY`).
    pub media_concurrency: usize,
    /// `redis://host:port` (`REDIS_URL`): every API node counts the limits there, and
    /// every bridge node its calls to each Chatwoot host. Unset, each process counts
    /// its own. Secret: it may hold a password.
    #[serde(default)]
    pub redis_url: Option<secrecy::SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HttpSettings {
    pub body_limit_bytes: usize,
    /// Worker threads; 0 means one per core.
    pub workers: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    pub format: LogFormat,
    /// `tracing` filter; `RUST_LOG` overrides it.
    pub filter: String,
}

/// The short environment variables we document, and the setting each one sets.
const SHORT_VARIABLES: &[(&str, &str)] = &[
    ("RYZE_MODE", "mode"),
    ("RYZE_LISTEN", "listen"),
    ("RYZE_PUBLIC_URL", "public_url"),
    ("DATABASE_URL", "database.url"),
    ("BRIDGE_URL", "bridge.url"),
    ("BRIDGE_TOKEN", "bridge.token"),
    ("BRIDGE_LISTEN", "bridge_service.listen"),
    ("BRIDGE_PUBLIC_URL", "bridge_service.public_url"),
    ("API_URL", "bridge_service.api_url"),
    (
        "BRIDGE_ALLOW_PRIVATE_ADDRESSES",
        "bridge_service.allow_private_addresses",
    ),
    (
        "BRIDGE_ALLOW_LOOPBACK_ADDRESSES",
        "bridge_service.allow_loopback_addresses",
    ),
    (
        "MEDIA_URL_ALLOW_PRIVATE_ADDRESSES",
        "media_url.allow_private_addresses",
    ),
    ("RYZE_MASTER_KEY", "vault.master_key"),
    ("RYZE_KEY_FILE", "vault.key_file"),
    ("RYZE_LOG_FORMAT", "log.format"),
    ("ENGINE_URL", "engine.url"),
    ("ENGINE_TOKEN", "engine.token"),
    ("EVENT_HUB_MAX_EVENTS", "event_hub.max_events"),
    ("EVENT_HUB_MAX_AGE", "event_hub.max_age_secs"),
    ("EVENT_HUB_URL", "event_hub.url"),
    ("EVENT_HUB_NATS_PREFIX", "event_hub.nats_prefix"),
    ("EVENT_HUB_NATS_REPLICAS", "event_hub.nats_replicas"),
    ("METRICS_TOKEN", "metrics.token"),
    ("TRUSTED_PROXY_HOPS", "rate_limit.trusted_proxy_hops"),
    ("MEDIA_CONCURRENCY", "rate_limit.media_concurrency"),
    ("REDIS_URL", "rate_limit.redis_url"),
    ("OTEL_EXPORTER_OTLP_ENDPOINT", "traces.otlp_endpoint"),
    ("OTEL_EXPORTER_OTLP_PROTOCOL", "traces.otlp_protocol"),
    ("OTEL_SERVICE_NAME", "traces.service_name"),
    ("OTEL_EXPORTER_OTLP_TIMEOUT", "traces.export_timeout_millis"),
    ("OTEL_BSP_SCHEDULE_DELAY", "traces.schedule_delay_millis"),
    ("OTEL_BSP_MAX_QUEUE_SIZE", "traces.max_queue_size"),
];

/// Shortest shared secret (`BRIDGE_TOKEN`, `ENGINE_TOKEN`, `METRICS_TOKEN`) accepted.
pub const SHARED_SECRET_MIN_LEN: usize = 32;

/// A setting the API or the bridge refuses to start with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InsecureSetting {
    #[error("{name} is too short: use at least {SHARED_SECRET_MIN_LEN} characters (for example `ryze keys generate`)")]
    ShortSecret { name: &'static str },
    #[error("METRICS_TOKEN is not set: production mode refuses to serve /metrics without a token (at least {SHARED_SECRET_MIN_LEN} characters)")]
    MetricsTokenMissingInProduction,
}

/// Read with the process environment.
pub fn load(file: Option<&Path>) -> Result<Settings, config::ConfigError> {
    load_from(file, &std::env::vars().collect())
}

/// Read with an explicit environment, for tests.
pub fn load_from(
    file: Option<&Path>,
    env: &HashMap<String, String>,
) -> Result<Settings, config::ConfigError> {
    let variable = |name: &str| env.get(name).filter(|value| !value.trim().is_empty());
    let mut builder = Config::builder()
        .set_default("mode", "embedded")?
        .set_default("listen", "127.0.0.1:8080")?
        .set_default("database.url", "sqlite://./data/ryze.db")?
        .set_default("database.max_connections", 10)?
        .set_default("database.connect_timeout_secs", 5)?
        .set_default("bridge.connect_timeout_secs", 5)?
        .set_default("bridge.request_timeout_secs", 65)?
        .set_default("bridge_service.listen", "127.0.0.1:8081")?
        .set_default("bridge_service.chatwoot_connect_timeout_secs", 5)?
        .set_default("bridge_service.chatwoot_request_timeout_secs", 15)?
        .set_default("bridge_service.relay_retry_max_delay_secs", 60)?
        .set_default("bridge_service.reconnect_max_delay_secs", 30)?
        .set_default("bridge_service.chat_worker_idle_secs", 60)?
        .set_default("bridge_service.outbound_parallel", 16)?
        .set_default("bridge_service.outbound_parallel_per_integration", 4)?
        .set_default("bridge_service.outbound_parallel_sends", 8)?
        .set_default("bridge_service.inbound_parallel_per_integration", 8)?
        .set_default("bridge_service.webhooks_per_integration_per_minute", 300)?
        .set_default("bridge_service.chatwoot_calls_per_window", 3_000)?
        .set_default("bridge_service.chatwoot_call_window_secs", 60)?
        .set_default(
            "bridge_service.chatwoot_budget_key_prefix",
            "ryze:chatwoot-budget",
        )?
        .set_default("bridge_service.conversation_status_trust_secs", 10)?
        .set_default("bridge_service.lease_ttl_secs", 10)?
        .set_default("vault.previous_master_keys", Vec::<String>::new())?
        .set_default("vault.key_file", "./data/master.key")?
        .set_default("rate_limit.per_minute", 100)?
        .set_default("rate_limit.instance_creation_per_minute", 20)?
        .set_default(
            "rate_limit.unauthenticated_per_minute",
            ryze_api_server::DEFAULT_UNAUTHENTICATED_PER_MINUTE,
        )?
        .set_default("rate_limit.trusted_proxy_hops", 0)?
        .set_default(
            "rate_limit.media_concurrency",
            ryze_api_server::DEFAULT_MEDIA_CONCURRENCY as i64,
        )?
        .set_default(
            "http.body_limit_bytes",
            ryze_api_server::DEFAULT_BODY_LIMIT_BYTES as i64,
        )?
        .set_default("http.workers", 0)?
        .set_default("event_hub.max_events", 100_000)?
        .set_default("event_hub.max_age_secs", 7 * 24 * 60 * 60)?
        .set_default("event_hub.nats_prefix", "ryze")?
        .set_default("event_hub.nats_replicas", 1)?
        .set_default("traces.otlp_protocol", "http/protobuf")?
        .set_default("traces.export_timeout_millis", 10_000)?
        .set_default("traces.schedule_delay_millis", 5_000)?
        .set_default("traces.max_queue_size", 2_048)?
        .set_default("log.format", "pretty")?
        .set_default("log.filter", "info")?;

    builder = match file {
        Some(path) => builder.add_source(File::from(path).format(FileFormat::Toml)),
        None => builder.add_source(File::new("ryze.toml", FileFormat::Toml).required(false)),
    };

    let prefixed: HashMap<String, String> = env
        .iter()
        .filter(|(name, _)| name.starts_with("RYZE__"))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    builder = builder.add_source(
        Environment::with_prefix("RYZE")
            .prefix_separator("__")
            .separator("__")
            .source(Some(prefixed)),
    );

    for (name, key) in SHORT_VARIABLES {
        if let Some(value) = variable(name) {
            builder = builder.set_override(*key, value.clone())?;
        }
    }
    if let Some(previous) = variable("RYZE_PREVIOUS_MASTER_KEYS") {
        let keys: Vec<String> = previous
            .split(',')
            .map(str::trim)
            .filter(|key| !key.is_empty())
            .map(str::to_owned)
            .collect();
        builder = builder.set_override("vault.previous_master_keys", keys)?;
    }
    builder.build()?.try_deserialize()
}

impl Settings {
    /// Whether `chatwootBaseUrl` may resolve to private networks.
    pub fn allow_private_addresses(&self) -> bool {
        self.bridge_service
            .allow_private_addresses
            .unwrap_or(self.mode == Mode::Embedded)
    }

    /// Whether `chatwootBaseUrl` may resolve to loopback.
    pub fn allow_loopback_addresses(&self) -> bool {
        self.bridge_service
            .allow_loopback_addresses
            .unwrap_or(self.mode == Mode::Embedded)
    }

    /// The API's public base URL: `public_url`, or `http://<listen>`.
    pub fn api_public_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.listen),
        }
    }

    /// The shared secrets are long enough, and `/metrics` has a token in production.
    pub fn check_api_secrets(&self) -> Result<(), InsecureSetting> {
        check_secret_length("BRIDGE_TOKEN", exposed(&self.bridge.token))?;
        check_secret_length("ENGINE_TOKEN", exposed(&self.engine.token))?;
        check_secret_length("METRICS_TOKEN", exposed(&self.metrics.token))?;
        if self.mode == Mode::Production && self.metrics.token.is_none() {
            return Err(InsecureSetting::MetricsTokenMissingInProduction);
        }
        Ok(())
    }

    /// `BRIDGE_TOKEN` is long enough (the bridge alone).
    pub fn check_bridge_secret(&self) -> Result<(), InsecureSetting> {
        check_secret_length("BRIDGE_TOKEN", exposed(&self.bridge.token))
    }

    pub fn migrate_on_start(&self) -> bool {
        self.database
            .migrate_on_start
            .unwrap_or(self.mode == Mode::Embedded)
    }
}

/// A secret setting's text, at the point of use.
fn exposed(secret: &Option<SecretString>) -> Option<&str> {
    secret.as_ref().map(ExposeSecret::expose_secret)
}

fn check_secret_length(name: &'static str, secret: Option<&str>) -> Result<(), InsecureSetting> {
    match secret {
        Some(secret) if secret.chars().count() < SHARED_SECRET_MIN_LEN => {
            Err(InsecureSetting::ShortSecret { name })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_are_the_embedded_setup() {
        let settings = load_from(Some(Path::new("/nonexistent/none.toml")), &env_of(&[]));
        // An explicitly named file must exist.
        assert!(settings.is_err());
        let settings = load_from(None, &env_of(&[])).unwrap();
        assert_eq!(settings.mode, Mode::Embedded);
        assert_eq!(settings.listen, "127.0.0.1:8080");
        assert_eq!(
            settings.database.url.expose_secret(),
            "sqlite://./data/ryze.db"
        );
        assert!(settings.bridge.url.is_none());
        assert!(settings.migrate_on_start());
        assert_eq!(settings.rate_limit.per_minute, 100);
        assert_eq!(settings.bridge_service.listen, "127.0.0.1:8081");
        assert!(settings.allow_private_addresses() && settings.allow_loopback_addresses());
        assert!(
            !settings.media_url.allow_private_addresses,
            "mediaUrl reaches no private address by default, embedded mode included"
        );
        assert_eq!(settings.api_public_url(), "http://127.0.0.1:8080");
        assert!(settings.engine.token.is_none() && settings.engine.url.is_none());
        assert_eq!(settings.event_hub.max_events, 100_000);
        assert_eq!(settings.event_hub.max_age_secs, 604_800);
        assert!(
            settings.event_hub.url.is_none(),
            "the database hub by default"
        );
        assert_eq!(settings.event_hub.nats_prefix, "ryze");
        assert_eq!(settings.event_hub.nats_replicas, 1);
        assert!(settings.metrics.token.is_none());
    }

    #[test]
    fn the_event_hub_is_configured_by_its_documented_variables() {
        let settings = load_from(
            None,
            &env_of(&[
                ("ENGINE_URL", "http://engine:7000"),
                ("ENGINE_TOKEN", "engine-secret"),
                ("RYZE_PUBLIC_URL", "https://api.example.com/"),
                ("EVENT_HUB_MAX_EVENTS", "500"),
                ("EVENT_HUB_MAX_AGE", "3600"),
                ("METRICS_TOKEN", "metrics-secret"),
                ("EVENT_HUB_URL", "nats://hub-user:hub-password@nats:4222"),
                ("EVENT_HUB_NATS_PREFIX", "ryze_eu"),
                ("EVENT_HUB_NATS_REPLICAS", "3"),
            ]),
        )
        .unwrap();
        assert_eq!(
            exposed(&settings.event_hub.url),
            Some("nats://hub-user:hub-password@nats:4222")
        );
        assert_eq!(settings.event_hub.nats_prefix, "ryze_eu");
        assert_eq!(settings.event_hub.nats_replicas, 3);
        assert_eq!(settings.engine.url.as_deref(), Some("http://engine:7000"));
        assert_eq!(exposed(&settings.engine.token), Some("engine-secret"));
        assert_eq!(settings.api_public_url(), "https://api.example.com");
        assert_eq!(settings.event_hub.max_events, 500);
        assert_eq!(settings.event_hub.max_age_secs, 3600);
        assert_eq!(exposed(&settings.metrics.token), Some("metrics-secret"));
        let shown = format!("{settings:?}");
        assert!(!shown.contains("engine-secret") && !shown.contains("metrics-secret"));
        assert!(!shown.contains("hub-password"));
    }

    #[test]
    fn documented_variables_override_everything() {
        let settings = load_from(
            None,
            &env_of(&[
                ("DATABASE_URL", "postgres://postgres@127.0.0.1/ryze"),
                ("BRIDGE_URL", "http://bridge:9000"),
                ("BRIDGE_TOKEN", "bridge-secret"),
                ("RYZE_MODE", "production"),
                ("RYZE_PREVIOUS_MASTER_KEYS", "a, b"),
            ]),
        )
        .unwrap();
        assert_eq!(
            settings.database.url.expose_secret(),
            "postgres://postgres@127.0.0.1/ryze"
        );
        assert_eq!(settings.bridge.url.as_deref(), Some("http://bridge:9000"));
        assert_eq!(settings.mode, Mode::Production);
        assert!(!settings.migrate_on_start());
        assert!(!settings.allow_private_addresses() && !settings.allow_loopback_addresses());
        let previous: Vec<&str> = settings
            .vault
            .previous_master_keys
            .iter()
            .map(ExposeSecret::expose_secret)
            .collect();
        assert_eq!(previous, vec!["a", "b"]);
        assert_eq!(exposed(&settings.bridge.token), Some("bridge-secret"));
        assert!(!format!("{:?}", settings.bridge).contains("bridge-secret"));
    }

    #[test]
    fn media_urls_are_allowed_private_addresses_only_by_their_own_setting() {
        let bridge_allows = load_from(
            None,
            &env_of(&[
                ("BRIDGE_ALLOW_PRIVATE_ADDRESSES", "true"),
                ("BRIDGE_ALLOW_LOOPBACK_ADDRESSES", "true"),
            ]),
        )
        .unwrap();
        assert!(!bridge_allows.media_url.allow_private_addresses);
        let media_allows = load_from(
            None,
            &env_of(&[("MEDIA_URL_ALLOW_PRIVATE_ADDRESSES", "true")]),
        )
        .unwrap();
        assert!(media_allows.media_url.allow_private_addresses);
    }

    #[test]
    fn short_shared_secrets_are_refused_naming_the_setting() {
        for name in ["BRIDGE_TOKEN", "ENGINE_TOKEN", "METRICS_TOKEN"] {
            let settings = load_from(None, &env_of(&[(name, "too-short-secret")])).unwrap();
            let refused = settings.check_api_secrets().unwrap_err();
            assert_eq!(refused, InsecureSetting::ShortSecret { name });
            assert!(refused.to_string().starts_with(name), "{refused}");
            assert!(!refused.to_string().contains("too-short-secret"));
        }
        let long = "0123456789abcdef0123456789abcdef";
        let settings = load_from(None, &env_of(&[("BRIDGE_TOKEN", long)])).unwrap();
        assert_eq!(settings.check_api_secrets(), Ok(()));
        assert_eq!(settings.check_bridge_secret(), Ok(()));
    }

    #[test]
    fn production_needs_a_metrics_token() {
        let settings = load_from(None, &env_of(&[("RYZE_MODE", "production")])).unwrap();
        let refused = settings.check_api_secrets().unwrap_err();
        assert_eq!(refused, InsecureSetting::MetricsTokenMissingInProduction);
        assert!(refused.to_string().contains("METRICS_TOKEN"));
        let settings = load_from(
            None,
            &env_of(&[
                ("RYZE_MODE", "production"),
                ("METRICS_TOKEN", "0123456789abcdef0123456789abcdef"),
            ]),
        )
        .unwrap();
        assert_eq!(settings.check_api_secrets(), Ok(()));
        // Embedded mode keeps /metrics open without one.
        assert_eq!(
            load_from(None, &env_of(&[])).unwrap().check_api_secrets(),
            Ok(())
        );
    }

    #[test]
    fn the_new_limits_have_documented_defaults_and_variables() {
        let settings = load_from(None, &env_of(&[])).unwrap();
        assert_eq!(settings.rate_limit.unauthenticated_per_minute, 30);
        assert_eq!(settings.rate_limit.trusted_proxy_hops, 0);
        assert_eq!(settings.rate_limit.media_concurrency, 4);
        let settings = load_from(
            None,
            &env_of(&[("TRUSTED_PROXY_HOPS", "1"), ("MEDIA_CONCURRENCY", "2")]),
        )
        .unwrap();
        assert_eq!(settings.rate_limit.trusted_proxy_hops, 1);
        assert_eq!(settings.rate_limit.media_concurrency, 2);
    }

    #[test]
    fn debug_of_the_settings_never_shows_a_secret() {
        let secrets = [
            ("BRIDGE_TOKEN", "bridge-token-value"),
            ("ENGINE_TOKEN", "engine-token-value"),
            ("METRICS_TOKEN", "metrics-token-value"),
            ("RYZE_MASTER_KEY", "current-master-key-value"),
            (
                "RYZE_PREVIOUS_MASTER_KEYS",
                "previous-key-one,previous-key-two",
            ),
            (
                "DATABASE_URL",
                "postgres://ryze:database-password-value@db/ryze",
            ),
        ];
        let settings = load_from(None, &env_of(&secrets)).unwrap();
        assert_eq!(
            exposed(&settings.vault.master_key),
            Some("current-master-key-value")
        );
        assert_eq!(settings.vault.previous_master_keys.len(), 2);
        let shown = [
            format!("{settings:?}"),
            format!("{settings:#?}"),
            format!("{:?}", settings.bridge),
            format!("{:?}", settings.engine),
            format!("{:?}", settings.metrics),
            format!("{:?}", settings.vault),
            format!("{:?}", settings.database),
        ];
        for text in &shown {
            for secret in [
                "bridge-token-value",
                "engine-token-value",
                "metrics-token-value",
                "current-master-key-value",
                "previous-key-one",
                "previous-key-two",
                "database-password-value",
            ] {
                assert!(!text.contains(secret), "{secret} shown in {text}");
            }
        }
        // What is not secret is still shown.
        assert!(shown[0].contains("key_file") && shown[0].contains("connect_timeout_secs"));
    }

    #[test]
    fn redis_url_shares_the_limits_and_stays_out_of_debug_output() {
        let settings = load_from(None, &env_of(&[])).unwrap();
        assert!(settings.rate_limit.redis_url.is_none());
        let settings = load_from(
            None,
            &env_of(&[("REDIS_URL", "redis://:hunter2-password@127.0.0.1:6379")]),
        )
        .unwrap();
        let url = settings.rate_limit.redis_url.as_ref().unwrap();
        assert_eq!(
            secrecy::ExposeSecret::expose_secret(url),
            "redis://:hunter2-password@127.0.0.1:6379"
        );
        assert!(!format!("{settings:?}").contains("hunter2-password"));
    }

    #[test]
    fn the_call_budget_key_prefix_has_a_default_and_can_be_set() {
        let settings = load_from(None, &env_of(&[])).unwrap();
        assert_eq!(
            settings.bridge_service.chatwoot_budget_key_prefix,
            "ryze:chatwoot-budget"
        );
        let settings = load_from(
            None,
            &env_of(&[(
                "RYZE__BRIDGE_SERVICE__CHATWOOT_BUDGET_KEY_PREFIX",
                "staging:budget",
            )]),
        )
        .unwrap();
        assert_eq!(
            settings.bridge_service.chatwoot_budget_key_prefix,
            "staging:budget"
        );
    }
}
