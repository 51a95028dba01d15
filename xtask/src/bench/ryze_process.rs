//! The `ryze serve` under measurement: a child process of its own (so its memory is
//! its own, read from `/proc`), on loopback ports picked for it, over a fresh
//! database, with an account created through `ryze account create` beforehand.

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// How long `ryze serve` may take to answer `/readyz`.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `ryze serve`, stopped when dropped.
pub(crate) struct RyzeProcess {
    child: Child,
    /// `http://127.0.0.1:<port>` of the API.
    pub api_url: String,
    /// The account token of the account created for the run.
    pub account_token: String,
    /// The shared secret of `POST /engine/v1/events`.
    pub engine_token: String,
}

impl RyzeProcess {
    /// Creates an account on `database_url` and starts `ryze serve` over it; returns
    /// once the API answers `/readyz`.
    pub(crate) async fn start(
        binary: &Path,
        database_url: &str,
        scratch: &Path,
    ) -> Result<RyzeProcess> {
        let engine_token = format!("bench-engine-token-{:032x}", random_u128());
        let api_port = free_port()?;
        let env = environment(database_url, scratch, &engine_token, api_port)?;

        let created = Command::new(binary)
            .args(["account", "create", "--name", "bench"])
            .envs(&env)
            .current_dir(scratch)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {} account create", binary.display()))?;
        if !created.status.success() {
            bail!(
                "`ryze account create` failed ({}): {}",
                created.status,
                String::from_utf8_lossy(&created.stderr)
            );
        }
        let stdout = String::from_utf8_lossy(&created.stdout);
        let account_token = stdout
            .lines()
            .find_map(|line| line.strip_prefix("TokenAccount:"))
            .map(|token| token.trim().to_owned())
            .context("`ryze account create` printed no TokenAccount line")?;

        let child = spawn_logging_to(
            Command::new(binary)
                .arg("serve")
                .envs(&env)
                .current_dir(scratch),
            &scratch.join("ryze-serve.log"),
        )?;
        let process = RyzeProcess {
            child,
            api_url: format!("http://127.0.0.1:{api_port}"),
            account_token,
            engine_token,
        };
        process.wait_until_ready(scratch).await?;
        Ok(process)
    }

    async fn wait_until_ready(&self, scratch: &Path) -> Result<()> {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + READY_TIMEOUT;
        let url = format!("{}/readyz", self.api_url);
        loop {
            let ready = client
                .get(&url)
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|answer| answer.status().is_success());
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "`ryze serve` did not answer {url} within {READY_TIMEOUT:?}; its log is {}",
                    scratch.join("ryze-serve.log").display()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The resident set size of the server process, in bytes (`VmRSS` in
    /// `/proc/<pid>/status`).
    pub(crate) fn resident_bytes(&self) -> Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .context("reading the server's /proc status")?;
        let kib: u64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .context("no VmRSS line in the server's /proc status")?;
        Ok(kib * 1024)
    }
}

impl RyzeProcess {
    /// CPU time the server has used so far, in seconds.
    pub(crate) fn cpu_seconds(&self) -> Result<f64> {
        cpu_seconds_of(self.child.id())
    }
}

/// CPU time (user and system) process `pid` has used so far, in seconds
/// (`/proc/<pid>/stat`, in clock ticks of 1/100 s, Linux's `USER_HZ`).
pub(crate) fn cpu_seconds_of(pid: u32) -> Result<f64> {
    const TICKS_PER_SECOND: f64 = 100.0;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    // The fields after the command name (in parentheses, which may hold spaces):
    // state is the first, utime and stime the 12th and 13th.
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .context("no command name in /proc/<pid>/stat")?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |index: usize| -> Result<f64> {
        fields
            .get(index)
            .and_then(|field| field.parse::<u64>().ok())
            .map(|ticks| ticks as f64)
            .context("no CPU time in /proc/<pid>/stat")
    };
    Ok((ticks(11)? + ticks(12)?) / TICKS_PER_SECOND)
}

impl Drop for RyzeProcess {
    fn drop(&mut self) {
        // Our own child, by its id.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The settings of a benchmarked server: no rate limit in the way of the load (the
/// limiter still runs on every request), logs at `warn`, everything on loopback.
///
/// The bridge's pace of calls to Chatwoot is set to the simulator's limit, which has
/// none (no Rack::Attack window unless a fault asks for it): with the default (a real
/// Chatwoot's 3,000 calls a minute per host) P1 would measure that pace, 50 messages a
/// second, not the relay. The pacing still runs on every call.
fn environment(
    database_url: &str,
    scratch: &Path,
    engine_token: &str,
    api_port: u16,
) -> Result<HashMap<String, String>> {
    let bridge_port = free_port()?;
    let key_file: PathBuf = scratch.join("master.key");
    let generous = "1000000000".to_owned();
    Ok(HashMap::from([
        ("DATABASE_URL".to_owned(), database_url.to_owned()),
        ("RYZE_MODE".to_owned(), "embedded".to_owned()),
        ("RYZE_KEY_FILE".to_owned(), key_file.display().to_string()),
        ("RYZE_LISTEN".to_owned(), format!("127.0.0.1:{api_port}")),
        (
            "BRIDGE_LISTEN".to_owned(),
            format!("127.0.0.1:{bridge_port}"),
        ),
        ("ENGINE_TOKEN".to_owned(), engine_token.to_owned()),
        ("RUST_LOG".to_owned(), "warn".to_owned()),
        ("RYZE__RATE_LIMIT__PER_MINUTE".to_owned(), generous.clone()),
        (
            "RYZE__RATE_LIMIT__INSTANCE_CREATION_PER_MINUTE".to_owned(),
            generous.clone(),
        ),
        (
            "RYZE__RATE_LIMIT__UNAUTHENTICATED_PER_MINUTE".to_owned(),
            generous.clone(),
        ),
        (
            "RYZE__BRIDGE_SERVICE__CHATWOOT_CALLS_PER_WINDOW".to_owned(),
            generous,
        ),
    ]))
}

/// Starts `command` with no input, its output dropped and its log (standard error)
/// written to `log_path`.
pub(crate) fn spawn_logging_to(command: &mut Command, log_path: &Path) -> Result<Child> {
    let log = std::fs::File::create(log_path)
        .with_context(|| format!("creating {}", log_path.display()))?;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {}", crate::util::display_command(command)))
}

/// A port free on loopback right now (bound, read, released).
pub(crate) fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// 128 bits that differ between runs (tokens and database names of one run only).
pub(crate) fn random_u128() -> u128 {
    use std::hash::{BuildHasher, Hasher};
    let mut high = std::collections::hash_map::RandomState::new().build_hasher();
    high.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos())
            .unwrap_or_default(),
    );
    let mut low = std::collections::hash_map::RandomState::new().build_hasher();
    low.write_u32(std::process::id());
    (u128::from(high.finish()) << 64) | u128::from(low.finish())
}
