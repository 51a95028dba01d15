//! `cargo xtask readme`: README.md's "Run it by hand" walked through as written.
//!
//! The section's `sh` blocks are taken in document order. A block under the marker
//! `<!-- readme-walkthrough: background, listens on ADDRESS [and ADDRESS…] -->` is a
//! terminal of its own that keeps running (the Chatwoot simulator, the engine simulator,
//! `ryze serve`): it is started in `bash` and waited for until every address it names
//! accepts connections. Every other block is typed, in order, into one more terminal: one
//! `bash` session, so what a block defines (`TOKEN_ACCOUNT`, the `ryze` function) is there
//! for the next. Every terminal starts in the same fresh temporary directory, as a fresh
//! clone would be its working directory (`./data` lands there).
//!
//! The blocks run verbatim except for two things on the terminals' environment:
//!
//! - `cargo` is a stand-in first on `PATH` that maps `cargo run [-q] --release -p NAME
//!   -- ARGS` to the prebuilt `target/<profile>/NAME ARGS`, and refuses anything else.
//!   The binaries are built here first with `cargo build -p ryze -p chatwoot-simulator
//!   -p engine-simulator`: the debug profile by default, so that CI needs no release
//!   build (`--release` uses release binaries, as the README does);
//! - `CURL_HOME` points at a `.curlrc` whose `write-out` prints each answer's status
//!   on curl's standard error, so the checks below can read the statuses the README's
//!   `curl -s` calls do not show.
//!
//! A block's terminal is in `set -e -o pipefail`: a command that fails fails the
//! walkthrough, naming the block and its line. Then what a person following the README
//! would see is checked:
//!
//! - every curl call answered 2xx, the activation (`/api/chatwoot/set/…`) 200 or 201
//!   and the deactivation (`/api/chatwoot/delete/…`) 200;
//! - the customer's text ([`CUSTOMER_TEXT`]) is in the Chatwoot simulator's conversations
//!   as the README's listing block prints them (the block is run again, as a person
//!   would, until it shows it or [`WAIT`] passes: the relay is asynchronous);
//! - the agent's reply ([`AGENT_REPLY`]) is printed by the engine simulator (terminal
//!   2's standard output) exactly once, counted after the engine's echo of it went back
//!   through the API to the bridge (the event hub delivered both events).
//!
//! The addresses are the README's fixed ports (3000, 8090, 8080, 8081): the walkthrough
//! fails at once, naming the port, when one of them is taken.

use std::fmt;
use std::fs::File;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;

use crate::util;

/// The heading of the README's section that is walked through.
const SECTION_HEADING: &str = "## Run it by hand";

/// The prefix of the HTML comments that mark a block.
const MARKER_PREFIX: &str = "<!-- readme-walkthrough:";

/// What the README's customer writes on WhatsApp.
pub(crate) const CUSTOMER_TEXT: &str = "Olá, vocês abrem sábado?";

/// What the README's agent answers in Chatwoot.
pub(crate) const AGENT_REPLY: &str = "Abrimos sim, das 9h às 13h.";

/// How long a server may take to listen, a block to finish, or the relay to show a
/// message.
const WAIT: Duration = Duration::from_secs(30);

/// How often a condition is looked at again while waiting.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// The line each curl answer prints on its standard error (through `.curlrc`).
const CURL_STATUS_PREFIX: &str = "readme-walkthrough-http";

#[derive(Args, Debug, Clone)]
pub(crate) struct ReadmeArgs {
    /// Run the release binaries (built with `--release`) instead of the debug ones.
    #[arg(long)]
    pub release: bool,
}

/// One `sh` block of the section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Block {
    /// Its place among the section's blocks, from 1.
    pub number: usize,
    /// The README line of its opening fence, from 1.
    pub line: usize,
    /// Its lines, without the fences.
    pub text: String,
    /// For a block that keeps running: the addresses it listens on once started.
    pub listens_on: Option<Vec<SocketAddr>>,
}

impl Block {
    fn first_line(&self) -> &str {
        self.text.lines().next().unwrap_or_default()
    }

    fn is_background(&self) -> bool {
        self.listens_on.is_some()
    }
}

impl fmt::Display for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "README.md block {} (line {}: `{}`)",
            self.number,
            self.line,
            self.first_line()
        )
    }
}

/// The `sh` blocks of the README's "Run it by hand" section, in document order, with the
/// background markers applied; an error says what in the README cannot be read.
pub(crate) fn walkthrough_blocks(readme: &str) -> Result<Vec<Block>, String> {
    let mut lines = readme
        .lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line));
    if !lines.any(|(_, line)| line.trim_end() == SECTION_HEADING) {
        return Err(format!("README.md has no `{SECTION_HEADING}` section"));
    }
    let mut blocks = Vec::new();
    let mut pending_marker: Option<(usize, Vec<SocketAddr>)> = None;
    while let Some((number, line)) = lines.next() {
        let trimmed = line.trim();
        if trimmed.starts_with("## ") {
            break;
        }
        if let Some(marker) = trimmed.strip_prefix(MARKER_PREFIX) {
            if let Some((marker_line, _)) = pending_marker {
                return Err(format!(
                    "README.md line {marker_line}: a walkthrough marker must be followed by a sh block, but line {number} is another marker"
                ));
            }
            pending_marker = Some((
                number,
                parse_marker(marker)
                    .map_err(|problem| format!("README.md line {number}: {problem}"))?,
            ));
            continue;
        }
        let Some(language) = trimmed.strip_prefix("```") else {
            if let (Some((marker_line, _)), false) = (&pending_marker, trimmed.is_empty()) {
                return Err(format!(
                    "README.md line {marker_line}: a walkthrough marker must be followed by a sh block, but line {number} is text"
                ));
            }
            continue;
        };
        let mut text = String::new();
        let mut closed = false;
        for (_, inside) in lines.by_ref() {
            if inside.trim() == "```" {
                closed = true;
                break;
            }
            text.push_str(inside);
            text.push('\n');
        }
        if !closed {
            return Err(format!(
                "README.md line {number}: the block is never closed"
            ));
        }
        let marker = pending_marker.take();
        if language.trim() != "sh" {
            if let Some((marker_line, _)) = marker {
                return Err(format!(
                    "README.md line {marker_line}: a walkthrough marker must be followed by a sh block, but the block at line {number} is `{}`",
                    language.trim()
                ));
            }
            continue;
        }
        blocks.push(Block {
            number: blocks.len() + 1,
            line: number,
            text,
            listens_on: marker.map(|(_, addresses)| addresses),
        });
    }
    if let Some((marker_line, _)) = pending_marker {
        return Err(format!(
            "README.md line {marker_line}: a walkthrough marker must be followed by a sh block"
        ));
    }
    if blocks.is_empty() {
        return Err(format!("README.md's `{SECTION_HEADING}` has no sh block"));
    }
    Ok(blocks)
}

/// The addresses of `background, listens on A [and B…] -->`.
fn parse_marker(marker: &str) -> Result<Vec<SocketAddr>, String> {
    let body = marker
        .trim()
        .strip_suffix("-->")
        .ok_or("the walkthrough marker does not end with `-->` on its line")?;
    let addresses = body
        .trim()
        .strip_prefix("background, listens on ")
        .ok_or_else(|| {
            format!(
                "unknown walkthrough marker `{}`: the one marker is `{MARKER_PREFIX} background, listens on 127.0.0.1:PORT [and 127.0.0.1:PORT…] -->`",
                body.trim()
            )
        })?;
    let addresses = addresses
        .split([' ', ','])
        .filter(|word| !word.is_empty() && *word != "and")
        .map(|word| {
            word.parse::<SocketAddr>().map_err(|_| {
                format!("`{word}` in the walkthrough marker is not an address like 127.0.0.1:3000")
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if addresses.is_empty() {
        return Err("the walkthrough marker names no address to wait for".to_owned());
    }
    Ok(addresses)
}

pub(crate) fn run(args: &ReadmeArgs) -> Result<u8> {
    let readme_path = util::project_root().join("README.md");
    let readme = std::fs::read_to_string(&readme_path)
        .with_context(|| format!("reading {}", readme_path.display()))?;
    let blocks = walkthrough_blocks(&readme).map_err(anyhow::Error::msg)?;
    let plan = Plan::of(&blocks)?;
    check_ports_are_free(&blocks)?;

    let profile = if args.release { "release" } else { "debug" };
    let mut build = util::cargo();
    build.args([
        "build",
        "-p",
        "ryze",
        "-p",
        "chatwoot-simulator",
        "-p",
        "engine-simulator",
    ]);
    if args.release {
        build.arg("--release");
    }
    let status = util::run_inherited(&mut build)?;
    if !status.success() {
        return Ok(util::exit_code(status));
    }
    let started = Instant::now();
    let directory = util::TemporaryDirectory::create("ryze-readme")?;
    let mut terminals = Terminals::prepare(&directory.0, &util::target_directory().join(profile))?;
    let outcome = walk_through(&blocks, &plan, &mut terminals);
    let stopped = terminals.stop_background();
    outcome?;
    stopped?;
    println!(
        "xtask: readme: the {} blocks of README.md's `{SECTION_HEADING}` ran as written ({} binaries) in {:.1}s: \
         activation answered, the customer's text in Chatwoot, the agent's reply sent to WhatsApp once, deactivation answered",
        blocks.len(),
        profile,
        started.elapsed().as_secs_f64()
    );
    Ok(0)
}

/// Which blocks the checks are about, found by what they run: so a README that drops one
/// of these steps fails here instead of passing without it.
struct Plan {
    /// The block whose terminal prints what the engine received (terminal 2).
    engine_terminal: usize,
    activation: usize,
    conversations_listing: usize,
    agent_reply: usize,
    deactivation: usize,
    /// Where the API listens (the first address of the block that runs `ryze`).
    api_address: SocketAddr,
}

impl Plan {
    fn of(blocks: &[Block]) -> Result<Plan> {
        let find = |what: &str, matches: &dyn Fn(&Block) -> bool| -> Result<usize> {
            blocks
                .iter()
                .find(|block| matches(block))
                .map(|block| block.number)
                .with_context(|| {
                    format!("README.md's `{SECTION_HEADING}` has no block that {what}: the walkthrough's checks (xtask/src/readme.rs) need it")
                })
        };
        if !blocks
            .iter()
            .any(|block| block.text.contains(CUSTOMER_TEXT))
        {
            bail!("no block of README.md's `{SECTION_HEADING}` sends the customer's text `{CUSTOMER_TEXT}` the walkthrough looks for in Chatwoot (xtask/src/readme.rs)");
        }
        Ok(Plan {
            engine_terminal: find("runs the engine simulator in the background", &|block| {
                block.is_background() && block.text.contains("-p engine-simulator")
            })?,
            activation: find("activates the integration (`/api/chatwoot/set/`)", &|block| {
                block.text.contains("/api/chatwoot/set/")
            })?,
            conversations_listing: find(
                "lists Chatwoot's conversations (`GET …/conversations`)",
                &|block| {
                    block.text.contains("/conversations ") && !block.text.contains("-X POST")
                },
            )?,
            agent_reply: find(
                &format!("posts the agent's reply `{AGENT_REPLY}` to Chatwoot"),
                &|block| block.text.contains(AGENT_REPLY) && block.text.contains("-X POST"),
            )?,
            deactivation: find("deactivates the integration (`/api/chatwoot/delete/`)", &|block| {
                block.text.contains("/api/chatwoot/delete/")
            })?,
            api_address: blocks
                .iter()
                .find(|block| block.is_background() && block.text.contains("-p ryze "))
                .and_then(|block| block.listens_on.as_ref()?.first().copied())
                .with_context(|| format!("README.md's `{SECTION_HEADING}` has no background block that runs `ryze` with the addresses it listens on"))?,
        })
    }
}

/// Fails naming the first README port something already listens on.
fn check_ports_are_free(blocks: &[Block]) -> Result<()> {
    let addresses: Vec<SocketAddr> = blocks
        .iter()
        .filter_map(|block| block.listens_on.clone())
        .flatten()
        .collect();
    for address in &addresses {
        if let Err(error) = TcpListener::bind(address) {
            bail!(
                "{address} is taken ({error}): the README walkthrough needs {} free, as the README uses fixed ports; stop what listens there (`ss -ltnp`) and run it again",
                list(&addresses, ", ")
            );
        }
    }
    Ok(())
}

/// The walkthrough's files: the working directory every terminal starts in, and beside
/// it the stand-ins and each block's captured output.
struct Terminals {
    working_directory: PathBuf,
    files: PathBuf,
    path: std::ffi::OsString,
    background: Vec<(Block, Child)>,
}

impl Terminals {
    fn prepare(directory: &Path, binaries: &Path) -> Result<Terminals> {
        let working_directory = directory.join("clone");
        let files = directory.join("walkthrough");
        let bin = files.join("bin");
        std::fs::create_dir_all(&working_directory)?;
        std::fs::create_dir_all(&bin)?;
        let shim = bin.join("cargo");
        std::fs::write(&shim, cargo_stand_in(binaries))?;
        std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755))?;
        std::fs::write(
            files.join(".curlrc"),
            format!("write-out = \"%{{stderr}}{CURL_STATUS_PREFIX} %{{http_code}} %{{method}} %{{url_effective}}\\n\"\n"),
        )?;
        let inherited = std::env::var_os("PATH").unwrap_or_default();
        let path =
            std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(&inherited)))?;
        Ok(Terminals {
            working_directory,
            files,
            path,
            background: Vec::new(),
        })
    }

    /// `bash` in the working directory with the walkthrough's environment only.
    fn bash(&self) -> Command {
        let mut command = Command::new("bash");
        command
            .current_dir(&self.working_directory)
            .env_clear()
            .env("PATH", &self.path)
            .env("HOME", &self.files)
            .env("CURL_HOME", &self.files)
            .env("LANG", "C.UTF-8")
            .env("TERM", "dumb")
            .env("NO_COLOR", "1");
        command
    }

    fn output_of(&self, block: &Block, stream: &str) -> PathBuf {
        output_of(&self.files, block, stream)
    }

    fn read_output(&self, block: &Block, stream: &str) -> String {
        read_output(&self.files, block, stream)
    }

    /// Starts a background block in a process group of its own and waits until each of
    /// its addresses accepts connections.
    fn start_background(&mut self, block: &Block, addresses: &[SocketAddr]) -> Result<()> {
        let script = self.files.join(format!("block-{}.sh", block.number));
        std::fs::write(&script, format!("set -e -o pipefail\n{}", block.text))?;
        let child = self
            .bash()
            .arg(&script)
            .stdin(Stdio::null())
            .stdout(File::create(self.output_of(block, "stdout"))?)
            .stderr(File::create(self.output_of(block, "stderr"))?)
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {block}"))?;
        self.background.push((block.clone(), child));
        let files = &self.files;
        let child = &mut self.background.last_mut().context("just started")?.1;
        for address in addresses {
            wait_while_running(
                child,
                block,
                &format!("listen on {address}"),
                &|| tails_of(files, block),
                || TcpStream::connect_timeout(address, POLL_INTERVAL).is_ok(),
            )?;
        }
        println!(
            "xtask: readme: {block} listens on {}",
            list(addresses, " and ")
        );
        Ok(())
    }

    /// Stops the background terminals as a person would (Ctrl-C: `SIGINT` to each
    /// block's process group), then kills what is still running after 10 s.
    fn stop_background(mut self) -> Result<()> {
        for (_, child) in &self.background {
            signal_group(child, "-INT");
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut stubborn = Vec::new();
        for (block, child) in &mut self.background {
            loop {
                if child.try_wait()?.is_some() {
                    break;
                }
                if Instant::now() > deadline {
                    signal_group(child, "-KILL");
                    let _ = child.wait();
                    stubborn.push(block.to_string());
                    break;
                }
                std::thread::sleep(POLL_INTERVAL);
            }
        }
        self.background.clear();
        if !stubborn.is_empty() {
            bail!(
                "{} did not stop within 10 s of Ctrl-C (SIGINT) and were killed",
                stubborn.join(", ")
            );
        }
        Ok(())
    }

    /// [`tails_of`] the block's files.
    fn tails_of(&self, block: &Block) -> String {
        tails_of(&self.files, block)
    }
}

impl Drop for Terminals {
    fn drop(&mut self) {
        for (_, child) in &mut self.background {
            signal_group(child, "-KILL");
            let _ = child.wait();
        }
    }
}

/// Where a block's `stream` (`stdout`, `stderr`, `status`) is kept among `files`.
fn output_of(files: &Path, block: &Block, stream: &str) -> PathBuf {
    files.join(format!("block-{}.{stream}", block.number))
}

/// What the block wrote to `stream` so far (empty when nothing).
fn read_output(files: &Path, block: &Block, stream: &str) -> String {
    std::fs::read_to_string(output_of(files, block, stream)).unwrap_or_default()
}

/// The last lines of a block's standard output and error, for a failure's message.
fn tails_of(files: &Path, block: &Block) -> String {
    ["stdout", "stderr"]
        .iter()
        .map(|stream| {
            let text = read_output(files, block, stream);
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(20)..].join("\n    ");
            format!("  its {stream} (last 20 lines):\n    {tail}")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Sends `signal` to the process group a background block leads (its own `bash` and
/// whatever it started), by the group's id.
fn signal_group(child: &Child, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
}

/// The addresses for a message, `separator` between each two.
fn list(addresses: &[SocketAddr], separator: &str) -> String {
    addresses
        .iter()
        .map(SocketAddr::to_string)
        .collect::<Vec<_>>()
        .join(separator)
}

/// The `cargo` of the walkthrough's terminals: runs the prebuilt binary a `cargo run`
/// names, and refuses anything else.
fn cargo_stand_in(binaries: &Path) -> String {
    let binaries = util::shell_quote(&binaries.display().to_string());
    format!(
        r#"#!/usr/bin/env bash
# The README walkthrough's cargo (xtask/src/readme.rs): `cargo run [-q] [--release] -p NAME -- ARGS`
# runs the prebuilt NAME ARGS from {binaries}.
set -euo pipefail
refuse() {{ echo "readme walkthrough: its cargo stand-in only runs \`cargo run [-q] --release -p NAME -- ARGS\` ($1): cargo $ARGUMENTS" >&2; exit 2; }}
ARGUMENTS="$*"
[ "${{1:-}}" = run ] || refuse "not a run"
shift
package=
while [ $# -gt 0 ]; do
  case "$1" in
    -q|--quiet|--release) shift ;;
    -p|--package) [ $# -ge 2 ] || refuse "-p without a name"; package=$2; shift 2 ;;
    --) shift; break ;;
    *) refuse "unknown option $1" ;;
  esac
done
[ -n "$package" ] || refuse "no -p NAME"
exec {binaries}/"$package" "$@"
"#
    )
}

/// The terminal the foreground blocks are typed into: one `bash` reading commands from
/// its standard input.
struct Session {
    shell: Child,
    input: ChildStdin,
}

impl Session {
    fn start(terminals: &Terminals) -> Result<Session> {
        let mut shell = terminals
            .bash()
            .arg("-s")
            .stdin(Stdio::piped())
            .stdout(File::create(terminals.files.join("session.stdout"))?)
            .stderr(File::create(terminals.files.join("session.stderr"))?)
            .process_group(0)
            .spawn()
            .context("starting the walkthrough's bash session")?;
        let mut input = shell.stdin.take().context("the session's standard input")?;
        writeln!(input, "set -e -o pipefail")?;
        Ok(Session { shell, input })
    }

    /// Runs `block` in the session (its variables and functions stay for the next),
    /// capturing its output; fails naming it when it fails or hangs.
    fn run(&mut self, terminals: &Terminals, block: &Block) -> Result<()> {
        let script = terminals.files.join(format!("block-{}.sh", block.number));
        std::fs::write(&script, &block.text)?;
        let status_file = terminals.output_of(block, "status");
        let _ = std::fs::remove_file(&status_file);
        let quote = |path: &Path| util::shell_quote(&path.display().to_string());
        writeln!(
            self.input,
            ". {} </dev/null >{} 2>{}; echo done >{}",
            quote(&script),
            quote(&terminals.output_of(block, "stdout")),
            quote(&terminals.output_of(block, "stderr")),
            quote(&status_file),
        )?;
        self.input.flush()?;
        wait_while_running(
            &mut self.shell,
            block,
            "finish",
            &|| terminals.tails_of(block),
            || std::fs::read_to_string(&status_file).is_ok_and(|done| done.ends_with('\n')),
        )
    }
}

/// Waits until `done` says so while `child`, which runs `block`, keeps running; fails
/// naming the block, with the last lines it wrote (`tails`), when it exits first or
/// [`WAIT`] passes. `what` completes "before it could …" and "did not … within".
fn wait_while_running(
    child: &mut Child,
    block: &Block,
    what: &str,
    tails: &dyn Fn() -> String,
    mut done: impl FnMut() -> bool,
) -> Result<()> {
    let deadline = Instant::now() + WAIT;
    loop {
        util::bail_if_interrupted()?;
        if done() {
            return Ok(());
        }
        if let Some(status) = child.try_wait()? {
            bail!(
                "{block} exited ({status}) before it could {what}:\n{}",
                tails()
            );
        }
        if Instant::now() > deadline {
            bail!(
                "{block} did not {what} within {}s:\n{}",
                WAIT.as_secs(),
                tails()
            );
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        signal_group(&self.shell, "-KILL");
        let _ = self.shell.wait();
    }
}

/// One answer a README curl call got, as its `write-out` printed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CurlAnswer {
    pub status: u16,
    pub method: String,
    pub url: String,
}

impl fmt::Display for CurlAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} answered {}", self.method, self.url, self.status)
    }
}

/// The curl answers in a block's standard error.
pub(crate) fn curl_answers(stderr: &str) -> Vec<CurlAnswer> {
    stderr
        .lines()
        .filter_map(|line| {
            let mut words = line.strip_prefix(CURL_STATUS_PREFIX)?.split_whitespace();
            Some(CurlAnswer {
                status: words.next()?.parse().ok()?,
                method: words.next()?.to_owned(),
                url: words.next()?.to_owned(),
            })
        })
        .collect()
}

/// Runs the blocks in order with the checks of the module's documentation.
fn walk_through(blocks: &[Block], plan: &Plan, terminals: &mut Terminals) -> Result<()> {
    let mut session: Option<Session> = None;
    for block in blocks {
        if let Some(addresses) = &block.listens_on {
            terminals.start_background(block, addresses)?;
            continue;
        }
        let session = match &mut session {
            Some(session) => session,
            None => session.insert(Session::start(terminals)?),
        };
        if block.number == plan.conversations_listing {
            run_until_it_shows(session, terminals, block, CUSTOMER_TEXT)?;
        } else {
            session.run(terminals, block)?;
        }
        check_curl_answers(block, plan, terminals)?;
        println!("xtask: readme: {block} ran");
        if block.number == plan.agent_reply {
            let engine = &blocks[plan.engine_terminal - 1];
            wait_for(
                &format!(
                    "the engine simulator ({engine}) to print the agent's reply `{AGENT_REPLY}`"
                ),
                || {
                    Ok(terminals
                        .read_output(engine, "stdout")
                        .contains(AGENT_REPLY))
                },
            )
            .map_err(|error| anyhow::anyhow!("{error:#}\n{}", terminals.tails_of(engine)))?;
            let api = plan.api_address;
            wait_for(
                "the API's event hub to deliver the customer's message and the engine's echo of the agent's reply to the bridge (ryze_event_hub_delivery_seconds_count 2)",
                || Ok(events_delivered(api).is_some_and(|delivered| delivered >= 2)),
            )?;
        }
    }
    let engine = &blocks[plan.engine_terminal - 1];
    let printed = terminals.read_output(engine, "stdout");
    let sends = printed
        .lines()
        .filter(|line| line.contains(AGENT_REPLY))
        .count();
    if sends != 1 {
        bail!(
            "the engine simulator ({engine}) printed the agent's reply `{AGENT_REPLY}` {sends} times, not once:\n{printed}"
        );
    }
    Ok(())
}

/// Runs `block` again, as a person would, until its output shows `text`.
fn run_until_it_shows(
    session: &mut Session,
    terminals: &Terminals,
    block: &Block,
    text: &str,
) -> Result<()> {
    let deadline = Instant::now() + WAIT;
    loop {
        session.run(terminals, block)?;
        if terminals.read_output(block, "stdout").contains(text) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "{block} did not show `{text}` within {}s:\n{}",
                WAIT.as_secs(),
                terminals.tails_of(block)
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Every curl answer 2xx; the activation's 200 or 201, the deactivation's 200.
fn check_curl_answers(block: &Block, plan: &Plan, terminals: &Terminals) -> Result<()> {
    let answers = curl_answers(&terminals.read_output(block, "stderr"));
    if let Some(failed) = answers
        .iter()
        .find(|answer| !(200..300).contains(&answer.status))
    {
        bail!("{block}: {failed}:\n{}", terminals.tails_of(block));
    }
    let expect = |path: &str, statuses: &[u16]| -> Result<()> {
        match answers.iter().find(|answer| answer.url.contains(path)) {
            Some(answer) if statuses.contains(&answer.status) => Ok(()),
            Some(answer) => bail!("{block}: {answer}, expected {statuses:?}"),
            None => bail!(
                "{block}: no curl call to `{path}` answered:\n{}",
                terminals.tails_of(block)
            ),
        }
    };
    if block.number == plan.activation {
        expect("/api/chatwoot/set/", &[200, 201])?;
    }
    if block.number == plan.deactivation {
        expect("/api/chatwoot/delete/", &[200])?;
    }
    Ok(())
}

/// Waits until `holds` says so, for at most [`WAIT`].
fn wait_for(what: &str, mut holds: impl FnMut() -> Result<bool>) -> Result<()> {
    let deadline = Instant::now() + WAIT;
    loop {
        util::bail_if_interrupted()?;
        if holds()? {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("waited {}s for {what} in vain", WAIT.as_secs());
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// The events the API's hub has delivered and had acknowledged, from its `/metrics`
/// (`ryze_event_hub_delivery_seconds_count`); `None` when it does not answer.
fn events_delivered(api: SocketAddr) -> Option<u64> {
    let output = Command::new("curl")
        .args([
            "-q",
            "-s",
            "--max-time",
            "5",
            &format!("http://{api}/metrics"),
        ])
        .stdin(Stdio::null())
        .output()
        .ok()?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.strip_prefix("ryze_event_hub_delivery_seconds_count"))
        .filter_map(|rest| rest.split_whitespace().last()?.parse::<f64>().ok())
        .map(|count| count as u64)
        .reduce(|total, count| total + count)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# Title\n\n```sh\ncargo run -- demo\n```\n\n## Run it by hand\n\nText.\n\n<!-- readme-walkthrough: background, listens on 127.0.0.1:3000 -->\n```sh\nserver --listen 127.0.0.1:3000\n```\n\n```json\n{}\n```\n\n```sh\nexport A=1\ncurl -s x\n```\n\n<!-- readme-walkthrough: background, listens on 127.0.0.1:8080 and 127.0.0.1:8081 -->\n\n```sh\nboth\n```\n\n## Next\n\n```sh\nnot walked\n```\n";

    #[test]
    fn the_section_blocks_in_order_with_their_markers() {
        let blocks = walkthrough_blocks(SAMPLE).unwrap();
        let address = |text: &str| text.parse::<SocketAddr>().unwrap();
        assert_eq!(
            blocks,
            vec![
                Block {
                    number: 1,
                    line: 12,
                    text: "server --listen 127.0.0.1:3000\n".to_owned(),
                    listens_on: Some(vec![address("127.0.0.1:3000")]),
                },
                Block {
                    number: 2,
                    line: 20,
                    text: "export A=1\ncurl -s x\n".to_owned(),
                    listens_on: None,
                },
                Block {
                    number: 3,
                    line: 27,
                    text: "both\n".to_owned(),
                    listens_on: Some(vec![address("127.0.0.1:8080"), address("127.0.0.1:8081")]),
                },
            ]
        );
        assert_eq!(
            blocks[1].to_string(),
            "README.md block 2 (line 20: `export A=1`)"
        );
    }

    #[test]
    fn a_marker_must_mark_a_sh_block() {
        let stray = SAMPLE.replace("```sh\nserver", "Some text.\n```sh\nserver");
        assert_eq!(
            walkthrough_blocks(&stray).unwrap_err(),
            "README.md line 11: a walkthrough marker must be followed by a sh block, but line 12 is text"
        );
        let unknown = SAMPLE.replace("background, listens on 127.0.0.1:3000", "foreground");
        assert!(walkthrough_blocks(&unknown)
            .unwrap_err()
            .starts_with("README.md line 11: unknown walkthrough marker `foreground`"));
        let not_an_address = SAMPLE.replace("listens on 127.0.0.1:3000", "listens on port 3000");
        assert_eq!(
            walkthrough_blocks(&not_an_address).unwrap_err(),
            "README.md line 11: `port` in the walkthrough marker is not an address like 127.0.0.1:3000"
        );
    }

    #[test]
    fn the_readme_walkthrough_has_its_servers_and_every_checked_step() {
        let readme = std::fs::read_to_string(util::project_root().join("README.md")).unwrap();
        let blocks = walkthrough_blocks(&readme).unwrap();
        let listening: Vec<String> = blocks
            .iter()
            .filter_map(|block| block.listens_on.as_ref())
            .flatten()
            .map(SocketAddr::to_string)
            .collect();
        assert_eq!(
            listening,
            [
                "127.0.0.1:3000",
                "127.0.0.1:8090",
                "127.0.0.1:8080",
                "127.0.0.1:8081"
            ]
        );
        let plan = Plan::of(&blocks).unwrap();
        assert!(plan.activation < plan.conversations_listing);
        assert!(plan.conversations_listing < plan.agent_reply);
        assert!(plan.agent_reply < plan.deactivation);
    }

    #[test]
    fn curl_answers_are_read_from_the_write_out_lines() {
        let stderr = "noise\nreadme-walkthrough-http 201 POST http://127.0.0.1:8080/api/instance/new\nreadme-walkthrough-http 000 GET http://127.0.0.1:1/\n";
        assert_eq!(
            curl_answers(stderr),
            vec![
                CurlAnswer {
                    status: 201,
                    method: "POST".to_owned(),
                    url: "http://127.0.0.1:8080/api/instance/new".to_owned(),
                },
                CurlAnswer {
                    status: 0,
                    method: "GET".to_owned(),
                    url: "http://127.0.0.1:1/".to_owned(),
                },
            ]
        );
    }
}
