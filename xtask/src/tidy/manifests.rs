//! Manifest rules, read from each member's `Cargo.toml`: every member inherits the
//! workspace lints, and every dependency is declared once in the root manifest's
//! `[workspace.dependencies]` and taken from there with `workspace = true`.

use std::fs;
use std::path::Path;

use toml::{Table, Value};

use super::metadata::Metadata;
use super::{relative, Problem};

/// Rule: every member has `[lints] workspace = true`.
pub const WORKSPACE_LINTS_RULE: &str = "members-inherit-workspace-lints";
/// Rule: every dependency of a member is `workspace = true`.
pub const WORKSPACE_DEPENDENCIES_RULE: &str = "dependencies-come-from-the-workspace";

const DEPENDENCY_TABLES: [&str; 3] = ["dependencies", "dev-dependencies", "build-dependencies"];

/// Reads and parses a member's manifest, or says why it could not.
fn parse_manifest(path: &Path) -> Result<Table, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))?;
    text.parse::<Table>()
        .map_err(|e| format!("cannot parse it: {e}"))
}

/// Runs `check` on every member's parsed manifest (with its path for messages).
fn each_member_manifest(
    metadata: &Metadata,
    rule: &'static str,
    mut check: impl FnMut(&str, &Table, &mut Vec<Problem>),
) -> Vec<Problem> {
    let mut problems = Vec::new();
    let root = &metadata.workspace_root;
    for member in metadata.members() {
        let shown = relative(root, &member.manifest_path);
        match parse_manifest(&member.manifest_path) {
            Ok(manifest) => check(&shown, &manifest, &mut problems),
            Err(error) => problems.push(Problem::new(rule, format!("{shown}: {error}"))),
        }
    }
    problems
}

/// Rule [`WORKSPACE_LINTS_RULE`].
pub fn members_inherit_workspace_lints(metadata: &Metadata) -> Vec<Problem> {
    each_member_manifest(
        metadata,
        WORKSPACE_LINTS_RULE,
        |shown, manifest, problems| {
            if !inherits_workspace_lints(manifest) {
                problems.push(Problem::new(
                    WORKSPACE_LINTS_RULE,
                    format!(
                        "{shown}: the crate does not inherit the workspace lints; add \
                     `[lints]` with `workspace = true` (the lints live in the root \
                     Cargo.toml's `[workspace.lints]`)"
                    ),
                ));
            }
        },
    )
}

/// Whether a parsed manifest has `[lints] workspace = true`.
pub fn inherits_workspace_lints(manifest: &Table) -> bool {
    manifest
        .get("lints")
        .and_then(|lints| lints.get("workspace"))
        .and_then(Value::as_bool)
        == Some(true)
}

/// Rule [`WORKSPACE_DEPENDENCIES_RULE`].
pub fn dependencies_come_from_the_workspace(metadata: &Metadata) -> Vec<Problem> {
    each_member_manifest(
        metadata,
        WORKSPACE_DEPENDENCIES_RULE,
        |shown, manifest, problems| {
            for (table, name) in dependencies_not_from_the_workspace(manifest) {
                problems.push(Problem::new(
                    WORKSPACE_DEPENDENCIES_RULE,
                    format!(
                        "{shown}: `{name}` in [{table}] is not taken from the workspace; \
                         declare it (version, default features) once in the root \
                         Cargo.toml's [workspace.dependencies] and write \
                         `{name} = {{ workspace = true }}` here (adding features or \
                         `optional = true` as needed)"
                    ),
                ));
            }
        },
    )
}

/// The `(table, dependency)` pairs of a parsed manifest whose entry lacks
/// `workspace = true`, in every dependency table (also `[target.'cfg'.…]`).
pub fn dependencies_not_from_the_workspace(manifest: &Table) -> Vec<(String, String)> {
    let mut tables: Vec<(String, &Table)> = DEPENDENCY_TABLES
        .iter()
        .filter_map(|name| Some((name.to_string(), manifest.get(*name)?.as_table()?)))
        .collect();
    if let Some(targets) = manifest.get("target").and_then(Value::as_table) {
        for (target, sections) in targets {
            for name in DEPENDENCY_TABLES {
                if let Some(table) = sections.get(name).and_then(Value::as_table) {
                    tables.push((format!("target.{target}.{name}"), table));
                }
            }
        }
    }
    let mut found = Vec::new();
    for (table_name, table) in tables {
        for (dependency, entry) in table {
            let from_workspace = entry.get("workspace").and_then(Value::as_bool) == Some(true);
            if !from_workspace {
                found.push((table_name.clone(), dependency.clone()));
            }
        }
    }
    found
}
