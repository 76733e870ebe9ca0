//! The support bundle end to end, on a real kube-apiserver: secrets planted in the cluster (a
//! Secret's data, a ConfigMap value, a Job's environment, an event quoting a database URL and the
//! service's own token) and in the service's environment and arguments never reach the bundle the
//! service serves or the CLI writes; `assess` reads the bundle back to the verdict the service
//! published.

mod support;

use serde_json::json;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};
use support::bin;
use testenv::{ScenarioLoader, TestCluster};

const TOKEN: &str = "5b1e0c9a7d3f2e8b4a6c1d9e0f7a3b5c8d2e4f6a1b3c5d7e9f0a2b4c6d8e0f1a";

/// Asserts that a command succeeded, with its standard error if not.
fn succeeded(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every file of a bundle, by its path below the bundle's directory.
fn unpack(bundle: &[u8]) -> Vec<(String, String)> {
    appliance_status::bundle::files(bundle).unwrap()
}

const PLANTED: [&str; 8] = [
    "cGxhbnRlZC1zZWNyZXQ=",   // the Secret's data (base64 of "planted-secret")
    "planted-config-value",   // a ConfigMap value the engine does not read
    "planted-job-env",        // a Job's environment
    "planted-db-pass",        // a database URL's password in an event
    TOKEN,                    // the service's token, quoted in an event
    "planted-service-env",    // the service's environment
    "planted-arg-pass",       // a credential in the service's arguments
    "plantedbearervalue1234", // a bearer credential in an event
];

fn assert_redacted(bundle: &[u8], origin: &str) {
    let files = unpack(bundle);
    assert!(files.iter().any(|(p, _)| p == "objects.yaml"), "{origin}");
    for (path, text) in &files {
        for secret in PLANTED {
            assert!(!text.contains(secret), "{origin}: {secret} in {path}");
        }
    }
    let all: String = files.iter().map(|(_, t)| t.as_str()).collect();
    // What support needs around them stays (Secrets are listed only with --secret-metadata).
    for kept in [
        "postgres://[redacted]@db:5432",
        "releaseVersion: 1.0-rc5",
        "dbAdminNote",
        "PLANTED_ENV",
        "planted-job",
        "busybox:1",
    ] {
        assert!(all.contains(kept), "{origin}: {kept} is missing");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_support_bundle_is_redacted_and_replays() {
    let cluster = TestCluster::start().expect("test API server");
    cluster.install_flux_crds().unwrap();
    let client = cluster.client().await.unwrap();
    let mut loader = ScenarioLoader::new(client, "start: '2026-04-30T00:00:00Z'\nsteps: []\n")
        .await
        .unwrap();
    // A real case: temporal crash-looping behind a background reconcile.
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let dump: serde_json::Value = serde_yaml::from_str(
        &std::fs::read_to_string(corpus.join("17-temporal-crash-loop/dump.yaml")).unwrap(),
    )
    .unwrap();
    let (_, _, at) = appliance_engine::fixtures::corpus_inputs("17-temporal-crash-loop");
    loader
        .apply_dump(&dump, jiff::Timestamp::now().duration_since(at))
        .await
        .unwrap();
    let now = jiff::Timestamp::now().to_string();
    for object in [
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db-credentials", "namespace": "msp"},
            "data": {"DB_PASSWORD_SERVER": "cGxhbnRlZC1zZWNyZXQ="}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "appliance-release", "namespace": "alga-system"},
            "data": {"releaseVersion": "1.0-rc5", "appVersion": "1.0-rc5", "channel": "candidate",
                     "dbAdminNote": "planted-config-value"}}),
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "planted-job", "namespace": "msp"},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox:1",
                "env": [{"name": "PGPASSWORD", "value": "planted-job-env"}]}]}}}}),
        json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "planted.1", "namespace": "msp"},
            "involvedObject": {"kind": "Pod", "namespace": "msp", "name": "temporal-0"},
            "type": "Warning", "reason": "Failed", "lastTimestamp": now, "firstTimestamp": now, "count": 1,
            "message": format!("dial postgres://temporal:planted-db-pass@db:5432/temporal: refused; Authorization: Bearer plantedbearervalue1234; token {TOKEN}")}),
    ] {
        loader.apply_object(object).await.unwrap();
    }

    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let service = testenv::Served::start(
        env!("CARGO_BIN_EXE_appliance-status"),
        &[
            &"--kubeconfig",
            &cluster.kubeconfig,
            &"--token-file",
            &token_file,
            &"--no-log-tails",
            &"--no-outbound-checks",
            &"--login-url",
            &"https://admin:planted-arg-pass@127.0.0.1:9/",
        ],
        &[("PLANTED_ENV", "planted-service-env")],
    )
    .unwrap();
    let url = service.url();
    let http = reqwest::Client::new();
    let began = Instant::now();
    loop {
        let ready = http.get(format!("{url}/readyz")).send().await;
        if ready.is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(
            began.elapsed() < Duration::from_secs(60),
            "serve never ready"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Let the planted event and the first assessment settle.
    tokio::time::sleep(Duration::from_secs(2)).await;

    // The door: no token, a wrong token.
    let endpoint = format!("{url}/api/support-bundle");
    assert_eq!(http.get(&endpoint).send().await.unwrap().status(), 401);
    let wrong = http
        .get(&endpoint)
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    // The download, as the diagnostics tab's link gets it.
    let response = http.get(&endpoint).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/gzip");
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.starts_with("attachment; filename=\"appliance-status-"),
        "{disposition}"
    );
    let served = response.bytes().await.unwrap();
    assert_redacted(&served, "served bundle");

    // The CLI, from the service.
    let file = dir.path().join("bundle.tar.gz");
    let out = bin()
        .env("APPLIANCE_STATUS_TOKEN", TOKEN)
        .args(["support-bundle", "--url", &url, "--file"])
        .arg(&file)
        .output()
        .unwrap();
    succeeded(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("appliance-status assess"));
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let bytes = std::fs::read(&file).unwrap();
    assert_redacted(&bytes, "CLI bundle");

    // Support replays it offline: the verdict the service published.
    let published: app::status::StatusDocument = serde_json::from_str(
        &unpack(&bytes)
            .into_iter()
            .find(|(p, _)| p == "status.json")
            .unwrap()
            .1,
    )
    .unwrap();
    let out = bin()
        .args(["assess", "-o", "json"])
        .arg(&file)
        .output()
        .unwrap();
    succeeded(&out);
    let replayed: app::status::StatusDocument = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(replayed.rollup.state, published.rollup.state);
    let ids = |d: &app::status::StatusDocument| {
        d.top_blockers
            .iter()
            .map(|b| b.id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&replayed), ids(&published));
    assert!(
        ids(&published).iter().any(|id| id.contains("temporal")),
        "{:?}",
        ids(&published)
    );

    // The CLI without a service: written here from the kubeconfig.
    let local = dir.path().join("local.tar.gz");
    let out = bin()
        .env_remove("APPLIANCE_STATUS_URL")
        .args(["support-bundle", "--kubeconfig"])
        .arg(&cluster.kubeconfig)
        .arg("--file")
        .arg(&local)
        .output()
        .unwrap();
    succeeded(&out);
    let files = unpack(&std::fs::read(&local).unwrap());
    assert!(files
        .iter()
        .any(|(p, t)| p == "objects.yaml" && t.contains("temporal-0")));
    for (path, text) in &files {
        assert!(!text.contains("planted-db-pass"), "{path}");
        assert!(!text.contains("cGxhbnRlZC1zZWNyZXQ="), "{path}");
    }

    // Bad input to `assess`: a clear error, exit 2.
    let garbage = dir.path().join("garbage.tar.gz");
    std::fs::write(&garbage, [0x1f, 0x8b, 0, 1, 2, 3]).unwrap();
    let out = bin().arg("assess").arg(&garbage).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a support bundle"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
