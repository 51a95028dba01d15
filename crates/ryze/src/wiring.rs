//! Builds the service from settings: the store chosen by the `DATABASE_URL` scheme, the
//! vault from the configured key (or the embedded key file), the bridge client when
//! `BRIDGE_URL` and `BRIDGE_TOKEN` are set, and the in-process rate limiter.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use ryze_application::{Budgets, ControlPlane};
use ryze_bridge_client::{BridgeClientSettings, HttpIntegrationGateway};
use ryze_http::{ApiState, RateLimits};
use ryze_ports::{IntegrationGateway, Store};
use ryze_rate_limit_memory::InMemoryRateLimiter;
use ryze_store_postgres::{PostgresSettings, PostgresStore};
use ryze_store_sqlite::{SqliteSettings, SqliteStore};
use ryze_vault::{AesGcmVault, KeyFile, KeyFileOutcome, KeyRing};
use secrecy::SecretString;

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
    let url = &settings.database.url;
    Ok(match backend_of(url)? {
        Backend::Postgres => ryze_store_postgres::run_migrations(url)
            .await
            .context("running the PostgreSQL migrations")?,
        Backend::Sqlite => ryze_store_sqlite::run_migrations(url)
            .await
            .context("running the SQLite migrations")?,
    })
}

/// Opens the store (after migrating, when the settings say so).
pub async fn open_store(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    if settings.migrate_on_start() {
        let applied = migrate(settings).await?;
        if !applied.is_empty() {
            tracing::info!(migrations = ?applied, "applied pending database migrations");
        }
    }
    let url = settings.database.url.clone();
    let connect_timeout = Duration::from_secs(settings.database.connect_timeout_secs);
    Ok(match backend_of(&url)? {
        Backend::Postgres => Arc::new(
            PostgresStore::connect(&PostgresSettings {
                url,
                max_connections: settings.database.max_connections,
                connect_timeout,
            })
            .await
            .context("connecting to PostgreSQL")?,
        ),
        Backend::Sqlite => Arc::new(
            SqliteStore::open(&SqliteSettings {
                url,
                max_connections: settings.database.max_connections,
            })
            .await
            .context("opening the SQLite database")?,
        ),
    })
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
                token: SecretString::from(token.clone()),
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

/// Everything the API needs, built from the settings.
pub async fn control_plane(settings: &Settings) -> anyhow::Result<ControlPlane> {
    let vault = Arc::new(AesGcmVault::new(key_ring(settings)?));
    let store = open_store(settings).await?;
    Ok(ControlPlane::new(
        store,
        vault,
        gateway(settings)?,
        Budgets::default(),
    ))
}

pub fn api_state(settings: &Settings, control_plane: ControlPlane) -> ApiState {
    ApiState {
        control_plane,
        rate_limiter: Arc::new(InMemoryRateLimiter::new()),
        rate_limits: RateLimits::per_minute(
            settings.rate_limit.per_minute,
            settings.rate_limit.instance_creation_per_minute,
        ),
        body_limit_bytes: settings.http.body_limit_bytes,
    }
}
