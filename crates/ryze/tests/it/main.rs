//! End-to-end tests of the `ryze` binary's wiring: the API, the bridge and both simulators over loopback.
//!
//! One test binary for the crate (one link instead of one per file); each module is a
//! former test file.

#![allow(clippy::unwrap_used)]

mod bridge_provisioning;
mod call_notices;
mod chat_state;
mod chatwoot_calls;
mod chatwoot_module;
mod chatwoot_pacing_nodes;
mod cli;
mod deploy;
mod deploy_dashboard;
mod event_hub;
mod event_hub_nodes;
mod healthcheck;
mod instances;
mod key_rotation;
mod messages;
mod outbound;
mod outbound_crash;
mod rate_limit_nodes;
mod relay;
mod relay_crash;
mod relay_metrics;
mod several_nodes;
mod status_contact;
mod support;
mod tenant_isolation;
mod traces;
