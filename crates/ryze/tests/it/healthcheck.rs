//! `ryze healthcheck --url URL`: the container image's health check (the image has no
//! curl). Exit 0 when the probe answers 2xx within the timeout, 1 otherwise; it reads no
//! settings, so a container's own environment cannot break it.

use std::net::TcpListener;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use super::support::{Backend, TestApi};

/// The real binary with `args`, and an environment whose settings would not even load.
async fn healthcheck(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_ryze"))
            .env_clear()
            .env("RYZE_MODE", "not-a-mode")
            .arg("healthcheck")
            .args(args)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_probe_answering_200_exits_0_whatever_the_settings() {
    let api = TestApi::start(Backend::Sqlite).await;
    for probe in ["/healthz", "/readyz"] {
        let output = healthcheck(&["--url", &format!("{}{probe}", api.base_url)]).await;
        assert_eq!(
            output.status.code(),
            Some(0),
            "{probe}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.stdout.is_empty());
    }
}

#[tokio::test]
async fn a_missing_route_or_a_closed_port_exits_1() {
    let api = TestApi::start(Backend::Sqlite).await;
    let output = healthcheck(&["--url", &format!("{}/health", api.base_url)]).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("404"));

    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let output = healthcheck(&["--url", &format!("http://{closed}/healthz")]).await;
    assert_eq!(output.status.code(), Some(1));
}

#[tokio::test]
async fn a_probe_that_never_answers_exits_1_after_the_timeout() {
    // Accepts connections (the kernel's backlog) and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = silent.local_addr().unwrap();
    let started = Instant::now();
    let output = healthcheck(&[
        "--url",
        &format!("http://{address}/healthz"),
        "--timeout-secs",
        "1",
    ])
    .await;
    assert_eq!(output.status.code(), Some(1));
    assert!(started.elapsed() < Duration::from_secs(10));
    drop(silent);
}
