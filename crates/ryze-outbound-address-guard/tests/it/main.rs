//! Tests of the outbound-address guard: address checks, URL checks and the guarded client.
//!
//! One test binary for the crate (one link instead of one per file); each module is a
//! former test file.

#![allow(clippy::unwrap_used)]

mod check_ip;
mod check_url;
mod client;
