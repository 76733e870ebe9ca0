//! The snapshot: what the engine knows about the cluster at one moment. The collector fills it from
//! reflectors, the scenario player from files; the engine only reads it.
//!
//! Objects are pruned before they are stored (managed fields, last-applied annotations, oversized
//! messages), so a snapshot stays small however chatty the cluster is.

use crate::event::EventRecord;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, ObjectMeta};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use crate::event::{bound_message, MAX_MESSAGE_BYTES};

/// Objects of one kind, keyed by (namespace, name).
pub type Objects<T> = BTreeMap<(String, String), T>;

macro_rules! snapshot {
    ($(($v:ident, $t:ty, $kind:literal, $group:literal, $ns:literal, $field:ident, $watch:ident, $prune:expr)),* $(,)?) => {
        /// Everything the engine reads: the typed kinds of the table (`crate::kinds`), by
        /// (namespace, name), and beside them what is kept differently.
        #[derive(Clone, Debug, Default)]
        pub struct Snapshot {
            $(pub $field: Objects<$t>,)*
            pub events: Objects<EventRecord>,
            /// Secret names only: the service never reads secret data.
            pub secret_names: Objects<()>,
            /// Flux objects by (kind, namespace, name): a Kustomization and a GitRepository share
            /// names.
            pub flux: BTreeMap<(FluxKind, String, String), FluxObject>,
            /// Bounded log tails of crash-looping or failed pods.
            pub logs: Vec<LogExcerpt>,
            /// The registry check of the selected release's images (live, unless turned off).
            pub release_check: crate::images::ReleaseCheck,
            /// Facts remembered across changes (completed Jobs, first-seen times).
            pub memory: Memory,
            /// Whether the Kubernetes API answers.
            pub api: ApiHealth,
        }
    };
}
crate::typed_kinds!(snapshot);

/// Facts the engine needs that the cluster forgets.
#[derive(Clone, Debug, Default)]
pub struct Memory {
    /// Jobs seen complete, by (namespace, name), with when: a Job deleted by its
    /// `ttlSecondsAfterFinished` still counts as done.
    pub completed_jobs: BTreeMap<(String, String), Timestamp>,
    /// When those Jobs started (`status.startTime`), for the timeline once the Job is gone.
    pub job_starts: BTreeMap<(String, String), Timestamp>,
    /// When each blocker candidate was first seen, by blocker id (for hysteresis and `since`).
    pub first_seen: BTreeMap<String, Timestamp>,
    /// The last specific diagnosis of a blocker whose revealing event may expire, by blocker id.
    pub causes: BTreeMap<String, RememberedCause>,
    /// The database volume (its uid, else its creation time) the remembered bootstrap seeded: a
    /// volume of another identity means the data was reset and the bootstrap must run again.
    pub bootstrap_volume: Option<String>,
}

/// A diagnosis kept while its state persists.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RememberedCause {
    pub slug: String,
    pub layer: app::status::Layer,
    pub reason: String,
    pub next_action: String,
}

/// Reachability of the Kubernetes API, as the collector sees it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ApiHealth {
    /// Set while the API cannot be reached.
    pub unreachable_since: Option<Timestamp>,
    pub last_error: Option<String>,
    /// When the caches were last complete and current.
    pub last_sync: Option<Timestamp>,
    /// Kinds the service account may not watch, with the API's message.
    pub forbidden: BTreeMap<String, String>,
    /// Every watch the collector started, and where it stands (live only).
    pub watches: BTreeMap<String, app::status::WatchState>,
}

/// A bounded tail of one container's log.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LogExcerpt {
    pub namespace: String,
    pub pod: String,
    pub container: Option<String>,
    pub lines: Vec<String>,
}

impl LogExcerpt {
    /// Bytes it holds, roughly: its text and a word per line.
    pub fn footprint(&self) -> usize {
        self.namespace.len()
            + self.pod.len()
            + self.container.as_ref().map_or(0, String::len)
            + self.lines.iter().map(|l| l.len() + 24).sum::<usize>()
    }
}

/// The Flux kinds the engine understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FluxKind {
    GitRepository,
    OCIRepository,
    HelmRepository,
    HelmChart,
    Kustomization,
    HelmRelease,
}

impl FluxKind {
    /// Parses the kind name.
    pub fn from_kind(kind: &str) -> Option<FluxKind> {
        Some(match kind {
            "GitRepository" => FluxKind::GitRepository,
            "OCIRepository" => FluxKind::OCIRepository,
            "HelmRepository" => FluxKind::HelmRepository,
            "HelmChart" => FluxKind::HelmChart,
            "Kustomization" => FluxKind::Kustomization,
            "HelmRelease" => FluxKind::HelmRelease,
            _ => return None,
        })
    }

    /// The `apiVersion` of the served version this service reads (the CRDs: testing/crds/build.sh).
    pub fn api_version(self) -> &'static str {
        match self {
            FluxKind::GitRepository
            | FluxKind::OCIRepository
            | FluxKind::HelmRepository
            | FluxKind::HelmChart => "source.toolkit.fluxcd.io/v1",
            FluxKind::Kustomization => "kustomize.toolkit.fluxcd.io/v1",
            FluxKind::HelmRelease => "helm.toolkit.fluxcd.io/v2",
        }
    }

    /// The kind's name.
    pub fn as_str(self) -> &'static str {
        match self {
            FluxKind::GitRepository => "GitRepository",
            FluxKind::OCIRepository => "OCIRepository",
            FluxKind::HelmRepository => "HelmRepository",
            FluxKind::HelmChart => "HelmChart",
            FluxKind::Kustomization => "Kustomization",
            FluxKind::HelmRelease => "HelmRelease",
        }
    }
}

/// The parts of a Flux object the engine reads: identity, a few spec fields, status.
#[derive(Clone, Debug, PartialEq)]
pub struct FluxObject {
    pub kind: FluxKind,
    pub namespace: String,
    pub name: String,
    pub generation: Option<i64>,
    /// `metadata.labels`: the Kustomization that applied this object
    /// (`kustomize.toolkit.fluxcd.io/name|namespace`).
    pub labels: BTreeMap<String, String>,
    /// `spec.timeout` as written (`30m`, `30m0s`), when set.
    pub timeout: Option<String>,
    /// `spec.suspend`.
    pub suspended: bool,
    /// HelmRelease: `spec.targetNamespace`.
    pub target_namespace: Option<String>,
    /// HelmRelease: `spec.releaseName`.
    pub release_name: Option<String>,
    pub depends_on: Vec<String>,
    pub conditions: Vec<Condition>,
    pub observed_generation: Option<i64>,
    /// Sources: `status.artifact.revision`; others: `status.lastAppliedRevision`.
    pub revision: Option<String>,
    /// Kustomizations and HelmReleases: `status.lastAttemptedRevision`, the revision being
    /// applied (ahead of `revision` while an update is under way or stuck).
    pub attempted_revision: Option<String>,
    /// Kustomizations and HelmReleases: `status.lastAppliedRevision` alone (`revision` falls
    /// back to the attempted one): set once a revision was applied whole.
    pub applied_revision: Option<String>,
    /// HelmRelease: what helm-controller does after a failed install or upgrade.
    pub helm_retry: Option<HelmRetry>,
    /// `metadata.creationTimestamp`.
    pub created: Option<Timestamp>,
    /// HelmRelease: when Helm began the newest release in `status.history` (its `lastDeployed`:
    /// Helm stamps it as the install or upgrade starts).
    pub last_deployed: Option<Timestamp>,
}

/// A HelmRelease's retry budget for its last attempted action, as its spec and status say
/// (fluxcd/helm-controller `api/v2/helmrelease_types.go`: `GetActiveRetry`,
/// `InstallRemediation.RetriesExhausted`, `InstallStrategy.GetRetryInterval`); read by
/// `assess::flux`.
#[derive(Clone, Debug, PartialEq)]
pub struct HelmRetry {
    /// `status.lastAttemptedReleaseAction`: `install` or `upgrade`.
    pub action: String,
    /// `status.installFailures` or `status.upgradeFailures`, for that action.
    pub failures: i64,
    /// `spec.<action>.remediation.retries`: 0 when unset, negative for without end.
    pub retries: i64,
    /// `spec.<action>.strategy.name: RetryOnFailure`: `Some(strategy.retryInterval as written)`
    /// (`Some(None)`: 5 minutes, the default). `None` for remediation, which retries at once
    /// after removing the failed release.
    pub retry_on_failure: Option<Option<String>>,
}

impl FluxObject {
    /// The condition of the given type.
    pub fn condition(&self, type_: &str) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.type_ == type_)
    }
}

/// A node's `InternalIP` address, the one the appliance's URLs use.
pub fn internal_ip(node: &Node) -> Option<String> {
    node.status
        .as_ref()?
        .addresses
        .as_ref()?
        .iter()
        .find(|a| a.type_ == "InternalIP")
        .map(|a| a.address.clone())
}

/// The key of a namespaced object.
pub fn key(meta: &ObjectMeta) -> (String, String) {
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

impl Snapshot {
    /// The Flux object of a kind, if present.
    pub fn flux_object(&self, kind: FluxKind, namespace: &str, name: &str) -> Option<&FluxObject> {
        self.flux
            .get(&(kind, namespace.to_string(), name.to_string()))
    }

    /// Records facts that must outlive the objects: completed Jobs. Call after every change.
    pub fn remember(&mut self) {
        for (key, job) in &self.jobs {
            let done = job.status.as_ref().and_then(|s| {
                let complete = s.conditions.as_ref().and_then(|cs| {
                    cs.iter()
                        .find(|c| c.type_ == "Complete" && c.status == "True")
                });
                match complete {
                    Some(c) => Some(
                        c.last_transition_time
                            .as_ref()
                            .map(|t| t.0)
                            .or(s.completion_time.as_ref().map(|t| t.0)),
                    ),
                    None if s.succeeded.unwrap_or(0) > 0 => {
                        Some(s.completion_time.as_ref().map(|t| t.0))
                    }
                    None => None,
                }
            });
            if let Some(at) = done {
                let at = at.unwrap_or_else(|| {
                    job.metadata
                        .creation_timestamp
                        .as_ref()
                        .map(|t| t.0)
                        .unwrap_or_default()
                });
                self.memory.completed_jobs.entry(key.clone()).or_insert(at);
                if let Some(start) = job.status.as_ref().and_then(|s| s.start_time.as_ref()) {
                    self.memory.job_starts.entry(key.clone()).or_insert(start.0);
                }
            }
        }
    }
}
