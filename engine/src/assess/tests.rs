//! Engine tests: the scenario's expectations step by step, one test per rule with the real message
//! it matches (spec/signals.md), and property tests.

use super::*;
use crate::catalog::Catalog;
use crate::objects::{parse_documents, ObjectId};
use crate::probes::Probes;
use crate::scenario::{Replay, Scenario};
use crate::snapshot::Snapshot;
use jiff::{SignedDuration, Timestamp};

fn catalog() -> Catalog {
    Catalog::embedded()
}

fn source() -> SourceInfo {
    SourceInfo {
        mode: SourceMode::Scenario,
        name: Some("test".into()),
    }
}

/// Assesses like the live loop does: once at `first` (to remember first-seen times), then at `now`.
fn assess_twice(
    snapshot: &mut Snapshot,
    probes: &Probes,
    first: Timestamp,
    now: Timestamp,
) -> StatusDocument {
    let catalog = catalog();
    let thresholds = Thresholds::default();
    let source = source();
    for at in [first, now] {
        let a = assess(
            &Inputs {
                snapshot,
                catalog: &catalog,
                probes,
                thresholds: &thresholds,
                source: &source,
            },
            at,
        );
        snapshot.memory.first_seen = a.first_seen;
        snapshot.memory.causes = a.causes;
        if at == now {
            return a.document;
        }
    }
    unreachable!()
}

use crate::fixtures::{corpus_cases, corpus_inputs};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn mins(m: i64) -> SignedDuration {
    SignedDuration::from_mins(m)
}

/// The observed bootstrap replayed up to `offset`.
fn replay_to(offset: SignedDuration) -> Replay {
    let mut r = Replay::new(Scenario::observed_bootstrap());
    r.advance_to(offset);
    r
}

fn apply_yaml(snapshot: &mut Snapshot, yaml: &str) {
    for o in parse_documents(yaml, "test").unwrap().objects {
        snapshot.apply(o);
    }
    snapshot.remember();
}

fn ready_tiers(doc: &StatusDocument) -> Vec<Tier> {
    Tier::ALL
        .into_iter()
        .filter(|t| doc.tiers.get(*t).ready)
        .collect()
}

fn top(doc: &StatusDocument) -> &Blocker {
    doc.top_blockers
        .first()
        .unwrap_or_else(|| panic!("no blocker; rollup {:?}", doc.rollup))
}

// ------------------------------------------------------------------------------------------------
// The scenario: every step's expectation (PRD acceptance 3, 4, 5, 6 and each observed problem).
// ------------------------------------------------------------------------------------------------

#[test]
fn observed_bootstrap_meets_every_step_expectation() {
    let scenario = Scenario::observed_bootstrap();
    let mut replay = Replay::new(scenario.clone());
    let mut checked = 0;
    for step in &scenario.steps {
        replay.advance_to(step.at);
        let Some(expect) = &step.expect else { continue };
        let at = scenario.start + step.at;
        let now = at + expect.check_after.unwrap_or(SignedDuration::from_mins(2));
        let doc = assess_twice(&mut replay.snapshot, &replay.probes, at, now);
        assert_eq!(
            invariants::contradictions(&doc),
            Vec::<String>::new(),
            "step {:?}",
            step.name
        );
        assert_eq!(
            doc.rollup.state, expect.rollup,
            "step {:?}: {:#?}\n{:#?}",
            step.name, doc.rollup, doc.top_blockers
        );
        assert_eq!(
            ready_tiers(&doc),
            expect.ready,
            "step {:?}: tiers {:#?}",
            step.name,
            doc.tiers
        );
        match &expect.top_blocker {
            Some(b) => {
                let t = top(&doc);
                assert_eq!(
                    (t.component.as_str(), t.layer, t.login_blocking),
                    (b.component.as_str(), b.layer, b.login_blocking),
                    "step {:?}: blockers {:#?}",
                    step.name,
                    doc.top_blockers
                );
            }
            None => assert!(
                doc.top_blockers.is_empty(),
                "step {:?}: unexpected blockers {:#?}",
                step.name,
                doc.top_blockers
            ),
        }
        checked += 1;
    }
    assert_eq!(
        checked,
        scenario.steps.len(),
        "every step of the demo carries an expectation"
    );
}

/// AC6: the generic Helm timeout is evidence, the Postgres PVC subPath error is the blocker.
#[test]
fn helm_timeout_is_evidence_of_the_postgres_subpath_blocker() {
    let mut r = replay_to(mins(33));
    let start = r.scenario.start;
    let doc = assess_twice(
        &mut r.snapshot,
        &r.probes,
        start + mins(33),
        start + mins(35),
    );
    let t = top(&doc);
    assert_eq!(
        (t.component.as_str(), t.layer, t.severity),
        ("db", Layer::Storage, Severity::Critical)
    );
    assert!(
        t.reason.starts_with("Postgres PVC initialization failed"),
        "{}",
        t.reason
    );
    assert!(
        t.next_action.contains("alga-core-sebastian-postgres-data"),
        "{}",
        t.next_action
    );
    assert!(
        t.evidence
            .iter()
            .any(|e| e.kind == "HelmRelease" && e.message.contains("context deadline exceeded")),
        "{:#?}",
        t.evidence
    );
    assert!(
        t.evidence
            .iter()
            .any(|e| e.kind == "Kustomization" && e.message.contains("timeout waiting for")),
        "{:#?}",
        t.evidence
    );
    assert!(
        !doc.top_blockers.iter().any(|b| b.layer == Layer::Helm),
        "no separate Helm blocker: {:#?}",
        doc.top_blockers
    );
    assert!(
        t.since <= start + mins(4),
        "since is when the subPath error first appeared, not the timeout"
    );
}

/// Without a known lower cause, the Helm timeout itself is the blocker.
#[test]
fn helm_timeout_without_lower_cause_is_the_blocker() {
    let mut snap = Snapshot::default();
    apply_yaml(
        &mut snap,
        r#"
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: email-service, namespace: alga-system}
spec: {releaseName: email-service}
status:
  conditions:
  - {type: Ready, status: "False", reason: InstallFailed, lastTransitionTime: "2026-04-30T02:00:00Z", message: "Helm install failed for release alga-system/email-service with chart email-service@0.1.0: context deadline exceeded"}
"#,
    );
    let doc = assess_twice(
        &mut snap,
        &Probes::default(),
        ts("2026-04-30T02:00:00Z"),
        ts("2026-04-30T02:01:00Z"),
    );
    let t = top(&doc);
    assert_eq!(
        (t.component.as_str(), t.layer, t.login_blocking),
        ("email-service", Layer::Helm, false)
    );
    assert!(t.reason.contains("timed out"), "{}", t.reason);
}

/// AC5: a missing workflow-worker tag with login available reads "Ready with background issues".
#[test]
fn missing_worker_tag_is_a_background_issue() {
    let mut r = replay_to(mins(42));
    let start = r.scenario.start;
    let doc = assess_twice(
        &mut r.snapshot,
        &r.probes,
        start + mins(42),
        start + mins(44),
    );
    assert_eq!(doc.rollup.state, RollupState::ReadyWithBackgroundIssues);
    let wf = doc
        .top_blockers
        .iter()
        .find(|b| b.component == "workflow-worker")
        .unwrap();
    assert_eq!(
        wf.reason,
        "Image tag not found: ghcr.io/nine-minds/workflow-worker:61e4a00e"
    );
    assert_eq!(
        (wf.severity, wf.login_blocking),
        (Severity::Background, false)
    );
    assert!(wf.next_action.contains("Publish the missing image tag"));
    // Both temporal-worker pods share one blocker.
    assert_eq!(
        doc.top_blockers
            .iter()
            .filter(|b| b.component == "temporal-worker")
            .count(),
        1
    );
    assert_eq!(doc.background_issue_count(), 4, "{:#?}", doc.components);
    assert!(doc
        .tiers
        .full_health
        .checks
        .iter()
        .any(|c| c.name == "full.image-tags" && c.state == CheckState::Failed));
}

#[test]
fn temporal_log_signals_name_the_cause() {
    let mut r = replay_to(mins(42));
    let start = r.scenario.start;
    let doc = assess_twice(
        &mut r.snapshot,
        &r.probes,
        start + mins(42),
        start + mins(44),
    );
    let temporal = doc
        .top_blockers
        .iter()
        .find(|b| b.component == "temporal")
        .unwrap();
    assert_eq!(temporal.layer, Layer::Log);
    assert!(
        temporal
            .reason
            .starts_with("Temporal schema not initialised"),
        "{}",
        temporal.reason
    );
    assert!(temporal.evidence.iter().any(|e| e.kind == "log"
        && e.message
            .contains("sql schema version compatibility check failed")));
    let ui = doc
        .top_blockers
        .iter()
        .find(|b| b.component == "temporal-ui")
        .unwrap();
    assert!(ui.reason.contains("service-link"), "{}", ui.reason);
    assert!(ui.next_action.contains("enableServiceLinks: false"));
}

/// AC4 and the TTL rule: a deleted completed bootstrap Job keeps BOOTSTRAP_READY.
#[test]
fn bootstrap_stays_ready_after_the_job_is_garbage_collected() {
    let mut r = replay_to(mins(44));
    assert!(r.snapshot.jobs.is_empty(), "the scenario deleted the Job");
    let start = r.scenario.start;
    let doc = assess_twice(
        &mut r.snapshot,
        &r.probes,
        start + mins(44),
        start + mins(46),
    );
    assert!(doc.tiers.bootstrap.ready, "{:#?}", doc.tiers.bootstrap);
    // Even without the remembered completion (a restarted service), the ready web app proves it.
    r.snapshot.memory.completed_jobs.clear();
    let doc = assess_twice(
        &mut r.snapshot,
        &r.probes,
        start + mins(46),
        start + mins(47),
    );
    assert!(doc.tiers.bootstrap.ready, "{:#?}", doc.tiers.bootstrap);
}

#[test]
fn dns_resolver_refusing_is_the_first_blocker() {
    let mut r = replay_to(SignedDuration::ZERO);
    let start = r.scenario.start;
    let doc = assess_twice(&mut r.snapshot, &r.probes, start, start + mins(1));
    let t = top(&doc);
    assert_eq!(
        (t.layer, t.login_blocking, t.severity),
        (Layer::Dns, true, Severity::Critical)
    );
    assert!(
        t.reason
            .contains("lookup ghcr.io on 192.168.64.1:53 failed: connection refused"),
        "{}",
        t.reason
    );
    assert!(t.next_action.contains("explicit DNS servers"));
    // One resolver, one blocker: Flux's failed clone is evidence of the same cause.
    let dns: Vec<_> = doc
        .top_blockers
        .iter()
        .filter(|b| b.layer == Layer::Dns)
        .collect();
    assert_eq!(dns.len(), 1, "{dns:#?}");
    assert!(
        t.evidence
            .iter()
            .any(|e| e.kind == "GitRepository" && e.message.contains("lookup github.com")),
        "{:#?}",
        t.evidence
    );
    assert!(!doc.tiers.platform.ready);
    assert!(
        !doc.top_blockers
            .iter()
            .any(|b| b.component == "flux-kustomizations"),
        "a Kustomization waiting for its source is not a blocker"
    );
}

#[test]
fn slow_pull_is_progress_not_failure_until_past_its_scaled_threshold() {
    let mut r = replay_to(mins(3));
    // Take the Postgres failure out to look at the pull alone.
    let db_ok = r
        .scenario
        .steps
        .iter()
        .find(|s| s.at == mins(36))
        .unwrap()
        .clone();
    crate::scenario::apply_step(&mut r.snapshot, &mut r.probes, &db_ok);
    let start = r.scenario.start;
    let at = |m| start + mins(m);
    let doc = assess_twice(&mut r.snapshot, &r.probes, at(3), at(13));
    let pull = doc
        .active_operations
        .iter()
        .find(|o| o.kind == OperationKind::ImagePull)
        .expect("the pull is an operation");
    assert_eq!(pull.target, "ghcr.io/nine-minds/alga-psa-ee:1.0-rc5");
    assert_eq!(pull.size_bytes, Some(1_843_201_234));
    assert_eq!(pull.elapsed_seconds, 588, "started 3m12s in");
    assert!(
        (580..=600).contains(&pull.elapsed_seconds),
        "{}",
        pull.elapsed_seconds
    );
    assert!(
        !doc.top_blockers.iter().any(|b| b.component == "alga-core"),
        "a 10-minute pull of 1.8 GB is normal: {:#?}",
        doc.top_blockers
    );
    assert_eq!(doc.rollup.state, RollupState::Installing);
    assert!(
        doc.rollup.message.contains("alga-psa-ee"),
        "{}",
        doc.rollup.message
    );
    // 1.8 GB at 2 MB/s is ~15 min expected: a warning after twice that, and never more by age
    // alone (issue 8, class 3): a slow pull is not a failed install.
    for minutes in [35, 50, 90] {
        let doc = assess_twice(&mut r.snapshot, &r.probes, at(13), at(3 + minutes));
        let slow = doc
            .top_blockers
            .iter()
            .find(|b| b.id.ends_with("slow-pull"))
            .unwrap_or_else(|| panic!("slow after {minutes} min"));
        assert_eq!(
            (slow.escalation, slow.severity, slow.login_blocking),
            (Escalation::Warning, Severity::Warning, false),
            "at {minutes} min"
        );
        assert_eq!(
            doc.rollup.state,
            RollupState::Installing,
            "at {minutes} min"
        );
    }
}

#[test]
fn hysteresis_hides_a_blocker_for_its_first_thirty_seconds() {
    let mut snap = Snapshot::default();
    apply_yaml(
        &mut snap,
        &format!("{}\n", crash_pod("redis-0", "app: redis", "redis", "")),
    );
    snap.events.clear();
    let probes = Probes::default();
    let t0 = ts("2026-04-30T02:00:00Z");
    let doc = assess_twice(&mut snap, &probes, t0, t0 + SignedDuration::from_secs(10));
    assert!(
        !doc.top_blockers.iter().any(|b| b.component == "redis"),
        "10 s is within hysteresis"
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
}

fn crash_pod(name: &str, labels: &str, container: &str, last_reason: &str) -> String {
    let reason = if last_reason.is_empty() {
        "Error"
    } else {
        last_reason
    };
    format!(
        r#"apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: msp, labels: {{{labels}}}}}
spec: {{containers: [{{name: {container}, image: "img:1"}}]}}
status:
  phase: Running
  containerStatuses:
  - name: {container}
    image: "img:1"
    imageID: ""
    ready: false
    restartCount: 7
    state: {{waiting: {{reason: CrashLoopBackOff, message: "back-off 5m0s restarting failed container"}}}}
    lastState: {{terminated: {{reason: {reason}, exitCode: 137}}}}
"#
    )
}

#[test]
fn oom_killed_crash_loop_says_out_of_memory() {
    let mut r = replay_to(mins(39));
    apply_yaml(
        &mut r.snapshot,
        &crash_pod("redis-0", "app: redis", "redis", "OOMKilled"),
    );
    let start = r.scenario.start;
    let doc = assess_twice(
        &mut r.snapshot,
        &r.probes,
        start + mins(40),
        start + mins(41),
    );
    let b = doc
        .top_blockers
        .iter()
        .find(|b| b.component == "redis")
        .unwrap();
    assert!(
        b.reason
            .contains("runs out of memory (OOMKilled, exit code 137)"),
        "{}",
        b.reason
    );
    assert!(b.login_blocking);
    // Redis is core: Alga is not usable while it crash-loops.
    assert!(!doc.tiers.core.ready && !doc.tiers.login.ready);
    assert_eq!(doc.rollup.state, RollupState::FailedActionRequired);
}

/// Between two crashes the kubelet runs the container again; without BackOff events to date it
/// (expired, or a kwok node), the crash loop must not vanish and restart its hysteresis at every
/// restart. Found on the smoke run's control plane (`server/tests/control_plane.rs`).
#[test]
fn a_crash_loop_keeps_its_blocker_while_the_container_runs_between_crashes() {
    let mut r = replay_to(mins(39));
    let start = r.scenario.start;
    let crashed = crash_pod("redis-0", "app: redis", "redis", "");
    let running_again = crashed
        .replace(
            r#"state: {waiting: {reason: CrashLoopBackOff, message: "back-off 5m0s restarting failed container"}}"#,
            r#"state: {running: {startedAt: "2026-04-30T01:40:20Z"}}"#,
        )
        .replace("restartCount: 7", "restartCount: 8");
    assert_ne!(crashed, running_again);
    // Applies a pod state and assesses twice, `first` and `second` seconds after minute 40.
    let mut step = |yaml: &str, first: i64, second: i64| {
        apply_yaml(&mut r.snapshot, yaml);
        let at = |secs| start + mins(40) + SignedDuration::from_secs(secs);
        assess_twice(&mut r.snapshot, &r.probes, at(first), at(second))
    };
    let doc = step(&crashed, 0, 5);
    assert!(
        doc.top_blockers.iter().all(|b| b.component != "redis"),
        "within hysteresis"
    );
    let doc = step(&running_again, 20, 25);
    assert!(
        doc.top_blockers.iter().all(|b| b.component != "redis"),
        "still within hysteresis"
    );
    let doc = step(&crashed, 36, 37);
    let b = doc
        .top_blockers
        .iter()
        .find(|b| b.component == "redis")
        .expect("shown 36 s after the first crash, across the restart");
    assert_eq!(b.since, start + mins(40));
    assert!(b.reason.contains("keeps crashing"), "{}", b.reason);
    // And while it runs between crashes, it is still the crash loop.
    let doc = step(&running_again, 40, 41);
    assert!(doc
        .top_blockers
        .iter()
        .any(|b| b.component == "redis" && b.reason.contains("keeps crashing")));
}

#[test]
fn missing_secret_is_a_credentials_blocker() {
    let mut snap = Snapshot::default();
    apply_yaml(
        &mut snap,
        r#"
apiVersion: v1
kind: Pod
metadata: {name: redis-0, namespace: msp, labels: {app: redis}}
spec: {containers: [{name: redis, image: "redis:latest"}]}
status:
  phase: Pending
  containerStatuses:
  - {name: redis, image: "redis:latest", imageID: "", ready: false, restartCount: 0, state: {waiting: {reason: CreateContainerConfigError, message: 'secret "redis-credentials" not found'}}}
"#,
    );
    let t0 = ts("2026-04-30T02:00:00Z");
    let doc = assess_twice(&mut snap, &Probes::default(), t0, t0 + mins(1));
    let b = top(&doc);
    assert_eq!((b.component.as_str(), b.layer), ("redis", Layer::Config));
    assert!(
        b.reason.contains(r#"Secret "redis-credentials" not found"#),
        "{}",
        b.reason
    );
    let cred = doc
        .tiers
        .core
        .checks
        .iter()
        .find(|c| c.name == "core.credentials")
        .unwrap();
    assert_eq!(cred.state, CheckState::Failed);
    assert_eq!(doc.rollup.state, RollupState::FailedActionRequired);
}

#[test]
fn unauthorized_and_dns_pulls_are_classified_from_the_failed_event() {
    let mut snap = Snapshot::default();
    apply_yaml(
        &mut snap,
        r#"
apiVersion: v1
kind: Pod
metadata: {name: alga-core-sebastian-1, namespace: msp, labels: {app.kubernetes.io/name: sebastian, app.kubernetes.io/instance: alga-core}}
spec: {containers: [{name: sebastian, image: "ghcr.io/nine-minds/alga-psa-ee:1.0-rc5"}]}
status:
  phase: Pending
  containerStatuses:
  - {name: sebastian, image: "ghcr.io/nine-minds/alga-psa-ee:1.0-rc5", imageID: "", ready: false, restartCount: 0, state: {waiting: {reason: ImagePullBackOff, message: 'Back-off pulling image "ghcr.io/nine-minds/alga-psa-ee:1.0-rc5"'}}}
---
apiVersion: v1
kind: Event
metadata: {name: e1, namespace: msp}
involvedObject: {kind: Pod, namespace: msp, name: alga-core-sebastian-1}
reason: Failed
type: Warning
firstTimestamp: "2026-04-30T02:00:00Z"
lastTimestamp: "2026-04-30T02:00:00Z"
message: 'Failed to pull image "ghcr.io/nine-minds/alga-psa-ee:1.0-rc5": rpc error: code = Unknown desc = failed to pull and unpack image "ghcr.io/nine-minds/alga-psa-ee:1.0-rc5": failed to resolve reference "ghcr.io/nine-minds/alga-psa-ee:1.0-rc5": failed to authorize: failed to fetch anonymous token: unexpected status: 403 Forbidden'
"#,
    );
    let t0 = ts("2026-04-30T02:00:00Z");
    let doc = assess_twice(&mut snap, &Probes::default(), t0, t0 + mins(1));
    let b = top(&doc);
    assert_eq!((b.component.as_str(), b.layer), ("alga-core", Layer::Image));
    assert!(
        b.reason.starts_with("Not authorized to pull image"),
        "{}",
        b.reason
    );
    assert!(b.next_action.contains("image pull secrets"));

    // The original event expires: only the back-off text is left; still a pull failure.
    snap.events.clear();
    let doc = assess_twice(&mut snap, &Probes::default(), t0 + mins(1), t0 + mins(70));
    let b = top(&doc);
    assert_eq!((b.component.as_str(), b.layer), ("alga-core", Layer::Image));
    assert!(
        b.reason.starts_with("Not authorized to pull image")
            && b.reason.contains("original event has expired"),
        "{}",
        b.reason
    );
    assert_eq!(
        b.since, t0,
        "the blocker keeps its first-seen time after the event expired"
    );
}

#[test]
fn unschedulable_pod_names_the_scheduling_cause() {
    let mut snap = Snapshot::default();
    apply_yaml(
        &mut snap,
        r#"
apiVersion: v1
kind: Pod
metadata: {name: db-0, namespace: msp, labels: {app: db}}
spec: {containers: [{name: db, image: "ankane/pgvector:latest"}]}
status:
  phase: Pending
  conditions:
  - {type: PodScheduled, status: "False", reason: Unschedulable, lastTransitionTime: "2026-04-30T02:00:00Z", message: "0/1 nodes are available: 1 Insufficient memory."}
---
apiVersion: v1
kind: Event
metadata: {name: e1, namespace: msp}
involvedObject: {kind: Pod, namespace: msp, name: db-0}
reason: FailedScheduling
type: Warning
lastTimestamp: "2026-04-30T02:00:05Z"
message: "0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
"#,
    );
    let t0 = ts("2026-04-30T02:00:00Z");
    let doc = assess_twice(&mut snap, &Probes::default(), t0, t0 + mins(1));
    let b = top(&doc);
    assert_eq!((b.component.as_str(), b.layer), ("db", Layer::Node));
    assert!(
        b.reason
            .ends_with("cannot be scheduled: 1 Insufficient memory"),
        "{}",
        b.reason
    );
}

#[test]
fn failed_bootstrap_job_shows_its_log_lines() {
    let mut snap = Snapshot::default();
    apply_yaml(
        &mut snap,
        r#"
apiVersion: batch/v1
kind: Job
metadata: {name: alga-core-sebastian-bootstrap-r2, namespace: msp}
spec: {template: {spec: {containers: [{name: bootstrap, image: x}]}}}
status:
  failed: 3
  conditions:
  - {type: Failed, status: "True", reason: BackoffLimitExceeded, message: "Job has reached the specified backoff limit", lastTransitionTime: "2026-04-30T02:00:00Z"}
---
apiVersion: v1
kind: Pod
metadata: {name: alga-core-sebastian-bootstrap-r2-abc, namespace: msp, labels: {job-name: alga-core-sebastian-bootstrap-r2}}
spec: {containers: [{name: bootstrap, image: x}]}
status: {phase: Failed}
"#,
    );
    snap.logs.push(crate::snapshot::LogExcerpt {
        namespace: "msp".into(),
        pod: "alga-core-sebastian-bootstrap-r2-abc".into(),
        container: Some("bootstrap".into()),
        lines: vec![
            "running seeds".into(),
            "Configured seed directory does not exist: /app/server/seeds/prod".into(),
        ],
    });
    let t0 = ts("2026-04-30T02:00:00Z");
    let doc = assess_twice(&mut snap, &Probes::default(), t0, t0 + mins(1));
    let b = doc
        .top_blockers
        .iter()
        .find(|b| b.component == "bootstrap-job")
        .unwrap();
    assert_eq!((b.layer, b.login_blocking), (Layer::Job, true));
    assert!(
        b.reason
            .contains("Configured seed directory does not exist"),
        "{}",
        b.reason
    );
    assert_eq!(doc.tiers.bootstrap.checks[0].state, CheckState::Failed);
}

#[test]
fn node_not_ready_and_api_unreachable_are_platform_blockers() {
    let mut r = replay_to(mins(55));
    apply_yaml(
        &mut r.snapshot,
        r#"
apiVersion: v1
kind: Node
metadata: {name: appliance-single-node}
status:
  addresses: [{type: InternalIP, address: 192.168.64.8}]
  conditions:
  - {type: Ready, status: "False", reason: KubeletNotReady, message: "container runtime network not ready", lastTransitionTime: "2026-04-30T01:58:00Z"}
  - {type: DiskPressure, status: "True", reason: KubeletHasDiskPressure, message: "kubelet has disk pressure", lastTransitionTime: "2026-04-30T01:58:00Z"}
"#,
    );
    let start = r.scenario.start;
    let doc = assess_twice(
        &mut r.snapshot,
        &r.probes,
        start + mins(58),
        start + mins(60),
    );
    // Login was reached and the web pods still run: a platform problem is not "failed".
    assert_ne!(doc.rollup.state, RollupState::FailedActionRequired);
    let node = doc
        .top_blockers
        .iter()
        .find(|b| b.component == "node")
        .unwrap();
    assert_eq!((node.layer, node.login_blocking), (Layer::Node, false));
    assert!(!doc.tiers.platform.ready);

    r.snapshot.api.unreachable_since = Some(start + mins(59));
    r.snapshot.api.last_error = Some("connection refused".into());
    let doc = assess_twice(
        &mut r.snapshot,
        &r.probes,
        start + mins(60),
        start + mins(62),
    );
    assert!(doc.source.stale);
    assert!(doc
        .source
        .message
        .as_deref()
        .unwrap()
        .contains("unreachable since"));
    let api = doc
        .top_blockers
        .iter()
        .find(|b| b.layer == Layer::Api)
        .unwrap();
    assert!(
        api.reason
            .starts_with("Kubernetes API unreachable since 2026-04-30T01:59:00Z"),
        "{}",
        api.reason
    );
}

#[test]
fn stalled_rollout_is_absorbed_by_its_pod_cause() {
    let mut r = replay_to(mins(42));
    apply_yaml(
        &mut r.snapshot,
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: workflow-worker, namespace: msp}
spec: {replicas: 1, selector: {matchLabels: {app: w}}, template: {spec: {containers: [{name: workflow-worker, image: "ghcr.io/nine-minds/workflow-worker:61e4a00e"}]}}}
status:
  replicas: 1
  readyReplicas: 0
  conditions:
  - {type: Progressing, status: "False", reason: ProgressDeadlineExceeded, message: 'ReplicaSet "workflow-worker-8d7f6c5b4" has timed out progressing.', lastTransitionTime: "2026-04-30T01:52:00Z"}
"#,
    );
    let start = r.scenario.start;
    let doc = assess_twice(
        &mut r.snapshot,
        &r.probes,
        start + mins(52),
        start + mins(53),
    );
    let wf: Vec<_> = doc
        .top_blockers
        .iter()
        .filter(|b| b.component == "workflow-worker")
        .collect();
    assert_eq!(wf.len(), 1, "{wf:#?}");
    assert_eq!(wf[0].layer, Layer::Image);
    assert!(wf[0]
        .evidence
        .iter()
        .any(|e| e.reason.as_deref() == Some("ProgressDeadlineExceeded")));
}

#[test]
fn dependency_not_ready_is_progress() {
    let mut snap = Snapshot::default();
    apply_yaml(
        &mut snap,
        r#"
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: alga-background, namespace: flux-system}
status:
  conditions:
  - {type: Ready, status: "False", reason: DependencyNotReady, message: "Dependencies do not meet ready condition, retrying in 30s", lastTransitionTime: "2026-04-30T01:00:00Z"}
"#,
    );
    let t0 = ts("2026-04-30T02:00:00Z");
    let doc = assess_twice(&mut snap, &Probes::default(), t0, t0 + mins(1));
    assert!(
        doc.top_blockers
            .iter()
            .all(|b| b.component != "flux-kustomizations"),
        "{:#?}",
        doc.top_blockers
    );
    assert!(doc
        .active_operations
        .iter()
        .any(|o| o.target == "Kustomization/flux-system/alga-background"));
}

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
fn document_shape_carries_release_urls_and_components() {
    let mut r = replay_to(mins(55));
    let start = r.scenario.start;
    let doc = assess_twice(
        &mut r.snapshot,
        &r.probes,
        start + mins(55),
        start + mins(57),
    );
    assert_eq!(doc.site_id, "appliance-single-node");
    assert_eq!(
        doc.release.selected_release_version.as_deref(),
        Some("1.0-rc5")
    );
    assert_eq!(doc.release.channel.as_deref(), Some("candidate"));
    assert!(doc
        .release
        .git_revision
        .as_deref()
        .unwrap()
        .starts_with("release/1.0-rc5@sha1:979e2079"));
    assert_eq!(
        doc.urls.login_url.as_deref(),
        Some("http://192.168.64.8:3000")
    );
    assert_eq!(
        doc.urls.status_url.as_deref(),
        Some("http://192.168.64.8:8080")
    );
    assert_eq!(doc.components.len(), catalog().components.len());
    let tw = doc
        .components
        .iter()
        .find(|c| c.name == "temporal-worker")
        .unwrap();
    assert_eq!(
        (tw.ready, tw.desired, tw.status),
        (2, 2, ComponentState::Ready)
    );
    assert!(doc
        .components
        .iter()
        .any(|c| c.name == "pgbouncer" && c.status == ComponentState::Missing));
    let json = serde_json::to_value(&doc).unwrap();
    assert_eq!(json["rollup"]["state"], "fully_healthy");
}

#[test]
fn recent_events_put_warnings_first_newest_first() {
    let mut r = replay_to(mins(42));
    let start = r.scenario.start;
    let doc = assess_twice(
        &mut r.snapshot,
        &r.probes,
        start + mins(42),
        start + mins(43),
    );
    let types: Vec<&str> = doc
        .recent_events
        .iter()
        .map(|e| e.event_type.as_str())
        .collect();
    let first_normal = types
        .iter()
        .position(|t| *t == "Normal")
        .unwrap_or(types.len());
    assert!(
        types[first_normal..].iter().all(|t| *t == "Normal"),
        "{types:?}"
    );
    let warnings = &doc.recent_events[..first_normal];
    assert!(warnings
        .windows(2)
        .all(|w| w[0].last_seen >= w[1].last_seen));
}

#[test]
fn deleting_objects_returns_components_to_missing() {
    let mut r = replay_to(mins(55));
    r.snapshot.delete(&ObjectId {
        kind: "Deployment".into(),
        namespace: "msp".into(),
        name: "email-service".into(),
    });
    r.snapshot
        .pods
        .retain(|(_, name), _| !name.starts_with("email-service"));
    let start = r.scenario.start;
    let doc = assess_twice(
        &mut r.snapshot,
        &r.probes,
        start + mins(55),
        start + mins(57),
    );
    let email = doc
        .components
        .iter()
        .find(|c| c.name == "email-service")
        .unwrap();
    assert_eq!(email.status, ComponentState::Missing);
    assert!(doc.tiers.login.ready);
    assert!(!doc.tiers.background.ready);
}

// ------------------------------------------------------------------------------------------------
// Properties.
// ------------------------------------------------------------------------------------------------

mod properties {
    use super::*;
    use proptest::prelude::*;

    const BACKGROUND: [(&str, &str); 5] = [
        ("temporal", "app.kubernetes.io/name: temporal, app.kubernetes.io/instance: temporal, app.kubernetes.io/component: server"),
        ("temporal-ui", "app.kubernetes.io/name: temporal, app.kubernetes.io/instance: temporal, app.kubernetes.io/component: ui"),
        ("email-service", "app.kubernetes.io/name: email-service, app.kubernetes.io/instance: email-service"),
        ("workflow-worker", "app.kubernetes.io/name: workflow-worker, app.kubernetes.io/instance: workflow-worker"),
        ("temporal-worker", "app.kubernetes.io/name: temporal-worker, app.kubernetes.io/instance: temporal-worker"),
    ];
    const WAITING: [&str; 5] = [
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "CreateContainerConfigError",
        "ErrImagePull",
        "RunContainerError",
    ];

    fn background_pod(i: usize, component: usize, waiting: usize, ready: bool) -> String {
        let (name, labels) = BACKGROUND[component];
        let release = if name == "temporal-ui" {
            "temporal"
        } else {
            name
        };
        let state = if ready {
            "running: {startedAt: \"2026-04-30T01:50:00Z\"}".to_string()
        } else {
            format!(
                "waiting: {{reason: {}, message: 'failed: not found'}}",
                WAITING[waiting]
            )
        };
        format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}-p{i}, namespace: msp, labels: {{{labels}}}}}\nspec: {{containers: [{{name: c, image: \"x:1\"}}]}}\nstatus:\n  phase: Running\n  containerStatuses:\n  - {{name: c, image: \"x:1\", imageID: \"\", ready: {ready}, restartCount: 3, state: {{{state}}}}}\n---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {{name: {release}, namespace: alga-system}}\nstatus:\n  conditions:\n  - {{type: Ready, status: \"False\", reason: InstallFailed, message: \"context deadline exceeded\", lastTransitionTime: \"2026-04-30T01:50:00Z\"}}\n")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Whatever happens to background components, LOGIN_READY does not change.
        #[test]
        fn background_state_never_changes_login_ready(
            pods in proptest::collection::vec((0usize..5, 0usize..5, any::<bool>()), 0..8),
            at_step in prop_oneof![Just(36i64), Just(39), Just(42), Just(55)],
        ) {
            let base = replay_to(mins(at_step));
            let start = base.scenario.start;
            let mut plain = base.clone();
            let expected = assess_twice(&mut plain.snapshot, &plain.probes, start + mins(at_step), start + mins(at_step + 2)).tiers.login.ready;
            let mut changed = base;
            for (i, (component, waiting, ready)) in pods.into_iter().enumerate() {
                apply_yaml(&mut changed.snapshot, &background_pod(i, component, waiting, ready));
            }
            let doc = assess_twice(&mut changed.snapshot, &changed.probes, start + mins(at_step), start + mins(at_step + 2));
            prop_assert_eq!(doc.tiers.login.ready, expected);
            if doc.tiers.login.ready {
                prop_assert_ne!(doc.rollup.state, RollupState::FailedActionRequired);
            }
        }

        /// A known pod-level cause always outranks (and absorbs) the HelmRelease timeout it explains.
        #[test]
        fn lower_cause_outranks_the_helm_timeout(component in 0usize..5, waiting in 0usize..5) {
            let mut snap = Snapshot::default();
            apply_yaml(&mut snap, &background_pod(0, component, waiting, false));
            let t0 = ts("2026-04-30T02:00:00Z");
            let doc = assess_twice(&mut snap, &Probes::default(), t0, t0 + mins(1));
            let name = BACKGROUND[component].0;
            let own: Vec<_> = doc.top_blockers.iter().filter(|b| b.component == name).collect();
            prop_assert!(!own.is_empty());
            prop_assert!(own[0].layer != Layer::Helm, "{:?}", own[0]);
            prop_assert!(own.iter().all(|b| b.layer != Layer::Helm));
            prop_assert!(own[0].evidence.iter().any(|e| e.kind == "HelmRelease"));
        }

        /// `assess` never panics, whatever objects come in.
        #[test]
        fn assess_never_panics_on_arbitrary_objects(objects in proptest::collection::vec(arbitrary_object(), 0..12)) {
            let mut snap = Snapshot::default();
            for value in objects {
                if let Ok(Some(o)) = crate::objects::object_from_value(value) {
                    snap.apply(o);
                }
            }
            snap.remember();
            let t0 = ts("2026-04-30T02:00:00Z");
            let doc = assess_twice(&mut snap, &Probes::default(), t0, t0 + mins(30));
            prop_assert!(serde_json::to_string(&doc).is_ok());
        }
    }

    fn arbitrary_object() -> impl Strategy<Value = serde_json::Value> {
        let kinds = prop_oneof![
            Just(("v1", "Pod")),
            Just(("v1", "Event")),
            Just(("v1", "Node")),
            Just(("apps/v1", "Deployment")),
            Just(("apps/v1", "StatefulSet")),
            Just(("batch/v1", "Job")),
            Just(("v1", "PersistentVolumeClaim")),
            Just(("helm.toolkit.fluxcd.io/v2", "HelmRelease")),
            Just(("kustomize.toolkit.fluxcd.io/v1", "Kustomization")),
            Just(("v1", "ConfigMap")),
            Just(("source.toolkit.fluxcd.io/v1", "GitRepository")),
        ];
        let names = prop_oneof![
            Just("db-0"),
            Just("redis-0"),
            Just("alga-core"),
            Just("workflow-worker"),
            Just("x"),
            Just("")
        ];
        let text = prop_oneof![
            Just("failed to create subPath directory for volumeMount \"db-data\" of container \"db\""),
            Just("lookup ghcr.io on 192.168.64.1:53: connection refused"), Just("context deadline exceeded"),
            Just("not found"), Just(""), Just("lookup "), Just("image \""), Just("secret \""),
        ];
        let reasons = prop_oneof![
            Just("CrashLoopBackOff"),
            Just("ImagePullBackOff"),
            Just("CreateContainerConfigError"),
            Just("Failed"),
            Just("Pulling"),
            Just("InstallFailed"),
            Just("")
        ];
        (kinds, names, text, reasons, any::<bool>(), 0i64..100_000).prop_map(|((api, kind), name, text, reason, flag, n)| {
            let t = format!("2026-04-30T{:02}:{:02}:00Z", (n / 60) % 24, n % 60);
            serde_json::json!({
                "apiVersion": api, "kind": kind,
                "metadata": {"name": name, "namespace": if flag { "msp" } else { "alga-system" }, "labels": {"app": "db", "job-name": name}, "creationTimestamp": t},
                "involvedObject": {"kind": "Pod", "namespace": "msp", "name": name},
                "reason": reason, "message": text, "type": if flag { "Warning" } else { "Normal" }, "lastTimestamp": t,
                "spec": {"replicas": n % 4, "containers": [{"name": "c", "image": text}], "selector": {}, "template": {}},
                "status": {
                    "phase": if flag { "Pending" } else { "Lost" },
                    "replicas": n % 3, "readyReplicas": n % 2,
                    "conditions": [{"type": "Ready", "status": if flag { "False" } else { "Unknown" }, "reason": reason, "message": text, "lastTransitionTime": t}],
                    "containerStatuses": [{"name": "c", "image": text, "imageID": "", "ready": flag, "restartCount": n % 5,
                        "state": {"waiting": {"reason": reason, "message": text}},
                        "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}]
                }
            })
        })
    }
}

#[test]
fn diagnostics_carry_flux_conditions_and_the_bootstrap_summary() {
    let mut r = replay_to(mins(36));
    let start = r.scenario.start;
    let doc = assess_twice(
        &mut r.snapshot,
        &r.probes,
        start + mins(36),
        start + mins(37),
    );
    let b = doc.bootstrap.clone().unwrap();
    assert_eq!(
        (b.state.as_str(), b.job.as_deref()),
        ("running", Some("alga-core-sebastian-bootstrap-r1"))
    );
    assert!(
        b.log_excerpt
            .iter()
            .any(|l| l.contains("running migrations")),
        "{b:?}"
    );
    let hr = doc
        .flux
        .iter()
        .find(|f| f.kind == "HelmRelease" && f.name == "alga-core")
        .unwrap();
    assert_eq!((hr.ready, hr.reason.as_str()), (None, "Progressing"));

    let mut r = replay_to(mins(44));
    let doc = assess_twice(
        &mut r.snapshot,
        &r.probes,
        start + mins(44),
        start + mins(45),
    );
    let b = doc.bootstrap.unwrap();
    assert_eq!(
        (b.state.as_str(), b.job),
        ("completed", None),
        "the Job is gone; the completion is remembered"
    );
    assert!(b.completed_at.is_some());
    let hr = doc
        .flux
        .iter()
        .find(|f| f.kind == "HelmRelease" && f.name == "alga-core")
        .unwrap();
    assert_eq!(hr.ready, Some(true));
    let source = doc.flux.iter().find(|f| f.kind == "GitRepository").unwrap();
    assert!(source
        .revision
        .as_deref()
        .unwrap()
        .starts_with("release/1.0-rc5"));
}

// ------------------------------------------------------------------------------------------------
// One verdict: generated snapshots of the real appliance, held to the invariants.
// ------------------------------------------------------------------------------------------------

mod one_verdict {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    /// The corpus's healthy appliance: every kind, as `kubectl get -A -o yaml` prints it.
    const HEALTHY: &str = include_str!("../../../server/corpus/01-fully-healthy/dump.yaml");
    const AT: &str = "2026-04-30T02:00:00Z";

    /// Pods of catalog components, by name prefix, with their main container.
    const PODS: [&str; 14] = [
        "coredns-",
        "local-path-provisioner-",
        "helm-controller-",
        "appliance-status-",
        "db-0",
        "redis-0",
        "pgbouncer-",
        "alga-core-sebastian-",
        "temporal-5",
        "temporal-ui-",
        "email-service-",
        "workflow-worker-",
        "temporal-worker-",
        "source-controller-",
    ];

    /// What happens to one pod. The first five only take time; the rest are failures.
    #[derive(Clone, Copy, Debug)]
    enum PodFate {
        Pulling(i64),
        NotReady,
        InitWait,
        Interrupted,
        Ready,
        TagMissing,
        CrashLoop,
        SecretMissing,
        Unschedulable,
        Stalled,
    }

    impl PodFate {
        fn fails(self) -> bool {
            matches!(
                self,
                PodFate::TagMissing
                    | PodFate::CrashLoop
                    | PodFate::SecretMissing
                    | PodFate::Unschedulable
                    | PodFate::Stalled
            )
        }
    }

    /// What happens to one Flux object (HelmRelease or Kustomization).
    #[derive(Clone, Copy, Debug)]
    enum FluxFate {
        Ready,
        Reconciling(i64),
        Depends,
        NotObserved,
        InstallFailed,
        UpgradeFailed,
    }

    impl FluxFate {
        fn fails(self) -> bool {
            matches!(self, FluxFate::InstallFailed | FluxFate::UpgradeFailed)
        }
    }

    #[derive(Clone, Debug)]
    struct World {
        pods: Vec<(usize, PodFate)>,
        flux: Vec<(usize, FluxFate)>,
        job: Option<bool>,
        node_down: bool,
        login_probe: Option<bool>,
        seed: Option<u8>,
        mode_fresh: bool,
        minutes_later: i64,
    }

    impl World {
        fn fails(&self) -> bool {
            self.pods.iter().any(|(_, f)| f.fails())
                || self.flux.iter().any(|(_, f)| f.fails())
                || self.job == Some(false)
                || self.node_down
                || self.login_probe == Some(false)
                || self.seed == Some(0)
                || self.mode_fresh
        }
    }

    fn pod_fate(failures: bool) -> BoxedStrategy<PodFate> {
        let progressing = prop_oneof![
            (1i64..40).prop_map(PodFate::Pulling),
            Just(PodFate::NotReady),
            Just(PodFate::InitWait),
            Just(PodFate::Interrupted),
            Just(PodFate::Ready),
        ];
        if !failures {
            return progressing.boxed();
        }
        prop_oneof![
            progressing,
            Just(PodFate::TagMissing),
            Just(PodFate::CrashLoop),
            Just(PodFate::SecretMissing),
            Just(PodFate::Unschedulable),
            Just(PodFate::Stalled),
        ]
        .boxed()
    }

    fn flux_fate(failures: bool) -> BoxedStrategy<FluxFate> {
        let progressing = prop_oneof![
            Just(FluxFate::Ready),
            (1i64..29).prop_map(FluxFate::Reconciling),
            Just(FluxFate::Depends),
            Just(FluxFate::NotObserved),
        ];
        if !failures {
            return progressing.boxed();
        }
        prop_oneof![
            progressing,
            Just(FluxFate::InstallFailed),
            Just(FluxFate::UpgradeFailed)
        ]
        .boxed()
    }

    fn world(failures: bool) -> impl Strategy<Value = World> {
        let f = failures;
        (
            proptest::collection::vec((0..PODS.len(), pod_fate(f)), 0..6),
            proptest::collection::vec((0usize..11, flux_fate(f)), 0..5),
            if f {
                proptest::option::of(any::<bool>()).boxed()
            } else {
                proptest::option::of(Just(true)).boxed()
            },
            if f {
                any::<bool>().boxed()
            } else {
                Just(false).boxed()
            },
            if f {
                proptest::option::of(any::<bool>()).boxed()
            } else {
                proptest::option::of(Just(true)).boxed()
            },
            if f {
                proptest::option::of(0u8..3).boxed()
            } else {
                proptest::option::of(1u8..3).boxed()
            },
            if f {
                any::<bool>().boxed()
            } else {
                Just(false).boxed()
            },
            0i64..60,
        )
            .prop_map(
                |(pods, flux, job, node_down, login_probe, seed, mode_fresh, minutes_later)| {
                    World {
                        pods,
                        flux,
                        job,
                        node_down,
                        login_probe,
                        seed,
                        mode_fresh,
                        minutes_later,
                    }
                },
            )
    }

    fn ago(minutes: i64) -> String {
        (ts(AT) - mins(minutes)).to_string()
    }

    fn event(
        ns: &str,
        pod: &str,
        reason: &str,
        message: &str,
        minutes: i64,
        warning: bool,
    ) -> Value {
        json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": format!("{pod}.{reason}.{minutes}.{}", message.len()), "namespace": ns},
            "involvedObject": {"kind": "Pod", "namespace": ns, "name": pod},
            "reason": reason, "message": message, "type": if warning { "Warning" } else { "Normal" },
            "firstTimestamp": ago(minutes), "lastTimestamp": ago(minutes.min(1)), "count": 3
        })
    }

    /// Makes the pod's owner (Deployment or StatefulSet) report it unready; with `stalled`, its
    /// rollout passed the progress deadline.
    fn unready_owner(items: &mut [Value], pod: &Value, stalled: bool) {
        let hash = pod["metadata"]["labels"]["pod-template-hash"]
            .as_str()
            .map(str::to_string);
        let owner = pod["metadata"]["ownerReferences"][0]["name"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let workload = match &hash {
            Some(h) => owner.trim_end_matches(&format!("-{h}")).to_string(),
            None => owner,
        };
        for item in items.iter_mut() {
            let kind = item["kind"].as_str().unwrap_or("").to_string();
            if !(kind == "Deployment" || kind == "StatefulSet")
                || item["metadata"]["name"] != workload.as_str()
            {
                continue;
            }
            item["status"]["readyReplicas"] = json!(0);
            item["status"]["availableReplicas"] = json!(0);
            if kind == "Deployment" {
                let rs = format!("{workload}-{}", hash.clone().unwrap_or_default());
                let mut conds = vec![
                    json!({"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable", "message": "Deployment does not have minimum availability.", "lastTransitionTime": ago(20)}),
                ];
                conds.push(if stalled {
                    json!({"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": format!("ReplicaSet \"{rs}\" has timed out progressing."), "lastTransitionTime": ago(10)})
                } else {
                    json!({"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated", "message": format!("ReplicaSet \"{rs}\" is progressing."), "lastTransitionTime": ago(20)})
                });
                item["status"]["conditions"] = json!(conds);
            }
        }
    }

    fn unready_containers(status: &mut Value) {
        for c in status["containerStatuses"]
            .as_array_mut()
            .into_iter()
            .flatten()
        {
            c["ready"] = json!(false);
        }
    }

    fn apply_pod(items: &mut Vec<Value>, prefix: &str, fate: PodFate) {
        let Some(i) = items.iter().position(|v| {
            v["kind"] == "Pod"
                && v["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with(prefix))
        }) else {
            return;
        };
        let pod = items[i].clone();
        let ns = pod["metadata"]["namespace"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let name = pod["metadata"]["name"].as_str().unwrap_or("").to_string();
        let container = pod["spec"]["containers"][0]["name"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let image = pod["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let waiting = |reason: &str, message: &str| {
            json!([{"name": container, "image": image, "imageID": "", "ready": false, "restartCount": 4, "started": false,
            "state": {"waiting": {"reason": reason, "message": message}},
            "lastState": {"terminated": {"reason": "Error", "exitCode": 1, "startedAt": ago(3), "finishedAt": ago(2)}}}])
        };
        let mut extra = Vec::new();
        let status = &mut items[i]["status"];
        match fate {
            PodFate::Ready => return,
            PodFate::Pulling(m) => {
                status["containerStatuses"] = waiting("ContainerCreating", "");
                extra.push(event(
                    &ns,
                    &name,
                    "Pulling",
                    &format!("Pulling image \"{image}\""),
                    m,
                    false,
                ));
            }
            PodFate::NotReady => unready_containers(status),
            PodFate::InitWait => {
                status["containerStatuses"] = waiting("PodInitializing", "");
                status["initContainerStatuses"] = json!([{"name": "wait-for-bootstrap", "image": "busybox:1.36", "imageID": "", "ready": false, "restartCount": 0, "started": true, "state": {"running": {"startedAt": ago(15)}}}]);
            }
            PodFate::Interrupted => {
                status["containerStatuses"] = waiting("ContainerCreating", "");
                extra.push(event(&ns, &name, "Failed", &format!("Failed to pull image \"{image}\": rpc error: code = Canceled desc = failed to pull and unpack image \"{image}\": context canceled"), 3, true));
                extra.push(event(
                    &ns,
                    &name,
                    "Pulling",
                    &format!("Pulling image \"{image}\""),
                    2,
                    false,
                ));
            }
            PodFate::TagMissing => {
                status["containerStatuses"] = waiting(
                    "ImagePullBackOff",
                    &format!("Back-off pulling image \"{image}\""),
                );
                extra.push(event(&ns, &name, "Failed", &format!("Failed to pull image \"{image}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": {image}: not found"), 8, true));
            }
            PodFate::CrashLoop => {
                status["containerStatuses"] = waiting(
                    "CrashLoopBackOff",
                    "back-off 5m0s restarting failed container",
                );
                extra.push(event(
                    &ns,
                    &name,
                    "BackOff",
                    &format!(
                        "Back-off restarting failed container {container} in pod {name}_{ns}(0a1b)"
                    ),
                    9,
                    true,
                ));
            }
            PodFate::SecretMissing => {
                status["containerStatuses"] = waiting(
                    "CreateContainerConfigError",
                    "secret \"db-credentials\" not found",
                );
            }
            PodFate::Unschedulable => {
                status["containerStatuses"] = json!([]);
                status["conditions"] = json!([{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/1 nodes are available: 1 Insufficient memory.", "lastTransitionTime": ago(6)}]);
                extra.push(json!({
                    "apiVersion": "v1", "kind": "Event", "metadata": {"name": format!("{name}.sched"), "namespace": ns},
                    "involvedObject": {"kind": "Pod", "namespace": ns, "name": name}, "reason": "FailedScheduling", "type": "Warning",
                    "message": "0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
                    "firstTimestamp": ago(6), "lastTimestamp": ago(1), "count": 5
                }));
            }
            PodFate::Stalled => unready_containers(status),
        }
        unready_owner(items, &pod, matches!(fate, PodFate::Stalled));
        items.extend(extra);
    }

    fn apply_flux(items: &mut [Value], index: usize, fate: FluxFate) {
        let mut flux: Vec<&mut Value> = items
            .iter_mut()
            .filter(|v| v["kind"] == "HelmRelease" || v["kind"] == "Kustomization")
            .collect();
        let n = flux.len();
        let Some(obj) = flux.get_mut(index % n.max(1)) else {
            return;
        };
        let release = obj["kind"] == "HelmRelease";
        let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
        let cond = |t: &str, s: &str, r: &str, m: &str, at: i64| json!({"type": t, "status": s, "reason": r, "message": m, "lastTransitionTime": ago(at)});
        let conditions = match fate {
            FluxFate::Ready => return,
            FluxFate::NotObserved => {
                obj["metadata"]["generation"] = json!(2);
                return;
            }
            FluxFate::Reconciling(m) if release => {
                let msg = "Running 'upgrade' action with timeout of 30m0s";
                vec![cond("Reconciling", "True", "Progressing", msg, m), cond("Ready", "Unknown", "Progressing", msg, m)]
            }
            FluxFate::Reconciling(m) => {
                let msg = "Running health checks for revision release/1.0-rc5@sha1:979e2079 with a timeout of 30m0s";
                vec![cond("Reconciling", "True", "Progressing", msg, m), cond("Ready", "Unknown", "Progressing", "Reconciliation in progress", m)]
            }
            FluxFate::Depends => vec![cond("Ready", "False", "DependencyNotReady", "dependency 'flux-system/alga-core' is not ready", 5)],
            FluxFate::InstallFailed if release => vec![
                cond("Stalled", "True", "RetriesExceeded", "Failed to install after 1 attempt(s)", 4),
                cond("Ready", "False", "InstallFailed", &format!("Helm install failed for release msp/{name} with chart {name}@0.1.0: context deadline exceeded"), 4),
            ],
            FluxFate::UpgradeFailed if release => vec![
                cond("Stalled", "True", "RetriesExceeded", "Failed to upgrade after 1 attempt(s)", 4),
                cond("Ready", "False", "UpgradeFailed", &format!("Helm upgrade failed for release msp/{name} with chart {name}@0.1.1: timed out waiting for the condition"), 4),
            ],
            FluxFate::InstallFailed | FluxFate::UpgradeFailed => vec![
                cond("Ready", "False", "HealthCheckFailed", "timeout waiting for: [HelmRelease/alga-system/alga-core status: 'InProgress']", 4),
            ],
        };
        obj["status"]["conditions"] = json!(conditions);
    }

    fn snapshot_of(world: &World) -> (Snapshot, Probes) {
        static BASE: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
        let mut items = BASE
            .get_or_init(|| {
                let dump: Value = serde_yaml::from_str(HEALTHY).unwrap();
                dump["items"].as_array().cloned().unwrap()
            })
            .clone();
        for (i, fate) in &world.pods {
            apply_pod(&mut items, PODS[*i], *fate);
        }
        for (i, fate) in &world.flux {
            apply_flux(&mut items, *i, *fate);
        }
        if let Some(ok) = world.job {
            let condition = if ok {
                json!([])
            } else {
                json!([{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit", "lastTransitionTime": ago(5)}])
            };
            items.push(json!({
                "apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"name": "alga-core-sebastian-bootstrap-r2", "namespace": "msp"},
                "spec": {"backoffLimit": 2},
                "status": {"startTime": ago(8), "active": if ok { 1 } else { 0 }, "failed": if ok { 0 } else { 3 }, "conditions": condition}
            }));
        }
        for item in items.iter_mut() {
            if world.node_down && item["kind"] == "Node" {
                item["status"]["conditions"] = json!([{"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown", "message": "Kubelet stopped posting node status.", "lastTransitionTime": ago(5)}]);
            }
            if world.mode_fresh
                && item["kind"] == "ConfigMap"
                && item["metadata"]["name"] == "appliance-values-alga-core"
            {
                item["data"]["values.yaml"] = json!("bootstrap:\n  mode: fresh\n");
            }
        }
        let mut snap = Snapshot::default();
        for item in items {
            if let Some(o) = crate::objects::object_from_value(item).unwrap() {
                snap.apply(o);
            }
        }
        snap.remember();
        let mut probes = Probes::default();
        match world.login_probe {
            Some(true) => probes.set("login-url", "307 /msp/dashboard").unwrap(),
            Some(false) => probes
                .set("login-url", "error: connection refused")
                .unwrap(),
            None => {}
        }
        if let Some(n) = world.seed {
            probes.set("seed-users", &n.to_string()).unwrap();
        }
        (snap, probes)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(160))]

        /// Whatever the cluster, the document never contradicts itself (issue 8, deliverable 4).
        #[test]
        fn the_verdict_never_contradicts_itself(world in world(true)) {
            let (mut snap, probes) = snapshot_of(&world);
            let now = ts(AT) + mins(world.minutes_later);
            let doc = assess_twice(&mut snap, &probes, now - mins(1), now);
            let found = invariants::contradictions(&doc);
            prop_assert!(found.is_empty(), "{:?}\n{:#?}\n{:#?}", found, world, doc.top_blockers);
            if !world.fails() {
                prop_assert_ne!(doc.rollup.state, RollupState::FailedActionRequired);
            }
        }

        /// A cluster that only takes its time is never "Failed / action required", and has no
        /// failure blocker at all: only warnings, past their expected time.
        #[test]
        fn progressing_only_is_never_failed(world in world(false)) {
            prop_assert!(!world.fails());
            let (mut snap, probes) = snapshot_of(&world);
            let now = ts(AT) + mins(world.minutes_later);
            let doc = assess_twice(&mut snap, &probes, now - mins(1), now);
            prop_assert_eq!(invariants::contradictions(&doc), Vec::<String>::new());
            prop_assert_ne!(doc.rollup.state, RollupState::FailedActionRequired, "{:#?}\n{:#?}", world, doc.top_blockers);
            prop_assert!(
                doc.top_blockers.iter().all(|b| b.severity == Severity::Warning),
                "{:#?}\n{:#?}", world, doc.top_blockers
            );
        }
    }

    /// The generator itself: the healthy base is fully healthy, and one failure shows.
    #[test]
    fn the_generator_starts_healthy_and_its_failures_show() {
        let healthy = World {
            pods: vec![],
            flux: vec![],
            job: None,
            node_down: false,
            login_probe: Some(true),
            seed: Some(2),
            mode_fresh: false,
            minutes_later: 0,
        };
        let (mut snap, probes) = snapshot_of(&healthy);
        let doc = assess_twice(&mut snap, &probes, ts(AT) - mins(1), ts(AT));
        assert_eq!(
            doc.rollup.state,
            RollupState::FullyHealthy,
            "{:#?}",
            doc.top_blockers
        );
        let broken = World {
            pods: vec![(4, PodFate::TagMissing)],
            ..healthy
        };
        let (mut snap, probes) = snapshot_of(&broken);
        let doc = assess_twice(&mut snap, &probes, ts(AT) - mins(1), ts(AT));
        assert_eq!(doc.rollup.state, RollupState::FailedActionRequired);
        assert_eq!(top(&doc).component, "db");
    }
}

// ------------------------------------------------------------------------------------------------
// The registry check of the selected release (issue 11), on every realistic dump.
// ------------------------------------------------------------------------------------------------

/// Every corpus case with the checker's answer added: alga-core's tag present, workflow-worker's
/// missing. The verdict never contradicts itself; login readiness is what it was without the
/// check; the missing background tag is named (by the registry check, or by a pod already failing
/// to pull it) unless a pod already has the image, and never blocks login.
#[test]
fn registry_answers_on_every_corpus_case() {
    use crate::images::{ImageRef, Outcome};
    use crate::release::{ImageCheck, ReleaseCheck};
    for name in corpus_cases() {
        let (mut snapshot, probes, now) = corpus_inputs(&name);
        let before = assess_twice(&mut snapshot.clone(), &probes, now - mins(1), now);
        let check =
            |key: &str, repo: &str, component: &str, critical: bool, outcome: Outcome| ImageCheck {
                key: key.into(),
                reference: ImageRef::new(repo, "61e4a00e").unwrap().to_string(),
                component: component.into(),
                login_critical: critical,
                last: outcome.clone(),
                settled: Some(outcome),
                checked_at: now - mins(2),
            };
        snapshot.release_check = ReleaseCheck {
            note: Some("checked".into()),
            images: vec![
                check(
                    "algaCore",
                    "ghcr.io/nine-minds/alga-psa-ee",
                    "alga-core",
                    true,
                    Outcome::Present {
                        digest: "sha256:1".into(),
                        media_type: String::new(),
                    },
                ),
                check(
                    "workflowWorker",
                    "ghcr.io/nine-minds/workflow-worker",
                    "workflow-worker",
                    false,
                    Outcome::TagMissing,
                ),
            ],
        };
        let doc = assess_twice(&mut snapshot, &probes, now - mins(1), now);
        assert_eq!(
            invariants::contradictions(&doc),
            Vec::<String>::new(),
            "{name}"
        );
        assert_eq!(doc.tiers.login.ready, before.tiers.login.ready, "{name}");
        let named: Vec<_> = doc
            .top_blockers
            .iter()
            .filter(|b| {
                b.component == "workflow-worker" && b.reason.contains("workflow-worker:61e4a00e")
            })
            .collect();
        // A pod that already has the image (imageID set) makes the registry's answer moot.
        let on_node = snapshot.pods.values().any(|p| {
            p.status
                .iter()
                .flat_map(|s| s.container_statuses.iter().flatten())
                .any(|cs| cs.image.ends_with("workflow-worker:61e4a00e") && !cs.image_id.is_empty())
        });
        if on_node {
            assert!(
                !doc.top_blockers
                    .iter()
                    .any(|b| b.id.ends_with("/registry-tag-missing")),
                "{name}: {:#?}",
                doc.top_blockers
            );
        } else {
            assert!(!named.is_empty(), "{name}: {:#?}", doc.top_blockers);
        }
        assert!(named.iter().all(|b| !b.login_blocking), "{name}");
    }
}

/// A tag the registry no longer has does not matter to a component whose pods already run that
/// image: alga-core serving from a pulled image is no login blocker, whatever the registry says.
#[test]
fn a_missing_tag_already_running_blocks_nothing() {
    use crate::images::Outcome;
    use crate::release::{ImageCheck, ReleaseCheck};
    let (mut snapshot, probes, now) = corpus_inputs("01-fully-healthy");
    let running = snapshot
        .pods
        .values()
        .flat_map(|p| {
            p.status
                .iter()
                .flat_map(|s| s.container_statuses.iter().flatten())
        })
        .find(|cs| cs.image.contains("alga-psa-ee"))
        .map(|cs| cs.image.clone())
        .expect("alga-core runs in the healthy case");
    snapshot.release_check = ReleaseCheck {
        note: Some("checked".into()),
        images: vec![ImageCheck {
            key: "algaCore".into(),
            reference: running,
            component: "alga-core".into(),
            login_critical: true,
            last: Outcome::TagMissing,
            settled: Some(Outcome::TagMissing),
            checked_at: now - mins(2),
        }],
    };
    let doc = assess_twice(&mut snapshot, &probes, now - mins(1), now);
    assert!(doc.tiers.login.ready, "{:#?}", doc.top_blockers);
    assert_eq!(
        doc.rollup.state,
        RollupState::FullyHealthy,
        "{:#?}",
        doc.top_blockers
    );
}
