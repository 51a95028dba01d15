//! `cargo xtask tidy`: the repository's structural rules, checked from `cargo metadata`,
//! `cargo tree`, the manifests and the sources. Each rule is a function returning the
//! [`Problem`]s it found; every problem names its rule and says how to fix it.
//!
//! The rules, by module:
//! - [`dependencies`]: the domain, ports and use-case crates depend on no infrastructure
//!   (web framework, HTTP client, database driver, broker client, WebSocket library),
//!   the layers depend inward (delivery on no adapter, one service on none of the
//!   other's crates, nothing that ships on a test tool), and the production build of
//!   `ryze` (no default features) links no simulator;
//! - [`manifests`]: every member inherits the workspace lints and takes every dependency
//!   from `[workspace.dependencies]`;
//! - [`sources`]: only delivery and client crates name HTTP statuses; every crate and
//!   module has its `//!` documentation; `anyhow` and printing stay in binaries;
//! - [`repository`]: no file cites documents outside the repository, the architecture
//!   doc mentions every member, every migration has `up.sql` and `down.sql`.

pub mod dependencies;
pub mod manifests;
pub mod metadata;
pub mod repository;
pub mod sources;
pub mod text;

use std::fmt;
use std::path::{Path, PathBuf};

pub use metadata::Metadata;

/// One broken rule: which rule, and what to do about it (file and line when known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The rule's name, as printed and as named in this module's documentation.
    pub rule: &'static str,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl Problem {
    /// A problem with `rule`.
    pub fn new(rule: &'static str, message: impl Into<String>) -> Self {
        Problem {
            rule,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tidy rule `{}`: {}", self.rule, self.message)
    }
}

/// Why tidy could not run at all (as opposed to a rule finding problems).
#[derive(Debug)]
pub struct TidyError(pub String);

impl fmt::Display for TidyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TidyError {}

/// Runs every rule over the workspace at `root`; returns every problem found.
pub fn run(root: &Path) -> Result<Vec<Problem>, TidyError> {
    let metadata = Metadata::load(root)?;
    let production_tree = dependencies::production_dependency_tree(root)?;
    let mut problems = Vec::new();
    problems.extend(dependencies::core_crates_free_of_infrastructure(&metadata));
    problems.extend(dependencies::layers_depend_inward(&metadata));
    problems.extend(dependencies::production_build_has_no_simulator(
        &production_tree,
    ));
    problems.extend(manifests::members_inherit_workspace_lints(&metadata));
    problems.extend(manifests::dependencies_come_from_the_workspace(&metadata));
    problems.extend(sources::http_statuses_only_in_delivery_and_clients(root));
    problems.extend(sources::crate_roots_have_doc_comments(root));
    problems.extend(sources::modules_have_doc_comments(root));
    problems.extend(sources::anyhow_only_in_the_binary_crate(root));
    problems.extend(sources::library_crates_do_not_print(root));
    problems.extend(repository::no_citation_of_outside_documents(root));
    problems.extend(repository::architecture_doc_mentions_every_member(
        root, &metadata,
    ));
    problems.extend(repository::migrations_have_up_and_down(root));
    Ok(problems)
}

/// The workspace root of this checkout (the parent of `xtask/`).
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// `path` relative to `root`, with `/` separators, for messages.
pub(crate) fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}
