//! [`RequestLabel`]: how error texts and log lines name one request.

use std::fmt;

use reqwest::{Method, Url};

/// One request, named in error texts as `POST https://host/api/v1/things`. Its URL must
/// hold no credentials: callers refuse them in their settings and send secrets in
/// headers.
#[derive(Debug, Clone)]
pub struct RequestLabel {
    pub method: Method,
    pub url: Url,
}

impl fmt::Display for RequestLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_is_the_method_then_the_url() {
        let label = RequestLabel {
            method: Method::POST,
            url: Url::parse("http://bridge:8080/v1/integrations/activate").unwrap(),
        };
        assert_eq!(
            label.to_string(),
            "POST http://bridge:8080/v1/integrations/activate"
        );
    }
}
