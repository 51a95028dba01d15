//! Rate limiting of the `/api` scope (docs/contract.md §2): counted per token (its hash), or
//! per client address when no token is sent; 100 requests a minute by default, and
//! instance creation 20 a minute on top. Every response carries `X-RateLimit-Limit`,
//! `X-RateLimit-Remaining` and `X-RateLimit-Reset` (unix seconds) of the tightest policy
//! that applied; over the limit the answer is 429 with `Retry-After`.
//!
//! If the limiter itself fails, requests go through (logged): an outage of a shared
//! limiter must not take the API down with it.

use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue, RETRY_AFTER};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, Error, ResponseError};
use chrono::Utc;
use ryze_domain::TokenHash;
use ryze_ports::{RateLimitDecision, RateLimitPolicy};

use crate::auth::presented_token;
use crate::{ApiError, ApiState};

pub(crate) const RATE_LIMIT_EXCEEDED: &str = "Rate limit exceeded. Try again later.";

/// The policies in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    pub global: RateLimitPolicy,
    pub instance_creation: RateLimitPolicy,
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
        }
    }
}

fn limiter_key(request: &ServiceRequest) -> String {
    match presented_token(request.headers()).filter(|token| !token.is_empty()) {
        Some(token) => format!("token:{}", TokenHash::of(token).as_str()),
        None => format!(
            "addr:{}",
            request
                .peer_addr()
                .map_or_else(|| "unknown".to_owned(), |addr| addr.ip().to_string())
        ),
    }
}

fn policies_for<'a>(request: &ServiceRequest, limits: &'a RateLimits) -> Vec<&'a RateLimitPolicy> {
    let mut policies = vec![&limits.global];
    if request.method() == Method::POST && request.path() == "/api/instance/new" {
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

/// The middleware (`actix_web::middleware::from_fn`).
pub(crate) async fn enforce(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(state) = request.app_data::<web::Data<ApiState>>().cloned() else {
        return next
            .call(request)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let key = limiter_key(&request);
    let mut governing: Option<RateLimitDecision> = None;
    for policy in policies_for(&request, &state.rate_limits) {
        match state.rate_limiter.hit(&key, policy).await {
            Ok(decision) => {
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
                tracing::warn!(error = %error, "rate limiter unavailable; letting the request through");
            }
        }
    }

    if let Some(decision) = governing.as_ref().filter(|decision| !decision.allowed) {
        let mut response =
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, RATE_LIMIT_EXCEEDED).error_response();
        set_headers(response.headers_mut(), decision);
        let wait = (decision.resets_at - Utc::now()).num_seconds().max(1);
        if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
            response.headers_mut().insert(RETRY_AFTER, value);
        }
        return Ok(request.into_response(response));
    }

    let mut response = next.call(request).await?.map_into_boxed_body();
    if let Some(decision) = &governing {
        set_headers(response.headers_mut(), decision);
    }
    Ok(response)
}
