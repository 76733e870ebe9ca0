//! The status contract: the one canonical document behind `GET /api/status`, the UI and the CLI.
//!
//! Plain serde types, camelCase on the wire, the PRD's field names and values kept as they are and
//! only ever extended. No I/O and no Kubernetes types here: this module compiles to wasm.

use serde::{Deserialize, Serialize};

/// A point in time, RFC 3339 on the wire. On the server it is jiff's `Timestamp`; in the browser,
/// which only shows it, it is the text as sent, so jiff's parser and tables stay out of the wasm.
#[cfg(any(feature = "ssr", not(feature = "hydrate")))]
pub use jiff::Timestamp;
/// A point in time as the server sent it (RFC 3339): the browser only displays it.
#[cfg(all(feature = "hydrate", not(feature = "ssr")))]
pub type Timestamp = String;

/// Bumped when a field changes meaning or disappears (adding fields does not bump it).
pub const SCHEMA_VERSION: u32 = 1;

/// The whole status of one appliance at one moment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusDocument {
    /// Version of this contract; see [`SCHEMA_VERSION`].
    #[serde(default = "schema_version")]
    pub schema_version: u32,
    /// The appliance's site identifier, e.g. `appliance-single-node`.
    pub site_id: String,
    /// The moment the document describes (the assessment's `now`).
    pub timestamp: Timestamp,
    /// What release the appliance is installing or running.
    #[serde(default)]
    pub release: Release,
    /// Where the status UI and the Alga login live.
    #[serde(default)]
    pub urls: Urls,
    /// The one-line answer for the admin.
    pub rollup: Rollup,
    /// Tiered readiness, each tier with its checks.
    pub tiers: Tiers,
    /// Every blocker, ranked: login-blocking first, then tier, severity, depth, age.
    #[serde(default)]
    pub top_blockers: Vec<Blocker>,
    /// Failures just seen, not yet held for the hysteresis (30 s live): shown at once so nobody
    /// waits to learn of them, but they fail no tier and change no rollup until they hold; a blip
    /// that clears in time leaves no verdict behind. Newest first.
    #[serde(default)]
    pub unconfirmed: Vec<Blocker>,
    /// One row per catalog component.
    #[serde(default)]
    pub components: Vec<ComponentStatus>,
    /// Things that take time and are not failures: image pulls, reconciliations, jobs, waits.
    #[serde(default)]
    pub active_operations: Vec<Operation>,
    /// Recent Kubernetes events: warnings first, each group newest first.
    #[serde(default)]
    pub recent_events: Vec<EventSummary>,
    /// Every Flux source, Kustomization and HelmRelease with its Ready condition.
    #[serde(default)]
    pub flux: Vec<FluxStatus>,
    /// The database bootstrap Job at a glance.
    #[serde(default)]
    pub bootstrap: Option<BootstrapSummary>,
    /// Where the data came from and whether it is current.
    #[serde(default)]
    pub source: Source,
    /// The bootstrap's history, from the cluster's own timestamps: tiers' moments, pulls, Jobs,
    /// Helm actions and problems over time.
    #[serde(default)]
    pub timeline: Timeline,
    /// While installing: when login is expected, with what that rests on. Absent without a
    /// basis, and while something needs action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate: Option<Estimate>,
}

/// An estimate of the time left, as a range, with its basis in words.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Estimate {
    /// What it estimates: `login`.
    pub target: Tier,
    pub low_seconds: u64,
    pub high_seconds: u64,
    /// "login expected in about 12–18 min".
    pub message: String,
    /// What it rests on, one fact a line: the measured pull throughput, what is left to pull
    /// (and where its size comes from), the steps left with their typical durations.
    pub basis: Vec<String>,
}

fn schema_version() -> u32 {
    SCHEMA_VERSION
}

/// Release information, from the Flux source and the release selection ConfigMap.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Release {
    pub selected_release_version: Option<String>,
    pub app_version: Option<String>,
    pub channel: Option<String>,
    /// The Flux source revision, e.g. `release/1.0-rc5@sha1:979e2079...`.
    pub git_revision: Option<String>,
    /// The registry check of the selected release's images: what was checked and when, or why
    /// not (live only; absent for dumps and scenarios).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_check: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<ReleaseImageStatus>,
    /// An update under way: the release Flux applies differs from the one it last applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<ReleaseUpdate>,
}

/// From which release to which, how it stands, and what is moving.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseUpdate {
    /// The release last applied whole, e.g. `1.0-rc5`.
    pub from: String,
    /// The release being applied, e.g. `1.0-rc6`.
    pub to: String,
    pub state: UpdateState,
    /// "Updating 1.0-rc5 → 1.0-rc6: …", in words for the admin.
    pub message: String,
    /// What is changing now: components rolling out, images pulling, releases upgrading.
    #[serde(default)]
    pub moving: Vec<String>,
}

/// How an update stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateState {
    /// Moving, nothing in its way.
    InProgress,
    /// A blocker stands in its way; it may still finish once that is fixed.
    Blocked,
    /// An attempt failed and the controller tries again by itself (a Helm upgrade retried).
    Interrupted,
    /// Flux gave up on it (a failed health check, an upgrade that failed): it will not finish
    /// by itself.
    Stopped,
}

/// One image of the selected release, as the registry answered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseImageStatus {
    /// e.g. `ghcr.io/nine-minds/workflow-worker:61e4a00e`.
    pub reference: String,
    pub component: String,
    /// `present`, `tag_missing`, `repository_not_found`, `unauthorized`, `unreachable`.
    pub outcome: String,
    /// In words, e.g. "present (sha256:…)" or "registry unreachable (DNS: …)".
    pub detail: String,
    pub checked_at: Timestamp,
}

/// The status UI and Alga login URLs (the login URL once known).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Urls {
    pub status_url: Option<String>,
    pub login_url: Option<String>,
}

/// The user-facing rollup states, exactly as the PRD names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RollupState {
    Installing,
    ReadyToLogIn,
    ReadyWithBackgroundIssues,
    FullyHealthy,
    FailedActionRequired,
}

impl RollupState {
    /// The words the admin reads.
    pub fn label(self) -> &'static str {
        match self {
            RollupState::Installing => "Installing",
            RollupState::ReadyToLogIn => "Ready to log in",
            RollupState::ReadyWithBackgroundIssues => "Ready with background issues",
            RollupState::FullyHealthy => "Fully healthy",
            RollupState::FailedActionRequired => "Failed / action required",
        }
    }
}

/// The rollup: state, a sentence, and what to do next.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rollup {
    pub state: RollupState,
    pub message: String,
    pub next_action: String,
}

/// The readiness tiers, in the order they build on each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Platform,
    Core,
    Bootstrap,
    Login,
    Background,
    FullHealth,
}

impl Tier {
    /// All tiers in order.
    pub const ALL: [Tier; 6] = [
        Tier::Platform,
        Tier::Core,
        Tier::Bootstrap,
        Tier::Login,
        Tier::Background,
        Tier::FullHealth,
    ];

    /// The PRD's name, e.g. `LOGIN_READY`.
    pub fn readiness_name(self) -> &'static str {
        match self {
            Tier::Platform => "PLATFORM_READY",
            Tier::Core => "CORE_READY",
            Tier::Bootstrap => "BOOTSTRAP_READY",
            Tier::Login => "LOGIN_READY",
            Tier::Background => "BACKGROUND_READY",
            Tier::FullHealth => "FULLY_HEALTHY",
        }
    }

    /// A short human label.
    pub fn label(self) -> &'static str {
        match self {
            Tier::Platform => "Platform",
            Tier::Core => "Core services",
            Tier::Bootstrap => "Database bootstrap",
            Tier::Login => "Login",
            Tier::Background => "Background services",
            Tier::FullHealth => "Full health",
        }
    }
}

/// The six tiers as the PRD's document shows them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tiers {
    pub platform: TierStatus,
    pub core: TierStatus,
    pub bootstrap: TierStatus,
    pub login: TierStatus,
    pub background: TierStatus,
    pub full_health: TierStatus,
}

impl Tiers {
    /// The status of one tier.
    pub fn get(&self, tier: Tier) -> &TierStatus {
        match tier {
            Tier::Platform => &self.platform,
            Tier::Core => &self.core,
            Tier::Bootstrap => &self.bootstrap,
            Tier::Login => &self.login,
            Tier::Background => &self.background,
            Tier::FullHealth => &self.full_health,
        }
    }
}

/// How a tier is doing, in one word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TierHealth {
    /// Every check passes.
    Healthy,
    /// Checks are pending; nothing has failed.
    Progressing,
    /// Something failed that does not stop the appliance from being used.
    Degraded,
    /// Something failed that blocks this tier.
    Failed,
}

/// One tier's readiness and the checks behind it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TierStatus {
    pub ready: bool,
    pub status: TierHealth,
    #[serde(default)]
    pub checks: Vec<Check>,
}

/// One requirement of a tier, as the PRD lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// Stable identifier, e.g. `core.postgres-ready`.
    pub name: String,
    /// The requirement in words, e.g. "Postgres ready".
    pub description: String,
    pub state: CheckState,
    /// What was seen, e.g. "db 0/1 ready".
    pub detail: Option<String>,
    /// The ids of the blockers that make this check fail: a failed check always names at least
    /// one, a check that has not failed names none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blockers: Vec<String>,
}

/// The outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckState {
    Ok,
    Pending,
    Failed,
    NotApplicable,
}

/// How much a blocker matters. The PRD's example uses `background`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Prevents login (or the install that leads to it) until someone acts.
    Critical,
    /// A background or platform service failed; login is not affected.
    Background,
    /// Slow or stuck for longer than expected; may still resolve by itself.
    Warning,
}

/// The layer of the stack a blocker's cause sits in, lowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    Api,
    Node,
    Dns,
    Network,
    Storage,
    Image,
    Config,
    Log,
    Pod,
    Job,
    Workload,
    Probe,
    Flux,
    Helm,
}

/// How long a blocker has been holding, by age thresholds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Escalation {
    /// Seen, within its expected time.
    Info,
    /// Past the warning threshold (or failed and not yet past the error threshold).
    Warning,
    /// Past the error threshold, or failed for good.
    Error,
}

/// One thing that stops a tier from being ready, with its lowest known cause.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Blocker {
    /// Stable across assessments while the cause persists, e.g. `storage/msp/db/subpath`.
    #[serde(default)]
    pub id: String,
    pub severity: Severity,
    /// The catalog component affected, e.g. `db`.
    pub component: String,
    pub layer: Layer,
    /// What is wrong, in plain words.
    pub reason: String,
    /// What a customer can do about it.
    pub next_action: String,
    /// True when this blocker keeps Alga from being usable.
    pub login_blocking: bool,
    /// The tier of the affected component (release-level problems: `full_health`, the tier every
    /// blocker keeps from being ready; also what a document without the field reads as).
    #[serde(default = "full_health")]
    pub tier: Tier,
    /// When the condition was first seen.
    #[serde(default)]
    pub since: Timestamp,
    #[serde(default = "escalation_error")]
    pub escalation: Escalation,
    /// The objects and exact messages that led to this blocker, lowest first.
    #[serde(default)]
    pub evidence: Vec<Evidence>,
}

fn full_health() -> Tier {
    Tier::FullHealth
}

fn escalation_error() -> Escalation {
    Escalation::Error
}

/// An object and the exact message it carried.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// `Pod`, `Event`, `HelmRelease`, `log`, `probe`, ...
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    /// A machine reason where there is one (`CreateContainerConfigError`, `InstallFailed`).
    pub reason: Option<String>,
    pub message: String,
    pub timestamp: Option<Timestamp>,
}

/// The state of one catalog component.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentState {
    Ready,
    Progressing,
    Failed,
    /// Not installed (yet).
    Missing,
}

/// One row of the component table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentStatus {
    pub name: String,
    pub tier: Tier,
    pub kind: String,
    pub namespace: Option<String>,
    /// The workload names, e.g. `alga-core-sebastian`.
    pub workload: Option<String>,
    pub ready: u32,
    pub desired: u32,
    pub restarts: u32,
    pub images: Vec<String>,
    pub status: ComponentState,
    pub message: String,
}

/// What kind of long-running thing an operation is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationKind {
    ImagePull,
    Reconciliation,
    Job,
    /// Waiting for an earlier step: an init container waiting for the bootstrap, a Flux object
    /// waiting for its dependencies or for its controller to see a new spec.
    Waiting,
}

/// Something in progress that is not (yet) a failure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    pub kind: OperationKind,
    /// The component it serves, when known.
    pub component: Option<String>,
    /// The tier it serves, when known.
    #[serde(default)]
    pub tier: Option<Tier>,
    /// The image, or `HelmRelease/alga-system/alga-core`, or the Job.
    pub target: String,
    pub started: Timestamp,
    pub elapsed_seconds: u64,
    /// Expected size of an image, when known.
    pub size_bytes: Option<u64>,
    pub message: String,
}

/// One Kubernetes event, newest occurrence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventSummary {
    /// `Warning` or `Normal`.
    #[serde(rename = "type")]
    pub event_type: String,
    pub reason: String,
    /// `Kind/namespace/name` of the object the event is about.
    pub object: String,
    pub message: String,
    pub count: u32,
    pub last_seen: Option<Timestamp>,
}

/// One Flux object's readiness, as its Ready condition says.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FluxStatus {
    /// `GitRepository`, `Kustomization`, `HelmRelease`, ...
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// `None` while the condition is Unknown or absent.
    pub ready: Option<bool>,
    pub reason: String,
    pub message: String,
    pub since: Option<Timestamp>,
    pub revision: Option<String>,
}

/// The database bootstrap (migrations and seed data).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BootstrapSummary {
    /// The Job's name, while it exists.
    pub job: Option<String>,
    /// `not started`, `running`, `completed`, `failed`.
    pub state: String,
    pub completed_at: Option<Timestamp>,
    /// The last lines of the Job's log, when read.
    pub log_excerpt: Vec<String>,
}

/// Whether the document comes from a cluster or a scenario.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceMode {
    #[default]
    Live,
    Scenario,
}

/// Where the data came from and how current it is.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    pub mode: SourceMode,
    /// The scenario's name, or the cluster's API server.
    pub name: Option<String>,
    /// When the data was last known to be complete and current.
    pub last_sync: Option<Timestamp>,
    /// True when the Kubernetes API cannot be reached and the data is old.
    pub stale: bool,
    pub message: Option<String>,
    /// Live: how each watched kind stands (empty for a dump or scenario).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub watches: Vec<WatchStatus>,
    /// What the service's own probes measured (login URL, DNS, HTTPS, seed query, storage).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probes: Vec<ProbeResult>,
}

/// The collector's watch of one kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WatchStatus {
    pub kind: String,
    pub state: WatchState,
    /// How many objects of the kind the service holds (after pruning and its event bound).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objects: Option<u32>,
}

/// Where a watch stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WatchState {
    /// Started; the first complete list has not arrived yet.
    Listing,
    /// Listed and watching.
    Listed,
    /// The API does not serve the kind (its CRD is not installed yet).
    NotServed,
    /// The service account may not list it.
    Forbidden,
}

impl WatchState {
    /// In words, for the diagnostics tab.
    pub fn label(self) -> &'static str {
        match self {
            WatchState::Listing => "listing",
            WatchState::Listed => "listed",
            WatchState::NotServed => "not served",
            WatchState::Forbidden => "forbidden",
        }
    }
}

/// One probe's last result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeResult {
    /// `login-url`, `seed-users`, `storage-smoke`, `dns:<host>`, `https:<host>`.
    pub name: String,
    pub ok: bool,
    /// What it got, as recorded (`ok`, `HTTP 307 → /msp/dashboard`, `error: …`).
    pub value: String,
}

/// The bootstrap's history, worked out from the times the cluster wrote (conditions' transitions,
/// Job start and completion, event times, HelmRelease history), never from when this service
/// happened to look: a restarted service and a support bundle tell the same story. Offsets are
/// whole seconds after `started`, so the page draws it without parsing a time.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Timeline {
    /// When the install began: the first Flux object's creation (else the node's), or what the
    /// timeline shows first if that is earlier. `None`: the cluster says nothing of it yet, and
    /// the rest is empty.
    pub started: Option<Timestamp>,
    /// From `started` to the document's timestamp.
    #[serde(default)]
    pub elapsed_seconds: u64,
    /// Each tier's moment, for tiers ready or failed now: when it last became so.
    #[serde(default)]
    pub tiers: Vec<TierMoment>,
    /// Long operations and problems, by start.
    #[serde(default)]
    pub spans: Vec<Span>,
}

/// When a tier became ready (or failed), as the objects it rests on say.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TierMoment {
    pub tier: Tier,
    /// Ready since `at` (else failed since `at`).
    pub ready: bool,
    pub at: Timestamp,
    pub after_seconds: u64,
}

/// What a span of the timeline is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanKind {
    /// An image pull, from the kubelet's `Pulling`/`Pulled` events.
    ImagePull,
    /// A Job run, from its start and completion times.
    Job,
    /// A Helm install or upgrade by helm-controller.
    Helm,
    /// A problem: a blocker standing now, or warnings the cluster recorded.
    Problem,
}

/// How a span stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanState {
    Running,
    Succeeded,
    Failed,
    /// A problem still standing.
    Open,
    /// A problem over: warnings that stopped.
    Resolved,
    /// Warnings seen within the last five minutes that are no blocker: they may still be coming
    /// (a crash loop's back-off repeats every five minutes at most) or have just stopped.
    Recent,
}

/// One operation or problem over time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Span {
    pub kind: SpanKind,
    pub component: Option<String>,
    pub tier: Option<Tier>,
    /// What it is, e.g. `ghcr.io/nine-minds/alga-psa-ee:1.0-rc5` or `db-0: Failed`.
    pub label: String,
    pub state: SpanState,
    pub start: Timestamp,
    /// `None` while it goes on.
    pub end: Option<Timestamp>,
    pub start_seconds: u64,
    /// `None` while it goes on (it reaches `elapsedSeconds`).
    pub end_seconds: Option<u64>,
    /// Words beside it: a pull's size, a Job's outcome, a problem's message.
    #[serde(default)]
    pub detail: String,
    /// An image pull's size, as the kubelet reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
}

/// A span for tests: `kind` of `tier`, from `start` to `end` seconds (running without an end).
#[cfg(test)]
pub(crate) fn span(
    kind: SpanKind,
    tier: Tier,
    (start, end): (u64, Option<u64>),
    label: &str,
) -> Span {
    Span {
        kind,
        component: Some("c".into()),
        tier: Some(tier),
        label: label.into(),
        state: if end.is_some() {
            SpanState::Succeeded
        } else {
            SpanState::Running
        },
        start: Timestamp::default(),
        end: end.map(|_| Timestamp::default()),
        start_seconds: start,
        end_seconds: end,
        detail: String::new(),
        size_bytes: None,
    }
}

impl Span {
    /// Its end in seconds after the start, running spans reaching `elapsed`.
    pub fn end_or(&self, elapsed: u64) -> u64 {
        self.end_seconds.unwrap_or(elapsed).max(self.start_seconds)
    }
}

impl Timeline {
    /// When the tier became ready, in seconds after the start (if it is ready now).
    pub fn ready_after(&self, tier: Tier) -> Option<u64> {
        self.tiers
            .iter()
            .find(|m| m.tier == tier && m.ready)
            .map(|m| m.after_seconds)
    }

    /// How the way to `tier` went, once it is ready: the login story for login and later tiers
    /// (full health prefixed with its own moment), else the tier's moment alone.
    pub fn story(&self, tier: Tier) -> Option<String> {
        let at = self.ready_after(tier)?;
        let moment = |name: &str| format!("{name} {} after the start", crate::format::duration(at));
        match tier {
            Tier::Login => self.login_story(),
            Tier::Background | Tier::FullHealth => Some(match self.login_story() {
                Some(login) => format!("{}; {login}", moment(&tier.label().to_lowercase())),
                None => moment(&tier.label().to_lowercase()),
            }),
            _ => Some(moment(tier.readiness_name())),
        }
    }

    /// The way to login in phases, once login is ready: "login ready 39 min after the start:
    /// image pulls 16 min 3 s, Helm 36 min, database bootstrap 2 min 42 s; longest problem:
    /// postgres, 29 min (db-0: Failed)". Pulls, Helm and Jobs overlap each other and the problems,
    /// so each is its own measure (the time any of them was going on), not a share of the total.
    pub fn login_story(&self) -> Option<String> {
        let login = self.ready_after(Tier::Login)?;
        // Login last became ready long after the install began (a restart weeks later): that
        // is no story of the install.
        if login > STORY_HORIZON_SECONDS {
            return None;
        }
        let on_the_way = |s: &&Span| s.tier.is_some_and(|t| t <= Tier::Login);
        let busy = |kind: SpanKind, tier: Option<Tier>| {
            union_within(
                self.spans
                    .iter()
                    .filter(on_the_way)
                    .filter(|s| s.kind == kind && (tier.is_none() || s.tier == tier))
                    .map(|s| (s.start_seconds, s.end_or(self.elapsed_seconds))),
                login,
            )
        };
        let mut phases = Vec::new();
        for (name, seconds) in [
            ("image pulls", busy(SpanKind::ImagePull, None)),
            ("Helm", busy(SpanKind::Helm, None)),
            (
                "database bootstrap",
                busy(SpanKind::Job, Some(Tier::Bootstrap)),
            ),
        ] {
            if seconds > 0 {
                phases.push(format!("{name} {}", crate::format::duration(seconds)));
            }
        }
        let longest = self
            .spans
            .iter()
            .filter(on_the_way)
            .filter(|s| s.kind == SpanKind::Problem)
            .map(|s| {
                let seconds =
                    union_within([(s.start_seconds, s.end_or(self.elapsed_seconds))], login);
                (seconds, s)
            })
            .filter(|(seconds, _)| *seconds > 0)
            .max_by_key(|(seconds, s)| (*seconds, std::cmp::Reverse(s.start_seconds)));
        let mut story = format!(
            "login ready {} after the start",
            crate::format::duration(login)
        );
        if !phases.is_empty() {
            story.push_str(": ");
            story.push_str(&phases.join(", "));
        }
        if let Some((seconds, s)) = longest {
            story.push_str(&format!(
                "; longest problem: {}, {} ({})",
                s.component.as_deref().unwrap_or("the cluster"),
                crate::format::duration(seconds),
                s.label
            ));
        }
        Some(story)
    }
}

/// The story of the way to login is told only when login became ready within this long of the
/// start (installs take tens of minutes; a day is generous).
pub const STORY_HORIZON_SECONDS: u64 = 24 * 3600;

/// How long any of the intervals covered, within `[0, limit]`.
fn union_within(intervals: impl IntoIterator<Item = (u64, u64)>, limit: u64) -> u64 {
    let mut clipped: Vec<(u64, u64)> = intervals
        .into_iter()
        .map(|(a, b)| (a.min(limit), b.min(limit)))
        .filter(|(a, b)| a < b)
        .collect();
    clipped.sort_unstable();
    let mut total = 0;
    let mut reach = 0;
    for (a, b) in clipped {
        let a = a.max(reach);
        if b > a {
            total += b - a;
            reach = b;
        }
    }
    total
}

impl StatusDocument {
    /// Components outside the login path that need attention.
    pub fn background_issue_count(&self) -> usize {
        self.components
            .iter()
            .filter(|c| c.tier == Tier::Background && c.status == ComponentState::Failed)
            .count()
    }
}

/// `as_str()` and `VARIANTS` for a wire enum: the name serde writes (snake_case), for CSS classes,
/// metrics labels and the CLI without `Debug` formatting. A test checks the names against serde.
macro_rules! wire_names {
    ($($ty:ident { $($variant:ident => $name:literal),+ $(,)? })+) => {$(
        impl $ty {
            /// Every variant, in declaration order.
            pub const VARIANTS: &'static [$ty] = &[$($ty::$variant),+];

            /// The name on the wire, e.g. `not_applicable`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }
        }
    )+};
}

wire_names! {
    RollupState {
        Installing => "installing",
        ReadyToLogIn => "ready_to_log_in",
        ReadyWithBackgroundIssues => "ready_with_background_issues",
        FullyHealthy => "fully_healthy",
        FailedActionRequired => "failed_action_required",
    }
    Tier {
        Platform => "platform",
        Core => "core",
        Bootstrap => "bootstrap",
        Login => "login",
        Background => "background",
        FullHealth => "full_health",
    }
    TierHealth { Healthy => "healthy", Progressing => "progressing", Degraded => "degraded", Failed => "failed" }
    CheckState { Ok => "ok", Pending => "pending", Failed => "failed", NotApplicable => "not_applicable" }
    Severity { Critical => "critical", Background => "background", Warning => "warning" }
    Layer {
        Api => "api", Node => "node", Dns => "dns", Network => "network", Storage => "storage",
        Image => "image", Config => "config", Log => "log", Pod => "pod", Job => "job",
        Workload => "workload", Probe => "probe", Flux => "flux", Helm => "helm",
    }
    Escalation { Info => "info", Warning => "warning", Error => "error" }
    ComponentState { Ready => "ready", Progressing => "progressing", Failed => "failed", Missing => "missing" }
    OperationKind { ImagePull => "image_pull", Reconciliation => "reconciliation", Job => "job", Waiting => "waiting" }
    SourceMode { Live => "live", Scenario => "scenario" }
    WatchState { Listing => "listing", Listed => "listed", NotServed => "not_served", Forbidden => "forbidden" }
    UpdateState { InProgress => "in_progress", Blocked => "blocked", Interrupted => "interrupted", Stopped => "stopped" }
    SpanKind { ImagePull => "image_pull", Job => "job", Helm => "helm", Problem => "problem" }
    SpanState { Running => "running", Succeeded => "succeeded", Failed => "failed", Open => "open", Resolved => "resolved", Recent => "recent" }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `as_str()` is exactly what serde writes, for every variant of every wire enum.
    #[test]
    fn wire_names_match_serde() {
        fn check<T: Serialize + Copy>(variants: &[T], name: impl Fn(T) -> &'static str) {
            for v in variants {
                assert_eq!(serde_json::to_value(v).unwrap(), name(*v));
            }
        }
        check(RollupState::VARIANTS, RollupState::as_str);
        check(Tier::VARIANTS, Tier::as_str);
        check(TierHealth::VARIANTS, TierHealth::as_str);
        check(CheckState::VARIANTS, CheckState::as_str);
        check(Severity::VARIANTS, Severity::as_str);
        check(Layer::VARIANTS, Layer::as_str);
        check(Escalation::VARIANTS, Escalation::as_str);
        check(ComponentState::VARIANTS, ComponentState::as_str);
        check(OperationKind::VARIANTS, OperationKind::as_str);
        check(SourceMode::VARIANTS, SourceMode::as_str);
        check(WatchState::VARIANTS, WatchState::as_str);
        check(SpanKind::VARIANTS, SpanKind::as_str);
        check(UpdateState::VARIANTS, UpdateState::as_str);
        check(SpanState::VARIANTS, SpanState::as_str);
    }

    /// The PRD's representative document still parses (extra fields aside) and keeps its names.
    #[test]
    fn prd_field_names_and_values_round_trip() {
        let doc = StatusDocument {
            schema_version: SCHEMA_VERSION,
            site_id: "appliance-single-node".into(),
            timestamp: "2026-04-30T02:08:10Z".parse().unwrap(),
            release: Release {
                selected_release_version: Some("1.0-rc5".into()),
                app_version: Some("1.0-rc5".into()),
                channel: Some("candidate".into()),
                git_revision: Some("release/1.0-rc5@sha1:979e2079".into()),
                ..Release::default()
            },
            urls: Urls {
                status_url: Some("http://192.168.64.8:8080".into()),
                login_url: Some("http://192.168.64.8:3000".into()),
            },
            rollup: Rollup {
                state: RollupState::ReadyWithBackgroundIssues,
                message: "m".into(),
                next_action: "n".into(),
            },
            tiers: Tiers {
                platform: tier(true),
                core: tier(true),
                bootstrap: tier(true),
                login: tier(true),
                background: tier(false),
                full_health: tier(false),
            },
            top_blockers: vec![],
            unconfirmed: vec![],
            components: vec![],
            active_operations: vec![],
            recent_events: vec![],
            flux: vec![],
            bootstrap: None,
            source: Source {
                mode: SourceMode::Scenario,
                name: None,
                last_sync: None,
                stale: false,
                message: None,
                ..Source::default()
            },
            timeline: Timeline::default(),
            estimate: None,
        };
        let json = serde_json::to_value(&doc).unwrap();
        assert_eq!(json["siteId"], "appliance-single-node");
        assert_eq!(json["timestamp"], "2026-04-30T02:08:10Z");
        assert_eq!(json["release"]["selectedReleaseVersion"], "1.0-rc5");
        assert_eq!(
            json["release"]["gitRevision"],
            "release/1.0-rc5@sha1:979e2079"
        );
        assert_eq!(json["urls"]["statusUrl"], "http://192.168.64.8:8080");
        assert_eq!(json["urls"]["loginUrl"], "http://192.168.64.8:3000");
        assert_eq!(json["rollup"]["state"], "ready_with_background_issues");
        assert_eq!(json["rollup"]["nextAction"], "n");
        assert_eq!(json["tiers"]["fullHealth"]["ready"], false);
        assert_eq!(json["tiers"]["background"]["status"], "degraded");
        assert!(json["topBlockers"].is_array());
        let back: StatusDocument = serde_json::from_value(json).unwrap();
        assert_eq!(back, doc);
    }

    #[test]
    fn prd_blocker_shape() {
        let blocker = Blocker {
            id: "image/msp/workflow-worker/tag-missing".into(),
            severity: Severity::Background,
            component: "workflow-worker".into(),
            layer: Layer::Image,
            reason: "Image tag not found: ghcr.io/nine-minds/workflow-worker:61e4a00e".into(),
            next_action: "Publish the missing image tag or update the appliance release manifest."
                .into(),
            login_blocking: false,
            tier: Tier::Background,
            since: "2026-04-30T02:00:00Z".parse().unwrap(),
            escalation: Escalation::Error,
            evidence: vec![],
        };
        let json = serde_json::to_value(&blocker).unwrap();
        assert_eq!(json["severity"], "background");
        assert_eq!(json["layer"], "image");
        assert_eq!(json["loginBlocking"], false);
        assert_eq!(json["nextAction"], blocker.next_action);
    }

    /// The product requirements' representative document (their Status API section), kept
    /// verbatim in `app/fixtures/status-document.json`, is a valid document: fields it leaves out
    /// take their defaults.
    #[test]
    fn the_prd_example_document_deserializes_verbatim() {
        let json = include_str!("../fixtures/status-document.json");
        let doc: StatusDocument = serde_json::from_str(json).expect("the PRD example parses");
        assert_eq!(doc.site_id, "appliance-single-node");
        assert_eq!(doc.rollup.state, RollupState::ReadyWithBackgroundIssues);
        assert!(doc.tiers.login.ready && !doc.tiers.background.ready);
        assert_eq!(doc.tiers.background.status, TierHealth::Degraded);
        let b = &doc.top_blockers[0];
        assert_eq!(
            (b.component.as_str(), b.layer, b.severity, b.login_blocking),
            ("workflow-worker", Layer::Image, Severity::Background, false)
        );
        assert_eq!(
            doc.urls.login_url.as_deref(),
            Some("http://192.168.64.8:3000")
        );
        assert_eq!(doc.schema_version, SCHEMA_VERSION);
    }

    /// Phases are each measured as the time any of their spans ran before login, overlaps
    /// counted once; background work and problems after login do not count.
    #[test]
    fn the_login_story_measures_each_phase_up_to_login() {
        let login_at = |after_seconds| TierMoment {
            tier: Tier::Login,
            ready: true,
            at: Default::default(),
            after_seconds,
        };
        let mut t = Timeline {
            started: Some(Default::default()),
            elapsed_seconds: 3000,
            tiers: vec![],
            spans: vec![
                span(SpanKind::ImagePull, Tier::Login, (100, Some(700)), "a"),
                span(SpanKind::ImagePull, Tier::Core, (600, Some(900)), "b"),
                span(SpanKind::ImagePull, Tier::Background, (0, Some(2000)), "bg"),
                span(SpanKind::Job, Tier::Bootstrap, (900, Some(1000)), "job"),
                span(SpanKind::Problem, Tier::Core, (50, Some(400)), "short"),
                span(SpanKind::Problem, Tier::Core, (1100, None), "after login"),
                span(SpanKind::Problem, Tier::Login, (200, Some(800)), "long"),
            ],
        };
        assert_eq!(t.login_story(), None, "login not ready: no story");
        t.tiers.push(login_at(1000));
        assert_eq!(
            t.login_story().as_deref(),
            Some("login ready 16 min 40 s after the start: image pulls 13 min 20 s, database bootstrap 1 min 40 s; longest problem: c, 10 min (long)")
        );
        assert_eq!(union_within([(5, 3), (0, 10), (2, 4), (20, 30)], 25), 15);
        // 90 days in, login became ready again after a restart: no install story
        t.tiers = vec![login_at(90 * 86_400)];
        assert_eq!(t.login_story(), None);
    }

    fn tier(ready: bool) -> TierStatus {
        TierStatus {
            ready,
            status: if ready {
                TierHealth::Healthy
            } else {
                TierHealth::Degraded
            },
            checks: vec![],
        }
    }
}
