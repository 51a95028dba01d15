//! Finds the Redis that the rate limiter tests use through `TEST_REDIS_URL`.
//!
//! The URL is `TEST_REDIS_URL` from the environment, or `redis://127.0.0.1:6379`. xtask
//! checks that a Redis answers there (a TCP connect and a `PING`). In CI (`CI=true`) a
//! Redis that does not answer fails the run, as a missing PostgreSQL does; locally the
//! run goes on and the Redis tests say they are skipped.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{bail, Result};

use crate::util;

/// The environment variable the Redis tests read.
pub(crate) const TEST_REDIS_URL: &str = "TEST_REDIS_URL";
/// The tests' Redis when `TEST_REDIS_URL` is not set.
const DEFAULT_TEST_REDIS_URL: &str = "redis://127.0.0.1:6379";
/// Redis's port when the URL names none.
const DEFAULT_PORT: u16 = 6379;

/// The Redis the tests use.
pub(crate) struct Redis {
    /// The URL exported as `TEST_REDIS_URL`.
    pub url: String,
    /// One line for humans saying which server this is and whether it answers (no
    /// password).
    pub description: String,
}

/// Finds the tests' Redis and checks that it answers; in CI, fails when it does not.
pub(crate) fn provide() -> Result<Redis> {
    let from_environment = std::env::var(TEST_REDIS_URL)
        .ok()
        .filter(|url| !url.trim().is_empty());
    let origin = if from_environment.is_some() {
        format!("{TEST_REDIS_URL} from the environment")
    } else {
        "default".to_owned()
    };
    let url = from_environment.unwrap_or_else(|| DEFAULT_TEST_REDIS_URL.to_owned());
    let shown = util::redact_connection_string(&url);
    match probe(&url) {
        Ok(answer) => Ok(Redis {
            description: format!("{origin} ({shown}): {answer}"),
            url,
        }),
        Err(reason) if util::is_ci() => bail!(
            "no Redis for the tests: {reason} at {shown} ({origin}).\n\
             CI=true: the Redis tests are never skipped in CI; provide a server (e.g. a `redis` \
             service container) and set {TEST_REDIS_URL}=redis://HOST:PORT."
        ),
        Err(reason) => {
            eprintln!(
                "xtask: note: {reason} at {shown} ({origin}); the Redis tests will say they are \
                 skipped (start one, e.g. `apt-get install redis-server`, or set {TEST_REDIS_URL})"
            );
            Ok(Redis {
                description: format!("{origin} ({shown}): not answering, Redis tests skipped"),
                url,
            })
        }
    }
}

/// Connects to the Redis of `url` and sends `PING`; what it answered, or why not.
fn probe(url: &str) -> Result<String, String> {
    let (host, port, tls) = host_and_port(url).ok_or("not a redis:// or rediss:// URL")?;
    let address = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|error| format!("cannot resolve {host}: {error}"))?
        .next()
        .ok_or_else(|| format!("{host} has no address"))?;
    let timeout = Duration::from_millis(500);
    let mut stream = TcpStream::connect_timeout(&address, timeout)
        .map_err(|error| format!("nothing answers ({error})"))?;
    if tls {
        return Ok("answers (TCP check only: TLS)".to_owned());
    }
    let no_answer = |error: std::io::Error| format!("no answer to PING ({error})");
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .map_err(no_answer)?;
    stream.write_all(b"PING\r\n").map_err(no_answer)?;
    let mut line = String::new();
    BufReader::new(stream)
        .read_line(&mut line)
        .map_err(no_answer)?;
    match line.trim_end() {
        "+PONG" => Ok("answers PING".to_owned()),
        // A Redis that wants a password: the tests log in with the URL's.
        reply if reply.starts_with("-NOAUTH") => Ok("answers (asks for a password)".to_owned()),
        reply => Err(format!("something that is not Redis answers ({reply:?})")),
    }
}

/// The host, port and whether TLS is used, of a `redis://` or `rediss://` URL.
fn host_and_port(url: &str) -> Option<(String, u16, bool)> {
    let (rest, tls) = if let Some(rest) = url.strip_prefix("redis://") {
        (rest, false)
    } else {
        (url.strip_prefix("rediss://")?, true)
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, after)| after);
    let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']')?;
        (host, after.strip_prefix(':'))
    } else {
        match host_port.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    let port = match port {
        Some(port) => port.parse().ok()?,
        None => DEFAULT_PORT,
    };
    let host = if host.is_empty() { "127.0.0.1" } else { host };
    Some((host.to_owned(), port, tls))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port_reads_the_forms_of_redis_urls() {
        let cases = [
            ("redis://127.0.0.1:6379", Some(("127.0.0.1", 6379, false))),
            ("redis://cache", Some(("cache", 6379, false))),
            ("redis://:secret@cache:6380/2", Some(("cache", 6380, false))),
            ("redis://user:p@ss@cache:7000", Some(("cache", 7000, false))),
            ("rediss://[::1]:6390", Some(("::1", 6390, true))),
            ("redis://[::1]", Some(("::1", 6379, false))),
            ("http://cache:6379", None),
            ("redis://cache:port", None),
        ];
        for (url, expected) in cases {
            let expected = expected.map(|(host, port, tls)| (host.to_owned(), port, tls));
            assert_eq!(host_and_port(url), expected, "{url}");
        }
    }

    #[test]
    fn probe_says_when_nothing_answers() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let reason = probe(&format!("redis://127.0.0.1:{port}")).unwrap_err();
        assert!(reason.starts_with("nothing answers"), "{reason}");
    }
}
