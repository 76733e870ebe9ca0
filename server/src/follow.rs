//! `appliance-status status` and `appliance-status wait`: the document for the admin's terminal
//! (PRD AC1, Bootstrap Phase 3 "print login URL as soon as ready"), read from the running service
//! (`--url`, with the token) or computed here from a kubeconfig exactly as the service does.
//!
//! Both follow through the ordinary races of an install: a service that does not answer yet
//! (its pod still pulling), restarts, answers 502/503, or whose name does not resolve yet is
//! asked again with backoff until the time is up, saying what it waits for. A wrong token, a
//! refused host name or something that is not a status service ends at once, with its own exit
//! code (`crate::exit`) and a message naming what is wrong.

mod terminal;

use crate::assess::{SourceInfo, Thresholds};
use crate::catalog::Catalog;
use crate::collect::{self, CollectorOptions};
use crate::exit;
use crate::output::Stream;
use crate::publish::Engine;
use crate::token::TokenError;
use app::status::{RollupState, StatusDocument, Tier};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use terminal::Symbols;

/// Why a document could not be had, with its exit code.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// Not answering, or not yet: worth asking again (`is_transient`).
    #[error("cannot reach {0}")]
    Unreachable(String),
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("{0}")]
    NotAStatusService(String),
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
            FollowError::NotAStatusService(_) => exit::NOT_A_STATUS_SERVICE,
            FollowError::NoKubeconfig(_) => exit::NO_KUBECONFIG,
            FollowError::Token(t) => t.exit_code(),
            FollowError::Usage(_) => exit::USAGE,
            FollowError::Internal(_) => exit::INTERNAL,
        }
    }

    /// Worth asking again: the service (or the API) does not answer, or not yet.
    pub fn is_transient(&self) -> bool {
        matches!(self, FollowError::Unreachable(_))
    }
}

/// The longest one request to the service may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

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

/// Connects a kube client, telling a missing kubeconfig from an unreachable API; with the API
/// server's address, for messages.
pub async fn kube_client(
    kubeconfig: Option<&std::path::Path>,
) -> Result<(kube::Client, String), FollowError> {
    if let Some(path) = kubeconfig {
        if !path.exists() {
            return Err(FollowError::NoKubeconfig(format!(
                "{} does not exist",
                path.display()
            )));
        }
    } else if std::env::var_os("KUBECONFIG").is_none()
        && std::env::var_os("KUBERNETES_SERVICE_HOST").is_none()
    {
        let default =
            std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".kube/config"));
        if default.as_ref().is_none_or(|p| !p.exists()) {
            return Err(FollowError::NoKubeconfig(format!(
                "KUBECONFIG is not set and {} does not exist; pass --kubeconfig FILE",
                default.map_or("~/.kube/config".into(), |p| p.display().to_string())
            )));
        }
    }
    let config = collect::config(kubeconfig).await.map_err(|e| {
        // kube's error repeats its context at each level; the innermost cause says it once
        let cause = std::iter::successors(Some(&e as &dyn std::error::Error), |e| e.source())
            .last()
            .map(|e| e.to_string())
            .unwrap_or_default();
        let file = kubeconfig.map_or("the kubeconfig".into(), |p| p.display().to_string());
        FollowError::NoKubeconfig(format!("{file}: {cause}"))
    })?;
    let address = config.cluster_url.to_string();
    let client = kube::Client::try_from(config).map_err(|e| {
        FollowError::NoKubeconfig(format!(
            "the kubeconfig's client: {}",
            crate::term::innermost(&e)
        ))
    })?;
    Ok((client, address))
}

/// Classifies a kube API error: 401/403 are unauthorized, the rest unreachable; `address` is the
/// API server's.
pub fn api_error(what: &str, address: &str, e: &kube::Error) -> FollowError {
    match e {
        kube::Error::Api(s) if s.code == 401 || s.code == 403 => FollowError::Unauthorized(
            format!("the Kubernetes API at {address} ({what}): {}", s.message),
        ),
        other => FollowError::Unreachable(format!(
            "the Kubernetes API at {address} ({what}): {}",
            crate::term::innermost(other)
        )),
    }
}

/// Why a request to the service failed, in a few words.
fn describe_request_error(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("no answer within {} s", timeout.as_secs());
    }
    let cause = crate::term::innermost(e);
    if cause.contains("lookup address") || cause.contains("dns error") {
        return format!("the name does not resolve ({cause})");
    }
    cause
}

impl Source {
    /// The service at `url` (`http://` or `https://`, the page's address); over https,
    /// `trust` (PEM) is the certificate to trust besides the public authorities.
    pub fn service(
        url: &str,
        token: crate::token::Token,
        trust: Option<&[u8]>,
    ) -> Result<Source, FollowError> {
        let trimmed = url.trim().trim_end_matches('/');
        let parsed = reqwest::Url::parse(trimmed).ok();
        match parsed.as_ref().map(|u| u.scheme()) {
            Some("http" | "https") if parsed.as_ref().is_some_and(|u| u.host().is_some()) => {}
            _ => {
                let example = trimmed.split("://").last().unwrap_or(trimmed);
                return Err(FollowError::Usage(format!(
                    "--url {url:?} is not an http:// or https:// address; e.g. http://{example}"
                )));
            }
        }
        let mut builder = reqwest::Client::builder().timeout(REQUEST_TIMEOUT);
        if let Some(pem) = trust {
            let cert = reqwest::Certificate::from_pem(pem).map_err(|e| {
                FollowError::Usage(format!("the certificate to trust is not PEM: {e}"))
            })?;
            builder = builder.add_root_certificate(cert);
        }
        let client = builder
            .build()
            .map_err(|e| FollowError::Internal(e.to_string()))?;
        Ok(Source::Service {
            url: trimmed.to_string(),
            token,
            client,
        })
    }

    /// A collector on `kubeconfig`; waits until it has listed every core kind.
    pub async fn cluster(kubeconfig: Option<&std::path::Path>) -> Result<Source, FollowError> {
        let (client, address) = kube_client(kubeconfig).await?;
        client
            .apiserver_version()
            .await
            .map_err(|e| api_error("version", &address, &e))?;
        let engine = Engine {
            catalog: Arc::new(Catalog::embedded()),
            thresholds: Thresholds::default(),
            source: SourceInfo::live(),
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
                        None => FollowError::Unreachable(format!(
                            "the Kubernetes API at {address}: the first list did not complete in 60 s"
                        )),
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
                    FollowError::NotAStatusService(format!(
                        "{url}/api/status answered, but not with a status document ({e}): is {url} the status page's address?"
                    ))
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
                .map_err(|e| FollowError::Internal(e.to_string())),
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
            .map_err(|e| {
                let cause = describe_request_error(&e, REQUEST_TIMEOUT);
                if cause.contains("certificate") || cause.contains("Certificate") {
                    // waiting does not mend it
                    return FollowError::Usage(format!(
                        "the status service at {url} presented a certificate that is not trusted ({cause}); pass --tls-cert FILE, the certificate `token ensure --tls` wrote (kept beside the site's token)"
                    ));
                }
                FollowError::Unreachable(format!("the status service at {url}: {cause}"))
            })?;
        let code = response.status().as_u16();
        match code {
            200 => response.bytes().await.map(|b| b.to_vec()).map_err(|e| {
                FollowError::Unreachable(format!(
                    "the status service at {url}: the answer broke off ({})",
                    describe_request_error(&e, REQUEST_TIMEOUT)
                ))
            }),
            401 | 403 => Err(FollowError::Unauthorized(format!(
                "{endpoint} refused the token (HTTP {code}); check APPLIANCE_STATUS_TOKEN or the site's token file"
            ))),
            429 => Err(FollowError::Unauthorized(format!(
                "{endpoint}: too many failed attempts from this address; try again later"
            ))),
            421 => Err(FollowError::Usage(format!(
                "{url} refused the host name in the URL (HTTP 421): use the node's IP address, or add the name to the chart's allowedHosts"
            ))),
            // a proxy or the service starting or stopping: not yet
            500 | 502..=504 => Err(FollowError::Unreachable(format!(
                "the status service at {url}: HTTP {code} (not ready yet)"
            ))),
            _ => Err(FollowError::NotAStatusService(format!(
                "{endpoint} answered HTTP {code}: not an appliance-status service; is {url} the status page's address (e.g. http://NODE-IP:8080)?"
            ))),
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
    /// No update under way (the release Flux applies is the one it applied whole) and login
    /// ready; an update Flux gave up on ends it like a failure.
    Update,
}

impl Target {
    pub fn tier(self) -> Tier {
        match self {
            Target::Platform => Tier::Platform,
            Target::Core => Tier::Core,
            Target::Bootstrap => Tier::Bootstrap,
            Target::Login => Tier::Login,
            Target::Full => Tier::FullHealth,
            Target::Update => Tier::Login,
        }
    }

    /// What the final line calls it: the tier's name, or the update.
    pub fn name(self) -> &'static str {
        match self {
            Target::Update => "UPDATE_DONE",
            other => other.tier().readiness_name(),
        }
    }
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
    let seen = now.unconfirmed.first();
    if before.is_none_or(|b| b.unconfirmed.first().map(|x| &x.id) != seen.map(|x| &x.id)) {
        if let Some(u) = seen {
            out.push((
                format!(
                    "Just seen (not yet confirmed): {}: {}",
                    u.component, u.reason
                ),
                serde_json::json!({"event": "unconfirmed", "blocker": u}),
            ));
        }
    }
    let update = now.release.update.as_ref();
    if before.is_none_or(|b| {
        b.release.update.as_ref().map(|u| (u.state, &u.to)) != update.map(|u| (u.state, &u.to))
    }) {
        if let Some(u) = update {
            out.push((
                u.message.clone(),
                serde_json::json!({"event": "update", "update": u}),
            ));
        }
    }
    let estimate = now.estimate.as_ref();
    if before
        .is_none_or(|b| b.estimate.as_ref().map(|e| &e.message) != estimate.map(|e| &e.message))
    {
        if let Some(e) = estimate {
            out.push((
                format!("Estimate: {}", e.message),
                serde_json::json!({"event": "estimate", "estimate": e}),
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

/// Whether `target` is reached. An update is done when none is under way and login is ready,
/// once one was seen during this wait (`seen_update`) or the source holds the release `to` names
/// (applied whole, since nothing lags): a wait begun before source-controller fetched the new
/// release does not end at once.
pub fn reached(doc: &StatusDocument, target: Target, seen_update: bool, to: Option<&str>) -> bool {
    let ready = doc.tiers.get(target.tier()).ready;
    if target != Target::Update {
        return ready;
    }
    let source = doc
        .release
        .git_revision
        .as_deref()
        .map(crate::assess::release_name);
    ready
        && doc.release.update.is_none()
        && (seen_update || to.is_some_and(|to| source == Some(to)))
}

/// Why waiting for `target` has failed, if it has: "Failed / action required" (any target), or
/// the update stopped (waiting for the update).
fn failing(doc: &StatusDocument, target: Target) -> bool {
    doc.rollup.state == RollupState::FailedActionRequired
        || (target == Target::Update
            && doc
                .release
                .update
                .as_ref()
                .is_some_and(|u| u.state == app::status::UpdateState::Stopped))
}

/// Asks `source` until it answers, or until `deadline` while it does not answer yet
/// (transient errors, with backoff from 1 s to 5 s); `waiting` hears each failed attempt and how
/// long it has been waiting. Any other error ends it at once.
pub async fn fetch_patiently(
    source: &Source,
    deadline: Instant,
    mut waiting: impl FnMut(&FollowError, Duration),
) -> Result<StatusDocument, FollowError> {
    let began = Instant::now();
    let mut backoff = Duration::from_secs(1);
    loop {
        match source.fetch().await {
            Ok(doc) => return Ok(doc),
            Err(e) if e.is_transient() && Instant::now() + backoff < deadline => {
                waiting(&e, began.elapsed());
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            Err(e) => return Err(e),
        }
    }
}

/// How `wait` shows progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Display {
    /// Timestamped lines (not a terminal).
    Lines,
    /// JSON lines.
    Json,
    /// A terminal: a line per change that lasts (a tier turning ready, the login URL, the
    /// rollup), and below them an area redrawn in place: the elapsed time and state, the top
    /// issue and its next action, what is in progress.
    Terminal,
}

impl Display {
    /// The display for `stream` on standard output.
    pub fn for_stdout(stream: Stream) -> Display {
        use std::io::IsTerminal;
        match stream {
            Stream::Json => Display::Json,
            Stream::Text if std::io::stdout().is_terminal() => Display::Terminal,
            Stream::Text => Display::Lines,
        }
    }
}

/// What `wait` asks for.
#[derive(Clone, Debug)]
pub struct WaitFor {
    pub target: Target,
    pub timeout: Duration,
    /// Exit 4 once the appliance has been "Failed / action required" this long.
    pub fail_after: Duration,
    /// `--for update`: the release it brings, if the admin named it.
    pub to: Option<String>,
}

/// The redraw area of the terminal display: the state line, the top issue and its next action,
/// what is in progress.
pub fn area_lines(doc: &StatusDocument, elapsed: u64, symbols: &Symbols) -> Vec<String> {
    let symbol = match doc.rollup.state {
        RollupState::FailedActionRequired => symbols.failed,
        RollupState::Installing => symbols.waiting,
        _ => symbols.done,
    };
    let mut lines = vec![format!(
        "{symbol} {} · {}",
        app::format::duration(elapsed),
        doc.rollup.state.label()
    )];
    match doc.top_blockers.first() {
        Some(b) => {
            lines.push(format!("  Top issue: {}: {}", b.component, b.reason));
            lines.push(format!("  Next: {}", b.next_action));
        }
        None => lines.push(format!("  {}", doc.rollup.message)),
    }
    if let Some(u) = doc.unconfirmed.first() {
        lines.push(format!("  Just seen: {}: {}", u.component, u.reason));
    }
    if let Some(o) = doc.active_operations.first() {
        lines.push(format!(
            "  In progress: {}",
            crate::assess::describe_operation(o)
        ));
    }
    if let Some(e) = &doc.estimate {
        lines.push(format!("  Estimate: {}", e.message));
    }
    if let Some(u) = &doc.release.update {
        lines.push(format!("  {}", u.message));
    }
    lines
}

/// Follows the documents until the target is reached (0), the time is up (3), or the appliance
/// has been failed / action required for `fail_after` (4); while the service does not answer
/// (yet, or again), keeps asking until the time is up (then the error: 5). Writes as it goes;
/// every line ends with a newline, the terminal's area is cleared before it returns.
pub async fn wait(
    source: &Source,
    want: WaitFor,
    display: Display,
    symbols: Symbols,
    mut print: impl FnMut(&str),
) -> Result<u8, FollowError> {
    let began = Instant::now();
    let deadline = began + want.timeout;
    let mut screen = terminal::Screen::default();
    let mut last: Option<StatusDocument> = None;
    let mut failed_since: Option<Instant> = None;
    let mut seen_update = false;
    let mut last_wait: Option<String> = None;
    let finish = |screen: &mut terminal::Screen, print: &mut dyn FnMut(&str), lines: &[String]| {
        match display {
            Display::Terminal => print(&screen.permanent(lines)),
            _ => {
                for l in lines {
                    print(&format!("{l}\n"));
                }
            }
        }
    };
    loop {
        let fetched = {
            let waiting = |e: &FollowError, _waited: Duration| {
                let cause = e.to_string();
                let cause = cause.strip_prefix("cannot reach ").unwrap_or(&cause);
                let text = format!("Waiting for {cause}");
                let elapsed = began.elapsed().as_secs();
                match display {
                    Display::Terminal => print(&screen.draw(&[format!(
                        "{} {} · {}",
                        symbols.waiting,
                        app::format::duration(elapsed),
                        text
                    )])),
                    _ if last_wait.as_deref() == Some(text.as_str()) => {}
                    Display::Lines => print(&format!(
                        "[{} +{}] {}\n",
                        jiff::Timestamp::now()
                            .round(jiff::Unit::Second)
                            .unwrap_or_else(|_| jiff::Timestamp::now()),
                        app::format::duration(elapsed),
                        crate::term::field(&text)
                    )),
                    Display::Json => print(&format!(
                        "{}\n",
                        crate::term::json(
                            &serde_json::json!({"event": "waiting", "message": text, "at": jiff::Timestamp::now()}),
                            false
                        )
                    )),
                }
                last_wait = Some(text);
            };
            fetch_patiently(source, deadline, waiting).await
        };
        let doc = match fetched {
            Ok(doc) => doc,
            Err(e) => {
                if display == Display::Terminal {
                    print(&screen.clear());
                }
                return Err(if e.is_transient() {
                    FollowError::Unreachable(format!(
                        "{} (gave up after {})",
                        e.to_string().trim_start_matches("cannot reach "),
                        app::format::duration(began.elapsed().as_secs())
                    ))
                } else {
                    e
                });
            }
        };
        last_wait = None;
        // What the cluster wrote is shown, never obeyed by the terminal (JSON escapes it itself).
        let doc = match display {
            Display::Json => doc,
            _ => crate::term::document(&doc),
        };
        let elapsed = began.elapsed().as_secs();
        let changes = changes(last.as_ref(), &doc);
        match display {
            Display::Lines => {
                for (line, _) in &changes {
                    print(&format!(
                        "[{} +{}] {line}\n",
                        doc.timestamp,
                        app::format::duration(elapsed)
                    ));
                }
            }
            Display::Json => {
                for (_, json) in changes {
                    let mut json = json;
                    json["at"] = serde_json::json!(doc.timestamp);
                    print(&format!("{}\n", crate::term::json(&json, false)));
                }
            }
            Display::Terminal => {
                // The area carries the top issue and the operation; the rest lasts.
                let lasting: Vec<String> = changes
                    .into_iter()
                    .map(|(line, _)| line)
                    .filter(|l| {
                        !l.starts_with("Top issue")
                            && !l.starts_with("In progress")
                            && !l.starts_with("Estimate")
                            && !l.starts_with("Just seen")
                    })
                    .collect();
                if !lasting.is_empty() {
                    print(&screen.permanent(&lasting));
                }
                print(&screen.draw(&area_lines(&doc, elapsed, &symbols)));
            }
        }
        seen_update |= doc.release.update.is_some();
        if reached(&doc, want.target, seen_update, want.to.as_deref()) {
            let line = format!(
                "{} {} after {}",
                symbols.done,
                want.target.name(),
                app::format::duration(elapsed)
            );
            // How it went, from the cluster's own times (a wait begun late still hears the whole
            // story): "login ready 21 min after the start: image pulls 16 min, …".
            let story = match want.target {
                Target::Update => Some(
                    match last.as_ref().and_then(|l| l.release.update.as_ref()) {
                        Some(u) => format!("updated from {} to {}; login ready", u.from, u.to),
                        None => format!(
                            "{} applied; login ready",
                            want.to.as_deref().unwrap_or("the release")
                        ),
                    },
                ),
                target => doc.timeline.story(target.tier()),
            };
            match display {
                // the lines and JSON streams said the tier with its change
                Display::Terminal => {
                    let mut lines = vec![line];
                    lines.extend(story.map(|s| format!("  {s}")));
                    print(&screen.permanent(&lines));
                }
                Display::Lines => {
                    if let Some(s) = story {
                        print(&format!(
                            "[{} +{}] {}\n",
                            doc.timestamp,
                            app::format::duration(elapsed),
                            crate::term::field(&s)
                        ));
                    }
                }
                Display::Json => {
                    if let Some(s) = story {
                        print(&format!(
                            "{}\n",
                            crate::term::json(
                                &serde_json::json!({"event": "story", "message": s, "for": want.target.name(), "at": doc.timestamp}),
                                false
                            )
                        ));
                    }
                }
            }
            return Ok(exit::REACHED);
        }
        if failing(&doc, want.target) {
            let since = *failed_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= want.fail_after {
                let stopped = doc
                    .release
                    .update
                    .as_ref()
                    .filter(|_| doc.rollup.state != RollupState::FailedActionRequired);
                match (display, doc.top_blockers.first()) {
                    (Display::Json, _) if stopped.is_some() => print(&format!(
                        "{}\n",
                        crate::term::json(
                            &serde_json::json!({"event": "failed", "update": stopped, "at": doc.timestamp}),
                            false
                        )
                    )),
                    (_, _) if stopped.is_some() => finish(
                        &mut screen,
                        &mut print,
                        &[format!(
                            "{} {}",
                            symbols.failed,
                            stopped.map(|u| u.message.as_str()).unwrap_or_default()
                        )],
                    ),
                    (Display::Json, Some(b)) => print(&format!(
                        "{}\n",
                        crate::term::json(
                            &serde_json::json!({"event": "failed", "blocker": b, "at": doc.timestamp}),
                            false
                        )
                    )),
                    (_, Some(b)) => finish(
                        &mut screen,
                        &mut print,
                        &[
                            format!(
                                "{} Failed / action required: {}: {}",
                                symbols.failed, b.component, b.reason
                            ),
                            format!("  Next: {}", b.next_action),
                        ],
                    ),
                    (_, None) => finish(
                        &mut screen,
                        &mut print,
                        &[format!("{} {}", symbols.failed, doc.rollup.message)],
                    ),
                }
                return Ok(exit::FAILED);
            }
        } else {
            failed_since = None;
        }
        if Instant::now() >= deadline {
            let line = format!(
                "Timed out after {} waiting for {}: {}",
                app::format::duration(want.timeout.as_secs()),
                want.target.name(),
                doc.rollup.message
            );
            match display {
                Display::Json => print(&format!(
                    "{}\n",
                    crate::term::json(
                        &serde_json::json!({"event": "timeout", "message": line, "at": doc.timestamp}),
                        false
                    )
                )),
                _ => finish(&mut screen, &mut print, &[line]),
            }
            return Ok(exit::TIMED_OUT);
        }
        last = Some(doc);
        let pause = Duration::from_secs(2).min(want.timeout / 4 + Duration::from_millis(100));
        tokio::time::sleep(
            pause.min(
                deadline.saturating_duration_since(Instant::now()) + Duration::from_millis(10),
            ),
        )
        .await;
    }
}
