//! The access token (PRD Primary User Flow 3–4, AC1): generated once per site, kept on the admin's
//! machine at `~/.alga-psa-appliance/<site-id>/status-token` (directory 0700, file 0600) and in the
//! cluster as Secret `appliance-system/appliance-status-auth`, key `token`, which the chart mounts.
//!
//! The token is printed once, in the PRD's block, and nowhere else: not in errors, logs or process
//! arguments (it is generated here, never passed in).

use k8s_openapi::api::core::v1::{Namespace, Node, Secret};
use k8s_openapi::ByteString;
use kube::api::{Api, Patch, PatchParams};
use kube::Client;
use rand::RngCore;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Where the chart reads the token.
pub const SECRET_NAMESPACE: &str = "appliance-system";
pub const SECRET_NAME: &str = "appliance-status-auth";
pub const SECRET_KEY: &str = "token";
/// Where the chart reads the TLS certificate and key (`tls.enabled`), as a `kubernetes.io/tls`
/// Secret (`tls.crt`, `tls.key`).
pub const TLS_SECRET_NAME: &str = "appliance-status-tls";
const FIELD_MANAGER: &str = "appliance-status-token";

/// A token. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(***)")
    }
}

impl Token {
    /// 256 bits from the operating system's CSPRNG (via `rand`'s thread generator, seeded from
    /// it), as 64 lowercase hex characters: URL-safe, easy to copy.
    pub fn generate() -> Token {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Token(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// A token given in the environment (`APPLIANCE_STATUS_TOKEN`).
    pub fn from_env(value: &str) -> Token {
        Token(value.to_string())
    }

    /// The secret itself, for the one place that prints or stores it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// What can go wrong, each with its own exit code.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("site id {0:?} is not valid: use lowercase letters, digits and '-'")]
    SiteId(String),
    #[error("{path}: refusing a token file {why}; fix it (`chmod 600`, owned by you) or remove it to generate a new token")]
    Unsafe { path: String, why: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("no kubeconfig: {0}")]
    NoKubeconfig(String),
    #[error("{message}")]
    Api { message: String, unauthorized: bool },
    #[error("no node reports an InternalIP yet; pass --node-ip")]
    NoNodeAddress,
    #[error("{0}")]
    Certificate(crate::Error),
}

impl TokenError {
    /// The process exit code for this error (see [`crate::exit`]).
    pub fn exit_code(&self) -> u8 {
        use crate::exit;
        match self {
            TokenError::SiteId(_) | TokenError::NoNodeAddress => exit::USAGE,
            TokenError::Unsafe { .. } => exit::TOKEN_FILE,
            TokenError::Io { .. } | TokenError::Certificate(_) => exit::INTERNAL,
            TokenError::NoKubeconfig(_) => exit::NO_KUBECONFIG,
            TokenError::Api {
                unauthorized: true, ..
            } => exit::UNAUTHORIZED,
            TokenError::Api { .. } => exit::UNREACHABLE,
        }
    }

    fn api(what: &str, e: kube::Error) -> TokenError {
        let unauthorized = matches!(&e, kube::Error::Api(s) if s.code == 401 || s.code == 403);
        TokenError::Api {
            message: format!(
                "the Kubernetes API ({what}): {}",
                crate::term::innermost(&e)
            ),
            unauthorized,
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TokenError + '_ {
    move |source| TokenError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// `<home>/.alga-psa-appliance/<site-id>/status-token`, the site id checked.
pub fn token_path(home: &Path, site_id: &str) -> Result<PathBuf, TokenError> {
    let valid = !site_id.is_empty()
        && site_id.len() <= 63
        && site_id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        return Err(TokenError::SiteId(site_id.to_string()));
    }
    Ok(home
        .join(".alga-psa-appliance")
        .join(site_id)
        .join("status-token"))
}

fn current_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// The stored token, if there is one, after checking that only its owner can read it.
pub fn read(path: &Path) -> Result<Option<Token>, TokenError> {
    let Some(text) = read_private(path)? else {
        return Ok(None);
    };
    let token = text.trim();
    if token.len() < crate::auth::token_source::MIN_TOKEN_LEN
        || !token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(TokenError::Unsafe {
            path: path.display().to_string(),
            why: "that does not hold a token".into(),
        });
    }
    Ok(Some(Token(token.to_string())))
}

/// A private file's text (`None` when it does not exist), refused when it is not a regular file
/// of ours that only we can read.
fn read_private(path: &Path) -> Result<Option<String>, TokenError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(path)(e)),
    };
    let unsafe_file = |why: String| TokenError::Unsafe {
        path: path.display().to_string(),
        why,
    };
    if !meta.file_type().is_file() {
        return Err(unsafe_file("that is not a regular file".into()));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(unsafe_file(format!(
            "readable by others (mode {:o})",
            meta.mode() & 0o777
        )));
    }
    if meta.uid() != current_uid() {
        return Err(unsafe_file(format!("owned by uid {}", meta.uid())));
    }
    std::fs::read_to_string(path).map(Some).map_err(io(path))
}

/// Writes the token atomically: a 0600 file beside it, then a rename; the directory 0700.
pub fn write(path: &Path, token: &Token) -> Result<(), TokenError> {
    write_private(path, &format!("{}\n", token.expose()))
}

/// Writes `text` to `path` atomically, readable by its owner only; the directory 0700.
fn write_private(path: &Path, text: &str) -> Result<(), TokenError> {
    let dir = path.parent().expect("a file in a directory");
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io(dir))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(
        ".{}.{}",
        name.unwrap_or_default(),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io(&tmp))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// The site's TLS certificate and key beside its token (`status-tls.crt`, `status-tls.key`):
/// the stored pair unless `renew`, else a new self-signed one for `address`.
pub fn site_certificate(
    token_file: &Path,
    address: &str,
    renew: bool,
) -> Result<crate::tls::CertifiedKey, TokenError> {
    let dir = token_file.parent().expect("token_path has a directory");
    let (cert, key) = (dir.join("status-tls.crt"), dir.join("status-tls.key"));
    if !renew {
        if let (Ok(cert_pem), Some(key_pem)) = (std::fs::read_to_string(&cert), read_private(&key)?)
        {
            return Ok(crate::tls::CertifiedKey { cert_pem, key_pem });
        }
    }
    let made = crate::tls::self_signed(address).map_err(TokenError::Certificate)?;
    write_private(&key, &made.key_pem)?;
    write_private(&cert, &made.cert_pem)?;
    Ok(made)
}

/// Creates or updates Secret `appliance-system/appliance-status-tls` (`kubernetes.io/tls`).
pub async fn apply_tls_secret(
    client: &Client,
    made: &crate::tls::CertifiedKey,
) -> Result<(), TokenError> {
    apply_status_secret(
        client,
        TLS_SECRET_NAME,
        "kubernetes.io/tls",
        &[
            ("tls.crt", made.cert_pem.as_bytes()),
            ("tls.key", made.key_pem.as_bytes()),
        ],
    )
    .await
}

/// Creates or updates the namespace and the Secret by server-side apply (one request each,
/// atomic on the server).
pub async fn apply_secret(client: &Client, token: &Token) -> Result<(), TokenError> {
    let pp = PatchParams::apply(FIELD_MANAGER).force();
    let ns: Namespace = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": SECRET_NAMESPACE}
    }))
    .expect("a valid namespace");
    Api::<Namespace>::all(client.clone())
        .patch(SECRET_NAMESPACE, &pp, &Patch::Apply(&ns))
        .await
        .map_err(|e| TokenError::api(&format!("creating namespace {SECRET_NAMESPACE}"), e))?;
    apply_status_secret(
        client,
        SECRET_NAME,
        "Opaque",
        &[(SECRET_KEY, token.expose().as_bytes())],
    )
    .await
}

/// Secret `appliance-system/<name>` of `type_` holding `data`, by server-side apply.
async fn apply_status_secret(
    client: &Client,
    name: &str,
    type_: &str,
    data: &[(&str, &[u8])],
) -> Result<(), TokenError> {
    let pp = PatchParams::apply(FIELD_MANAGER).force();
    let mut secret: Secret = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Secret", "type": type_,
        "metadata": {"name": name, "namespace": SECRET_NAMESPACE,
                     "labels": {"app.kubernetes.io/name": "appliance-status"}}
    }))
    .expect("a valid secret");
    secret.data = Some(
        data.iter()
            .map(|(key, value)| (key.to_string(), ByteString(value.to_vec())))
            .collect(),
    );
    Api::<Secret>::namespaced(client.clone(), SECRET_NAMESPACE)
        .patch(name, &pp, &Patch::Apply(&secret))
        .await
        .map_err(|e| TokenError::api(&format!("writing Secret {SECRET_NAMESPACE}/{name}"), e))?;
    Ok(())
}

/// The first node's InternalIP.
pub async fn node_ip(client: &Client) -> Result<String, TokenError> {
    let nodes = Api::<Node>::all(client.clone())
        .list(&Default::default())
        .await
        .map_err(|e| TokenError::api("listing nodes", e))?;
    nodes
        .items
        .iter()
        .find_map(crate::snapshot::internal_ip)
        .ok_or(TokenError::NoNodeAddress)
}

/// What `token ensure|rotate` report.
#[derive(Debug)]
pub struct Issued {
    pub url: String,
    pub token: Token,
    pub file: PathBuf,
    /// A new token was generated (otherwise the stored one was reused).
    pub generated: bool,
    /// With `--tls`: the certificate's SHA-256 fingerprint, to check the browser's warning against.
    pub fingerprint: Option<String>,
}

impl Issued {
    /// The PRD's block (Primary User Flow 4), exactly.
    /// With `--tls`, one more line: the certificate's fingerprint.
    pub fn block(&self) -> String {
        let mut block = format!(
            "Appliance status UI:\nURL: {}\nToken: {}\n",
            self.url,
            self.token.expose()
        );
        if let Some(fp) = &self.fingerprint {
            block.push_str(&format!("Certificate SHA-256: {fp}\n"));
        }
        block
    }

    /// For scripts.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "url": self.url,
            "token": self.token.expose(),
            "tokenFile": self.file.display().to_string(),
            "generated": self.generated,
            "certificateSha256": self.fingerprint,
        })
    }
}

/// `token ensure` (reuse the stored token, else generate) or `token rotate` (always generate).
pub async fn issue(
    client: &Client,
    home: &Path,
    site_id: &str,
    node_ip_arg: Option<&str>,
    rotate: bool,
    tls: bool,
) -> Result<Issued, TokenError> {
    let file = token_path(home, site_id)?;
    let stored = read(&file)?;
    let (token, generated) = match (stored, rotate) {
        (Some(t), false) => (t, false),
        _ => (Token::generate(), true),
    };
    // The node address first: no file is written for a cluster that cannot be reached.
    let ip = match node_ip_arg {
        Some(ip) => ip.to_string(),
        None => node_ip(client).await?,
    };
    if generated {
        write(&file, &token)?;
    }
    apply_secret(client, &token).await?;
    let fingerprint = if tls {
        let made = site_certificate(&file, &ip, rotate)?;
        apply_tls_secret(client, &made).await?;
        Some(crate::tls::fingerprint(&made.cert_pem).map_err(TokenError::Certificate)?)
    } else {
        None
    };
    let scheme = if tls { "https" } else { "http" };
    Ok(Issued {
        url: format!("{scheme}://{ip}:8080"),
        token,
        file,
        generated,
        fingerprint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_home(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("token-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn tokens_are_long_random_and_never_debug_printed() {
        let a = Token::generate();
        let b = Token::generate();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 64, "256 bits in hex");
        assert!(a.expose().chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(format!("{a:?}"), "Token(***)");
    }

    #[test]
    fn site_ids_cannot_escape_the_directory() {
        let home = Path::new("/home/admin");
        assert!(token_path(home, "appliance-single-node").is_ok());
        let climbing = "../etc"; // standalone: not a path (a hostile site id)
        for bad in ["", climbing, "a/b", "Site", "x y"] {
            assert!(
                matches!(token_path(home, bad), Err(TokenError::SiteId(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn written_files_are_private_and_read_back() {
        let home = temp_home("write");
        let path = token_path(&home, "s1").unwrap();
        let token = Token::generate();
        write(&path, &token).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        assert_eq!(
            std::fs::metadata(path.parent().unwrap()).unwrap().mode() & 0o777,
            0o700
        );
        assert_eq!(read(&path).unwrap(), Some(token.clone()));
        // Rewriting replaces it whole.
        let other = Token::generate();
        write(&path, &other).unwrap();
        assert_eq!(read(&path).unwrap(), Some(other));
    }

    #[test]
    fn a_readable_or_foreign_file_is_refused_without_printing_it() {
        let home = temp_home("perms");
        let path = token_path(&home, "s1").unwrap();
        let token = Token::generate();
        write(&path, &token).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = read(&path).unwrap_err();
        assert_eq!(err.exit_code(), crate::exit::TOKEN_FILE);
        let text = err.to_string();
        assert!(text.contains("readable by others (mode 644)"), "{text}");
        assert!(!text.contains(token.expose()));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&path, "short\n").unwrap();
        assert!(read(&path)
            .unwrap_err()
            .to_string()
            .contains("does not hold a token"));
        assert_eq!(read(&home.join("missing")).unwrap(), None);
    }
}
