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
    /// The request's route template for the metrics: the method and the path under the
    /// service's base URL, every id replaced by a placeholder
    /// (`POST /v1/instances/{instanceId}/messages/text`). Never the URL itself: no host,
    /// no id, no query.
    pub route: String,
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
            route: "POST /v1/integrations/activate".to_owned(),
        };
        assert_eq!(
            label.to_string(),
            "POST http://bridge:8080/v1/integrations/activate"
        );
    }
}
