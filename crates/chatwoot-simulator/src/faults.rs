//! Fault injection and the request log. [`Faults`] is what a test asks for
//! (latency, a share of 5xx, a share of 429, a full outage, duplicated
//! webhooks); [`FaultState`] turns shares into an exact, reproducible pattern
//! (a share of 0.25 fails exactly every fourth request). The
//! [`fault_and_log_middleware`] wraps every Application API request.

use crate::state::{lock, RequestLogEntry, SimulatorState};
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The faults to inject into Application API requests (`PUT /_simulator/faults`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Delay added before every Application API request is handled.
    pub latency_ms: u64,
    /// Share (0.0–1.0) of requests answered with a 500.
    pub server_error_share: f64,
    /// Share (0.0–1.0) of requests answered with a 429 (Rack::Attack throttle).
    pub rate_limit_share: f64,
    /// Answer every Application API request with a 503.
    pub outage: bool,
    /// Share (0.0–1.0) of `POST` requests that Chatwoot carries out but whose answer is
    /// lost: the caller gets a 504 from the proxy in front, as when a gateway times out
    /// after the write committed. Callers must check before writing again.
    pub lost_response_share: f64,
    /// Send every webhook twice (same body, same `X-Chatwoot-Delivery`).
    pub duplicate_webhooks: bool,
    /// Behave like the editor of Chatwoot 4.10.1–4.11 (chatwoot#13458): an agent's
    /// reply is stored with CommonMark's hard-break escaping, a backslash before every
    /// newline, and goes out so in its webhooks.
    pub escape_newlines_like_4_10: bool,
    /// Do not send the webhooks of status changes (`conversation_status_changed`,
    /// `conversation_updated`), as when their delivery fails: Chatwoot does not retry.
    pub drop_status_webhooks: bool,
    /// Chatwoot's Rack::Attack throttle `req/ip` (`RACK_ATTACK_LIMIT`): at most this many
    /// requests per client address in each fixed window, then 429 `Retry later` until the
    /// next one. 0 turns it off. Counted as Rack::Attack counts: every request, refused
    /// ones included, in windows that start at multiples of the window since the epoch.
    pub throttle_limit: u64,
    /// The throttle's window in milliseconds; 0 means a minute (Chatwoot's `1.minute`).
    pub throttle_window_ms: u64,
}

/// Chatwoot's throttle window when none is given.
const THROTTLE_DEFAULT_WINDOW_MS: u64 = 60_000;

/// What happens to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultDecision {
    Pass,
    Outage,
    /// Over the throttle's limit in this window.
    Throttled,
    RateLimited,
    ServerError,
    /// Handled, then answered 504 as if the answer was lost.
    LostResponse,
}

impl FaultDecision {
    fn label(self) -> Option<&'static str> {
        match self {
            Self::Pass => None,
            Self::Outage => Some("outage"),
            Self::Throttled => Some("throttled"),
            Self::RateLimited => Some("rate_limited"),
            Self::ServerError => Some("server_error"),
            Self::LostResponse => Some("lost_response"),
        }
    }
}

/// The configured faults plus the credit counters that spread the shares.
#[derive(Debug, Clone, Default)]
pub struct FaultState {
    pub faults: Faults,
    rate_limit_credit: f64,
    server_error_credit: f64,
    lost_response_credit: f64,
    /// Requests per client address in the current throttle window.
    throttle_window: u64,
    throttle_counts: HashMap<IpAddr, u64>,
}

/// Adds `share` to `credit` and reports whether a whole fault is due.
fn take_credit(credit: &mut f64, share: f64) -> bool {
    *credit += share.clamp(0.0, 1.0);
    if *credit >= 1.0 - 1e-9 {
        *credit -= 1.0;
        true
    } else {
        false
    }
}

impl FaultState {
    /// Replaces the faults and restarts the share pattern.
    pub fn replace(&mut self, faults: Faults) {
        *self = Self {
            faults,
            ..Self::default()
        };
    }

    /// Decides the fate of the next request (outage, then throttling, then 5xx,
    /// the order in which Rack::Attack and the app would fail).
    pub fn decide(&mut self, method: &str, client: Option<IpAddr>) -> FaultDecision {
        if self.faults.outage {
            return FaultDecision::Outage;
        }
        if let Some(client) = client {
            if self.throttles(client, now_ms()) {
                return FaultDecision::Throttled;
            }
        }
        if take_credit(&mut self.rate_limit_credit, self.faults.rate_limit_share) {
            return FaultDecision::RateLimited;
        }
        if take_credit(
            &mut self.server_error_credit,
            self.faults.server_error_share,
        ) {
            return FaultDecision::ServerError;
        }
        if method == "POST"
            && take_credit(
                &mut self.lost_response_credit,
                self.faults.lost_response_share,
            )
        {
            return FaultDecision::LostResponse;
        }
        FaultDecision::Pass
    }

    /// Counts a request of `client` at `now_ms` (milliseconds since the epoch) and says
    /// whether the throttle refuses it.
    fn throttles(&mut self, client: IpAddr, now_ms: u64) -> bool {
        let limit = self.faults.throttle_limit;
        if limit == 0 {
            return false;
        }
        let window_ms = match self.faults.throttle_window_ms {
            0 => THROTTLE_DEFAULT_WINDOW_MS,
            window_ms => window_ms,
        };
        let window = now_ms / window_ms;
        if window != self.throttle_window {
            self.throttle_window = window;
            self.throttle_counts.clear();
        }
        let count = self.throttle_counts.entry(client).or_insert(0);
        *count += 1;
        *count > limit
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}

/// The response an injected fault produces.
fn fault_response(decision: FaultDecision) -> Option<HttpResponse> {
    match decision {
        FaultDecision::Pass | FaultDecision::LostResponse => None,
        FaultDecision::Outage => Some(
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain; charset=utf-8")
                .body("Service Unavailable"),
        ),
        FaultDecision::RateLimited | FaultDecision::Throttled => Some(
            HttpResponse::TooManyRequests()
                .content_type("text/plain")
                .body("Retry later\n"),
        ),
        FaultDecision::ServerError => Some(
            HttpResponse::InternalServerError()
                .json(json!({ "status": 500, "error": "Internal Server Error" })),
        ),
    }
}

/// Middleware for Application API routes: applies latency and faults, then logs
/// the request (method, path, status, time).
pub async fn fault_and_log_middleware(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let received_at = chrono::Utc::now();
    let state = request
        .app_data::<web::Data<Arc<SimulatorState>>>()
        .map(|data| Arc::clone(data.get_ref()));
    let method = request.method().to_string();
    let path = request.path().to_owned();
    let query = request.query_string().to_owned();
    let Some(state) = state else {
        return next
            .call(request)
            .await
            .map(|response| response.map_into_boxed_body());
    };
    let (latency_ms, decision) = {
        let mut faults = lock(&state.faults);
        let client = request.peer_addr().map(|address| address.ip());
        (faults.faults.latency_ms, faults.decide(&method, client))
    };
    if latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(latency_ms)).await;
    }
    let response = match fault_response(decision) {
        Some(fault) => request.into_response(fault).map_into_boxed_body(),
        None if decision == FaultDecision::LostResponse => {
            // Carried out, answer lost on the way back.
            let handled = next.call(request).await?;
            handled
                .into_response(
                    HttpResponse::GatewayTimeout()
                        .content_type("text/html")
                        .body("<html><body><h1>504 Gateway Time-out</h1></body></html>"),
                )
                .map_into_boxed_body()
        }
        None => next.call(request).await?.map_into_boxed_body(),
    };
    state.log_request(RequestLogEntry {
        method,
        path,
        query,
        status: response.status().as_u16(),
        received_at,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        injected_fault: decision.label().map(str::to_owned),
    });
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_fail_an_exact_fraction_of_requests() {
        let mut state = FaultState::default();
        state.replace(Faults {
            server_error_share: 0.25,
            ..Faults::default()
        });
        let decisions: Vec<_> = (0..8).map(|_| state.decide("GET", None)).collect();
        let failures = decisions
            .iter()
            .filter(|decision| **decision == FaultDecision::ServerError)
            .count();
        assert_eq!(failures, 2);
        assert_eq!(decisions[3], FaultDecision::ServerError);
    }

    #[test]
    fn the_throttle_counts_per_client_in_fixed_windows_like_rack_attack() {
        let mut state = FaultState::default();
        state.replace(Faults {
            throttle_limit: 2,
            throttle_window_ms: 1_000,
            ..Faults::default()
        });
        let (one, two): (IpAddr, IpAddr) =
            ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        // Window 5 (5.000–5.999 s): two pass, the third and later are refused.
        assert!(!state.throttles(one, 5_000));
        assert!(!state.throttles(one, 5_500));
        assert!(state.throttles(one, 5_900));
        assert!(state.throttles(one, 5_999));
        // Another address has its own count.
        assert!(!state.throttles(two, 5_999));
        // The next window starts over, however close the last refusal was.
        assert!(!state.throttles(one, 6_000));
        assert!(!state.throttles(one, 6_001));
        assert!(state.throttles(one, 6_002));
    }

    #[test]
    fn outage_wins_over_everything() {
        let mut state = FaultState::default();
        state.replace(Faults {
            outage: true,
            rate_limit_share: 1.0,
            ..Faults::default()
        });
        assert_eq!(state.decide("GET", None), FaultDecision::Outage);
    }

    #[test]
    fn a_tenth_share_does_not_drift() {
        let mut state = FaultState::default();
        state.replace(Faults {
            rate_limit_share: 0.1,
            ..Faults::default()
        });
        let limited = (0..100)
            .filter(|_| state.decide("GET", None) == FaultDecision::RateLimited)
            .count();
        assert_eq!(limited, 10);
    }

    #[test]
    fn lost_answers_only_hit_writes() {
        let mut state = FaultState::default();
        state.replace(Faults {
            lost_response_share: 0.5,
            ..Faults::default()
        });
        assert_eq!(state.decide("GET", None), FaultDecision::Pass);
        assert_eq!(state.decide("GET", None), FaultDecision::Pass);
        let writes: Vec<_> = (0..4).map(|_| state.decide("POST", None)).collect();
        assert_eq!(
            writes
                .iter()
                .filter(|decision| **decision == FaultDecision::LostResponse)
                .count(),
            2
        );
    }
}
