//! The subcommands: `serve`, `migrate`, `account create`, `keys generate`, `keys rotate`.
//! Each prints what an operator needs and nothing secret except what it was asked for
//! (a new account token, a new key), shown once.

use std::net::TcpListener;

use actix_web::{middleware, App, HttpServer};
use anyhow::Context;
use ryze_vault::{AesGcmVault, KeyFile, MasterKey};
use secrecy::ExposeSecret;
use std::sync::Arc;

use crate::settings::Settings;
use crate::wiring;

/// Serves the API until SIGINT/SIGTERM.
pub async fn serve(settings: &Settings) -> anyhow::Result<()> {
    let listener = TcpListener::bind(&settings.listen)
        .with_context(|| format!("binding {}", settings.listen))?;
    serve_on(settings, listener).await
}

/// Serves on an already bound listener.
pub async fn serve_on(settings: &Settings, listener: TcpListener) -> anyhow::Result<()> {
    let control_plane = wiring::control_plane(settings).await?;
    if !control_plane.gateway_configured() {
        tracing::warn!("no bridge configured (BRIDGE_URL, BRIDGE_TOKEN): Chatwoot activation answers 503 until one is");
    }
    let address = listener.local_addr()?;
    let server = http_server(
        wiring::api_state(settings, control_plane),
        listener,
        settings.http.workers,
    )?;
    tracing::info!(%address, mode = ?settings.mode, "API listening");
    server.await.context("running the HTTP server")
}

/// The API's HTTP server over `state`; `workers == 0` means one per core. The caller
/// awaits (or spawns) the returned server.
pub fn http_server(
    state: ryze_http::ApiState,
    listener: TcpListener,
    workers: usize,
) -> anyhow::Result<actix_web::dev::Server> {
    let mut server = HttpServer::new(move || {
        App::new()
            .wrap(middleware::Compress::default())
            .wrap(tracing_actix_web::TracingLogger::<
                ryze_http::PathOnlyRootSpan,
            >::new())
            .configure(ryze_http::configure_api(state.clone()))
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

pub async fn create_account(
    settings: &Settings,
    name: &str,
    instance_quota: Option<u32>,
) -> anyhow::Result<()> {
    let control_plane = wiring::control_plane(settings).await?;
    let created = control_plane
        .create_account(name, instance_quota)
        .await
        .context("creating the account")?;
    println!(
        "account:        {} ({})",
        created.account.name.as_str(),
        created.account.id
    );
    match created.account.instance_quota {
        Some(quota) => println!("instance quota: {quota}"),
        None => println!("instance quota: unlimited"),
    }
    println!("TokenAccount:   {}", created.token.expose());
    println!();
    println!("Keep this token now: it is stored only as a hash and cannot be shown again.");
    Ok(())
}

pub fn generate_key() -> anyhow::Result<()> {
    let key = MasterKey::generate().context("generating a key")?;
    println!("{}", key.export_base64().expose_secret());
    Ok(())
}

/// Re-seals every stored secret under the current key. With the embedded key file, a
/// new key is generated first (the old one is kept in the file to read older secrets).
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
    let store = wiring::open_store(settings).await?;
    let control_plane = ryze_application::ControlPlane::new(
        store,
        vault,
        None,
        ryze_application::Budgets::default(),
    );
    let report = control_plane
        .rotate_secrets()
        .await
        .context("re-sealing the stored secrets")?;
    println!(
        "re-sealed {} secret(s); {} already under the current key; {} changed meanwhile",
        report.rotated, report.already_current, report.changed_concurrently
    );
    for failure in &report.failed {
        println!(
            "could not re-seal the Chatwoot token of instance {}: {} — activate its integration again with POST /api/chatwoot/set",
            failure.instance_id, failure.error
        );
    }
    if report.failed.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("{} secret(s) could not be re-sealed", report.failed.len())
    }
}
