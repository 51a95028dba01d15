//! WhatsApp-like message ids: uppercase hex, unique enough that two runs of a test suite
//! never collide, and the check the command endpoints apply to a command's `id`
//! (docs/engine-contract.md §5: uppercase hex, 16 to 32 characters).

/// Fewest characters of a message id a command may carry.
pub const MESSAGE_ID_MIN_CHARS: usize = 16;
/// Most characters of a message id a command may carry.
pub const MESSAGE_ID_MAX_CHARS: usize = 32;

/// `count` random uppercase hex digits.
fn random_hex(count: usize) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    (0..count)
        .map(|_| char::from(DIGITS[usize::from(rand::random::<u8>() & 0x0F)]))
        .collect()
}

/// An id in whatsmeow's `GenerateMessageID` format (`3EB0` + 18 hex digits), what an
/// engine gives the messages it sends for the API.
pub fn engine_message_id() -> String {
    format!("3EB0{}", random_hex(18))
}

/// An id like the ones phones give their messages (`3A` + 18 hex digits, as WhatsApp
/// for iPhone does), for scripted incoming messages and messages typed on the phone.
pub fn phone_message_id() -> String {
    format!("3A{}", random_hex(18))
}

/// A random group id (`1203630` + 11 digits), without the `@g.us` server.
pub fn group_id() -> String {
    let digits: String = (0..11)
        .map(|_| char::from(b'0' + rand::random::<u8>() % 10))
        .collect();
    format!("1203630{digits}")
}

/// Whether `id` may be given to a new message: uppercase hex, 16 to 32 characters.
pub fn is_valid_message_id(id: &str) -> bool {
    (MESSAGE_ID_MIN_CHARS..=MESSAGE_ID_MAX_CHARS).contains(&id.len())
        && id
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'A'..=b'F').contains(&byte))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn generated_ids_have_the_documented_shapes_and_do_not_repeat() {
        let engine: HashSet<String> = (0..1000).map(|_| engine_message_id()).collect();
        assert_eq!(engine.len(), 1000);
        for id in &engine {
            assert!(id.starts_with("3EB0") && id.len() == 22, "{id}");
            assert!(is_valid_message_id(id), "{id}");
        }
        let phone = phone_message_id();
        assert!(phone.starts_with("3A") && phone.len() == 20);
        assert!(is_valid_message_id(&phone));
        let group = group_id();
        assert_eq!(group.len(), 18);
        assert!(group.bytes().all(|byte| byte.is_ascii_digit()));
    }

    #[test]
    fn command_ids_must_be_uppercase_hex_of_16_to_32_characters() {
        assert!(is_valid_message_id("3EB0F1E2D3C4B5A6978877"));
        assert!(is_valid_message_id(&"A".repeat(16)));
        assert!(is_valid_message_id(&"0".repeat(32)));
        assert!(!is_valid_message_id(&"A".repeat(15)));
        assert!(!is_valid_message_id(&"A".repeat(33)));
        assert!(!is_valid_message_id("3eb0f1e2d3c4b5a6978877"));
        assert!(!is_valid_message_id("3EB0F1E2D3C4B5A697887G"));
    }
}
