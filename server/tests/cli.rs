//! `appliance-status assess` as support runs it on a customer's dump: the real binary, real files.

mod support;

use std::io::Write;
use std::path::PathBuf;
use std::process::Stdio;
use support::{bin, stderr, stdout};

fn write(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("appliance-status-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The subPath failure behind the Helm timeout, as `kubectl get -o yaml` would dump it.
const DUMP: &str = r#"
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: db-0, namespace: msp, labels: {app: db}}
  spec: {containers: [{name: db, image: "ankane/pgvector:latest"}]}
  status:
    phase: Pending
    containerStatuses:
    - {name: db, image: "ankane/pgvector:latest", imageID: "", ready: false, restartCount: 0, state: {waiting: {reason: CreateContainerConfigError, message: 'failed to create subPath directory for volumeMount "db-data" of container "db"'}}}
- apiVersion: helm.toolkit.fluxcd.io/v2
  kind: HelmRelease
  metadata: {name: alga-core, namespace: alga-system}
  status:
    conditions:
    - {type: Ready, status: "False", reason: InstallFailed, lastTransitionTime: "2026-04-30T01:33:00Z", message: "Helm install failed for release alga-system/alga-core with chart sebastian@0.1.0: context deadline exceeded"}
- apiVersion: v1
  kind: Service
  metadata: {name: db, namespace: msp}
"#;

#[test]
fn assess_prints_the_document_for_a_dump() {
    let dump = write("dump.yaml", DUMP);
    let out = bin()
        .args(["assess", "-o", "json", "--now", "2026-04-30T02:00:00Z"])
        .arg(&dump)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["rollup"]["state"], "failed_action_required");
    assert_eq!(doc["topBlockers"][0]["component"], "db");
    assert_eq!(doc["topBlockers"][0]["layer"], "storage");
    assert!(
        stderr(&out).contains("1 object of kind \"Service\" ignored: not used by appliance-status"),
        "{}",
        stderr(&out)
    );

    let text = bin()
        .args([
            "assess",
            "--format",
            "text",
            "--now",
            "2026-04-30T02:00:00Z",
            "--probe",
            "seed-users=0",
        ])
        .arg(&dump)
        .output()
        .unwrap();
    assert!(text.status.success());
    let text = stdout(&text);
    assert!(
        text.starts_with("Status: Failed / action required"),
        "{text}"
    );
    assert!(
        text.contains(
            "1. [critical, blocks login] db (Storage): Postgres PVC initialization failed"
        ),
        "{text}"
    );
    assert!(
        text.contains("context deadline exceeded"),
        "the timeout is shown as evidence: {text}"
    );
}

#[test]
fn assess_reads_standard_input() {
    let mut child = bin()
        .args(["assess", "-o", "json", "--now", "2026-04-30T02:00:00Z", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(DUMP.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("\"siteId\": \"appliance-single-node\""));
}

#[test]
fn bad_input_is_a_clear_error_with_exit_code_2() {
    let garbage = write(
        "garbage.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: msp}\n---\n{ not: [valid\n",
    );
    let out = bin().arg("assess").arg(&garbage).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("garbage.yaml") && err.contains("document 2"),
        "{err}"
    );
    assert!(stdout(&out).is_empty());

    let binary = write("binary.yaml", "");
    std::fs::write(&binary, [0xff, 0xfe, 0x00, 0x01]).unwrap();
    let out = bin().arg("assess").arg(&binary).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not UTF-8"), "{}", stderr(&out));

    let out = bin()
        .args(["assess", "/nonexistent/dump.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot read /nonexistent/dump.yaml"),
        "{}",
        stderr(&out)
    );

    let out = bin()
        .args(["assess", "--probe", "login=200"])
        .arg(write("ok.yaml", DUMP))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown probe \"login\""),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_malformed_catalog_is_a_clear_error() {
    let catalog = write("catalog.yaml", "site: {siteId: x}\ncomponents: []\n");
    let out = bin()
        .args(["assess", "--catalog"])
        .arg(&catalog)
        .arg(write("d.yaml", DUMP))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("catalog.yaml"), "{}", stderr(&out));

    let out = bin()
        .args([
            "serve",
            "--no-site",
            "--demo",
            "--catalog",
            "/nonexistent/catalog.yaml",
            "--listen",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot read /nonexistent/catalog.yaml"),
        "{}",
        stderr(&out)
    );
}
