//! TLS for tokio-postgres over rustls: a [`MakeTlsConnect`] whose server-certificate check
//! is the one `sslmode` asks for (none, the chain, or the chain and the host name), and
//! which records whether the server accepted TLS at all (for `sslmode=prefer`).
//!
//! Channel binding (`SCRAM-SHA-256-PLUS`) is not offered: the streams report no
//! `tls-server-end-point`, so SCRAM runs without it, as libpq does over a connection
//! that does not support it.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use tokio_postgres::Socket;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use tokio_rustls::rustls::crypto::{
    ring, verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms,
};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::server::ParsedCertificate;
use tokio_rustls::rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, Error as RustlsError, RootCertStore,
    SignatureScheme,
};
use tokio_rustls::TlsConnector;

/// What the client checks of the server's certificate.
#[derive(Debug, Clone)]
pub(crate) enum CertificateCheck {
    /// Nothing: the connection is encrypted, but the server is not authenticated
    /// (`sslmode=prefer`, and `require` without `sslrootcert`).
    Nothing,
    /// The chain leads to one of `roots` (`verify-ca`, and `require` with `sslrootcert`).
    Chain(Arc<RootCertStore>),
    /// The chain, and that the certificate names the host connected to (`verify-full`).
    ChainAndHostName(Arc<RootCertStore>),
}

/// A rustls client configuration checking certificates as `check` says.
pub(crate) fn client_config(check: CertificateCheck) -> Result<ClientConfig, RustlsError> {
    let provider = Arc::new(ring::default_provider());
    let verifier = Arc::new(PostgresServerVerifier {
        check,
        algorithms: provider.signature_verification_algorithms,
    });
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

#[derive(Debug)]
struct PostgresServerVerifier {
    check: CertificateCheck,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PostgresServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, RustlsError> {
        let (roots, check_host_name) = match &self.check {
            CertificateCheck::Nothing => return Ok(ServerCertVerified::assertion()),
            CertificateCheck::Chain(roots) => (roots, false),
            CertificateCheck::ChainAndHostName(roots) => (roots, true),
        };
        let certificate = ParsedCertificate::try_from(end_entity)?;
        verify_server_cert_signed_by_trust_anchor(
            &certificate,
            roots,
            intermediates,
            now,
            self.algorithms.all,
        )?;
        if check_host_name {
            verify_server_name(&certificate, server_name)?;
        }
        Ok(ServerCertVerified::assertion())
    }

    // The handshake's signatures are always checked: they prove the server holds the
    // key of the certificate it sent, whatever is checked of the certificate itself.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, RustlsError> {
        verify_tls12_signature(message, certificate, signature, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, RustlsError> {
        verify_tls13_signature(message, certificate, signature, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Makes the TLS connector of one connection attempt; `tls_offered` turns true when the
/// server agreed to TLS (tokio-postgres calls the connector only then).
pub(crate) struct MakeRustlsConnect {
    config: Arc<ClientConfig>,
    /// `sslmode`, for the handshake's error text.
    mode: &'static str,
    tls_offered: Arc<AtomicBool>,
}

impl MakeRustlsConnect {
    pub(crate) fn new(config: Arc<ClientConfig>, mode: &'static str) -> Self {
        Self {
            config,
            mode,
            tls_offered: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Whether a server accepted TLS during the attempt this connector served.
    pub(crate) fn tls_offered(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.tls_offered)
    }
}

impl MakeTlsConnect<Socket> for MakeRustlsConnect {
    type Stream = RustlsStream;
    type TlsConnect = RustlsConnect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, host_name: &str) -> Result<RustlsConnect, io::Error> {
        // tokio-postgres asks even when it will not use TLS (`sslmode=disable`, a Unix
        // socket with no host name): a name TLS cannot use fails the handshake only.
        let server_name = ServerName::try_from(host_name.to_owned()).map_err(|_| {
            format!("the host name {host_name:?} cannot be checked against a certificate")
        });
        Ok(RustlsConnect {
            config: Arc::clone(&self.config),
            mode: self.mode,
            server_name,
            tls_offered: Arc::clone(&self.tls_offered),
        })
    }
}

/// The TLS connector of one connection to one host.
pub(crate) struct RustlsConnect {
    config: Arc<ClientConfig>,
    mode: &'static str,
    server_name: Result<ServerName<'static>, String>,
    tls_offered: Arc<AtomicBool>,
}

impl TlsConnect<Socket> for RustlsConnect {
    type Stream = RustlsStream;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<RustlsStream, io::Error>> + Send>>;

    fn connect(self, socket: Socket) -> Self::Future {
        self.tls_offered.store(true, Ordering::SeqCst);
        Box::pin(async move {
            let server_name = self.server_name.map_err(io::Error::other)?;
            let stream = TlsConnector::from(self.config)
                .connect(server_name, socket)
                .await
                .map_err(|error| handshake_failure(self.mode, &error))?;
            Ok(RustlsStream(stream))
        })
    }
}

/// The handshake's `error`, naming `sslmode`, with a hint when the certificate's issuer
/// is unknown.
fn handshake_failure(mode: &str, error: &io::Error) -> io::Error {
    let refusal = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<RustlsError>());
    let hint = match refusal {
        Some(RustlsError::InvalidCertificate(CertificateError::UnknownIssuer)) => {
            " (the chain leads to no root certificate of sslrootcert, or of the webpki roots \
             when sslrootcert is not set)"
        }
        _ => "",
    };
    io::Error::new(error.kind(), format!("sslmode={mode}: {error}{hint}"))
}

/// A TLS connection to the server.
pub(crate) struct RustlsStream(tokio_rustls::client::TlsStream<Socket>);

impl TlsStream for RustlsStream {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

impl AsyncRead for RustlsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(context, buffer)
    }
}

impl AsyncWrite for RustlsStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(context, buffer)
    }

    fn poll_flush(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(context)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(context)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffers: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(context, buffers)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }
}
