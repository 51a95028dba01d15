//! PostgreSQL-only tests, beside the shared contract suite (`tests/contract.rs`): what
//! the ports cannot show (migrations, corrupt rows, an unreachable server) and
//! connecting over TLS by `sslmode`.
#![allow(clippy::unwrap_used)]

mod postgres_specifics;
mod tls;
