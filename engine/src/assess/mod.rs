//! The assessment engine: a pure function from (snapshot, catalog, probes, time) to the document.
//!
//! No clock, no I/O, no randomness. The flow reads one way:
//!
//! `index` (objects per component, events, the Flux `graph`) → rules, one module per layer
//! (`platform`, `pod`, `workload`, `flux`, `release`), producing [`Finding`]s → `link` (root
//! cause over symptom along the Flux graph) → `rank::escalate` (hysteresis, escalation on
//! evidence) → `tiers` (the PRD's checks, each failed only by a shown blocker) → `rank` (login
//! blocking, severity, order, rollup) → `timeline` (the history, from the objects' own times) → `estimate` (when login is expected,
//! from measured pulls and typical durations, or nothing) → `update` (an update under way, named).

mod dns;
mod estimate;
mod facts;
mod flux;
mod graph;
mod image;
mod index;
pub mod invariants;
mod link;
mod logs;
mod platform;
mod pod;
mod rank;
mod release;
mod tiers;
mod timeline;
mod update;
mod workload;

#[cfg(test)]
mod testkit;

pub use dns::{dns_failure, DnsFailure};
pub use image::{classify_pull, PullClass};
pub use rank::describe as describe_operation;
pub use timeline::measured_pull;
pub use update::release_name;

use crate::catalog::Catalog;
use crate::probes::Probes;
use crate::snapshot::{RememberedCause, Snapshot};
use app::status::*;
use jiff::{SignedDuration, Timestamp};
use std::collections::BTreeMap;

/// Age thresholds for slow-but-progressing states (signals §8).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Thresholds {
    /// A progressing state (no evidence that it stopped) becomes a warning after this long. It
    /// never becomes critical by age alone: that takes a failure signal.
    pub warn_after: SignedDuration,
    /// A blocker must hold this long before it is shown.
    pub hysteresis: SignedDuration,
    /// Assumed pull throughput, to scale the thresholds of large image pulls.
    pub pull_bytes_per_second: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            warn_after: SignedDuration::from_mins(5),
            hysteresis: SignedDuration::from_secs(30),
            pull_bytes_per_second: 2_000_000,
        }
    }
}

/// Where the snapshot came from, for the document's `source`.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceInfo {
    pub mode: SourceMode,
    pub name: Option<String>,
}

impl SourceInfo {
    /// The live cluster.
    pub fn live() -> SourceInfo {
        SourceInfo {
            mode: SourceMode::Live,
            name: None,
        }
    }

    /// A scenario, a dump or a test, by name.
    pub fn scenario(name: impl Into<String>) -> SourceInfo {
        SourceInfo {
            mode: SourceMode::Scenario,
            name: Some(name.into()),
        }
    }
}

/// Everything `assess` reads besides time.
pub struct Inputs<'a> {
    pub snapshot: &'a Snapshot,
    pub catalog: &'a Catalog,
    pub probes: &'a Probes,
    pub thresholds: &'a Thresholds,
    pub source: &'a SourceInfo,
}

/// The document plus what the caller should remember for the next assessment.
#[derive(Clone, Debug)]
pub struct Assessment {
    pub document: StatusDocument,
    /// Every blocker candidate (shown or still within hysteresis) and when it was first seen:
    /// store these in [`crate::snapshot::Memory::first_seen`].
    pub first_seen: BTreeMap<String, Timestamp>,
    /// Diagnoses to keep for blockers whose evidence may expire: store these in
    /// [`crate::snapshot::Memory::causes`].
    pub causes: BTreeMap<String, RememberedCause>,
    /// The database volume the bootstrap seeded: store in
    /// [`crate::snapshot::Memory::bootstrap_volume`].
    pub bootstrap_volume: Option<String>,
}

/// Whether a finding is a failure or something still moving.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    Failed,
    Progressing,
}

/// One cause the rules found, before ranking turns it into a [`Blocker`].
#[derive(Clone, Debug)]
pub struct Finding {
    /// Stable id: `layer/namespace/component/slug`.
    pub id: String,
    pub component: String,
    pub tier: Tier,
    pub layer: Layer,
    pub progress: Progress,
    pub reason: String,
    pub next_action: String,
    /// From the objects (event first timestamp, condition transition), when they say.
    pub since: Option<Timestamp>,
    pub evidence: Vec<Evidence>,
    /// For progressing findings with their own expectation (a large pull, a reconciliation's
    /// timeout): the age at which it becomes a warning, instead of the default threshold.
    pub warn_after: Option<SignedDuration>,
    /// Flux findings: the Flux object (`HelmRelease/ns/name`) that failed.
    pub flux: Option<String>,
    /// Flux findings: other Flux objects the message names (a Kustomization's health check
    /// `timeout waiting for: [HelmRelease/…]`); their workloads may explain this one too.
    pub waits_on: Vec<String>,
    /// Remember this diagnosis: the evidence for it may expire while the state persists.
    pub remember_cause: bool,
    /// A plain wait (workload not ready) that earlier tiers on the login path explain while they
    /// are not ready.
    pub waits_for_earlier_tiers: bool,
    /// The rule's short name, e.g. `tag-missing`, `subpath`, `secret-missing`.
    pub slug: String,
}

impl Finding {
    /// A finding with the common fields; evidence and times are added by the rule.
    #[allow(clippy::too_many_arguments)] // each is a distinct, required part of every finding
    pub fn new(
        component: &str,
        tier: Tier,
        layer: Layer,
        progress: Progress,
        slug: &str,
        namespace: &str,
        reason: String,
        next_action: impl Into<String>,
    ) -> Finding {
        Finding {
            id: format!("{}/{}/{}/{}", layer_slug(layer), namespace, component, slug),
            component: component.to_string(),
            tier,
            layer,
            progress,
            reason,
            next_action: next_action.into(),
            since: None,
            evidence: Vec::new(),
            warn_after: None,
            flux: None,
            waits_on: Vec::new(),
            remember_cause: false,
            waits_for_earlier_tiers: false,
            slug: slug.to_string(),
        }
    }

    /// Keeps the earliest known start.
    pub fn seen_at(mut self, at: Option<Timestamp>) -> Finding {
        self.since = match (self.since, at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self
    }

    /// Adds one piece of evidence.
    pub fn with(mut self, evidence: Evidence) -> Finding {
        self.evidence.push(evidence);
        self
    }

    /// Adds log lines of `source` (`pod/container` or a Job) as evidence.
    pub fn with_log_lines<'l>(
        mut self,
        namespace: &str,
        source: &str,
        lines: impl IntoIterator<Item = &'l String>,
    ) -> Finding {
        for line in lines {
            self.evidence
                .push(evidence("log", Some(namespace), source, None, line, None));
        }
        self
    }
}

/// The lowercase name of a layer, as in the JSON.
pub fn layer_slug(layer: Layer) -> String {
    serde_json::to_value(layer)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Builds evidence from an object and its message.
pub fn evidence(
    kind: &str,
    namespace: Option<&str>,
    name: &str,
    reason: Option<&str>,
    message: &str,
    timestamp: Option<Timestamp>,
) -> Evidence {
    Evidence {
        kind: kind.to_string(),
        namespace: namespace.filter(|n| !n.is_empty()).map(str::to_string),
        name: name.to_string(),
        reason: reason.filter(|r| !r.is_empty()).map(str::to_string),
        message: message.to_string(),
        timestamp,
    }
}

/// Turns a snapshot into the status document. Pure: same inputs, same document.
pub fn assess(inputs: &Inputs<'_>, now: Timestamp) -> Assessment {
    let index = index::Index::build(inputs.snapshot, inputs.catalog);
    let mut findings = Vec::new();
    let mut operations = Vec::new();

    platform::findings(inputs, &index, now, &mut findings);
    for view in &index.components {
        pod::findings(inputs, &index, view, now, &mut findings, &mut operations);
        workload::findings(&index, view, &mut findings, &mut operations);
    }
    flux::findings(&index, now, &mut findings, &mut operations);
    release::findings(inputs, &index, &mut findings);
    for op in &mut operations {
        op.elapsed_seconds = now.duration_since(op.started).as_secs().max(0) as u64;
    }

    let findings = link::link(findings, &index);
    let causes = findings
        .iter()
        .filter_map(|f| {
            let cause = if f.remember_cause {
                RememberedCause {
                    slug: f.slug.clone(),
                    layer: f.layer,
                    reason: f.reason.clone(),
                    next_action: f.next_action.clone(),
                }
            } else {
                inputs.snapshot.memory.causes.get(&f.id)?.clone()
            };
            Some((f.id.clone(), cause))
        })
        .collect();
    let escalated = rank::escalate(findings, &inputs.snapshot.memory, inputs.thresholds, now);
    let mut first_seen = escalated.first_seen;
    let unconfirmed = rank::unconfirmed(escalated.unconfirmed);
    let (tiers, shown, waiting) = tiers::evaluate(inputs, &index, escalated.candidates, now);
    // A wait on an earlier tier that is not ready is not shown, and its clock has not started.
    first_seen.retain(|id, _| !waiting.contains(id));
    let blockers = rank::blockers(shown, &tiers);
    let components = index.component_statuses(&blockers);
    let bootstrap = index.bootstrap_summary(&tiers);
    let bootstrap_volume = index.bootstrap_volume();
    operations.sort_by_key(|op| std::cmp::Reverse(op.elapsed_seconds));
    let rollup = rank::rollup(&tiers, &blockers, &operations, &index);
    let timeline = timeline::timeline(&index, &tiers, &blockers, &operations, now);
    let estimate = estimate::estimate(
        &index,
        &tiers,
        rollup.state,
        &timeline,
        &operations,
        &unconfirmed,
        now,
    );
    let release_update = update::update(&index, &tiers, &blockers, &operations);

    let document = StatusDocument {
        schema_version: SCHEMA_VERSION,
        site_id: inputs.catalog.site.site_id.clone(),
        timestamp: now,
        release: app::status::Release {
            image_check: inputs.snapshot.release_check.note.clone(),
            images: inputs
                .snapshot
                .release_check
                .images
                .iter()
                .map(|i| app::status::ReleaseImageStatus {
                    reference: i.reference.clone(),
                    component: i.component.clone(),
                    outcome: i.last.name().to_string(),
                    detail: i.last.describe(),
                    checked_at: i.checked_at,
                })
                .collect(),
            update: release_update,
            ..index.release()
        },
        urls: Urls {
            status_url: index.status_url.clone(),
            login_url: index.login_url.clone(),
        },
        rollup,
        tiers,
        top_blockers: blockers,
        unconfirmed,
        components,
        active_operations: operations,
        recent_events: index.recent_events(),
        flux: flux::statuses(&index),
        bootstrap,
        source: source(inputs, now),
        timeline,
        estimate,
    };
    Assessment {
        document,
        first_seen,
        causes,
        bootstrap_volume,
    }
}

fn source(inputs: &Inputs<'_>, now: Timestamp) -> Source {
    let api = &inputs.snapshot.api;
    let stale = api.unreachable_since.is_some();
    let message = api.unreachable_since.map(|since| {
        let age = now.duration_since(since).as_secs().max(0) as u64;
        format!(
            "The Kubernetes API has been unreachable since {since} ({}); showing the last known state.",
            app::format::duration(age)
        )
    });
    Source {
        mode: inputs.source.mode,
        name: inputs.source.name.clone(),
        last_sync: api.last_sync,
        stale,
        message,
        watches: api
            .watches
            .iter()
            .map(|(kind, state)| app::status::WatchStatus {
                kind: kind.clone(),
                state: *state,
                objects: inputs
                    .snapshot
                    .count_of(kind)
                    .map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
            })
            .collect(),
        probes: inputs.probes.results(),
    }
}

#[cfg(test)]
mod tests;
