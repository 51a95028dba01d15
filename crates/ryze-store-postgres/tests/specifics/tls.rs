//! `sslmode` and `sslrootcert` against a real server that accepts TLS only: a throwaway
//! cluster started here (`initdb`, `pg_ctl`) with `ssl = on`, a server certificate for
//! `db.ryze.test` signed by a CA made here, and `hostssl` lines only in `pg_hba.conf`.
//!
//! One test runs every case in sequence on one cluster (nextest runs each test in a
//! process of its own, and a cluster takes a second or two to start).

use std::ffi::OsString;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use ryze_domain::TokenHash;
use ryze_ports::{AccountStore, StoreError};
use ryze_store_postgres::{run_migrations, MigrationError, PostgresSettings, PostgresStore};

/// The name in the server's certificate.
const SERVER_HOST_NAME: &str = "db.ryze.test";

#[tokio::test(flavor = "multi_thread")]
async fn sslmode_against_a_server_that_accepts_tls_only() {
    let Some(cluster) = TlsCluster::start() else {
        return;
    };
    let port = cluster.port;
    let ca = cluster.ca_file.display().to_string();
    let other_ca = cluster.other_ca_file.display().to_string();
    // `hostaddr` connects to 127.0.0.1 whatever name the certificate is checked against.
    let url = |host: &str, parameters: &str| {
        format!(
            "postgres://postgres:secret-password@{host}:{port}/postgres?hostaddr=127.0.0.1&{parameters}"
        )
    };

    // Migrations connect over TLS too.
    let verify_full = url(
        SERVER_HOST_NAME,
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    );
    let applied = run_migrations(&verify_full)
        .await
        .expect("migrating over verify-full succeeds");
    assert!(
        !applied.is_empty(),
        "a new cluster has every migration to apply"
    );

    for (case, url) in [
        ("require", url("127.0.0.1", "sslmode=require")),
        ("prefer", url("127.0.0.1", "sslmode=prefer")),
        ("no sslmode (prefer)", url("127.0.0.1", "")),
        ("verify-full, right CA, right name", verify_full.clone()),
        (
            "verify-ca, right CA, another name",
            url("localhost", &format!("sslmode=verify-ca&sslrootcert={ca}")),
        ),
        (
            "require with sslrootcert, right CA",
            url("127.0.0.1", &format!("sslmode=require&sslrootcert={ca}")),
        ),
    ] {
        let store = PostgresStore::connect(&settings(&url))
            .await
            .unwrap_or_else(|error| panic!("{case}: connecting fails: {error}"));
        let nobody = store
            .find_principal_by_token_hash(&TokenHash::of("no such token"))
            .await
            .unwrap_or_else(|error| panic!("{case}: the query fails: {error}"));
        assert_eq!(nobody, None, "{case}");
    }

    for (case, url, expected) in [
        (
            "verify-full, certificate for another host name",
            url(
                "localhost",
                &format!("sslmode=verify-full&sslrootcert={ca}"),
            ),
            "certificate not valid for name \"localhost\"",
        ),
        (
            "verify-full, another CA",
            url(
                SERVER_HOST_NAME,
                &format!("sslmode=verify-full&sslrootcert={other_ca}"),
            ),
            "invalid peer certificate: UnknownIssuer (the chain leads to no root certificate of sslrootcert",
        ),
        (
            "verify-ca, another CA",
            url(
                SERVER_HOST_NAME,
                &format!("sslmode=verify-ca&sslrootcert={other_ca}"),
            ),
            "invalid peer certificate: UnknownIssuer (the chain leads to no root certificate of sslrootcert",
        ),
        (
            "require with sslrootcert, another CA",
            url(
                "127.0.0.1",
                &format!("sslmode=require&sslrootcert={other_ca}"),
            ),
            "invalid peer certificate: UnknownIssuer (the chain leads to no root certificate of sslrootcert",
        ),
        (
            "disable, against hostssl only",
            url("127.0.0.1", "sslmode=disable"),
            "no encryption",
        ),
    ] {
        let error = PostgresStore::connect(&settings(&url))
            .await
            .expect_err(case);
        let StoreError::Unavailable(text) = &error else {
            panic!("{case}: {error:?}");
        };
        assert!(text.contains(expected), "{case}: {text}");
        assert!(!text.contains("secret-password"), "{case}: {text}");
        if case.starts_with("verify") || case.starts_with("require") {
            assert!(text.contains("TLS handshake"), "{case}: {text}");
        }

        let error = run_migrations(&url).await.expect_err(case);
        assert!(
            matches!(error, MigrationError::Connect(_)),
            "{case}: {error:?}"
        );
        assert!(error.to_string().contains(expected), "{case}: {error}");
        assert!(
            !error.to_string().contains("secret-password"),
            "{case}: {error}"
        );
    }

    let error = PostgresStore::connect(&settings(&url("127.0.0.1", "sslmode=verify-everything")))
        .await
        .expect_err("an unknown sslmode");
    assert!(
        error
            .to_string()
            .contains("DATABASE_URL: sslmode=\"verify-everything\""),
        "{error}"
    );
    let error = run_migrations(&url(
        "127.0.0.1",
        "sslmode=verify-full&sslrootcert=/nonexistent/root.crt",
    ))
    .await
    .expect_err("an unreadable sslrootcert");
    assert!(
        error
            .to_string()
            .starts_with("DATABASE_URL: sslrootcert=\"/nonexistent/root.crt\" cannot be read"),
        "{error}"
    );
}

fn settings(url: &str) -> PostgresSettings {
    PostgresSettings {
        url: url.to_owned(),
        max_connections: 2,
        connect_timeout: Duration::from_secs(10),
    }
}

/// A TLS-only PostgreSQL cluster in a temporary directory; stopped and removed on drop.
struct TlsCluster {
    bin_dir: PathBuf,
    data_dir: PathBuf,
    run_as_postgres: bool,
    port: u16,
    ca_file: PathBuf,
    other_ca_file: PathBuf,
    _directory: tempfile::TempDir,
}

impl TlsCluster {
    /// `None` (the test is skipped, saying why) when PostgreSQL's server binaries are
    /// missing outside CI; under `CI=true` their absence fails the test.
    fn start() -> Option<TlsCluster> {
        let Some(bin_dir) = postgres_bin_dir() else {
            let install = "PostgreSQL's server binaries (`initdb`, `pg_ctl`) are found neither \
                           in PATH nor in /usr/lib/postgresql/*/bin; install them \
                           (Debian/Ubuntu: `apt-get install postgresql`)";
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("CI=true: the PostgreSQL TLS tests never skip: {install}");
            }
            eprintln!("skipping the PostgreSQL TLS tests: {install}");
            return None;
        };
        let directory = tempfile::tempdir().unwrap();
        // PostgreSQL refuses to run as root: then the cluster is the `postgres` user's.
        let run_as_postgres = command_output("id", &["-u"]) == "0";
        let owner = run_as_postgres.then(|| {
            (
                command_output("id", &["-u", "postgres"])
                    .parse::<u32>()
                    .unwrap(),
                command_output("id", &["-g", "postgres"])
                    .parse::<u32>()
                    .unwrap(),
            )
        });
        let give = |path: &Path| {
            if let Some((uid, gid)) = owner {
                std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
            }
        };
        give(directory.path());

        let mut cluster = TlsCluster {
            data_dir: directory.path().join("data"),
            ca_file: directory.path().join("root.crt"),
            other_ca_file: directory.path().join("other-root.crt"),
            bin_dir,
            run_as_postgres,
            port: 0,
            _directory: directory,
        };
        cluster.run(
            "initdb",
            &[
                "-D".into(),
                cluster.data_dir.clone().into(),
                "-U".into(),
                "postgres".into(),
                "-A".into(),
                "trust".into(),
                "--no-locale".into(),
                "--no-sync".into(),
            ],
        );

        let (ca, ca_key) = certificate_authority("Ryze test CA");
        let (other_ca, _) = certificate_authority("Another CA");
        let server_key = KeyPair::generate().unwrap();
        let server = CertificateParams::new(vec![SERVER_HOST_NAME.to_owned()])
            .unwrap()
            .signed_by(&server_key, &ca, &ca_key)
            .unwrap();
        std::fs::write(&cluster.ca_file, ca.pem()).unwrap();
        std::fs::write(&cluster.other_ca_file, other_ca.pem()).unwrap();
        let server_files = [
            ("server.crt", server.pem()),
            ("server.key", server_key.serialize_pem()),
            (
                "pg_hba.conf",
                "hostssl all all 127.0.0.1/32 trust\n".to_owned(),
            ),
        ];
        for (name, contents) in server_files {
            let path = cluster.data_dir.join(name);
            std::fs::write(&path, contents).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            give(&path);
        }

        cluster.port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c ssl=on \
             -c fsync=off -c full_page_writes=off",
            cluster.port
        );
        cluster.run(
            "pg_ctl",
            &[
                "-D".into(),
                cluster.data_dir.clone().into(),
                "-l".into(),
                cluster.data_dir.join("server.log").into(),
                "-o".into(),
                options.into(),
                "-w".into(),
                "start".into(),
            ],
        );
        Some(cluster)
    }

    fn command(&self, program: &str, arguments: &[OsString]) -> Command {
        let program = self.bin_dir.join(program);
        let mut command = if self.run_as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        };
        command
            .args(arguments)
            .current_dir("/")
            .stdin(Stdio::null());
        command
    }

    fn run(&self, program: &str, arguments: &[OsString]) {
        let output = self.command(program, arguments).output().unwrap();
        let log = std::fs::read_to_string(self.data_dir.join("server.log")).unwrap_or_default();
        assert!(
            output.status.success(),
            "{program} failed: {}{}\n{log}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
    }
}

impl Drop for TlsCluster {
    fn drop(&mut self) {
        let arguments: [OsString; 6] = [
            "-D".into(),
            self.data_dir.clone().into(),
            "-m".into(),
            "immediate".into(),
            "-w".into(),
            "stop".into(),
        ];
        let _ = self
            .command("pg_ctl", &arguments)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A self-signed certificate authority and its key.
fn certificate_authority(name: &str) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut parameters = CertificateParams::new(Vec::<String>::new()).unwrap();
    parameters.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    parameters.distinguished_name.push(DnType::CommonName, name);
    parameters.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    (parameters.self_signed(&key).unwrap(), key)
}

/// The first directory holding `initdb` and `pg_ctl`: from `PATH`, then
/// `/usr/lib/postgresql/<version>/bin`, newest first.
fn postgres_bin_dir() -> Option<PathBuf> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    let from_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>());
    let mut installed: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry
                .file_name()
                .to_str()?
                .split('.')
                .next()?
                .parse()
                .ok()?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    installed.sort();
    from_path
        .chain(installed.into_iter().rev().map(|(_, bin)| bin))
        .find(|dir| has_both(dir))
}

fn command_output(program: &str, arguments: &[&str]) -> String {
    let output = Command::new(program).args(arguments).output().unwrap();
    assert!(output.status.success(), "{program} {arguments:?} failed");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}
