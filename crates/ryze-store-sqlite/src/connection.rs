//! Opening SQLite connections: the URL forms accepted, the database's directory, and
//! the settings every connection gets.

use std::path::Path;

use diesel::connection::SimpleConnection;
use diesel::{Connection, ConnectionError, ConnectionResult, SqliteConnection};

/// Run on every new connection. `busy_timeout` first, so switching to WAL waits for a
/// concurrent writer instead of failing; WAL lets readers run beside the one writer;
/// SQLite enforces foreign keys (and so the cascades) only when asked, per connection.
const CONNECTION_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; \
     PRAGMA journal_mode = WAL; \
     PRAGMA foreign_keys = ON; \
     PRAGMA synchronous = NORMAL;";

/// The file path (or SQLite `file:` URI) named by a `sqlite://path`, `sqlite:path` or
/// plain-path URL: `sqlite://./data/ryze.db` is `./data/ryze.db`,
/// `sqlite:///var/lib/ryze/ryze.db` is `/var/lib/ryze/ryze.db`.
pub(crate) fn database_path(url: &str) -> &str {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
}

/// Creates the directory that will hold the database file, if it is missing.
pub(crate) fn create_parent_directory(path: &str) -> Result<(), String> {
    let parent = Path::new(path).parent();
    match parent.filter(|directory| !directory.as_os_str().is_empty()) {
        Some(directory) if !path.starts_with("file:") => std::fs::create_dir_all(directory)
            .map_err(|error| {
                format!(
                    "could not create the database directory {}: {error}",
                    directory.display()
                )
            }),
        _ => Ok(()),
    }
}

/// Opens (creating it if needed) the database file at `path` and configures the
/// connection. Blocking.
pub(crate) fn open_connection(path: &str) -> ConnectionResult<SqliteConnection> {
    let mut connection = SqliteConnection::establish(path)?;
    connection
        .batch_execute(CONNECTION_PRAGMAS)
        .map_err(ConnectionError::CouldntSetupConfiguration)?;
    Ok(connection)
}
