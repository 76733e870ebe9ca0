//! appliance-status, the service above the engine (crate `engine`, `appliance_engine`):
//!
//! ```text
//! sources (collect | publish::DemoRunner, prober, release checker, smoke) -> Change
//!   -> the snapshot's owner (engine::change::apply) -> engine::assess -> publish -> readers
//! readers: web (the page, /api/status, /metrics), bundle; the command line (cli, admin, follow)
//! ```

/// The engine and its vocabulary (crate `engine`), re-exported where the service reads them.
pub use appliance_engine::{
    assess, catalog, change, event, images, moment, objects, probes, scenario, snapshot,
};

pub mod admin;
pub mod auth;
pub mod bundle;
pub mod cli;
pub mod collect;
pub mod exit;
pub mod follow;
pub mod listener;
pub mod metrics;
pub mod output;
pub mod prober;
pub mod publish;
pub mod registry;
pub mod release;
pub mod service;
pub mod smoke;
pub mod term;
pub mod tls;
pub mod token;
pub mod web;

/// The service's errors: the engine's, and what the service itself reads, asks and serves. Each
/// message is complete (what a variant wraps is part of its text), except the few that say what
/// `serve` was doing when their cause happened (`connecting to Kubernetes`, `listening on …`,
/// `reading the token file …`): those return the cause as their `source()`, and
/// [`Error::report`] prints the message and every cause, as `serve` does. The command line's
/// errors with exit codes are `follow::FollowError` and `token::TokenError`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The engine's: objects, catalogs, scenarios, probes, release manifests, durations.
    #[error(transparent)]
    Engine(#[from] appliance_engine::Error),
    /// A file that could not be read.
    #[error("{path}: {error}")]
    File { path: String, error: std::io::Error },

    // The command line (`cli`, `admin`).
    #[error("--registry-mirror {0:?}: expected REGISTRY=MIRROR")]
    Mirror(String),
    #[error("--site-id {0:?}: expected 1 to 63 letters, digits, '.', '_' or '-'")]
    SiteId(String),
    #[error("{origin} is larger than {} KiB: not a release manifest", .limit >> 10)]
    ManifestTooLarge { origin: String, limit: u64 },
    #[error("{origin}: not UTF-8 text: {error}")]
    NotUtf8 {
        origin: String,
        error: std::string::FromUtf8Error,
    },
    /// A support bundle `assess` could not replay.
    #[error("{origin}: document 1: {error}")]
    Replay { origin: String, error: Box<Error> },

    // TLS (`tls`).
    #[error("making the TLS certificate: {0}")]
    MakeCertificate(rcgen::Error),
    #[error("no certificate in the PEM text")]
    NoCertificate,
    #[error("{0}: no certificate in it")]
    NoCertificateIn(String),
    /// `what`: the certificate, or the file it was read from.
    #[error("{what}: {error}")]
    Pem {
        what: String,
        error: rustls::pki_types::pem::Error,
    },
    #[error("the certificate and key: {0}")]
    KeyPair(rustls::Error),
    #[error("{0}")]
    TlsConfig(rustls::Error),
    /// The listener's TLS (`serve --tls-cert FILE --tls-key FILE`).
    #[error("TLS: {0}")]
    Tls(Box<Error>),

    // Registries (`registry`) and the release check.
    #[error("docker config.json: {0}")]
    DockerConfig(serde_json::Error),
    #[error("docker config.json: auths.{host}.auth: {error}")]
    DockerAuth {
        host: String,
        error: base64::DecodeError,
    },
    #[error("docker config.json: auths.{host}.auth is not user:password")]
    DockerAuthPair { host: String },
    #[error("the token service {realm:?}: {error}")]
    RealmUrl {
        realm: String,
        error: <reqwest::Url as std::str::FromStr>::Err,
    },
    #[error("the registry names a token service over plain {scheme} ({realm}): credentials are never sent without TLS")]
    RealmPlain { scheme: String, realm: String },
    #[error("the token service {realm:?} names no host")]
    RealmNoHost { realm: String },
    #[error("the token service {realm_host} is not the registry's host {own}: its credentials are not sent there (allow it with --registry-token-host {realm_host})")]
    RealmForeign { realm_host: String, own: String },
    #[error("CA file: {0}")]
    CaFile(reqwest::Error),
    #[error("HTTP client: {0}")]
    HttpClient(reqwest::Error),
    /// The service's background release check could not start.
    #[error("release image check: {0}")]
    ReleaseCheck(Box<Error>),

    // The support bundle (`bundle`).
    #[error("not a support bundle (.tar.gz): {0}")]
    NotABundle(std::io::Error),
    #[error("a file name in the bundle is unreadable: {0}")]
    BundleName(std::io::Error),
    #[error("{name} in the bundle is unreadable: {error}")]
    BundleFile { name: String, error: std::io::Error },
    #[error("the bundle unpacks to more than {} MiB: not one this service wrote", .limit >> 20)]
    BundleTooLarge { limit: u64 },
    #[error("not a support bundle: it has no {0}")]
    BundleMissing(String),
    #[error("{name}: {error}")]
    BundleJson {
        name: &'static str,
        error: serde_json::Error,
    },
    #[error(
        "manifest.json: bundle format {found:?}, this version reads up to {}",
        crate::bundle::FORMAT
    )]
    BundleFormat { found: Option<u64> },
    #[error("state.json: probe {name}: {error}")]
    BundleProbe {
        name: String,
        error: appliance_engine::Error,
    },
    #[error("a support bundle is being written; try again in a moment")]
    BundleBusy,
    #[error("the service is stopping")]
    Stopping,
    #[error("the service stopped before the bundle was written")]
    StoppedBeforeBundle,
    #[error("the bundle could not be written: {0}")]
    BundleNotWritten(Box<Error>),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Yaml(#[from] serde_yaml::Error),

    // Kubernetes (`collect`, `smoke`).
    #[error(transparent)]
    Kube(#[from] kube::Error),
    #[error(transparent)]
    Kubeconfig(#[from] kube::config::KubeconfigError),
    #[error(transparent)]
    InferConfig(#[from] kube::config::InferConfigError),
    /// A request of the storage smoke probe: `what` it was for.
    #[error("{what}: {error}")]
    KubeCall {
        what: &'static str,
        error: kube::Error,
    },
    #[error("the test pod could not write to a {class} volume: {why}")]
    SmokeWrite { class: String, why: String },
    #[error(
        "a {class} test claim did not bind and a pod did not write to it within {secs}s (claim {claim}, pod {pod}){}",
        .unscheduled.as_ref().map(|m| format!("; the pod is not scheduled: {m}")).unwrap_or_default()
    )]
    SmokeTimeout {
        class: String,
        secs: u64,
        claim: String,
        pod: String,
        /// Why the pod is not scheduled, if it is not.
        unscheduled: Option<String>,
    },

    // Serving (`web`, `service`).
    #[error(
        "the built site is incomplete: {} not found in {}; point --site-root (LEPTOS_SITE_ROOT) at the directory `cargo leptos build` wrote (the image has it at /app/site), or pass --no-site to start without it (for the API alone)",
        .missing.join(", "),
        .pkg.display()
    )]
    SiteIncomplete {
        missing: Vec<String>,
        pkg: std::path::PathBuf,
    },
    #[error("the token has {chars} characters; at least {} are needed (`appliance-status token ensure` makes a 256-bit one)", crate::auth::token_source::MIN_TOKEN_LEN)]
    WeakToken { chars: usize },
    /// A token refused; `origin`: the token file, or `APPLIANCE_STATUS_TOKEN`.
    #[error("{origin}: {error}")]
    TokenRefused { origin: String, error: Box<Error> },
    #[error("the token file {} is empty", .0.display())]
    EmptyTokenFile(std::path::PathBuf),
    #[error(
        "a token is required to serve a live cluster: set APPLIANCE_STATUS_TOKEN or --token-file"
    )]
    NoToken,
    #[error("reading the token file {}", .path.display())]
    ReadTokenFile {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("reading the seed DSN file {}", .path.display())]
    ReadSeedDsn {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("connecting to Kubernetes")]
    Connecting(#[source] Box<Error>),
    #[error("listening on {address}")]
    Listen {
        address: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Join(#[from] tokio::task::JoinError),
}

impl Error {
    /// The message, then each cause below it, joined by `: ` (how `serve` prints and logs an error).
    pub fn report(&self) -> String {
        let mut out = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            out.push_str(": ");
            out.push_str(&c.to_string());
            cause = c.source();
        }
        out
    }
}

/// The service's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
