//! Does an image tag exist? The OCI distribution API, as ghcr.io and the CNCF registry serve it:
//! `HEAD /v2/<name>/manifests/<tag>` accepting the OCI index and manifest and Docker's manifest
//! list and v2 media types; on `401`, the challenge's flow: `Bearer realm=…,service=…` (a token
//! from the realm for `scope=repository:<name>:pull`, anonymous or with the registry's
//! credentials from a docker `config.json`) or `Basic`. Each outcome is named: present (with its
//! digest), tag missing, repository not found, unauthorized, or unreachable (DNS, TLS, timeout,
//! connection, an unexpected answer).

use crate::{Error, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// What the manifest request accepts: an index or a single-platform manifest, OCI or Docker.
pub const MANIFEST_TYPES: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.docker.distribution.manifest.v2+json";

pub use appliance_engine::images::{valid_tag, ImageRef, Outcome, Unreachable};

/// Credentials by registry host, from a docker `config.json` (`auths.<host>.auth` or
/// `username`/`password`, or `identitytoken`).
#[derive(Clone, Debug, Default)]
pub struct Credentials(BTreeMap<String, (String, String)>);

impl Credentials {
    /// Parses a docker `config.json`.
    pub fn from_docker_config(text: &str) -> Result<Credentials> {
        #[derive(Deserialize)]
        struct Config {
            #[serde(default)]
            auths: BTreeMap<String, Auth>,
        }
        #[derive(Deserialize)]
        struct Auth {
            auth: Option<String>,
            username: Option<String>,
            password: Option<String>,
            identitytoken: Option<String>,
        }
        let config: Config = serde_json::from_str(text).map_err(Error::DockerConfig)?;
        let mut out = BTreeMap::new();
        for (host, a) in config.auths {
            let host = host
                .trim_start_matches("https://")
                .trim_start_matches("http://")
                .trim_end_matches('/')
                .trim_end_matches("/v1")
                .to_string();
            let pair = if let Some(encoded) = a.auth {
                use base64::Engine as _;
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(encoded.trim())
                    .map_err(|error| Error::DockerAuth {
                        host: host.clone(),
                        error,
                    })?;
                let text = String::from_utf8_lossy(&decoded).into_owned();
                let (user, pass) = text
                    .split_once(':')
                    .ok_or_else(|| Error::DockerAuthPair { host: host.clone() })?;
                (user.to_string(), pass.to_string())
            } else if let Some(token) = a.identitytoken {
                ("<token>".to_string(), token)
            } else {
                match (a.username, a.password) {
                    (Some(u), Some(p)) => (u, p),
                    _ => continue,
                }
            };
            out.insert(host, pair);
        }
        Ok(Credentials(out))
    }

    fn get(&self, host: &str) -> Option<&(String, String)> {
        self.0.get(host)
    }
}

/// A registry client: tokens are not kept between checks; image sizes are, by digest (a
/// digest's content never changes).
#[derive(Clone)]
pub struct Registry {
    client: reqwest::Client,
    credentials: Credentials,
    /// host → host:port to ask instead (a mirror, or a test registry standing in for ghcr.io).
    mirrors: BTreeMap<String, String>,
    /// Token service hosts besides the registry's own that may receive its credentials.
    token_hosts: Vec<String>,
    /// Image sizes by manifest digest: a digest's content never changes, so each is read once
    /// (a manifest GET counts as a pull on some registries; the HEAD each check makes does not).
    sizes: std::sync::Arc<std::sync::Mutex<BTreeMap<String, u64>>>,
}

/// The most manifest sizes kept (a release has a dozen images).
const MAX_SIZES: usize = 512;
/// The largest manifest or index read (real ones are a few KiB).
const MAX_MANIFEST_BYTES: usize = 1 << 20;

/// How a `Registry` connects.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub credentials: Credentials,
    pub mirrors: BTreeMap<String, String>,
    /// Extra trusted CA certificates (PEM).
    pub ca_pem: Option<Vec<u8>>,
    pub timeout: Option<Duration>,
    /// Token service hosts besides a registry's own that may receive its credentials.
    pub token_hosts: Vec<String>,
}

/// The host of `host[:port]` (an IPv6 literal in brackets keeps them).
fn host_part(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority
            .split_once(']')
            .map_or(authority, |(h, _)| &authority[..=h.len()]);
    }
    authority.rsplit_once(':').map_or(authority, |(h, _)| h)
}

/// Whether the credentials for `registry` (the `host:port` asked) may be sent to the token
/// service at `realm`: only over https, and only to the registry's own host or one the operator
/// named (`--registry-token-host`). A registry naming any other realm gets nothing.
pub fn realm_may_get_credentials(
    realm: &str,
    registry: &str,
    token_hosts: &[String],
) -> Result<()> {
    let url = reqwest::Url::parse(realm).map_err(|error| Error::RealmUrl {
        realm: realm.to_string(),
        error,
    })?;
    if url.scheme() != "https" {
        return Err(Error::RealmPlain {
            scheme: url.scheme().to_string(),
            realm: realm.to_string(),
        });
    }
    // IPv6 hosts come in brackets, as in `host_part`
    let Some(realm_host) = url.host_str() else {
        return Err(Error::RealmNoHost {
            realm: realm.to_string(),
        });
    };
    let own = host_part(registry);
    if realm_host.eq_ignore_ascii_case(own)
        || token_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(realm_host))
    {
        Ok(())
    } else {
        Err(Error::RealmForeign {
            realm_host: realm_host.to_string(),
            own: own.to_string(),
        })
    }
}

impl Registry {
    pub fn new(options: Options) -> Result<Registry> {
        let timeout = options.timeout.unwrap_or(Duration::from_secs(15));
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            // at most 5, and never from https down to http (reqwest keeps credentials on a
            // redirect to the same host and port, whatever the scheme)
            .redirect(reqwest::redirect::Policy::custom(|attempt| {
                let downgrade = attempt.url().scheme() == "http"
                    && attempt.previous().iter().any(|u| u.scheme() == "https");
                if downgrade {
                    attempt.error("a redirect from https to plain http")
                } else if attempt.previous().len() > 5 {
                    attempt.error("too many redirects")
                } else {
                    attempt.follow()
                }
            }))
            .user_agent(concat!("appliance-status/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = &options.ca_pem {
            for cert in reqwest::Certificate::from_pem_bundle(pem).map_err(Error::CaFile)? {
                builder = builder.add_root_certificate(cert);
            }
        }
        Ok(Registry {
            client: builder.build().map_err(Error::HttpClient)?,
            credentials: options.credentials,
            mirrors: options.mirrors,
            token_hosts: options.token_hosts,
            sizes: Default::default(),
        })
    }

    /// Asks the registry whether `image` exists (a manifest HEAD), and with `sized` also its size
    /// for this platform (a manifest GET once per digest; the login estimate reads it, so the
    /// release checker asks it for login-critical images only).
    pub async fn check(&self, image: &ImageRef, sized: bool) -> Outcome {
        let host = self.mirrors.get(&image.host).unwrap_or(&image.host);
        let url = format!("https://{host}/v2/{}/manifests/{}", image.name, image.tag);
        // Credentials belong to the host they were configured for: a mirror gets its own, never
        // the upstream registry's.
        let creds = self.credentials.get(host);
        let mut auth: Option<String> = None;
        for attempt in 0..2 {
            let mut request = self
                .client
                .head(&url)
                .header(reqwest::header::ACCEPT, MANIFEST_TYPES);
            if let Some(a) = &auth {
                request = request.header(reqwest::header::AUTHORIZATION, a);
            }
            let response = match request.send().await {
                Ok(r) => r,
                Err(e) => return Outcome::Unreachable { why: classify(&e) },
            };
            match response.status().as_u16() {
                200 => {
                    let header = |name: &str| {
                        response
                            .headers()
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_string()
                    };
                    let digest = header("docker-content-digest");
                    let size_bytes = match sized {
                        true => self.size(host, image, &digest, auth.as_deref()).await,
                        false => None,
                    };
                    return Outcome::Present {
                        digest,
                        media_type: header("content-type"),
                        size_bytes,
                    };
                }
                404 => return self.why_not_found(&url, auth.as_deref()).await,
                401 if attempt == 0 => {
                    let challenge = response
                        .headers()
                        .get(reqwest::header::WWW_AUTHENTICATE)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string();
                    match self.authorize(&challenge, host, image, creds).await {
                        Ok(a) => auth = Some(a),
                        Err(outcome) => return outcome,
                    }
                }
                401 | 403 => {
                    return Outcome::Unauthorized {
                        detail: format!(
                            "the registry refused {} (HTTP {})",
                            if creds.is_some() {
                                "the credentials"
                            } else {
                                "anonymous pulls"
                            },
                            response.status().as_u16()
                        ),
                    }
                }
                429 => {
                    return Outcome::Unreachable {
                        why: Unreachable::Answer("HTTP 429: rate limited".into()),
                    }
                }
                code => {
                    return Outcome::Unreachable {
                        why: Unreachable::Answer(format!("HTTP {code} from {url}")),
                    }
                }
            }
        }
        Outcome::Unauthorized {
            detail: "the registry asked for authorization again".into(),
        }
    }

    /// The image's compressed size for this machine's platform (the service runs on the node it
    /// watches): its manifest's config and layers, through the index when the tag is
    /// multi-platform. Unknown (`None`) when the registry does not say; remembered by digest.
    async fn size(
        &self,
        host: &str,
        image: &ImageRef,
        digest: &str,
        auth: Option<&str>,
    ) -> Option<u64> {
        if !digest.starts_with("sha256:") {
            return None;
        }
        if let Some(size) = self.sizes.lock().ok()?.get(digest) {
            return Some(*size);
        }
        let base = format!("https://{host}/v2/{}/manifests", image.name);
        let mut manifest = self.manifest(&format!("{base}/{digest}"), auth).await?;
        if let Some(entry) = platform_entry(&manifest) {
            manifest = self.manifest(&format!("{base}/{entry}"), auth).await?;
        }
        let size = manifest_size(&manifest)?;
        let mut sizes = self.sizes.lock().ok()?;
        if sizes.len() >= MAX_SIZES {
            sizes.clear();
        }
        sizes.insert(digest.to_string(), size);
        Some(size)
    }

    /// One manifest or index, read within [`MAX_MANIFEST_BYTES`].
    async fn manifest(&self, url: &str, auth: Option<&str>) -> Option<serde_json::Value> {
        let mut request = self
            .client
            .get(url)
            .header(reqwest::header::ACCEPT, MANIFEST_TYPES);
        if let Some(a) = auth {
            request = request.header(reqwest::header::AUTHORIZATION, a);
        }
        let mut response = request.send().await.ok()?;
        if !response.status().is_success() {
            return None;
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.ok()? {
            if body.len() + chunk.len() > MAX_MANIFEST_BYTES {
                return None;
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).ok()
    }

    /// A 404 to HEAD has no body, and a registry may say `MANIFEST_UNKNOWN` for a repository it
    /// does not have: its tag list tells a missing tag (the list answers) from a missing
    /// repository (`404`, `NAME_UNKNOWN`).
    async fn why_not_found(&self, url: &str, auth: Option<&str>) -> Outcome {
        let tags = match url.rsplit_once("/manifests/") {
            Some((repo, _)) => format!("{repo}/tags/list"),
            None => return Outcome::TagMissing,
        };
        let mut request = self.client.get(&tags);
        if let Some(a) = auth {
            request = request.header(reqwest::header::AUTHORIZATION, a);
        }
        let (status, body) = match request.send().await {
            Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
            Err(_) => return Outcome::TagMissing,
        };
        #[derive(Deserialize)]
        struct Errors {
            #[serde(default)]
            errors: Vec<ErrorEntry>,
        }
        #[derive(Deserialize)]
        struct ErrorEntry {
            #[serde(default)]
            code: String,
        }
        let codes: Vec<String> = serde_json::from_str::<Errors>(&body)
            .map(|e| e.errors.into_iter().map(|e| e.code).collect())
            .unwrap_or_default();
        if status == 404 || codes.iter().any(|c| c == "NAME_UNKNOWN") {
            Outcome::RepositoryNotFound
        } else {
            Outcome::TagMissing
        }
    }

    /// Answers a `WWW-Authenticate` challenge: the `Authorization` header to retry with.
    async fn authorize(
        &self,
        challenge: &str,
        host: &str,
        image: &ImageRef,
        creds: Option<&(String, String)>,
    ) -> Result<String, Outcome> {
        let unauthorized = |detail: String| Outcome::Unauthorized { detail };
        let (scheme, params) = parse_challenge(challenge)
            .ok_or_else(|| unauthorized(format!("unreadable challenge {challenge:?}")))?;
        match scheme.as_str() {
            "basic" => {
                let (user, pass) = creds.ok_or_else(|| {
                    unauthorized(format!(
                        "{host} needs credentials (none for it in the docker config)"
                    ))
                })?;
                use base64::Engine as _;
                Ok(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
                ))
            }
            "bearer" => {
                let realm = params
                    .get("realm")
                    .ok_or_else(|| unauthorized("the Bearer challenge names no realm".into()))?;
                if creds.is_some() {
                    realm_may_get_credentials(realm, host, &self.token_hosts)
                        .map_err(|e| unauthorized(e.to_string()))?;
                }
                let scope = format!("repository:{}:pull", image.name);
                let mut request = self.client.get(realm).query(&[("scope", scope.as_str())]);
                if let Some(service) = params.get("service") {
                    request = request.query(&[("service", service.as_str())]);
                }
                if let Some((user, pass)) = creds {
                    request = request.basic_auth(user, Some(pass));
                }
                let response = request
                    .send()
                    .await
                    .map_err(|e| Outcome::Unreachable { why: classify(&e) })?;
                match response.status().as_u16() {
                    200 => {}
                    401 | 403 => {
                        return Err(unauthorized(format!(
                            "the token service refused {} (HTTP {})",
                            if creds.is_some() {
                                "the credentials"
                            } else {
                                "an anonymous pull token"
                            },
                            response.status().as_u16()
                        )))
                    }
                    code => {
                        return Err(Outcome::Unreachable {
                            why: Unreachable::Answer(format!("token service: HTTP {code}")),
                        })
                    }
                }
                #[derive(Deserialize)]
                struct TokenResponse {
                    token: Option<String>,
                    access_token: Option<String>,
                }
                let body: TokenResponse =
                    response.json().await.map_err(|e| Outcome::Unreachable {
                        why: Unreachable::Answer(format!("token service: {e}")),
                    })?;
                let token =
                    body.token
                        .or(body.access_token)
                        .ok_or_else(|| Outcome::Unreachable {
                            why: Unreachable::Answer(
                                "token service: no token in its answer".into(),
                            ),
                        })?;
                Ok(format!("Bearer {token}"))
            }
            other => Err(unauthorized(format!(
                "unsupported challenge scheme {other:?}"
            ))),
        }
    }
}

/// `Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="…"` → ("bearer", params).
pub fn parse_challenge(header: &str) -> Option<(String, BTreeMap<String, String>)> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    if scheme.is_empty() {
        return None;
    }
    let mut params = BTreeMap::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let after = after.trim_start();
        let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"')?;
            (&quoted[..end], &quoted[end + 1..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        params.insert(key.trim().to_ascii_lowercase(), value.to_string());
        rest = remaining.trim_start().trim_start_matches(',').trim_start();
    }
    Some((scheme.to_ascii_lowercase(), params))
}

/// Names why a request failed: DNS, TLS, timeout, or the connection.
fn classify(e: &reqwest::Error) -> Unreachable {
    let mut chain = Vec::new();
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = source {
        chain.push(s.to_string());
        source = s.source();
    }
    let text = chain.join(": ");
    let lower = text.to_ascii_lowercase();
    if e.is_timeout() || lower.contains("timed out") {
        Unreachable::Timeout(text)
    } else if lower.contains("dns error")
        || lower.contains("failed to lookup address")
        || lower.contains("name or service not known")
        || lower.contains("no address associated")
    {
        Unreachable::Dns(text)
    } else if lower.contains("certificate")
        || lower.contains("tls")
        || lower.contains("handshake")
        || lower.contains("invalid peer")
    {
        Unreachable::Tls(text)
    } else {
        Unreachable::Connection(text)
    }
}

/// This machine's platform as OCI names it (`GOARCH`): the service runs on the appliance's node.
fn platform_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        other => other,
    }
}

/// In an image index, the digest of the Linux manifest for this machine's architecture.
fn platform_entry(index: &serde_json::Value) -> Option<String> {
    let arch = platform_architecture();
    index
        .get("manifests")?
        .as_array()?
        .iter()
        .find(|m| {
            let p = &m["platform"];
            p["os"] == "linux" && p["architecture"] == arch
        })?
        .get("digest")?
        .as_str()
        .map(str::to_string)
}

/// An image manifest's size: its config and layers, as the registry stores them (compressed).
fn manifest_size(manifest: &serde_json::Value) -> Option<u64> {
    let config = manifest.get("config")?.get("size")?.as_u64()?;
    manifest
        .get("layers")?
        .as_array()?
        .iter()
        .try_fold(config, |sum, l| sum.checked_add(l.get("size")?.as_u64()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sizes as the OCI image spec lays them out: an index names a manifest per platform; a
    /// manifest its config and layers, each with its size.
    #[test]
    fn an_images_size_is_its_config_and_layers_for_this_platform() {
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "config": {"digest": "sha256:c", "size": 1469},
            "layers": [{"digest": "sha256:a", "size": 29_126_484u64}, {"digest": "sha256:b", "size": 1_814_073_281u64}],
        });
        assert_eq!(manifest_size(&manifest), Some(1_843_201_234));
        assert_eq!(
            manifest_size(&serde_json::json!({"layers": []})),
            None,
            "no config: no size"
        );
        let overflow = serde_json::json!({"config": {"size": u64::MAX}, "layers": [{"size": 1}]});
        assert_eq!(manifest_size(&overflow), None);
        let index = serde_json::json!({
            "schemaVersion": 2,
            "manifests": [
                {"digest": "sha256:win", "platform": {"os": "windows", "architecture": platform_architecture()}},
                {"digest": "sha256:other", "platform": {"os": "linux", "architecture": "riscv64"}},
                {"digest": "sha256:ours", "platform": {"os": "linux", "architecture": platform_architecture()}},
            ],
        });
        assert_eq!(platform_entry(&index).as_deref(), Some("sha256:ours"));
        assert_eq!(platform_entry(&manifest), None, "a manifest is no index");
    }

    #[test]
    fn credentials_go_only_over_https_to_the_registrys_own_host() {
        let ok = |realm: &str, registry: &str, allowed: &[&str]| {
            let allowed: Vec<String> = allowed.iter().map(|s| s.to_string()).collect();
            realm_may_get_credentials(realm, registry, &allowed)
        };
        assert!(ok("https://ghcr.io/token", "ghcr.io", &[]).is_ok());
        assert!(ok("https://127.0.0.1:8443/token", "127.0.0.1:5000", &[]).is_ok());
        assert!(ok("https://[::1]:8443/token", "[::1]:5000", &[]).is_ok());
        let http = ok("http://ghcr.io/token", "ghcr.io", &[])
            .unwrap_err()
            .to_string();
        assert!(http.contains("plain http"), "{http}");
        let other = ok("https://steal.example/token", "ghcr.io", &[])
            .unwrap_err()
            .to_string();
        assert!(
            other.contains("--registry-token-host steal.example"),
            "{other}"
        );
        assert!(ok(
            "https://auth.docker.io/token",
            "registry-1.docker.io",
            &["auth.docker.io"]
        )
        .is_ok());
        // allowing a host never allows plain http to it
        assert!(ok(
            "http://auth.docker.io/token",
            "registry-1.docker.io",
            &["auth.docker.io"]
        )
        .is_err());
        assert!(ok("not a url", "ghcr.io", &[]).is_err());
    }

    #[test]
    fn challenges_parse_as_ghcr_writes_them() {
        let (scheme, p) = parse_challenge(
            r#"Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:nine-minds/alga-psa-ee:pull""#,
        )
        .unwrap();
        assert_eq!(scheme, "bearer");
        assert_eq!(p["realm"], "https://ghcr.io/token");
        assert_eq!(p["service"], "ghcr.io");
        assert_eq!(p["scope"], "repository:nine-minds/alga-psa-ee:pull");
        let (scheme, p) = parse_challenge(r#"Basic realm="Registry Realm""#).unwrap();
        assert_eq!(
            (scheme.as_str(), p["realm"].as_str()),
            ("basic", "Registry Realm")
        );
        assert!(parse_challenge("").is_none());
        assert!(parse_challenge("Bearer realm=\"unterminated").is_none());
    }

    #[test]
    fn docker_config_credentials() {
        let c = Credentials::from_docker_config(
            r#"{"auths": {"https://ghcr.io": {"auth": "cm9ib3Q6czNjcjN0"}, "registry.local:5000": {"username": "u", "password": "p"}}}"#,
        )
        .unwrap();
        assert_eq!(c.get("ghcr.io"), Some(&("robot".into(), "s3cr3t".into())));
        assert_eq!(
            c.get("registry.local:5000"),
            Some(&("u".into(), "p".into()))
        );
        assert!(Credentials::from_docker_config("{")
            .unwrap_err()
            .to_string()
            .contains("config.json"));
        assert!(Credentials::from_docker_config(r#"{"auths": {"x": {"auth": "!!"}}}"#).is_err());
    }
}
