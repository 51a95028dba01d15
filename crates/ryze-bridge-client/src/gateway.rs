//! [`HttpIntegrationGateway`]: the [`IntegrationGateway`] port over the bridge's HTTP API.

use std::fmt;
use std::time::Instant;

use async_trait::async_trait;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION};
use reqwest::{Method, RequestBuilder};
use ryze_domain::{BridgeIntegrationId, IntegrationStatus};
use ryze_ports::{
    ActivatedIntegration, ActivationRequest, GatewayError, IntegrationGateway,
    LiveIntegrationStatus, RelayCounters,
};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use ryze_outbound_http::{send_and_read, RequestLabel, Scrubber, Timeouts};

use crate::answers::{transport_failure, Answer};
use crate::wire::{ActivateAnswer, ActivateBody, StatusAnswer};
use crate::{BridgeClientBuildError, BridgeClientSettings};

/// Longest answer read from the bridge; anything beyond is dropped (and then fails to
/// parse, which is reported with the start of the body).
const ANSWER_MAX_BYTES: usize = 1024 * 1024;

/// Talks to the bridge. Cheap to share: hold it in an `Arc`. `Debug` shows the base URL
/// and timeouts only.
pub struct HttpIntegrationGateway {
    http: reqwest::Client,
    base_url: Url,
    token: SecretString,
    timeouts: Timeouts,
}

impl HttpIntegrationGateway {
    pub fn new(settings: BridgeClientSettings) -> Result<Self, BridgeClientBuildError> {
        let base_url = settings.validated_base_url()?;
        let token = settings.token.expose_secret();
        if token.trim().is_empty() {
            return Err(BridgeClientBuildError::EmptyToken);
        }
        let mut authorization = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| BridgeClientBuildError::TokenNotHeaderSafe)?;
        authorization.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, authorization);
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));

        let http = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(concat!("ryze-api/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            // A redirect means a wrong BRIDGE_URL; report it rather than follow it.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| BridgeClientBuildError::HttpClient(error.to_string()))?;
        Ok(Self {
            http,
            base_url,
            token: settings.token,
            timeouts: Timeouts {
                connect: settings.connect_timeout,
                request: settings.request_timeout,
            },
        })
    }

    /// The bridge's base URL (`BRIDGE_URL`).
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// The URL of an API path under the base URL; each segment is percent-encoded.
    fn endpoint(&self, method: Method, segments: &[&str]) -> RequestLabel {
        let mut url = self.base_url.clone();
        // Always `Ok`: `new` refused base URLs that cannot have path segments.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        RequestLabel { method, url }
    }

    fn integration_endpoint(&self, method: Method, id: &BridgeIntegrationId) -> RequestLabel {
        self.endpoint(method, &["v1", "integrations", id.as_str()])
    }

    /// Secrets to scrub from answers: the bridge token, plus any given.
    fn scrubber<'a>(&'a self, extra_secret: Option<&'a str>) -> Scrubber<'a> {
        Scrubber::new(std::iter::once(self.token.expose_secret()).chain(extra_secret))
    }

    fn request(&self, label: &RequestLabel) -> RequestBuilder {
        self.http.request(label.method.clone(), label.url.clone())
    }

    /// Sends the request and reads the answer (at most [`ANSWER_MAX_BYTES`]).
    async fn exchange(
        &self,
        request: RequestBuilder,
        label: &RequestLabel,
        scrubber: &Scrubber<'_>,
    ) -> Result<Answer, GatewayError> {
        let started = Instant::now();
        let unreachable = |error: reqwest::Error| {
            let failure = transport_failure(label, &error, self.timeouts, scrubber);
            tracing::debug!(request = %label, elapsed_ms = started.elapsed().as_millis(), error = %failure, "bridge unreachable");
            failure
        };

        let answer = send_and_read(request, ANSWER_MAX_BYTES)
            .await
            .map_err(unreachable)?;
        tracing::debug!(request = %label, status = answer.status.as_u16(), elapsed_ms = started.elapsed().as_millis(), "bridge answered");
        Ok(Answer {
            status: answer.status,
            body: answer.body,
        })
    }
}

impl fmt::Debug for HttpIntegrationGateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpIntegrationGateway")
            .field("base_url", &self.base_url.as_str())
            .field("connect_timeout", &self.timeouts.connect)
            .field("request_timeout", &self.timeouts.request)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl IntegrationGateway for HttpIntegrationGateway {
    async fn activate(
        &self,
        request: ActivationRequest,
    ) -> Result<ActivatedIntegration, GatewayError> {
        let label = self.endpoint(Method::POST, &["v1", "integrations", "activate"]);
        let scrubber = self.scrubber(Some(request.api_token.expose()));
        let settings = &request.settings;
        let body = ActivateBody {
            instance_id: request.instance_id.as_str(),
            instance_name: request.instance_name.as_str(),
            chatwoot_base_url: settings.base_url.as_str(),
            chatwoot_account_id: settings.account_id.get(),
            chatwoot_api_token: request.api_token.expose(),
            inbox_name: settings.inbox_name.as_str(),
            sign_messages: settings.flags.sign_messages,
            ignore_groups: settings.flags.ignore_groups,
            start_as_pending: settings.flags.start_as_pending,
            reopen_resolved: settings.flags.reopen_resolved,
        };
        let answer = self
            .exchange(self.request(&label).json(&body), &label, &scrubber)
            .await?;
        let activated: ActivateAnswer = answer.decode(&label, &scrubber)?;
        if activated.id.trim().is_empty() {
            return Err(answer.unreadable(&label, &"the integration id is empty", &scrubber));
        }
        Ok(ActivatedIntegration {
            id: BridgeIntegrationId::new(activated.id),
            inbox_id: activated.inbox_id,
        })
    }

    async fn status(
        &self,
        id: &BridgeIntegrationId,
    ) -> Result<LiveIntegrationStatus, GatewayError> {
        let label = self.integration_endpoint(Method::GET, id);
        let scrubber = self.scrubber(None);
        let answer = self
            .exchange(self.request(&label), &label, &scrubber)
            .await?;
        let live: StatusAnswer = answer.decode(&label, &scrubber)?;
        let status = live
            .status
            .parse::<IntegrationStatus>()
            .map_err(|error| answer.unreadable(&label, &error, &scrubber))?;
        Ok(LiveIntegrationStatus {
            id: BridgeIntegrationId::new(live.id),
            status,
            last_error: live.last_error.unwrap_or_default(),
            inbox_id: live.inbox_id,
            connection: live.connection,
            counters: live.counters.map(|counters| RelayCounters {
                received: counters.received,
                relayed: counters.relayed,
                failed: counters.failed,
                queued: counters.queued,
            }),
        })
    }

    async fn deactivate(&self, id: &BridgeIntegrationId) -> Result<(), GatewayError> {
        let label = self.integration_endpoint(Method::DELETE, id);
        let scrubber = self.scrubber(None);
        self.exchange(self.request(&label), &label, &scrubber)
            .await?
            .ensure_success(&label, &scrubber)
    }
}
