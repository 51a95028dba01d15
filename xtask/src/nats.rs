//! Finds the NATS (with JetStream) that the event hub's tests use through
//! `TEST_NATS_URL`.
//!
//! The URL is `TEST_NATS_URL` from the environment, or `nats://127.0.0.1:4222`. xtask
//! checks that a NATS server answers there with JetStream enabled (the `INFO` line every
//! server sends first says `"jetstream":true`), as [`crate::service`] does for every
//! service: in CI (`CI=true`) a NATS that does not answer fails the run; locally the run
//! goes on and the NATS tests fail, naming what to start.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;

use anyhow::Result;

use crate::service::{self, Service, ServiceSpec};
use crate::util;

/// The environment variable the NATS tests read.
pub(crate) const TEST_NATS_URL: &str = "TEST_NATS_URL";

/// NATS, as xtask finds it.
const NATS: ServiceSpec = ServiceSpec {
    name: "NATS",
    variable: TEST_NATS_URL,
    default_url: "nats://127.0.0.1:4222",
    schemes: &[("nats", false), ("tls", true)],
    default_port: 4222,
    local_hint:
        "start one with JetStream, e.g. `apt-get install nats-server` and `nats-server -js`",
    ci_hint: "provide a server with JetStream (e.g. a `nats:2` service container started with \
              `-js`) and set TEST_NATS_URL=nats://HOST:PORT.",
    probe: read_info,
};

/// Finds the tests' NATS and checks that it answers with JetStream; in CI, fails when
/// it does not. Also checks that the `nats-server` program is on `PATH`: the test of a
/// NATS restart mid-stream (`several_nodes`) starts a throwaway server of its own
/// rather than restarting the shared one.
pub(crate) fn provide() -> Result<Service> {
    let service = service::provide(&NATS)?;
    if !program_on_path("nats-server") {
        let hint = "the NATS restart test starts its own `nats-server -js`: install it \
                    (`apt-get install nats-server`, or copy /nats-server out of the `nats:2` image)";
        if util::is_ci() {
            anyhow::bail!("no `nats-server` program on PATH. CI=true: {hint}");
        }
        eprintln!("xtask: note: no `nats-server` program on PATH; {hint}, or that test fails");
    }
    Ok(service)
}

/// Whether an executable file `name` is in one of `PATH`'s directories.
fn program_on_path(name: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|directory| {
            std::fs::metadata(directory.join(name))
                .is_ok_and(|file| file.is_file() && file.permissions().mode() & 0o111 != 0)
        })
    })
}

/// Reads the server's `INFO` line; whether it is NATS with JetStream.
fn read_info(stream: &mut TcpStream) -> Result<String, String> {
    let mut line = String::new();
    BufReader::new(stream)
        .read_line(&mut line)
        .map_err(|error| format!("no INFO line ({error})"))?;
    judge_info(&line)
}

fn judge_info(line: &str) -> Result<String, String> {
    let Some(info) = line.strip_prefix("INFO ") else {
        return Err("something that is not NATS answers".to_owned());
    };
    let compact: String = info.split_whitespace().collect();
    if compact.contains(r#""jetstream":true"#) {
        Ok("answers, JetStream enabled".to_owned())
    } else {
        Err("NATS answers without JetStream (start it with -js)".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_nats_with_jetstream_will_do() {
        assert!(
            judge_info(r#"INFO {"server_id":"x","jetstream":true,"max_payload":1048576}"#).is_ok()
        );
        assert_eq!(
            judge_info(r#"INFO {"server_id":"x","max_payload":1048576}"#),
            Err("NATS answers without JetStream (start it with -js)".to_owned())
        );
        assert_eq!(
            judge_info("+PONG"),
            Err("something that is not NATS answers".to_owned())
        );
    }

    #[test]
    fn nats_urls_are_read() {
        assert_eq!(
            service::host_and_port("nats://user:pw@hub:4223", NATS.schemes, NATS.default_port),
            Some(("hub".to_owned(), 4223, false))
        );
        assert_eq!(
            service::host_and_port("nats://hub", NATS.schemes, NATS.default_port),
            Some(("hub".to_owned(), 4222, false))
        );
    }
}
