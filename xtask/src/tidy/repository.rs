//! Repository rules, read from the files of the checkout: no file cites documents that
//! live outside the repository, the architecture doc mentions every workspace member,
//! and every migration has `up.sql` and `down.sql`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::metadata::Metadata;
use super::text::mentions_package;
use super::{relative, Problem};

/// Rule: no file cites documents outside the repository.
pub const OUTSIDE_DOCUMENTS_RULE: &str = "no-citation-of-outside-documents";
/// Rule: `docs/ARCHITECTURE.md` mentions every member.
pub const ARCHITECTURE_DOC_RULE: &str = "architecture-doc-mentions-every-member";
/// Rule: every migration has `up.sql` and `down.sql`.
pub const MIGRATIONS_RULE: &str = "migrations-have-up-and-down";

/// Texts that point at documents a user who clones the repository does not have: the
/// outside contract and the folder beside the checkout that held it. Spelled in pieces
/// so that this file does not cite them itself.
pub const OUTSIDE_DOCUMENT_CITATIONS: [&str; 2] =
    [concat!("CONTRACT", ".md"), concat!("..", "/shared")];

/// The folder that may name them: the CI scripts, which run beside that folder.
const MAY_CITE_OUTSIDE_DOCUMENTS: &str = ".ci/";

/// The repository's files, relative to `root`: `git ls-files` (tracked and untracked but
/// not ignored), or, outside a git checkout, every file but `target/` and `.git/`.
fn repository_files(root: &Path) -> Vec<String> {
    // Only at the top of a checkout: inside another repository's ignored folder (a
    // test's scratch tree under target/) git would list nothing.
    let listed = root
        .join(".git")
        .exists()
        .then(|| {
            Command::new("git")
                .current_dir(root)
                .args([
                    "ls-files",
                    "-z",
                    "--cached",
                    "--others",
                    "--exclude-standard",
                ])
                .output()
                .ok()
        })
        .flatten()
        .filter(|output| output.status.success());
    if let Some(output) = listed {
        let mut files: Vec<String> = String::from_utf8_lossy(&output.stdout)
            .split('\0')
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
            .collect();
        files.sort();
        files.dedup();
        return files;
    }
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                if name != "target" && name != ".git" {
                    stack.push(path);
                }
            } else {
                files.push(relative(root, &path));
            }
        }
    }
    files.sort();
    files
}

/// Rule [`OUTSIDE_DOCUMENTS_RULE`]: no text file outside `.ci/` contains one of
/// [`OUTSIDE_DOCUMENT_CITATIONS`].
pub fn no_citation_of_outside_documents(root: &Path) -> Vec<Problem> {
    let mut problems = Vec::new();
    for file in repository_files(root) {
        if file.starts_with(MAY_CITE_OUTSIDE_DOCUMENTS) {
            continue;
        }
        let Ok(text) = fs::read_to_string(root.join(&file)) else {
            continue; // binary or vanished: nothing a reader would follow
        };
        for (index, line) in text.lines().enumerate() {
            for citation in OUTSIDE_DOCUMENT_CITATIONS {
                if line.contains(citation) {
                    problems.push(Problem::new(
                        OUTSIDE_DOCUMENTS_RULE,
                        format!(
                            "{file}:{}: names `{citation}`, which a user who clones the \
                             repository does not have; state what is meant in the \
                             repository's own docs (docs/contract.md) and cite that, or \
                             vendor the file into the repository",
                            index + 1
                        ),
                    ));
                }
            }
        }
    }
    problems
}

/// Rule [`ARCHITECTURE_DOC_RULE`].
pub fn architecture_doc_mentions_every_member(root: &Path, metadata: &Metadata) -> Vec<Problem> {
    let doc = root.join("docs").join("ARCHITECTURE.md");
    let mut names: Vec<&str> = metadata.members().map(|p| p.name.as_str()).collect();
    names.sort_unstable();
    let Ok(text) = fs::read_to_string(&doc) else {
        return vec![Problem::new(
            ARCHITECTURE_DOC_RULE,
            format!(
                "docs/ARCHITECTURE.md does not exist: create it and describe every \
                 workspace member ({})",
                names.join(", ")
            ),
        )];
    };
    names
        .iter()
        .filter(|name| !mentions_package(&text, name))
        .map(|name| {
            Problem::new(
                ARCHITECTURE_DOC_RULE,
                format!(
                    "docs/ARCHITECTURE.md: never mentions the workspace member `{name}`; \
                     say what it is for and where it sits (by its package name)"
                ),
            )
        })
        .collect()
}

/// Every `migrations` folder in the repository (outside `target/` and hidden folders).
fn migration_dirs(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
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

/// Rule [`MIGRATIONS_RULE`].
pub fn migrations_have_up_and_down(root: &Path) -> Vec<Problem> {
    let mut problems = Vec::new();
    for migrations in migration_dirs(root) {
        let mut dirs: Vec<PathBuf> = fs::read_dir(&migrations)
            .into_iter()
            .flatten()
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
                    problems.push(Problem::new(
                        MIGRATIONS_RULE,
                        format!(
                            "{}: missing {file}; every migration needs up.sql and down.sql \
                             (add {file} with {what})",
                            relative(root, &dir)
                        ),
                    ));
                }
            }
        }
    }
    problems
}
