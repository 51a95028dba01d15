//! Finds the Redis that the rate limiter tests use through `TEST_REDIS_URL`.
//!
//! The URL is `TEST_REDIS_URL` from the environment, or `redis://127.0.0.1:6379`. xtask
//! checks that a Redis answers there (a TCP connect and a `PING`), as
//! [`crate::service`] does for every service: in CI (`CI=true`) a Redis that does not
//! answer fails the run; locally the run goes on and the Redis tests say they are
//! skipped.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;

use anyhow::Result;

use crate::service::{self, Service, ServiceSpec};

/// The environment variable the Redis tests read.
pub(crate) const TEST_REDIS_URL: &str = "TEST_REDIS_URL";

/// Redis, as xtask finds it.
const REDIS: ServiceSpec = ServiceSpec {
    name: "Redis",
    variable: TEST_REDIS_URL,
    default_url: "redis://127.0.0.1:6379",
    schemes: &[("redis", false), ("rediss", true)],
    default_port: 6379,
    local_hint: "start one, e.g. `apt-get install redis-server`",
    ci_hint: "provide a server (e.g. a `redis` service container) and set \
              TEST_REDIS_URL=redis://HOST:PORT.",
    probe: ping,
};

/// Finds the tests' Redis and checks that it answers; in CI, fails when it does not.
pub(crate) fn provide() -> Result<Service> {
    service::provide(&REDIS)
}

/// Sends `PING`; what Redis answered, or why this is not Redis.
fn ping(stream: &mut TcpStream) -> Result<String, String> {
    let no_answer = |error: std::io::Error| format!("no answer to PING ({error})");
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
            assert_eq!(
                service::host_and_port(url, REDIS.schemes, REDIS.default_port),
                expected,
                "{url}"
            );
        }
    }
}
