//! Helpers shared by the xtask commands: where the repository is, which cargo to run,
//! CI detection, signal handling, running child processes, and redacting passwords.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::{Context, Result};

/// The workspace root (the parent of `xtask/`).
pub(crate) fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// Where cargo puts binaries (`CARGO_TARGET_DIR`, else `target/`).
pub(crate) fn target_directory() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| project_root().join("target"))
}

/// A directory of its own under the system's temporary directory, removed with
/// everything in it when dropped.
pub(crate) struct TemporaryDirectory(pub PathBuf);

impl TemporaryDirectory {
    /// Creates `<temp>/<prefix>-<pid>-<milliseconds>`.
    pub(crate) fn create(prefix: &str) -> Result<TemporaryDirectory> {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis();
        let path = std::env::temp_dir().join(format!("{prefix}-{}-{millis}", std::process::id()));
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(TemporaryDirectory(path))
    }
}

impl Drop for TemporaryDirectory {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The cargo that runs us (`$CARGO`, set by `cargo run`), or `cargo` from `PATH`.
///
/// Without the variables `cargo run` set for xtask itself (`CARGO_MANIFEST_DIR`,
/// `CARGO_PKG_*`, …): build scripts that watch one of them (ring's watches
/// `CARGO_MANIFEST_DIR`) would otherwise see it change between a build from xtask and
/// one from a shell, and rebuild themselves and everything above them each time.
pub(crate) fn cargo() -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut cmd = Command::new(program);
    cmd.current_dir(project_root());
    for (name, _) in std::env::vars_os() {
        if is_set_by_cargo_run(&name.to_string_lossy()) {
            cmd.env_remove(&name);
        }
    }
    cmd
}

/// Whether `cargo run` sets the variable `name` for the program it runs (about the
/// program's own package), as opposed to the user's settings (`CARGO_HOME`,
/// `CARGO_TARGET_DIR`, …), which are kept.
fn is_set_by_cargo_run(name: &str) -> bool {
    name.starts_with("CARGO_PKG_")
        || matches!(
            name,
            "CARGO_MANIFEST_DIR"
                | "CARGO_MANIFEST_PATH"
                | "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
        )
}

/// True when running in CI (`CI=true` or `CI=1`, as GitHub Actions and our CI set it).
pub(crate) fn is_ci() -> bool {
    std::env::var("CI")
        .map(|v| v.eq_ignore_ascii_case("true") || v == "1")
        .unwrap_or(false)
}

/// Whether `path` is a regular file with an execute bit.
pub(crate) fn is_executable(path: &Path) -> bool {
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Looks `name` up in `PATH`.
pub(crate) fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// Quotes `s` for a POSIX shell.
pub(crate) fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,@+%".contains(&b))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// A command as a copy-pasteable shell line, for messages.
pub(crate) fn display_command(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|part| shell_quote(&part.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Hides passwords in a connection string: the password of a URL's user info
/// (`postgres://user:secret@host` → `postgres://user:***@host`) and the value of any
/// `password=` parameter (URL query or `key=value` form).
pub(crate) fn redact_connection_string(conn: &str) -> String {
    let mut out = conn.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = out[rest_start..]
            .find(['/', '?', '#'])
            .map_or(out.len(), |i| rest_start + i);
        if let Some(at) = out[rest_start..authority_end].rfind('@') {
            let userinfo = &out[rest_start..rest_start + at];
            if let Some(colon) = userinfo.find(':') {
                out.replace_range(rest_start + colon + 1..rest_start + at, "***");
            }
        }
    }
    let mut searched = 0;
    while let Some(found) = out[searched..].to_ascii_lowercase().find("password=") {
        let value_start = searched + found + "password=".len();
        let value_end = out[value_start..]
            .find(|c: char| c == '&' || c == '#' || c.is_whitespace())
            .map_or(out.len(), |i| value_start + i);
        out.replace_range(value_start..value_end, "***");
        searched = value_start + 3;
    }
    out
}

/// Signals received by xtask: Ctrl-C (`SIGINT`) and termination (`SIGTERM`, `SIGHUP`).
///
/// xtask catches them instead of dying at once so that guards (such as the throwaway
/// Postgres cluster) are dropped and clean up. A second Ctrl-C exits immediately.
struct Signals {
    interrupt: Arc<AtomicBool>,
    terminate: Arc<AtomicBool>,
}

static SIGNALS: OnceLock<Signals> = OnceLock::new();

/// Installs the signal handlers; call once at startup.
pub(crate) fn install_signal_handlers() -> Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    use signal_hook::flag;

    let interrupt = Arc::new(AtomicBool::new(false));
    let terminate = Arc::new(AtomicBool::new(false));
    // Registered first, so it sees the flag as it was before this signal: the second
    // Ctrl-C (or termination request) exits at once, even if cleanup hangs.
    flag::register_conditional_shutdown(SIGINT, 130, Arc::clone(&interrupt))
        .context("installing the SIGINT handler")?;
    flag::register(SIGINT, Arc::clone(&interrupt)).context("installing the SIGINT handler")?;
    for signal in [SIGTERM, SIGHUP] {
        flag::register_conditional_shutdown(signal, 143, Arc::clone(&terminate))
            .context("installing a termination handler")?;
        flag::register(signal, Arc::clone(&terminate))
            .context("installing a termination handler")?;
    }
    let _ = SIGNALS.set(Signals {
        interrupt,
        terminate,
    });
    Ok(())
}

/// True once xtask has been asked to stop (Ctrl-C or a termination signal).
pub(crate) fn interrupted() -> bool {
    SIGNALS
        .get()
        .is_some_and(|s| s.interrupt.load(Ordering::SeqCst) || s.terminate.load(Ordering::SeqCst))
}

fn terminate_requested() -> bool {
    SIGNALS
        .get()
        .is_some_and(|s| s.terminate.load(Ordering::SeqCst))
}

/// Fails with a clear message if xtask has been asked to stop.
pub(crate) fn bail_if_interrupted() -> Result<()> {
    if interrupted() {
        anyhow::bail!("interrupted");
    }
    Ok(())
}

/// Runs `cmd` with inherited stdio and waits for it.
///
/// A Ctrl-C typed in the terminal reaches the child too (same process group), so it is
/// not forwarded; a `SIGTERM`/`SIGHUP` sent to xtask alone is forwarded as `SIGTERM`.
pub(crate) fn run_inherited(cmd: &mut Command) -> Result<ExitStatus> {
    let mut child = cmd
        .spawn()
        .with_context(|| format!("could not start `{}`", display_command(cmd)))?;
    let mut forwarded = false;
    loop {
        if let Some(status) = child.try_wait().context("waiting for a child process")? {
            return Ok(status);
        }
        if !forwarded && terminate_requested() {
            forwarded = true;
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The exit code to report for a child's exit status (128 + signal when killed).
pub(crate) fn exit_code(status: ExitStatus) -> u8 {
    match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code).unwrap_or(1),
        (None, Some(signal)) => u8::try_from(128 + signal).unwrap_or(1),
        (None, None) => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_url_password() {
        assert_eq!(
            redact_connection_string("postgres://app:s3cr:et@db.example:5432/app"),
            "postgres://app:***@db.example:5432/app"
        );
    }

    #[test]
    fn keeps_url_without_password() {
        let url = "postgres://postgres@127.0.0.1:5432/postgres";
        assert_eq!(redact_connection_string(url), url);
    }

    #[test]
    fn redacts_password_parameters() {
        assert_eq!(
            redact_connection_string("postgres://h/db?user=a&password=x1&sslmode=disable"),
            "postgres://h/db?user=a&password=***&sslmode=disable"
        );
        assert_eq!(
            redact_connection_string("host=h user=a PASSWORD=hunter2 dbname=d"),
            "host=h user=a PASSWORD=*** dbname=d"
        );
    }

    #[test]
    fn only_what_cargo_run_says_about_xtask_is_left_out_of_cargo_calls() {
        assert!(is_set_by_cargo_run("CARGO_MANIFEST_DIR"));
        assert!(is_set_by_cargo_run("CARGO_PKG_VERSION"));
        assert!(!is_set_by_cargo_run("CARGO_TARGET_DIR"));
        assert!(!is_set_by_cargo_run("CARGO_HOME"));
        assert!(!is_set_by_cargo_run("CARGO"));
    }

    #[test]
    fn quotes_for_the_shell() {
        assert_eq!(shell_quote("/usr/bin/pg_ctl"), "/usr/bin/pg_ctl");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
