//! Source rules, read from `crates/*/src` (and `xtask/`): only delivery and client
//! crates name HTTP statuses; every crate root and module starts with `//!`; `anyhow`
//! stays in the binary crate and library crates do not print.

use std::fs;
use std::path::{Path, PathBuf};

use super::dependencies::CORE_CRATES;
use super::text::{
    code_lines, code_without_comments_and_literals, files_under, has_word, invokes_macro,
    is_ident_char,
};
use super::{relative, Problem};

/// Rule: the core crates name no HTTP status.
pub const HTTP_STATUS_RULE: &str = "http-statuses-only-in-delivery-and-clients";
/// Rule: every crate root starts with its `//!` documentation.
pub const CRATE_DOC_RULE: &str = "crate-roots-have-doc-comments";
/// Rule: every module file starts with `//!`.
pub const MODULE_DOC_RULE: &str = "modules-have-doc-comments";
/// Rule: `anyhow` only in the binary crate.
pub const ANYHOW_RULE: &str = "anyhow-only-in-the-binary-crate";
/// Rule: library crates do not print.
pub const PRINT_RULE: &str = "library-crates-do-not-print";

/// The comment that lets a line keep a number that looks like an HTTP status but is
/// not one (written on that line or the line above, with the reason after it).
pub const NOT_AN_HTTP_STATUS_MARKER: &str = "tidy: not an HTTP status";

/// TEMPORARY: files of the core crates that still name HTTP statuses while their
/// statuses are being replaced by named port errors. The HTTP-status rule skips them;
/// empty this list once that work is merged (and keep it empty).
pub const HTTP_STATUS_OFFENDERS_BEING_REMOVED: &[&str] = &[];

/// The binary crate: the only one that may use `anyhow` and print.
const BINARY_CRATE_DIR: &str = "crates/ryze";
/// Macros that write to stdout/stderr; library crates log with `tracing` instead.
const PRINT_MACROS: [&str; 5] = ["println", "print", "eprintln", "eprint", "dbg"];

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_default()
}

/// The crate folders: `crates/*` holding a `Cargo.toml`, sorted.
fn crate_dirs(root: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(root.join("crates"))
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    dirs.sort();
    dirs
}

/// Every `.rs` file under `crates/*/src`, with its crate folder.
fn crate_sources(root: &Path) -> Vec<(PathBuf, PathBuf)> {
    crate_dirs(root)
        .into_iter()
        .flat_map(|krate| {
            files_under(&krate.join("src"), ".rs")
                .into_iter()
                .map(move |file| (krate.clone(), file))
        })
        .collect()
}

/// Rule [`HTTP_STATUS_RULE`]: in the `src/` of the [`CORE_CRATES`] (outside
/// [`HTTP_STATUS_OFFENDERS_BEING_REMOVED`]), no `StatusCode`, no `…status…: u16`, and no
/// HTTP status number (100 to 599) matched or compared on.
pub fn http_statuses_only_in_delivery_and_clients(root: &Path) -> Vec<Problem> {
    let mut problems = Vec::new();
    for core in CORE_CRATES {
        let src = root.join("crates").join(core).join("src");
        if !src.is_dir() {
            problems.push(Problem::new(
                HTTP_STATUS_RULE,
                format!(
                    "crates/{core}/src does not exist; if the crate was renamed, update \
                     CORE_CRATES in xtask/src/tidy/dependencies.rs"
                ),
            ));
            continue;
        }
        for file in files_under(&src, ".rs") {
            let shown = relative(root, &file);
            if HTTP_STATUS_OFFENDERS_BEING_REMOVED.contains(&shown.as_str()) {
                continue;
            }
            for (line, finding) in http_status_findings(&read(&file)) {
                problems.push(Problem::new(
                    HTTP_STATUS_RULE,
                    format!(
                        "{shown}:{line}: {finding} in `{core}`; only delivery crates \
                         (ryze-api-server, ryze-bridge-server) and client crates know HTTP \
                         statuses: have the adapter turn the status into a named port \
                         error and match on that. If the number is not an HTTP status, \
                         put `// {NOT_AN_HTTP_STATUS_MARKER} (why)` on that line or the \
                         line above"
                    ),
                ));
            }
        }
    }
    problems
}

/// The HTTP statuses named in a Rust source, as `(line number, what)`. Comments and the
/// contents of literals are ignored; a line carrying [`NOT_AN_HTTP_STATUS_MARKER`] (or
/// following a line that does) is accepted.
pub fn http_status_findings(source: &str) -> Vec<(usize, String)> {
    let original: Vec<&str> = source.lines().collect();
    let code = code_without_comments_and_literals(source);
    let mut findings = Vec::new();
    for (index, line) in code.lines().enumerate() {
        let excused = original
            .get(index)
            .is_some_and(|l| l.contains(NOT_AN_HTTP_STATUS_MARKER))
            || index
                .checked_sub(1)
                .and_then(|above| original.get(above))
                .is_some_and(|l| l.contains(NOT_AN_HTTP_STATUS_MARKER));
        if excused {
            continue;
        }
        let number = index + 1;
        if has_word(line, "StatusCode") {
            findings.push((number, "`StatusCode`".to_owned()));
        }
        if let Some(field) = status_typed_u16(line) {
            findings.push((number, format!("`{field}: u16` (an HTTP status)")));
        }
        for (status, how) in status_numbers_compared(line) {
            findings.push((number, format!("the HTTP status number {status} ({how})")));
        }
    }
    findings
}

/// The name of a `…status…: u16` binding or field on `line`, if any.
fn status_typed_u16(line: &str) -> Option<String> {
    line.match_indices("u16").find_map(|(at, _)| {
        let after = line[at + 3..].chars().next();
        if after.is_some_and(is_ident_char) {
            return None;
        }
        let before = line[..at].trim_end();
        let before = before.strip_suffix(':').filter(|b| !b.ends_with(':'))?;
        let before = before.trim_end();
        let start = before
            .char_indices()
            .rev()
            .take_while(|&(_, c)| is_ident_char(c))
            .last()
            .map(|(i, _)| i)?;
        let name = &before[start..];
        name.to_ascii_lowercase()
            .contains("status")
            .then(|| name.to_owned())
    })
}

/// The integer literals of 100 to 599 on `line` that are matched or compared on: a
/// match arm or pattern (`404 =>`, `404 |`, `400..=499`, with no end below 100), an
/// (in)equality comparison, and, on a line that mentions a status, an ordering
/// comparison (`status >= 500`) or `Some(404)`.
fn status_numbers_compared(line: &str) -> Vec<(u16, &'static str)> {
    let mentions_status = line.to_ascii_lowercase().contains("status");
    integer_literals(line)
        .into_iter()
        .filter(|literal| literal.digits == 3 && (100..=599).contains(&literal.value))
        .filter_map(|literal| {
            let before = line[..literal.start].trim_end();
            let after = line[literal.end..].trim_start();
            let how = compared_how(before, after, mentions_status)?;
            Some((literal.value, how))
        })
        .collect()
}

/// An integer literal found on a line of code.
struct IntegerLiteral {
    /// Byte offsets of the literal (suffix included).
    start: usize,
    end: usize,
    /// Its value (saturated) and its number of digits (`_` separators excluded).
    value: u16,
    digits: usize,
}

/// The integer literals of `line` (plain or with an integer suffix; floats excluded).
fn integer_literals(line: &str) -> Vec<IntegerLiteral> {
    let bytes = line.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts_number = bytes[i].is_ascii_digit()
            && (i == 0 || !(is_ident_char(char::from(bytes[i - 1])) || bytes[i - 1] == b'.'));
        if !starts_number {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'_') {
            i += 1;
        }
        let digits: String = line[start..i].chars().filter(|c| *c != '_').collect();
        let suffix_start = i;
        while i < bytes.len() && is_ident_char(char::from(bytes[i])) {
            i += 1;
        }
        let suffix = &line[suffix_start..i];
        let is_float = line[i..].starts_with('.') && !line[i..].starts_with("..");
        let integer_suffix = suffix.is_empty()
            || ["u16", "u32", "u64", "usize", "i16", "i32", "i64"].contains(&suffix);
        if is_float || !integer_suffix {
            continue;
        }
        found.push(IntegerLiteral {
            start,
            end: i,
            value: digits.parse().unwrap_or(u16::MAX),
            digits: digits.len(),
        });
    }
    found
}

/// Whether the other end of a range next to a status-like literal is also one (or the
/// range is open): `400..=499` is about statuses, `2..=119` is not.
fn range_end_is_status_like(text: &str) -> bool {
    let end: String = text
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '_')
        .collect();
    let digits: String = end.chars().filter(|c| *c != '_').collect();
    match digits.parse::<u16>() {
        Ok(value) => digits.len() == 3 && (100..=599).contains(&value),
        Err(_) => digits.is_empty(),
    }
}

/// How a literal between `before` and `after` (trimmed) is matched or compared on, if
/// it is.
fn compared_how(before: &str, after: &str, mentions_status: bool) -> Option<&'static str> {
    if let Some(rest) = after.strip_prefix("..") {
        let rest = rest.strip_prefix('=').unwrap_or(rest).trim_start();
        return range_end_is_status_like(rest).then_some("a range");
    }
    if let Some(rest) = before
        .strip_suffix("..=")
        .or_else(|| before.strip_suffix(".."))
    {
        let start: String = rest
            .trim_end()
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_digit() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        return range_end_is_status_like(&start).then_some("a range");
    }
    let equality = before.ends_with("==")
        || before.ends_with("!=")
        || after.starts_with("==")
        || after.starts_with("!=");
    let ordering = before.ends_with(">=")
        || before.ends_with("<=")
        || (before.ends_with('>') && !before.ends_with("=>") && !before.ends_with("->"))
        || (before.ends_with('<') && !before.ends_with("<<"))
        || ((after.starts_with('<') || after.starts_with('>'))
            && !after.starts_with("<<")
            && !after.starts_with(">>"));
    if after.starts_with("=>") {
        Some("a match arm")
    } else if after.starts_with('|') && !after.starts_with("||") {
        Some("a pattern")
    } else if equality {
        Some("an equality comparison")
    } else if ordering && mentions_status {
        Some("an ordering comparison")
    } else if before.ends_with("Some(") && mentions_status {
        Some("`Some(…)` beside a status")
    } else {
        None
    }
}

/// The problem with `file` if it does not begin with a `//!` comment.
fn missing_module_doc(root: &Path, file: &Path, rule: &'static str) -> Option<Problem> {
    let text = read(file);
    let first = text
        .trim_start_matches('\u{feff}')
        .lines()
        .find(|line| !line.trim().is_empty());
    let shown = relative(root, file);
    match first {
        Some(line) if line.trim_start().starts_with("//!") => None,
        Some(line) => Some(Problem::new(
            rule,
            format!(
                "{shown}: begin the file with a `//!` doc comment saying what it is for \
                 (it begins with `{}`)",
                line.trim()
            ),
        )),
        None => Some(Problem::new(
            rule,
            format!("{shown}: the file is empty; begin it with a `//!` doc comment saying what it is for"),
        )),
    }
}

/// Rule [`CRATE_DOC_RULE`]: every crate under `crates/` has a `src/lib.rs` or
/// `src/main.rs`, and each crate root (also `src/bin/*.rs`) starts with `//!`.
pub fn crate_roots_have_doc_comments(root: &Path) -> Vec<Problem> {
    let mut problems = Vec::new();
    for krate in crate_dirs(root) {
        let src = krate.join("src");
        let mut roots: Vec<PathBuf> = ["lib.rs", "main.rs"]
            .iter()
            .map(|name| src.join(name))
            .filter(|path| path.is_file())
            .collect();
        roots.extend(files_under(&src.join("bin"), ".rs"));
        if roots.is_empty() {
            problems.push(Problem::new(
                CRATE_DOC_RULE,
                format!(
                    "{}: no src/lib.rs or src/main.rs found; a crate under crates/ needs one",
                    relative(root, &krate)
                ),
            ));
        }
        problems.extend(roots.iter().filter_map(|file| {
            missing_module_doc(root, file, CRATE_DOC_RULE).map(|mut problem| {
                problem.message += " (crate root: this is the crate's documentation)";
                problem
            })
        }));
    }
    problems
}

/// Rule [`MODULE_DOC_RULE`]: every `.rs` file of `crates/*/src`, `xtask/src` and
/// `xtask/tests` starts with `//!`.
pub fn modules_have_doc_comments(root: &Path) -> Vec<Problem> {
    let mut files: Vec<PathBuf> = crate_sources(root)
        .into_iter()
        .map(|(_, file)| file)
        .collect();
    files.extend(files_under(&root.join("xtask").join("src"), ".rs"));
    files.extend(files_under(&root.join("xtask").join("tests"), ".rs"));
    files
        .iter()
        .filter_map(|file| missing_module_doc(root, file, MODULE_DOC_RULE))
        .collect()
}

/// Rule [`ANYHOW_RULE`]: no `anyhow` outside the binary crate's sources.
pub fn anyhow_only_in_the_binary_crate(root: &Path) -> Vec<Problem> {
    let binary = root.join(BINARY_CRATE_DIR);
    let mut problems = Vec::new();
    for (krate, file) in crate_sources(root) {
        if krate == binary {
            continue;
        }
        let text = read(&file);
        for (number, line) in code_lines(&text) {
            if has_word(line, "anyhow") {
                problems.push(Problem::new(
                    ANYHOW_RULE,
                    format!(
                        "{}:{number}: `anyhow` is only for the binary crate \
                         ({BINARY_CRATE_DIR}); library crates return typed errors \
                         (`thiserror` enums): `{}`",
                        relative(root, &file),
                        line.trim()
                    ),
                ));
            }
        }
    }
    problems
}

/// Rule [`PRINT_RULE`]: no print macro in library code (the binary crate and binary
/// targets may print).
pub fn library_crates_do_not_print(root: &Path) -> Vec<Problem> {
    let binary = root.join(BINARY_CRATE_DIR);
    let mut problems = Vec::new();
    for (krate, file) in crate_sources(root) {
        let src = krate.join("src");
        if krate == binary || file == src.join("main.rs") || file.starts_with(src.join("bin")) {
            continue;
        }
        let text = read(&file);
        for (number, line) in code_lines(&text) {
            for name in PRINT_MACROS.iter().filter(|name| invokes_macro(line, name)) {
                problems.push(Problem::new(
                    PRINT_RULE,
                    format!(
                        "{}:{number}: `{name}!` in a library crate; log with `tracing` \
                         (or put the detail in an assertion message) instead: `{}`",
                        relative(root, &file),
                        line.trim()
                    ),
                ));
            }
        }
    }
    problems
}
