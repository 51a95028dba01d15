//! The `ryze` binary's library half: settings, wiring of adapters to the application,
//! and the subcommands. `main.rs` only parses the command line and starts logging, so
//! the end-to-end tests can build the very same service in-process.
#![allow(clippy::print_stdout)]

pub mod commands;
#[cfg(feature = "demo")]
pub mod demo;
pub mod settings;
pub mod telemetry;
pub mod wiring;

/// What `ryze demo` answers in a build without the `demo` feature, such as the
/// production build (`cargo build --release -p ryze --no-default-features`, see
/// `docs/configuration.md`), which links no simulator.
pub const DEMO_NOT_IN_THIS_BUILD: &str = "`ryze demo` is not in this build: it was built \
     without the `demo` feature, as the production build (`cargo build --release -p ryze \
     --no-default-features`) is, which leaves the Chatwoot and WhatsApp engine simulators \
     out. Run the demo from a checkout with `cargo run --release -p ryze -- demo` (the \
     default features include `demo`).";
