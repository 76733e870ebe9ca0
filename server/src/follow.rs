//! `appliance-status status` and `appliance-status wait`: the document for the admin's terminal
//! (PRD AC1, Bootstrap Phase 3 "print login URL as soon as ready"), read from the running service
//! (`--url`, with the token) or computed here from a kubeconfig exactly as the service does.
//!
//! Exit codes, shared by `token`, `status` and `wait` (documented in `--help` and the README):
//! 0 reached / done, 1 internal error, 2 bad usage or input, 3 timed out, 4 failed / action
//! required, 5 unreachable (service or Kubernetes API), 6 unauthorized (wrong token, forbidden),
//! 7 no kubeconfig, 8 token file unsafe (permissions or owner).

use crate::assess::{SourceInfo, Thresholds};
use crate::catalog::Catalog;
use crate::collect::{self, CollectorOptions};
use crate::publish::Engine;
use crate::token::TokenError;
use app::status::{RollupState, SourceMode, StatusDocument, Tier};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// Exit codes.
pub mod exit {
    pub const REACHED: u8 = 0;
    pub const INTERNAL: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const TIMED_OUT: u8 = 3;
    pub const FAILED: u8 = 4;
    pub const UNREACHABLE: u8 = 5;
    pub const UNAUTHORIZED: u8 = 6;
    pub const NO_KUBECONFIG: u8 = 7;
    pub const TOKEN_FILE: u8 = 8;
}

/// The `--help` text for the exit codes.
pub const EXIT_CODES_HELP: &str = "Exit codes: 0 reached (or done), 1 internal error, 2 bad usage or input, 3 timed out, \
4 failed / action required (the top blocker is printed), 5 the service or the Kubernetes API cannot be reached, \
6 unauthorized (wrong token, forbidden), 7 no kubeconfig, 8 token file readable by others or owned by someone else.";

/// Why a document could not be had, with its exit code.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    #[error("cannot reach {0}")]
    Unreachable(String),
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("no kubeconfig: {0}")]
    NoKubeconfig(String),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Internal(String),
}

impl FollowError {
    pub fn exit_code(&self) -> u8 {
        match self {
            FollowError::Unreachable(_) => exit::UNREACHABLE,
            FollowError::Unauthorized(_) => exit::UNAUTHORIZED,
            FollowError::NoKubeconfig(_) => exit::NO_KUBECONFIG,
            FollowError::Token(t) => t.exit_code(),
            FollowError::Usage(_) => exit::USAGE,
            FollowError::Internal(_) => exit::INTERNAL,
        }
    }
}

/// Where documents come from.
pub enum Source {
    /// The running service's `/api/status`, with a bearer token.
    Service {
        url: String,
        token: crate::token::Token,
        client: reqwest::Client,
    },
    /// Computed here from the cluster, as the service computes it.
    Cluster { live: collect::Live },
}

/// Connects a kube client, telling a missing kubeconfig from an unreachable API.
pub async fn kube_client(
    kubeconfig: Option<&std::path::Path>,
) -> Result<kube::Client, FollowError> {
    if let Some(path) = kubeconfig {
        if !path.exists() {
            return Err(FollowError::NoKubeconfig(format!(
                "{} does not exist",
                path.display()
            )));
        }
    }
    collect::client(kubeconfig)
        .await
        .map_err(|e| FollowError::NoKubeconfig(format!("{e:#}")))
}

/// Classifies a kube API error: 401/403 are unauthorized, the rest unreachable.
pub fn api_error(what: &str, e: &kube::Error) -> FollowError {
    match e {
        kube::Error::Api(s) if s.code == 401 || s.code == 403 => {
            FollowError::Unauthorized(format!("{what}: {}", s.message))
        }
        other => FollowError::Unreachable(format!("the Kubernetes API ({what}): {other}")),
    }
}

impl Source {
    /// The service at `url`.
    pub fn service(url: &str, token: crate::token::Token) -> Result<Source, FollowError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| FollowError::Internal(e.to_string()))?;
        Ok(Source::Service {
            url: url.trim_end_matches('/').to_string(),
            token,
            client,
        })
    }

    /// A collector on `kubeconfig`; waits until it has listed every core kind.
    pub async fn cluster(kubeconfig: Option<&std::path::Path>) -> Result<Source, FollowError> {
        let client = kube_client(kubeconfig).await?;
        client
            .apiserver_version()
            .await
            .map_err(|e| api_error("version", &e))?;
        let engine = Engine {
            catalog: Arc::new(Catalog::embedded()),
            thresholds: Thresholds::default(),
            source: SourceInfo {
                mode: SourceMode::Live,
                name: None,
            },
        };
        let live = collect::start(
            client,
            engine,
            CollectorOptions::default(),
            std::future::pending(),
        );
        let began = std::time::Instant::now();
        while !live.ready.load(Ordering::Relaxed) {
            if began.elapsed() > Duration::from_secs(60) {
                let doc = live.feed.current().document.clone();
                return Err(
                    match doc
                        .top_blockers
                        .iter()
                        .find(|b| b.id.ends_with("/forbidden"))
                    {
                        Some(b) => FollowError::Unauthorized(b.reason.clone()),
                        None => FollowError::Unreachable(
                            "the Kubernetes API: the first list did not complete in 60 s".into(),
                        ),
                    },
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // One assessment after the first complete list.
        tokio::time::sleep(Duration::from_millis(400)).await;
        Ok(Source::Cluster { live })
    }

    /// The current document.
    pub async fn fetch(&self) -> Result<StatusDocument, FollowError> {
        match self {
            Source::Cluster { live } => Ok(live.feed.current().document.clone()),
            Source::Service { url, .. } => {
                let body = self.get("/api/status").await?;
                serde_json::from_slice(&body).map_err(|e| {
                    FollowError::Internal(format!("{url}/api/status: not a status document: {e}"))
                })
            }
        }
    }

    /// A support bundle (`.tar.gz`): the service's, or one written here from the cluster.
    pub async fn support_bundle(&self) -> Result<Vec<u8>, FollowError> {
        match self {
            Source::Cluster { live } => live
                .bundles
                .request(crate::bundle::Redactor::default())
                .await
                .map_err(FollowError::Internal),
            Source::Service { .. } => self.get("/api/support-bundle").await,
        }
    }

    /// GET `path` from the service with the bearer token.
    async fn get(&self, path: &str) -> Result<Vec<u8>, FollowError> {
        let Source::Service { url, token, client } = self else {
            return Err(FollowError::Internal("not a service".into()));
        };
        let endpoint = format!("{url}{path}");
        let response = client
            .get(&endpoint)
            .bearer_auth(token.expose())
            .send()
            .await
            .map_err(|e| FollowError::Unreachable(format!("{endpoint}: {}", e)))?;
        match response.status().as_u16() {
            200 => response
                .bytes()
                .await
                .map(|b| b.to_vec())
                .map_err(|e| FollowError::Unreachable(format!("{endpoint}: {}", e))),
            401 | 403 => Err(FollowError::Unauthorized(format!(
                "{endpoint} refused the token (HTTP {})",
                response.status().as_u16()
            ))),
            429 => Err(FollowError::Unauthorized(format!(
                "{endpoint}: too many failed attempts from this address; try again later"
            ))),
            code => {
                let text = response.text().await.unwrap_or_default();
                Err(FollowError::Unreachable(format!(
                    "{endpoint} answered HTTP {code}: {}",
                    text.chars().take(200).collect::<String>()
                )))
            }
        }
    }
}

/// What `wait --for` waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    Platform,
    Core,
    Bootstrap,
    Login,
    Full,
}

impl Target {
    pub fn tier(self) -> Tier {
        match self {
            Target::Platform => Tier::Platform,
            Target::Core => Tier::Core,
            Target::Bootstrap => Tier::Bootstrap,
            Target::Login => Tier::Login,
            Target::Full => Tier::FullHealth,
        }
    }
}

/// How `wait` reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Text,
    Json,
}

/// What changed between two documents, as lines for the admin.
pub fn changes(
    before: Option<&StatusDocument>,
    now: &StatusDocument,
) -> Vec<(String, serde_json::Value)> {
    let mut out = Vec::new();
    for tier in Tier::ALL {
        let was = before.is_some_and(|b| b.tiers.get(tier).ready);
        let is = now.tiers.get(tier).ready;
        if is != was && (is || before.is_some()) {
            out.push((
                format!(
                    "{} {}",
                    tier.readiness_name(),
                    if is { "ready" } else { "no longer ready" }
                ),
                serde_json::json!({"event": "tier", "tier": tier, "ready": is}),
            ));
        }
    }
    let login_now = now.tiers.login.ready;
    let login_before = before.is_some_and(|b| b.tiers.login.ready);
    if login_now && !login_before {
        if let Some(url) = &now.urls.login_url {
            out.push((
                format!("Login URL: {url}"),
                serde_json::json!({"event": "login", "loginUrl": url}),
            ));
        }
    }
    if before.is_none_or(|b| b.rollup.state != now.rollup.state) {
        out.push((
            format!("{}: {}", now.rollup.state.label(), now.rollup.message),
            serde_json::json!({"event": "rollup", "state": now.rollup.state, "message": now.rollup.message}),
        ));
    }
    let top = now.top_blockers.first();
    if before.is_none_or(|b| b.top_blockers.first().map(|x| &x.id) != top.map(|x| &x.id)) {
        if let Some(b) = top {
            out.push((
                format!(
                    "Top issue: {}: {} — {}",
                    b.component, b.reason, b.next_action
                ),
                serde_json::json!({"event": "blocker", "blocker": b}),
            ));
        }
    }
    let op = now.active_operations.first();
    if before
        .is_none_or(|b| b.active_operations.first().map(|o| &o.target) != op.map(|o| &o.target))
    {
        if let Some(o) = op {
            out.push((
                format!("In progress: {}", crate::assess::describe_operation(o)),
                serde_json::json!({"event": "operation", "operation": o}),
            ));
        }
    }
    out
}

/// Whether `target` is reached.
pub fn reached(doc: &StatusDocument, target: Target) -> bool {
    doc.tiers.get(target.tier()).ready
}

/// How `wait` shows progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Display {
    /// Timestamped lines (not a terminal).
    Lines,
    /// JSON lines.
    Json,
    /// A terminal: a line per tier as it turns ready, and a status line redrawn in place with
    /// the elapsed time, the top issue and what is in progress.
    Terminal,
}

/// The status line of the terminal display.
pub fn status_line(doc: &StatusDocument, elapsed: u64, width: usize) -> String {
    let what = match (doc.top_blockers.first(), doc.active_operations.first()) {
        (Some(b), _) => format!("{}: {}", b.component, b.reason),
        (None, Some(o)) => crate::assess::describe_operation(o),
        (None, None) => doc.rollup.message.clone(),
    };
    let line = format!(
        "⏳ {} · {} · {what}",
        app::format::duration(elapsed),
        doc.rollup.state.label()
    );
    line.chars().take(width.max(20)).collect()
}

/// Follows the documents until the target is reached (0), the time is up (3), or the appliance
/// has been failed / action required for `fail_after` (4). Prints as it goes.
pub async fn wait(
    source: &Source,
    target: Target,
    timeout: Duration,
    fail_after: Duration,
    display: Display,
    mut print: impl FnMut(&str),
) -> Result<u8, FollowError> {
    let output = if display == Display::Json {
        Output::Json
    } else {
        Output::Text
    };
    let began = std::time::Instant::now();
    let mut last: Option<StatusDocument> = None;
    let mut failed_since: Option<std::time::Instant> = None;
    loop {
        let doc = source.fetch().await?;
        // What the cluster wrote is shown, never obeyed by the terminal (JSON escapes it itself).
        let doc = match output {
            Output::Text => crate::term::document(&doc),
            Output::Json => doc,
        };
        let elapsed = app::format::duration(began.elapsed().as_secs());
        if display == Display::Terminal {
            print("\r\x1b[2K");
        }
        for (line, json) in changes(last.as_ref(), &doc) {
            match display {
                Display::Lines => print(&format!("[{} +{elapsed}] {line}\n", doc.timestamp)),
                // On a terminal the status line carries the top issue and the operation.
                Display::Terminal
                    if line.starts_with("Top issue") || line.starts_with("In progress") => {}
                Display::Terminal => print(&format!("{line}\n")),
                Display::Json => {
                    let mut json = json;
                    json["at"] = serde_json::json!(doc.timestamp);
                    print(&format!("{json}\n"));
                }
            }
        }
        if display == Display::Terminal {
            print(&status_line(&doc, began.elapsed().as_secs(), 200));
        }
        if reached(&doc, target) {
            if display == Display::Terminal {
                print(&format!(
                    "\r\x1b[2K✔ {} after {elapsed}\n",
                    target.tier().readiness_name()
                ));
            }
            return Ok(exit::REACHED);
        }
        if doc.rollup.state == RollupState::FailedActionRequired {
            let since = *failed_since.get_or_insert_with(std::time::Instant::now);
            if since.elapsed() >= fail_after {
                if let Some(b) = doc.top_blockers.first() {
                    let line = format!(
                        "Failed / action required: {}: {} — {}",
                        b.component, b.reason, b.next_action
                    );
                    match output {
                        Output::Text => print(&line),
                        Output::Json => {
                            print(&serde_json::json!({"event": "failed", "blocker": b}).to_string())
                        }
                    }
                }
                return Ok(exit::FAILED);
            }
        } else {
            failed_since = None;
        }
        if began.elapsed() >= timeout {
            let line = format!(
                "Timed out after {} waiting for {}: {}",
                app::format::duration(timeout.as_secs()),
                target.tier().readiness_name(),
                doc.rollup.message
            );
            match output {
                Output::Text => print(&line),
                Output::Json => {
                    print(&serde_json::json!({"event": "timeout", "message": line}).to_string())
                }
            }
            return Ok(exit::TIMED_OUT);
        }
        last = Some(doc);
        tokio::time::sleep(Duration::from_secs(2).min(timeout / 4 + Duration::from_millis(100)))
            .await;
    }
}
