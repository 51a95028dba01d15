//! End-to-end tests of the Chatwoot simulator over HTTP: every endpoint's
//! success body against the vendored OpenAPI schema, every error path with its
//! exact status and body, webhook delivery (payload, headers, signature),
//! fault injection and the request log.
#![allow(clippy::unwrap_used)]

mod api_endpoints;
mod common;
mod control_api;
mod error_paths;
mod swagger;
mod webhook_delivery;
