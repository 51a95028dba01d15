//! Tests of `cargo xtask tidy` (`xtask/src/tidy/`): every rule holds on this tree, and
//! each rule fails, naming itself, on a tree (or a dependency graph) that breaks it.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use xtask::tidy::dependencies::{self, CORE_CRATES_RULE, PRODUCTION_BUILD_RULE};
use xtask::tidy::manifests::{self, WORKSPACE_DEPENDENCIES_RULE};
use xtask::tidy::repository::{self, OUTSIDE_DOCUMENTS_RULE, OUTSIDE_DOCUMENT_CITATIONS};
use xtask::tidy::sources::{self, HTTP_STATUS_RULE, NOT_AN_HTTP_STATUS_MARKER};
use xtask::tidy::text::{has_word, invokes_macro, mentions_package};
use xtask::tidy::{project_root, Metadata, Problem};

/// `cargo metadata` of this workspace, read once.
fn metadata() -> &'static Metadata {
    static METADATA: OnceLock<Metadata> = OnceLock::new();
    METADATA.get_or_init(|| Metadata::load(&project_root()).unwrap())
}

/// Fails listing every problem, one per line.
fn assert_no_problems(problems: &[Problem]) {
    let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(
        problems.is_empty(),
        "tidy found {} problem(s):\n  {}\n",
        problems.len(),
        lines.join("\n  ")
    );
}

/// A fresh, empty folder for one test under cargo's temporary folder for tests.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("tidy-{name}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

// The whole subcommand.

#[test]
fn cargo_xtask_tidy_passes_on_the_tree() {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("tidy")
        .current_dir(project_root())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "`cargo xtask tidy` failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

// Each rule on the tree.

#[test]
fn core_crates_are_free_of_infrastructure() {
    assert_no_problems(&dependencies::core_crates_free_of_infrastructure(metadata()));
}

#[test]
fn production_build_has_no_simulator() {
    let tree = dependencies::production_dependency_tree(&project_root()).unwrap();
    assert!(tree.lines().any(|line| line.starts_with("ryze ")), "{tree}");
    assert_no_problems(&dependencies::production_build_has_no_simulator(&tree));
}

#[test]
fn members_inherit_workspace_lints() {
    assert_no_problems(&manifests::members_inherit_workspace_lints(metadata()));
}

#[test]
fn dependencies_come_from_the_workspace() {
    assert_no_problems(&manifests::dependencies_come_from_the_workspace(metadata()));
}

#[test]
fn http_statuses_only_in_delivery_and_clients() {
    assert_no_problems(&sources::http_statuses_only_in_delivery_and_clients(
        &project_root(),
    ));
}

#[test]
fn crate_roots_have_doc_comments() {
    assert_no_problems(&sources::crate_roots_have_doc_comments(&project_root()));
}

#[test]
fn modules_have_doc_comments() {
    assert_no_problems(&sources::modules_have_doc_comments(&project_root()));
}

#[test]
fn anyhow_only_in_the_binary_crate() {
    assert_no_problems(&sources::anyhow_only_in_the_binary_crate(&project_root()));
}

#[test]
fn library_crates_do_not_print() {
    assert_no_problems(&sources::library_crates_do_not_print(&project_root()));
}

#[test]
fn no_citation_of_outside_documents() {
    assert_no_problems(&repository::no_citation_of_outside_documents(
        &project_root(),
    ));
}

#[test]
fn architecture_doc_mentions_every_member() {
    assert_no_problems(&repository::architecture_doc_mentions_every_member(
        &project_root(),
        metadata(),
    ));
}

#[test]
fn migrations_have_up_and_down() {
    assert_no_problems(&repository::migrations_have_up_and_down(&project_root()));
}

// Each rule failing.

/// The problems of the infrastructure rule once `from` depends on `to` (normal).
fn core_problems_with_edge(from: &str, to: &str) -> Vec<Problem> {
    let mut altered = metadata().clone();
    altered.add_normal_dependency(from, to).unwrap();
    dependencies::core_crates_free_of_infrastructure(&altered)
}

#[test]
fn the_domain_depending_on_a_web_framework_http_client_or_database_driver_fails() {
    for (library, kind) in [
        ("actix-web", "a web framework"),
        ("reqwest", "an HTTP client"),
        ("diesel", "a database driver"),
        ("tokio-tungstenite", "a WebSocket library"),
    ] {
        let problems = core_problems_with_edge("ryze-domain", library);
        assert_eq!(problems.len(), 1, "{library}: {problems:?}");
        assert_eq!(problems[0].rule, CORE_CRATES_RULE);
        assert!(
            problems[0]
                .message
                .contains(&format!("ryze-domain → {library}"))
                && problems[0].message.contains(kind),
            "{}",
            problems[0]
        );
        assert!(problems[0].to_string().contains(CORE_CRATES_RULE));
    }
}

#[test]
fn a_use_case_crate_reaching_infrastructure_through_a_workspace_crate_fails() {
    let problems = core_problems_with_edge("ryze-bridge-use-cases", "ryze-bridge-server");
    assert!(!problems.is_empty());
    assert!(problems.iter().all(|p| p.rule == CORE_CRATES_RULE));
    assert!(
        problems.iter().any(|p| p
            .message
            .contains("ryze-bridge-use-cases → ryze-bridge-server → actix-web")),
        "{problems:?}"
    );
}

#[test]
fn every_forbidden_family_is_recognised() {
    for library in [
        "actix-web",
        "actix-ws",
        "reqwest",
        "hyper",
        "diesel",
        "diesel-async",
        "diesel_migrations",
        "tokio-postgres",
        "libsqlite3-sys",
        "deadpool-postgres",
        "async-nats",
        "redis",
        "lapin",
        "tokio-tungstenite",
        "tungstenite",
    ] {
        assert!(
            dependencies::infrastructure_kind(library).is_some(),
            "{library}"
        );
    }
    for library in [
        "serde",
        "thiserror",
        "async-trait",
        "mockall",
        "chrono",
        "url",
    ] {
        assert_eq!(
            dependencies::infrastructure_kind(library),
            None,
            "{library}"
        );
    }
}

#[test]
fn the_demo_build_links_simulators_and_the_rule_sees_them() {
    let with_demo = dependencies::dependency_tree(&project_root(), &["-p", "ryze"]).unwrap();
    let problems = dependencies::production_build_has_no_simulator(&with_demo);
    let named: Vec<&str> = problems
        .iter()
        .map(|p| {
            assert_eq!(p.rule, PRODUCTION_BUILD_RULE);
            if p.message.contains("`chatwoot-simulator`") {
                "chatwoot-simulator"
            } else {
                "engine-simulator"
            }
        })
        .collect();
    assert_eq!(
        named,
        ["chatwoot-simulator", "engine-simulator"],
        "{problems:?}"
    );
}

#[test]
fn a_dependency_not_taken_from_the_workspace_is_found_in_every_table() {
    let manifest: toml::Table = r#"
        [dependencies]
        serde = "1"
        thiserror.workspace = true
        tokio = { workspace = true, features = ["rt"] }

        [dev-dependencies]
        tempfile = { version = "3" }

        [target.'cfg(unix)'.build-dependencies]
        cc = "1"
    "#
    .parse()
    .unwrap();
    let found = manifests::dependencies_not_from_the_workspace(&manifest);
    let pairs: Vec<(&str, &str)> = found
        .iter()
        .map(|(table, name)| (table.as_str(), name.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("dependencies", "serde"),
            ("dev-dependencies", "tempfile"),
            ("target.cfg(unix).build-dependencies", "cc"),
        ]
    );
    assert!(!manifests::inherits_workspace_lints(&manifest));
    let with_lints: toml::Table = "[lints]\nworkspace = true\n".parse().unwrap();
    assert!(manifests::inherits_workspace_lints(&with_lints));
    assert!(!WORKSPACE_DEPENDENCIES_RULE.is_empty());
}

/// A tree with the four core crates, `ryze-bridge-use-cases` holding `lib`.
fn tree_with_use_case_source(name: &str, lib: &str) -> PathBuf {
    let root = scratch_dir(name);
    for core in dependencies::CORE_CRATES {
        write(
            &root.join("crates").join(core).join("src/lib.rs"),
            "//! A core crate.\n",
        );
    }
    write(&root.join("crates/ryze-bridge-use-cases/src/relay.rs"), lib);
    root
}

#[test]
fn a_404_match_arm_in_a_use_case_crate_fails() {
    let root = tree_with_use_case_source(
        "status-arm",
        "//! Relay.\nfn classify(status: u32) -> bool {\n    match status {\n        404 => false,\n        _ => true,\n    }\n}\n",
    );
    let problems = sources::http_statuses_only_in_delivery_and_clients(&root);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].rule, HTTP_STATUS_RULE);
    assert!(
        problems[0].message.starts_with(
            "crates/ryze-bridge-use-cases/src/relay.rs:4: the HTTP status number 404 (a match arm)"
        ),
        "{}",
        problems[0]
    );
}

#[test]
fn a_documented_number_that_is_not_a_status_is_accepted() {
    let root = tree_with_use_case_source(
        "status-escaped",
        &format!(
            "//! Relay.\nfn is_full(count: u32) -> bool {{\n    // {NOT_AN_HTTP_STATUS_MARKER}: the batch size\n    count == 404\n}}\n"
        ),
    );
    assert_no_problems(&sources::http_statuses_only_in_delivery_and_clients(&root));
}

#[test]
fn http_status_findings_cover_names_fields_arms_and_comparisons() {
    let lines = |source: &str| -> Vec<usize> {
        sources::http_status_findings(source)
            .into_iter()
            .map(|(line, _)| line)
            .collect()
    };
    // Found.
    assert_eq!(lines("use http::StatusCode;"), [1]);
    assert_eq!(lines("struct E { status: u16 }"), [1]);
    assert_eq!(lines("fn f(http_status : u16) {}"), [1]);
    assert_eq!(lines("if code == 404 {}"), [1]);
    assert_eq!(lines("if 503 != code {}"), [1]);
    assert_eq!(lines("matches!(s, 408 | 429)"), [1]);
    assert_eq!(lines("    400..=499 => Kind::Client,"), [1, 1]);
    assert_eq!(lines("    500.. => Kind::Server,"), [1]);
    assert_eq!(
        lines("if response.status >= 500 || 400 <= status {}"),
        [1, 1]
    );
    assert_eq!(lines("assert_eq!(error.status(), Some(503));"), [1]);
    assert_eq!(lines("    401u16 => x,"), [1]);
    // Not statuses.
    assert!(lines("// 404 => a comment").is_empty());
    assert!(lines("/* match s { 404 => x } */").is_empty());
    assert!(lines("let text = \"404 => StatusCode\";").is_empty());
    assert!(lines("let raw = r#\"status: u16 == 404\"#;").is_empty());
    assert!(lines("    2..=119 => \"minutes\",").is_empty());
    assert!(lines("if name.len() > 100 {}").is_empty());
    assert!(lines("assert_eq!(media.len(), Some(212));").is_empty());
    assert!(lines("let timeout = Duration::from_millis(500);").is_empty());
    assert!(lines("if x == 1000 || y == 42 || z == 4.04 {}").is_empty());
    assert!(lines("let status: u32 = 0; let c: u16 = 1;").is_empty());
    assert!(lines("fn f<'a>(c: char) -> bool { c == '4' }").is_empty());
    // Lines counted across multi-line comments and strings.
    assert_eq!(
        lines("/*\n404 =>\n*/\nlet s = \"\n\";\nif s == 500 {}"),
        [6]
    );
}

#[test]
fn a_citation_of_an_outside_document_fails_outside_ci_scripts() {
    let root = scratch_dir("citations");
    for (index, citation) in OUTSIDE_DOCUMENT_CITATIONS.iter().enumerate() {
        write(
            &root.join(format!("docs/page{index}.md")),
            &format!("# Page\n\nSee {citation} for details.\n"),
        );
        write(
            &root.join(format!(".ci/script{index}")),
            &format!("ls {citation}\n"),
        );
    }
    write(&root.join("docs/clean.md"), "# Clean\n");
    let problems = repository::no_citation_of_outside_documents(&root);
    let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(problems.len(), 2, "{shown:?}");
    assert!(problems.iter().all(|p| p.rule == OUTSIDE_DOCUMENTS_RULE));
    assert!(
        problems[0].message.starts_with("docs/page0.md:3: "),
        "{shown:?}"
    );
    assert!(
        problems[1].message.starts_with("docs/page1.md:3: "),
        "{shown:?}"
    );
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

#[test]
fn a_dependency_against_the_layers_is_named_with_its_reason() {
    use xtask::tidy::dependencies::forbidden_dependency;
    for (from, to) in [
        ("ryze-api-server", "ryze-store-sqlite"),
        ("ryze-bridge-server", "ryze-bridge-chatwoot-client"),
        ("ryze-api-use-cases", "ryze-bridge-use-cases"),
        ("ryze-bridge-message-client", "ryze-api-server"),
        ("ryze-store-diesel", "ryze-store-postgres"),
        ("ryze-bridge-use-cases", "chatwoot-simulator"),
        ("ryze-api-server", "ryze-test-support"),
    ] {
        assert!(
            forbidden_dependency(from, to).is_some(),
            "{from} → {to} must be refused"
        );
    }
    for (from, to) in [
        ("ryze-api-server", "ryze-api-use-cases"),
        ("ryze-api-server", "ryze-http-auth"),
        ("ryze-bridge-use-cases", "ryze-ports"),
        ("ryze-store-sqlite", "ryze-store-diesel"),
        ("chatwoot-simulator", "ryze-test-support"),
        ("ryze", "engine-simulator"),
        ("xtask", "chatwoot-simulator"),
    ] {
        assert_eq!(forbidden_dependency(from, to), None, "{from} → {to}");
    }
}
