//! The `ryze` binary's library half: settings, wiring of adapters to the application,
//! and the subcommands. `main.rs` only parses the command line and starts logging, so
//! the end-to-end tests can build the very same service in-process.
#![allow(clippy::print_stdout)]

pub mod commands;
#[cfg(feature = "demo")]
pub mod demo;
pub mod settings;
pub mod wiring;
