//! WhatsApp message ids the bridge gives the messages it sends (engine contract §5:
//! uppercase hex, whatsmeow's `3EB0` + 18 hex digits).
//!
//! The id of an agent's message is drawn at random once and recorded in its link before
//! the first send. An agent's message with several attachments becomes several WhatsApp
//! messages; the ids of the second and later ones are *derived* from the first (SHA-256
//! of the first id and the part's position), so a retry after a crash finds the same ids
//! again without having to remember them, and the engine, which remembers the ids it sent,
//! does not send a part twice.

use ring::digest::{digest, SHA256};
pub use ryze_random::RandomnessUnavailable;

/// The prefix whatsmeow's `GenerateMessageID` uses.
const PREFIX: &str = "3EB0";
/// Random (or derived) bytes after the prefix: 9 bytes, 18 hex digits.
const BODY_BYTES: usize = 9;

fn upper_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02X}")).collect()
}

/// A fresh id: `3EB0` and 18 random uppercase hex digits.
pub fn new_whatsapp_id() -> Result<String, RandomnessUnavailable> {
    let bytes: [u8; BODY_BYTES] = ryze_random::random_bytes()?;
    Ok(format!("{PREFIX}{}", upper_hex(&bytes)))
}

/// The id of part `position` (1 for the second WhatsApp message, …) of the agent's
/// message whose first part has `first_id`. Part 0 is `first_id` itself.
pub fn part_id(first_id: &str, position: usize) -> String {
    if position == 0 {
        return first_id.to_owned();
    }
    let hash = digest(&SHA256, format!("{first_id}:part:{position}").as_bytes());
    format!("{PREFIX}{}", upper_hex(&hash.as_ref()[..BODY_BYTES]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_engine_id(id: &str) -> bool {
        id.len() == 22
            && id.starts_with("3EB0")
            && id
                .chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
            && id.chars().all(|c| c.is_ascii_hexdigit())
    }

    #[test]
    fn fresh_ids_have_the_engines_format_and_differ() {
        let first = new_whatsapp_id().unwrap();
        let second = new_whatsapp_id().unwrap();
        assert!(is_engine_id(&first), "{first}");
        assert_ne!(first, second);
    }

    #[test]
    fn part_ids_are_stable_distinct_and_well_formed() {
        let first = "3EB0A1B2C3D4E5F6A7B8C9";
        assert_eq!(part_id(first, 0), first);
        assert_eq!(
            part_id(first, 1),
            part_id(first, 1),
            "a retry finds the same id"
        );
        assert_ne!(part_id(first, 1), part_id(first, 2));
        assert_ne!(part_id(first, 1), part_id("3EB0000000000000000000", 1));
        assert!(is_engine_id(&part_id(first, 3)));
    }
}
