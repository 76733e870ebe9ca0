//! TLS for the status page, opt-in (chart `tls.enabled`): a self-signed certificate made once per
//! site by `token ensure --tls` for the node's address, kept beside the token on the admin's machine
//! and in Secret `appliance-system/appliance-status-tls`, and served by the listener itself. The
//! admin checks the browser's warning against the certificate's SHA-256 fingerprint, printed with
//! the URL; from then on the token and the session cookie (`__Host-`, `Secure`) travel encrypted.

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
pub fn self_signed(address: &str) -> Result<CertifiedKey, String> {
    let mut names = vec![address.to_string()];
    for also in ["localhost", "127.0.0.1"] {
        if !names.iter().any(|n| n == also) {
            names.push(also.to_string());
        }
    }
    let made = rcgen::generate_simple_self_signed(names)
        .map_err(|e| format!("making the TLS certificate: {e}"))?;
    Ok(CertifiedKey {
        cert_pem: made.cert.pem(),
        key_pem: made.signing_key.serialize_pem(),
    })
}

/// The SHA-256 fingerprint of the first certificate in `cert_pem`, as browsers show it
/// (`AB:CD:…`, 32 bytes).
pub fn fingerprint(cert_pem: &str) -> Result<String, String> {
    let der = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .next()
        .ok_or("no certificate in the PEM text")?
        .map_err(|e| format!("the certificate: {e}"))?;
    Ok(Sha256::digest(der.as_ref())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":"))
}

/// The listener's TLS side from PEM files (`serve --tls-cert FILE --tls-key FILE`).
pub fn acceptor(cert: &Path, key: &Path) -> Result<tokio_rustls::TlsAcceptor, String> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let cert_pem = read(cert)?;
    let certs = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate in it", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_slice(&read(key)?)
        .map_err(|e| format!("{}: {e}", key.display()))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| format!("the certificate and key: {e}"))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
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
        let refused = acceptor(&cert, &key).err().expect("refused");
        assert!(refused.contains("tls.key"), "{refused}");
        assert!(fingerprint("not pem").is_err());
        assert!(format!("{made:?}").contains("***"));
    }
}
