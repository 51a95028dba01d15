//! Why a request got no answer, in plain words: connect timeout, overall timeout,
//! refused, reset, or the innermost cause reqwest reports (DNS, TLS, …).

use std::io;
use std::time::Duration;

/// The two time budgets of a client, named in timeout texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// How long connecting may take.
    pub connect: Duration,
    /// How long a whole request may take, from connecting to the last byte of the answer.
    pub request: Duration,
}

impl Timeouts {
    /// The budgets for connecting and for a whole request.
    pub fn new(connect: Duration, request: Duration) -> Self {
        Self { connect, request }
    }
}

/// Why the request failed before an answer was read: `connection timed out after 5s`,
/// `timed out after 30s`, `connection refused`, `could not connect: <cause>`, or the
/// innermost cause. `peer` names who resets a connection (`connection reset by {peer}`).
pub fn transport_failure_reason(error: &reqwest::Error, timeouts: Timeouts, peer: &str) -> String {
    if error.is_timeout() && error.is_connect() {
        format!(
            "connection timed out after {}",
            readable_duration(timeouts.connect)
        )
    } else if error.is_timeout() {
        format!("timed out after {}", readable_duration(timeouts.request))
    } else {
        let cause = root_cause(error, peer);
        if error.is_connect() && cause != "connection refused" {
            format!("could not connect: {cause}")
        } else {
            cause
        }
    }
}

/// The innermost cause, with the common socket failures in plain words
/// (`connection refused`, `connection reset by {peer}`).
pub fn root_cause(error: &reqwest::Error, peer: &str) -> String {
    let mut innermost: &dyn std::error::Error = error;
    while let Some(source) = innermost.source() {
        if let Some(io_error) = source.downcast_ref::<io::Error>() {
            match io_error.kind() {
                io::ErrorKind::ConnectionRefused => return "connection refused".to_owned(),
                io::ErrorKind::ConnectionReset => return format!("connection reset by {peer}"),
                _ => {}
            }
        }
        innermost = source;
    }
    innermost.to_string()
}

/// `15s` for whole seconds, `250ms` / `1500ms` otherwise.
pub fn readable_duration(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(readable_duration(Duration::from_secs(15)), "15s");
        assert_eq!(readable_duration(Duration::from_secs(60)), "60s");
        assert_eq!(readable_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(readable_duration(Duration::from_millis(1500)), "1500ms");
    }

    #[tokio::test]
    async fn a_refused_connection_reads_as_such() {
        // A port that was just free: nothing listens there any more.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let error = reqwest::get(format!("http://127.0.0.1:{port}/"))
            .await
            .unwrap_err();
        let timeouts = Timeouts {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(30),
        };
        assert_eq!(
            transport_failure_reason(&error, timeouts, "the peer"),
            "connection refused"
        );
    }
}
