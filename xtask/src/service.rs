//! Finds a network service the tests use (Redis, NATS): its URL comes from an
//! environment variable or a default, and xtask checks that the service answers there
//! (a TCP connect and a short exchange the service's own probe defines). In CI
//! (`CI=true`) a service that does not answer fails the run, as a missing PostgreSQL
//! does; locally the run goes on and the service's tests say they are skipped (or fail,
//! naming what to start).

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{bail, Result};

use crate::util;

/// What xtask knows of one service.
pub(crate) struct ServiceSpec {
    /// Its name for humans (`Redis`, `NATS`).
    pub name: &'static str,
    /// The environment variable the tests read (`TEST_REDIS_URL`).
    pub variable: &'static str,
    /// The URL when the variable is not set.
    pub default_url: &'static str,
    /// The URL schemes it takes, each with whether it means TLS.
    pub schemes: &'static [(&'static str, bool)],
    /// The port when the URL names none.
    pub default_port: u16,
    /// How to get one locally, for the note shown when it does not answer.
    pub local_hint: &'static str,
    /// How to provide one in CI, for the error shown when it does not answer there.
    pub ci_hint: &'static str,
    /// Talks to a connected plain-text server: what it answered, or why it is not the
    /// service (a read timeout is already set).
    pub probe: fn(&mut TcpStream) -> Result<String, String>,
}

/// The service the tests use.
pub(crate) struct Service {
    /// The URL to export as [`ServiceSpec::variable`].
    pub url: String,
    /// One line for humans saying which server this is and whether it answers (no
    /// password).
    pub description: String,
}

/// Finds the tests' service and checks that it answers; in CI, fails when it does not.
pub(crate) fn provide(spec: &ServiceSpec) -> Result<Service> {
    let from_environment = std::env::var(spec.variable)
        .ok()
        .filter(|url| !url.trim().is_empty());
    let origin = if from_environment.is_some() {
        format!("{} from the environment", spec.variable)
    } else {
        "default".to_owned()
    };
    let url = from_environment.unwrap_or_else(|| spec.default_url.to_owned());
    let shown = util::redact_connection_string(&url);
    let name = spec.name;
    match probe(spec, &url) {
        Ok(answer) => Ok(Service {
            description: format!("{origin} ({shown}): {answer}"),
            url,
        }),
        Err(reason) if util::is_ci() => bail!(
            "no {name} for the tests: {reason} at {shown} ({origin}).\n\
             CI=true: the {name} tests are never skipped in CI; {}",
            spec.ci_hint
        ),
        Err(reason) => {
            eprintln!(
                "xtask: note: {reason} at {shown} ({origin}); the {name} tests will not run \
                 ({}, or set {})",
                spec.local_hint, spec.variable
            );
            Ok(Service {
                description: format!("{origin} ({shown}): not answering, {name} tests skipped"),
                url,
            })
        }
    }
}

/// Connects to the service at `url` and runs its probe; what it answered, or why not.
fn probe(spec: &ServiceSpec, url: &str) -> Result<String, String> {
    let schemes: Vec<&str> = spec.schemes.iter().map(|(scheme, _)| *scheme).collect();
    let (host, port, tls) = host_and_port(url, spec.schemes, spec.default_port)
        .ok_or_else(|| format!("not a {} URL", schemes.join(" or ")))?;
    let address = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|error| format!("cannot resolve {host}: {error}"))?
        .next()
        .ok_or_else(|| format!("{host} has no address"))?;
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_millis(500))
        .map_err(|error| format!("nothing answers ({error})"))?;
    if tls {
        return Ok("answers (TCP check only: TLS)".to_owned());
    }
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .map_err(|error| format!("no answer ({error})"))?;
    (spec.probe)(&mut stream)
}

/// The host, port and whether TLS is used, of a URL with one of `schemes`
/// (`scheme://[user:password@]host[:port][/…]`).
pub(crate) fn host_and_port(
    url: &str,
    schemes: &[(&str, bool)],
    default_port: u16,
) -> Option<(String, u16, bool)> {
    let (rest, tls) = schemes.iter().find_map(|(scheme, tls)| {
        url.strip_prefix(scheme)
            .and_then(|rest| rest.strip_prefix("://"))
            .map(|rest| (rest, *tls))
    })?;
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
        None => default_port,
    };
    let host = if host.is_empty() { "127.0.0.1" } else { host };
    Some((host.to_owned(), port, tls))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: ServiceSpec = ServiceSpec {
        name: "Sample",
        variable: "XTASK_SAMPLE_URL",
        default_url: "sample://127.0.0.1",
        schemes: &[("sample", false), ("samples", true)],
        default_port: 1234,
        local_hint: "start one",
        ci_hint: "provide one",
        probe: |_stream| Ok("answers".to_owned()),
    };

    #[test]
    fn probe_says_when_nothing_answers() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let reason = probe(&SAMPLE, &format!("sample://127.0.0.1:{port}")).unwrap_err();
        assert!(reason.starts_with("nothing answers"), "{reason}");
        let reason = probe(&SAMPLE, "http://127.0.0.1:80").unwrap_err();
        assert_eq!(reason, "not a sample or samples URL");
    }

    #[test]
    fn a_scheme_is_a_whole_word() {
        assert_eq!(
            host_and_port("samples://host", SAMPLE.schemes, 1),
            Some(("host".to_owned(), 1, true))
        );
        assert_eq!(host_and_port("samplex://host", SAMPLE.schemes, 1), None);
    }
}
