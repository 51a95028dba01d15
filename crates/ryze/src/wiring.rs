//! Builds the services from settings: the store chosen by the `DATABASE_URL` scheme, the
//! vault from the configured key (or the embedded key file), the bridge client when
//! `BRIDGE_URL` and `BRIDGE_TOKEN` are set, the rate limiter (on Redis with `REDIS_URL`,
//! else in-process), the bridge itself (Chatwoot client behind the outbound-address
//! guard, its call budget on Redis with `REDIS_URL`, else in-process), and the relay metrics both services report in (`docs/observability.md`).
//! The event hub lives in the database, or in NATS JetStream with `EVENT_HUB_URL`.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use ryze_api_bridge_client::{BridgeClientSettings, HttpIntegrationGateway};
use ryze_api_engine_client::{EngineClient, EngineClientSettings};
use ryze_api_rate_limit_memory::InMemoryRateLimiter;
use ryze_api_rate_limit_redis::{RedisRateLimiter, RedisRateLimiterSettings};
use ryze_api_server::{ApiState, EventHubRoutes, EventStreamSettings, MediaWorkLimit, RateLimits};
use ryze_api_use_cases::{
    keys_missing_from_ring, Budgets, ControlPlane, EventHub, EventHubSettings, Messaging,
    MessagingEngine, MessagingSettings, StoreInstanceDirectory, TeardownRetrySettings,
};
use ryze_bridge_call_budget_redis::{RedisCallBudget, RedisCallBudgetSettings};
use ryze_bridge_chatwoot_client::{
    CallBudgetSettings, ChatwootClientSettings, ChatwootHttpClient, InProcessCallBudget,
};
use ryze_bridge_event_stream_client::{EventStreamClient, EventStreamClientSettings};
use ryze_bridge_message_client::{ApiMessageClient, ApiMessageClientSettings};
use ryze_bridge_use_cases::outbound::{OutboundPorts, OutboundSettings};
use ryze_bridge_use_cases::sessions::{LeaseSettings, RetryPolicy};
use ryze_bridge_use_cases::{Bridge, BridgeSettings, RelayPorts, SessionSettings};
use ryze_domain::KeyId;
use ryze_event_hub_nats::{NatsEventHub, NatsEventHubSettings};
use ryze_metrics::PrometheusRelayMetrics;
use ryze_outbound_address_guard::{guarded_client_builder, AddressPolicy, PolicyOutboundGuard};
use ryze_outbound_media_fetcher::{GuardedMediaFetcher, MediaFetcherSettings};
use ryze_ports::chatwoot::ChatwootApi;
use ryze_ports::{
    BridgeIntegrationStore, ChatwootCallBudget, EventHubStore, HubAnnouncements,
    IntegrationGateway, IntegrationLeases, OutboundQueueStore, RateLimiter, RelayMetrics,
    RelayStore, SealedSecretStore, SecretVault, Store, StoreHealth, WhatsAppSender,
};
use ryze_store_postgres::{PostgresSettings, PostgresStore};
use ryze_store_sqlite::{SqliteSettings, SqliteStore};
use ryze_vault::{AesGcmVault, KeyFile, KeyFileOutcome, KeyRing};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::settings::{Mode, Settings};

/// Which backend a `DATABASE_URL` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

pub fn backend_of(url: &str) -> anyhow::Result<Backend> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Backend::Postgres)
    } else if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else {
        bail!(
            "DATABASE_URL must start with postgres://, postgresql:// or sqlite:// (for example sqlite://./data/ryze.db)"
        )
    }
}

/// Applies pending migrations; returns the versions applied.
pub async fn migrate(settings: &Settings) -> anyhow::Result<Vec<String>> {
    let url = settings.database.url.expose_secret();
    Ok(match backend_of(url)? {
        Backend::Postgres => ryze_store_postgres::run_migrations(url)
            .await
            .context("running the PostgreSQL migrations")?,
        Backend::Sqlite => ryze_store_sqlite::run_migrations(url)
            .await
            .context("running the SQLite migrations")?,
    })
}

/// One opened database, seen through the ports of each service.
#[derive(Clone)]
pub struct Stores {
    pub control_plane: Arc<dyn Store>,
    pub bridge: Arc<dyn BridgeIntegrationStore>,
    pub health: Arc<dyn StoreHealth>,
    /// The API's event hub: the database's, or NATS JetStream's with `EVENT_HUB_URL`.
    pub event_hub: Arc<dyn EventHubStore>,
    /// Set with a hub shared by several API processes (NATS JetStream): how each tells
    /// the others about new events.
    pub hub_announcements: Option<Arc<dyn HubAnnouncements>>,
    /// The bridge's relay memory (contacts, conversations, message links).
    pub relay: Arc<dyn RelayStore>,
    /// The bridge's queue of Chatwoot webhooks.
    pub outbound_queue: Arc<dyn OutboundQueueStore>,
    /// Every sealed secret in the database, whichever service's table keeps it.
    pub sealed_secrets: Arc<dyn SealedSecretStore>,
    /// The bridge nodes' leases of integrations.
    pub leases: Arc<dyn IntegrationLeases>,
}

fn stores_of<
    S: Store
        + BridgeIntegrationStore
        + EventHubStore
        + RelayStore
        + OutboundQueueStore
        + SealedSecretStore
        + IntegrationLeases
        + 'static,
>(
    store: S,
) -> Stores {
    let store = Arc::new(store);
    Stores {
        control_plane: store.clone(),
        sealed_secrets: store.clone(),
        bridge: store.clone(),
        event_hub: store.clone(),
        hub_announcements: None,
        relay: store.clone(),
        outbound_queue: store.clone(),
        leases: store.clone(),
        health: store,
    }
}

/// Opens the database (after migrating, when the settings say so).
pub async fn open_stores(settings: &Settings) -> anyhow::Result<Stores> {
    if settings.migrate_on_start() {
        let applied = migrate(settings).await?;
        if !applied.is_empty() {
            tracing::info!(migrations = ?applied, "applied pending database migrations");
        }
    }
    let url = settings.database.url.expose_secret().to_owned();
    let connect_timeout = Duration::from_secs(settings.database.connect_timeout_secs);
    let mut stores = match backend_of(&url)? {
        Backend::Postgres => stores_of(
            PostgresStore::connect(&PostgresSettings {
                url,
                max_connections: settings.database.max_connections,
                connect_timeout,
            })
            .await
            .context("connecting to PostgreSQL")?,
        ),
        Backend::Sqlite => stores_of(
            SqliteStore::open(&SqliteSettings {
                url,
                max_connections: settings.database.max_connections,
            })
            .await
            .context("opening the SQLite database")?,
        ),
    };
    if let Some(url) = &settings.event_hub.url {
        let hub = NatsEventHub::connect(&NatsEventHubSettings {
            prefix: settings.event_hub.nats_prefix.clone(),
            replicas: settings.event_hub.nats_replicas,
            ..NatsEventHubSettings::new(url.clone())
        })
        .await
        .context("opening the event hub on NATS JetStream (EVENT_HUB_URL)")?;
        tracing::info!(prefix = %settings.event_hub.nats_prefix, "event hub on NATS JetStream");
        let hub = Arc::new(hub);
        stores.event_hub = hub.clone();
        stores.hub_announcements = Some(hub);
    }
    Ok(stores)
}

/// The key ring: the configured master key, or — in embedded mode only — the key file,
/// created on first run.
pub fn key_ring(settings: &Settings) -> anyhow::Result<KeyRing> {
    if let Some(current) = &settings.vault.master_key {
        return KeyRing::from_config(current, &settings.vault.previous_master_keys)
            .context("reading RYZE_MASTER_KEY / RYZE_PREVIOUS_MASTER_KEYS");
    }
    if settings.mode == Mode::Production {
        bail!(
            "no master key: production mode refuses to start without RYZE_MASTER_KEY (32 bytes, hex or base64). \
             Generate one with `ryze keys generate`, store it in your secret manager and set RYZE_MASTER_KEY."
        );
    }
    let path = &settings.vault.key_file;
    let (ring, outcome) = KeyFile::load_or_create(path)
        .with_context(|| format!("reading the key file {}", path.display()))?;
    match outcome {
        KeyFileOutcome::Created => tracing::warn!(
            key_file = %path.display(),
            "created a new master key file (mode 0600); back it up: without it the stored Chatwoot tokens cannot be read"
        ),
        KeyFileOutcome::Loaded => {
            tracing::debug!(key_file = %path.display(), "loaded the master key file")
        }
    }
    Ok(ring)
}

/// The bridge client, or `None` when the bridge is not configured.
pub fn gateway(settings: &Settings) -> anyhow::Result<Option<Arc<dyn IntegrationGateway>>> {
    match (&settings.bridge.url, &settings.bridge.token) {
        (None, None) => Ok(None),
        (Some(url), Some(token)) => {
            let base_url = url
                .parse()
                .with_context(|| format!("BRIDGE_URL is not a valid URL: {url}"))?;
            let client = HttpIntegrationGateway::new(BridgeClientSettings {
                base_url,
                token: token.clone(),
                connect_timeout: Duration::from_secs(settings.bridge.connect_timeout_secs),
                request_timeout: Duration::from_secs(settings.bridge.request_timeout_secs),
            })
            .context("building the bridge client")?;
            Ok(Some(Arc::new(client)))
        }
        (Some(_), None) => bail!("BRIDGE_URL is set but BRIDGE_TOKEN is not; set both or neither"),
        (None, Some(_)) => bail!("BRIDGE_TOKEN is set but BRIDGE_URL is not; set both or neither"),
    }
}

/// The control plane for operator commands (`account create`): no bridge involved, so
/// the bridge settings are not read (`ryze serve` accepts `BRIDGE_TOKEN` without
/// `BRIDGE_URL`, and so must these), and no stored secret is opened, so the keys are not
/// checked against them.
pub async fn operator_control_plane(settings: &Settings) -> anyhow::Result<ControlPlane> {
    let stores = open_stores(settings).await?;
    Ok(control_plane_over(
        settings,
        &stores,
        vault(settings)?,
        None,
    ))
}

/// Everything `ryze api` needs, built from the settings. Fails when a stored secret was
/// sealed under a key the configured keys lack ([`checked_vault`]).
pub async fn control_plane(settings: &Settings) -> anyhow::Result<ControlPlane> {
    let gateway = gateway(settings)?;
    let stores = open_stores(settings).await?;
    let vault = checked_vault(settings, &stores).await?;
    Ok(control_plane_over(settings, &stores, vault, gateway))
}

fn control_plane_over(
    settings: &Settings,
    stores: &Stores,
    vault: Arc<dyn SecretVault>,
    gateway: Option<Arc<dyn IntegrationGateway>>,
) -> ControlPlane {
    ControlPlane::new(
        stores.control_plane.clone(),
        vault,
        gateway,
        Budgets::default(),
    )
    .with_event_hub(event_hub(settings, stores, settings.api_public_url()))
}

/// The event hub over `stores`, announcing `public_url` (the API's) in the events it
/// forwards and keeping events as `event_hub.*` says.
pub fn event_hub(settings: &Settings, stores: &Stores, public_url: String) -> EventHub {
    let instances = Arc::new(StoreInstanceDirectory::new(stores.control_plane.clone()));
    let hub_settings = EventHubSettings {
        max_events: settings.event_hub.max_events,
        max_age: Duration::from_secs(settings.event_hub.max_age_secs),
        ..EventHubSettings::new(public_url)
    };
    match &stores.hub_announcements {
        Some(announcements) => EventHub::shared(
            stores.event_hub.clone(),
            announcements.clone(),
            stores.control_plane.clone(),
            instances,
            hub_settings,
        ),
        None => EventHub::new(
            stores.event_hub.clone(),
            stores.control_plane.clone(),
            instances,
            hub_settings,
        ),
    }
}

/// How long a stream waits before reading the hub again without a wake-up, when the hub
/// announces every append to every API process: a safety net for an announcement lost
/// while NATS was away, not the delivery path.
pub const SHARED_HUB_SAFETY_READ_INTERVAL: Duration = Duration::from_secs(30);

/// The bridge's stream settings: without a shared hub, each stream reads the store every
/// second so that events ingested by another API process arrive too; with one, the
/// announcements wake it at once.
fn event_stream_settings(control_plane: &ControlPlane) -> EventStreamSettings {
    let shared = control_plane
        .event_hub()
        .is_some_and(EventHub::announces_appends);
    let defaults = EventStreamSettings::default();
    EventStreamSettings {
        poll_interval: if shared {
            SHARED_HUB_SAFETY_READ_INTERVAL
        } else {
            defaults.poll_interval
        },
        ..defaults
    }
}

/// With a shared hub, wakes this process's streams whenever any API process announces
/// new events (see `EventHub::follow_announcements`); otherwise does nothing.
pub fn spawn_hub_announcement_follower(control_plane: &ControlPlane) {
    if let Some(hub) = control_plane.event_hub() {
        if hub.announces_appends() {
            let hub = hub.clone();
            tokio::spawn(async move { hub.follow_announcements(Duration::from_secs(1)).await });
        }
    }
}

/// The vault over [`key_ring`].
pub fn vault(settings: &Settings) -> anyhow::Result<Arc<dyn SecretVault>> {
    Ok(Arc::new(AesGcmVault::new(key_ring(settings)?)))
}

/// The vault over [`key_ring`], for a service about to serve from `stores`: refuses
/// (naming the key) when a secret stored there, of any kind, was sealed under a master
/// key the ring lacks, rather than failing on every use of that secret later (a webhook
/// refused, a relay session that never starts).
pub async fn checked_vault(
    settings: &Settings,
    stores: &Stores,
) -> anyhow::Result<Arc<dyn SecretVault>> {
    let ring = key_ring(settings)?;
    let held: Vec<KeyId> = ring.keys().map(|key| key.id().clone()).collect();
    let missing = keys_missing_from_ring(stores.sealed_secrets.as_ref(), &held)
        .await
        .context("listing the stored secrets to check the master keys")?;
    if let Some(first) = missing.first() {
        let named: Vec<String> = missing
            .iter()
            .map(|key| format!("{} ({} secret(s))", key.key_id, key.secrets))
            .collect();
        bail!(
            "the database holds secrets sealed under master key {} that this service does not have: missing {}. \
             Add the key with id {} to RYZE_PREVIOUS_MASTER_KEYS (or restore the key file that held it) and start again; \
             then run `ryze keys rotate` against this database to re-seal them under the current key",
            first.key_id,
            named.join(", "),
            first.key_id
        );
    }
    Ok(Arc::new(AesGcmVault::new(ring)))
}

/// The relay metrics of one process (a service, or both in `ryze serve`): a fresh
/// Prometheus registry that the clients and use cases report in and `/metrics` renders.
pub fn relay_metrics() -> Arc<dyn RelayMetrics> {
    Arc::new(PrometheusRelayMetrics::new())
}

/// The API's client of a bridge at `url` with `token`, counting its calls in `metrics`.
pub fn gateway_to(
    url: &str,
    token: &SecretString,
    settings: &Settings,
    metrics: Arc<dyn RelayMetrics>,
) -> anyhow::Result<Arc<dyn IntegrationGateway>> {
    let client = HttpIntegrationGateway::new(BridgeClientSettings {
        base_url: url
            .parse()
            .with_context(|| format!("not a valid bridge URL: {url}"))?,
        token: token.clone(),
        connect_timeout: Duration::from_secs(settings.bridge.connect_timeout_secs),
        request_timeout: Duration::from_secs(settings.bridge.request_timeout_secs),
    })
    .context("building the bridge client")?
    .with_metrics(metrics);
    Ok(Arc::new(client))
}

/// 256 random bits, URL-safe: a token for this run's API → bridge calls.
pub fn random_secret() -> anyhow::Result<SecretString> {
    Ok(SecretString::from(ryze_random::url_safe_token()?))
}

/// The address policy of `chatwootBaseUrl` and of the bridge's downloads of Chatwoot
/// attachments (`BRIDGE_ALLOW_*_ADDRESSES`). A caller's `mediaUrl` has its own
/// ([`MediaFetcherSettings::for_media_urls`]).
pub fn address_policy(settings: &Settings) -> AddressPolicy {
    AddressPolicy::chatwoot(
        settings.allow_loopback_addresses(),
        settings.allow_private_addresses(),
    )
}

/// The Chatwoot client: one connection pool per Chatwoot host, every connection checked
/// by the outbound-address guard at connect time, no redirects (a redirect would carry
/// the `api_access_token` header to another host). Every call is counted in `metrics`.
pub fn chatwoot_client(
    settings: &Settings,
    metrics: Arc<dyn RelayMetrics>,
) -> anyhow::Result<Arc<dyn ChatwootApi>> {
    let client_settings = ChatwootClientSettings {
        connect_timeout: Duration::from_secs(settings.bridge_service.chatwoot_connect_timeout_secs),
        request_timeout: Duration::from_secs(settings.bridge_service.chatwoot_request_timeout_secs),
        ..ChatwootClientSettings::default()
    };
    let builder = guarded_client_builder(address_policy(settings))
        .redirect(reqwest::redirect::Policy::none());
    let budget = CallBudgetSettings {
        calls_per_window: NonZeroU32::new(settings.bridge_service.chatwoot_calls_per_window)
            .context("RYZE__BRIDGE_SERVICE__CHATWOOT_CALLS_PER_WINDOW must be at least 1")?,
        window: Duration::from_secs(settings.bridge_service.chatwoot_call_window_secs),
    };
    anyhow::ensure!(
        !budget.window.is_zero(),
        "RYZE__BRIDGE_SERVICE__CHATWOOT_CALL_WINDOW_SECS must be at least 1"
    );
    Ok(Arc::new(
        ChatwootHttpClient::with_client_builder(builder, client_settings)
            .context("building the Chatwoot client")?
            .with_call_budget(call_budget(settings, budget)?)
            .with_metrics(metrics),
    ))
}

/// The pace of the bridge's calls to each Chatwoot host: counted in the Redis at
/// `REDIS_URL`, shared by every bridge node (falling back to this process's budget
/// while Redis fails), or else in this process.
fn call_budget(
    settings: &Settings,
    budget: CallBudgetSettings,
) -> anyhow::Result<Arc<dyn ChatwootCallBudget>> {
    let in_process: Arc<dyn ChatwootCallBudget> = Arc::new(InProcessCallBudget::new(budget));
    let Some(url) = &settings.rate_limit.redis_url else {
        tracing::info!("the Chatwoot call budget is kept in this process (set REDIS_URL to share it between bridge nodes)");
        return Ok(in_process);
    };
    let redis_settings = RedisCallBudgetSettings {
        key_prefix: settings.bridge_service.chatwoot_budget_key_prefix.clone(),
        ..RedisCallBudgetSettings::new(budget.calls_per_window, budget.window)
    };
    let shared = RedisCallBudget::new(url.expose_secret(), redis_settings, in_process)
        .context("REDIS_URL")?;
    tracing::info!(
        "the Chatwoot call budget is kept in Redis (REDIS_URL), shared by every bridge node"
    );
    Ok(Arc::new(shared))
}

/// Where the bridge reaches the API, and the token it presents there.
pub struct ApiAccess {
    pub url: Url,
    pub bridge_token: SecretString,
}

impl ApiAccess {
    pub fn new(url: &str, bridge_token: SecretString) -> anyhow::Result<Self> {
        Ok(Self {
            url: url
                .parse()
                .with_context(|| format!("API_URL is not a valid URL: {url}"))?,
            bridge_token,
        })
    }
}

/// The bridge's way to WhatsApp: the API's message endpoints at `api.url`, with the
/// bridge token (`docs/api.md` "Messages"), counting its calls in `metrics`.
pub fn api_message_client(
    api: &ApiAccess,
    metrics: Arc<dyn RelayMetrics>,
) -> anyhow::Result<Arc<dyn WhatsAppSender>> {
    let client = ApiMessageClient::new(ApiMessageClientSettings::new(
        api.url.clone(),
        api.bridge_token.clone(),
    ))
    .context("building the client of the API's message endpoints")?
    .with_metrics(metrics);
    Ok(Arc::new(client))
}

/// What the bridge's relay sessions need to reach the API (its event stream, and
/// `whatsapp` for media downloads), and how they pace themselves.
pub fn relay_ports(
    settings: &Settings,
    stores: &Stores,
    api: &ApiAccess,
    whatsapp: Arc<dyn WhatsAppSender>,
) -> anyhow::Result<RelayPorts> {
    let connector = EventStreamClient::new(EventStreamClientSettings::new(
        api.url.clone(),
        api.bridge_token.clone(),
    ))
    .context("building the event stream client")?;
    let defaults = SessionSettings::default();
    Ok(RelayPorts {
        connector: Arc::new(connector),
        relay_store: stores.relay.clone(),
        whatsapp: Some(whatsapp),
        settings: SessionSettings {
            reconnect: RetryPolicy {
                max_delay: Duration::from_secs(settings.bridge_service.reconnect_max_delay_secs),
                ..defaults.reconnect
            },
            relay_retry: RetryPolicy {
                max_delay: Duration::from_secs(settings.bridge_service.relay_retry_max_delay_secs),
                ..defaults.relay_retry
            },
            chat_worker_idle: Duration::from_secs(
                settings.bridge_service.chat_worker_idle_secs.max(1),
            ),
            parallel_steps: settings
                .bridge_service
                .inbound_parallel_per_integration
                .max(1),
            status_trusted_for: Duration::from_secs(
                settings.bridge_service.conversation_status_trust_secs,
            ),
            ..defaults
        },
    })
}

/// How the outbound relay shares the bridge between integrations (`bridge_service.*`,
/// `docs/relay.md` "Budgets").
pub fn outbound_settings(settings: &Settings) -> OutboundSettings {
    let service = &settings.bridge_service;
    OutboundSettings {
        max_parallel: service.outbound_parallel.max(1),
        max_parallel_per_integration: service.outbound_parallel_per_integration.max(1),
        max_parallel_sends: service.outbound_parallel_sends.max(1),
        webhooks_per_minute: service.webhooks_per_integration_per_minute.max(1),
        ..OutboundSettings::default()
    }
}

/// The bridge over `stores`, announcing `public_url` in webhook URLs; with `api`, it
/// also runs a relay session per integration and the outbound relay of agents' replies
/// (whose worker the caller spawns: [`Bridge::run_outbound`]). It reports in `metrics`.
pub fn bridge(
    settings: &Settings,
    stores: &Stores,
    vault: Arc<dyn SecretVault>,
    public_url: &str,
    api: Option<&ApiAccess>,
    metrics: Arc<dyn RelayMetrics>,
) -> anyhow::Result<Bridge> {
    let bridge = Bridge::new(
        stores.bridge.clone(),
        chatwoot_client(settings, metrics.clone())?,
        vault,
        Arc::new(PolicyOutboundGuard::new(address_policy(settings))),
        BridgeSettings {
            public_url: public_url
                .parse()
                .with_context(|| format!("BRIDGE_PUBLIC_URL is not a valid URL: {public_url}"))?,
        },
    )
    .with_metrics(metrics.clone());
    let lease_ttl = Duration::from_secs(settings.bridge_service.lease_ttl_secs);
    Ok(match api {
        Some(api) => {
            // One client of the API's message endpoints for both directions.
            let whatsapp = api_message_client(api, metrics)?;
            let bridge = bridge.with_relay(relay_ports(settings, stores, api, whatsapp.clone())?);
            let bridge = if lease_ttl.is_zero() {
                bridge
            } else {
                bridge.with_leases(
                    stores.leases.clone(),
                    LeaseSettings {
                        node_id: node_id()?,
                        ttl: lease_ttl,
                    },
                )
            };
            bridge.with_outbound(OutboundPorts {
                queue: stores.outbound_queue.clone(),
                relay_store: stores.relay.clone(),
                whatsapp,
                downloader: Arc::new(
                    GuardedMediaFetcher::for_chatwoot_attachments(address_policy(settings))
                        .context("building the attachment downloader")?,
                ),
                // One window per integration: bounded by the integrations there are.
                webhook_limiter: shared_rate_limiter(settings, "bridge")?,
                settings: outbound_settings(settings),
            })
        }
        None => bridge,
    })
}

/// This bridge process's id among the bridge nodes: the host name and 96 random bits,
/// so two processes on one host (or a restarted one) never share an id.
fn node_id() -> anyhow::Result<String> {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|host| host.trim().to_owned())
        .filter(|host| !host.is_empty())
        .unwrap_or_else(|| "bridge".to_owned());
    ryze_random::prefixed_hex_id(&format!("{host}-"))
        .context("no randomness for the bridge node's id")
}

/// The message endpoints' use cases: commands go to the WhatsApp engine at `ENGINE_URL`
/// (with `ENGINE_TOKEN`), and a `mediaUrl` is fetched under its own outbound-address
/// policy: no loopback or private address unless `MEDIA_URL_ALLOW_PRIVATE_ADDRESSES`
/// (the bridge's settings for Chatwoot do not apply). Without `ENGINE_URL` every command
/// answers 503. Calls to the engine are counted in `metrics`.
pub fn messaging(
    settings: &Settings,
    control_plane: &ControlPlane,
    metrics: Arc<dyn RelayMetrics>,
) -> anyhow::Result<Messaging> {
    let Some(url) = &settings.engine.url else {
        tracing::warn!("no engine to send through (ENGINE_URL): the message endpoints answer 503 until one is configured");
        return Ok(Messaging::without_engine(control_plane.clone()));
    };
    let Some(token) = &settings.engine.token else {
        bail!("ENGINE_URL is set but ENGINE_TOKEN is not; the API authenticates to the engine with ENGINE_TOKEN");
    };
    let base_url = url
        .parse()
        .with_context(|| format!("ENGINE_URL is not a valid URL: {url}"))?;
    let whatsapp = EngineClient::new(EngineClientSettings::new(base_url, token.clone()))
        .context("building the WhatsApp engine client")?
        .with_metrics(metrics);
    let media_fetcher = GuardedMediaFetcher::new(MediaFetcherSettings::for_media_urls(
        settings.media_url.allow_private_addresses,
    ))
    .context("building the media download client")?;
    Ok(Messaging::new(
        control_plane.clone(),
        Some(MessagingEngine {
            whatsapp: Arc::new(whatsapp),
            media_fetcher: Arc::new(media_fetcher),
        }),
        MessagingSettings::default(),
    ))
}

/// The API's rate limiter: on the Redis at `REDIS_URL`, shared by every API node, or
/// else in this process.
pub fn rate_limiter(settings: &Settings) -> anyhow::Result<Arc<dyn RateLimiter>> {
    shared_rate_limiter(settings, "API")
}

/// A rate limiter on the Redis at `REDIS_URL`, shared by every `service` node (the API's
/// request limits, the bridge's webhook budgets: their policies count apart), or else
/// in this process.
fn shared_rate_limiter(settings: &Settings, service: &str) -> anyhow::Result<Arc<dyn RateLimiter>> {
    let Some(url) = &settings.rate_limit.redis_url else {
        tracing::info!("{service} rate limits are counted in this process (set REDIS_URL to share them between {service} nodes)");
        return Ok(Arc::new(InMemoryRateLimiter::new()));
    };
    let limiter = RedisRateLimiter::new(url.expose_secret(), RedisRateLimiterSettings::default())
        .context("REDIS_URL")?;
    tracing::info!(
        "{service} rate limits are counted in Redis (REDIS_URL), shared by every {service} node"
    );
    Ok(Arc::new(limiter))
}

/// Starts retrying, in the background, the bridge deletions the bridge missed during a
/// deactivation or an instance deletion ([`ControlPlane::run_pending_teardowns`]).
/// Without a configured bridge the task ends at once.
pub fn spawn_pending_teardown_retries(
    control_plane: &ControlPlane,
    retry: TeardownRetrySettings,
) -> tokio::task::JoinHandle<()> {
    let control_plane = control_plane.clone();
    tokio::spawn(async move { control_plane.run_pending_teardowns(retry).await })
}

/// The API's HTTP state. The event hub's routes take `ENGINE_TOKEN`, `BRIDGE_TOKEN` and
/// `METRICS_TOKEN` from the settings (`ryze serve` puts its run's bridge token in); the
/// message endpoints, [`messaging`]. Its relay metrics are its own ([`relay_metrics`]).
pub fn api_state(settings: &Settings, control_plane: ControlPlane) -> anyhow::Result<ApiState> {
    api_state_reporting_in(settings, control_plane, relay_metrics())
}

/// [`api_state`] reporting in `metrics` (shared with the bridge by `ryze serve`).
pub fn api_state_reporting_in(
    settings: &Settings,
    control_plane: ControlPlane,
    metrics: Arc<dyn RelayMetrics>,
) -> anyhow::Result<ApiState> {
    settings.check_api_secrets()?;
    Ok(ApiState {
        messaging: messaging(settings, &control_plane, metrics.clone())?,
        relay_metrics: metrics,
        rate_limiter: rate_limiter(settings)?,
        rate_limits: RateLimits::per_minute(
            settings.rate_limit.per_minute,
            settings.rate_limit.instance_creation_per_minute,
        )
        .with_unauthenticated_per_minute(settings.rate_limit.unauthenticated_per_minute)
        .trusting_proxy_hops(settings.rate_limit.trusted_proxy_hops),
        media_work: MediaWorkLimit::new(
            settings.rate_limit.media_concurrency,
            std::time::Duration::from_secs(10),
        ),
        body_limit_bytes: settings.http.body_limit_bytes,
        event_hub: EventHubRoutes {
            engine_token: settings.engine.token.clone(),
            bridge_token: settings.bridge.token.clone(),
            metrics_token: settings.metrics.token.clone(),
            stream: event_stream_settings(&control_plane),
        },
        control_plane,
    })
}
