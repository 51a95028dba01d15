//! The part of `cargo metadata --format-version 1` that tidy reads: the packages, which
//! of them are workspace members, and the resolved dependency graph. Public so that the
//! tidy tests can build synthetic graphs (or alter the real one) and run the rules on it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use super::TidyError;

/// `cargo metadata` output, as far as tidy needs it.
#[derive(Debug, Clone, Deserialize)]
pub struct Metadata {
    /// Every package in the graph (workspace members and their dependencies).
    pub packages: Vec<Package>,
    /// The ids of the workspace members.
    pub workspace_members: Vec<String>,
    /// The folder of the workspace's root manifest.
    pub workspace_root: PathBuf,
    /// The resolved graph (absent with `--no-deps`).
    pub resolve: Option<Resolve>,
}

/// One package.
#[derive(Debug, Clone, Deserialize)]
pub struct Package {
    /// The package id (`cargo metadata`'s opaque identifier).
    pub id: String,
    /// The package name, such as `ryze-domain`.
    pub name: String,
    /// Its `Cargo.toml`.
    pub manifest_path: PathBuf,
}

/// The resolved dependency graph.
#[derive(Debug, Clone, Deserialize)]
pub struct Resolve {
    /// One node per package, with its resolved dependencies.
    pub nodes: Vec<Node>,
}

/// A package and the packages it depends on once features are resolved.
#[derive(Debug, Clone, Deserialize)]
pub struct Node {
    /// The package id.
    pub id: String,
    /// Its dependencies.
    pub deps: Vec<NodeDependency>,
}

/// One resolved dependency edge.
#[derive(Debug, Clone, Deserialize)]
pub struct NodeDependency {
    /// The id of the package depended on.
    pub pkg: String,
    /// How it is depended on (normal, dev, build; per target).
    pub dep_kinds: Vec<DependencyKind>,
}

/// One kind of an edge: `kind` is `None` for a normal dependency, else `"dev"` or
/// `"build"`.
#[derive(Debug, Clone, Deserialize)]
pub struct DependencyKind {
    /// `None` (normal), `Some("dev")` or `Some("build")`.
    pub kind: Option<String>,
}

impl Metadata {
    /// Runs `cargo metadata` over the workspace at `root`, with every feature of every
    /// member enabled (so that an optional dependency cannot hide from the rules).
    pub fn load(root: &Path) -> Result<Self, TidyError> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let output = Command::new(cargo)
            .current_dir(root)
            .args(["metadata", "--format-version", "1", "--all-features"])
            .output()
            .map_err(|e| TidyError(format!("could not run `cargo metadata`: {e}")))?;
        if !output.status.success() {
            return Err(TidyError(format!(
                "`cargo metadata` failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        Self::from_json(&String::from_utf8_lossy(&output.stdout))
    }

    /// Parses `cargo metadata --format-version 1` output.
    pub fn from_json(json: &str) -> Result<Self, TidyError> {
        serde_json::from_str(json)
            .map_err(|e| TidyError(format!("cannot read `cargo metadata` output: {e}")))
    }

    /// The package with this id.
    pub fn package(&self, id: &str) -> Option<&Package> {
        self.packages.iter().find(|package| package.id == id)
    }

    /// The workspace member named `name`.
    pub fn member(&self, name: &str) -> Option<&Package> {
        self.members().find(|package| package.name == name)
    }

    /// The workspace members.
    pub fn members(&self) -> impl Iterator<Item = &Package> {
        self.packages
            .iter()
            .filter(|package| self.workspace_members.contains(&package.id))
    }

    /// Whether the package with this id is a workspace member.
    pub fn is_member(&self, id: &str) -> bool {
        self.workspace_members.iter().any(|member| member == id)
    }

    /// The normal (not dev, not build) dependencies of each package, by package id.
    pub fn normal_dependencies(&self) -> HashMap<&str, Vec<&str>> {
        let nodes = self.resolve.as_ref().map_or(&[][..], |r| &r.nodes[..]);
        nodes
            .iter()
            .map(|node| {
                let normal = node
                    .deps
                    .iter()
                    .filter(|dep| dep.dep_kinds.iter().any(|k| k.kind.is_none()))
                    .map(|dep| dep.pkg.as_str())
                    .collect();
                (node.id.as_str(), normal)
            })
            .collect()
    }

    /// Adds a normal dependency edge `from` → `to` (both package names) to the resolved
    /// graph; for tests that show a rule failing on a dependency the tree does not have.
    pub fn add_normal_dependency(&mut self, from: &str, to: &str) -> Result<(), TidyError> {
        let find = |name: &str| {
            self.packages
                .iter()
                .find(|package| package.name == name)
                .map(|package| package.id.clone())
                .ok_or_else(|| TidyError(format!("no package named `{name}` in the metadata")))
        };
        let (from_id, to_id) = (find(from)?, find(to)?);
        let node = self
            .resolve
            .as_mut()
            .and_then(|resolve| resolve.nodes.iter_mut().find(|node| node.id == from_id))
            .ok_or_else(|| TidyError(format!("`{from}` has no node in the resolved graph")))?;
        node.deps.push(NodeDependency {
            pkg: to_id,
            dep_kinds: vec![DependencyKind { kind: None }],
        });
        Ok(())
    }
}
