//! Keeps the bridge token out of every text this crate produces from what the network
//! said (error bodies, close reasons, I/O errors), in case a peer echoes it.

use secrecy::{ExposeSecret, SecretString};

/// Replaces the bridge token in texts. `Debug` does not show it.
#[derive(Debug, Clone)]
pub(crate) struct Redactor {
    token: SecretString,
}

const REDACTED: &str = "[redacted]";

impl Redactor {
    pub(crate) fn new(token: SecretString) -> Self {
        Self { token }
    }

    pub(crate) fn redact(&self, text: &str) -> String {
        let token = self.token.expose_secret();
        if token.is_empty() {
            return text.to_owned();
        }
        text.replace(token, REDACTED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_every_occurrence_of_the_token() {
        let redactor = Redactor::new(SecretString::from("tok-123".to_owned()));
        assert_eq!(
            redactor.redact("Bearer tok-123 and tok-123"),
            "Bearer [redacted] and [redacted]"
        );
        assert_eq!(redactor.redact("nothing here"), "nothing here");
    }
}
