//! `validate-release` against a real OCI registry (Debian's docker-registry, the CNCF distribution
//! registry) on loopback with TLS from a test CA and ghcr.io's token flow (testenv's token
//! server): every outcome with its exit code, and bad input refused clearly.

mod support;

use std::path::Path;
use std::process::Output;
use std::time::Duration;
use support::{bin, stderr};
use testenv::registry::{TestRegistry, READER};

const RELEASE: &str = include_str!("fixtures/release-1.0-rc5.json");

/// The release's images as published: workflow-worker exists, but not at the release's tag.
const PUBLISHED: [(&str, &str); 4] = [
    ("nine-minds/alga-psa-ee", "61e4a00e"),
    ("nine-minds/email-service", "979e207"),
    ("nine-minds/temporal-worker", "61e4a00e"),
    ("nine-minds/workflow-worker", "0badc0de"),
];

fn validate(dir: &Path, registry: &TestRegistry, extra: &[&str]) -> (Output, serde_json::Value) {
    let file = dir.join("release.json");
    if !file.exists() {
        std::fs::write(&file, RELEASE).unwrap();
    }
    let out = bin()
        .arg("validate-release")
        .arg(&file)
        .args(["--output", "json", "--registry-ca-file"])
        .arg(&registry.ca_file)
        .args(["--registry-mirror", &format!("ghcr.io={}", registry.addr)])
        .args(extra)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out, json)
}

fn outcome<'a>(report: &'a serde_json::Value, key: &str) -> &'a serde_json::Value {
    report["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key"] == key)
        .unwrap_or_else(|| panic!("{key} not in {report}"))
}

/// A docker `config.json` holding the reader's credentials for `host`.
fn docker_config(dir: &Path, host: &str) -> std::path::PathBuf {
    let path = dir.join(format!("config-{}.json", host.replace(':', "_")));
    std::fs::write(
        &path,
        format!(
            r#"{{"auths": {{"{host}": {{"username": "{}", "password": "{}"}}}}}}"#,
            READER.0, READER.1
        ),
    )
    .unwrap();
    path
}

/// Credentials go only to the host they were configured for, and to a token service only over
/// https on that host: a mirror never gets the upstream registry's, and a registry naming a
/// plain-http or foreign token service gets nothing sent there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_credentials_stay_with_their_host() {
    // A trap where a hostile registry sends clients for a token: it counts what arrives.
    let trap_hits = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let hits = trap_hits.clone();
    let trap = axum::Router::new().route(
        "/steal",
        axum::routing::get(move |headers: axum::http::HeaderMap| {
            let hits = hits.clone();
            async move {
                let auth = headers
                    .get("authorization")
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
                hits.lock().unwrap().push(auth.unwrap_or_default());
                (axum::http::StatusCode::UNAUTHORIZED, "no")
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let trap_url = format!("http://{}/steal", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, trap).await });

    let hostile = TestRegistry::start_with_realm(&["nine-minds/alga-psa-ee"], Some(&trap_url))
        .await
        .expect("test registry");
    hostile.push_all(&PUBLISHED).await.unwrap();
    hostile
        .push("nine-minds/alga-psa-ee", "61e4a00e")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let creds = docker_config(dir.path(), &hostile.addr);
    let (out, report) = validate(
        dir.path(),
        &hostile,
        &["--registry-config", creds.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(6), "{report}");
    let detail = outcome(&report, "algaCore")["result"]["detail"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(detail.contains("plain http"), "{report}");
    assert!(
        trap_hits.lock().unwrap().iter().all(|auth| auth.is_empty()),
        "credentials reached the trap: {:?}",
        trap_hits.lock().unwrap()
    );

    // A mirror gets only its own credentials: with the reader's configured for ghcr.io (the
    // upstream), the mirror standing in for it is asked anonymously, and the private repository
    // is refused without the token service ever seeing them.
    let registry = TestRegistry::start(&["nine-minds/alga-psa-ee"])
        .await
        .expect("test registry");
    registry.push_all(&PUBLISHED).await.unwrap();
    registry
        .push("nine-minds/alga-psa-ee", "61e4a00e")
        .await
        .unwrap();
    let seen_before = registry.credentials_seen();
    let upstream_creds = docker_config(dir.path(), "ghcr.io");
    let (out, report) = validate(
        dir.path(),
        &registry,
        &["--registry-config", upstream_creds.to_str().unwrap()],
    );
    let core = &outcome(&report, "algaCore")["result"];
    assert_eq!(core["outcome"], "unauthorized", "{report}");
    assert!(
        core["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("anonymous"),
        "{report}"
    );
    assert_eq!(
        out.status.code(),
        Some(4),
        "a background tag is missing too: {report}"
    );
    assert_eq!(registry.credentials_seen(), seen_before, "{report}");
    // Its own credentials, over https to its own host, work.
    let own = docker_config(dir.path(), &registry.addr);
    let (out, report) = validate(
        dir.path(),
        &registry,
        &["--registry-config", own.to_str().unwrap()],
    );
    assert_eq!(
        outcome(&report, "algaCore")["result"]["outcome"],
        "present",
        "{report}"
    );
    assert!(registry.credentials_seen() > seen_before);
    assert_eq!(
        out.status.code(),
        Some(4),
        "only the missing background tag: {report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_release_against_a_real_registry() {
    let mut registry = TestRegistry::start(&["nine-minds/alga-psa-ee"])
        .await
        .expect("test registry");
    let dir = tempfile::tempdir().unwrap();
    registry.push_all(&PUBLISHED).await.unwrap();
    // alga-core multi-platform, as published: an index of an amd64 and an arm64 manifest,
    // each with a layer of its own size.
    let (core, sizes) = registry
        .push_image(
            "nine-minds/alga-psa-ee",
            "61e4a00e",
            &[("amd64", 300_000), ("arm64", 200_000)],
        )
        .await
        .unwrap();
    let arch = match std::env::consts::ARCH {
        "aarch64" => "arm64",
        _ => "amd64",
    };
    let our_size = sizes.iter().find(|(a, _)| a == arch).unwrap().1;
    // Credentials belong to the host asked: the mirror standing in for ghcr.io.
    let creds = docker_config(dir.path(), &registry.addr);
    let with_creds = ["--registry-config", creds.to_str().unwrap()];

    // One background tag missing: exit 4, named as background; the rest present with digests.
    let (out, report) = validate(dir.path(), &registry, &with_creds);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert_eq!(report["verdict"], "missing");
    let worker = outcome(&report, "workflowWorker");
    assert_eq!(worker["result"]["outcome"], "tag_missing");
    assert_eq!(
        worker["reference"],
        "ghcr.io/nine-minds/workflow-worker:61e4a00e"
    );
    assert_eq!(worker["loginCritical"], false);
    let core_result = outcome(&report, "algaCore");
    assert_eq!(core_result["result"]["outcome"], "present");
    assert_eq!(core_result["result"]["digest"], core.as_str());
    // its size for this machine's platform, through the index: what the kubelet will pull
    assert_eq!(core_result["result"]["size_bytes"], our_size, "{report}");
    assert!(our_size > 200_000 && sizes.len() == 2);
    assert_eq!(core_result["loginCritical"], true);

    // The text report names it too.
    let text = bin()
        .arg("validate-release")
        .arg(dir.path().join("release.json"))
        .args(["--registry-ca-file", registry.ca_file.to_str().unwrap()])
        .args(["--registry-mirror", &format!("ghcr.io={}", registry.addr)])
        .args(with_creds)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains(
            "MISSING ghcr.io/nine-minds/workflow-worker:61e4a00e (workflow-worker, background)"
        ),
        "{text}"
    );

    // Published: all present, exit 0.
    registry
        .push("nine-minds/workflow-worker", "61e4a00e")
        .await
        .unwrap();
    let (out, report) = validate(dir.path(), &registry, &with_creds);
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert_eq!(report["verdict"], "all_present");

    // Anonymous, the private alga-core repository is refused: exit 6, named.
    let (out, report) = validate(dir.path(), &registry, &[]);
    assert_eq!(out.status.code(), Some(6), "{report}");
    assert_eq!(
        outcome(&report, "algaCore")["result"]["outcome"],
        "unauthorized"
    );
    assert_eq!(
        outcome(&report, "emailService")["result"]["outcome"],
        "present"
    );

    // A repository that does not exist.
    let unknown = dir.path().join("unknown");
    std::fs::create_dir(&unknown).unwrap();
    std::fs::write(unknown.join("release.json"), RELEASE).unwrap();
    let catalog = appliance_status::catalog::EMBEDDED_CATALOG.replace(
        "ghcr.io/nine-minds/email-service",
        "ghcr.io/nine-minds/no-such-repo",
    );
    std::fs::write(unknown.join("catalog.yaml"), catalog).unwrap();
    let (out, report) = validate(
        &unknown,
        &registry,
        &[
            with_creds[0],
            with_creds[1],
            "--catalog",
            unknown.join("catalog.yaml").to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(4), "{report}");
    assert_eq!(
        outcome(&report, "emailService")["result"]["outcome"],
        "repository_not_found"
    );

    // Could not check, each cause named: no trust in the CA (TLS), a name that does not
    // resolve (DNS), a registry that accepts and never answers (timeout), a stopped one.
    let out = bin()
        .arg("validate-release")
        .arg(dir.path().join("release.json"))
        .args([
            "--output",
            "json",
            "--registry-mirror",
            &format!("ghcr.io={}", registry.addr),
        ])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(5), "{report}");
    assert_eq!(
        outcome(&report, "algaCore")["result"]["why"]["kind"],
        "tls",
        "{report}"
    );

    let (out, report) = validate(
        dir.path(),
        &registry,
        &["--registry-mirror", "ghcr.io=no-such-registry.invalid"],
    );
    assert_eq!(out.status.code(), Some(5), "{report}");
    assert_eq!(
        outcome(&report, "algaCore")["result"]["why"]["kind"],
        "dns",
        "{report}"
    );

    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_addr = silent.local_addr().unwrap().to_string();
    let (out, report) = validate(
        dir.path(),
        &registry,
        &[
            "--registry-mirror",
            &format!("ghcr.io={silent_addr}"),
            "--registry-timeout",
            "1s",
        ],
    );
    assert_eq!(out.status.code(), Some(5), "{report}");
    assert_eq!(
        outcome(&report, "algaCore")["result"]["why"]["kind"],
        "timeout",
        "{report}"
    );
    drop(silent);

    registry.stop_registry();
    let (out, report) = validate(dir.path(), &registry, &with_creds);
    assert_eq!(out.status.code(), Some(5), "{report}");
    assert_eq!(report["verdict"], "could_not_check");
    assert_eq!(
        outcome(&report, "workflowWorker")["result"]["why"]["kind"],
        "connection",
        "{report}"
    );
    // Back up: the same check passes again (nothing cached from the outage).
    registry.start_registry().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (out, _) = validate(dir.path(), &registry, &with_creds);
    assert_eq!(out.status.code(), Some(0));
}

/// Bad input: a clear error naming the line or the field, exit 2, never a panic.
#[test]
fn bad_release_manifests_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let run = |text: &[u8]| {
        let file = dir.path().join("bad.json");
        std::fs::write(&file, text).unwrap();
        bin().arg("validate-release").arg(&file).output().unwrap()
    };
    let out = run(b"{\n  \"releaseVersion\": \"1.0-rc5\",\n  \"app\": {\"version\": 1,\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("line 3"), "{}", stderr(&out));

    let out = run(RELEASE.replace("\"979e207\"", "\"979e 207\"").as_bytes());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("app.images.emailService")
            && stderr(&out).contains("not a valid image tag"),
        "{}",
        stderr(&out)
    );

    let mut huge = RELEASE.as_bytes().to_vec();
    huge.resize(50 << 20, b' ');
    let out = run(&huge);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not a release manifest"),
        "{}",
        stderr(&out)
    );

    let out = run(&[0xff, 0xfe, 0x00]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("UTF-8"), "{}", stderr(&out));
}

/// The service checks the release the appliance selected, in the background: a missing
/// background tag is a blocker before any pod exists; a registry outage neither clears nor raises
/// it, and is retried; a published tag clears it; a new selection is checked at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_checks_the_selected_release_before_any_pull() {
    let cluster = testenv::TestCluster::start().expect("test API server");
    cluster.install_flux_crds().unwrap();
    let mut registry = TestRegistry::start(&[]).await.expect("test registry");
    registry.push_all(&PUBLISHED).await.unwrap();
    cluster
        .kubectl(&["create", "namespace", "alga-system"], None)
        .unwrap();
    let selection = |email: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: appliance-release, namespace: alga-system}}\n\
             data: {{releaseVersion: 1.0-rc5, selectedChannel: candidate, appVersion: 1.0-rc5, \
             releaseBranch: release/1.0-rc5, algaCoreTag: '61e4a00e', workflowWorkerTag: '61e4a00e', \
             emailServiceTag: '{email}', temporalWorkerTag: '61e4a00e'}}\n"
        )
    };
    cluster
        .kubectl(&["apply", "-f", "-"], Some(&selection("979e207")))
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "release-test-token-0123456789abcdef\n").unwrap();
    let mirror = format!("ghcr.io={}", registry.addr);
    let service = testenv::Served::start(
        env!("CARGO_BIN_EXE_appliance-status"),
        &[
            &"--kubeconfig",
            &cluster.kubeconfig,
            &"--token-file",
            &token,
            &"--no-log-tails",
            &"--dns-check",
            &"localhost",
            &"--https-check",
            &"",
            &"--registry-mirror",
            &mirror,
            &"--registry-ca-file",
            &registry.ca_file,
            &"--release-check-interval",
            &"2s",
            &"--registry-timeout",
            &"2s",
        ],
        &[],
    )
    .unwrap();
    let port = service.port;
    let http = reqwest::Client::new();
    let status = || async {
        let r = http
            .get(format!("http://127.0.0.1:{port}/api/status"))
            .bearer_auth("release-test-token-0123456789abcdef")
            .send()
            .await
            .ok()?;
        serde_json::from_slice::<app::status::StatusDocument>(&r.bytes().await.ok()?).ok()
    };
    let wait_for = |what: &'static str, f: Box<dyn Fn(&app::status::StatusDocument) -> bool>| {
        let status = &status;
        async move {
            let began = std::time::Instant::now();
            loop {
                if let Some(doc) = status().await {
                    if f(&doc) {
                        return doc;
                    }
                    assert!(
                        began.elapsed() < Duration::from_secs(60),
                        "{what}: {:#?}",
                        (&doc.release, &doc.top_blockers)
                    );
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    };
    let missing = "Image tag not found in the registry: ghcr.io/nine-minds/workflow-worker:61e4a00e — publish it or select another release";
    let has = |reason: &'static str| {
        Box::new(move |d: &app::status::StatusDocument| {
            d.top_blockers.iter().any(|b| b.reason == reason)
        }) as Box<dyn Fn(&app::status::StatusDocument) -> bool>
    };

    let doc = wait_for("the missing tag as a blocker", has(missing)).await;
    let b = doc
        .top_blockers
        .iter()
        .find(|b| b.reason == missing)
        .unwrap();
    assert_eq!(b.component, "workflow-worker");
    assert_eq!(b.severity, app::status::Severity::Background);
    assert!(!b.login_blocking);
    assert!(doc
        .tiers
        .login
        .checks
        .iter()
        .all(|c| !c.blockers.contains(&b.id)));
    let pods = cluster
        .kubectl(&["get", "pods", "-A", "-o", "name"], None)
        .unwrap();
    assert!(pods.trim().is_empty(), "no pod exists yet: {pods}");
    assert_eq!(doc.release.images.len(), 4);
    assert!(doc
        .release
        .image_check
        .as_deref()
        .unwrap_or("")
        .contains("checked at"));

    // The registry goes away: "could not be checked", retried, and the blocker stays.
    registry.stop_registry();
    let doc = wait_for(
        "the outage noted",
        Box::new(|d| {
            d.release
                .image_check
                .as_deref()
                .is_some_and(|n| n.contains("4 could not be checked"))
        }),
    )
    .await;
    assert!(has(missing)(&doc), "an outage does not clear the blocker");
    for _ in 0..8 {
        let doc = status().await.unwrap();
        assert!(has(missing)(&doc), "no flapping during the outage");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Back, and the tag published: the blocker clears.
    registry.start_registry().await.unwrap();
    registry
        .push("nine-minds/workflow-worker", "61e4a00e")
        .await
        .unwrap();
    wait_for(
        "the published tag",
        Box::new(move |d| {
            !d.top_blockers
                .iter()
                .any(|b| b.reason.contains("not found in the registry"))
                && d.release.images.iter().all(|i| i.outcome == "present")
        }),
    )
    .await;

    // A new selection naming a tag that does not exist is checked at once.
    cluster
        .kubectl(&["apply", "-f", "-"], Some(&selection("deadbee")))
        .unwrap();
    wait_for(
        "the new selection",
        has("Image tag not found in the registry: ghcr.io/nine-minds/email-service:deadbee — publish it or select another release"),
    )
    .await;
    drop(service);
}
