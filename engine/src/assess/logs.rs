//! Signals that only appear in container logs (signals §6).

use app::status::Layer;

/// A cause recognised in a log tail.
#[derive(Clone, Debug, PartialEq)]
pub struct LogSignal {
    pub slug: &'static str,
    pub layer: Layer,
    pub reason: String,
    pub next_action: String,
    /// The lines that matched, as evidence.
    pub lines: Vec<String>,
}

/// Recognises Temporal schema and service-link failures in a crash-looping container's log.
pub fn crash_signal(lines: &[String]) -> Option<LogSignal> {
    if let Some(line) = lines
        .iter()
        .find(|l| l.contains("sql schema version compatibility check failed"))
    {
        return Some(LogSignal {
            slug: "temporal-schema",
            layer: Layer::Log,
            reason: "Temporal schema not initialised: the server refuses to start (sql schema version compatibility check failed)".into(),
            next_action: "Verify that Temporal runs with autosetup (temporalio/auto-setup with the autosetup command) or that the schema job ran, then restart the Temporal pod.".into(),
            lines: vec![line.clone()],
        });
    }
    if let Some(line) = lines
        .iter()
        .find(|l| l.contains("cannot unmarshal") && l.contains("tcp://") && l.contains("into int"))
    {
        return Some(LogSignal {
            slug: "service-link-collision",
            layer: Layer::Config,
            reason: "Kubernetes service-link environment collision: a *_PORT variable holds a tcp:// address where the program expects a number".into(),
            next_action: "Set enableServiceLinks: false on the Deployment (pod spec) and let it roll out.".into(),
            lines: vec![line.clone()],
        });
    }
    None
}

/// Recognises bootstrap (migrations, seeds) failures in the bootstrap Job's log.
pub fn bootstrap_errors(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| {
            let lower = l.to_ascii_lowercase();
            l.contains("ERROR")
                || l.contains("FATAL")
                || lower.contains("migration failed")
                || (lower.contains("seed") && lower.contains("failed"))
                || l.contains("Configured seed directory does not exist")
        })
        .take(10)
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    #[test]
    fn temporal_schema_not_initialised() {
        let log = lines("2026-04-30T02:01:00Z info starting\nUnable to start server. Error: sql schema version compatibility check failed: version mismatch for keyspace/database: \"temporal\". Expected version: 1.14 cannot be greater than Actual version: 0.0");
        let s = crash_signal(&log).unwrap();
        assert_eq!(s.slug, "temporal-schema");
        assert_eq!(s.lines.len(), 1);
    }

    #[test]
    fn temporal_ui_service_link_collision() {
        let log = lines("panic: yaml: unmarshal errors:\n  line 3: cannot unmarshal !!str `tcp://10.96.0.1:443` into int");
        assert_eq!(crash_signal(&log).unwrap().slug, "service-link-collision");
        assert_eq!(crash_signal(&lines("all good")), None);
    }

    #[test]
    fn bootstrap_failures() {
        let log = lines("running migrations\nMigration failed: relation \"users\" already exists\nConfigured seed directory does not exist: /app/seeds\ndone");
        assert_eq!(bootstrap_errors(&log).len(), 2);
        assert!(bootstrap_errors(&lines("ok\nall migrations applied")).is_empty());
    }
}

/// This rule through the whole assessment, on objects as the cluster writes them.
#[cfg(test)]
mod assessed {
    use crate::assess::testkit::*;

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
}
