//! [`HttpIntegrationGateway`]: the [`IntegrationGateway`] port over the bridge's HTTP API.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use reqwest::{Method, RequestBuilder};
use ryze_domain::{BridgeIntegrationId, IntegrationStatus};
use ryze_ports::{
    ActivatedIntegration, ActivationRequest, CallPeer, GatewayError, IntegrationGateway,
    LiveIntegrationStatus, RelayCounters, RelayMetrics,
};
use url::Url;

use ryze_outbound_service_client::{
    RequestLabel, Scrubber, ServiceClient, ServiceClientSettings, Timeouts, Unanswered,
    UnansweredLog,
};

use crate::answers::{Answer, PEER};
use crate::wire::{ActivateAnswer, ActivateBody, StatusAnswer};
use crate::{BridgeClientBuildError, BridgeClientSettings};

/// Longest answer read from the bridge; anything beyond is dropped (and then fails to
/// parse, which is reported with the start of the body).
const ANSWER_MAX_BYTES: usize = 1024 * 1024;

/// Talks to the bridge. Cheap to share: hold it in an `Arc`. `Debug` shows the base URL
/// and timeouts only.
pub struct HttpIntegrationGateway {
    service: ServiceClient,
}

impl HttpIntegrationGateway {
    pub fn new(settings: BridgeClientSettings) -> Result<Self, BridgeClientBuildError> {
        // A redirect means a wrong BRIDGE_URL: the service client reports it rather than
        // follow it.
        let service = ServiceClient::new(ServiceClientSettings {
            base_url: settings.base_url,
            token: settings.token,
            timeouts: Timeouts::new(settings.connect_timeout, settings.request_timeout),
            // The control plane reports the error a failure becomes.
            unanswered_log: UnansweredLog::Debug,
            user_agent: concat!("ryze-api/", env!("CARGO_PKG_VERSION")),
            peer: PEER,
        })?;
        Ok(Self { service })
    }

    /// The bridge's base URL (`BRIDGE_URL`).
    pub fn base_url(&self) -> &Url {
        self.service.base_url()
    }

    /// Counts every call to the bridge in `metrics` (route template and outcome).
    pub fn with_metrics(mut self, metrics: Arc<dyn RelayMetrics>) -> Self {
        self.service = self.service.with_metrics(metrics, CallPeer::Bridge);
        self
    }

    /// The URL of an API path under the base URL; each segment is percent-encoded.
    fn endpoint(&self, method: Method, segments: &[&str]) -> RequestLabel {
        self.service
            .endpoint(method, segments.iter().copied(), segments)
    }

    fn integration_endpoint(&self, method: Method, id: &BridgeIntegrationId) -> RequestLabel {
        self.service.endpoint(
            method,
            ["v1", "integrations", id.as_str()],
            &["v1", "integrations", "{id}"],
        )
    }

    /// Secrets to scrub from answers: the bridge token, plus any given.
    fn scrubber<'a>(&'a self, extra_secret: Option<&'a str>) -> Scrubber<'a> {
        self.service.scrubber_with(extra_secret)
    }

    fn request(&self, label: &RequestLabel) -> RequestBuilder {
        self.service.request(label)
    }

    /// Sends the request and reads the answer (at most [`ANSWER_MAX_BYTES`]).
    async fn exchange(
        &self,
        request: RequestBuilder,
        label: &RequestLabel,
        scrubber: &Scrubber<'_>,
    ) -> Result<Answer, GatewayError> {
        let answer = self
            .service
            .exchange(request, label, ANSWER_MAX_BYTES, scrubber)
            .await
            .map_err(|Unanswered { detail }| GatewayError::Unreachable { detail })?;
        Ok(Answer {
            status: answer.status,
            body: answer.body,
        })
    }
}

impl fmt::Debug for HttpIntegrationGateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.service
            .debug_as(f, "HttpIntegrationGateway", "base_url")
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
