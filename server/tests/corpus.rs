//! The realistic corpus (server/corpus/, written by testing/corpus/generate.py): complete
//! `kubectl get -A -o yaml` dumps of the appliance at moments of a bootstrap, each run through the
//! real `appliance-status assess` binary and held to its expected rollup, ready tiers, top blocker
//! and named checks — and to the invariants of one consistent verdict.

mod support;

use app::status::{CheckState, StatusDocument, Tier};
use appliance_status::assess::invariants::contradictions;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use support::bin;

#[derive(Deserialize)]
struct Cases {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Case {
    name: String,
    now: String,
    probes: Vec<String>,
    expect: Expect,
}

#[derive(Deserialize)]
struct Expect {
    rollup: String,
    ready: Vec<String>,
    top: Option<Top>,
    #[serde(default)]
    checks: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    detail: std::collections::BTreeMap<String, String>,
    /// Words the rollup message must contain.
    #[serde(default)]
    message: Option<String>,
    /// Words one of the active operations' messages must contain.
    #[serde(default)]
    operation: Option<String>,
    /// The update under way (every other case: none).
    #[serde(default)]
    update: Option<ExpectUpdate>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExpectUpdate {
    state: String,
    from_release: String,
    to: String,
    /// Words its message must contain.
    message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Top {
    component: String,
    layer: String,
    login_blocking: bool,
    severity: String,
    #[serde(default)]
    reason: Option<String>,
    /// A kind that must be among the top blocker's evidence (the symptom it absorbed).
    #[serde(default)]
    evidence: Option<String>,
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

fn assess(case: &Case) -> (StatusDocument, String) {
    let mut cmd = bin();
    cmd.args(["assess", "-o", "json", "--now", &case.now]);
    for p in &case.probes {
        cmd.arg("--probe").arg(p);
    }
    let out = cmd
        .arg(corpus().join(&case.name).join("dump.yaml"))
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{}: {stderr}", case.name);
    let doc = serde_json::from_slice(&out.stdout).expect("assess prints the document");
    (doc, stderr)
}

fn json_name<T: serde::Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .unwrap()
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn every_corpus_dump_gets_its_expected_verdict() {
    let text = std::fs::read_to_string(corpus().join("cases.yaml")).unwrap();
    let cases: Cases = serde_yaml::from_str(&text).unwrap();
    assert!(cases.cases.len() >= 20, "the corpus has at least 20 states");
    let mut failures = Vec::new();
    for case in &cases.cases {
        let (doc, stderr) = assess(case);
        let mut wrong = Vec::new();
        let rollup = json_name(doc.rollup.state);
        if rollup != case.expect.rollup {
            wrong.push(format!("rollup {rollup}, expected {}", case.expect.rollup));
        }
        let ready: Vec<String> = Tier::ALL
            .into_iter()
            .filter(|t| doc.tiers.get(*t).ready)
            .map(json_name)
            .collect();
        if ready != case.expect.ready {
            wrong.push(format!("ready {ready:?}, expected {:?}", case.expect.ready));
        }
        match (&case.expect.top, doc.top_blockers.first()) {
            (None, None) => {}
            (None, Some(b)) => wrong.push(format!("unexpected top blocker {}: {}", b.id, b.reason)),
            (Some(t), None) => wrong.push(format!("no blocker, expected {}", t.component)),
            (Some(t), Some(b)) => {
                let got = (
                    b.component.as_str(),
                    json_name(b.layer),
                    b.login_blocking,
                    json_name(b.severity),
                );
                let want = (
                    t.component.as_str(),
                    t.layer.clone(),
                    t.login_blocking,
                    t.severity.clone(),
                );
                if got != want {
                    wrong.push(format!(
                        "top blocker {got:?} ({}), expected {want:?}",
                        b.reason
                    ));
                }
                if let Some(r) = &t.reason {
                    if !b.reason.contains(r.as_str()) {
                        wrong.push(format!("top reason {:?} lacks {r:?}", b.reason));
                    }
                }
                if let Some(kind) = &t.evidence {
                    if !b.evidence.iter().any(|e| &e.kind == kind) {
                        wrong.push(format!("top blocker has no {kind} evidence"));
                    }
                }
            }
        }
        let all_checks: Vec<_> = Tier::ALL
            .into_iter()
            .flat_map(|t| doc.tiers.get(t).checks.clone())
            .collect();
        for (name, state) in &case.expect.checks {
            match all_checks.iter().find(|c| &c.name == name) {
                Some(c) if json_name(c.state) == *state => {}
                Some(c) => wrong.push(format!(
                    "check {name} is {:?} ({:?}), expected {state}",
                    c.state, c.detail
                )),
                None => wrong.push(format!("no check {name}")),
            }
        }
        for (name, words) in &case.expect.detail {
            let detail = all_checks
                .iter()
                .find(|c| &c.name == name)
                .and_then(|c| c.detail.clone())
                .unwrap_or_default();
            if !detail.contains(words.as_str()) {
                wrong.push(format!("check {name} detail {detail:?} lacks {words:?}"));
            }
        }
        if let Some(words) = &case.expect.message {
            if !doc.rollup.message.contains(words.as_str()) {
                wrong.push(format!(
                    "rollup message {:?} lacks {words:?}",
                    doc.rollup.message
                ));
            }
        }
        if let Some(words) = &case.expect.operation {
            if !doc
                .active_operations
                .iter()
                .any(|o| o.message.contains(words.as_str()))
            {
                let ops: Vec<&str> = doc
                    .active_operations
                    .iter()
                    .map(|o| o.message.as_str())
                    .collect();
                wrong.push(format!("no operation says {words:?}: {ops:?}"));
            }
        }
        match (&case.expect.update, &doc.release.update) {
            (None, None) => {}
            (Some(want), Some(got)) => {
                let said = (got.state.as_str(), got.from.as_str(), got.to.as_str());
                if said
                    != (
                        want.state.as_str(),
                        want.from_release.as_str(),
                        want.to.as_str(),
                    )
                    || !got.message.contains(want.message.as_str())
                {
                    wrong.push(format!(
                        "update {got:?}, expected {} {} → {} saying {:?}",
                        want.state, want.from_release, want.to, want.message
                    ));
                }
            }
            (want, got) => wrong.push(format!(
                "update {got:?}, expected {}",
                if want.is_some() { "one" } else { "none" }
            )),
        }
        for c in contradictions(&doc) {
            wrong.push(format!("contradiction: {c}"));
        }
        // Ignored kinds are summarised, one line each.
        let ignored_lines = stderr.lines().filter(|l| l.contains("ignored")).count();
        if ignored_lines > 8 {
            wrong.push(format!("{ignored_lines} lines about ignored objects"));
        }
        // Nothing of a Secret's data reaches the document.
        let json = serde_json::to_string(&doc).unwrap();
        if json.contains("c2VjcmV0") || json.contains("cGFzc3dvcmQ") {
            wrong.push("Secret data in the document".into());
        }
        if !wrong.is_empty() {
            let failed: Vec<String> = all_checks
                .iter()
                .filter(|c| c.state == CheckState::Failed)
                .map(|c| format!("{}={:?}", c.name, c.blockers))
                .collect();
            let blockers: Vec<String> = doc
                .top_blockers
                .iter()
                .map(|b| format!("{} [{:?}, {:?}] {}", b.id, b.severity, b.tier, b.reason))
                .collect();
            failures.push(format!(
                "{}:\n  {}\n  blockers: {blockers:#?}\n  failed checks: {failed:?}\n  rollup: {}",
                case.name,
                wrong.join("\n  "),
                doc.rollup.message
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The dumps are what a cluster writes, so a real API server accepts them: every object and its
/// status pass the built-in and the Flux CRDs' validation (this found ReplicaSet templates
/// without `pod-template-hash` and Flux artifacts without `url`). The dumps are applied one after
/// another to one API server (its Jobs and pods deleted in between), each object then its status,
/// times moved to now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_corpus_dump_is_accepted_by_a_real_api_server() {
    let cluster = testenv::TestCluster::start().expect("test API server");
    cluster.install_flux_crds().unwrap();
    let client = cluster.client().await.unwrap();
    let mut loader =
        testenv::ScenarioLoader::new(client, "start: '2026-04-30T00:00:00Z'\nsteps: []\n")
            .await
            .unwrap();
    let text = std::fs::read_to_string(corpus().join("cases.yaml")).unwrap();
    let cases: Cases = serde_yaml::from_str(&text).unwrap();
    assert!(
        cases.cases.len() >= 25,
        "the corpus has {} cases",
        cases.cases.len()
    );
    for case in &cases.cases {
        // Each dump is its own cluster: a Job that completed in one cannot fail in the next.
        cluster
            .kubectl(
                &[
                    "delete",
                    "jobs,pods",
                    "--all",
                    "-A",
                    "--grace-period=0",
                    "--force",
                ],
                None,
            )
            .unwrap();
        let dump: serde_json::Value = serde_yaml::from_str(
            &std::fs::read_to_string(corpus().join(&case.name).join("dump.yaml")).unwrap(),
        )
        .unwrap();
        let at: jiff::Timestamp = case.now.parse().unwrap();
        let applied = loader
            .apply_dump(&dump, jiff::Timestamp::now().duration_since(at))
            .await
            .unwrap_or_else(|e| panic!("{}: {e:#}", case.name));
        assert!(
            applied.get("Pod").copied().unwrap_or(0) > 0,
            "{}",
            case.name
        );
    }
}
