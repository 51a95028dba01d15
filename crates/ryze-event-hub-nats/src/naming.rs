//! Names on the NATS server: the streams, the object store bucket and the subjects, all
//! under one prefix so several deployments (or tests) share a server without meeting.
//!
//! An instance id becomes one subject token: itself when it is made of letters, digits,
//! `_` and `-` only (every `ins_…` id), else `=` and its bytes in hex, so no id can
//! break out of its token (`.`, `*`, `>`, spaces) and two ids never share a token. An
//! event id becomes the hex SHA-256 of its bytes (fixed length, any content).

use ring::digest::{digest, SHA256};
use ryze_domain::InstanceId;

/// Whether `prefix` can name streams and subjects: 1 to 32 letters, digits, `_` or `-`.
pub(crate) fn is_valid_prefix(prefix: &str) -> bool {
    !prefix.is_empty()
        && prefix.len() <= 32
        && prefix
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-')
}

/// The subject token of an instance.
pub(crate) fn instance_token(instance_id: &InstanceId) -> String {
    let id = instance_id.as_str();
    let plain = !id.is_empty()
        && id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-');
    if plain {
        id.to_owned()
    } else {
        format!("={}", hex::encode(id.as_bytes()))
    }
}

/// The fixed-length token of an event id.
pub(crate) fn event_id_token(event_id: &str) -> String {
    hex::encode(digest(&SHA256, event_id.as_bytes()))
}

/// Every name the hub uses on the server, derived from the prefix.
#[derive(Debug, Clone)]
pub(crate) struct Names {
    prefix: String,
}

impl Names {
    pub(crate) fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }

    /// The stream of the events: one subject per instance.
    pub(crate) fn events_stream(&self) -> String {
        format!("{}_hub_events", self.prefix)
    }

    /// The stream of each instance's cursor and remembered event ids (one message per
    /// subject, like a key-value bucket).
    pub(crate) fn state_stream(&self) -> String {
        format!("{}_hub_state", self.prefix)
    }

    /// The object store bucket of the payloads too large for one message.
    pub(crate) fn payload_bucket(&self) -> String {
        format!("{}_hub_payloads", self.prefix)
    }

    pub(crate) fn events_subjects(&self) -> String {
        format!("{}.hub.events.*", self.prefix)
    }

    pub(crate) fn state_subjects(&self) -> [String; 2] {
        [
            format!("{}.hub.cursor.*", self.prefix),
            format!("{}.hub.ids.*.*", self.prefix),
        ]
    }

    pub(crate) fn events_subject(&self, instance: &str) -> String {
        format!("{}.hub.events.{instance}", self.prefix)
    }

    pub(crate) fn cursor_subject(&self, instance: &str) -> String {
        format!("{}.hub.cursor.{instance}", self.prefix)
    }

    pub(crate) fn ids_subject(&self, instance: &str, event_id: &str) -> String {
        format!("{}.hub.ids.{instance}.{event_id}", self.prefix)
    }

    /// Every remembered id of an instance.
    pub(crate) fn ids_of_instance(&self, instance: &str) -> String {
        format!("{}.hub.ids.{instance}.*", self.prefix)
    }

    /// Where appends are announced (core NATS, not stored).
    pub(crate) fn announcements_subject(&self) -> String {
        format!("{}.hub.announcements", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_tokens_never_break_out_of_their_subject_token() {
        assert_eq!(instance_token(&InstanceId::new("ins_AbC-1")), "ins_AbC-1");
        for hostile in ["a.b", "a*", ">", "a b", "", "ins_é"] {
            let token = instance_token(&InstanceId::new(hostile));
            assert!(token.starts_with('='), "{hostile}: {token}");
            assert!(token[1..].bytes().all(|byte| byte.is_ascii_hexdigit()));
        }
        // An id that looks like an encoded one is still told apart.
        assert_ne!(
            instance_token(&InstanceId::new("=6162")),
            instance_token(&InstanceId::new("ab"))
        );
    }

    #[test]
    fn event_id_tokens_have_a_fixed_length() {
        assert_eq!(event_id_token("wamid-1").len(), 64);
        assert_ne!(event_id_token("a"), event_id_token("b"));
        assert_eq!(event_id_token(&"x".repeat(10_000)).len(), 64);
    }

    #[test]
    fn prefixes_are_checked() {
        assert!(is_valid_prefix("ryze"));
        assert!(is_valid_prefix("t_0f3a-b"));
        for bad in ["", "a.b", "a b", "a*", &"x".repeat(33)] {
            assert!(!is_valid_prefix(bad), "{bad}");
        }
    }
}
