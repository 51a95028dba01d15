//! Dependency rules, read from the resolved graph: the core crates (domain, ports, use
//! cases) stay free of infrastructure, and the production build of `ryze` links no
//! simulator.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;
use std::process::Command;

use super::metadata::Metadata;
use super::{Problem, TidyError};

/// Rule: the core crates depend on no infrastructure library.
pub const CORE_CRATES_RULE: &str = "core-crates-free-of-infrastructure";
/// Rule: the production build of `ryze` links no simulator.
pub const PRODUCTION_BUILD_RULE: &str = "production-build-has-no-simulator";

/// The crates that hold the domain, the ports and the use cases: the hexagon's inside.
pub const CORE_CRATES: [&str; 4] = [
    "ryze-domain",
    "ryze-ports",
    "ryze-api-use-cases",
    "ryze-bridge-use-cases",
];

/// The `cargo build` arguments of the production build (documented in
/// `docs/configuration.md`): the `ryze` binary without the `demo` feature.
pub const PRODUCTION_BUILD_ARGS: [&str; 3] = ["-p", "ryze", "--no-default-features"];

/// The kind of infrastructure library `package` is, if it is one the core crates must
/// not depend on.
pub fn infrastructure_kind(package: &str) -> Option<&'static str> {
    const WEBSOCKET: [&str; 3] = ["tokio-tungstenite", "tungstenite", "actix-ws"];
    const HTTP_CLIENTS: [&str; 2] = ["reqwest", "hyper"];
    const DATABASE_DRIVERS: [&str; 2] = ["tokio-postgres", "libsqlite3-sys"];
    const BROKER_CLIENTS: [&str; 3] = ["async-nats", "redis", "lapin"];
    if WEBSOCKET.contains(&package) {
        Some("a WebSocket library")
    } else if package.starts_with("actix-") || package == "actix" {
        Some("a web framework")
    } else if HTTP_CLIENTS.contains(&package) {
        Some("an HTTP client")
    } else if DATABASE_DRIVERS.contains(&package)
        || package.starts_with("diesel")
        || package.starts_with("deadpool")
    {
        Some("a database driver")
    } else if BROKER_CLIENTS.contains(&package) {
        Some("a message broker client")
    } else {
        None
    }
}

/// Rule [`CORE_CRATES_RULE`]: no [`CORE_CRATES`] member reaches an infrastructure
/// library through its normal dependencies, directly or through workspace crates.
pub fn core_crates_free_of_infrastructure(metadata: &Metadata) -> Vec<Problem> {
    let dependencies = metadata.normal_dependencies();
    let mut problems = Vec::new();
    for core in CORE_CRATES {
        let Some(package) = metadata.member(core) else {
            problems.push(Problem::new(
                CORE_CRATES_RULE,
                format!(
                    "`{core}` is not a workspace member; if it was renamed, update \
                     CORE_CRATES in xtask/src/tidy/dependencies.rs"
                ),
            ));
            continue;
        };
        for (path, kind) in infrastructure_paths(metadata, &dependencies, &package.id) {
            problems.push(Problem::new(
                CORE_CRATES_RULE,
                format!(
                    "`{core}` depends on `{}` ({kind}) through {}; the domain, ports and \
                     use-case crates hold rules and port traits only: put the library \
                     behind a port in an adapter crate (a client, store or delivery \
                     crate) and remove the dependency",
                    path.last().map_or("", String::as_str),
                    path.join(" → "),
                ),
            ));
        }
    }
    problems
}

/// The dependency paths from `start` to infrastructure libraries, walking normal
/// dependencies through workspace members (a third-party crate's own dependencies are
/// its business) other than the core crates.
fn infrastructure_paths(
    metadata: &Metadata,
    dependencies: &HashMap<&str, Vec<&str>>,
    start: &str,
) -> Vec<(Vec<String>, &'static str)> {
    let name = |id: &str| {
        metadata
            .package(id)
            .map_or(id, |p| p.name.as_str())
            .to_owned()
    };
    let mut found = Vec::new();
    let mut seen: HashSet<&str> = HashSet::from([start]);
    let mut queue = VecDeque::from([(start, vec![name(start)])]);
    while let Some((id, path)) = queue.pop_front() {
        for &dependency in dependencies.get(id).into_iter().flatten() {
            if !seen.insert(dependency) {
                continue;
            }
            let mut dependency_path = path.clone();
            dependency_path.push(name(dependency));
            if let Some(kind) = infrastructure_kind(&name(dependency)) {
                found.push((dependency_path, kind));
            } else if metadata.is_member(dependency)
                && !CORE_CRATES.contains(&name(dependency).as_str())
            {
                // Another core crate is checked on its own: its problems are reported
                // once, under its name.
                queue.push_back((dependency, dependency_path));
            }
        }
    }
    found
}

/// `cargo tree --prefix none --format {p} -e normal,build` with `args` (such as
/// [`PRODUCTION_BUILD_ARGS`]): one `name vX.Y.Z` line per package a build links.
pub fn dependency_tree(root: &Path, args: &[&str]) -> Result<String, TidyError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(root)
        .args(["tree", "--prefix", "none", "--format", "{p}"])
        .args(["--edges", "normal,build"])
        .args(args)
        .output()
        .map_err(|e| TidyError(format!("could not run `cargo tree`: {e}")))?;
    if !output.status.success() {
        return Err(TidyError(format!(
            "`cargo tree {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The packages the production build links ([`dependency_tree`] of
/// [`PRODUCTION_BUILD_ARGS`]).
pub fn production_dependency_tree(root: &Path) -> Result<String, TidyError> {
    dependency_tree(root, &PRODUCTION_BUILD_ARGS)
}

/// Rule [`PRODUCTION_BUILD_RULE`]: `tree` (from [`production_dependency_tree`]) names no
/// simulator crate (`*-simulator`).
pub fn production_build_has_no_simulator(tree: &str) -> Vec<Problem> {
    let mut simulators: Vec<&str> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|package| package.ends_with("-simulator"))
        .collect();
    simulators.sort_unstable();
    simulators.dedup();
    simulators
        .into_iter()
        .map(|simulator| {
            Problem::new(
                PRODUCTION_BUILD_RULE,
                format!(
                    "the production build (`cargo build --release {}`) links \
                     `{simulator}`; simulators belong to `ryze demo` only: make the \
                     dependency optional and enable it from the `demo` feature of \
                     crates/ryze/Cargo.toml (or a dev-dependency for tests)",
                    PRODUCTION_BUILD_ARGS.join(" ")
                ),
            )
        })
        .collect()
}

/// Rule: the layers depend inward. A delivery crate depends on no adapter, one service's
/// crates on none of the other's, the shared diesel crate on no store crate, and no
/// crate that ships on a test tool.
pub const LAYERS_RULE: &str = "layers-depend-inward";

/// Why `from` must not depend on `to` (two workspace crates, a normal dependency), if
/// it must not.
pub fn forbidden_dependency(from: &str, to: &str) -> Option<&'static str> {
    let is_adapter = |name: &str| {
        name.ends_with("-client")
            || name.starts_with("ryze-store-")
            || name.starts_with("ryze-api-rate-limit-")
            || name.starts_with("ryze-bridge-call-budget-")
            || matches!(
                name,
                "ryze-vault"
                    | "ryze-redis-connection"
                    | "ryze-outbound-address-guard"
                    | "ryze-outbound-media-fetcher"
                    | "ryze-metrics"
            )
    };
    // xtask never ships either: its bench drives the simulators.
    let is_test_tool = |name: &str| {
        name.ends_with("-simulator")
            || name.ends_with("-contract-tests")
            || matches!(name, "ryze-test-support" | "xtask")
    };
    let is_api = |name: &str| name.starts_with("ryze-api-");
    let is_bridge = |name: &str| name.starts_with("ryze-bridge-");
    if matches!(from, "ryze-api-server" | "ryze-bridge-server") && is_adapter(to) {
        Some(
            "a delivery crate works through ports and use cases only; the binary (`ryze`) \
             wires the adapters in",
        )
    } else if (is_api(from) && is_bridge(to)) || (is_bridge(from) && is_api(to)) {
        Some(
            "the API and the bridge are two services that talk over HTTP; share code \
             through a crate of both (ryze-domain, ryze-ports, ryze-outbound-*)",
        )
    } else if from == "ryze-store-diesel" && to.starts_with("ryze-store-") {
        Some(
            "the shared diesel crate never knows a backend: pass what differs in from the \
             store crate",
        )
    } else if is_test_tool(to) && !is_test_tool(from) && from != "ryze" {
        // `ryze` links the simulators only under its `demo` feature; rule
        // `production-build-has-no-simulator` checks the build without it.
        Some("test tools never ship: take it as a dev-dependency")
    } else {
        None
    }
}

/// Rule [`LAYERS_RULE`]: every normal dependency between two workspace members is
/// allowed by [`forbidden_dependency`].
pub fn layers_depend_inward(metadata: &Metadata) -> Vec<Problem> {
    let dependencies = metadata.normal_dependencies();
    let mut problems = Vec::new();
    for member in metadata.members() {
        for &dependency in dependencies.get(member.id.as_str()).into_iter().flatten() {
            let Some(target) = metadata.package(dependency) else {
                continue;
            };
            if !metadata.is_member(dependency) {
                continue;
            }
            if let Some(why) = forbidden_dependency(&member.name, &target.name) {
                problems.push(Problem::new(
                    LAYERS_RULE,
                    format!(
                        "`{}` depends on `{}`: {why}; remove the dependency \
                         (docs/ARCHITECTURE.md shows where each crate sits)",
                        member.name, target.name
                    ),
                ));
            }
        }
    }
    problems
}
