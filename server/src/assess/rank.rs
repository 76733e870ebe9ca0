//! From findings to ranked blockers: merge duplicates, let root causes absorb their symptoms,
//! apply hysteresis and escalation by age, rank, and write the rollup.

use super::{Finding, Progress, Thresholds};
use crate::snapshot::Memory;
use app::status::*;
use jiff::{SignedDuration, Timestamp};
use std::collections::BTreeMap;

/// The tiers on the way to login, in order.
const LOGIN_PATH: [Tier; 4] = [Tier::Platform, Tier::Core, Tier::Bootstrap, Tier::Login];

/// Layers that only ever describe a symptom of something lower.
fn is_symptom_layer(layer: Layer) -> bool {
    matches!(layer, Layer::Workload | Layer::Flux | Layer::Helm)
}

/// Best first: failed before progressing, lower tier, lower layer.
fn cause_order(f: &Finding) -> (u8, Tier, Layer) {
    (u8::from(f.progress != Progress::Failed), f.tier, f.layer)
}

fn absorb(into: &mut Finding, symptom: Finding) {
    if symptom.progress == Progress::Failed
        && is_symptom_layer(symptom.layer)
        && into.progress != Progress::Failed
    {
        // The symptom gave up (e.g. Helm's deadline passed) while the cause still moves: say so.
        into.next_action.push_str(&format!(
            " Meanwhile {} gave up waiting; once this is resolved it retries on its next reconcile.",
            symptom.evidence.first().map(|e| format!("{} {}", e.kind, e.name)).unwrap_or_else(|| "its installer".into())
        ));
    }
    for e in symptom.evidence {
        if !into.evidence.contains(&e) {
            into.evidence.push(e);
        }
    }
}

/// Merges findings with the same id and lets lower causes absorb the symptoms they explain.
pub fn merge_and_link(findings: Vec<Finding>) -> Vec<Finding> {
    // 1. Same id: one finding, all evidence, earliest start, failed wins.
    let mut merged: Vec<Finding> = Vec::with_capacity(findings.len());
    let mut by_id: BTreeMap<String, usize> = BTreeMap::new();
    for f in findings {
        match by_id.get(&f.id) {
            Some(&i) => {
                let m = &mut merged[i];
                if f.progress == Progress::Failed {
                    m.progress = Progress::Failed;
                }
                m.since = match (m.since, f.since) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                for e in f.evidence {
                    if !m.evidence.contains(&e) {
                        m.evidence.push(e);
                    }
                }
            }
            None => {
                by_id.insert(f.id.clone(), merged.len());
                merged.push(f);
            }
        }
    }

    // 2. Workload-level "not ready" / "rollout stalled" are explained by the same component's pods.
    let (symptoms, mut causes): (Vec<Finding>, Vec<Finding>) =
        merged.into_iter().partition(|f| is_symptom_layer(f.layer));
    let mut unexplained = Vec::new();
    for s in symptoms {
        let best = causes
            .iter_mut()
            .filter(|c| {
                (s.layer == Layer::Workload && c.component == s.component)
                    || (!s.waits_on.is_empty()
                        && c.installed_by
                            .as_ref()
                            .is_some_and(|i| s.waits_on.contains(i)))
            })
            .min_by_key(|c| cause_order(c));
        match best {
            Some(c) => absorb(c, s),
            None => unexplained.push(s),
        }
    }

    // 3. Remaining symptoms may explain each other: a Kustomization waiting on a HelmRelease
    //    that has its own finding becomes evidence of that one.
    let mut kept: Vec<Finding> = Vec::new();
    unexplained.sort_by_key(|f| (f.layer != Layer::Helm, f.layer == Layer::Workload));
    for s in unexplained {
        let target = kept.iter_mut().find(|k| {
            k.layer == Layer::Helm
                && s.layer == Layer::Flux
                && k.waits_on.iter().any(|w| s.waits_on.contains(w))
        });
        match target {
            Some(k) => absorb(k, s),
            None => kept.push(s),
        }
    }
    causes.extend(kept);
    causes
}

/// Turns findings into shown blockers: hysteresis, escalation by age, severity, ranking.
pub fn blockers(
    findings: Vec<Finding>,
    memory: &Memory,
    thresholds: &Thresholds,
    tiers: &Tiers,
    now: Timestamp,
) -> (Vec<Blocker>, BTreeMap<String, Timestamp>) {
    let login_ready = tiers.login.ready;
    let mut first_seen = BTreeMap::new();
    let mut out = Vec::new();
    for f in findings {
        let remembered = memory.first_seen.get(&f.id).copied();
        let since = if f.waits_for_earlier_tiers {
            // A workload waiting on an earlier tier (the web app on the bootstrap) is explained by
            // that tier's own blockers; its clock starts once the earlier tiers are ready.
            let earlier_ready = LOGIN_PATH
                .iter()
                .take_while(|t| **t < f.tier)
                .all(|t| tiers.get(*t).ready);
            if !earlier_ready {
                continue;
            }
            remembered.or(f.since).unwrap_or(now)
        } else {
            match (f.since, remembered) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => a.or(b).unwrap_or(now),
            }
        }
        .min(now);
        first_seen.insert(f.id.clone(), since);
        let age = now.duration_since(since);
        if age < thresholds.hysteresis {
            continue;
        }
        let escalation = match f.progress {
            Progress::Failed => Escalation::Error,
            Progress::Progressing => {
                let scale = |base: SignedDuration, factor: i32| match f.expected {
                    Some(e) => base.max(e * factor),
                    None => base,
                };
                let warn = scale(thresholds.warn_after, 2);
                let error = scale(thresholds.error_after, 3);
                if age < warn {
                    continue; // slow is not failed: it shows as an operation or a pending check
                } else if age < error {
                    Escalation::Warning
                } else {
                    Escalation::Error
                }
            }
        };
        let login_blocking = match f.tier {
            Tier::Core | Tier::Bootstrap | Tier::Login => true,
            Tier::Platform => !login_ready,
            Tier::Background | Tier::FullHealth => false,
        };
        let severity = match (f.progress, login_blocking, escalation) {
            (Progress::Failed, true, _) | (Progress::Progressing, true, Escalation::Error) => {
                Severity::Critical
            }
            (Progress::Failed, false, _) => Severity::Background,
            _ => Severity::Warning,
        };
        out.push(Blocker {
            id: f.id,
            severity,
            component: f.component,
            layer: f.layer,
            reason: f.reason,
            next_action: f.next_action,
            login_blocking,
            tier: f.tier,
            since,
            escalation,
            evidence: f.evidence,
        });
    }
    out.sort_by(|a, b| {
        b.login_blocking
            .cmp(&a.login_blocking)
            .then(a.tier.cmp(&b.tier))
            .then(a.severity.cmp(&b.severity))
            .then(a.layer.cmp(&b.layer))
            .then(a.since.cmp(&b.since))
            .then(a.id.cmp(&b.id))
    });
    (out, first_seen)
}

/// The one-line answer for the admin.
pub fn rollup(
    tiers: &Tiers,
    blockers: &[Blocker],
    operations: &[Operation],
    login_url: &Option<String>,
) -> Rollup {
    let url = login_url.clone().unwrap_or_else(|| "the login URL".into());
    if tiers.full_health.ready {
        return Rollup {
            state: RollupState::FullyHealthy,
            message: "Alga is installed and every service is healthy.".into(),
            next_action: format!("Log in to Alga at {url}."),
        };
    }
    if tiers.login.ready {
        let issues = blockers
            .iter()
            .any(|b| b.severity == Severity::Background || b.escalation == Escalation::Error);
        return if issues {
            Rollup {
                state: RollupState::ReadyWithBackgroundIssues,
                message: "Alga is ready to log in. Some background services need attention.".into(),
                next_action: "Log in to Alga, then review background service issues.".into(),
            }
        } else {
            Rollup {
                state: RollupState::ReadyToLogIn,
                message: "Alga is ready to log in. Background services are still installing."
                    .into(),
                next_action: format!("Log in to Alga at {url}."),
            }
        };
    }
    if let Some(b) = blockers
        .iter()
        .find(|b| b.login_blocking && b.severity == Severity::Critical)
    {
        return Rollup {
            state: RollupState::FailedActionRequired,
            message: format!("Installation is blocked: {}", b.reason),
            next_action: b.next_action.clone(),
        };
    }
    let step = [Tier::Platform, Tier::Core, Tier::Bootstrap, Tier::Login]
        .into_iter()
        .find(|t| !tiers.get(*t).ready)
        .unwrap_or(Tier::Login);
    let done = [Tier::Platform, Tier::Core, Tier::Bootstrap, Tier::Login]
        .iter()
        .filter(|t| tiers.get(**t).ready)
        .count();
    let longest = operations
        .iter()
        .filter(|o| o.kind == OperationKind::ImagePull)
        .max_by_key(|o| o.elapsed_seconds);
    let activity = match longest {
        Some(op) if op.kind == OperationKind::ImagePull => format!(
            " Downloading {}{} ({} so far).",
            op.target,
            op.size_bytes
                .map(|s| format!(", about {}", app::format::bytes(s)))
                .unwrap_or_default(),
            app::format::duration(op.elapsed_seconds)
        ),
        _ => String::new(),
    };
    Rollup {
        state: RollupState::Installing,
        message: format!(
            "Installing: {} ({done} of 4 steps to login done).{activity}",
            step.label().to_lowercase()
        ),
        next_action: "No action needed yet; this page updates by itself.".into(),
    }
}
