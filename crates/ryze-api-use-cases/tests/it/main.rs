//! Use-case tests of the API against mockall doubles of the ports.
//!
//! One test binary for the crate (one link instead of one per file); each module is a
//! former test file.

#![allow(clippy::unwrap_used)]

mod event_hub;
mod messaging;
mod pending_teardowns;
mod use_cases;
