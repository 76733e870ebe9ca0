//! A real OCI registry on loopback for the release-validation tests: Debian's `docker-registry`
//! (the CNCF distribution registry, 2.8) serving TLS with a certificate from a test CA made with
//! openssl, and token authentication as ghcr.io does it: the registry answers `401` with
//! `WWW-Authenticate: Bearer realm=…,service=…,scope=…`, and a small token server here issues the
//! registry's JWTs (ES256, the signing certificate in the `x5c` header and in the registry's
//! `rootcertbundle`). Anonymous clients get pull tokens for public repositories; private ones need
//! the reader's credentials; pushing needs the pusher's. Images are pushed through the registry
//! API (a config blob and an OCI manifest).

use crate::free_port;
use crate::tls::openssl;
use anyhow::{bail, Context, Result};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::Digest;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Credentials the token server knows.
pub const READER: (&str, &str) = ("reader", "reader-pass");
pub const PUSHER: (&str, &str) = ("pusher", "push-pass");
const SERVICE: &str = "testenv-registry";
const ISSUER: &str = "testenv-token-server";

/// A running registry and its token server; both stop when dropped.
pub struct TestRegistry {
    /// `127.0.0.1:PORT`, the registry's TLS address.
    pub addr: String,
    /// The test CA (PEM) that signed the registry's certificate.
    pub ca_file: PathBuf,
    pub dir: PathBuf,
    registry: Option<Child>,
    config: PathBuf,
    token_task: tokio::task::JoinHandle<()>,
    http: reqwest::Client,
    /// The token service, over TLS (`https://127.0.0.1:PORT/token`).
    pub token_url: String,
    /// Requests that reached the token service with credentials (`Authorization: Basic`).
    credentials_seen: Arc<std::sync::atomic::AtomicUsize>,
}

#[derive(Clone)]
struct Issuer {
    key: Arc<jsonwebtoken::EncodingKey>,
    x5c: String,
    private: Arc<Vec<String>>,
    credentials_seen: Arc<std::sync::atomic::AtomicUsize>,
}

/// The registry's TLS certificate from a test CA, and the token signer's self-signed one.
fn make_certificates(dir: &Path) -> Result<crate::tls::TestCa> {
    let ca = crate::tls::test_ca(dir)?;
    let mut signer = vec!["req", "-x509"];
    signer.extend(crate::tls::NEW_EC_KEY);
    signer.extend([
        "-keyout",
        "signer.key",
        "-out",
        "signer.pem",
        "-subj",
        "/CN=token-signer",
        "-days",
        "2",
    ]);
    openssl(dir, &signer)?;
    openssl(
        dir,
        &[
            "pkcs8",
            "-topk8",
            "-nocrypt",
            "-in",
            "signer.key",
            "-out",
            "signer.pk8",
        ],
    )?;
    openssl(
        dir,
        &[
            "x509",
            "-in",
            "signer.pem",
            "-outform",
            "der",
            "-out",
            "signer.der",
        ],
    )?;
    Ok(ca)
}

fn basic_user(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// `GET /token?service=…&scope=repository:NAME:ACTIONS`: a JWT granting what the caller may do.
async fn token(
    State(issuer): State<Issuer>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let user = basic_user(&headers);
    if user.is_some() {
        issuer
            .credentials_seen
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
    let known = |who: (&str, &str)| user.as_ref().is_some_and(|(u, p)| u == who.0 && p == who.1);
    if user.is_some() && !known(READER) && !known(PUSHER) {
        return (StatusCode::UNAUTHORIZED, "wrong credentials").into_response();
    }
    let mut access = Vec::new();
    if let Some(scope) = query.get("scope") {
        let mut parts = scope.splitn(3, ':');
        let (kind, name, actions) = (parts.next(), parts.next(), parts.next());
        if let (Some("repository"), Some(name), Some(actions)) = (kind, name, actions) {
            let private = issuer.private.iter().any(|p| p == name);
            let granted: Vec<&str> = actions
                .split(',')
                .filter(|a| match *a {
                    "pull" => !private || known(READER) || known(PUSHER),
                    "push" => known(PUSHER),
                    _ => false,
                })
                .collect();
            if granted.is_empty() {
                return (StatusCode::UNAUTHORIZED, "not allowed").into_response();
            }
            access.push(json!({"type": "repository", "name": name, "actions": granted}));
        }
    }
    let now = jiff::Timestamp::now().as_second();
    let claims = json!({
        "iss": ISSUER, "sub": user.map(|u| u.0).unwrap_or_default(), "aud": SERVICE,
        "exp": now + 300, "nbf": now - 10, "iat": now,
        "jti": format!("{}", jiff::Timestamp::now().as_nanosecond()),
        "access": access,
    });
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.x5c = Some(vec![issuer.x5c.clone()]);
    match jsonwebtoken::encode(&header, &claims, &issuer.key) {
        Ok(t) => {
            axum::Json(json!({"token": t, "access_token": t, "expires_in": 300})).into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

impl TestRegistry {
    /// Starts the token server and the registry; `private` repositories need the reader.
    pub async fn start(private: &[&str]) -> Result<TestRegistry> {
        TestRegistry::start_with_realm(private, None).await
    }

    /// The same, the registry naming `realm` as its token service instead of the real one (a
    /// hostile registry: where do credentials go?). Pushing still uses the real token service.
    pub async fn start_with_realm(private: &[&str], realm: Option<&str>) -> Result<TestRegistry> {
        let dir = std::env::temp_dir().join(format!(
            "testenv-registry-{}-{}",
            std::process::id(),
            free_port()?
        ));
        std::fs::create_dir_all(dir.join("storage"))?;
        let tls = make_certificates(&dir)?;
        let issuer = Issuer {
            key: Arc::new(jsonwebtoken::EncodingKey::from_ec_pem(&std::fs::read(
                dir.join("signer.pk8"),
            )?)?),
            x5c: base64::engine::general_purpose::STANDARD
                .encode(std::fs::read(dir.join("signer.der"))?),
            private: Arc::new(private.iter().map(|s| s.to_string()).collect()),
            credentials_seen: Arc::default(),
        };
        let credentials_seen = issuer.credentials_seen.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let backend = listener.local_addr()?;
        let app = axum::Router::new()
            .route("/token", get(token))
            .with_state(issuer);
        let token_task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        // The token service over TLS with the registry's own certificate, as ghcr.io's is.
        let tls_port = crate::tls::tls_proxy(
            &std::fs::read(&tls.cert)?,
            &std::fs::read(&tls.key)?,
            backend,
        )
        .await?;
        let token_url = format!("https://127.0.0.1:{tls_port}/token");
        let realm = realm.unwrap_or(&token_url).to_string();

        let port = free_port()?;
        let addr = format!("127.0.0.1:{port}");
        let config = dir.join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog: {{level: warn}}\n\
                 storage: {{filesystem: {{rootdirectory: {storage}}}, delete: {{enabled: true}}}}\n\
                 http: {{addr: \"{addr}\", tls: {{certificate: {cert}, key: {key}}}}}\n\
                 auth: {{token: {{realm: \"{realm}\", service: {SERVICE}, issuer: {ISSUER}, rootcertbundle: {dir}/signer.pem}}}}\n",
                storage = dir.join("storage").display(),
                cert = tls.cert.display(),
                key = tls.key.display(),
                dir = dir.display(),
            ),
        )?;
        let ca_pem = std::fs::read(&tls.ca)?;
        let http = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&ca_pem)?)
            .timeout(Duration::from_secs(10))
            .build()?;
        let mut registry = TestRegistry {
            addr,
            ca_file: tls.ca.clone(),
            dir,
            registry: None,
            config,
            token_task,
            http,
            token_url,
            credentials_seen,
        };
        registry.start_registry().await?;
        Ok(registry)
    }

    /// Starts (or restarts) the registry process on its address and waits until it answers.
    pub async fn start_registry(&mut self) -> Result<()> {
        let child = Command::new(registry_binary()?)
            .arg("serve")
            .arg(&self.config)
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(
                self.dir.join("registry.log"),
            )?))
            .spawn()
            .context("starting docker-registry")?;
        self.registry = Some(child);
        let began = Instant::now();
        loop {
            let answered = self
                .http
                .get(format!("https://{}/v2/", self.addr))
                .send()
                .await;
            if answered.is_ok_and(|r| r.status().as_u16() == 401) {
                return Ok(());
            }
            if began.elapsed() > Duration::from_secs(20) {
                let log =
                    std::fs::read_to_string(self.dir.join("registry.log")).unwrap_or_default();
                bail!("docker-registry did not start: {log}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// How many requests reached the token service with credentials.
    pub fn credentials_seen(&self) -> usize {
        self.credentials_seen
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Stops the registry process (the token server keeps running).
    pub fn stop_registry(&mut self) {
        if let Some(mut c) = self.registry.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Pushes each `(name, tag)`.
    pub async fn push_all(&self, images: &[(&str, &str)]) -> Result<()> {
        for (name, tag) in images {
            self.push(name, tag).await?;
        }
        Ok(())
    }

    /// Pushes a minimal image `name:tag` (a config blob and an OCI manifest); returns its digest.
    pub async fn push(&self, name: &str, tag: &str) -> Result<String> {
        Ok(self.push_image(name, tag, &[]).await?.0)
    }

    /// Pushes `name:tag` for the given `(architecture, layer bytes)` platforms: none, a manifest
    /// with no layer; one, a manifest with that layer; several, an OCI index of one manifest
    /// each. Returns the tag's digest and, per architecture, the image's size as its manifest
    /// says (config and layers).
    pub async fn push_image(
        &self,
        name: &str,
        tag: &str,
        platforms: &[(&str, usize)],
    ) -> Result<(String, Vec<(String, u64)>)> {
        let token: Value = self
            .http
            .get(&self.token_url)
            .query(&[
                ("service", SERVICE),
                ("scope", &format!("repository:{name}:pull,push")),
            ])
            .basic_auth(PUSHER.0, Some(PUSHER.1))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let bearer = format!("Bearer {}", token["token"].as_str().unwrap_or_default());
        let one = |arch: &str, layer: usize| {
            let config = json!({"architecture": arch, "os": "linux",
                "rootfs": {"type": "layers", "diff_ids": []}, "config": {"Labels": {"tag": tag}}})
            .to_string()
            .into_bytes();
            // deterministic, incompressible enough to be a layer
            let layer: Vec<u8> = (0..layer).map(|i| (i * 7919 % 251) as u8).collect();
            (config, layer)
        };
        let plan: Vec<(&str, usize)> = if platforms.is_empty() {
            vec![("amd64", 0)]
        } else {
            platforms.to_vec()
        };
        let mut manifests = Vec::new();
        for (arch, layer_bytes) in &plan {
            let (config, layer) = one(arch, *layer_bytes);
            let config_digest = self.put_blob(name, &bearer, &config).await?;
            let mut layers = Vec::new();
            if !layer.is_empty() {
                let d = self.put_blob(name, &bearer, &layer).await?;
                layers.push(
                    json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": d, "size": layer.len()}),
                );
            }
            let manifest = json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
                "layers": layers,
            })
            .to_string();
            let size = (config.len() + layer.len()) as u64;
            manifests.push((arch.to_string(), manifest, size));
        }
        let sizes: Vec<(String, u64)> = manifests.iter().map(|(a, _, s)| (a.clone(), *s)).collect();
        if manifests.len() == 1 {
            let (_, manifest, _) = &manifests[0];
            let digest = self
                .put_manifest(
                    name,
                    tag,
                    &bearer,
                    "application/vnd.oci.image.manifest.v1+json",
                    manifest,
                )
                .await?;
            return Ok((digest, sizes));
        }
        let mut entries = Vec::new();
        for (arch, manifest, _) in &manifests {
            let digest = format!("sha256:{:x}", sha2::Sha256::digest(manifest.as_bytes()));
            self.put_manifest(
                name,
                &digest,
                &bearer,
                "application/vnd.oci.image.manifest.v1+json",
                manifest,
            )
            .await?;
            entries.push(
                json!({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": digest, "size": manifest.len(),
                "platform": {"architecture": arch, "os": "linux"}}),
            );
        }
        let index = json!({"schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries})
        .to_string();
        let digest = self
            .put_manifest(
                name,
                tag,
                &bearer,
                "application/vnd.oci.image.index.v1+json",
                &index,
            )
            .await?;
        Ok((digest, sizes))
    }

    /// Uploads one blob (monolithic: POST, then PUT with its digest); returns the digest.
    async fn put_blob(&self, name: &str, bearer: &str, blob: &[u8]) -> Result<String> {
        let digest = format!("sha256:{:x}", sha2::Sha256::digest(blob));
        let base = format!("https://{}/v2/{name}", self.addr);
        let upload = self
            .http
            .post(format!("{base}/blobs/uploads/"))
            .header("authorization", bearer)
            .send()
            .await?;
        if upload.status().as_u16() != 202 {
            bail!(
                "blob upload: HTTP {}: {}",
                upload.status(),
                upload.text().await?
            );
        }
        let location = upload
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .context("blob upload without Location")?
            .to_string();
        let location = if location.starts_with("http") {
            location
        } else {
            format!("https://{}{location}", self.addr)
        };
        let separator = if location.contains('?') { '&' } else { '?' };
        let put = self
            .http
            .put(format!("{location}{separator}digest={digest}"))
            .header("authorization", bearer)
            .header("content-type", "application/octet-stream")
            .body(blob.to_vec())
            .send()
            .await?;
        if put.status().as_u16() != 201 {
            bail!("blob put: HTTP {}: {}", put.status(), put.text().await?);
        }
        Ok(digest)
    }

    /// Puts a manifest or index under `reference` (a tag or a digest); returns its digest.
    async fn put_manifest(
        &self,
        name: &str,
        reference: &str,
        bearer: &str,
        media_type: &str,
        body: &str,
    ) -> Result<String> {
        let put = self
            .http
            .put(format!(
                "https://{}/v2/{name}/manifests/{reference}",
                self.addr
            ))
            .header("authorization", bearer)
            .header("content-type", media_type)
            .body(body.to_string())
            .send()
            .await?;
        if put.status().as_u16() != 201 {
            bail!("manifest put: HTTP {}: {}", put.status(), put.text().await?);
        }
        Ok(format!(
            "sha256:{:x}",
            sha2::Sha256::digest(body.as_bytes())
        ))
    }
}

fn registry_binary() -> Result<PathBuf> {
    let path = PathBuf::from("/usr/bin/docker-registry");
    if path.exists() {
        Ok(path)
    } else {
        bail!("docker-registry is not installed (Debian package docker-registry; scripts/setup.sh installs it)")
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        self.stop_registry();
        self.token_task.abort();
        if std::env::var_os("TESTENV_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
