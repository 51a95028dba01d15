//! [`ChatwootHttpClient`]: the shared reqwest client, and the one path every call takes
//! (build the URL, send with the token header, read the answer, decode it).

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use reqwest::header::{HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE, LOCATION};
use reqwest::multipart::Form;
use reqwest::{Method, StatusCode};
use ryze_ports::{
    no_relay_metrics, CallPeer, ChatwootCallBudget, ChatwootError, ChatwootTarget, RelayMetrics,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tracing::Instrument as _;
use url::Url;

use ryze_outbound_service_client::{answered_outcome, send_and_read, unanswered_outcome, Timeouts};

use crate::failure::{
    invalid_request, token_scrubber, transport_failure, Answer, Endpoint, Scrubber,
};
use crate::pacing::{CallBudgetSettings, InProcessCallBudget};
use crate::{ChatwootClientBuildError, ChatwootClientSettings};

/// Chatwoot's authentication header for Application API tokens.
const API_ACCESS_TOKEN: HeaderName = HeaderName::from_static("api_access_token");
/// Longest answer read; a longer one is an unreadable answer (or, for an error, cut).
const ANSWER_MAX_BYTES: usize = 8 * 1024 * 1024;

/// Talks to every Chatwoot installation the bridge serves, through one reqwest client
/// (one connection pool per host). Cheap to clone. `Debug` shows the timeouts only.
#[derive(Clone)]
pub struct ChatwootHttpClient {
    http: reqwest::Client,
    timeouts: Timeouts,
    /// Paces the calls to each Chatwoot host (see [`crate::pacing`]).
    budget: Arc<dyn ChatwootCallBudget>,
    metrics: Arc<dyn RelayMetrics>,
}

/// How many times one call is sent when Chatwoot refuses it for its rate limit (each
/// time after its next window opened); then the refusal is the caller's.
const ATTEMPTS_WHEN_RATE_LIMITED: u32 = 3;

/// What a request carries.
pub(crate) enum RequestBody {
    Empty,
    Json(Vec<u8>),
    Multipart(Form),
}

impl ChatwootHttpClient {
    /// A client that does not follow redirects (see the crate documentation).
    pub fn new(settings: ChatwootClientSettings) -> Result<Self, ChatwootClientBuildError> {
        let builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
        Self::with_client_builder(builder, settings)
    }

    /// A client built from the caller's builder, so the caller can install what this
    /// crate does not know about, such as a DNS resolver that refuses forbidden addresses
    /// and a redirect policy. The settings' timeouts, pool size and user agent are applied
    /// on top. Keep cross-host redirects off: `api_access_token` is not a header reqwest
    /// strips when it follows one.
    pub fn with_client_builder(
        builder: reqwest::ClientBuilder,
        settings: ChatwootClientSettings,
    ) -> Result<Self, ChatwootClientBuildError> {
        settings.validate()?;
        let http = builder
            .user_agent(settings.user_agent)
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .pool_max_idle_per_host(settings.max_idle_per_host)
            .pool_idle_timeout(settings.idle_connection_timeout)
            .build()
            .map_err(|error| ChatwootClientBuildError::HttpClient(error.to_string()))?;
        Ok(Self {
            http,
            timeouts: Timeouts {
                connect: settings.connect_timeout,
                request: settings.request_timeout,
            },
            budget: Arc::new(InProcessCallBudget::new(CallBudgetSettings::default())),
            metrics: no_relay_metrics(),
        })
    }

    /// Paces calls with `budget` instead of the default (Chatwoot's default limit, 3,000
    /// calls a minute per host, kept in this process).
    pub fn with_call_budget(mut self, budget: Arc<dyn ChatwootCallBudget>) -> Self {
        self.budget = budget;
        self
    }

    /// Counts every call in `metrics`, by route template
    /// (`POST /api/v1/accounts/{id}/conversations/{id}/messages`: numeric ids replaced,
    /// no host, no query) and outcome. Each attempt counts, a refusal for the rate
    /// limit (429) included.
    pub fn with_metrics(mut self, metrics: Arc<dyn RelayMetrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// `{base}/api/v1/{segments…}`, each segment percent-encoded, with the query pairs
    /// form-encoded.
    pub(crate) fn endpoint(
        target: &ChatwootTarget,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<Endpoint, ChatwootError> {
        Self::endpoint_under(target, method, &["api", "v1"], segments, query)
    }

    /// `{base}/public/api/v1/<segments>`: the client API, which knows no account.
    pub(crate) fn public_endpoint(
        target: &ChatwootTarget,
        method: Method,
        segments: &[&str],
    ) -> Result<Endpoint, ChatwootError> {
        Self::endpoint_under(target, method, &["public", "api", "v1"], segments, &[])
    }

    fn endpoint_under(
        target: &ChatwootTarget,
        method: Method,
        prefix: &[&str],
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<Endpoint, ChatwootError> {
        let base = target.base_url.as_str();
        let mut url = Url::parse(base).map_err(|error| ChatwootError::InvalidRequest {
            url: base.to_owned(),
            detail: format!("the Chatwoot base URL {base} cannot be used: {error}"),
        })?;
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|()| ChatwootError::InvalidRequest {
                    url: base.to_owned(),
                    detail: format!("the Chatwoot base URL {base} cannot have a path"),
                })?;
            path.pop_if_empty().extend(prefix).extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let route = route_of(&method, segments);
        Ok(Endpoint { method, url, route })
    }

    /// `{base}/api/v1/accounts/{account}/{segments…}`.
    pub(crate) fn account_endpoint(
        &self,
        target: &ChatwootTarget,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<Endpoint, ChatwootError> {
        let account = target.account_id.to_string();
        let mut path = vec!["accounts", account.as_str()];
        path.extend_from_slice(segments);
        Self::endpoint(target, method, &path, query)
    }

    /// Sends the request and accepts any 2xx answer, whatever its body.
    pub(crate) async fn send_expecting_success(
        &self,
        target: &ChatwootTarget,
        endpoint: &Endpoint,
        body: RequestBody,
    ) -> Result<(), ChatwootError> {
        let scrubber = token_scrubber(target.api_token.expose());
        self.exchange(target, endpoint, body, &scrubber)
            .await?
            .ensure_success(endpoint, &scrubber)
    }

    /// Sends the request, decodes a 2xx answer's JSON body as `Wire` and turns it into
    /// `Out` with `convert`; a conversion failure is an unreadable answer.
    pub(crate) async fn send_json<Wire, Out>(
        &self,
        target: &ChatwootTarget,
        endpoint: &Endpoint,
        body: RequestBody,
        convert: impl FnOnce(Wire) -> Result<Out, String>,
    ) -> Result<Out, ChatwootError>
    where
        Wire: DeserializeOwned,
    {
        let scrubber = token_scrubber(target.api_token.expose());
        let answer = self.exchange(target, endpoint, body, &scrubber).await?;
        let wire: Wire = answer.decode(endpoint, &scrubber)?;
        convert(wire).map_err(|problem| answer.invalid(endpoint, &problem, &scrubber))
    }

    /// [`Self::send_json`] with `value` as the request's JSON body.
    pub(crate) async fn send_json_body<Wire, Out>(
        &self,
        target: &ChatwootTarget,
        endpoint: &Endpoint,
        value: &(impl Serialize + Sync),
        convert: impl FnOnce(Wire) -> Result<Out, String>,
    ) -> Result<Out, ChatwootError>
    where
        Wire: DeserializeOwned,
    {
        let body = self.json_body(target, endpoint, value)?;
        self.send_json(target, endpoint, body, convert).await
    }

    /// A JSON body; a value that cannot be serialized fails before anything is sent.
    pub(crate) fn json_body(
        &self,
        target: &ChatwootTarget,
        endpoint: &Endpoint,
        value: &impl Serialize,
    ) -> Result<RequestBody, ChatwootError> {
        serde_json::to_vec(value)
            .map(RequestBody::Json)
            .map_err(|error| {
                invalid_request(&token_scrubber(target.api_token.expose()), endpoint, &error)
            })
    }

    /// Sends one request and reads the answer (at most [`ANSWER_MAX_BYTES`]).
    async fn exchange(
        &self,
        target: &ChatwootTarget,
        endpoint: &Endpoint,
        body: RequestBody,
        scrubber: &Scrubber<'_>,
    ) -> Result<Answer, ChatwootError> {
        let mut token = HeaderValue::from_str(target.api_token.expose()).map_err(|_| {
            invalid_request(
                scrubber,
                endpoint,
                &"the API token contains characters that cannot be sent in an HTTP header",
            )
        })?;
        token.set_sensitive(true);
        let host = endpoint.url.origin().ascii_serialization();
        // A multipart body cannot be sent twice; a refusal of it goes to the caller.
        let mut replayable = match body {
            RequestBody::Empty => Some(None),
            RequestBody::Json(bytes) => Some(Some(bytes)),
            RequestBody::Multipart(form) => {
                self.budget.take(&host).await;
                let answer = self
                    .send_once(endpoint, &token, Some(form), None, scrubber)
                    .await?;
                if answer.status == StatusCode::TOO_MANY_REQUESTS {
                    self.budget.exceeded(&host).await;
                }
                return Ok(answer);
            }
        };
        let mut attempt = 1;
        loop {
            self.budget.take(&host).await;
            let json = replayable.as_ref().and_then(Clone::clone);
            let answer = match self
                .send_once(endpoint, &token, None, json.clone(), scrubber)
                .await
            {
                // A pooled connection the server closed as the request went out: a
                // read changes nothing in Chatwoot, so it is sent once more, on a new
                // connection. Writes are left to the caller, who knows whether
                // sending again is safe.
                Err(ChatwootError::Unreachable { .. }) if endpoint.method == Method::GET => {
                    self.budget.take(&host).await;
                    self.send_once(endpoint, &token, None, json, scrubber)
                        .await?
                }
                sent => sent?,
            };
            if answer.status != StatusCode::TOO_MANY_REQUESTS {
                return Ok(answer);
            }
            // Rack::Attack refuses before Rails runs anything: sending again is safe.
            self.budget.exceeded(&host).await;
            if attempt >= ATTEMPTS_WHEN_RATE_LIMITED {
                replayable = None;
            }
            if replayable.is_none() {
                return Ok(answer);
            }
            attempt += 1;
        }
    }

    /// Sends the request once and reads the answer.
    async fn send_once(
        &self,
        endpoint: &Endpoint,
        token: &HeaderValue,
        form: Option<Form>,
        json: Option<Vec<u8>>,
        scrubber: &Scrubber<'_>,
    ) -> Result<Answer, ChatwootError> {
        let mut request = self
            .http
            .request(endpoint.method.clone(), endpoint.url.clone())
            .timeout(self.timeouts.request)
            .header(ACCEPT, "application/json")
            .header(API_ACCESS_TOKEN, token.clone());
        if let Some(bytes) = json {
            request = request.header(CONTENT_TYPE, "application/json").body(bytes);
        }
        if let Some(form) = form {
            request = request.multipart(form);
        }

        let started = Instant::now();
        let unreachable = |error: reqwest::Error| {
            let failure = transport_failure(endpoint, &error, self.timeouts, scrubber);
            tracing::debug!(request = %endpoint, elapsed_ms = started.elapsed().as_millis(), error = %failure, "chatwoot request failed");
            failure
        };
        // One span per request (its route template, never the URL: ids and the query
        // stay out), a child of the relay step that makes it.
        let span = tracing::info_span!(
            "chatwoot_call",
            endpoint = %endpoint.route,
            status = tracing::field::Empty,
        );
        let result = send_and_read(request, ANSWER_MAX_BYTES)
            .instrument(span.clone())
            .await;
        if let Ok(answer) = &result {
            span.record("status", answer.status.as_u16());
        }
        drop(span);
        let outcome = match &result {
            Ok(answer) => answered_outcome(answer.status),
            Err(error) => unanswered_outcome(error),
        };
        self.metrics.call_finished(
            CallPeer::Chatwoot,
            &endpoint.route,
            outcome,
            started.elapsed(),
        );
        let answer = result.map_err(unreachable)?;
        let location = answer
            .headers
            .get(LOCATION)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        tracing::debug!(request = %endpoint, status = answer.status.as_u16(), elapsed_ms = started.elapsed().as_millis(), "chatwoot answered");
        Ok(Answer {
            status: answer.status,
            location,
            body: answer.body,
            cut_short: answer.cut_short,
        })
    }
}

/// `<method> /api/v1/<segments>` with every numeric segment (an account, inbox,
/// contact, conversation or message id) replaced by `{id}`: a bounded label.
fn route_of(method: &Method, segments: &[&str]) -> String {
    let path: Vec<&str> = segments
        .iter()
        .map(|segment| {
            if !segment.is_empty() && segment.bytes().all(|byte| byte.is_ascii_digit()) {
                "{id}"
            } else {
                segment
            }
        })
        .collect();
    format!("{method} /api/v1/{}", path.join("/"))
}

impl fmt::Debug for ChatwootHttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatwootHttpClient")
            .field("connect_timeout", &self.timeouts.connect)
            .field("request_timeout", &self.timeouts.request)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ryze_domain::{ChatwootAccountId, ChatwootApiToken, ChatwootBaseUrl};

    use super::*;

    fn target(base: &str) -> ChatwootTarget {
        ChatwootTarget {
            base_url: ChatwootBaseUrl::parse(base).unwrap(),
            account_id: ChatwootAccountId::new(5).unwrap(),
            api_token: ChatwootApiToken::parse("tok").unwrap(),
        }
    }

    #[test]
    fn paths_go_under_the_base_urls_own_path_and_queries_are_form_encoded() {
        let client = ChatwootHttpClient::new(ChatwootClientSettings::default()).unwrap();
        let endpoint = client
            .account_endpoint(
                &target("https://cw.example/chatwoot/"),
                Method::GET,
                &["contacts", "search"],
                &[("q", "+55 11 9&x=1")],
            )
            .unwrap();
        assert_eq!(
            endpoint.to_string(),
            "GET https://cw.example/chatwoot/api/v1/accounts/5/contacts/search?q=%2B55+11+9%26x%3D1"
        );
        let profile = ChatwootHttpClient::endpoint(
            &target("http://10.0.0.5:3000"),
            Method::GET,
            &["profile"],
            &[],
        )
        .unwrap();
        assert_eq!(profile.url.as_str(), "http://10.0.0.5:3000/api/v1/profile");
        assert_eq!(profile.route, "GET /api/v1/profile");
        assert_eq!(
            endpoint.route, "GET /api/v1/accounts/{id}/contacts/search",
            "no id, no query, no base path in the metrics' label"
        );
    }

    #[test]
    fn zero_timeouts_are_refused() {
        let settings = ChatwootClientSettings {
            request_timeout: Duration::ZERO,
            ..ChatwootClientSettings::default()
        };
        assert_eq!(
            ChatwootHttpClient::new(settings).unwrap_err(),
            ChatwootClientBuildError::ZeroTimeout { which: "request" }
        );
    }
}
