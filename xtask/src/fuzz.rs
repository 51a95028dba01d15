//! `cargo xtask fuzz --seconds N`: runs every cargo-fuzz target in `fuzz/` (its own
//! workspace) for N seconds each and fails on the first crash. Installs cargo-fuzz when it
//! is missing; runs on the stable toolchain with `RUSTC_BOOTSTRAP=1`.
//!
//! Each target starts from `fuzz/corpus/<target>` (kept between runs, not committed) and
//! the committed seeds in `fuzz/seeds/<target>`; the engine-event target also gets every
//! JSON example of `docs/engine-contract.md`, taken from the document on each run. A
//! crashing input is saved under `fuzz/artifacts/<target>/`.

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use clap::Args;

use crate::util;

/// The targets, in `fuzz/fuzz_targets/`.
const TARGETS: [&str; 4] = [
    "engine_event",
    "chatwoot_webhook",
    "whatsapp_to_chatwoot",
    "chatwoot_to_whatsapp",
];

#[derive(Args, Debug, Clone)]
pub(crate) struct FuzzArgs {
    /// How long to fuzz each target, in seconds.
    #[arg(long, default_value_t = 60)]
    pub(crate) seconds: u64,
    /// Fuzz only this target (default: all).
    #[arg(long)]
    pub(crate) target: Option<String>,
}

pub(crate) fn run(args: &FuzzArgs) -> Result<u8> {
    ensure_cargo_fuzz()?;
    let root = util::project_root();
    let fuzz_dir = root.join("fuzz");
    seed_engine_events(&root)?;
    let targets: Vec<&str> = match &args.target {
        Some(name) if TARGETS.contains(&name.as_str()) => vec![name.as_str()],
        Some(name) => bail!(
            "unknown fuzz target `{name}`; known: {}",
            TARGETS.join(", ")
        ),
        None => TARGETS.to_vec(),
    };
    // One build for every target, so the time each target runs is fuzzing only.
    let build = util::run_inherited(&mut cargo_fuzz("build", &fuzz_dir))?;
    if !build.success() {
        return Ok(util::exit_code(build));
    }
    for target in targets {
        util::bail_if_interrupted()?;
        let corpus = fuzz_dir.join("corpus").join(target);
        fs::create_dir_all(&corpus).with_context(|| format!("creating {}", corpus.display()))?;
        let mut command = cargo_fuzz("run", &fuzz_dir);
        command.arg(target).arg(&corpus);
        let seeds = fuzz_dir.join("seeds").join(target);
        if seeds.is_dir() {
            command.arg(&seeds);
        }
        command.args([
            "--",
            &format!("-max_total_time={}", args.seconds),
            "-timeout=10",
            "-print_final_stats=1",
        ]);
        println!("\n==> fuzzing {target} for {}s", args.seconds);
        let status = util::run_inherited(&mut command)?;
        if !status.success() {
            println!("<== {target} found a crash: see fuzz/artifacts/{target}/");
            return Ok(util::exit_code(status));
        }
    }
    Ok(0)
}

/// `cargo fuzz <verb>` with the options every call shares: stable with
/// `RUSTC_BOOTSTRAP=1`, no sanitizer (the code under test is safe Rust: panics, overflows
/// and hangs are what we look for, and a build without ASan is faster), debug assertions
/// on. Build and run use the same options, so `run` reuses the build.
fn cargo_fuzz(verb: &str, fuzz_dir: &Path) -> Command {
    let mut command = util::cargo();
    command
        .env("RUSTC_BOOTSTRAP", "1")
        .args(["fuzz", verb, "--fuzz-dir"])
        .arg(fuzz_dir)
        .args(["--sanitizer", "none", "--debug-assertions"]);
    command
}

fn ensure_cargo_fuzz() -> Result<()> {
    let installed = util::cargo()
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|output| output.status.success());
    if installed {
        return Ok(());
    }
    println!("==> installing cargo-fuzz (cargo install cargo-fuzz --locked)");
    let status = util::run_inherited(util::cargo().args(["install", "cargo-fuzz", "--locked"]))?;
    if !status.success() {
        bail!("could not install cargo-fuzz");
    }
    Ok(())
}

/// Writes every ```` ```json ```` block of `docs/engine-contract.md` into the engine-event
/// corpus as `doc-example-<n>.json`: the events, and the commands as nearby shapes.
fn seed_engine_events(root: &Path) -> Result<()> {
    let document = root.join("docs").join("engine-contract.md");
    let text =
        fs::read_to_string(&document).with_context(|| format!("reading {}", document.display()))?;
    let corpus = root.join("fuzz").join("corpus").join("engine_event");
    fs::create_dir_all(&corpus).with_context(|| format!("creating {}", corpus.display()))?;
    for (number, example) in json_blocks(&text).into_iter().enumerate() {
        let path = corpus.join(format!("doc-example-{number}.json"));
        fs::write(&path, example).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// The contents of the ```` ```json ```` fenced blocks of a markdown text, whatever
/// follows `json` on the fence (the engine contract tags each block: `json event`, …).
fn json_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match current.as_mut() {
            None if line.trim_start().starts_with("```json") => current = Some(String::new()),
            None => {}
            Some(block) if line.trim() == "```" => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_blocks_are_taken_from_markdown() {
        let markdown =
            "intro\n```json event\n{\"a\": 1}\n```\n```text\nno\n```\n```json\n[]\n```\n";
        assert_eq!(json_blocks(markdown), ["{\"a\": 1}\n", "[]\n"]);
    }

    #[test]
    fn the_engine_contract_has_examples_to_seed_with() {
        let text = fs::read_to_string(util::project_root().join("docs/engine-contract.md"))
            .expect("the engine contract is readable");
        assert!(json_blocks(&text).len() >= 19);
    }

    #[test]
    fn every_target_has_a_source_file() {
        for target in TARGETS {
            let source = util::project_root().join(format!("fuzz/fuzz_targets/{target}.rs"));
            assert!(source.is_file(), "{}", source.display());
        }
    }
}
