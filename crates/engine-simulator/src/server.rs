//! Starting the simulator and driving it from a test: [`EngineSimulator::start`] binds
//! the command endpoints (127.0.0.1 on a free port by default) and returns an
//! [`EngineSimulatorHandle`] to read what was received, wait for it, change how the
//! engine behaves (connections, failures, numbers not on WhatsApp, media), make linked
//! scripts and publishers, and stop.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpServer};
use ryze_ports::whatsapp_events::EngineErrorCode;
use secrecy::SecretString;
use tokio::sync::{broadcast, Notify};
use url::Url;

use crate::echo::{start_echo, EchoedEvent};
use crate::engine::{canonical_phone, lock, Book, EngineState};
use crate::http;
use crate::media_file::MediaFile;
use crate::media_library::MediaLibrary;
use crate::publisher::{EventPublisher, PublisherBuildError, PublisherSettings, RetryPolicy};
use crate::records::{InjectedFailure, InstanceAvailability, ReceivedCommand, RejectedRequest};
use crate::script::{default_own_account, Contact, EventScript};

/// How to run the simulator.
#[derive(Debug, Clone)]
pub struct EngineSimulatorSettings {
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
    /// `ENGINE_TOKEN`: what the API must present, and what publishers send.
    pub engine_token: SecretString,
    /// actix-web worker threads.
    pub workers: usize,
    /// The instances' own WhatsApp account (sender of outgoing messages and echoes).
    pub own_account: Contact,
    /// Larger decoded media is refused with `413 media_too_large`.
    pub max_media_bytes: usize,
    /// Larger request bodies are refused with `413` before being parsed.
    pub max_body_bytes: usize,
    /// Retry policy of the publishers made by [`EngineSimulatorHandle::publisher`].
    pub publish_retry: RetryPolicy,
    /// Timeout of each publishing attempt.
    pub publish_timeout: Duration,
}

impl EngineSimulatorSettings {
    /// Loopback on a free port, one worker, WhatsApp's 16 MiB media limit, and the
    /// quick retry policy for publishers (tests).
    pub fn new(engine_token: impl Into<String>) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            engine_token: SecretString::from(engine_token.into()),
            workers: 1,
            own_account: default_own_account(),
            max_media_bytes: 16 * 1024 * 1024,
            max_body_bytes: 64 * 1024 * 1024,
            publish_retry: RetryPolicy::quick(),
            publish_timeout: Duration::from_secs(10),
        }
    }
}

/// Why the simulator did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("the listener has no local address")]
    NoLocalAddress,
}

/// A wait that ended before its condition held.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("waited {waited:?} for {wanted} {what}, {got} arrived:\n{received}")]
pub struct WaitTimedOut {
    pub what: &'static str,
    pub wanted: usize,
    pub got: usize,
    pub waited: Duration,
    /// One line per command received so far.
    pub received: String,
}

/// Entry point.
pub struct EngineSimulator;

impl EngineSimulator {
    /// Binds and starts the command endpoints on the current Tokio runtime.
    pub async fn start(
        settings: EngineSimulatorSettings,
    ) -> Result<EngineSimulatorHandle, StartError> {
        let (feed, _) = broadcast::channel(1024);
        let state = Arc::new(EngineState {
            token: settings.engine_token.clone(),
            own_account: settings.own_account.clone(),
            max_media_bytes: settings.max_media_bytes,
            max_body_bytes: settings.max_body_bytes,
            media: MediaLibrary::default(),
            book: Mutex::new(Book::default()),
            activity: Notify::new(),
            feed,
            echo: Mutex::new(None),
            echoes: Mutex::new(Vec::new()),
        });
        let app_state = Arc::clone(&state);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(Arc::clone(&app_state)))
                .configure(http::configure)
                .default_service(web::to(http::unknown_route))
        })
        .workers(settings.workers.max(1))
        .shutdown_timeout(1)
        .disable_signals()
        .bind(settings.listen)
        .map_err(|source| StartError::Bind {
            address: settings.listen,
            source,
        })?;
        let address = server
            .addrs()
            .first()
            .copied()
            .ok_or(StartError::NoLocalAddress)?;
        let running = server.run();
        let server = running.handle();
        tokio::spawn(running);
        tracing::debug!(%address, "engine simulator listening");
        Ok(EngineSimulatorHandle {
            state,
            address,
            server,
            settings,
        })
    }
}

/// A running simulator.
pub struct EngineSimulatorHandle {
    state: Arc<EngineState>,
    address: SocketAddr,
    server: actix_web::dev::ServerHandle,
    settings: EngineSimulatorSettings,
}

impl EngineSimulatorHandle {
    /// `http://127.0.0.1:<port>`: the API's `ENGINE_URL`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    // --- Scripts and publishers -------------------------------------------------------

    /// A script for an instance whose media the simulator serves from
    /// `GET media/{messageId}`.
    pub fn script(&self, instance_id: impl Into<String>) -> EventScript {
        EventScript::new(instance_id)
            .with_own_account(self.settings.own_account.clone())
            .remembering_media_in(self.state.media.clone())
    }

    /// A publisher into the API at `api_base_url` with the simulator's retry policy.
    pub fn publisher(
        &self,
        api_base_url: &str,
        engine_token: &str,
    ) -> Result<EventPublisher, PublisherBuildError> {
        let url = Url::parse(api_base_url).map_err(|_| PublisherBuildError::NotAnHttpUrl)?;
        let mut settings = PublisherSettings::new(url, engine_token);
        settings.retry = self.settings.publish_retry;
        settings.request_timeout = self.settings.publish_timeout;
        EventPublisher::remembering_media_in(settings, self.state.media.clone())
    }

    /// Publishes the `outgoing` echo of every message sent from now on through
    /// `publisher`, as a real engine does (replacing an earlier echo).
    pub fn echo_sends_to(&self, publisher: EventPublisher) {
        let sender = start_echo(Arc::clone(&self.state), publisher);
        *lock(&self.state.echo) = Some(sender);
    }

    /// Stops echoing sends.
    pub fn stop_echo(&self) {
        *lock(&self.state.echo) = None;
    }

    /// The echoes published so far.
    pub fn echoes(&self) -> Vec<EchoedEvent> {
        lock(&self.state.echoes).clone()
    }

    /// Waits until at least `count` echoes were published (answered or given up).
    pub async fn wait_for_echoes(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<EchoedEvent>, WaitTimedOut> {
        if self
            .wait_until(timeout, |_| lock(&self.state.echoes).len() >= count)
            .await
        {
            Ok(self.echoes())
        } else {
            Err(self.timed_out("echoes", count, self.echoes().len(), timeout))
        }
    }

    // --- What was received ------------------------------------------------------------

    /// Every command received with a readable body, in arrival order.
    pub fn commands(&self) -> Vec<ReceivedCommand> {
        lock(&self.state.book).commands.clone()
    }

    /// The commands carried out (not repeats, not refused).
    pub fn executed(&self) -> Vec<ReceivedCommand> {
        self.commands()
            .into_iter()
            .filter(ReceivedCommand::is_executed)
            .collect()
    }

    /// Requests refused before a command could be read (wrong token, bad body, route).
    pub fn rejected_requests(&self) -> Vec<RejectedRequest> {
        lock(&self.state.book).rejected.clone()
    }

    /// Forgets received commands, rejected requests and echoes (not the sent ids: a
    /// repeated command is still answered with its first result).
    pub fn clear_records(&self) {
        let mut book = lock(&self.state.book);
        book.commands.clear();
        book.rejected.clear();
        lock(&self.state.echoes).clear();
    }

    /// Every command from now on, as it is answered.
    pub fn subscribe(&self) -> broadcast::Receiver<ReceivedCommand> {
        self.state.feed.subscribe()
    }

    /// Waits until `condition` holds for the commands received, or `timeout` passes
    /// (woken by each new command; no polling). Returns whether it held.
    pub async fn wait_until<F>(&self, timeout: Duration, mut condition: F) -> bool
    where
        F: FnMut(&[ReceivedCommand]) -> bool,
    {
        ryze_test_support::waiting::until_notified(&self.state.activity, timeout, || {
            condition(&self.commands())
        })
        .await
    }

    /// Waits until at least `count` commands were received; returns them all.
    pub async fn wait_for_commands(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<ReceivedCommand>, WaitTimedOut> {
        if self
            .wait_until(timeout, |commands| commands.len() >= count)
            .await
        {
            Ok(self.commands())
        } else {
            Err(self.timed_out("commands", count, self.commands().len(), timeout))
        }
    }

    /// Waits until at least `count` commands were carried out; returns those.
    pub async fn wait_for_executed(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<ReceivedCommand>, WaitTimedOut> {
        let held = self
            .wait_until(timeout, |commands| {
                commands
                    .iter()
                    .filter(|command| command.is_executed())
                    .count()
                    >= count
            })
            .await;
        if held {
            Ok(self.executed())
        } else {
            Err(self.timed_out("executed commands", count, self.executed().len(), timeout))
        }
    }

    fn timed_out(
        &self,
        what: &'static str,
        wanted: usize,
        got: usize,
        waited: Duration,
    ) -> WaitTimedOut {
        let received = self
            .commands()
            .iter()
            .map(ReceivedCommand::summary)
            .collect::<Vec<_>>()
            .join("\n");
        WaitTimedOut {
            what,
            wanted,
            got,
            waited,
            received,
        }
    }

    // --- How the engine behaves ---------------------------------------------------------

    /// Connects or disconnects an instance (disconnected: `503 not_connected`). Every
    /// instance is connected until told otherwise.
    pub fn set_connected(&self, instance: &str, connected: bool) {
        let availability = if connected {
            InstanceAvailability::Connected
        } else {
            InstanceAvailability::Disconnected
        };
        lock(&self.state.book)
            .instances
            .insert(instance.to_owned(), availability);
    }

    /// Makes the engine not know an instance (`404 unknown_instance`) until
    /// [`Self::set_connected`].
    pub fn forget_instance(&self, instance: &str) {
        lock(&self.state.book)
            .instances
            .insert(instance.to_owned(), InstanceAvailability::Unknown);
    }

    pub fn availability(&self, instance: &str) -> InstanceAvailability {
        lock(&self.state.book)
            .instances
            .get(instance)
            .copied()
            .unwrap_or(InstanceAvailability::Connected)
    }

    /// Answers the next `count` commands with `code` (at its contract status) instead
    /// of carrying them out. Repeats of earlier sends are still answered first.
    pub fn fail_next(&self, count: usize, code: impl Into<EngineErrorCode>) {
        self.fail_next_with(count, InjectedFailure::new(code));
    }

    /// Like [`Self::fail_next`], with a chosen status, message, instance or kind.
    /// Failures are used in the order they were added.
    pub fn fail_next_with(&self, count: usize, failure: InjectedFailure) {
        if count > 0 {
            lock(&self.state.book).failures.push_back((failure, count));
        }
    }

    pub fn clear_failures(&self) {
        lock(&self.state.book).failures.clear();
    }

    /// Sends to this phone number (either Brazilian form) are refused with
    /// `422 not_on_whatsapp`.
    pub fn mark_not_on_whatsapp(&self, number: &str) {
        let canonical = canonical_phone(number).unwrap_or_else(|| number.to_owned());
        lock(&self.state.book).not_on_whatsapp.insert(canonical);
    }

    pub fn mark_on_whatsapp(&self, number: &str) {
        let canonical = canonical_phone(number).unwrap_or_else(|| number.to_owned());
        lock(&self.state.book).not_on_whatsapp.remove(&canonical);
    }

    // --- Media --------------------------------------------------------------------------

    /// What `GET media/{messageId}` serves from.
    pub fn media_library(&self) -> MediaLibrary {
        self.state.media.clone()
    }

    pub fn remember_media(&self, instance: &str, message_id: &str, file: MediaFile) {
        self.state.media.remember(instance, message_id, file);
    }

    /// `GET media/{messageId}` answers `410 media_gone` from now on.
    pub fn expire_media(&self, instance: &str, message_id: &str) {
        self.state.media.expire(instance, message_id);
    }

    /// Stops the server (in-flight requests finish first) and the echo.
    pub async fn stop(self) {
        self.stop_echo();
        self.server.stop(true).await;
    }
}
