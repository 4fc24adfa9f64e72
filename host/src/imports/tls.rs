//! TLS for driver sockets with PostgreSQL's `sslmode` meanings:
//! `prefer`/`require` encrypt without checking the certificate (unless a
//! root certificate is given, then `require` checks the CA like libpq),
//! `verify-ca` checks the chain, `verify-full` the chain and the host name.
//! Drivers never see certificates or keys.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::config::TlsMode;

/// The TLS policy of one connection config, built once per pool.
pub struct TlsSettings {
    /// The `sslmode`.
    pub mode: TlsMode,
    config: Option<Arc<ClientConfig>>,
}

impl std::fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSettings").field("mode", &self.mode).finish()
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn load_roots(root_cert: &str) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    if root_cert == "system" {
        let found = rustls_native_certs::load_native_certs();
        for cert in found.certs {
            let _ = roots.add(cert);
        }
    } else {
        let pem = read_cert_file(root_cert)?;
        let certs = CertificateDer::pem_slice_iter(&pem);
        for cert in certs {
            let cert = cert.map_err(|e| format!("bad certificate in {root_cert}: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("bad certificate in {root_cert}: {e}"))?;
        }
    }
    if roots.is_empty() {
        return Err(format!("sslrootcert {root_cert} holds no certificate"));
    }
    Ok(roots)
}

/// Largest certificate file read: a CA bundle is a few hundred KiB.
pub const MAX_CERT_FILE: u64 = 4 << 20;

/// Reads a PEM file of certificates: a regular file of at most
/// [`MAX_CERT_FILE`] bytes (never a device or a pipe, which could block or
/// never end).
fn read_cert_file(path: &str) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read sslrootcert {path}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("sslrootcert {path} is not a regular file"));
    }
    if meta.len() > MAX_CERT_FILE {
        return Err(format!("sslrootcert {path} is larger than {} MiB", MAX_CERT_FILE >> 20));
    }
    let mut pem = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_CERT_FILE + 1).read_to_end(&mut pem))
        .map_err(|e| format!("cannot read sslrootcert {path}: {e}"))?;
    if pem.len() as u64 > MAX_CERT_FILE {
        return Err(format!("sslrootcert {path} is larger than {} MiB", MAX_CERT_FILE >> 20));
    }
    Ok(pem)
}

/// libpq's default root certificate file.
fn default_root_cert() -> Option<String> {
    let path = dirs::home_dir()?.join(".postgresql").join("root.crt");
    path.exists().then(|| path.display().to_string())
}

impl TlsSettings {
    /// No TLS at all.
    pub fn disabled() -> TlsSettings {
        TlsSettings {
            mode: TlsMode::Disable,
            config: None,
        }
    }

    /// Builds the client configuration for `mode`; fails when a verifying
    /// mode has no root certificate to verify with.
    pub fn new(mode: TlsMode, root_cert: Option<&str>) -> Result<TlsSettings, String> {
        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?;
        let roots = match (mode, root_cert) {
            (TlsMode::Disable, _) => return Ok(TlsSettings { mode, config: None }),
            (TlsMode::VerifyCa | TlsMode::VerifyFull, None) => {
                let Some(path) = default_root_cert() else {
                    return Err(format!(
                        "sslmode={} needs a root certificate: set sslrootcert=FILE (or sslrootcert=system)",
                        mode.name()
                    ));
                };
                Some(load_roots(&path)?)
            }
            (TlsMode::Prefer, _) | (TlsMode::Require, None) => None,
            (_, Some(path)) => Some(load_roots(path)?),
        };
        let config = match (mode, roots) {
            (TlsMode::VerifyFull, Some(roots)) => builder.with_root_certificates(roots),
            (_, Some(roots)) => {
                let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
                    .build()
                    .map_err(|e| e.to_string())?;
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(CaOnly(inner)))
            }
            (_, None) => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoCertCheck(provider()))),
        }
        .with_no_client_auth();
        Ok(TlsSettings {
            mode,
            config: Some(Arc::new(config)),
        })
    }

    /// Whether plaintext must never carry the session.
    pub fn required(&self) -> bool {
        matches!(self.mode, TlsMode::Require | TlsMode::VerifyCa | TlsMode::VerifyFull)
    }

    /// Runs the handshake over `tcp` for `server_name`.
    pub async fn handshake(&self, tcp: TcpStream, server_name: &str) -> Result<TlsStream<TcpStream>, String> {
        let Some(config) = &self.config else {
            return Err("TLS is disabled for this connection (sslmode=disable)".into());
        };
        let name = ServerName::try_from(server_name.to_string())
            .map_err(|_| format!("`{server_name}` is not a valid TLS server name"))?;
        tokio_rustls::TlsConnector::from(config.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS handshake with {server_name} failed: {e}"))
    }
}

/// Encrypts but accepts any certificate (`prefer`, `require`); the
/// handshake signatures are still checked.
#[derive(Debug)]
struct NoCertCheck(Arc<CryptoProvider>);

impl ServerCertVerifier for NoCertCheck {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Checks the chain against the roots but not the host name (`verify-ca`).
#[derive(Debug)]
struct CaOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for CaOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_files_are_bounded() {
        let e = TlsSettings::new(TlsMode::VerifyCa, Some("/dev/zero")).unwrap_err();
        assert!(e.contains("not a regular file"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.pem");
        std::fs::File::create(&big).unwrap().set_len(MAX_CERT_FILE + 1).unwrap();
        let e = TlsSettings::new(TlsMode::VerifyCa, Some(big.to_str().unwrap())).unwrap_err();
        assert!(e.contains("larger than"), "{e}");
        let e = TlsSettings::new(TlsMode::VerifyCa, Some("/nonexistent/ca.pem")).unwrap_err();
        assert!(e.contains("cannot read sslrootcert"), "{e}");
    }
}
