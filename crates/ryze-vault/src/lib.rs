//! The secret vault: AES-256-GCM (ring) over secrets at rest, each ciphertext bound to
//! its owner, under master keys that can rotate.
//!
//! - [`MasterKey`]: 32 random bytes, parsed from configuration (64 hex characters or
//!   base64). Its [`KeyId`](ryze_domain::KeyId) is derived from the key itself, so key ids
//!   need no configuration.
//! - [`KeyRing`]: the current key, which seals, and previous keys, which still open.
//! - [`AesGcmVault`]: the [`SecretVault`](ryze_ports::SecretVault) implementation.
//! - [`KeyFile`]: the key file of the embedded (single-node) setup, created on first run.
//!
//! No key and no plaintext ever reaches a `Debug`/`Display` output, an error or a log line.

mod aes_gcm_vault;
mod key_file;
mod key_ring;
mod master_key;

pub use aes_gcm_vault::AesGcmVault;
pub use key_file::{KeyFile, KeyFileError, KeyFileOutcome};
pub use key_ring::KeyRing;
pub use master_key::{KeyParseError, KeyParseProblem, KeyRole, MasterKey, RandomnessUnavailable};
