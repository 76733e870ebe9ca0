//! From linked findings to ranked blockers: hysteresis and escalation, login blocking and
//! severity from the tiers, order, and the rollup.

use super::index::Index;
use super::{Finding, Progress, Thresholds};
use crate::snapshot::Memory;
use app::status::*;
use jiff::{SignedDuration, Timestamp};
use std::collections::{BTreeMap, BTreeSet};

/// The tiers on the way to login, in order.
pub const LOGIN_PATH: [Tier; 4] = [Tier::Platform, Tier::Core, Tier::Bootstrap, Tier::Login];

/// A finding that has held long enough to be shown, with its start and escalation.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub finding: Finding,
    pub since: Timestamp,
    pub escalation: Escalation,
}

impl Candidate {
    /// A failure (as opposed to something slow).
    pub fn failed(&self) -> bool {
        self.finding.progress == Progress::Failed
    }
}

/// Time: `since`, hysteresis, and escalation. A failure is an error once it held for the
/// hysteresis; something still progressing becomes a warning once past its expected time and
/// never more by age alone (a failure signal makes it a failure; see `link`).
/// What `escalate` makes of the findings.
pub struct Escalated {
    /// Held long enough to count: the tiers and the rollup read these.
    pub candidates: Vec<Candidate>,
    /// Failures still within the hysteresis: shown as not yet confirmed, counted nowhere.
    pub unconfirmed: Vec<Candidate>,
    /// Every candidate's first-seen time, to remember.
    pub first_seen: BTreeMap<String, Timestamp>,
}

pub fn escalate(
    findings: Vec<Finding>,
    memory: &Memory,
    thresholds: &Thresholds,
    now: Timestamp,
) -> Escalated {
    let mut first_seen = BTreeMap::new();
    let mut out = Vec::new();
    let mut unconfirmed = Vec::new();
    for f in findings {
        let remembered = memory.first_seen.get(&f.id).copied();
        let since = if f.waits_for_earlier_tiers {
            // Its clock starts when it is first shown, i.e. once the earlier tiers are ready.
            remembered.unwrap_or(now)
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
            if f.progress == Progress::Failed && !f.waits_for_earlier_tiers {
                unconfirmed.push(Candidate {
                    finding: f,
                    since,
                    escalation: Escalation::Error,
                });
            }
            continue;
        }
        let escalation = match f.progress {
            Progress::Failed => Escalation::Error,
            Progress::Progressing => {
                let warn = thresholds
                    .warn_after
                    .max(f.warn_after.unwrap_or(SignedDuration::ZERO));
                if age < warn {
                    continue; // slow is not failed: it shows as an operation or a pending check
                }
                Escalation::Warning
            }
        };
        out.push(Candidate {
            finding: f,
            since,
            escalation,
        });
    }
    Escalated {
        candidates: out,
        unconfirmed,
        first_seen,
    }
}

/// Failures not yet confirmed, as the document lists them: counted nowhere, so never critical
/// nor login-blocking; newest first.
pub fn unconfirmed(candidates: Vec<Candidate>) -> Vec<Blocker> {
    let mut out: Vec<Blocker> = candidates
        .into_iter()
        .map(|c| {
            let f = c.finding;
            Blocker {
                id: f.id,
                severity: Severity::Warning,
                component: f.component,
                layer: f.layer,
                reason: f.reason,
                next_action: f.next_action,
                login_blocking: false,
                tier: f.tier,
                since: c.since,
                escalation: c.escalation,
                evidence: f.evidence,
            }
        })
        .collect();
    out.sort_by(|a, b| b.since.cmp(&a.since).then_with(|| a.id.cmp(&b.id)));
    out
}

/// Shown candidates become blockers. A blocker blocks login exactly when it is one of the
/// reasons LOGIN_READY failed (the login tier's checks name their blockers, through its
/// dependencies on core, bootstrap and — until Alga is up — platform); then it is critical.
pub fn blockers(shown: Vec<Candidate>, tiers: &Tiers) -> Vec<Blocker> {
    let login_reasons: BTreeSet<&str> = tiers
        .login
        .checks
        .iter()
        .flat_map(|c| c.blockers.iter().map(String::as_str))
        .collect();
    let mut out: Vec<Blocker> = shown
        .into_iter()
        .map(|c| {
            let login_blocking = login_reasons.contains(c.finding.id.as_str());
            let severity = match (login_blocking, c.failed()) {
                (true, _) => Severity::Critical,
                (false, true) => Severity::Background,
                (false, false) => Severity::Warning,
            };
            let f = c.finding;
            Blocker {
                id: f.id,
                severity,
                component: f.component,
                layer: f.layer,
                reason: f.reason,
                next_action: f.next_action,
                login_blocking,
                tier: f.tier,
                since: c.since,
                escalation: c.escalation,
                evidence: f.evidence,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.login_blocking
            .cmp(&a.login_blocking)
            .then(a.tier.cmp(&b.tier))
            .then(a.severity.cmp(&b.severity))
            .then(a.layer.cmp(&b.layer))
            .then(a.since.cmp(&b.since))
            .then(a.id.cmp(&b.id))
    });
    out
}

/// The one-line answer for the admin.
pub fn rollup(
    tiers: &Tiers,
    blockers: &[Blocker],
    operations: &[Operation],
    index: &Index<'_>,
) -> Rollup {
    let url = index
        .login_url
        .clone()
        .unwrap_or_else(|| "the login URL".into());
    if tiers.full_health.ready {
        return Rollup {
            state: RollupState::FullyHealthy,
            message: "Alga is installed and every service is healthy.".into(),
            next_action: format!("Log in to Alga at {url}."),
        };
    }
    if tiers.login.ready {
        let failed = blockers
            .iter()
            .filter(|b| b.severity == Severity::Background)
            .count();
        return if failed > 0 {
            Rollup {
                state: RollupState::ReadyWithBackgroundIssues,
                message: "Alga is ready to log in. Some background services need attention.".into(),
                next_action: "Log in to Alga, then review background service issues.".into(),
            }
        } else {
            let warnings = blockers.len();
            Rollup {
                state: RollupState::ReadyToLogIn,
                message: if warnings > 0 {
                    format!("Alga is ready to log in. Background services are still installing ({warnings} taking longer than expected).")
                } else {
                    "Alga is ready to log in. Background services are still installing.".into()
                },
                next_action: format!("Log in to Alga at {url}."),
            }
        };
    }
    if let Some(b) = blockers.iter().find(|b| b.login_blocking) {
        return Rollup {
            state: RollupState::FailedActionRequired,
            message: format!("Installation is blocked: {}", b.reason),
            next_action: b.next_action.clone(),
        };
    }
    let step = LOGIN_PATH
        .into_iter()
        .find(|t| !tiers.get(*t).ready)
        .unwrap_or(Tier::Login);
    let done = LOGIN_PATH.iter().filter(|t| tiers.get(**t).ready).count();
    let first = waited_on(operations, step);
    // A large download on the way to login usually decides when it is ready: name it too.
    let pull = operations
        .iter()
        .filter(|o| {
            o.kind == OperationKind::ImagePull
                && o.tier.is_some_and(|t| LOGIN_PATH.contains(&t))
                && first.is_none_or(|f| !std::ptr::eq(f, *o))
        })
        .max_by_key(|o| o.elapsed_seconds);
    let activity = match (first, pull) {
        (Some(op), Some(p)) => format!(" Waiting on: {}; also {}.", describe(op), describe(p)),
        (Some(op), None) | (None, Some(op)) => format!(" Waiting on: {}.", describe(op)),
        (None, None) => String::new(),
    };
    Rollup {
        state: RollupState::Installing,
        message: format!(
            "Installing: {} ({done} of 4 steps to login done).{activity}",
            step.label().to_lowercase()
        ),
        next_action: "No action needed yet; the status follows the install by itself.".into(),
    }
}

/// The operation the install waits on: the one serving the first tier that is not ready (else
/// the earliest on the way to login), the lowest kind of work first (a pull before the Job that
/// needs it, before a wait, before the Flux reconciliation that waits on all of them), longest
/// first.
pub fn waited_on(operations: &[Operation], step: Tier) -> Option<&Operation> {
    let rank = |k: OperationKind| match k {
        OperationKind::ImagePull => 0,
        OperationKind::Job => 1,
        OperationKind::Waiting => 2,
        OperationKind::Reconciliation => 3,
    };
    operations
        .iter()
        .filter(|o| o.tier.is_some_and(|t| LOGIN_PATH.contains(&t) && t >= step))
        .min_by_key(|o| (o.tier, rank(o.kind), std::cmp::Reverse(o.elapsed_seconds)))
}

/// An operation in words, e.g. "downloading ghcr.io/…:tag, about 1.8 GB (12m so far)".
pub fn describe(op: &Operation) -> String {
    let age = app::format::duration(op.elapsed_seconds);
    match op.kind {
        OperationKind::ImagePull => format!(
            "downloading {}{} ({age} so far)",
            op.target,
            op.size_bytes
                .map(|s| format!(", about {}", app::format::bytes(s)))
                .unwrap_or_default()
        ),
        _ => format!("{} — {} ({age} so far)", op.target, op.message),
    }
}

/// This rule through the whole assessment, on objects as the cluster writes them.
#[cfg(test)]
mod assessed {
    use crate::assess::testkit::*;

    #[test]
    fn ranking_puts_login_blocking_first_then_tier() {
        let mut r = replay_to(mins(42));
        // Break Redis (core) while background is failing too.
        apply_yaml(
            &mut r.snapshot,
            &crash_pod("redis-0", "app: redis", "redis", ""),
        );
        let start = r.scenario.start;
        let doc = assess_twice(
            &mut r.snapshot,
            &r.probes,
            start + mins(42),
            start + mins(44),
        );
        let first_background = doc
            .top_blockers
            .iter()
            .position(|b| !b.login_blocking)
            .unwrap();
        assert!(doc.top_blockers[..first_background]
            .iter()
            .all(|b| b.login_blocking));
        assert!(doc.top_blockers[first_background..]
            .iter()
            .all(|b| !b.login_blocking));
        assert_eq!(top(&doc).component, "redis");
    }

    #[test]
    /// A new failure is seen at once, as not yet confirmed (it fails no tier and changes no
    /// rollup), and counts once it has held for the hysteresis.
    fn a_new_failure_is_seen_at_once_and_counts_once_it_holds() {
        let mut snap = Snapshot::default();
        apply_yaml(
            &mut snap,
            &format!("{}\n", crash_pod("redis-0", "app: redis", "redis", "")),
        );
        snap.events.clear();
        let probes = Probes::default();
        let t0 = ts("2026-04-30T02:00:00Z");
        let mut quiet = snap.clone();
        quiet.pods.clear();
        let before = assess_twice(&mut quiet, &probes, t0, t0 + SignedDuration::from_secs(10));
        let doc = assess_twice(&mut snap, &probes, t0, t0 + SignedDuration::from_secs(10));
        assert!(
            !doc.top_blockers.iter().any(|b| b.component == "redis"),
            "10 s is within hysteresis"
        );
        let seen = doc
            .unconfirmed
            .iter()
            .find(|b| b.component == "redis")
            .expect("seen at once, not yet confirmed");
        assert!(!seen.login_blocking && seen.severity != Severity::Critical);
        assert_eq!(
            doc.rollup.state, before.rollup.state,
            "the rollup is unchanged"
        );
        assert_eq!(
            ready_tiers(&doc),
            ready_tiers(&before),
            "no tier changes for it"
        );
        let doc = assess_twice(
            &mut snap,
            &probes,
            t0 + SignedDuration::from_secs(20),
            t0 + SignedDuration::from_secs(31),
        );
        let b = doc
            .top_blockers
            .iter()
            .find(|b| b.component == "redis")
            .expect("shown after 30 s");
        assert_eq!(b.since, t0, "since is the first sighting");
        assert!(
            !doc.unconfirmed.iter().any(|u| u.id == b.id),
            "confirmed: no longer listed as just seen"
        );
    }
}
