//! Tidy checks over the repository's sources and docs (in the style of rust-analyzer's
//! `tidy` tests). They run with the workspace tests; each failure names the file and
//! what to fix.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};

/// The binary crate: the only one that may use `anyhow` and print.
const BINARY_CRATE_DIR: &str = "crates/ryze";
/// Macros that write to stdout/stderr; library crates log with `tracing` instead.
const PRINT_MACROS: [&str; 5] = ["println", "print", "eprintln", "eprint", "dbg"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// `path` relative to the root, with `/` separators, for messages.
fn rel(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", rel(path)))
}

/// The crate folders: `crates/*` holding a `Cargo.toml`, sorted.
fn crate_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(root().join("crates"))
        .expect("cannot read crates/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    dirs.sort();
    dirs
}

/// Every file under `dir` (recursively) whose name ends with `suffix`, sorted.
fn files_under(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().ends_with(suffix) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Every `.rs` file under `crates/*/src`, with its crate folder.
fn crate_sources() -> Vec<(PathBuf, PathBuf)> {
    crate_dirs()
        .into_iter()
        .flat_map(|krate| {
            files_under(&krate.join("src"), ".rs")
                .into_iter()
                .map(move |file| (krate.clone(), file))
        })
        .collect()
}

/// Lines that are code, not comments (`//…` lines are skipped), with 1-based numbers.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line))
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Whether `word` occurs in `line` as a whole identifier.
fn has_word(line: &str, word: &str) -> bool {
    line.match_indices(word).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + word.len()..].chars().next();
        !before.is_some_and(is_ident_char) && !after.is_some_and(is_ident_char)
    })
}

/// Whether `line` invokes the macro `name!` (as a whole identifier).
fn invokes_macro(line: &str, name: &str) -> bool {
    line.match_indices(name).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let rest = &line[at + name.len()..];
        !before.is_some_and(is_ident_char) && rest.starts_with('!') && !rest.starts_with("!=")
    })
}

/// Fails listing every problem, one per line.
fn report(check: &str, problems: &[String]) {
    assert!(
        problems.is_empty(),
        "tidy check `{check}` found {} problem(s):\n  {}\n",
        problems.len(),
        problems.join("\n  ")
    );
}

/// Problem with `file` if it does not begin with a `//!` comment.
fn missing_module_doc(file: &Path) -> Option<String> {
    let text = read(file);
    let first = text
        .trim_start_matches('\u{feff}')
        .lines()
        .find(|line| !line.trim().is_empty());
    match first {
        Some(line) if line.trim_start().starts_with("//!") => None,
        Some(line) => Some(format!(
            "{}: begin the file with a `//!` doc comment saying what it is for (it begins with `{}`)",
            rel(file),
            line.trim()
        )),
        None => Some(format!(
            "{}: the file is empty; begin it with a `//!` doc comment saying what it is for",
            rel(file)
        )),
    }
}

#[test]
fn crate_roots_have_doc_comments() {
    let mut problems = Vec::new();
    for krate in crate_dirs() {
        let src = krate.join("src");
        let mut roots: Vec<PathBuf> = ["lib.rs", "main.rs"]
            .iter()
            .map(|name| src.join(name))
            .filter(|path| path.is_file())
            .collect();
        roots.extend(files_under(&src.join("bin"), ".rs"));
        if roots.is_empty() {
            problems.push(format!(
                "{}: no src/lib.rs or src/main.rs found; a crate under crates/ needs one",
                rel(&krate)
            ));
        }
        problems.extend(roots.iter().filter_map(|root| {
            missing_module_doc(root)
                .map(|p| format!("{p} (crate root: this is the crate's documentation)"))
        }));
    }
    report("crate_roots_have_doc_comments", &problems);
}

#[test]
fn modules_have_doc_comments() {
    let mut files: Vec<PathBuf> = crate_sources().into_iter().map(|(_, file)| file).collect();
    files.extend(files_under(&root().join("xtask").join("src"), ".rs"));
    files.extend(files_under(&root().join("xtask").join("tests"), ".rs"));
    let problems: Vec<String> = files.iter().filter_map(|f| missing_module_doc(f)).collect();
    report("modules_have_doc_comments", &problems);
}

#[test]
fn anyhow_only_in_the_binary_crate() {
    let binary = root().join(BINARY_CRATE_DIR);
    let mut problems = Vec::new();
    for (krate, file) in crate_sources() {
        if krate == binary {
            continue;
        }
        let text = read(&file);
        for (number, line) in code_lines(&text) {
            if has_word(line, "anyhow") {
                problems.push(format!(
                    "{}:{number}: `anyhow` is only for the binary crate ({BINARY_CRATE_DIR}); \
                     library crates return typed errors (`thiserror` enums): `{}`",
                    rel(&file),
                    line.trim()
                ));
            }
        }
    }
    report("anyhow_only_in_the_binary_crate", &problems);
}

#[test]
fn library_crates_do_not_print() {
    let binary = root().join(BINARY_CRATE_DIR);
    let mut problems = Vec::new();
    for (krate, file) in crate_sources() {
        // The binary crate prints; so may the binary targets of other crates.
        let src = krate.join("src");
        if krate == binary || file == src.join("main.rs") || file.starts_with(src.join("bin")) {
            continue;
        }
        let text = read(&file);
        for (number, line) in code_lines(&text) {
            for name in PRINT_MACROS.iter().filter(|name| invokes_macro(line, name)) {
                problems.push(format!(
                    "{}:{number}: `{name}!` in a library crate; log with `tracing` \
                     (or put the detail in an assertion message) instead: `{}`",
                    rel(&file),
                    line.trim()
                ));
            }
        }
    }
    report("library_crates_do_not_print", &problems);
}

/// The `[workspace] members` of the root `Cargo.toml` (`dir/*` globs expanded).
fn workspace_members() -> Vec<PathBuf> {
    let manifest = read(&root().join("Cargo.toml"));
    let start = manifest
        .find("members")
        .and_then(|at| manifest[at..].find('[').map(|open| at + open + 1))
        .expect("root Cargo.toml: no `members = [...]` in [workspace]");
    let end = start
        + manifest[start..]
            .find(']')
            .expect("root Cargo.toml: `members = [` is not closed");
    let mut members = Vec::new();
    for entry in manifest[start..end].split(',') {
        let entry = entry
            .lines()
            .map(|l| l.split('#').next().unwrap_or(""))
            .collect::<String>();
        let entry = entry.trim().trim_matches('"');
        if entry.is_empty() {
            continue;
        }
        if let Some(parent) = entry.strip_suffix("/*") {
            let mut dirs: Vec<PathBuf> = fs::read_dir(root().join(parent))
                .unwrap_or_else(|e| panic!("root Cargo.toml: cannot read member glob {entry}: {e}"))
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.join("Cargo.toml").is_file())
                .collect();
            dirs.sort();
            members.extend(dirs);
        } else {
            members.push(root().join(entry));
        }
    }
    members
}

/// The `name` of the `[package]` section of `dir/Cargo.toml`.
fn package_name(dir: &Path) -> String {
    let manifest_path = dir.join("Cargo.toml");
    let manifest = read(&manifest_path);
    let mut in_package = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package {
            if let Some(value) = line.strip_prefix("name") {
                if let Some(value) = value.trim_start().strip_prefix('=') {
                    return value.trim().trim_matches('"').to_owned();
                }
            }
        }
    }
    panic!("{}: no `name` in [package]", rel(&manifest_path));
}

/// Whether `name` occurs in `text` as a whole package name (not inside a longer one
/// such as `ryze` inside `ryze-domain`).
fn mentions_package(text: &str, name: &str) -> bool {
    let part_of_name = |c: char| is_ident_char(c) || c == '-';
    text.match_indices(name).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        !before.is_some_and(part_of_name) && !after.is_some_and(part_of_name)
    })
}

#[test]
fn architecture_doc_mentions_every_member() {
    let doc = root().join("docs").join("ARCHITECTURE.md");
    let names: Vec<String> = workspace_members()
        .iter()
        .map(|m| package_name(m))
        .collect();
    if !doc.is_file() {
        report(
            "architecture_doc_mentions_every_member",
            &[format!(
                "docs/ARCHITECTURE.md does not exist: create it and describe every workspace member ({})",
                names.join(", ")
            )],
        );
        return;
    }
    let text = read(&doc);
    let problems: Vec<String> = names
        .iter()
        .filter(|name| !mentions_package(&text, name))
        .map(|name| {
            format!(
                "docs/ARCHITECTURE.md: never mentions the workspace member `{name}`; \
                 say what it is for and where it sits (by its package name)"
            )
        })
        .collect();
    report("architecture_doc_mentions_every_member", &problems);
}

/// Every `migrations` folder in the repository (outside `target/` and hidden folders).
fn migration_dirs() -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if !path.is_dir() || name.starts_with('.') || name == "target" || name == "node_modules"
            {
                continue;
            }
            if name == "migrations" {
                found.push(path);
            } else {
                stack.push(path);
            }
        }
    }
    found.sort();
    found
}

#[test]
fn migrations_have_up_and_down() {
    let mut problems = Vec::new();
    for migrations in migration_dirs() {
        let mut dirs: Vec<PathBuf> = fs::read_dir(&migrations)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", rel(&migrations)))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        for dir in dirs {
            for file in ["up.sql", "down.sql"] {
                if !dir.join(file).is_file() {
                    let what = if file == "up.sql" {
                        "the migration itself"
                    } else {
                        "the statements that undo up.sql"
                    };
                    problems.push(format!(
                        "{}: missing {file}; every migration needs up.sql and down.sql (add {file} with {what})",
                        rel(&dir)
                    ));
                }
            }
        }
    }
    report("migrations_have_up_and_down", &problems);
}

#[test]
fn helpers_match_whole_words() {
    assert!(has_word("use anyhow::Result;", "anyhow"));
    assert!(!has_word("let anyhow_like = 1;", "anyhow"));
    assert!(invokes_macro("    println!(\"x\");", "println"));
    assert!(!invokes_macro("    eprintln!(\"x\");", "println"));
    assert!(!invokes_macro("    println!(\"x\");", "print"));
    assert!(invokes_macro("let v = dbg!(x);", "dbg"));
    assert!(mentions_package("the `ryze` binary", "ryze"));
    assert!(!mentions_package("see ryze-domain", "ryze"));
    assert!(mentions_package("ryze-domain, ryze-ports", "ryze-domain"));
}
