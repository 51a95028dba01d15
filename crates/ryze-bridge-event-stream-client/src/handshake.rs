//! Opening a stream: tokio-tungstenite's connector does TCP (and TLS for `https` APIs,
//! with the rustls configuration the client prepared) and the WebSocket upgrade with the
//! bridge token; this module maps the API's answer when it refuses, reads the `hello`
//! frame, and holds all of it to one deadline.

use std::time::Duration;

use futures::StreamExt;
use ryze_domain::InstanceId;
use ryze_ports::EventStreamError;
use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::header::AUTHORIZATION;
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};
use url::Url;

use crate::close_codes::describe_close;
use crate::frames::{parse_server_frame, HelloFrame, ServerFrame};
use crate::redaction::Redactor;

/// An open stream: plain TCP for `ws://`, TLS over TCP for `wss://`.
pub(crate) type StreamSocket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Everything a connection attempt needs, borrowed from the client.
pub(crate) struct ConnectAttempt<'a> {
    pub stream_url: Url,
    pub bridge_token: &'a SecretString,
    /// `Connector::Plain` for an `http` API, `Connector::Rustls` for an `https` one.
    pub connector: &'a Connector,
    pub connect_timeout: Duration,
    pub redactor: &'a Redactor,
}

/// What a stream reads into before a frame's length is known. tungstenite's default
/// (128 KiB, allocated up front) would be most of what an idle integration costs; a
/// frame longer than this (an event with inline media) grows the buffer to its length.
const READ_BUFFER_BYTES: usize = 4 * 1024;

/// The stream's WebSocket settings: a small read buffer, and every frame written at once
/// (the bridge writes only acknowledgements and pongs: there is nothing to pack, and no
/// write buffer to keep per connection).
fn idle_friendly_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(0)
}

/// An upgraded connection whose `hello` was read.
pub(crate) struct Greeted {
    pub socket: StreamSocket,
    pub hello: HelloFrame,
}

impl ConnectAttempt<'_> {
    pub(crate) async fn open(&self, instance_id: &InstanceId) -> Result<Greeted, EventStreamError> {
        let deadline = Instant::now() + self.connect_timeout;
        let within = format_duration(self.connect_timeout);
        let address = host_and_port(&self.stream_url)?;

        let request = self.upgrade_request()?;
        let connecting = tokio_tungstenite::connect_async_tls_with_config(
            request,
            Some(idle_friendly_config()),
            // Frames are small and latency matters more than packing them.
            true,
            Some(self.connector.clone()),
        );
        let (mut socket, _response) = timeout_at(deadline, connecting)
            .await
            .map_err(|_| {
                self.unavailable(format!(
                    "the API at {address} did not accept the connection and the upgrade within {within}"
                ))
            })?
            .map_err(|error| self.failed_connection(&address, error))?;

        let hello = timeout_at(deadline, self.read_hello(&mut socket))
            .await
            .map_err(|_| {
                self.unavailable(format!("no hello frame from the API within {within}"))
            })??;
        if hello.instance_id != instance_id.as_str() {
            return Err(EventStreamError::Protocol {
                detail: self.redactor.redact(&format!(
                    "the hello frame names instance {} instead of {instance_id}",
                    hello.instance_id
                )),
            });
        }
        Ok(Greeted { socket, hello })
    }

    /// `GET {stream_url}` with `Authorization: Bearer <token>`, the header marked
    /// sensitive.
    fn upgrade_request(&self) -> Result<Request, EventStreamError> {
        let mut request = self
            .stream_url
            .as_str()
            .into_client_request()
            .map_err(|error| {
                self.unavailable(format!("cannot build the upgrade request: {error}"))
            })?;
        let mut authorization =
            HeaderValue::from_str(&format!("Bearer {}", self.bridge_token.expose_secret()))
                .map_err(|_| {
                    self.unavailable("BRIDGE_TOKEN cannot be sent in an HTTP header".to_owned())
                })?;
        authorization.set_sensitive(true);
        request.headers_mut().insert(AUTHORIZATION, authorization);
        Ok(request)
    }

    /// Maps a failed connection: why the API could not be reached (TCP or TLS), the
    /// API's status when it refused the upgrade, else why the upgrade failed.
    fn failed_connection(&self, address: &str, error: WsError) -> EventStreamError {
        let response = match error {
            WsError::Http(response) => response,
            WsError::Io(error) if is_tls_failure(&error) => {
                return self.unavailable(format!("TLS with the API at {address} failed: {error}"))
            }
            WsError::Io(error) => {
                return self.unavailable(format!("cannot reach the API at {address}: {error}"))
            }
            WsError::Tls(error) => {
                return self.unavailable(format!("TLS with the API at {address} failed: {error}"))
            }
            error => return self.unavailable(format!("the WebSocket upgrade failed: {error}")),
        };
        let message = response
            .body()
            .as_deref()
            .map(error_message_of_body)
            .unwrap_or_default();
        match response.status() {
            StatusCode::UNAUTHORIZED => {
                tracing::warn!(message = %self.redactor.redact(&message), "the API refused the bridge token");
                EventStreamError::Unauthorized
            }
            StatusCode::NOT_FOUND => {
                tracing::warn!(message = %self.redactor.redact(&message), "the API has no event stream for the instance");
                EventStreamError::UnknownInstance
            }
            status if message.is_empty() => {
                self.unavailable(format!("the API answered the upgrade with {status}"))
            }
            status => self.unavailable(format!(
                "the API answered the upgrade with {status}: {message}"
            )),
        }
    }

    /// Reads frames until the first text frame, which must be `hello`. Pings and pongs
    /// before it are answered by the WebSocket library and skipped.
    async fn read_hello(&self, socket: &mut StreamSocket) -> Result<HelloFrame, EventStreamError> {
        loop {
            let message = match socket.next().await {
                None => {
                    return Err(self.unavailable(
                        "the API closed the connection before its hello frame".to_owned(),
                    ))
                }
                Some(Err(error)) => {
                    return Err(self.unavailable(format!(
                        "the connection broke before the hello frame: {error}"
                    )))
                }
                Some(Ok(message)) => message,
            };
            match message {
                Message::Text(text) => {
                    return match parse_server_frame(text.as_str()) {
                        Ok(ServerFrame::Hello(hello)) => Ok(hello),
                        Ok(_) => Err(EventStreamError::Protocol {
                            detail: "the API's first frame is not hello".to_owned(),
                        }),
                        Err(detail) => Err(EventStreamError::Protocol {
                            detail: self.redactor.redact(&detail),
                        }),
                    };
                }
                Message::Binary(_) => {
                    return Err(EventStreamError::Protocol {
                        detail: "the API sent a binary frame; every frame is JSON text".to_owned(),
                    })
                }
                Message::Close(frame) => {
                    let code = frame.as_ref().map(|frame| u16::from(frame.code));
                    // A clean close before any event: the integration ended, so there is
                    // no stream for this instance.
                    if code == Some(1000) {
                        return Err(EventStreamError::UnknownInstance);
                    }
                    return Err(self.unavailable(format!(
                        "the API closed the connection before its hello frame: {}",
                        describe_close(frame.as_ref())
                    )));
                }
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
            }
        }
    }

    fn unavailable(&self, detail: String) -> EventStreamError {
        EventStreamError::Unavailable {
            detail: self.redactor.redact(&detail),
        }
    }
}

/// `{api_url}/ws/chatwoot/{instanceId}` over `ws`/`wss`.
pub(crate) fn stream_url(api_url: &Url, instance_id: &InstanceId) -> Result<Url, EventStreamError> {
    let mut url = api_url.clone();
    let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
    let unusable = || EventStreamError::Unavailable {
        detail: "the API URL cannot be turned into the event stream's URL".to_owned(),
    };
    url.set_scheme(scheme).map_err(|()| unusable())?;
    url.path_segments_mut()
        .map_err(|()| unusable())?
        .pop_if_empty()
        .extend(["ws", "chatwoot", instance_id.as_str()]);
    Ok(url)
}

/// `host:port` of the stream's URL, for messages.
fn host_and_port(url: &Url) -> Result<String, EventStreamError> {
    match (url.host_str(), url.port_or_known_default()) {
        (Some(host), Some(port)) => Ok(format!("{host}:{port}")),
        _ => Err(EventStreamError::Unavailable {
            detail: "the API URL has no host or port".to_owned(),
        }),
    }
}

/// Whether an I/O error of the connector is rustls refusing the session (tokio-rustls
/// reports TLS alerts and certificate problems as I/O errors wrapping a rustls error).
fn is_tls_failure(error: &std::io::Error) -> bool {
    error
        .get_ref()
        .is_some_and(|inner| inner.is::<rustls::Error>())
}

/// The `error.message` of the API's error envelope, or the start of the body as text.
fn error_message_of_body(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Envelope {
        error: ErrorPart,
    }
    #[derive(serde::Deserialize)]
    struct ErrorPart {
        message: String,
    }
    if let Ok(envelope) = serde_json::from_slice::<Envelope>(body) {
        return envelope.error.message;
    }
    shorten(String::from_utf8_lossy(body).trim(), 200)
}

/// At most `limit` bytes of `text`, cut on a character boundary.
pub(crate) fn shorten(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_owned();
    }
    format!("{}…", ryze_domain::cut_on_char_boundary(text, limit))
}

pub(crate) fn format_duration(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{} ms", duration.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_url_keeps_the_base_path_and_switches_the_scheme() {
        let instance = InstanceId::new("ins_01J9Z8Y7X6W5V4");
        let url = |base: &str| {
            stream_url(&Url::parse(base).expect("test URL"), &instance)
                .expect("stream URL")
                .to_string()
        };
        assert_eq!(
            url("http://api:8080"),
            "ws://api:8080/ws/chatwoot/ins_01J9Z8Y7X6W5V4"
        );
        assert_eq!(
            url("https://api.example.com/base/"),
            "wss://api.example.com/base/ws/chatwoot/ins_01J9Z8Y7X6W5V4"
        );
    }

    #[test]
    fn an_instance_id_cannot_escape_its_path_segment() {
        let url = stream_url(
            &Url::parse("http://api").expect("test URL"),
            &InstanceId::new("../admin?x=1"),
        )
        .expect("stream URL");
        assert_eq!(url.path(), "/ws/chatwoot/..%2Fadmin%3Fx=1");
        assert_eq!(url.query(), None);
    }

    #[test]
    fn reads_the_message_of_the_error_envelope() {
        assert_eq!(
            error_message_of_body(br#"{"success": false, "error": {"message": "Invalid token"}}"#),
            "Invalid token"
        );
        assert_eq!(error_message_of_body(b"  plain text \n"), "plain text");
    }

    #[test]
    fn shortens_on_a_character_boundary() {
        assert_eq!(shorten("ação", 2), "a…");
        assert_eq!(shorten("abc", 3), "abc");
    }
}
