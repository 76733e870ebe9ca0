//! One verdict: what a document must never say at the same time, whatever the cluster. The
//! engine's tests (property tests over generated snapshots, the realistic corpus, the observed
//! bootstrap) check every document against these.

use app::status::*;
use std::collections::BTreeSet;

/// Every way `doc` contradicts itself, in words; empty when it is consistent.
pub fn contradictions(doc: &StatusDocument) -> Vec<String> {
    let mut out = Vec::new();
    let ids: BTreeSet<&str> = doc.top_blockers.iter().map(|b| b.id.as_str()).collect();
    let login_blocking = doc.top_blockers.iter().any(|b| b.login_blocking);
    let state = doc.rollup.state;

    // A failure not yet confirmed counts nowhere: not among the blockers, not blocking login.
    for u in &doc.unconfirmed {
        if ids.contains(u.id.as_str()) {
            out.push(format!("{} is both a blocker and not yet confirmed", u.id));
        }
        if u.login_blocking || u.severity == Severity::Critical {
            out.push(format!("{} is not yet confirmed but blocks login", u.id));
        }
    }

    for tier in Tier::ALL {
        let t = doc.tiers.get(tier);
        let all_ok = t
            .checks
            .iter()
            .all(|c| matches!(c.state, CheckState::Ok | CheckState::NotApplicable));
        if t.ready != all_ok {
            out.push(format!(
                "{}: ready={} but its checks say {all_ok}",
                tier.readiness_name(),
                t.ready
            ));
        }
        let any_failed = t.checks.iter().any(|c| c.state == CheckState::Failed);
        let expected = match (t.ready, any_failed, tier) {
            (true, _, _) => TierHealth::Healthy,
            (false, true, Tier::Background | Tier::FullHealth) => TierHealth::Degraded,
            (false, true, _) => TierHealth::Failed,
            (false, false, _) => TierHealth::Progressing,
        };
        if t.status != expected {
            out.push(format!(
                "{}: status {:?} but its checks make it {expected:?}",
                tier.readiness_name(),
                t.status
            ));
        }
        for c in &t.checks {
            match c.state {
                CheckState::Failed if c.blockers.is_empty() => {
                    out.push(format!("check {} failed without a blocker", c.name))
                }
                CheckState::Failed => {
                    for id in &c.blockers {
                        if !ids.contains(id.as_str()) {
                            out.push(format!(
                                "check {} names blocker {id}, which is not shown",
                                c.name
                            ));
                        }
                    }
                }
                _ if !c.blockers.is_empty() => out.push(format!(
                    "check {} names blockers but has not failed",
                    c.name
                )),
                _ => {}
            }
        }
    }

    let login_failed = doc.tiers.login.status == TierHealth::Failed;
    if login_blocking != login_failed {
        out.push(format!(
            "a login-blocking blocker exists: {login_blocking}, but LOGIN_READY failed: {login_failed}"
        ));
    }
    for b in &doc.top_blockers {
        if (b.severity == Severity::Critical) != b.login_blocking {
            out.push(format!(
                "blocker {} is {:?} with loginBlocking={}",
                b.id, b.severity, b.login_blocking
            ));
        }
    }
    let usable = matches!(
        state,
        RollupState::ReadyToLogIn
            | RollupState::ReadyWithBackgroundIssues
            | RollupState::FullyHealthy
    );
    if usable && (!doc.tiers.login.ready || login_blocking) {
        out.push(format!(
            "rollup {state:?} but LOGIN_READY={} and login-blocking blockers: {login_blocking}",
            doc.tiers.login.ready
        ));
    }
    if doc.tiers.login.ready && !usable {
        out.push(format!("LOGIN_READY but rollup {state:?}"));
    }
    if (state == RollupState::FullyHealthy) != doc.tiers.full_health.ready {
        out.push(format!(
            "rollup {state:?} but FULLY_HEALTHY={}",
            doc.tiers.full_health.ready
        ));
    }
    if state == RollupState::FullyHealthy
        && (!doc.top_blockers.is_empty() || Tier::ALL.iter().any(|t| !doc.tiers.get(*t).ready))
    {
        out.push("fully healthy with blockers or a tier not ready".into());
    }
    if state == RollupState::FailedActionRequired && !login_blocking {
        out.push("failed / action required without a login-blocking blocker".into());
    }
    if state == RollupState::Installing && login_blocking {
        out.push("installing while a login-blocking blocker exists".into());
    }
    if state == RollupState::ReadyWithBackgroundIssues
        && !doc
            .top_blockers
            .iter()
            .any(|b| b.severity == Severity::Background)
    {
        out.push("ready with background issues, but no background blocker".into());
    }
    timeline(doc, &mut out);
    if let Some(e) = &doc.estimate {
        if state != RollupState::Installing || doc.tiers.login.ready {
            out.push(format!("an estimate ({}) while {state:?}", e.message));
        }
        if e.low_seconds > e.high_seconds || e.basis.is_empty() {
            out.push(format!("an estimate without order or basis: {}", e.message));
        }
    }
    out
}

/// The timeline tells the same story as the verdict: a tier it calls ready is ready, one it
/// calls failed has failed; no moment lies after the document's own; a problem standing is a
/// shown blocker; nothing ends before it starts.
fn timeline(doc: &StatusDocument, out: &mut Vec<String>) {
    let t = &doc.timeline;
    if t.started.is_none() && (!t.tiers.is_empty() || !t.spans.is_empty()) {
        out.push("the timeline has moments but no start".into());
    }
    for m in &t.tiers {
        let status = doc.tiers.get(m.tier);
        if m.ready != status.ready || (!m.ready && status.status != TierHealth::Failed) {
            out.push(format!(
                "the timeline says {} {} since {}, the tier is {:?}",
                m.tier.readiness_name(),
                if m.ready { "ready" } else { "failed" },
                m.at,
                status.status
            ));
        }
        if m.after_seconds > t.elapsed_seconds {
            out.push(format!(
                "{} moment after the document",
                m.tier.readiness_name()
            ));
        }
    }
    let shown: BTreeSet<(&str, &str)> = doc
        .top_blockers
        .iter()
        .map(|b| (b.component.as_str(), b.reason.as_str()))
        .collect();
    for s in &t.spans {
        if s.end_seconds.is_some_and(|e| e < s.start_seconds) {
            out.push(format!("span {} ends before it starts", s.label));
        }
        if s.end_or(s.start_seconds) > t.elapsed_seconds {
            out.push(format!("span {} reaches past the document", s.label));
        }
        if s.end.is_none() != s.end_seconds.is_none() {
            out.push(format!("span {} has an end in one form only", s.label));
        }
        let open = s.state == SpanState::Open;
        if open != (s.kind == SpanKind::Problem && s.end.is_none()) {
            out.push(format!(
                "span {} is {:?} with end {:?}",
                s.label, s.state, s.end
            ));
        }
        if open && !shown.contains(&(s.component.as_deref().unwrap_or(""), s.detail.as_str())) {
            out.push(format!("open problem {} is no shown blocker", s.label));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, state: CheckState, blockers: &[&str]) -> Check {
        Check {
            name: name.into(),
            description: name.into(),
            state,
            detail: None,
            blockers: blockers.iter().map(|b| b.to_string()).collect(),
        }
    }

    fn tier(ready: bool, status: TierHealth, checks: Vec<Check>) -> TierStatus {
        TierStatus {
            ready,
            status,
            checks,
        }
    }

    fn doc(login: TierStatus, state: RollupState, blockers: Vec<Blocker>) -> StatusDocument {
        let ok = || {
            tier(
                true,
                TierHealth::Healthy,
                vec![check("x", CheckState::Ok, &[])],
            )
        };
        StatusDocument {
            schema_version: SCHEMA_VERSION,
            site_id: "s".into(),
            timestamp: jiff::Timestamp::UNIX_EPOCH,
            release: Release::default(),
            urls: Urls::default(),
            rollup: Rollup {
                state,
                message: String::new(),
                next_action: String::new(),
            },
            tiers: Tiers {
                platform: ok(),
                core: ok(),
                bootstrap: ok(),
                login,
                background: ok(),
                full_health: tier(
                    false,
                    TierHealth::Degraded,
                    vec![check("full.login", CheckState::Failed, &["b"])],
                ),
            },
            top_blockers: blockers,
            unconfirmed: vec![],
            components: vec![],
            active_operations: vec![],
            recent_events: vec![],
            flux: vec![],
            bootstrap: None,
            source: Source::default(),
            timeline: Timeline::default(),
            estimate: None,
        }
    }

    fn blocker(login_blocking: bool, severity: Severity) -> Blocker {
        Blocker {
            id: "b".into(),
            severity,
            component: "db".into(),
            layer: Layer::Storage,
            reason: String::new(),
            next_action: String::new(),
            login_blocking,
            tier: Tier::Core,
            since: jiff::Timestamp::UNIX_EPOCH,
            escalation: Escalation::Error,
            evidence: vec![],
        }
    }

    #[test]
    fn a_consistent_failed_document_passes() {
        let login = tier(
            false,
            TierHealth::Failed,
            vec![check("login.core", CheckState::Failed, &["b"])],
        );
        let d = doc(
            login,
            RollupState::FailedActionRequired,
            vec![blocker(true, Severity::Critical)],
        );
        assert_eq!(contradictions(&d), Vec::<String>::new());
    }

    /// Issue 8, class 7: "critical, blocks login" beside "Ready with background issues".
    #[test]
    fn the_self_contradicting_verdict_is_caught() {
        let login = tier(
            true,
            TierHealth::Healthy,
            vec![check("login.core", CheckState::Ok, &[])],
        );
        let d = doc(
            login,
            RollupState::ReadyWithBackgroundIssues,
            vec![blocker(true, Severity::Critical)],
        );
        let found = contradictions(&d);
        assert!(
            found
                .iter()
                .any(|c| c.contains("login-blocking blocker exists: true")),
            "{found:?}"
        );
        assert!(found.iter().any(|c| c.contains("rollup")), "{found:?}");
    }

    /// Issue 8, class 5: a failed check with nothing to act on.
    #[test]
    fn a_failed_check_without_a_blocker_is_caught() {
        let login = tier(
            false,
            TierHealth::Failed,
            vec![check("login.bootstrap", CheckState::Failed, &[])],
        );
        let d = doc(login, RollupState::Installing, vec![]);
        let found = contradictions(&d);
        assert!(
            found.iter().any(|c| c.contains("failed without a blocker")),
            "{found:?}"
        );
    }
}
