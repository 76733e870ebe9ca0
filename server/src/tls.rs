//! TLS for the status page, opt-in (chart `tls.enabled`): a self-signed certificate made once per
//! site by `token ensure --tls` for the node's address, kept beside the token on the admin's machine
//! and in Secret `appliance-system/appliance-status-tls`, and served by the listener itself. The
//! admin checks the browser's warning against the certificate's SHA-256 fingerprint, printed with
//! the URL; from then on the token and the session cookie (`__Host-`, `Secure`) travel encrypted.

use crate::{Error, Result};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;

/// A certificate and its private key, PEM.
#[derive(Clone)]
pub struct CertifiedKey {
    pub cert_pem: String,
    pub key_pem: String,
}

impl std::fmt::Debug for CertifiedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CertifiedKey(***)")
    }
}

/// A self-signed certificate for `address` (the node's IP or name), `localhost` and `127.0.0.1`
/// (a port-forward), with a fresh P-256 key.
pub fn self_signed(address: &str) -> Result<CertifiedKey> {
    let mut names = vec![address.to_string()];
    for also in ["localhost", "127.0.0.1"] {
        if !names.iter().any(|n| n == also) {
            names.push(also.to_string());
        }
    }
    let made = rcgen::generate_simple_self_signed(names).map_err(Error::MakeCertificate)?;
    Ok(CertifiedKey {
        cert_pem: made.cert.pem(),
        key_pem: made.signing_key.serialize_pem(),
    })
}

/// The SHA-256 fingerprint of the first certificate in `cert_pem`, as browsers show it
/// (`AB:CD:…`, 32 bytes).
pub fn fingerprint(cert_pem: &str) -> Result<String> {
    let der = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .next()
        .ok_or(Error::NoCertificate)?
        .map_err(|error| Error::Pem {
            what: "the certificate".into(),
            error,
        })?;
    Ok(Sha256::digest(der.as_ref())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":"))
}

/// How often the certificate files are looked at again: a rotated Secret (`token rotate --tls`)
/// reaches the pod's volume within the kubelet's sync period, and handshakes use it from the next
/// look on, without a restart.
pub const RELOAD_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// The listener's TLS side from PEM files (`serve --tls-cert FILE --tls-key FILE`); the files
/// are read again every [`RELOAD_EVERY`] (an unreadable or mismatched pair is logged once and
/// the last good one kept).
pub fn acceptor(cert: &Path, key: &Path) -> Result<tokio_rustls::TlsAcceptor> {
    acceptor_reloading_every(cert, key, RELOAD_EVERY)
}

fn acceptor_reloading_every(
    cert: &Path,
    key: &Path,
    every: std::time::Duration,
) -> Result<tokio_rustls::TlsAcceptor> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let files = FileCert::load(cert, key, provider.clone(), every)?;
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(Error::TlsConfig)?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(files));
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// The certificate and key files, and the pair last read from them.
#[derive(Debug)]
struct FileCert {
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
    provider: Arc<rustls::crypto::CryptoProvider>,
    every: std::time::Duration,
    state: std::sync::Mutex<Loaded>,
}

#[derive(Debug)]
struct Loaded {
    pems: (Vec<u8>, Vec<u8>),
    key: Arc<rustls::sign::CertifiedKey>,
    looked: std::time::Instant,
    /// The last refused pair's text, so a bad pair is logged once.
    refused: Option<(Vec<u8>, Vec<u8>)>,
}

impl FileCert {
    fn load(
        cert: &Path,
        key: &Path,
        provider: Arc<rustls::crypto::CryptoProvider>,
        every: std::time::Duration,
    ) -> Result<FileCert> {
        let pems = read_pair(cert, key)?;
        let certified = certified_key(&pems, cert, key, &provider)?;
        Ok(FileCert {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            provider,
            every,
            state: std::sync::Mutex::new(Loaded {
                pems,
                key: Arc::new(certified),
                looked: std::time::Instant::now(),
                refused: None,
            }),
        })
    }

    /// The pair to serve: the files again when they were last looked at `every` ago.
    fn current(&self) -> Arc<rustls::sign::CertifiedKey> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.looked.elapsed() >= self.every {
            state.looked = std::time::Instant::now();
            match read_pair(&self.cert, &self.key) {
                Ok(pems) if pems == state.pems || state.refused.as_ref() == Some(&pems) => {}
                Ok(pems) => match certified_key(&pems, &self.cert, &self.key, &self.provider) {
                    Ok(certified) => {
                        tracing::info!(cert = %self.cert.display(), "TLS certificate reloaded");
                        state.key = Arc::new(certified);
                        state.pems = pems;
                        state.refused = None;
                    }
                    Err(e) => {
                        tracing::warn!("TLS certificate not reloaded, the last one stays: {e}");
                        state.refused = Some(pems);
                    }
                },
                // a Secret volume swaps its files at once; a miss is looked at again next time
                Err(e) => tracing::debug!("TLS certificate files: {e}"),
            }
        }
        state.key.clone()
    }
}

impl rustls::server::ResolvesServerCert for FileCert {
    fn resolve(
        &self,
        _hello: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.current())
    }
}

fn read_pair(cert: &Path, key: &Path) -> Result<(Vec<u8>, Vec<u8>)> {
    let read = |p: &Path| {
        std::fs::read(p).map_err(|error| Error::File {
            path: p.display().to_string(),
            error,
        })
    };
    Ok((read(cert)?, read(key)?))
}

fn certified_key(
    (cert_pem, key_pem): &(Vec<u8>, Vec<u8>),
    cert: &Path,
    key: &Path,
    provider: &rustls::crypto::CryptoProvider,
) -> Result<rustls::sign::CertifiedKey> {
    let pem = |path: &Path| {
        let what = path.display().to_string();
        move |error| Error::Pem { what, error }
    };
    let certs = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(pem(cert))?;
    if certs.is_empty() {
        return Err(Error::NoCertificateIn(cert.display().to_string()));
    }
    let private = PrivateKeyDer::from_pem_slice(key_pem).map_err(pem(key))?;
    rustls::sign::CertifiedKey::from_der(certs, private, provider).map_err(Error::KeyPair)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_self_signed_certificate_serves_and_has_a_fingerprint() {
        let made = self_signed("192.168.64.8").unwrap();
        assert!(made.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(made.key_pem.contains("PRIVATE KEY"));
        let fp = fingerprint(&made.cert_pem).unwrap();
        assert_eq!(fp.len(), 32 * 3 - 1, "{fp}");
        assert!(fp
            .split(':')
            .all(|b| b.len() == 2 && u8::from_str_radix(b, 16).is_ok()));
        // a new certificate, a new fingerprint
        assert_ne!(
            fp,
            fingerprint(&self_signed("192.168.64.8").unwrap().cert_pem).unwrap()
        );
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
        std::fs::write(&cert, &made.cert_pem).unwrap();
        std::fs::write(&key, &made.key_pem).unwrap();
        assert!(acceptor(&cert, &key).is_ok());
        std::fs::write(&key, "not a key").unwrap();
        let refused = acceptor(&cert, &key).err().expect("refused").to_string();
        assert!(refused.contains("tls.key"), "{refused}");
        assert!(fingerprint("not pem").is_err());
        assert!(format!("{made:?}").contains("***"));
    }

    /// The fingerprint a TLS client sees on connecting.
    async fn served_fingerprint(acceptor: tokio_rustls::TlsAcceptor) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let _ = acceptor.accept(stream).await;
        });
        #[derive(Debug)]
        struct AnyCert;
        impl rustls::client::danger::ServerCertVerifier for AnyCert {
            fn verify_server_cert(
                &self,
                _: &CertificateDer<'_>,
                _: &[CertificateDer<'_>],
                _: &rustls::pki_types::ServerName<'_>,
                _: &[u8],
                _: rustls::pki_types::UnixTime,
            ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
                Ok(rustls::client::danger::ServerCertVerified::assertion())
            }
            fn verify_tls12_signature(
                &self,
                _: &[u8],
                _: &CertificateDer<'_>,
                _: &rustls::DigitallySignedStruct,
            ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error>
            {
                Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
            }
            fn verify_tls13_signature(
                &self,
                _: &[u8],
                _: &CertificateDer<'_>,
                _: &rustls::DigitallySignedStruct,
            ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error>
            {
                Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
            }
            fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
                rustls::crypto::ring::default_provider()
                    .signature_verification_algorithms
                    .supported_schemes()
            }
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCert))
        .with_no_client_auth();
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect("localhost".try_into().unwrap(), stream)
            .await
            .unwrap();
        let der = tls.get_ref().1.peer_certificates().unwrap()[0].clone();
        Sha256::digest(der.as_ref())
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":")
    }

    /// A rotated certificate is served from the next look on, without a restart; a broken pair
    /// written over it is refused and the last good one kept.
    #[tokio::test]
    async fn a_rotated_certificate_is_served_without_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
        let first = self_signed("192.168.64.8").unwrap();
        std::fs::write(&cert, &first.cert_pem).unwrap();
        std::fs::write(&key, &first.key_pem).unwrap();
        let every = std::time::Duration::from_millis(50);
        let acceptor = acceptor_reloading_every(&cert, &key, every).unwrap();
        let fp1 = fingerprint(&first.cert_pem).unwrap();
        assert_eq!(served_fingerprint(acceptor.clone()).await, fp1);

        let second = self_signed("192.168.64.8").unwrap();
        std::fs::write(&cert, &second.cert_pem).unwrap();
        std::fs::write(&key, &second.key_pem).unwrap();
        tokio::time::sleep(every * 2).await;
        let fp2 = fingerprint(&second.cert_pem).unwrap();
        assert_eq!(served_fingerprint(acceptor.clone()).await, fp2);

        // a key that does not match the certificate: refused, the second pair stays
        std::fs::write(&key, &first.key_pem).unwrap();
        tokio::time::sleep(every * 2).await;
        assert_eq!(served_fingerprint(acceptor).await, fp2);
    }
}
