//! `cargo xtask schemathesis`: the API against its own OpenAPI document.
//!
//! Installs schemathesis from PyPI with pip when it is missing (under `CI=true` a failed
//! install fails the step; elsewhere it is skipped with the reason), builds `ryze` and the
//! engine simulator, starts `ryze serve` on the embedded default in a temporary
//! directory with an account created for the run and the engine simulator as its
//! WhatsApp engine, and runs schemathesis on `/openapi.json` with the account's token:
//! no server error, every answer's status, content type, headers and body as documented.
//! The few 5xx that are answers by design (Chatwoot or a `mediaUrl` server out of reach:
//! 502) are allowed per operation in `xtask/schemathesis.toml`; a 500 never is.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;

use crate::util;

/// The schemathesis line CI installs when it is missing.
const SCHEMATHESIS_REQUIREMENT: &str = "schemathesis>=4.32,<5";

#[derive(Args, Debug, Clone)]
pub(crate) struct SchemathesisArgs {
    /// Examples generated per operation (more finds more, and takes longer).
    #[arg(long, default_value_t = 25)]
    pub max_examples: u32,
}

/// Kills a child process when dropped (the run failed or ended).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn run(args: &SchemathesisArgs) -> Result<u8> {
    let Some(schemathesis) = schemathesis_command()? else {
        return Ok(0);
    };
    let status =
        util::run_inherited(util::cargo().args(["build", "-p", "ryze", "-p", "engine-simulator"]))?;
    if !status.success() {
        return Ok(util::exit_code(status));
    }
    let binaries = util::target_directory().join("debug");

    let directory = util::TemporaryDirectory::create("ryze-schemathesis")?;
    const ENGINE_TOKEN: &str = "schemathesis-engine-token-0123456789abcdef";
    let (engine, engine_url) = start_engine_simulator(&binaries, ENGINE_TOKEN)?;
    let api_port = free_port()?;
    let ryze = |arguments: &[&str]| {
        let mut command = Command::new(binaries.join("ryze"));
        command
            .args(arguments)
            .current_dir(&directory.0)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("RUST_LOG", "error")
            .env("RYZE_LISTEN", format!("127.0.0.1:{api_port}"))
            .env("BRIDGE_LISTEN", "127.0.0.1:0")
            .env("ENGINE_URL", &engine_url)
            .env("ENGINE_TOKEN", ENGINE_TOKEN)
            // Schemathesis sends far more than a person: the limits are not under test.
            .env("RYZE__RATE_LIMIT__PER_MINUTE", "1000000")
            .env("RYZE__RATE_LIMIT__INSTANCE_CREATION_PER_MINUTE", "1000000")
            .env("RYZE__RATE_LIMIT__UNAUTHENTICATED_PER_MINUTE", "1000000")
            .env("RYZE__BRIDGE_SERVICE__CHATWOOT_CONNECT_TIMEOUT_SECS", "2")
            .env("RYZE__BRIDGE_SERVICE__CHATWOOT_REQUEST_TIMEOUT_SECS", "3");
        command
    };
    let created = ryze(&["account", "create", "--name", "schemathesis", "--quiet"])
        .stderr(Stdio::inherit())
        .output()
        .context("running `ryze account create`")?;
    if !created.status.success() {
        bail!("`ryze account create` failed");
    }
    let token = String::from_utf8(created.stdout)?.trim().to_owned();

    let server = Running(
        ryze(&["serve"])
            .stdout(Stdio::null())
            .spawn()
            .context("starting `ryze serve`")?,
    );
    let base = format!("127.0.0.1:{api_port}");
    wait_until_ready(&base)?;

    let config = util::project_root().join("xtask/schemathesis.toml");
    let mut command = schemathesis;
    command
        .arg("--config-file")
        .arg(&config)
        .args(["run", &format!("http://{base}/openapi.json")])
        .args(["--header", &format!("token: {token}")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance",
        ])
        .args(["--max-examples", &args.max_examples.to_string()])
        .args(["--workers", "2", "--request-timeout", "20", "--no-color"])
        .env("SCHEMATHESIS_HOOKS", "")
        .current_dir(&directory.0);
    println!(
        "running {}",
        util::display_command(&command).replace(&token, "***")
    );
    let status = util::run_inherited(&mut command)?;
    drop(server);
    drop(engine);
    Ok(util::exit_code(status))
}

/// `schemathesis` ready to run: found on `PATH`, or installed with pip. `None` (after
/// saying why) when it cannot be had outside CI.
fn schemathesis_command() -> Result<Option<Command>> {
    if util::find_in_path("schemathesis").is_some() {
        return Ok(Some(Command::new("schemathesis")));
    }
    println!("schemathesis is not installed: pip install '{SCHEMATHESIS_REQUIREMENT}'");
    let installed = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", SCHEMATHESIS_REQUIREMENT])
        .status();
    match installed {
        Ok(status) if status.success() => match installed_script("schemathesis") {
            Some(script) => Ok(Some(Command::new(script))),
            None => give_up("pip installed it, but no `schemathesis` script was found on PATH or in Python's scripts directories".to_owned()),
        },
        outcome => give_up(match outcome {
            Ok(status) => format!("pip exited with {status}"),
            Err(error) => format!("python3 could not be run: {error}"),
        }),
    }
}

/// Fails under CI, where the run is required; elsewhere says why it is skipped.
fn give_up(why: String) -> Result<Option<Command>> {
    if util::is_ci() {
        bail!("schemathesis could not be installed ({why}); CI needs it: install Python 3 with pip and '{SCHEMATHESIS_REQUIREMENT}'");
    }
    println!("skipping the schemathesis run: it could not be installed ({why})");
    Ok(None)
}

/// A console script pip just installed: on `PATH`, or in Python's scripts directory
/// (system or user scheme), which a fresh shell's `PATH` may not list yet.
fn installed_script(name: &str) -> Option<PathBuf> {
    if let Some(found) = util::find_in_path(name) {
        return Some(found);
    }
    let output = Command::new("python3")
        .args([
            "-c",
            "import sysconfig, os; print(sysconfig.get_path('scripts')); print(sysconfig.get_path('scripts', os.name + '_user'))",
        ])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|directory| Path::new(directory.trim()).join(name))
        .find(|candidate| candidate.is_file())
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The engine simulator on a free port, and its URL (from the first line it prints).
fn start_engine_simulator(binaries: &Path, token: &str) -> Result<(Running, String)> {
    let mut child = Command::new(binaries.join("engine-simulator"))
        .args(["serve", "--listen", "127.0.0.1:0", "--engine-token", token])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting the engine simulator")?;
    let stdout = child.stdout.take().context("the simulator's output")?;
    let running = Running(child);
    let mut first_line = String::new();
    BufReader::new(stdout).read_line(&mut first_line)?;
    let url = first_line
        .trim()
        .rsplit(' ')
        .next()
        .filter(|url| url.starts_with("http://"))
        .with_context(|| format!("unexpected first line from the simulator: {first_line:?}"))?
        .to_owned();
    Ok((running, url))
}

/// Polls `GET /readyz` on `address` until it answers 200 (60 s at most).
fn wait_until_ready(address: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if status_of_get(address, "/readyz").is_ok_and(|status| status == 200) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("`ryze serve` did not become ready on {address} within 60 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The status code of a plain HTTP/1.1 GET.
fn status_of_get(address: &str, path: &str) -> Result<u16> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = String::new();
    stream.take(64).read_to_string(&mut answer).ok();
    answer
        .split(' ')
        .nth(1)
        .and_then(|status| status.parse().ok())
        .context("no HTTP status line")
}
