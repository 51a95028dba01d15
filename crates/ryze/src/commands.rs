//! The subcommands: `serve` (API and bridge in one process), `api`, `bridge`, `migrate`,
//! `account create`, `keys generate`, `keys rotate`, `healthcheck`. Each prints what an operator needs
//! and nothing secret except what it was asked for (a new account token, a new key),
//! shown once.

use std::net::TcpListener;

use std::sync::Arc;
use std::time::Duration;

use actix_web::{middleware, App, HttpServer};
use anyhow::Context;
use ryze_api_use_cases::{Budgets, ControlPlane, KeyRotation, TeardownRetrySettings};
use ryze_bridge_server::BridgeState;
use ryze_bridge_use_cases::Bridge;
use ryze_ports::{RelayMetrics, SecretVault};
use ryze_vault::{AesGcmVault, KeyFile, MasterKey};
use secrecy::{ExposeSecret, SecretString};

use crate::settings::Settings;
use crate::wiring;

/// `ryze serve`: the API and the bridge in one process, until SIGINT/SIGTERM. The API
/// reaches the bridge through the bridge's real HTTP interface on loopback, with
/// `BRIDGE_TOKEN` or, when unset, a token generated for this run.
pub async fn serve(settings: &Settings) -> anyhow::Result<()> {
    let api_listener = bind(&settings.listen)?;
    let bridge_listener = bind(&settings.bridge_service.listen)?;
    serve_api_and_bridge(settings, api_listener, bridge_listener).await
}

fn bind(address: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(address).with_context(|| format!("binding {address}"))
}

/// Where to reach a listener from this host (an unspecified address means loopback).
fn local_url(listener: &TcpListener) -> anyhow::Result<String> {
    let mut address = listener.local_addr()?;
    if address.ip().is_unspecified() {
        address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    Ok(format!("http://{address}"))
}

/// Both servers of `serve`, on already bound listeners.
pub async fn serve_api_and_bridge(
    settings: &Settings,
    api_listener: TcpListener,
    bridge_listener: TcpListener,
) -> anyhow::Result<()> {
    if settings.bridge.url.is_some() {
        tracing::warn!("BRIDGE_URL is ignored by `ryze serve`, which runs its own bridge; use `ryze api` to use another one");
    }
    let bridge_url = local_url(&bridge_listener)?;
    let token = match &settings.bridge.token {
        Some(token) => token.clone(),
        None => wiring::random_secret()?,
    };
    let stores = wiring::open_stores(settings).await?;
    let vault = wiring::checked_vault(settings, &stores).await?;
    // One process, one registry: both servers' `/metrics` show both services' figures.
    let metrics = wiring::relay_metrics();
    let gateway = wiring::gateway_to(&bridge_url, &token, settings, metrics.clone())?;
    let api_access = wiring::ApiAccess::new(&local_url(&api_listener)?, token.clone())?;
    let (bridge, bridge_public_url, relay) = bridge_server(
        settings,
        &stores,
        vault.clone(),
        bridge_listener,
        token.clone(),
        Some(&api_access),
        metrics.clone(),
    )?;
    let api_public_url = match &settings.public_url {
        Some(_) => settings.api_public_url(),
        None => local_url(&api_listener)?,
    };
    let event_hub = wiring::event_hub(settings, &stores, api_public_url.clone());
    let control_plane = ControlPlane::new(
        stores.control_plane,
        vault,
        Some(gateway),
        Budgets::default(),
    )
    .with_event_hub(event_hub);
    wiring::spawn_pending_teardown_retries(&control_plane, TeardownRetrySettings::default());
    let api_address = api_listener.local_addr()?;
    let mut api_state = wiring::api_state_reporting_in(settings, control_plane, metrics)?;
    // The bridge's event stream takes the token of this run.
    api_state.event_hub.bridge_token = Some(token.clone());
    let api = http_server(api_state, api_listener, settings.http.workers)?;
    report_event_hub_settings(settings);
    tracing::info!(api = %api_address, %api_public_url, bridge = %bridge_url, %bridge_public_url, mode = ?settings.mode, "API and bridge listening");
    let served = tokio::try_join!(api, bridge).context("running the HTTP servers");
    release_leases_on_the_way_out(&relay).await;
    served.map(|_| ())
}

/// `ryze api`: the API alone, using the bridge at `BRIDGE_URL`.
pub async fn serve_api(settings: &Settings) -> anyhow::Result<()> {
    let listener = bind(&settings.listen)?;
    let control_plane = wiring::control_plane(settings).await?;
    if !control_plane.gateway_configured() {
        tracing::warn!("no bridge configured (BRIDGE_URL, BRIDGE_TOKEN): Chatwoot activation answers 503 until one is");
    }
    report_event_hub_settings(settings);
    wiring::spawn_pending_teardown_retries(&control_plane, TeardownRetrySettings::default());
    let address = listener.local_addr()?;
    let server = http_server(
        wiring::api_state(settings, control_plane)?,
        listener,
        settings.http.workers,
    )?;
    tracing::info!(%address, api_public_url = %settings.api_public_url(), mode = ?settings.mode, "API listening");
    server.await.context("running the HTTP server")
}

/// Shortest `ENGINE_TOKEN` not warned about (`docs/engine-contract.md` asks for 32
/// random bytes or more).
const ENGINE_TOKEN_MIN_LEN: usize = 32;

/// Says what the event hub will refuse, so an operator is not left guessing.
fn report_event_hub_settings(settings: &Settings) {
    match &settings.engine.token {
        None => tracing::warn!(
            "no engine configured (ENGINE_TOKEN): POST /engine/v1/events answers 404 until one is"
        ),
        Some(token) if token.expose_secret().len() < ENGINE_TOKEN_MIN_LEN => tracing::warn!(
            minimum = ENGINE_TOKEN_MIN_LEN,
            "ENGINE_TOKEN is short; use at least 32 random bytes (for example `ryze keys generate`)"
        ),
        Some(_) => {}
    }
}

/// `ryze bridge`: the bridge alone, for an API configured with its `BRIDGE_URL`.
pub async fn serve_bridge(settings: &Settings) -> anyhow::Result<()> {
    settings.check_bridge_secret()?;
    let Some(token) = &settings.bridge.token else {
        anyhow::bail!("BRIDGE_TOKEN is not set: the bridge refuses to start without the token the API will present");
    };
    let listener = bind(&settings.bridge_service.listen)?;
    let address = listener.local_addr()?;
    let stores = wiring::open_stores(settings).await?;
    let api_access = match &settings.bridge_service.api_url {
        Some(url) => Some(wiring::ApiAccess::new(url, token.clone())?),
        None => {
            tracing::warn!("no API_URL: the bridge provisions inboxes but relays no WhatsApp events until it is set");
            None
        }
    };
    let (server, public_url, relay) = bridge_server(
        settings,
        &stores,
        wiring::checked_vault(settings, &stores).await?,
        listener,
        token.clone(),
        api_access.as_ref(),
        wiring::relay_metrics(),
    )?;
    tracing::info!(%address, bridge_public_url = %public_url, "bridge listening");
    let served = server.await.context("running the HTTP server");
    release_leases_on_the_way_out(&relay).await;
    served
}

/// After the HTTP server stopped (a signal): the bridge gives its leases up, so the
/// integrations move to another node (or to this one restarted) at its next pass instead
/// of after the lease TTL. Bounded: a database that does not answer leaves the leases
/// to expire.
async fn release_leases_on_the_way_out(bridge: &Bridge) {
    const RELEASE_BUDGET: Duration = Duration::from_secs(5);
    if tokio::time::timeout(RELEASE_BUDGET, bridge.release_leases())
        .await
        .is_err()
    {
        tracing::warn!("the leases could not all be given up in time; they expire by themselves");
    }
}

/// The bridge over `stores` and its HTTP server on `listener`, accepting `token`; also
/// the public URL its webhook links start with (`BRIDGE_PUBLIC_URL`, or the listener).
/// The bridge reports in `metrics`, which its `/metrics` renders.
fn bridge_server(
    settings: &Settings,
    stores: &wiring::Stores,
    vault: Arc<dyn SecretVault>,
    listener: TcpListener,
    token: SecretString,
    api: Option<&wiring::ApiAccess>,
    metrics: Arc<dyn RelayMetrics>,
) -> anyhow::Result<(actix_web::dev::Server, String, Arc<Bridge>)> {
    let public_url = match &settings.bridge_service.public_url {
        Some(url) => url.clone(),
        None => local_url(&listener)?,
    };
    let bridge = Arc::new(wiring::bridge(
        settings,
        stores,
        vault,
        &public_url,
        api,
        metrics,
    )?);
    let resuming = bridge.clone();
    tokio::spawn(async move {
        if let Err(error) = resuming.resume_sessions().await {
            tracing::error!(%error, "could not list the integrations to resume their relay sessions");
        }
    });
    let outbound = bridge.clone();
    tokio::spawn(async move { outbound.run_outbound().await });
    let leasing = bridge.clone();
    tokio::spawn(async move { leasing.run_leases().await });
    let state = BridgeState {
        bridge: bridge.clone(),
        database: stores.health.clone(),
        token,
        metrics_token: settings.metrics.token.clone(),
    };
    let server = bridge_http_server(state, listener, settings.http.workers)?;
    Ok((server, public_url, bridge))
}

/// The bridge's HTTP server over `state`; `workers == 0` means one per core.
pub fn bridge_http_server(
    state: BridgeState,
    listener: TcpListener,
    workers: usize,
) -> anyhow::Result<actix_web::dev::Server> {
    let mut server = HttpServer::new(move || {
        App::new()
            .wrap(tracing_actix_web::TracingLogger::<
                ryze_bridge_server::RoutePatternRootSpan,
            >::new())
            .configure(ryze_bridge_server::configure_bridge(state.clone()))
    });
    if workers > 0 {
        server = server.workers(workers);
    }
    Ok(server.listen(listener)?.run())
}

/// The API's HTTP server over `state`; `workers == 0` means one per core. The caller
/// awaits (or spawns) the returned server.
pub fn http_server(
    state: ryze_api_server::ApiState,
    listener: TcpListener,
    workers: usize,
) -> anyhow::Result<actix_web::dev::Server> {
    wiring::spawn_hub_announcement_follower(&state.control_plane);
    let mut server = HttpServer::new(move || {
        App::new()
            .wrap(middleware::Compress::default())
            .wrap(tracing_actix_web::TracingLogger::<
                ryze_api_server::PathOnlyRootSpan,
            >::new())
            .configure(ryze_api_server::configure_api(state.clone()))
    });
    if workers > 0 {
        server = server.workers(workers);
    }
    Ok(server.listen(listener)?.run())
}

pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let applied = wiring::migrate(settings).await?;
    if applied.is_empty() {
        println!("database is up to date");
    } else {
        for version in applied {
            println!("applied {version}");
        }
    }
    Ok(())
}

/// How `account create` prints the new account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountOutput {
    /// Labelled lines and a reminder that the token is shown once.
    Text,
    /// One JSON object: `id`, `name`, `instanceQuota` (`null`: unlimited), `token`.
    Json,
    /// The token and a newline, nothing else.
    TokenOnly,
}

pub async fn create_account(
    settings: &Settings,
    name: &str,
    instance_quota: Option<u32>,
    output: AccountOutput,
) -> anyhow::Result<()> {
    let control_plane = wiring::operator_control_plane(settings).await?;
    let created = control_plane
        .create_account(name, instance_quota)
        .await
        .context("creating the account")?;
    let account = &created.account;
    match output {
        AccountOutput::TokenOnly => println!("{}", created.token.expose()),
        AccountOutput::Json => println!(
            "{}",
            serde_json::json!({
                "id": account.id.as_str(),
                "name": account.name.as_str(),
                "instanceQuota": account.instance_quota,
                "token": created.token.expose(),
            })
        ),
        AccountOutput::Text => {
            println!("account:        {} ({})", account.name.as_str(), account.id);
            match account.instance_quota {
                Some(quota) => println!("instance quota: {quota}"),
                None => println!("instance quota: unlimited"),
            }
            println!("TokenAccount:   {}", created.token.expose());
            println!();
            println!("Keep this token now: it is stored only as a hash and cannot be shown again.");
        }
    }
    Ok(())
}

pub fn generate_key() -> anyhow::Result<()> {
    let key = MasterKey::generate().context("generating a key")?;
    println!("{}", key.export_base64().expose_secret());
    Ok(())
}

/// Re-seals every stored secret of the database at `DATABASE_URL` (the API's Chatwoot
/// tokens and the bridge's tokens and webhook secrets, whichever it holds) under the
/// current key. With the embedded key file, a new key is generated first (the old one is
/// kept in the file to read older secrets).
pub async fn rotate_keys(settings: &Settings) -> anyhow::Result<()> {
    let ring = if settings.vault.master_key.is_some() {
        wiring::key_ring(settings)?
    } else {
        let path = &settings.vault.key_file;
        let ring = KeyFile::rotate(path)
            .with_context(|| format!("rotating the key file {}", path.display()))?;
        println!("generated a new master key in {}", path.display());
        ring
    };
    let vault = Arc::new(AesGcmVault::new(ring));
    let stores = wiring::open_stores(settings).await?;
    let report = KeyRotation::new(stores.sealed_secrets, vault)
        .rotate()
        .await
        .context("re-sealing the stored secrets")?;
    let total = report.total();
    println!(
        "re-sealed {} secret(s); {} already under the current key; {} changed meanwhile; {} failed",
        total.rotated, total.already_current, total.changed_concurrently, total.failed
    );
    for (kind, counts) in &report.by_kind {
        println!(
            "  {}: re-sealed {}, {} already current, {} changed meanwhile, {} failed",
            kind.description(),
            counts.rotated,
            counts.already_current,
            counts.changed_concurrently,
            counts.failed
        );
    }
    for failure in &report.failed {
        println!(
            "could not re-seal the {} of instance {} (held by {}): {} — activate its integration again with POST /api/chatwoot/set",
            failure.kind.description(),
            failure.instance_id,
            failure.holder_id,
            failure.error
        );
    }
    if total.failed == 0 {
        Ok(())
    } else {
        anyhow::bail!("{} secret(s) could not be re-sealed", total.failed)
    }
}

/// `ryze healthcheck`: GETs `url` (no proxy, no redirect) and succeeds when it answers
/// 2xx within `timeout`. For container health checks in an image without curl.
pub async fn healthcheck(url: &str, timeout: Duration) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .build()
        .context("building the HTTP client")?;
    let response = client
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = response.status();
    anyhow::ensure!(status.is_success(), "GET {url} answered {status}");
    Ok(())
}
