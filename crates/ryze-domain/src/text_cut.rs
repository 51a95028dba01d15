//! Cutting text to a number of bytes without splitting a character: for log fields,
//! quoted answers and error texts whose size must be bounded.

/// `text` cut to at most `max_bytes` bytes, on a character boundary (the whole of it
/// when it fits).
pub fn cut_on_char_boundary(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cut_before_a_character_that_does_not_fit() {
        assert_eq!(cut_on_char_boundary("abc", 5), "abc");
        assert_eq!(cut_on_char_boundary("abc", 2), "ab");
        // "é" is two bytes: cutting in its middle keeps what comes before it.
        assert_eq!(cut_on_char_boundary("aé", 2), "a");
        assert_eq!(cut_on_char_boundary("é", 1), "");
    }
}
