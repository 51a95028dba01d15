//! [`Scrubber`]: keeps secrets out of texts that came from the outside (answers, library
//! errors) before they become part of an error.

use std::fmt;

use crate::RequestLabel;

/// Stands in for a secret wherever a text from the outside contains it.
pub const REDACTED: &str = "***";

/// How much of an answer body [`Scrubber::quote_answer_body`] quotes.
pub const QUOTED_ANSWER_MAX_BYTES: usize = 512;

/// Replaces each of the given secrets with [`REDACTED`] in any text. Empty secrets are
/// ignored (they would match everywhere).
#[derive(Debug, Clone)]
pub struct Scrubber<'a> {
    secrets: Vec<&'a str>,
}

impl<'a> Scrubber<'a> {
    pub fn new(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        Self {
            secrets: secrets
                .into_iter()
                .filter(|secret| !secret.is_empty())
                .collect(),
        }
    }

    /// The text with every secret replaced by [`REDACTED`].
    pub fn scrub(&self, text: &str) -> String {
        self.secrets.iter().fold(text.to_owned(), |text, secret| {
            text.replace(secret, REDACTED)
        })
    }

    /// The body, lossily decoded and scrubbed, then cut to at most `max_bytes` on a char
    /// boundary, with `cut_mark` appended when cut. Scrubbing comes first, so a cut never
    /// leaves the start of a secret behind.
    pub fn quote(&self, body: &[u8], max_bytes: usize, cut_mark: &str) -> String {
        let mut text = self.scrub(&String::from_utf8_lossy(body));
        if text.len() > max_bytes {
            let kept = ryze_domain::cut_on_char_boundary(&text, max_bytes).len();
            text.truncate(kept);
            text.push_str(cut_mark);
        }
        text
    }

    /// An answer body for an error text: scrubbed, cut to [`QUOTED_ANSWER_MAX_BYTES`]
    /// (`…` marks the cut), or `(empty body)` when there is nothing but blanks.
    pub fn quote_answer_body(&self, body: &[u8]) -> String {
        let text = self.quote(body, QUOTED_ANSWER_MAX_BYTES, "…");
        if text.trim().is_empty() {
            "(empty body)".to_owned()
        } else {
            text
        }
    }

    /// `unreadable answer to {label}: {problem}; body: {quoted body}`, scrubbed: a
    /// success whose body does not say what the peer's contract promises.
    pub fn unreadable_answer(
        &self,
        label: &RequestLabel,
        problem: &dyn fmt::Display,
        body: &[u8],
    ) -> String {
        format!(
            "unreadable answer to {}: {}; body: {}",
            self.scrub(&label.to_string()),
            self.scrub(&problem.to_string()),
            self.quote_answer_body(body)
        )
    }

    /// The request's URL, scrubbed.
    pub fn url(&self, label: &RequestLabel) -> String {
        self.scrub(label.url.as_str())
    }

    /// `{label}: {problem}`, scrubbed: the detail of an error about one request.
    pub fn detail(&self, label: &RequestLabel, problem: &dyn fmt::Display) -> String {
        self.scrub(&format!("{label}: {problem}"))
    }
}

#[cfg(test)]
mod tests {
    use reqwest::{Method, Url};

    use super::*;

    #[test]
    fn every_given_secret_is_replaced_and_empty_ones_are_ignored() {
        let scrubber = Scrubber::new(["secret-token", "", "other"]);
        assert_eq!(scrubber.scrub("x secret-token y other z"), "x *** y *** z");
        assert_eq!(Scrubber::new([""]).scrub("kept"), "kept");
    }

    #[test]
    fn quoted_bodies_are_scrubbed_before_being_cut_on_a_char_boundary() {
        let scrubber = Scrubber::new(["secret-token"]);
        let body = format!("{}é-secret-token", "a".repeat(9));
        assert_eq!(scrubber.quote(body.as_bytes(), 10, "…"), "aaaaaaaaa…");
        assert_eq!(scrubber.quote(body.as_bytes(), 10, ""), "aaaaaaaaa");
        assert_eq!(scrubber.quote(b"x secret-token y", 10, "…"), "x *** y");
        assert_eq!(scrubber.quote(b"", 10, "…"), "");
    }

    #[test]
    fn answer_bodies_are_quoted_scrubbed_and_cut_or_named_empty() {
        let scrubber = Scrubber::new(["secret-token"]);
        let long = "b".repeat(QUOTED_ANSWER_MAX_BYTES + 10);
        assert_eq!(
            scrubber.quote_answer_body(long.as_bytes()),
            format!("{}…", "b".repeat(QUOTED_ANSWER_MAX_BYTES))
        );
        assert_eq!(scrubber.quote_answer_body(b" \n "), "(empty body)");
        let label = RequestLabel {
            method: Method::POST,
            url: Url::parse("http://engine/v1/x").unwrap(),
            route: "POST /v1/x".to_owned(),
        };
        assert_eq!(
            scrubber.unreadable_answer(&label, &"no secret-token here", b"secret-token"),
            "unreadable answer to POST http://engine/v1/x: no *** here; body: ***"
        );
    }

    #[test]
    fn details_name_the_request_and_are_scrubbed() {
        let label = RequestLabel {
            method: Method::GET,
            url: Url::parse("https://cw.example/api/v1/profile?t=tok").unwrap(),
            route: "GET /api/v1/profile".to_owned(),
        };
        let scrubber = Scrubber::new(["tok"]);
        assert_eq!(
            scrubber.url(&label),
            "https://cw.example/api/v1/profile?t=***"
        );
        assert_eq!(
            scrubber.detail(&label, &"tok was refused"),
            "GET https://cw.example/api/v1/profile?t=***: *** was refused"
        );
    }
}
