//! TLS inside the adapter: rustls with the `ring` provider, libpq's
//! `sslmode` meanings as driverbox's host applies them — `prefer` and
//! `require` encrypt without checking the certificate (a root certificate
//! given explicitly makes `require` check the chain, as libpq does),
//! `verify-ca` checks the chain, `verify-full` the chain and the host name.
//! Roots: the built-in Mozilla set, a PEM file, or PEM text.

use std::io::Read;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::AdapterError;
use crate::net::{from_io, Tcp};
use crate::settings::{Roots, Settings, SslMode};

/// Largest certificate file read: a CA bundle is a few hundred KiB.
pub const MAX_CERT_FILE: u64 = 4 << 20;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_err(what: &str, e: impl std::fmt::Display) -> AdapterError {
    AdapterError::Tls(format!("{what}: {e}"))
}

fn read_pem_file(path: &str) -> Result<Vec<u8>, AdapterError> {
    let cannot =
        |e: &dyn std::fmt::Display| AdapterError::Tls(format!("cannot read DRIVERBOX_SSLROOTCERT {path}: {e}"));
    let meta = std::fs::metadata(path).map_err(|e| cannot(&e))?;
    if !meta.is_file() {
        return Err(cannot(&"not a regular file"));
    }
    let mut pem = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_CERT_FILE + 1).read_to_end(&mut pem))
        .map_err(|e| cannot(&e))?;
    if pem.len() as u64 > MAX_CERT_FILE {
        return Err(cannot(&format!("larger than {} MiB", MAX_CERT_FILE >> 20)));
    }
    Ok(pem)
}

/// The trusted roots of `roots`.
pub fn root_store(roots: &Roots) -> Result<RootCertStore, AdapterError> {
    let mut store = RootCertStore::empty();
    let (pem, source) = match roots {
        Roots::BuiltIn => {
            store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            return Ok(store);
        }
        Roots::File(path) => (read_pem_file(path)?, path.as_str()),
        Roots::Pem(text) => (text.as_bytes().to_vec(), "DRIVERBOX_SSLROOTCERT_PEM"),
    };
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| tls_err(&format!("bad certificate in {source}"), e))?;
        store
            .add(cert)
            .map_err(|e| tls_err(&format!("bad certificate in {source}"), e))?;
    }
    if store.is_empty() {
        return Err(AdapterError::Tls(format!("{source} holds no certificate")));
    }
    Ok(store)
}

/// The client configuration for the settings; `None` for `disable`.
pub fn client_config(settings: &Settings) -> Result<Option<Arc<ClientConfig>>, AdapterError> {
    let mode = settings.sslmode;
    if mode == SslMode::Disable {
        return Ok(None);
    }
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err("TLS set-up", e))?;
    let explicit = settings.roots != Roots::BuiltIn;
    let check_chain = match mode {
        SslMode::VerifyCa | SslMode::VerifyFull => true,
        SslMode::Require => explicit,
        SslMode::Prefer | SslMode::Disable => false,
    };
    let config = if !check_chain {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoCertCheck(provider())))
    } else {
        let roots = root_store(&settings.roots)?;
        if mode == SslMode::VerifyFull {
            builder.with_root_certificates(roots)
        } else {
            let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
                .build()
                .map_err(|e| tls_err("TLS set-up", e))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(CaOnly(inner)))
        }
    }
    .with_no_client_auth();
    Ok(Some(Arc::new(config)))
}

/// Runs the TLS handshake over `tcp` for `server_name`.
pub fn handshake(
    config: Arc<ClientConfig>,
    tcp: &mut Tcp,
    server_name: &str,
) -> Result<ClientConnection, AdapterError> {
    let bare = server_name
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(server_name);
    let name = ServerName::try_from(bare.to_string())
        .map_err(|_| AdapterError::Tls(format!("`{server_name}` is not a valid TLS server name")))?;
    let mut conn = ClientConnection::new(config, name).map_err(|e| tls_err("TLS set-up", e))?;
    while conn.is_handshaking() {
        conn.complete_io(tcp).map_err(|e| match from_io(&e) {
            Some(AdapterError::Timeout { seconds, .. }) => AdapterError::Timeout {
                what: "TLS handshake",
                seconds,
            },
            Some(inner) => inner,
            None => AdapterError::Tls(format!("TLS handshake with {server_name} failed: {e}")),
        })?;
    }
    Ok(conn)
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

    fn settings(mode: SslMode, roots: Roots) -> Settings {
        Settings {
            sslmode: mode,
            roots,
            connect_timeout_secs: 10,
            io_timeout_secs: 60,
            log: crate::settings::LogLevel::Warn,
        }
    }

    #[test]
    fn modes_build_configs() {
        assert!(client_config(&settings(SslMode::Disable, Roots::BuiltIn))
            .unwrap()
            .is_none());
        for mode in [
            SslMode::Prefer,
            SslMode::Require,
            SslMode::VerifyCa,
            SslMode::VerifyFull,
        ] {
            assert!(client_config(&settings(mode, Roots::BuiltIn)).unwrap().is_some());
        }
        assert!(root_store(&Roots::BuiltIn).unwrap().len() > 50);
    }

    #[test]
    fn bad_roots_are_named() {
        let e = client_config(&settings(SslMode::VerifyFull, Roots::Pem("not a pem".into()))).unwrap_err();
        assert!(e.to_string().contains("holds no certificate"), "{e}");
        let e = client_config(&settings(SslMode::VerifyCa, Roots::File("/nonexistent/ca.pem".into()))).unwrap_err();
        assert!(e.to_string().contains("cannot read DRIVERBOX_SSLROOTCERT"), "{e}");
        let e = client_config(&settings(SslMode::VerifyCa, Roots::File("/dev/zero".into()))).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        // prefer never reads the roots.
        assert!(client_config(&settings(SslMode::Prefer, Roots::File("/nonexistent".into()))).is_ok());
    }
}
