//! [`EventStreamClient`]: the [`EventStreamConnector`] that opens the API's internal event
//! stream over WebSocket and hands each connection to its own task.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use rustls::crypto::ring;
use rustls::{ClientConfig, RootCertStore};
use ryze_domain::InstanceId;
use ryze_ports::{
    EventSequence, EventStreamConnection, EventStreamConnector, EventStreamError, StreamItem,
};
use tokio::sync::mpsc;
use tokio_tungstenite::Connector;
use tracing::Instrument;

use crate::connection::ConnectionTask;
use crate::handshake::{stream_url, ConnectAttempt, Greeted};
use crate::redaction::Redactor;
use crate::settings::{EventStreamClientBuildError, EventStreamClientSettings, Transport};

/// The items channel never holds more than this many items, whatever window the API
/// announces (the API's window is 1000).
const MAX_ITEMS_BUFFERED: u64 = 10_000;

/// Opens the API's internal event stream (docs/event-stream.md) for the bridge.
#[derive(Clone)]
pub struct EventStreamClient {
    settings: EventStreamClientSettings,
    /// `Connector::Rustls` when the API is reached over `https`/`wss`, else
    /// `Connector::Plain`.
    connector: Connector,
    redactor: Redactor,
}

impl fmt::Debug for EventStreamClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventStreamClient")
            .field("api_url", &self.settings.api_url.as_str())
            .field("tls", &matches!(self.connector, Connector::Rustls(_)))
            .finish_non_exhaustive()
    }
}

impl EventStreamClient {
    /// Checks the settings (an http or https URL with a host, a header-safe token,
    /// non-zero durations) and prepares TLS for an `https` API, with the web's root
    /// certificates.
    pub fn new(settings: EventStreamClientSettings) -> Result<Self, EventStreamClientBuildError> {
        let connector = match settings.validate()? {
            Transport::Plain => Connector::Plain,
            Transport::Tls => Connector::Rustls(tls_client_config()?),
        };
        let redactor = Redactor::new(settings.bridge_token.clone());
        Ok(Self {
            settings,
            connector,
            redactor,
        })
    }
}

/// rustls with the ring provider (chosen explicitly, so no process-wide default provider
/// is needed) and the web's root certificates.
fn tls_client_config() -> Result<Arc<ClientConfig>, EventStreamClientBuildError> {
    let roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|error| EventStreamClientBuildError::Tls(error.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[async_trait]
impl EventStreamConnector for EventStreamClient {
    async fn connect(
        &self,
        instance_id: &InstanceId,
    ) -> Result<EventStreamConnection, EventStreamError> {
        let span = tracing::info_span!("event_stream", instance_id = %instance_id);
        let attempt = ConnectAttempt {
            stream_url: stream_url(&self.settings.api_url, instance_id)?,
            bridge_token: &self.settings.bridge_token,
            connector: &self.connector,
            connect_timeout: self.settings.connect_timeout,
            redactor: &self.redactor,
        };
        let Greeted { socket, hello } = attempt.open(instance_id).instrument(span.clone()).await?;

        let heartbeat_seconds = hello.heartbeat_seconds.unwrap_or(0);
        if heartbeat_seconds.saturating_mul(3) > self.settings.silence_timeout.as_secs() {
            tracing::warn!(
                parent: &span,
                heartbeat_seconds,
                silence_timeout_seconds = self.settings.silence_timeout.as_secs(),
                "the API pings less often than a third of the silence timeout; a quiet stream may be taken for a dead one"
            );
        }
        tracing::info!(
            parent: &span,
            acknowledged = hello.acknowledged,
            last_appended = hello.last_appended,
            dropped_up_to = ?hello.dropped_up_to,
            window = hello.window,
            "connected to the event stream"
        );

        let capacity = hello.window.clamp(1, MAX_ITEMS_BUFFERED);
        let capacity = usize::try_from(capacity).unwrap_or(1);
        let (items_sender, items) = mpsc::channel(capacity);
        let (acknowledgements, acknowledgement_receiver) = mpsc::unbounded_channel();

        // Events the API's retention dropped before this connection are reported here,
        // once; the API's `dropped` frame for the same range is then ignored.
        let mut delivered_up_to = hello.acknowledged;
        if let Some(dropped_up_to) = hello
            .dropped_up_to
            .filter(|&up_to| up_to > hello.acknowledged)
        {
            delivered_up_to = dropped_up_to;
            // The channel is new and has room for at least one item.
            let _ = items_sender.try_send(Ok(StreamItem::EventsDropped {
                up_to: EventSequence::new(dropped_up_to),
            }));
        }

        let task = ConnectionTask {
            socket,
            items: items_sender,
            acknowledgements: acknowledgement_receiver,
            delivered_up_to,
            acknowledged: hello.acknowledged,
            heartbeat_interval: self.settings.heartbeat_interval,
            silence_timeout: self.settings.silence_timeout,
            redactor: self.redactor.clone(),
        };
        tokio::spawn(task.run().instrument(span));
        Ok(EventStreamConnection {
            items,
            acknowledgements,
        })
    }
}
