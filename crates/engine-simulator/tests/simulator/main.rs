//! Behaviour of the engine simulator as its users see it: the command endpoints the API
//! calls, the publisher that delivers events into the API, the scripting API's events
//! checked against the contract's types and rules, echoes, and the binary.
#![allow(clippy::unwrap_used)]

mod cli;
mod commands;
mod common;
mod echo;
mod publisher;
mod scripting;
