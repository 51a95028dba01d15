//! Authentication and rate limiting of the `/api` scopes (docs/contract.md §2), in one middleware that runs
//! before any handler (so no request body is read, nor decompressed, before the caller
//! is known): the token is resolved to its principal first, then counted.
//!
//! - Authenticated requests are counted per principal: 100 a minute by default, and
//!   instance creation 20 a minute on top (matched on the route the router picks, not
//!   the raw path, so `/api/instance/%6Eew` counts too).
//! - Requests without a token, and failed authentications, are counted per client
//!   address (per /64 for IPv6) under a tight limit (30 a minute by default); an address
//!   that has used it up is refused before its token is even looked up.
//! - The client address is the peer's, unless `trusted_proxy_hops` says how many
//!   reverse proxies append to `X-Forwarded-For` (off by default: a client could
//!   otherwise pick its own address).
//!
//! Every response carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
//! `X-RateLimit-Reset` (unix seconds) of the tightest policy that applied; over the
//! limit the answer is 429 with `Retry-After`.
//!
//! If the limiter itself fails, requests go through (logged): an outage of a shared
//! limiter must not take the API down with it.

use std::net::IpAddr;
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue, RETRY_AFTER};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage, ResponseError};
use chrono::Utc;
use ryze_api_use_cases::{AuthError, MessagingCaller};
use ryze_domain::Principal;
use ryze_ports::{OutageLatch, RateLimitDecision, RateLimitPolicy};

use crate::auth::presented_token;
use crate::body::refuse_request_encoding;
use crate::error_status::HttpStatus;
use crate::{ApiError, ApiState};

pub(crate) const RATE_LIMIT_EXCEEDED: &str = "Rate limit exceeded. Try again later.";

/// The route pattern of instance creation.
const INSTANCE_CREATION_ROUTE: &str = "/api/instance/new";

/// The policies in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    pub global: RateLimitPolicy,
    pub instance_creation: RateLimitPolicy,
    /// Requests without a token and failed authentications, per client address.
    pub unauthenticated: RateLimitPolicy,
    /// Reverse proxies in front of the API that append to `X-Forwarded-For`; 0 (the
    /// default) means the header is not read.
    pub trusted_proxy_hops: usize,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self::per_minute(100, 20)
    }
}

impl RateLimits {
    pub fn per_minute(global: u32, instance_creation: u32) -> Self {
        let minute = Duration::from_secs(60);
        Self {
            global: RateLimitPolicy {
                name: "global",
                limit: global,
                window: minute,
            },
            instance_creation: RateLimitPolicy {
                name: "instance-creation",
                limit: instance_creation,
                window: minute,
            },
            unauthenticated: RateLimitPolicy {
                name: "unauthenticated",
                limit: DEFAULT_UNAUTHENTICATED_PER_MINUTE,
                window: minute,
            },
            trusted_proxy_hops: 0,
        }
    }

    /// Requests without a valid token allowed per client address and minute.
    pub fn with_unauthenticated_per_minute(mut self, limit: u32) -> Self {
        self.unauthenticated.limit = limit;
        self
    }

    /// Reads the client address from `X-Forwarded-For`, `hops` entries from the right.
    pub fn trusting_proxy_hops(mut self, hops: usize) -> Self {
        self.trusted_proxy_hops = hops;
        self
    }
}

/// Default of [`RateLimits::unauthenticated`]: a person mistyping a token is not
/// bothered, a script guessing tokens is stopped within the first minute.
pub const DEFAULT_UNAUTHENTICATED_PER_MINUTE: u32 = 30;

/// The client's address: the peer's, or the one `hops` proxies put in
/// `X-Forwarded-For` (the `hops`-th entry from the right) when they are trusted.
fn client_address(request: &ServiceRequest, hops: usize) -> Option<IpAddr> {
    let peer = request.peer_addr().map(|address| address.ip());
    if hops == 0 {
        return peer;
    }
    let forwarded: Vec<&str> = request
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    forwarded
        .len()
        .checked_sub(hops)
        .and_then(|index| forwarded[index].parse().ok())
        .or(peer)
}

/// The limiter key of a client address: IPv4 as is, IPv6 by its /64 (one subscriber
/// usually holds a whole /64).
fn address_key(address: Option<IpAddr>) -> String {
    match address.map(|address| address.to_canonical()) {
        None => "addr:unknown".to_owned(),
        Some(IpAddr::V4(v4)) => format!("addr:{v4}"),
        Some(IpAddr::V6(v6)) => {
            let segments = v6.segments();
            format!(
                "addr:{:x}:{:x}:{:x}:{:x}::/64",
                segments[0], segments[1], segments[2], segments[3]
            )
        }
    }
}

fn principal_key(principal: &Principal) -> String {
    match principal {
        Principal::Account(account) => format!("account:{}", account.id.as_str()),
        Principal::Instance(instance) => format!("instance:{}", instance.id.as_str()),
    }
}

/// The route the router will pick for this request (its pattern), matched on the
/// percent-decoded path as the router does; `None` for paths no route serves.
fn matched_route(request: &ServiceRequest) -> Option<String> {
    request
        .resource_map()
        .match_pattern(request.match_info().as_str())
}

fn policies_for<'a>(
    method: &Method,
    route: Option<&str>,
    limits: &'a RateLimits,
) -> Vec<&'a RateLimitPolicy> {
    let mut policies = vec![&limits.global];
    if method == Method::POST && route == Some(INSTANCE_CREATION_ROUTE) {
        policies.push(&limits.instance_creation);
    }
    policies
}

fn set_headers(headers: &mut actix_web::http::header::HeaderMap, decision: &RateLimitDecision) {
    let pairs = [
        ("x-ratelimit-limit", decision.limit.to_string()),
        ("x-ratelimit-remaining", decision.remaining.to_string()),
        (
            "x-ratelimit-reset",
            decision.resets_at.timestamp().to_string(),
        ),
    ];
    for (name, value) in pairs {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
}

/// Whether the bridge (`BRIDGE_TOKEN`) may call the routes behind the middleware.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum BridgeCallers {
    /// The message endpoints: the bridge is let through, not rate limited.
    Allowed,
    Refused,
}

/// The middleware of the `/api` scope (`actix_web::middleware::from_fn`).
pub(crate) async fn enforce(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    authenticate_and_limit(request, next, BridgeCallers::Refused).await
}

/// The middleware of the message scopes: as [`enforce`], but the bridge goes through.
pub(crate) async fn enforce_unless_bridge(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    authenticate_and_limit(request, next, BridgeCallers::Allowed).await
}

/// Whether the limiter is failing, so that an outage is logged once when it starts and
/// once when it ends rather than once per request.
static LIMITER_OUTAGE: OutageLatch = OutageLatch::new();

/// Counts one request of `key` under each policy; the tightest decision.
async fn count(
    state: &ApiState,
    key: &str,
    policies: &[&RateLimitPolicy],
) -> Option<RateLimitDecision> {
    let mut governing: Option<RateLimitDecision> = None;
    for policy in policies {
        match state.rate_limiter.hit(key, policy).await {
            Ok(decision) => {
                if LIMITER_OUTAGE.answered() {
                    tracing::info!("rate limiter available again; counting requests");
                }
                let tighter = governing.as_ref().is_none_or(|current| {
                    !decision.allowed && current.allowed
                        || (decision.allowed == current.allowed
                            && decision.remaining < current.remaining)
                });
                if tighter {
                    governing = Some(decision);
                }
            }
            Err(error) => {
                if LIMITER_OUTAGE.failed() {
                    tracing::warn!(
                        error = %error,
                        "rate limiter unavailable; letting requests through until it answers again"
                    );
                }
            }
        }
    }
    governing
}

/// The answer to a request refused before its handler: `error`, or 429 when
/// `decision` refuses it; with the rate-limit headers of `decision`.
fn refuse(
    request: ServiceRequest,
    error: ApiError,
    decision: Option<&RateLimitDecision>,
) -> ServiceResponse<BoxBody> {
    let over_limit = decision.filter(|decision| !decision.allowed);
    let mut response = match over_limit {
        Some(_) => too_many_requests(),
        None => error,
    }
    .error_response();
    if let Some(decision) = decision {
        set_headers(response.headers_mut(), decision);
    }
    if let Some(decision) = over_limit {
        let wait = (decision.resets_at - Utc::now()).num_seconds().max(1);
        if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
            response.headers_mut().insert(RETRY_AFTER, value);
        }
    }
    request.into_response(response)
}

fn too_many_requests() -> ApiError {
    ApiError::new(StatusCode::TOO_MANY_REQUESTS, RATE_LIMIT_EXCEEDED)
}

async fn authenticate_and_limit(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
    bridge_callers: BridgeCallers,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(state) = request.app_data::<web::Data<ApiState>>().cloned() else {
        return next
            .call(request)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    // Compressed bodies are refused before anything else (they would be inflated
    // before the size limit could be checked).
    if let Err(error) = refuse_request_encoding(request.headers()) {
        return Ok(refuse(request, error, None));
    }
    let token = presented_token(request.headers())
        .filter(|token| !token.is_empty())
        .map(str::to_owned);
    if bridge_callers == BridgeCallers::Allowed
        && token
            .as_deref()
            .is_some_and(|token| crate::event_hub::is_bridge_token(&state, token))
    {
        request.extensions_mut().insert(MessagingCaller::Bridge);
        return next
            .call(request)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }

    let route = matched_route(&request);
    let limits = &state.rate_limits;
    let address = address_key(client_address(&request, limits.trusted_proxy_hops));
    let Some(token) = token else {
        let decision = count(&state, &address, &[&limits.unauthenticated]).await;
        if route.is_some() || decision.as_ref().is_some_and(|d| !d.allowed) {
            let missing = AuthError::MissingToken.into_api_error();
            return Ok(refuse(request, missing, decision.as_ref()));
        }
        // No route here: the 404 says so, with the headers.
        return pass(request, next, decision).await;
    };

    // An address that has used up its budget is refused before the token is looked up.
    if let Ok(Some(used_up)) = state
        .rate_limiter
        .peek(&address, &limits.unauthenticated)
        .await
    {
        if !used_up.allowed {
            return Ok(refuse(request, too_many_requests(), Some(&used_up)));
        }
    }
    let principal = match state.control_plane.authenticate(Some(&token)).await {
        Ok(principal) => principal,
        Err(error @ (AuthError::MissingToken | AuthError::InvalidToken)) => {
            let decision = count(&state, &address, &[&limits.unauthenticated]).await;
            return Ok(refuse(request, error.into_api_error(), decision.as_ref()));
        }
        Err(error @ AuthError::Store(_)) => {
            return Ok(refuse(request, error.into_api_error(), None));
        }
    };
    let policies = policies_for(request.method(), route.as_deref(), limits);
    let decision = count(&state, &principal_key(&principal), &policies).await;
    if decision.as_ref().is_some_and(|decision| !decision.allowed) {
        return Ok(refuse(request, too_many_requests(), decision.as_ref()));
    }
    request
        .extensions_mut()
        .insert(MessagingCaller::Token(principal));
    pass(request, next, decision).await
}

/// Calls the handler and adds the rate-limit headers of `decision` to its answer.
async fn pass(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
    decision: Option<RateLimitDecision>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let mut response = next.call(request).await?.map_into_boxed_body();
    if let Some(decision) = &decision {
        set_headers(response.headers_mut(), decision);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use actix_web::test::TestRequest;

    use super::*;

    fn request_from(peer: &str, forwarded_for: Option<&str>) -> ServiceRequest {
        let mut request =
            TestRequest::get().peer_addr(peer.parse::<SocketAddr>().expect("socket address"));
        if let Some(value) = forwarded_for {
            request = request.insert_header(("x-forwarded-for", value));
        }
        request.to_srv_request()
    }

    #[test]
    fn ipv6_clients_are_counted_per_64_and_ipv4_per_address() {
        let first = request_from("[2001:db8:1:2:aaaa::1]:5000", None);
        let second = request_from("[2001:db8:1:2:bbbb::2]:5000", None);
        let other = request_from("[2001:db8:1:3::1]:5000", None);
        let key = |request: &ServiceRequest| address_key(client_address(request, 0));
        assert_eq!(key(&first), "addr:2001:db8:1:2::/64");
        assert_eq!(key(&first), key(&second));
        assert_ne!(key(&first), key(&other));
        assert_eq!(key(&request_from("192.0.2.7:1", None)), "addr:192.0.2.7");
        assert_eq!(
            key(&request_from("[::ffff:192.0.2.7]:1", None)),
            "addr:192.0.2.7"
        );
    }

    #[test]
    fn x_forwarded_for_is_read_only_behind_a_trusted_proxy() {
        let request = request_from("10.0.0.5:4000", Some("198.51.100.9, 203.0.113.4"));
        assert_eq!(
            address_key(client_address(&request, 0)),
            "addr:10.0.0.5",
            "off by default: the client would pick its own address"
        );
        assert_eq!(address_key(client_address(&request, 1)), "addr:203.0.113.4");
        assert_eq!(
            address_key(client_address(&request, 2)),
            "addr:198.51.100.9"
        );
        assert_eq!(
            address_key(client_address(&request, 3)),
            "addr:10.0.0.5",
            "fewer entries than proxies: the peer"
        );
    }
}
