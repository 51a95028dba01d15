//! The key file of the embedded (single-node) setup: the master keys live in a small
//! JSON file beside the data, created with a fresh random key on first start.
//!
//! Format: `{"current": "<base64>", "previous": ["<base64>", …]}` (`previous` may be
//! absent). Keys are standard base64 of 32 bytes; anything [`MasterKey::parse`] accepts
//! is read back.
//!
//! Writes are atomic: the contents go to a temporary file in the same directory, created
//! with mode `0600` from the start (never widened then narrowed), flushed to disk, then
//! renamed over the key file. Directories created for it get mode `0700`.
//!
//! **Permissions on load: warn, do not refuse.** A key file readable by group or others
//! is loaded, with a `tracing` warning naming the path and mode and the fix
//! (`chmod 600`). Backups, `docker cp` and mounted volumes routinely lose modes; refusing
//! to start would lock the operator out of every stored secret over a condition they can
//! fix in one command, while the warning still makes it visible.
//!
//! Errors and logs name the path and key ids, never key material, and never the file's
//! contents (not even in a JSON syntax error).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use secrecy::zeroize::Zeroize;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::master_key::{KeyParseError, MasterKey, RandomnessUnavailable};
use crate::KeyRing;

/// Reads and writes key files; see the module documentation.
pub enum KeyFile {}

/// Whether [`KeyFile::load_or_create`] found a key file or made a new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFileOutcome {
    Created,
    Loaded,
}

/// Why a key file could not be read or written. Never contains key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot {action} key file {}: {cause}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        cause: io::Error,
    },
    #[error("key file {} is not valid: {reason}; expected {{\"current\": \"<base64 key>\", \"previous\": [\"<base64 key>\", …]}}", path.display())]
    Malformed { path: PathBuf, reason: String },
    #[error("key file {}: {cause}", path.display())]
    BadKey { path: PathBuf, cause: KeyParseError },
    #[error("cannot create a master key for {}: {cause}", path.display())]
    Randomness {
        path: PathBuf,
        cause: RandomnessUnavailable,
    },
}

/// The file as read; `SecretString` wipes each key from memory when dropped.
#[derive(Deserialize)]
struct StoredKeys {
    current: SecretString,
    #[serde(default)]
    previous: Vec<SecretString>,
}

/// The file as written.
#[derive(Serialize)]
struct StoredKeysOut<'a> {
    current: &'a str,
    previous: Vec<&'a str>,
}

#[cfg(unix)]
const FILE_MODE: u32 = 0o600;
#[cfg(unix)]
const DIRECTORY_MODE: u32 = 0o700;

impl KeyFile {
    /// Loads the key ring from `path`, or, when there is no file yet, creates its parent
    /// directories and a file holding one new random key.
    pub fn load_or_create(path: &Path) -> Result<(KeyRing, KeyFileOutcome), KeyFileError> {
        match read_key_file(path) {
            Ok(ring) => {
                tracing::debug!(path = %path.display(), key_id = %ring.current.id(), previous_keys = ring.previous.len(), "loaded master key file");
                Ok((ring, KeyFileOutcome::Loaded))
            }
            Err(KeyFileError::Io { cause, .. }) if cause.kind() == io::ErrorKind::NotFound => {
                create_parent_directories(path)?;
                let ring = KeyRing::new(generate_key(path)?);
                write_key_file(path, &ring)?;
                tracing::debug!(path = %path.display(), key_id = %ring.current.id(), "created master key file with a new random key");
                Ok((ring, KeyFileOutcome::Created))
            }
            Err(error) => Err(error),
        }
    }

    /// Generates a new current key; every key the file held stays as a previous key, so
    /// secrets sealed before still open. Fails when there is no file at `path`.
    pub fn rotate(path: &Path) -> Result<KeyRing, KeyFileError> {
        let ring = read_key_file(path)?.rotated(generate_key(path)?);
        write_key_file(path, &ring)?;
        tracing::debug!(path = %path.display(), key_id = %ring.current.id(), previous_keys = ring.previous.len(), "rotated master key file");
        Ok(ring)
    }
}

fn read_key_file(path: &Path) -> Result<KeyRing, KeyFileError> {
    let mut contents = fs::read(path).map_err(|cause| io_error("read", path, cause))?;
    warn_if_readable_by_others(path);
    let parsed = serde_json::from_slice::<StoredKeys>(&contents);
    contents.zeroize();
    let stored = parsed.map_err(|error| KeyFileError::Malformed {
        path: path.to_owned(),
        reason: describe_json_error(&error),
    })?;

    KeyRing::parse(
        stored.current.expose_secret(),
        stored.previous.iter().map(|key| key.expose_secret()),
    )
    .map_err(|cause| KeyFileError::BadKey {
        path: path.to_owned(),
        cause,
    })
}

/// Says where the JSON is wrong without quoting it (serde's own messages can echo values).
fn describe_json_error(error: &serde_json::Error) -> String {
    let what = match error.classify() {
        serde_json::error::Category::Io => "could not be read",
        serde_json::error::Category::Syntax => "is not valid JSON",
        serde_json::error::Category::Eof => "ends too early",
        serde_json::error::Category::Data => "does not have the expected fields",
    };
    format!(
        "the contents {what} (line {}, column {})",
        error.line(),
        error.column()
    )
}

fn generate_key(path: &Path) -> Result<MasterKey, KeyFileError> {
    MasterKey::generate().map_err(|cause| KeyFileError::Randomness {
        path: path.to_owned(),
        cause,
    })
}

fn write_key_file(path: &Path, ring: &KeyRing) -> Result<(), KeyFileError> {
    let current = ring.current.export_base64();
    let previous: Vec<SecretString> = ring.previous.iter().map(MasterKey::export_base64).collect();
    let stored = StoredKeysOut {
        current: current.expose_secret(),
        previous: previous.iter().map(|key| key.expose_secret()).collect(),
    };
    let mut contents = match serde_json::to_vec_pretty(&stored) {
        Ok(contents) => contents,
        // Serializing strings into a Vec cannot fail; map it anyway rather than panic.
        Err(error) => {
            return Err(KeyFileError::Malformed {
                path: path.to_owned(),
                reason: describe_json_error(&error),
            })
        }
    };
    contents.push(b'\n');
    let written = write_atomically(path, &contents);
    contents.zeroize();
    written
}

/// Writes `contents` to a new `0600` temporary file beside `path`, then renames it over
/// `path`.
fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), KeyFileError> {
    let directory = parent_directory(path);
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "master-keys".to_owned());
    let temporary = directory.join(format!(
        ".{file_name}.{}.{}.tmp",
        std::process::id(),
        unique_suffix()
    ));

    let written = new_private_file(&temporary).and_then(|mut file| {
        file.write_all(contents)?;
        file.sync_all()
    });
    if let Err(cause) = written {
        remove_quietly(&temporary);
        return Err(io_error("write", &temporary, cause));
    }
    if let Err(cause) = fs::rename(&temporary, path) {
        remove_quietly(&temporary);
        return Err(io_error("replace", path, cause));
    }
    sync_directory(directory);
    Ok(())
}

fn parent_directory(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

fn unique_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default()
}

fn remove_quietly(path: &Path) {
    if let Err(error) = fs::remove_file(path) {
        if error.kind() != io::ErrorKind::NotFound {
            tracing::warn!(path = %path.display(), %error, "could not remove temporary key file");
        }
    }
}

fn io_error(action: &'static str, path: &Path, cause: io::Error) -> KeyFileError {
    KeyFileError::Io {
        action,
        path: path.to_owned(),
        cause,
    }
}

#[cfg(unix)]
fn new_private_file(path: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
}

#[cfg(not(unix))]
fn new_private_file(path: &Path) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

fn create_parent_directories(path: &Path) -> Result<(), KeyFileError> {
    let directory = parent_directory(path);
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIRECTORY_MODE);
    builder
        .create(directory)
        .map_err(|cause| io_error("create the directory of", path, cause))
}

/// Makes the rename durable. Best effort: some file systems cannot sync a directory.
fn sync_directory(directory: &Path) {
    #[cfg(unix)]
    if let Err(error) = fs::File::open(directory).and_then(|handle| handle.sync_all()) {
        tracing::debug!(directory = %directory.display(), %error, "could not sync the key file's directory");
    }
    #[cfg(not(unix))]
    let _ = directory;
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(metadata) = fs::metadata(path) {
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                path = %path.display(),
                mode = %format!("{mode:o}"),
                "master key file is accessible to group or others; restrict it with `chmod 600`"
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

#[cfg(test)]
mod tests {
    use ryze_domain::InstanceId;
    use ryze_domain::SecretOwner;
    use ryze_ports::SecretVault;

    use super::*;
    use crate::AesGcmVault;

    fn exported(ring: &KeyRing) -> Vec<String> {
        ring.keys()
            .map(|key| key.export_base64().expose_secret().to_owned())
            .collect()
    }

    #[cfg(unix)]
    fn mode_of(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn first_start_creates_a_private_file_that_loads_back_identical() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("nested/config/master-keys.json");

        let (created, outcome) = KeyFile::load_or_create(&path).unwrap();
        assert_eq!(outcome, KeyFileOutcome::Created);
        assert!(created.previous.is_empty());
        #[cfg(unix)]
        {
            assert_eq!(mode_of(&path), 0o600);
            assert_eq!(mode_of(path.parent().unwrap()), 0o700);
        }
        let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(
            leftovers,
            vec![std::ffi::OsString::from("master-keys.json")]
        );

        let (loaded, outcome) = KeyFile::load_or_create(&path).unwrap();
        assert_eq!(outcome, KeyFileOutcome::Loaded);
        assert_eq!(loaded.current.id(), created.current.id());
        assert_eq!(exported(&loaded), exported(&created));
    }

    #[test]
    fn file_format_is_the_documented_json() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("keys.json");
        let (ring, _) = KeyFile::load_or_create(&path).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({ "current": exported(&ring)[0], "previous": [] })
        );
    }

    #[test]
    fn rotation_adds_a_current_key_and_keeps_old_secrets_readable() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("keys.json");
        let (original, _) = KeyFile::load_or_create(&path).unwrap();
        let owner = SecretOwner::chatwoot_api_token(&InstanceId::new("ins_1"));
        let sealed = AesGcmVault::new(original.clone())
            .seal(&SecretString::from("sk_live_abc"), &owner)
            .unwrap();

        let rotated = KeyFile::rotate(&path).unwrap();
        assert_ne!(rotated.current.id(), original.current.id());
        assert_eq!(rotated.previous.len(), 1);
        assert_eq!(rotated.previous[0].id(), original.current.id());
        #[cfg(unix)]
        assert_eq!(mode_of(&path), 0o600);

        let (reloaded, outcome) = KeyFile::load_or_create(&path).unwrap();
        assert_eq!(outcome, KeyFileOutcome::Loaded);
        assert_eq!(exported(&reloaded), exported(&rotated));
        let vault = AesGcmVault::new(reloaded);
        assert_eq!(
            vault.open(&sealed, &owner).unwrap().expose_secret(),
            "sk_live_abc"
        );
        assert_eq!(&vault.current_key_id(), rotated.current.id());

        let twice = KeyFile::rotate(&path).unwrap();
        assert_eq!(twice.previous.len(), 2);
        assert!(twice.find(original.current.id()).is_some());
    }

    #[test]
    fn rotating_a_missing_file_fails_without_creating_one() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("absent.json");
        let error = KeyFile::rotate(&path).unwrap_err();
        assert!(
            matches!(&error, KeyFileError::Io { cause, .. } if cause.kind() == io::ErrorKind::NotFound)
        );
        assert!(error.to_string().starts_with("cannot read key file "));
        assert!(!path.exists());
    }

    #[test]
    fn malformed_files_are_refused_without_quoting_their_contents() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("keys.json");
        let leaked = "c2VjcmV0LWtleS1tYXRlcmlhbC1kby1ub3QtbGVhaw";
        for contents in [
            format!("{{\"current\": \"{leaked}"),
            format!("{{\"current\": 5, \"previous\": \"{leaked}\"}}"),
            format!("{{\"previous\": [\"{leaked}\"]}}"),
            format!("{{\"current\": \"{leaked}\"}}"),
            format!("{{\"current\": \"{leaked}\", \"previous\": [\"{leaked}\"]}}"),
        ] {
            fs::write(&path, &contents).unwrap();
            let error = KeyFile::load_or_create(&path).unwrap_err();
            let message = error.to_string();
            assert!(
                matches!(
                    error,
                    KeyFileError::Malformed { .. } | KeyFileError::BadKey { .. }
                ),
                "{message}"
            );
            assert!(!message.contains(leaked), "{message}");
            assert!(!format!("{error:?}").contains(leaked));
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_file_readable_by_others_is_still_loaded() {
        use std::os::unix::fs::PermissionsExt;
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("keys.json");
        let (created, _) = KeyFile::load_or_create(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let (loaded, outcome) = KeyFile::load_or_create(&path).unwrap();
        assert_eq!(outcome, KeyFileOutcome::Loaded);
        assert_eq!(loaded.current.id(), created.current.id());
    }
}
