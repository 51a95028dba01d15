//! Checks that `cargo xtask test` hands the tests a reachable Postgres through
//! `TEST_DATABASE_URL`, so that a broken setup fails loudly instead of the Postgres
//! tests quietly skipping. Outside `cargo xtask test` (no `XTASK_TEST_RUN`) it passes.
#![allow(clippy::unwrap_used)]

use std::net::{TcpStream, ToSocketAddrs};
use std::process::{Command, Stdio};
use std::time::Duration;

/// `host` and `port` of a `postgres://user[:password]@host[:port]/db` URL.
fn host_and_port(url: &str) -> Option<(String, u16)> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let (host, port) = match host_port.strip_prefix('[') {
        // IPv6: `[::1]` or `[::1]:5433`.
        Some(bracketed) => {
            let (host, after) = bracketed.split_once(']')?;
            (host, after.strip_prefix(':'))
        }
        None => match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        },
    };
    let port = port.map_or(Some(5432), |p| p.parse().ok())?;
    Some((host.to_owned(), port))
}

#[test]
fn xtask_provides_a_reachable_test_database() {
    if std::env::var_os("XTASK_TEST_RUN").is_none() {
        return; // Not under `cargo xtask test`: nothing to check.
    }
    let url = std::env::var("TEST_DATABASE_URL")
        .expect("cargo xtask test must export TEST_DATABASE_URL to the tests");
    let Some((host, port)) = host_and_port(&url) else {
        // A key=value connection string or a socket path: leave it to the real tests.
        return;
    };
    let addrs: Vec<_> = (host.as_str(), port)
        .to_socket_addrs()
        .unwrap_or_else(|e| panic!("TEST_DATABASE_URL: cannot resolve {host}:{port}: {e}"))
        .collect();
    assert!(
        addrs
            .iter()
            .any(|addr| TcpStream::connect_timeout(addr, Duration::from_secs(3)).is_ok()),
        "TEST_DATABASE_URL points at {host}:{port}, where nothing answers"
    );
    // Where psql exists, also log in for real, as the tests will.
    let psql_on_path = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("psql").is_file()));
    if psql_on_path {
        let output = Command::new("psql")
            .args(["-X", "-q", "-w", "-tA", &url, "-c", "select 1"])
            .env("PGCONNECT_TIMEOUT", "5")
            .stdin(Stdio::null())
            .output()
            .expect("could not run psql");
        assert!(
            output.status.success(),
            "TEST_DATABASE_URL: psql could not log in to {host}:{port}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
}

#[test]
fn parses_hosts_and_ports() {
    let parse = |url| host_and_port(url).unwrap();
    assert_eq!(
        parse("postgres://postgres@127.0.0.1:5432/postgres"),
        ("127.0.0.1".into(), 5432)
    );
    assert_eq!(parse("postgres://u:p@db/app"), ("db".into(), 5432));
    assert_eq!(
        parse("postgresql://u:p:x@[::1]:6543/app?sslmode=disable"),
        ("::1".into(), 6543)
    );
}
