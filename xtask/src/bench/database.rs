//! The database under each benchmarked server: a SQLite file in the run's scratch
//! directory, or a throwaway PostgreSQL database created on the test server
//! (`TEST_DATABASE_URL`, found or started like `cargo xtask test` does) and dropped
//! after the run.

use std::path::Path;

use anyhow::{Context, Result};

use super::ryze_process::random_u128;
use super::Backend;

/// A database for one server; a PostgreSQL one is dropped by [`Self::drop_database`].
pub(crate) struct BenchDatabase {
    /// What `DATABASE_URL` is set to.
    pub url: String,
    /// The PostgreSQL server to drop the database on, and its name.
    throwaway: Option<(String, String)>,
}

impl BenchDatabase {
    /// A fresh database of `backend` (`postgres_server` is the test server's URL).
    pub(crate) async fn create(
        backend: Backend,
        scratch: &Path,
        postgres_server: Option<&str>,
    ) -> Result<BenchDatabase> {
        match backend {
            Backend::Sqlite => Ok(BenchDatabase {
                url: format!("sqlite://{}", scratch.join("ryze.db").display()),
                throwaway: None,
            }),
            Backend::Postgres => {
                let server = postgres_server.context("no PostgreSQL server for the bench")?;
                let name = format!("ryze_bench_{:016x}", random_u128() as u64);
                execute(server, &format!("CREATE DATABASE {name}")).await?;
                let mut url = reqwest::Url::parse(server).context("parsing TEST_DATABASE_URL")?;
                url.set_path(&format!("/{name}"));
                Ok(BenchDatabase {
                    url: url.to_string(),
                    throwaway: Some((server.to_owned(), name)),
                })
            }
        }
    }

    /// Drops a throwaway PostgreSQL database (the server using it must have stopped).
    pub(crate) async fn drop_database(self) -> Result<()> {
        if let Some((server, name)) = self.throwaway {
            execute(
                &server,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            )
            .await?;
        }
        Ok(())
    }
}

async fn execute(server: &str, statement: &str) -> Result<()> {
    let (client, connection) = tokio_postgres::connect(server, tokio_postgres::NoTls)
        .await
        .context("connecting to the bench's PostgreSQL server")?;
    let connection = tokio::spawn(connection);
    client
        .batch_execute(statement)
        .await
        .with_context(|| format!("running `{statement}`"))?;
    drop(client);
    let _ = connection.await;
    Ok(())
}
