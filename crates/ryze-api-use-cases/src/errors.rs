//! Message texts shared by several operations' errors.

/// The API has no bridge configured (seed error table, 503).
pub const GATEWAY_NOT_CONFIGURED: &str =
    "integration gateway not configured (set BRIDGE_URL and BRIDGE_TOKEN)";

/// Prefix of every message for a failure of our own (database, randomness).
pub const INTERNAL_ERROR_PREFIX: &str = "internal error";
