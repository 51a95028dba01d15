//! The one error type every domain constructor returns when a value breaks a rule.

/// Why a value was refused. The text is written for the person who sent the value:
/// it says what is wrong and what would be accepted. It never repeats a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct InvalidValue {
    reason: String,
}

impl InvalidValue {
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }

    pub fn reason(&self) -> &str {
        &self.reason
    }
}
