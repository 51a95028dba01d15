//! Finds or starts the PostgreSQL server that the tests use through `TEST_DATABASE_URL`.
//!
//! In order: `TEST_DATABASE_URL` from the environment; a server answering on
//! 127.0.0.1:5432 (`XTASK_POSTGRES_PROBE_PORT` overrides the port) that lets `postgres`
//! log in without a password; a throwaway cluster started from `initdb`/`pg_ctl` under
//! `target/xtask-postgres/` and stopped when the returned [`Postgres`] is dropped.

use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::util;

/// The environment variable the project's Postgres test helper reads.
pub(crate) const TEST_DATABASE_URL: &str = "TEST_DATABASE_URL";

/// Overrides the port probed for a local server (default 5432); lets contributors test
/// the other paths without stopping their server.
const PROBE_PORT_VAR: &str = "XTASK_POSTGRES_PROBE_PORT";
/// Longest socket path PostgreSQL accepts (`sun_path` is 108 bytes with the NUL).
const MAX_SOCKET_PATH: usize = 107;

/// A Postgres the tests can use. Holds the throwaway cluster, if any: dropping it stops
/// the cluster and removes its files.
pub(crate) struct Postgres {
    /// The connection URL exported as `TEST_DATABASE_URL`.
    pub url: String,
    /// One line for humans saying which server this is (no password).
    pub description: String,
    _cluster: Option<Cluster>,
}

/// Finds or starts a Postgres. With `fresh`, skips the environment and the local server
/// and always starts a throwaway cluster.
pub(crate) fn provide(fresh: bool) -> Result<Postgres> {
    if !fresh {
        if let Some(url) = std::env::var_os(TEST_DATABASE_URL).filter(|v| !v.is_empty()) {
            let url = url
                .into_string()
                .map_err(|_| anyhow::anyhow!("{TEST_DATABASE_URL} is not valid UTF-8"))?;
            let description = format!(
                "{TEST_DATABASE_URL} from the environment ({})",
                util::redact_connection_string(&url)
            );
            return Ok(Postgres {
                url,
                description,
                _cluster: None,
            });
        }
        let port = probe_port()?;
        if let Some(description) = probe_local_server(port)? {
            return Ok(Postgres {
                url: local_url(port),
                description,
                _cluster: None,
            });
        }
    }
    util::bail_if_interrupted()?;

    let Some(bin_dir) = find_postgres_bin_dir() else {
        let reason = if fresh {
            "--fresh-postgres needs PostgreSQL's `initdb` and `pg_ctl`, found neither in PATH nor in /usr/lib/postgresql/*/bin"
        } else {
            "no Postgres for the tests: TEST_DATABASE_URL is not set, nothing usable answers on 127.0.0.1:5432 (or XTASK_POSTGRES_PROBE_PORT), and PostgreSQL's `initdb`/`pg_ctl` were found neither in PATH nor in /usr/lib/postgresql/*/bin"
        };
        let ci_note = if util::is_ci() {
            "\nCI=true: the Postgres tests are never skipped in CI; provide a server (e.g. a `postgres` service container) and set TEST_DATABASE_URL."
        } else {
            ""
        };
        bail!(
            "{reason}.\nProvide one of:\n  \
             - TEST_DATABASE_URL=postgres://USER[:PASSWORD]@HOST:PORT/DB pointing at a server you can create tables in;\n  \
             - a server on 127.0.0.1:5432 that lets `postgres` log in without a password (trust auth);\n  \
             - the PostgreSQL server binaries (Debian/Ubuntu: `apt-get install postgresql`), so xtask can start a throwaway cluster.{ci_note}"
        );
    };

    let cluster = Cluster::start(&bin_dir)?;
    let url = format!("postgres://postgres@127.0.0.1:{}/postgres", cluster.port);
    let description = format!(
        "throwaway cluster ({}, {}) on 127.0.0.1:{}, files in {} ({url})",
        cluster.version,
        bin_dir.display(),
        cluster.port,
        cluster
            .run_dir
            .strip_prefix(util::project_root())
            .unwrap_or(&cluster.run_dir)
            .display(),
    );
    Ok(Postgres {
        url,
        description,
        _cluster: Some(cluster),
    })
}

fn probe_port() -> Result<u16> {
    match std::env::var(PROBE_PORT_VAR) {
        Ok(port) => port
            .parse()
            .with_context(|| format!("{PROBE_PORT_VAR}={port:?} is not a TCP port")),
        Err(_) => Ok(5432),
    }
}

fn local_url(port: u16) -> String {
    format!("postgres://postgres@127.0.0.1:{port}/postgres")
}

/// Checks 127.0.0.1:`port`: a TCP connect with a short timeout, then, if `psql` is
/// available, a real passwordless login as `postgres`. Returns the description to print
/// when the server is usable.
fn probe_local_server(port: u16) -> Result<Option<String>> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    if TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err() {
        return Ok(None);
    }
    let url = local_url(port);
    let Some(psql) = util::find_in_path("psql") else {
        return Ok(Some(format!(
            "local server on 127.0.0.1:{port} ({url}; TCP check only, psql not found)"
        )));
    };
    let output = Command::new(&psql)
        .args([
            "-X",
            "-q",
            "-w",
            "-tA",
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .args(["-U", "postgres", "-d", "postgres", "-c", "select 1"])
        // Log in exactly as the tests will: no password from the environment or a file.
        .env_remove("PGPASSWORD")
        .env_remove("PGSERVICE")
        .env("PGPASSFILE", "/dev/null")
        .env("PGCONNECT_TIMEOUT", "3")
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("could not run {}", psql.display()))?;
    if output.status.success() {
        Ok(Some(format!("local server on 127.0.0.1:{port} ({url})")))
    } else {
        eprintln!(
            "xtask: a server answers on 127.0.0.1:{port} but `postgres` cannot log in without a \
             password ({}); not using it (set TEST_DATABASE_URL to use it with credentials)",
            String::from_utf8_lossy(&output.stderr).trim()
        );
        Ok(None)
    }
}

/// The first directory holding both `initdb` and `pg_ctl`: from `PATH`, then
/// `/usr/lib/postgresql/<version>/bin`, newest version first.
fn find_postgres_bin_dir() -> Option<PathBuf> {
    let has_both = |dir: &Path| {
        util::is_executable(&dir.join("initdb")) && util::is_executable(&dir.join("pg_ctl"))
    };
    if let Some(path) = std::env::var_os("PATH") {
        if let Some(dir) = std::env::split_paths(&path).find(|dir| has_both(dir)) {
            return Some(dir);
        }
    }
    let mut versions: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry
                .file_name()
                .to_str()?
                .split('.')
                .map(|part| part.parse().ok())
                .collect::<Option<Vec<u32>>>()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, bin)| has_both(bin))
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// The account that runs `initdb` and the server when xtask runs as root (PostgreSQL
/// refuses to run as root).
struct PgUser {
    name: String,
    uid: u32,
    gid: u32,
}

impl PgUser {
    const NAME: &'static str = "postgres";

    /// `Some` when running as root, `None` otherwise.
    fn needed() -> Result<Option<PgUser>> {
        if id(&["-u"])? != 0 {
            return Ok(None);
        }
        let (Ok(uid), Ok(gid)) = (id(&["-u", Self::NAME]), id(&["-g", Self::NAME])) else {
            bail!(
                "xtask runs as root, PostgreSQL refuses to run as root, and there is no `{0}` user \
                 to run the throwaway cluster as: create it (`useradd --system {0}`), run as a \
                 normal user, or set TEST_DATABASE_URL",
                Self::NAME
            );
        };
        Ok(Some(PgUser {
            name: Self::NAME.to_owned(),
            uid,
            gid,
        }))
    }
}

fn id(args: &[&str]) -> Result<u32> {
    let output = Command::new("id")
        .args(args)
        .stderr(Stdio::null())
        .output()
        .context("could not run `id`")?;
    if !output.status.success() {
        bail!("`id {}` failed", args.join(" "));
    }
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .with_context(|| format!("unexpected output from `id {}`", args.join(" ")))
}

/// A running throwaway cluster; dropping it stops the server and removes its files.
struct Cluster {
    bin_dir: PathBuf,
    run_dir: PathBuf,
    data_dir: PathBuf,
    port: u16,
    version: String,
    user: Option<PgUser>,
    started: bool,
}

impl Cluster {
    fn start(bin_dir: &Path) -> Result<Cluster> {
        let base = util::project_root().join("target").join("xtask-postgres");
        std::fs::create_dir_all(&base)
            .with_context(|| format!("could not create {}", base.display()))?;
        let user = PgUser::needed()?;
        remove_stale_clusters(&base, bin_dir, user.as_ref());

        // One folder per xtask process, so that runs in the same tree don't collide.
        let run_dir = base.join(format!("run-{}", std::process::id()));
        if run_dir.exists() {
            std::fs::remove_dir_all(&run_dir)
                .with_context(|| format!("could not remove {}", run_dir.display()))?;
        }
        std::fs::create_dir(&run_dir)
            .with_context(|| format!("could not create {}", run_dir.display()))?;

        let version = postgres_version(
            &Command::new(bin_dir.join("pg_ctl"))
                .arg("--version")
                .output()
                .with_context(|| format!("could not run {}", bin_dir.join("pg_ctl").display()))?,
        );
        // From here on, dropping `cluster` removes `run_dir` (and stops the server once
        // started), whatever fails.
        let mut cluster = Cluster {
            bin_dir: bin_dir.to_owned(),
            data_dir: run_dir.join("data"),
            run_dir,
            port: 0,
            version,
            user,
            started: false,
        };
        if let Some(user) = &cluster.user {
            std::os::unix::fs::chown(&cluster.run_dir, Some(user.uid), Some(user.gid))
                .with_context(|| {
                    format!(
                        "could not give {} to the `{}` user",
                        cluster.run_dir.display(),
                        user.name
                    )
                })?;
        }

        eprintln!(
            "xtask: starting a throwaway {} in {}",
            cluster.version,
            cluster.run_dir.display()
        );
        let initdb = cluster.pg_command(
            "initdb",
            &[
                "-D".into(),
                cluster.data_dir.clone().into(),
                "-U".into(),
                "postgres".into(),
                "-A".into(),
                "trust".into(),
                "-E".into(),
                "UTF8".into(),
                "--no-locale".into(),
                "--no-sync".into(),
            ],
        );
        cluster.run_quiet(initdb, "initdb")?;
        util::bail_if_interrupted()?;

        cluster.port = free_port()?;
        let socket_dir = cluster.run_dir.to_string_lossy().into_owned();
        // `.s.PGSQL.<port>.lock` must fit in a socket path; if not, TCP only.
        let socket_dir = if socket_dir.len() + "/.s.PGSQL.65535.lock".len() <= MAX_SOCKET_PATH {
            socket_dir
        } else {
            String::new()
        };
        let server_options = [
            format!("-p {}", cluster.port),
            "-c listen_addresses=127.0.0.1".to_owned(),
            format!(
                "-c unix_socket_directories={}",
                util::shell_quote(&socket_dir)
            ),
            "-c fsync=off".to_owned(),
            "-c synchronous_commit=off".to_owned(),
            "-c full_page_writes=off".to_owned(),
            "-c max_connections=200".to_owned(),
        ]
        .join(" ");
        let log = cluster.run_dir.join("postgres.log");
        let start = cluster.pg_command(
            "pg_ctl",
            &[
                "-D".into(),
                cluster.data_dir.clone().into(),
                "-l".into(),
                log.clone().into(),
                "-o".into(),
                server_options.into(),
                "-w".into(),
                "-t".into(),
                "60".into(),
                "start".into(),
            ],
        );
        // Set before trying: a half-started server is stopped by `Drop` too.
        cluster.started = true;
        if let Err(error) = cluster.run_quiet(start, "pg_ctl start") {
            let log_text = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = log_text.lines().rev().take(20).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            bail!(
                "{error:#}\nserver log ({}):\n{}",
                log.display(),
                tail.join("\n")
            );
        }
        Ok(cluster)
    }

    /// A command running `program` from the cluster's bin dir, as the `postgres` user
    /// when xtask runs as root.
    fn pg_command(&self, program: &str, args: &[OsString]) -> Command {
        pg_command(
            &self.bin_dir,
            self.user.as_ref(),
            &self.run_dir,
            program,
            args,
        )
    }

    /// Runs `cmd` with its output captured; on failure, the error includes the output.
    fn run_quiet(&self, mut cmd: Command, what: &str) -> Result<()> {
        let output = cmd
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("could not run `{}`", util::display_command(&cmd)))?;
        if !output.status.success() {
            bail!(
                "{what} failed ({}): `{}`\n{}{}",
                output.status,
                util::display_command(&cmd),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    }

    fn stop(&self) -> Result<()> {
        for mode in ["fast", "immediate"] {
            let stop = self.pg_command(
                "pg_ctl",
                &[
                    "-D".into(),
                    self.data_dir.clone().into(),
                    "-m".into(),
                    mode.into(),
                    "-w".into(),
                    "-t".into(),
                    "30".into(),
                    "stop".into(),
                ],
            );
            if self.run_quiet(stop, "pg_ctl stop").is_ok() {
                return Ok(());
            }
        }
        bail!(
            "could not stop the throwaway Postgres in {}; stop it with `pg_ctl -D {} stop`",
            self.data_dir.display(),
            self.data_dir.display()
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let server_running = self.data_dir.join("postmaster.pid").exists();
        if self.started && server_running {
            match self.stop() {
                Ok(()) => eprintln!(
                    "xtask: stopped the throwaway Postgres on 127.0.0.1:{}",
                    self.port
                ),
                Err(error) => {
                    eprintln!("xtask: warning: {error:#}");
                    return; // Keep the files of a server that may still be running.
                }
            }
        }
        if let Err(error) = std::fs::remove_dir_all(&self.run_dir) {
            eprintln!(
                "xtask: warning: could not remove {}: {error}",
                self.run_dir.display()
            );
        }
    }
}

fn pg_command(
    bin_dir: &Path,
    user: Option<&PgUser>,
    work_dir: &Path,
    program: &str,
    args: &[OsString],
) -> Command {
    let program = bin_dir.join(program);
    let mut cmd = match user {
        None => {
            let mut cmd = Command::new(program);
            cmd.args(args);
            cmd
        }
        Some(user) => match util::find_in_path("runuser") {
            Some(runuser) => {
                let mut cmd = Command::new(runuser);
                cmd.args(["-u", &user.name, "--"]).arg(program).args(args);
                cmd
            }
            None => {
                let line = std::iter::once(program.into_os_string())
                    .chain(args.iter().cloned())
                    .map(|part| util::shell_quote(&part.to_string_lossy()))
                    .collect::<Vec<_>>()
                    .join(" ");
                let mut cmd = Command::new("su");
                cmd.args([&user.name, "-s", "/bin/sh", "-c", &line]);
                cmd
            }
        },
    };
    // The postgres user must be able to enter the working directory.
    cmd.current_dir(work_dir);
    cmd
}

/// Removes the clusters of xtask runs that are gone (killed before they could clean up),
/// stopping their servers first.
fn remove_stale_clusters(base: &Path, bin_dir: &Path, user: Option<&PgUser>) {
    if !Path::new("/proc/self").exists() {
        return; // No cheap way to tell whether the owning process is alive.
    }
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("run-")) else {
            continue;
        };
        if pid.parse::<u32>().is_err() || Path::new("/proc").join(pid).exists() {
            continue;
        }
        let run_dir = entry.path();
        let data_dir = run_dir.join("data");
        if data_dir.join("postmaster.pid").exists() {
            let args: Vec<OsString> = vec![
                "-D".into(),
                data_dir.into(),
                "-m".into(),
                "immediate".into(),
                "-w".into(),
                "stop".into(),
            ];
            let _ = pg_command(bin_dir, user, &run_dir, "pg_ctl", &args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        match std::fs::remove_dir_all(&run_dir) {
            Ok(()) => eprintln!(
                "xtask: removed a stale throwaway Postgres: {}",
                run_dir.display()
            ),
            Err(error) => eprintln!(
                "xtask: warning: could not remove the stale {}: {error}",
                run_dir.display()
            ),
        }
    }
}

/// A TCP port on 127.0.0.1 that nothing listens on right now.
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .context("could not find a free TCP port on 127.0.0.1")?;
    Ok(listener.local_addr()?.port())
}

/// `PostgreSQL 15.20` from `pg_ctl --version` (`pg_ctl (PostgreSQL) 15.20 (Debian …)`).
fn postgres_version(output: &Output) -> String {
    let text = String::from_utf8_lossy(&output.stdout);
    let number = text
        .split_once("(PostgreSQL)")
        .and_then(|(_, rest)| rest.split_whitespace().next());
    match number {
        Some(number) => format!("PostgreSQL {number}"),
        None => text
            .lines()
            .next()
            .unwrap_or("PostgreSQL")
            .trim()
            .to_owned(),
    }
}
