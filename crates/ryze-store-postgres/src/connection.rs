//! Opening one connection as `DATABASE_URL` says, TLS included: the pool's connections
//! and the migrations' connection both come from a [`PostgresConnector`].
//!
//! `sslmode` and `sslrootcert` are read as libpq reads them (tokio-postgres alone knows
//! neither `verify-ca`, `verify-full` nor `sslrootcert`), taken out of the URL, and the
//! rest of the URL is given to tokio-postgres:
//! - `disable`: never TLS;
//! - `prefer` (the default, as in libpq): TLS without checking the certificate when the
//!   server offers it, else, or when the handshake fails, a connection in plain text,
//!   with a warning in the log;
//! - `require`: TLS or no connection; the certificate is not checked, unless
//!   `sslrootcert` is given, which makes it `verify-ca`;
//! - `verify-ca`: TLS, the chain checked against `sslrootcert` (or the webpki roots
//!   when it is absent or `system`);
//! - `verify-full`: `verify-ca`, and the certificate must name the host connected to.
//!
//! No text built here repeats the URL: it may hold a password.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use diesel::ConnectionError;
use diesel_async::AsyncPgConnection;
use percent_encoding::percent_decode_str;
use tokio_postgres::config::SslMode as DriverSslMode;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use crate::tls::{client_config, CertificateCheck, MakeRustlsConnect};

/// `sslmode` of `DATABASE_URL`, as libpq documents it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    const NAMES: [(&'static str, SslMode); 5] = [
        ("disable", SslMode::Disable),
        ("prefer", SslMode::Prefer),
        ("require", SslMode::Require),
        ("verify-ca", SslMode::VerifyCa),
        ("verify-full", SslMode::VerifyFull),
    ];

    /// The value as written in a URL.
    pub fn name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, mode)| *mode == self)
            .map_or("prefer", |(name, _)| name)
    }
}

impl FromStr for SslMode {
    type Err = ConnectionSettingsError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::NAMES
            .iter()
            .find(|(name, _)| *name == value)
            .map(|(_, mode)| *mode)
            .ok_or_else(|| {
                ConnectionSettingsError::UnknownSslMode(value.chars().take(40).collect())
            })
    }
}

/// `DATABASE_URL` cannot be used: a start-up error naming the setting at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectionSettingsError {
    #[error("DATABASE_URL must be a postgres:// or postgresql:// URL")]
    NotAUrl,
    #[error(
        "DATABASE_URL: sslmode={0:?} is not one of disable, prefer, require, verify-ca, verify-full"
    )]
    UnknownSslMode(String),
    #[error("DATABASE_URL: sslrootcert={path:?} cannot be read: {reason}")]
    UnreadableRootCertificate { path: PathBuf, reason: String },
    #[error("DATABASE_URL: sslrootcert={path:?} holds no usable PEM certificate{reason}")]
    NoRootCertificate { path: PathBuf, reason: String },
    #[error("DATABASE_URL is not a valid PostgreSQL URL: {0}")]
    Invalid(String),
    #[error("DATABASE_URL: the TLS client cannot be set up: {0}")]
    Tls(String),
}

/// Opens connections to the database of one `DATABASE_URL`, over TLS as its `sslmode`
/// says. Reads `sslrootcert` once, when built.
#[derive(Clone)]
pub(crate) struct PostgresConnector {
    config: tokio_postgres::Config,
    mode: SslMode,
    /// `sslmode` was written in the URL (an implicit `prefer` falls back quietly).
    mode_is_explicit: bool,
    tls: Arc<ClientConfig>,
}

impl std::fmt::Debug for PostgresConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresConnector")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl PostgresConnector {
    /// Reads `url`: its TLS parameters, and the rest as tokio-postgres does.
    pub(crate) fn from_url(url: &str) -> Result<Self, ConnectionSettingsError> {
        let TlsParameters {
            url_without_tls,
            sslmode,
            sslrootcert,
        } = TlsParameters::take_from(url)?;
        let mode = sslmode.as_deref().map_or(Ok(SslMode::Prefer), str::parse)?;
        let check = certificate_check(mode, sslrootcert)?;
        let tls = client_config(check)
            .map_err(|error| ConnectionSettingsError::Tls(error.to_string()))?;
        let config = tokio_postgres::Config::from_str(&url_without_tls)
            .map_err(|error| ConnectionSettingsError::Invalid(error.to_string()))?;
        Ok(Self {
            config,
            mode,
            mode_is_explicit: sslmode.is_some(),
            tls: Arc::new(tls),
        })
    }

    /// Opens one connection.
    pub(crate) async fn connect(&self) -> Result<AsyncPgConnection, ConnectionError> {
        match self.mode {
            SslMode::Disable => self.attempt(DriverSslMode::Disable).await.connection,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                self.attempt(DriverSslMode::Require).await.connection
            }
            SslMode::Prefer => self.connect_preferring_tls().await,
        }
    }

    /// `prefer`: TLS when the server offers it and the handshake succeeds, else plain text.
    async fn connect_preferring_tls(&self) -> Result<AsyncPgConnection, ConnectionError> {
        let attempt = self.attempt(DriverSslMode::Prefer).await;
        match (attempt.connection, attempt.tls_offered) {
            (Ok(connection), true) => Ok(connection),
            (Ok(connection), false) => {
                self.warn_of_plain_text("the server does not offer TLS", None);
                Ok(connection)
            }
            (Err(error), true) => {
                self.warn_of_plain_text("the TLS handshake failed", Some(&error));
                self.attempt(DriverSslMode::Disable).await.connection
            }
            (Err(error), false) => Err(error),
        }
    }

    fn warn_of_plain_text(&self, why: &str, error: Option<&ConnectionError>) {
        let error = error.map(ToString::to_string).unwrap_or_default();
        if self.mode_is_explicit {
            tracing::warn!(
                %error,
                "sslmode=prefer: {why}; this connection to PostgreSQL is NOT encrypted \
                 (set sslmode=require or verify-full to refuse plain text)"
            );
        } else {
            tracing::debug!(%error, "no sslmode given (prefer): {why}; connecting in plain text");
        }
    }

    /// One connection attempt with tokio-postgres' `mode`.
    async fn attempt(&self, mode: DriverSslMode) -> Attempt {
        let mut config = self.config.clone();
        config.ssl_mode(mode);
        let tls = MakeRustlsConnect::new(Arc::clone(&self.tls), self.mode.name());
        let tls_offered = tls.tls_offered();
        let connection = match config.connect(tls).await {
            Ok((client, connection)) => {
                AsyncPgConnection::try_from_client_and_connection(client, connection).await
            }
            Err(error) => Err(ConnectionError::BadConnection(described(&error))),
        };
        Attempt {
            connection,
            tls_offered: tls_offered.load(Ordering::SeqCst),
        }
    }
}

/// `error` and its causes (tokio-postgres' own text names only the kind of failure: the
/// refused certificate or the server's refusal is in the causes), first lines only: a
/// server's `DETAIL` and `HINT` lines stay out.
fn described(error: &tokio_postgres::Error) -> String {
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(error) = cause {
        text.push_str(": ");
        text.push_str(&error.to_string());
        cause = error.source();
    }
    text.lines().next().unwrap_or_default().to_owned()
}

/// How one connection attempt ended.
struct Attempt {
    connection: Result<AsyncPgConnection, ConnectionError>,
    /// A server accepted TLS during the attempt (whether the handshake then succeeded
    /// or not).
    tls_offered: bool,
}

/// What to check of the server's certificate.
fn certificate_check(
    mode: SslMode,
    sslrootcert: Option<String>,
) -> Result<CertificateCheck, ConnectionSettingsError> {
    let roots = || root_certificates(sslrootcert.as_deref()).map(Arc::new);
    Ok(match mode {
        SslMode::Disable | SslMode::Prefer => CertificateCheck::Nothing,
        SslMode::Require if sslrootcert.is_none() => CertificateCheck::Nothing,
        SslMode::Require | SslMode::VerifyCa => CertificateCheck::Chain(roots()?),
        SslMode::VerifyFull => CertificateCheck::ChainAndHostName(roots()?),
    })
}

/// The certificates of the file `sslrootcert`, or the webpki roots when it is absent or
/// `system`.
fn root_certificates(sslrootcert: Option<&str>) -> Result<RootCertStore, ConnectionSettingsError> {
    let path = match sslrootcert {
        None | Some("system") => {
            return Ok(RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            })
        }
        Some(path) => PathBuf::from(path),
    };
    let contents = std::fs::read(&path).map_err(|error| {
        ConnectionSettingsError::UnreadableRootCertificate {
            path: path.clone(),
            reason: error.to_string(),
        }
    })?;
    let no_certificate = |reason: String| ConnectionSettingsError::NoRootCertificate {
        path: path.clone(),
        reason,
    };
    let certificates = CertificateDer::pem_slice_iter(&contents)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| no_certificate(format!(" ({error})")))?;
    let mut roots = RootCertStore::empty();
    let (_, refused) = roots.add_parsable_certificates(certificates);
    if roots.is_empty() {
        let reason = if refused > 0 {
            format!(" ({refused} certificates could not be parsed)")
        } else {
            String::new()
        };
        return Err(no_certificate(reason));
    }
    Ok(roots)
}

/// `sslmode` and `sslrootcert` taken out of a URL.
#[derive(Debug, PartialEq, Eq)]
struct TlsParameters {
    /// The URL less those two parameters, for tokio-postgres.
    url_without_tls: String,
    sslmode: Option<String>,
    sslrootcert: Option<String>,
}

impl TlsParameters {
    fn take_from(url: &str) -> Result<Self, ConnectionSettingsError> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(ConnectionSettingsError::NotAUrl);
        }
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut kept = Vec::new();
        let mut parameters = TlsParameters {
            url_without_tls: String::new(),
            sslmode: None,
            sslrootcert: None,
        };
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let slot = match decoded(key)?.as_str() {
                "sslmode" => &mut parameters.sslmode,
                "sslrootcert" => &mut parameters.sslrootcert,
                _ => {
                    kept.push(pair);
                    continue;
                }
            };
            *slot = Some(decoded(value)?);
        }
        parameters.url_without_tls = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        Ok(parameters)
    }
}

/// A percent-decoded query key or value.
fn decoded(text: &str) -> Result<String, ConnectionSettingsError> {
    percent_decode_str(text)
        .decode_utf8()
        .map(|text| text.into_owned())
        .map_err(|_| {
            ConnectionSettingsError::Invalid("a query parameter is not UTF-8 once decoded".into())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tls_parameters_are_taken_out_of_the_url() {
        let parameters = TlsParameters::take_from(
            "postgres://u:p@db:5432/app?application_name=ryze&sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&connect_timeout=3",
        )
        .unwrap();
        assert_eq!(
            parameters,
            TlsParameters {
                url_without_tls:
                    "postgres://u:p@db:5432/app?application_name=ryze&connect_timeout=3".to_owned(),
                sslmode: Some("verify-full".to_owned()),
                sslrootcert: Some("/etc/ca.pem".to_owned()),
            }
        );
        let plain = TlsParameters::take_from("postgresql://db/app").unwrap();
        assert_eq!(plain.url_without_tls, "postgresql://db/app");
        assert_eq!((plain.sslmode, plain.sslrootcert), (None, None));
    }

    #[test]
    fn every_libpq_sslmode_is_understood_and_no_other() {
        for (name, mode) in SslMode::NAMES {
            assert_eq!(name.parse::<SslMode>(), Ok(mode));
            assert_eq!(mode.name(), name);
        }
        let error =
            PostgresConnector::from_url("postgres://u:secret@db/app?sslmode=verify").unwrap_err();
        assert_eq!(
            error,
            ConnectionSettingsError::UnknownSslMode("verify".into())
        );
        let text = error.to_string();
        assert!(text.contains("sslmode=\"verify\""), "{text}");
        assert!(!text.contains("secret"), "{text}");
    }

    #[test]
    fn an_unreadable_or_empty_root_certificate_names_the_setting() {
        let error = PostgresConnector::from_url(
            "postgres://u:secret@db/app?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
        )
        .unwrap_err();
        assert!(
            matches!(
                error,
                ConnectionSettingsError::UnreadableRootCertificate { .. }
            ),
            "{error:?}"
        );
        let text = error.to_string();
        assert!(
            text.starts_with("DATABASE_URL: sslrootcert=\"/nonexistent/ca.pem\" cannot be read"),
            "{text}"
        );
        assert!(!text.contains("secret"), "{text}");

        let empty = std::env::temp_dir().join(format!("ryze-empty-ca-{}.pem", std::process::id()));
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let error = PostgresConnector::from_url(&format!(
            "postgres://db/app?sslmode=require&sslrootcert={}",
            empty.display()
        ))
        .unwrap_err();
        let _ = std::fs::remove_file(&empty);
        assert!(
            matches!(error, ConnectionSettingsError::NoRootCertificate { .. }),
            "{error:?}"
        );
    }

    #[test]
    fn require_checks_the_chain_only_when_a_root_certificate_is_given() {
        assert!(matches!(
            certificate_check(SslMode::Require, None),
            Ok(CertificateCheck::Nothing)
        ));
        assert!(matches!(
            certificate_check(SslMode::VerifyCa, None),
            Ok(CertificateCheck::Chain(_))
        ));
        assert!(matches!(
            certificate_check(SslMode::VerifyFull, Some("system".into())),
            Ok(CertificateCheck::ChainAndHostName(_))
        ));
        assert!(matches!(
            certificate_check(SslMode::Require, Some("/nonexistent/ca.pem".into())),
            Err(ConnectionSettingsError::UnreadableRootCertificate { .. })
        ));
    }

    #[test]
    fn a_key_value_string_is_refused_without_repeating_it() {
        let error = PostgresConnector::from_url("host=db password=secret").unwrap_err();
        assert_eq!(error, ConnectionSettingsError::NotAUrl);
    }
}
