//! [`ServiceClient`]: the plumbing of a client of one of our own services (the bridge,
//! the API, the WhatsApp engine), each reached at a configured base URL with a bearer
//! token: checking the settings, building the reqwest client, naming endpoints under the
//! base URL, sending a request and reading its answer up to a limit, and scrubbing the
//! token from every text taken from the outside.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION};
use reqwest::{Method, RequestBuilder, Url};
use ryze_ports::{no_relay_metrics, CallPeer, RelayMetrics};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;

use crate::{
    answered_outcome, send_and_read, transport_failure_reason, unanswered_outcome, BoundedAnswer,
    RequestLabel, Scrubber, Timeouts,
};

/// What a [`ServiceClient`] is built from.
#[derive(Debug, Clone)]
pub struct ServiceClientSettings {
    /// The service's base URL; endpoint paths are appended to its path. http or https,
    /// with a host, without credentials, query or fragment.
    pub base_url: Url,
    /// Sent as `Authorization: Bearer <token>` on every request, and scrubbed from every
    /// text taken from an answer or a transport failure.
    pub token: SecretString,
    pub timeouts: Timeouts,
    /// The `User-Agent` header, e.g. `ryze-api/1.2.3`.
    pub user_agent: &'static str,
    /// Who the service is in texts and logs, e.g. `the WhatsApp engine`
    /// (`connection reset by the WhatsApp engine`).
    pub peer: &'static str,
    /// How loudly a request that got no answer is logged.
    pub unanswered_log: UnansweredLog,
}

/// How loudly a request that got no answer is logged by [`ServiceClient::exchange`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnansweredLog {
    /// As a warning: nobody else logs the failure with the request's details.
    Warning,
    /// At debug level: the caller reports the error the failure becomes.
    Debug,
}

/// Why the settings cannot make a [`ServiceClient`]. Never contains the token. Each
/// client turns it into its own build error, naming its own settings
/// ([`service_client_build_error!`](crate::service_client_build_error)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceClientSetupError {
    /// The base URL's scheme is neither http nor https.
    UnsupportedScheme { scheme: String },
    /// The base URL has no host (or cannot have a path).
    NotAHostUrl,
    /// The base URL holds a user name or password.
    CredentialsInUrl,
    /// The base URL holds a query or a fragment.
    QueryOrFragment,
    /// The token is empty or blank.
    EmptyToken,
    /// The token cannot be sent in an HTTP header.
    TokenNotHeaderSafe,
    /// reqwest could not build the client (its reason).
    HttpClient(String),
}

/// Defines a client's build error: the variants of [`ServiceClientSetupError`], whose
/// texts name that client's settings, with `Display`, `Error` and
/// `From<ServiceClientSetupError>`. One definition serves every client of our own
/// services, so their texts keep one wording:
///
/// ```
/// ryze_outbound_service_client::service_client_build_error! {
///     /// Why the settings cannot make a client. Never contains the token.
///     pub enum BridgeClientBuildError {
///         url_setting: "BRIDGE_URL",
///         example_url: "http://bridge:8080",
///         token_setting: "BRIDGE_TOKEN",
///         authenticated_with: "the bridge is authenticated with BRIDGE_TOKEN",
///         peer: "the bridge",
///     }
/// }
/// let error = BridgeClientBuildError::from(
///     ryze_outbound_service_client::ServiceClientSetupError::EmptyToken,
/// );
/// assert_eq!(error, BridgeClientBuildError::EmptyToken);
/// assert_eq!(error.to_string(), "BRIDGE_TOKEN is empty");
/// ```
#[macro_export]
macro_rules! service_client_build_error {
    (
        $(#[$meta:meta])*
        $vis:vis enum $build_error:ident {
            url_setting: $url_setting:literal,
            example_url: $example_url:literal,
            token_setting: $token_setting:literal,
            authenticated_with: $authenticated_with:literal,
            peer: $peer:literal $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        $vis enum $build_error {
            #[doc = concat!("`", $url_setting, "`'s scheme is neither http nor https.")]
            UnsupportedScheme { scheme: String },
            #[doc = concat!("`", $url_setting, "` has no host (or cannot have a path).")]
            NotAHostUrl,
            #[doc = concat!("`", $url_setting, "` holds a user name or password.")]
            CredentialsInUrl,
            #[doc = concat!("`", $url_setting, "` holds a query or a fragment.")]
            QueryOrFragment,
            #[doc = concat!("`", $token_setting, "` is empty or blank.")]
            EmptyToken,
            #[doc = concat!("`", $token_setting, "` cannot be sent in an HTTP header.")]
            TokenNotHeaderSafe,
            #[doc = concat!("reqwest could not build the client for ", $peer, " (its reason).")]
            HttpClient(String),
        }

        impl ::core::fmt::Display for $build_error {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                match self {
                    Self::UnsupportedScheme { scheme } => {
                        write!(f, concat!($url_setting, " must use http or https, not {}"), scheme)
                    }
                    Self::NotAHostUrl => f.write_str(concat!(
                        $url_setting,
                        " must be an absolute http or https URL with a host, e.g. ",
                        $example_url
                    )),
                    Self::CredentialsInUrl => f.write_str(concat!(
                        $url_setting,
                        " must not contain a user name or password; ",
                        $authenticated_with
                    )),
                    Self::QueryOrFragment => f.write_str(concat!(
                        $url_setting,
                        " must not contain a query or a fragment"
                    )),
                    Self::EmptyToken => f.write_str(concat!($token_setting, " is empty")),
                    Self::TokenNotHeaderSafe => f.write_str(concat!(
                        $token_setting,
                        " may contain only visible ASCII characters (it is sent in an HTTP header)"
                    )),
                    Self::HttpClient(reason) => write!(
                        f,
                        concat!("cannot build the HTTP client for ", $peer, ": {}"),
                        reason
                    ),
                }
            }
        }

        impl ::std::error::Error for $build_error {}

        impl ::core::convert::From<$crate::ServiceClientSetupError> for $build_error {
            fn from(error: $crate::ServiceClientSetupError) -> Self {
                use $crate::ServiceClientSetupError as Setup;
                match error {
                    Setup::UnsupportedScheme { scheme } => Self::UnsupportedScheme { scheme },
                    Setup::NotAHostUrl => Self::NotAHostUrl,
                    Setup::CredentialsInUrl => Self::CredentialsInUrl,
                    Setup::QueryOrFragment => Self::QueryOrFragment,
                    Setup::EmptyToken => Self::EmptyToken,
                    Setup::TokenNotHeaderSafe => Self::TokenNotHeaderSafe,
                    Setup::HttpClient(reason) => Self::HttpClient(reason),
                }
            }
        }
    };
}

/// A request that got no answer (refused, DNS, TLS, reset, timeout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unanswered {
    /// `POST http://host/path: <why>`, scrubbed of the secrets.
    pub detail: String,
}

/// How a client words, in its own error type, what went wrong with a request to its
/// service. Each client implements it with its own mapping (its port's error).
pub trait ServiceErrors {
    type Error;

    /// The request got no answer; `detail` names the request and says why, scrubbed.
    fn unanswered(&self, detail: String) -> Self::Error;

    /// The service answered with a status outside `2xx`. Texts taken from the answer
    /// must go through `scrubber`.
    fn refused(
        &self,
        label: &RequestLabel,
        answer: &BoundedAnswer,
        scrubber: &Scrubber<'_>,
    ) -> Self::Error;

    /// A `2xx` answer whose body is not what the contract promises; `detail` is
    /// [`Scrubber::unreadable_answer`]'s text.
    fn unreadable(&self, detail: String) -> Self::Error;
}

/// A [`ServiceErrors`] made of three plain functions, for a client whose wording needs
/// no state: `ServiceErrorWords { unanswered: …, refused: …, unreadable: … }`.
pub struct ServiceErrorWords<E> {
    /// What [`ServiceErrors::unanswered`] answers.
    pub unanswered: fn(String) -> E,
    /// What [`ServiceErrors::refused`] answers.
    pub refused: fn(&RequestLabel, &BoundedAnswer, &Scrubber<'_>) -> E,
    /// What [`ServiceErrors::unreadable`] answers.
    pub unreadable: fn(String) -> E,
}

impl<E> ServiceErrors for ServiceErrorWords<E> {
    type Error = E;

    fn unanswered(&self, detail: String) -> E {
        (self.unanswered)(detail)
    }

    fn refused(&self, label: &RequestLabel, answer: &BoundedAnswer, scrubber: &Scrubber<'_>) -> E {
        (self.refused)(label, answer, scrubber)
    }

    fn unreadable(&self, detail: String) -> E {
        (self.unreadable)(detail)
    }
}

/// What a blank `2xx` body (nothing but white space) means to
/// [`ServiceClient::read_json`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlankBody {
    /// `{}`: the service may leave out an answer that says nothing.
    IsEmptyObject,
    /// Unreadable, like any body that is not the promised JSON.
    IsUnreadable,
}

/// Checks a service's base URL: http or https, with a host, without credentials, query
/// or fragment (secrets travel in headers, and paths are appended to it).
pub fn check_service_url(url: &Url) -> Result<(), ServiceClientSetupError> {
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(ServiceClientSetupError::UnsupportedScheme {
            scheme: url.scheme().to_owned(),
        });
    }
    if url.cannot_be_a_base() || url.host_str().is_none_or(str::is_empty) {
        return Err(ServiceClientSetupError::NotAHostUrl);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ServiceClientSetupError::CredentialsInUrl);
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ServiceClientSetupError::QueryOrFragment);
    }
    Ok(())
}

/// The reqwest client and what every request to one service needs. Every request
/// carries the bearer token and `Accept: application/json`, runs under the connect and
/// overall timeouts, and follows no redirect (a redirect means a wrong base URL, and
/// would carry the token to another host). `Debug` shows the base URL and timeouts only.
pub struct ServiceClient {
    http: reqwest::Client,
    base_url: Url,
    token: SecretString,
    timeouts: Timeouts,
    peer: &'static str,
    unanswered_log: UnansweredLog,
    metrics: Arc<dyn RelayMetrics>,
    metrics_peer: CallPeer,
}

impl ServiceClient {
    pub fn new(settings: ServiceClientSettings) -> Result<Self, ServiceClientSetupError> {
        check_service_url(&settings.base_url)?;
        let token = settings.token.expose_secret();
        if token.trim().is_empty() {
            return Err(ServiceClientSetupError::EmptyToken);
        }
        let mut authorization = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| ServiceClientSetupError::TokenNotHeaderSafe)?;
        authorization.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, authorization);
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(settings.user_agent)
            .connect_timeout(settings.timeouts.connect)
            .timeout(settings.timeouts.request)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| ServiceClientSetupError::HttpClient(error.to_string()))?;
        Ok(Self {
            http,
            base_url: settings.base_url,
            token: settings.token,
            timeouts: settings.timeouts,
            peer: settings.peer,
            unanswered_log: settings.unanswered_log,
            metrics: no_relay_metrics(),
            metrics_peer: CallPeer::Api,
        })
    }

    /// Records every call's route, outcome and duration in `metrics`, as calls to `peer`.
    pub fn with_metrics(mut self, metrics: Arc<dyn RelayMetrics>, peer: CallPeer) -> Self {
        self.metrics = metrics;
        self.metrics_peer = peer;
        self
    }

    /// The service's base URL.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// `{base URL}/<segments>`, each segment percent-encoded (so an id with `/` or `?`
    /// stays one segment). Its route for the metrics is `<method> /<route segments>`:
    /// the same segments with each id replaced by a placeholder (`{instanceId}`).
    pub fn endpoint<'s>(
        &self,
        method: Method,
        segments: impl IntoIterator<Item = &'s str>,
        route_segments: &[&str],
    ) -> RequestLabel {
        let mut url = self.base_url.clone();
        // Always `Ok`: `new` refused base URLs that cannot have path segments.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        let route = format!("{method} /{}", route_segments.join("/"));
        RequestLabel { method, url, route }
    }

    /// A request for the endpoint, with the token and the client's timeouts, and the
    /// current span's trace context (`traceparent`) when traces are exported: the
    /// service's request span continues the caller's trace.
    pub fn request(&self, label: &RequestLabel) -> RequestBuilder {
        let mut request = self.http.request(label.method.clone(), label.url.clone());
        for (name, value) in ryze_trace_context::outgoing_headers() {
            request = request.header(name, value);
        }
        request
    }

    /// Scrubs the token.
    pub fn scrubber(&self) -> Scrubber<'_> {
        self.scrubber_with(None)
    }

    /// Scrubs the token and, when given, one more secret (one the request carries).
    pub fn scrubber_with<'a>(&'a self, extra_secret: Option<&'a str>) -> Scrubber<'a> {
        Scrubber::new(std::iter::once(self.token.expose_secret()).chain(extra_secret))
    }

    /// Sends the request and reads at most `max_bytes` of the answer, logging the
    /// outcome; a request that got no answer says why, scrubbed with `scrubber`.
    pub async fn exchange(
        &self,
        request: RequestBuilder,
        label: &RequestLabel,
        max_bytes: usize,
        scrubber: &Scrubber<'_>,
    ) -> Result<BoundedAnswer, Unanswered> {
        let started = Instant::now();
        let result = send_and_read(request, max_bytes).await;
        let outcome = match &result {
            Ok(answer) => answered_outcome(answer.status),
            Err(error) => unanswered_outcome(error),
        };
        self.metrics
            .call_finished(self.metrics_peer, &label.route, outcome, started.elapsed());
        match result {
            Ok(answer) => {
                tracing::debug!(request = %label, status = answer.status.as_u16(), elapsed_ms = started.elapsed().as_millis(), "{} answered", self.peer);
                Ok(answer)
            }
            Err(error) => {
                let reason = transport_failure_reason(&error, self.timeouts, self.peer);
                let detail = scrubber.detail(label, &reason);
                let elapsed_ms = started.elapsed().as_millis();
                match self.unanswered_log {
                    UnansweredLog::Warning => {
                        tracing::warn!(request = %label, elapsed_ms, error = %detail, "{} unreachable", self.peer);
                    }
                    UnansweredLog::Debug => {
                        tracing::debug!(request = %label, elapsed_ms, error = %detail, "{} unreachable", self.peer);
                    }
                }
                Err(Unanswered { detail })
            }
        }
    }

    /// [`exchange`](Self::exchange) scrubbing the token, with no answer worded by
    /// `errors`.
    pub async fn call<E: ServiceErrors>(
        &self,
        errors: &E,
        request: RequestBuilder,
        label: &RequestLabel,
        max_bytes: usize,
    ) -> Result<BoundedAnswer, E::Error> {
        self.exchange(request, label, max_bytes, &self.scrubber())
            .await
            .map_err(|Unanswered { detail }| errors.unanswered(detail))
    }

    /// The JSON body of a `2xx` answer, or the error `errors` makes of the answer: a
    /// refusal for any other status, unreadable for a body that does not decode.
    pub fn read_json<T: DeserializeOwned, E: ServiceErrors>(
        &self,
        errors: &E,
        label: &RequestLabel,
        answer: &BoundedAnswer,
        blank_body: BlankBody,
    ) -> Result<T, E::Error> {
        let scrubber = self.scrubber();
        if !answer.status.is_success() {
            return Err(errors.refused(label, answer, &scrubber));
        }
        let is_blank = answer.body.iter().all(u8::is_ascii_whitespace);
        let body: &[u8] = match blank_body {
            BlankBody::IsEmptyObject if is_blank => b"{}",
            _ => &answer.body,
        };
        serde_json::from_slice(body).map_err(|error| {
            errors.unreadable(scrubber.unreadable_answer(label, &error, &answer.body))
        })
    }

    /// A `2xx` answer the client cannot use for `problem` (e.g. it names no id), worded
    /// by `errors`.
    pub fn unreadable<E: ServiceErrors>(
        &self,
        errors: &E,
        label: &RequestLabel,
        problem: &dyn fmt::Display,
        answer: &BoundedAnswer,
    ) -> E::Error {
        errors.unreadable(
            self.scrubber()
                .unreadable_answer(label, problem, &answer.body),
        )
    }

    /// `Debug` for a client built on this one: its name, the base URL (as
    /// `base_url_field`) and the timeouts, never the token.
    pub fn debug_as(
        &self,
        f: &mut fmt::Formatter<'_>,
        client_name: &str,
        base_url_field: &str,
    ) -> fmt::Result {
        f.debug_struct(client_name)
            .field(base_url_field, &self.base_url.as_str())
            .field("connect_timeout", &self.timeouts.connect)
            .field("request_timeout", &self.timeouts.request)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for ServiceClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.debug_as(f, "ServiceClient", "base_url")
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    const TOKEN: &str = "service-token-123";

    fn settings(base_url: &str, token: &str) -> ServiceClientSettings {
        ServiceClientSettings {
            base_url: Url::parse(base_url).unwrap(),
            token: SecretString::from(token.to_owned()),
            timeouts: Timeouts {
                connect: Duration::from_secs(1),
                request: Duration::from_millis(500),
            },
            user_agent: "ryze-test/0",
            peer: "the service",
            unanswered_log: UnansweredLog::Debug,
        }
    }

    fn setup_error(base_url: &str, token: &str) -> ServiceClientSetupError {
        ServiceClient::new(settings(base_url, token)).unwrap_err()
    }

    #[test]
    fn settings_that_cannot_work_are_refused() {
        assert_eq!(
            setup_error("ftp://service", TOKEN),
            ServiceClientSetupError::UnsupportedScheme {
                scheme: "ftp".into()
            }
        );
        assert_eq!(
            setup_error("http://user:pw@service", TOKEN),
            ServiceClientSetupError::CredentialsInUrl
        );
        assert_eq!(
            setup_error("http://service/?x=1", TOKEN),
            ServiceClientSetupError::QueryOrFragment
        );
        assert_eq!(
            setup_error("http://service/#x", TOKEN),
            ServiceClientSetupError::QueryOrFragment
        );
        assert_eq!(
            setup_error("http://service", " "),
            ServiceClientSetupError::EmptyToken
        );
        assert_eq!(
            setup_error("http://service", "tok\nen"),
            ServiceClientSetupError::TokenNotHeaderSafe
        );
        assert!(check_service_url(&Url::parse("mailto:x@service").unwrap()).is_err());
    }

    #[test]
    fn endpoints_keep_the_base_path_and_encode_each_segment() {
        let client = ServiceClient::new(settings("http://service:8080/base/", TOKEN)).unwrap();
        let label = client.endpoint(Method::POST, ["v1", "a/b?c"], &["v1", "{id}"]);
        assert_eq!(
            label.to_string(),
            "POST http://service:8080/base/v1/a%2Fb%3Fc"
        );
        assert!(!format!("{client:?}").contains(TOKEN));
    }

    #[tokio::test]
    async fn requests_carry_the_token_and_answers_are_read_up_to_the_limit() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v1/thing"))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .and(header("accept", "application/json"))
            .respond_with(ResponseTemplate::new(200).set_body_string("0123456789"))
            .mount(&server)
            .await;
        let client = ServiceClient::new(settings(&server.uri(), TOKEN)).unwrap();
        let label = client.endpoint(Method::GET, ["v1", "thing"], &["v1", "thing"]);
        let answer = client
            .exchange(client.request(&label), &label, 4, &client.scrubber())
            .await
            .unwrap();
        assert_eq!(answer.status.as_u16(), 200);
        assert_eq!(answer.body, b"0123");
        assert!(answer.cut_short);
    }

    #[tokio::test]
    async fn each_call_is_recorded_by_route_template_and_outcome() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(429))
            .mount(&server)
            .await;
        let mut metrics = ryze_ports::MockRelayMetrics::new();
        metrics
            .expect_call_finished()
            .withf(|peer, endpoint, outcome, _| {
                *peer == CallPeer::Engine
                    && endpoint == "POST /v1/instances/{instanceId}"
                    && *outcome == ryze_ports::CallOutcome::RateLimited
            })
            .times(1)
            .return_const(());
        let client = ServiceClient::new(settings(&server.uri(), TOKEN))
            .unwrap()
            .with_metrics(Arc::new(metrics), CallPeer::Engine);
        let label = client.endpoint(
            Method::POST,
            ["v1", "instances", "ins_secretive"],
            &["v1", "instances", "{instanceId}"],
        );
        client
            .exchange(client.request(&label), &label, 64, &client.scrubber())
            .await
            .unwrap();
    }

    /// Words errors as plain texts, to see which case was chosen.
    struct Texts;

    impl ServiceErrors for Texts {
        type Error = String;

        fn unanswered(&self, detail: String) -> String {
            format!("unanswered: {detail}")
        }

        fn refused(
            &self,
            label: &RequestLabel,
            answer: &BoundedAnswer,
            scrubber: &Scrubber<'_>,
        ) -> String {
            format!(
                "refused: {label} {} {}",
                answer.status.as_u16(),
                scrubber.quote_answer_body(&answer.body)
            )
        }

        fn unreadable(&self, detail: String) -> String {
            format!("unreadable: {detail}")
        }
    }

    #[derive(Debug, serde::Deserialize, PartialEq, Eq)]
    struct Thing {
        #[serde(default)]
        id: Option<String>,
    }

    #[tokio::test]
    async fn json_answers_are_read_or_worded_by_the_client() {
        let server = MockServer::start().await;
        let answers = [
            (
                "/ok",
                ResponseTemplate::new(200).set_body_string(r#"{"id":"a"}"#),
            ),
            ("/blank", ResponseTemplate::new(200).set_body_string("  ")),
            (
                "/refused",
                ResponseTemplate::new(503).set_body_string(format!("no {TOKEN}")),
            ),
            (
                "/html",
                ResponseTemplate::new(200).set_body_string("<html>"),
            ),
        ];
        for (at, answer) in answers {
            Mock::given(path(at))
                .respond_with(answer)
                .mount(&server)
                .await;
        }
        let client = ServiceClient::new(settings(&server.uri(), TOKEN)).unwrap();
        let read = |at: &'static str, blank_body: BlankBody| {
            let client = &client;
            async move {
                let label = client.endpoint(Method::GET, [at.trim_start_matches('/')], &["at"]);
                let answer = client
                    .call(&Texts, client.request(&label), &label, 1024)
                    .await?;
                client.read_json::<Thing, _>(&Texts, &label, &answer, blank_body)
            }
        };
        let base = server.uri();
        assert_eq!(
            read("/ok", BlankBody::IsUnreadable).await,
            Ok(Thing {
                id: Some("a".into())
            })
        );
        assert_eq!(
            read("/blank", BlankBody::IsEmptyObject).await,
            Ok(Thing { id: None })
        );
        assert!(read("/blank", BlankBody::IsUnreadable)
            .await
            .is_err_and(|error| error.starts_with(&format!(
                "unreadable: unreadable answer to GET {base}/blank: "
            ))));
        assert_eq!(
            read("/refused", BlankBody::IsUnreadable).await,
            Err(format!("refused: GET {base}/refused 503 no ***"))
        );
        assert!(read("/html", BlankBody::IsUnreadable)
            .await
            .is_err_and(|error| error.ends_with("; body: <html>")));
    }

    #[tokio::test]
    async fn a_request_without_answer_says_why_without_the_secrets() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client =
            ServiceClient::new(settings(&format!("http://127.0.0.1:{port}"), TOKEN)).unwrap();
        let label = client.endpoint(
            Method::POST,
            ["v1", "extra-secret"],
            &["v1", "extra-secret"],
        );
        let unanswered = client
            .exchange(
                client.request(&label),
                &label,
                10,
                &client.scrubber_with(Some("extra-secret")),
            )
            .await
            .unwrap_err();
        assert_eq!(
            unanswered.detail,
            format!("POST http://127.0.0.1:{port}/v1/***: connection refused")
        );
    }
}
