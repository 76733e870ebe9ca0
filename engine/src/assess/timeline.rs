//! The timeline: the bootstrap's history, from the times the cluster itself wrote.
//!
//! Read after the tiers and the blockers are decided, and nothing reads it back. Every moment
//! comes from an object: a condition's `lastTransitionTime`, a Job's `startTime` and
//! `completionTime`, a HelmRelease's newest `status.history[].lastDeployed`, an event's first and
//! last time, the kubelet's measured pull (`Successfully pulled image "…" in 16m3.2s (16m3.2s
//! including waiting). Image size: 1843201234 bytes.`, kubernetes `pkg/kubelet/images/
//! image_manager.go`). A service restarted mid-install, and `assess` on its support bundle, draw
//! the same picture; what the cluster forgot (expired events) is gone from both.

use super::facts::{flux_state, go_duration, job_complete, job_failed, pod_ready};
use super::graph::flux_key;
use super::image::image_in_message;
use super::index::{component_ready, ComponentView, Index};
use crate::catalog::ComponentKind;
use crate::snapshot::FluxKind;
use app::status::*;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use std::collections::BTreeMap;

/// Problems the timeline keeps from events, the longest first: an appliance has a handful; a
/// cluster inventing warnings must not grow the document.
const MAX_WARNING_SPANS: usize = 24;

/// The timeline of the assessed snapshot.
pub fn timeline(
    index: &Index<'_>,
    tiers: &Tiers,
    blockers: &[Blocker],
    operations: &[Operation],
    now: Timestamp,
) -> Timeline {
    let mut raw = Vec::new();
    pulls(index, operations, &mut raw);
    jobs(index, &mut raw);
    helm(index, &mut raw);
    problems(index, blockers, now, &mut raw);
    // What the timeline shows begins with it: an image pulled before Flux's first object existed
    // belongs to the install too.
    let earliest = raw.iter().map(|r| r.start.min(now)).min();
    let Some(started) = start(index).into_iter().chain(earliest).min() else {
        return Timeline::default();
    };
    // Whole seconds, rounded: a pull of 16m3.2s that began at .8 of a second spans 963 of them.
    let after = |at: Timestamp| -> u64 {
        let ms = at.duration_since(started).as_millis().max(0) as u64;
        ms / 1000 + u64::from(ms % 1000 >= 500)
    };
    let mut spans: Vec<Span> = raw
        .into_iter()
        .map(|r| {
            // An operation over whose end the cluster says nothing is shown as a moment.
            let end = match r.state {
                SpanState::Running | SpanState::Open => r.end,
                _ => Some(r.end.unwrap_or(r.start)),
            };
            let start = r.start.min(now);
            let end = end.map(|e| e.max(start).min(now));
            Span {
                kind: r.kind,
                component: r.component,
                tier: r.tier,
                label: r.label,
                state: r.state,
                start,
                end,
                start_seconds: after(start),
                end_seconds: end.map(after),
                detail: r.detail,
                size_bytes: r.size_bytes,
            }
        })
        .collect();
    spans.sort_by(|a, b| (a.start, a.kind, &a.label).cmp(&(b.start, b.kind, &b.label)));
    Timeline {
        started: Some(started),
        elapsed_seconds: after(now),
        tiers: tier_moments(index, tiers, blockers, now)
            .into_iter()
            .map(|(tier, ready, at)| TierMoment {
                tier,
                ready,
                at,
                after_seconds: after(at),
            })
            .collect(),
        spans,
    }
}

/// When the install began, as the objects say: the first Flux object's creation (Flux is what
/// installs the appliance), else the node's registration (the timeline then begins with what it
/// shows, if earlier).
fn start(index: &Index<'_>) -> Option<Timestamp> {
    let flux = index.snapshot.flux.values().filter_map(|f| f.created).min();
    flux.or_else(|| {
        index
            .snapshot
            .nodes
            .values()
            .filter_map(|n| created(&n.metadata))
            .min()
    })
}

fn created(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> Option<Timestamp> {
    meta.creation_timestamp.as_ref().map(|t| t.0)
}

/// A span before it is placed on the time axis.
struct Raw {
    kind: SpanKind,
    component: Option<String>,
    tier: Option<Tier>,
    label: String,
    state: SpanState,
    start: Timestamp,
    end: Option<Timestamp>,
    detail: String,
    size_bytes: Option<u64>,
}

impl Raw {
    fn new(kind: SpanKind, v: Option<&ComponentView<'_>>, label: String, start: Timestamp) -> Raw {
        Raw {
            kind,
            component: v.map(|v| v.component.name.clone()),
            tier: v.map(|v| v.component.tier),
            label,
            state: SpanState::Running,
            start,
            end: None,
            detail: String::new(),
            size_bytes: None,
        }
    }
}

/// A finished pull, as the kubelet's `Pulled` event measured it: (image, took, size).
pub fn measured_pull(message: &str) -> Option<(&str, jiff::SignedDuration, Option<u64>)> {
    let rest = message.strip_prefix("Successfully pulled image ")?;
    let image = image_in_message(message)?;
    let took = rest.split(" in ").nth(1)?.split_whitespace().next()?;
    let took = go_duration(took)?;
    let size = message
        .split("Image size: ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok());
    Some((image, took, size))
}

/// One span per image: the pull the kubelet measured (the longest, when several pods pulled it),
/// else the one going on now.
fn pulls(index: &Index<'_>, operations: &[Operation], out: &mut Vec<Raw>) {
    let mut by_image: BTreeMap<String, Raw> = BTreeMap::new();
    for v in &index.components {
        for pod in &v.pods {
            let ns = pod.metadata.namespace.as_deref().unwrap_or("");
            let name = pod.metadata.name.as_deref().unwrap_or("");
            for e in index.events_for("Pod", ns, name) {
                if e.reason() != Some("Pulled") {
                    continue;
                }
                let (Some((image, took, size)), Some(end)) =
                    (measured_pull(&e.message), e.last_time())
                else {
                    continue;
                };
                let Ok(start) = end.checked_sub(took) else {
                    continue;
                };
                let longer = by_image
                    .get(image)
                    .is_none_or(|r| r.end.is_some_and(|old| old.duration_since(r.start) < took));
                if longer {
                    let mut r = Raw::new(SpanKind::ImagePull, Some(v), image.to_string(), start);
                    r.state = SpanState::Succeeded;
                    r.end = Some(end);
                    r.size_bytes = size;
                    r.detail = match size {
                        Some(s) => format!(
                            "pulled {} in {}",
                            app::format::bytes(s),
                            app::format::duration(took.as_secs().max(0) as u64)
                        ),
                        None => format!(
                            "pulled in {}",
                            app::format::duration(took.as_secs().max(0) as u64)
                        ),
                    };
                    by_image.insert(image.to_string(), r);
                }
            }
        }
    }
    for op in operations
        .iter()
        .filter(|o| o.kind == OperationKind::ImagePull)
    {
        let v = op.component.as_deref().and_then(|c| index.view(c));
        let mut r = Raw::new(SpanKind::ImagePull, v, op.target.clone(), op.started);
        r.size_bytes = op.size_bytes;
        r.detail = op.message.clone();
        by_image.insert(op.target.clone(), r);
    }
    out.extend(by_image.into_values());
}

/// Each Job of a catalog component from its start to its completion or failure; a completed Job
/// deleted since (its `ttlSecondsAfterFinished`) as remembered.
fn jobs(index: &Index<'_>, out: &mut Vec<Raw>) {
    for v in &index.components {
        let mut seen = Vec::new();
        for job in &v.jobs {
            let name = job.metadata.name.clone().unwrap_or_default();
            let ns = job.metadata.namespace.clone().unwrap_or_default();
            let status = job.status.as_ref();
            let Some(start) = status
                .and_then(|s| s.start_time.as_ref())
                .map(|t| t.0)
                .or_else(|| created(&job.metadata))
            else {
                continue;
            };
            let mut r = Raw::new(SpanKind::Job, Some(v), format!("Job {name}"), start);
            let condition_time = |type_: &str| {
                status
                    .and_then(|s| s.conditions.as_ref())
                    .and_then(|cs| cs.iter().find(|c| c.type_ == type_ && c.status == "True"))
                    .and_then(|c| c.last_transition_time.as_ref())
                    .map(|t| t.0)
            };
            if job_complete(job) {
                r.state = SpanState::Succeeded;
                r.end = status
                    .and_then(|s| s.completion_time.as_ref())
                    .map(|t| t.0)
                    .or_else(|| condition_time("Complete"));
                r.detail = "completed".into();
            } else if job_failed(job) {
                r.state = SpanState::Failed;
                r.end = condition_time("Failed");
                r.detail = "failed".into();
            } else {
                r.detail = "running".into();
            }
            seen.push((ns, name));
            out.push(r);
        }
        let memory = &index.snapshot.memory;
        for (key, at) in &memory.completed_jobs {
            let owned = key.0 == v.namespace && v.component.owns_workload(&key.1);
            let prefixed = v
                .component
                .workload_prefix
                .as_deref()
                .is_some_and(|p| key.0 == v.namespace && key.1.starts_with(p));
            if seen.contains(key) || !(owned || prefixed) {
                continue;
            }
            let start = memory.job_starts.get(key).copied().unwrap_or(*at);
            let mut r = Raw::new(SpanKind::Job, Some(v), format!("Job {}", key.1), start);
            r.state = SpanState::Succeeded;
            r.end = Some(*at);
            r.detail = "completed (the Job is deleted since)".into();
            out.push(r);
        }
    }
}

/// Each HelmRelease's current action: from when Helm began it (`history[].lastDeployed`, else the
/// HelmRelease's creation) to its `Ready` transition once it succeeded or failed.
fn helm(index: &Index<'_>, out: &mut Vec<Raw>) {
    for f in index.snapshot.flux.values() {
        if f.kind != FluxKind::HelmRelease {
            continue;
        }
        let Some(start) = f.last_deployed.or(f.created) else {
            continue;
        };
        let node = index.graph.node(&flux_key(f.kind, &f.namespace, &f.name));
        let component = node
            .and_then(|n| n.components.iter().next())
            .and_then(|c| index.view(c));
        let mut r = Raw::new(
            SpanKind::Helm,
            component,
            format!("HelmRelease {}", f.name),
            start,
        );
        r.component = Some(f.name.clone());
        r.tier = node.map(|n| n.tier).or(r.tier);
        let ready = f.condition("Ready");
        let state = flux_state(f);
        let at = ready.map(|c| c.last_transition_time.0);
        if state.is_ready() {
            r.state = SpanState::Succeeded;
            r.end = at.filter(|t| *t >= start);
        } else if state.is_failed() {
            r.state = SpanState::Failed;
            r.end = at.filter(|t| *t >= start);
        }
        r.detail = ready
            .map(|c| c.reason.clone())
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| "waiting".into());
        // A `Ready` transition older than the action (a rollback after it): the outcome stands,
        // its moment is unknown, and the span is drawn as the action's start.
        out.push(r);
    }
}

/// Problems: each blocker standing now, from its `since`; and the warnings the cluster still
/// holds, one span per component and reason from the first to the last time (recent if the
/// last is within five minutes, else resolved), unless a blocker of
/// that component stands over them.
fn problems(index: &Index<'_>, blockers: &[Blocker], now: Timestamp, out: &mut Vec<Raw>) {
    for b in blockers {
        let v = index.view(&b.component);
        let mut r = Raw::new(SpanKind::Problem, v, short(&b.reason), b.since);
        r.component = Some(b.component.clone());
        r.tier = Some(b.tier);
        r.state = SpanState::Open;
        r.detail = b.reason.clone();
        out.push(r);
    }
    let owners = owners(index);
    let mut groups: BTreeMap<(String, String), Raw> = BTreeMap::new();
    for e in index.snapshot.events.values().filter(|e| e.is_warning()) {
        let o = &e.object;
        let Some(&(component, tier)) = owners.get(&(&*o.kind, &*o.namespace, &*o.name)) else {
            continue;
        };
        let (Some(first), Some(last)) = (e.first_time(), e.last_time()) else {
            continue;
        };
        let reason = e.reason().unwrap_or("Warning").to_string();
        let r = groups
            .entry((component.to_string(), reason.clone()))
            .or_insert_with(|| {
                let mut r = Raw::new(
                    SpanKind::Problem,
                    None,
                    format!("{}: {reason}", o.name),
                    first,
                );
                r.component = Some(component.to_string());
                r.tier = Some(tier);
                r.state = SpanState::Resolved;
                r.end = Some(last);
                r.detail = e.message.to_string();
                r
            });
        if last >= r.end.unwrap_or(last) {
            r.detail = e.message.to_string();
        }
        r.start = r.start.min(first);
        r.end = r.end.map(|end| end.max(last));
    }
    let mut warnings: Vec<Raw> = groups
        .into_values()
        .filter(|w| {
            !blockers.iter().any(|b| {
                Some(&b.component) == w.component.as_ref()
                    && w.end.is_some_and(|end| end >= b.since)
            })
        })
        .collect();
    for w in &mut warnings {
        if w.end
            .is_some_and(|end| now.duration_since(end) < jiff::SignedDuration::from_mins(5))
        {
            w.state = SpanState::Recent;
        }
    }
    warnings.sort_by_key(|w| std::cmp::Reverse(w.end.map(|e| e.duration_since(w.start))));
    warnings.truncate(MAX_WARNING_SPANS);
    out.extend(warnings);
}

/// A blocker's reason cut to a label.
fn short(reason: &str) -> String {
    const MAX: usize = 80;
    match reason.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &reason[..at]),
        None => reason.to_string(),
    }
}

/// Which component (and tier) each object belongs to, by (kind, namespace, name).
fn owners<'a>(index: &'a Index<'a>) -> BTreeMap<(&'a str, &'a str, &'a str), (&'a str, Tier)> {
    let mut owners = BTreeMap::new();
    for v in &index.components {
        let c = (v.component.name.as_str(), v.component.tier);
        let metas = v
            .pods
            .iter()
            .map(|p| ("Pod", &p.metadata))
            .chain(v.deployments.iter().map(|d| ("Deployment", &d.metadata)))
            .chain(v.stateful_sets.iter().map(|s| ("StatefulSet", &s.metadata)))
            .chain(v.daemon_sets.iter().map(|d| ("DaemonSet", &d.metadata)))
            .chain(v.jobs.iter().map(|j| ("Job", &j.metadata)));
        for (kind, meta) in metas {
            if let (Some(ns), Some(name)) = (meta.namespace.as_deref(), meta.name.as_deref()) {
                owners.insert((kind, ns, name), c);
            }
        }
        for (name, _) in &v.pvcs {
            owners.insert(("PersistentVolumeClaim", v.namespace, *name), c);
        }
        for f in v.flux.iter().filter_map(|(_, f)| *f).chain(v.helm_release) {
            owners.insert((f.kind.as_str(), f.namespace.as_str(), f.name.as_str()), c);
        }
    }
    owners
}

/// Each tier ready or failed now, with when it became so. Tiers build on each other, so a tier
/// is ready from the moment the last of its components and of earlier tiers' became ready; a
/// failed tier failed when the earliest of the blockers failing it began.
fn tier_moments(
    index: &Index<'_>,
    tiers: &Tiers,
    blockers: &[Blocker],
    now: Timestamp,
) -> Vec<(Tier, bool, Timestamp)> {
    let mut moments = Vec::new();
    for tier in Tier::ALL {
        let status = tiers.get(tier);
        if status.ready {
            let ready_at = index
                .components
                .iter()
                .filter(|v| v.component.tier <= tier)
                .filter_map(|v| ready_since(index, v, tier))
                .max();
            if let Some(at) = ready_at {
                moments.push((tier, true, at.min(now)));
            }
        } else if status.status == TierHealth::Failed {
            let failing: Vec<&str> = status
                .checks
                .iter()
                .filter(|c| c.state == CheckState::Failed)
                .flat_map(|c| c.blockers.iter().map(String::as_str))
                .collect();
            let since = blockers
                .iter()
                .filter(|b| failing.contains(&b.id.as_str()))
                .map(|b| b.since)
                .min();
            if let Some(at) = since {
                moments.push((tier, false, at.min(now)));
            }
        }
    }
    moments
}

/// When a ready component last became ready, from its objects: the pods' and Deployments'
/// readiness transitions, a Job's completion, a Flux object's `Ready` transition, the node's.
/// A Flux component counts only its objects gating `tier` or an earlier one (the catalog gives
/// each Kustomization its tier). `None` when it is not ready, or nothing says when.
fn ready_since(index: &Index<'_>, v: &ComponentView<'_>, tier: Tier) -> Option<Timestamp> {
    let flux: Vec<_> = v
        .flux
        .iter()
        .filter(|(w, _)| w.tier.unwrap_or(v.component.tier) <= tier)
        .map(|(_, f)| *f)
        .collect();
    let ready = match v.component.kind {
        ComponentKind::GitRepository
        | ComponentKind::OCIRepository
        | ComponentKind::Kustomization => flux
            .iter()
            .all(|f| f.is_some_and(|f| flux_state(f).is_ready())),
        _ => component_ready(index, v),
    };
    if !ready {
        return None;
    }
    let mut moments: Vec<Timestamp> = Vec::new();
    match v.component.kind {
        ComponentKind::Node => moments.extend(index.snapshot.nodes.values().filter_map(|n| {
            let cs = n.status.as_ref()?.conditions.as_ref()?;
            true_since(
                cs.iter()
                    .map(|c| (&c.type_, &c.status, &c.last_transition_time)),
                "Ready",
            )
        })),
        ComponentKind::Job => moments.extend(v.job_completed_at),
        _ => {}
    }
    for d in &v.deployments {
        let cs = d.status.as_ref().and_then(|s| s.conditions.as_ref());
        let cs = cs.into_iter().flatten();
        moments.extend(true_since(
            cs.map(|c| (&c.type_, &c.status, &c.last_transition_time)),
            "Available",
        ));
    }
    if v.component.kind != ComponentKind::Job {
        for p in v.pods.iter().filter(|p| pod_ready(p)) {
            let cs = p.status.as_ref().and_then(|s| s.conditions.as_ref());
            let cs = cs.into_iter().flatten();
            moments.extend(true_since(
                cs.map(|c| (&c.type_, &c.status, &c.last_transition_time)),
                "Ready",
            ));
        }
    }
    for f in flux.into_iter().flatten().chain(v.helm_release) {
        if flux_state(f).is_ready() {
            moments.extend(f.condition("Ready").map(|c| c.last_transition_time.0));
        }
    }
    moments
        .into_iter()
        .filter(|t| *t > Timestamp::UNIX_EPOCH)
        .max()
}

/// When a condition of `type_` turned `True`, of (type, status, lastTransitionTime) triples.
fn true_since<'c>(
    conditions: impl Iterator<Item = (&'c String, &'c String, &'c Option<Time>)>,
    type_: &str,
) -> Option<Timestamp> {
    conditions
        .filter(|(t, s, _)| *t == type_ && *s == "True")
        .filter_map(|(_, _, at)| at.as_ref().map(|t| t.0))
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kubelets_measured_pull_is_read() {
        let (image, took, size) = measured_pull(
            r#"Successfully pulled image "ghcr.io/nine-minds/alga-psa-ee:1.0-rc5" in 16m3.2s (16m3.2s including waiting). Image size: 1843201234 bytes."#,
        )
        .unwrap();
        assert_eq!(image, "ghcr.io/nine-minds/alga-psa-ee:1.0-rc5");
        assert_eq!(took.as_millis(), 963_200);
        assert_eq!(size, Some(1_843_201_234));
        // Before Kubernetes 1.30 the kubelet said no size.
        let (_, took, size) = measured_pull(
            r#"Successfully pulled image "redis:7" in 523ms (1.2s including waiting)"#,
        )
        .unwrap();
        assert_eq!((took.as_millis(), size), (523, None));
        assert!(measured_pull(r#"Pulling image "redis:7""#).is_none());
        assert!(measured_pull(r#"Successfully pulled image "redis:7" in forever"#).is_none());
    }
}

#[cfg(test)]
mod observed {
    use super::super::testkit::*;

    fn at(minutes: i64) -> StatusDocument {
        let mut r = replay_to(mins(minutes));
        let start = r.scenario.start;
        assess_twice(
            &mut r.snapshot,
            &r.probes,
            start + mins(minutes),
            start + mins(minutes) + SignedDuration::from_secs(90),
        )
    }

    fn span<'d>(doc: &'d StatusDocument, kind: SpanKind, label: &str) -> &'d Span {
        doc.timeline
            .spans
            .iter()
            .find(|s| s.kind == kind && s.label.contains(label))
            .unwrap_or_else(|| panic!("no {kind:?} span {label}: {:#?}", doc.timeline.spans))
    }

    /// Warnings the cluster still holds: resolved once they stopped for five minutes, recent
    /// before (Postgres's last subPath warning at 01:32:30, the repair at 36 minutes).
    #[test]
    fn warnings_that_stopped_are_resolved_after_five_minutes() {
        let mut r = replay_to(mins(36));
        let repaired = r.scenario.start + mins(36);
        let soon = assess_twice(
            &mut r.snapshot,
            &r.probes,
            repaired,
            repaired + SignedDuration::from_secs(30),
        );
        let db = span(&soon, SpanKind::Problem, "db-0: Failed");
        assert_eq!(db.state, SpanState::Recent);
        let later = at(39);
        assert_eq!(
            span(&later, SpanKind::Problem, "db-0: Failed").state,
            SpanState::Resolved
        );
        // while the subPath blocker stands, its warnings are the blocker's span, not one of theirs
        assert!(at(33)
            .timeline
            .spans
            .iter()
            .all(|s| s.label != "db-0: Failed"));
    }

    /// Mid-install: the pull measured by the kubelet, the Job still running, Postgres's subPath
    /// error standing since the kubelet first said so, CORE failed since then.
    #[test]
    fn mid_install_the_timeline_shows_what_took_and_what_stands() {
        let doc = at(19);
        let t = &doc.timeline;
        assert_eq!(t.started, Some(ts("2026-04-30T01:00:00Z")));
        assert_eq!(t.elapsed_seconds, 19 * 60 + 90);
        let pull = span(&doc, SpanKind::ImagePull, "alga-psa-ee:1.0-rc5");
        assert_eq!(pull.state, SpanState::Succeeded);
        assert_eq!(pull.end, Some(ts("2026-04-30T01:19:12Z")));
        let took = pull.end.unwrap().duration_since(pull.start);
        assert_eq!(
            took.as_millis(),
            963_200,
            "16m3.2s, as the kubelet measured"
        );
        assert_eq!(pull.size_bytes, Some(1_843_201_234));
        let job = span(&doc, SpanKind::Job, "bootstrap");
        assert_eq!((job.state, job.end), (SpanState::Running, None));
        let db = span(&doc, SpanKind::Problem, "subPath");
        assert_eq!(
            (db.state, db.component.as_deref()),
            (SpanState::Open, Some("db"))
        );
        assert_eq!(db.start, ts("2026-04-30T01:03:30Z"));
        let core = t.tiers.iter().find(|m| m.tier == Tier::Core).unwrap();
        assert_eq!((core.ready, core.at), (false, db.start));
        assert!(t.tiers.iter().any(|m| m.tier == Tier::Platform && m.ready));
        assert!(t.login_story().is_none(), "login is not ready");
    }

    /// Login ready: the tiers' moments from the objects' transitions, the subPath error resolved
    /// (its warnings stopped at 01:32:30), the story of the way there.
    #[test]
    fn at_login_the_timeline_tells_the_way_there() {
        let doc = at(39);
        let t = &doc.timeline;
        assert_eq!(t.ready_after(Tier::Login), Some(39 * 60));
        assert_eq!(t.ready_after(Tier::Bootstrap), Some(39 * 60));
        assert_eq!(t.ready_after(Tier::Background), None);
        let db = span(&doc, SpanKind::Problem, "db-0: Failed");
        assert_eq!(db.state, SpanState::Resolved);
        assert_eq!(
            (db.start, db.end),
            (ts("2026-04-30T01:03:30Z"), Some(ts("2026-04-30T01:32:30Z")))
        );
        let job = span(&doc, SpanKind::Job, "bootstrap");
        assert_eq!(
            (job.state, job.end),
            (SpanState::Succeeded, Some(ts("2026-04-30T01:38:42Z")))
        );
        let helm = span(&doc, SpanKind::Helm, "alga-core");
        assert_eq!(
            helm.start,
            ts("2026-04-30T01:36:05Z"),
            "the newest release's lastDeployed"
        );
        assert_eq!(helm.state, SpanState::Succeeded);
        assert_eq!(
            t.login_story().as_deref(),
            Some(
                "login ready 39 min after the start: image pulls 16 min 3 s, Helm 2 min 55 s, \
                 database bootstrap 35 min 42 s; longest problem: db, 29 min (db-0: Failed)"
            )
        );
    }

    /// After the Job's TTL deleted it, its run is still drawn (remembered with the completion);
    /// login's moment does not move when background tiers become ready later.
    #[test]
    fn later_moments_do_not_rewrite_earlier_ones() {
        let doc = at(55);
        let job = span(&doc, SpanKind::Job, "bootstrap");
        assert_eq!(
            (job.start, job.end),
            (ts("2026-04-30T01:03:00Z"), Some(ts("2026-04-30T01:38:42Z")))
        );
        assert_eq!(doc.timeline.ready_after(Tier::Login), Some(39 * 60));
        assert!(doc
            .timeline
            .ready_after(Tier::FullHealth)
            .is_some_and(|s| s > 39 * 60));
    }

    /// A service restarted at any step (no memory: nothing but the cluster's objects) draws the
    /// same timeline as the one that watched throughout, as long as the cluster still holds the
    /// objects (the Job is still there; its deletion at 44m is what memory is for).
    #[test]
    fn a_restarted_service_tells_the_same_story() {
        for minutes in [3, 19, 33, 36, 39, 42] {
            let watched = at(minutes);
            let mut r = replay_to(mins(minutes));
            r.snapshot.memory = Default::default();
            r.snapshot.remember();
            let start = r.scenario.start;
            let now = start + mins(minutes) + SignedDuration::from_secs(90);
            let restarted = assess_twice(&mut r.snapshot, &r.probes, now, now);
            let without_problems = |t: &Timeline| {
                let mut t = t.clone();
                t.spans.retain(|s| s.state != SpanState::Open);
                for m in t.tiers.iter_mut().filter(|m| !m.ready) {
                    m.at = Timestamp::UNIX_EPOCH;
                    m.after_seconds = 0;
                }
                t
            };
            // A standing blocker's `since` (and so a failed tier's moment) may be the first time
            // this service saw it, where the objects give no earlier time; all else agrees.
            assert_eq!(
                without_problems(&restarted.timeline),
                without_problems(&watched.timeline),
                "at {minutes} min"
            );
        }
    }
}
