use super::*;
use crate::assess::{SourceInfo, Thresholds};
use crate::catalog::Catalog;
use crate::cli::{run_assess, Cli, Command};
use crate::objects::parse_documents;
use crate::publish::Engine;
use appliance_engine::fixtures::{corpus_cases, corpus_inputs};
use clap::Parser;

fn engine() -> Engine {
    Engine {
        catalog: Arc::new(Catalog::embedded()),
        thresholds: Thresholds::default(),
        source: SourceInfo::live(),
    }
}

/// Every file of a bundle, by its path inside the bundle's directory.
fn unpack(bundle: &[u8]) -> BTreeMap<String, String> {
    files(bundle).unwrap().into_iter().collect()
}

/// `appliance-status assess FILE`, as the CLI runs it.
fn assess_file(path: &std::path::Path) -> StatusDocument {
    let cli = Cli::try_parse_from(["appliance-status", "assess", path.to_str().unwrap()]).unwrap();
    let Command::Assess(args) = cli.command else {
        unreachable!()
    };
    run_assess(&args).unwrap().document
}

/// What a verdict is: the rollup, each tier, each blocker and each component's state.
fn verdict(doc: &StatusDocument) -> String {
    let mut out = format!("rollup {}\n", doc.rollup.state.as_str());
    for tier in app::status::Tier::ALL {
        let t = doc.tiers.get(tier);
        out.push_str(&format!(
            "{} {} {}\n",
            tier.as_str(),
            t.ready,
            t.status.as_str()
        ));
    }
    for b in &doc.top_blockers {
        out.push_str(&format!(
            "blocker {} {} {} {}\n",
            b.id,
            b.severity.as_str(),
            b.login_blocking,
            b.since
        ));
    }
    for c in &doc.components {
        out.push_str(&format!("component {} {}\n", c.name, c.status.as_str()));
    }
    out
}

/// Support reproduces the verdict offline: for every corpus case, `assess` of the bundle gives the
/// verdict the service published, blockers and their `since` included.
#[test]
fn every_corpus_verdict_replays_from_its_bundle() {
    let dir = tempfile::tempdir().unwrap();
    for name in corpus_cases() {
        let (mut snapshot, probes, now) = corpus_inputs(&name);
        let engine = engine();
        // Two assessments, as the service makes them: the second with what the first remembered,
        // 10 s later, so that blockers first seen then are still within the 30 s hysteresis.
        engine.assess(
            &mut snapshot,
            &probes,
            now - jiff::SignedDuration::from_secs(10),
        );
        let doc = engine.assess(&mut snapshot, &probes, now);
        let bundle = write(
            &doc,
            (&snapshot, &probes, &engine.thresholds),
            &ServiceFacts::default(),
            &Redactor::default(),
        )
        .unwrap();
        let path = dir.path().join(format!("{name}.tar.gz"));
        std::fs::write(&path, &bundle).unwrap();
        let replayed = assess_file(&path);
        assert_eq!(verdict(&replayed), verdict(&doc), "{name}");
        assert_eq!(
            replayed.timestamp, doc.timestamp,
            "{name}: the bundle's moment"
        );
        assert_eq!(replayed.timeline, doc.timeline, "{name}: the timeline");
    }
}

/// The observed bootstrap's history survives a bundle at every step: pulls measured, tiers'
/// moments, problems resolved, and the bootstrap Job's run after its TTL deleted it (its start
/// and end kept in the bundle's state).
#[test]
fn the_observed_bootstraps_timeline_replays_from_its_bundle() {
    use crate::scenario::{Replay, Scenario};
    let dir = tempfile::tempdir().unwrap();
    let scenario = Scenario::observed_bootstrap();
    let mut replay = Replay::new(scenario.clone());
    let engine = engine();
    let mut drawn = 0;
    for step in &scenario.steps {
        replay.advance_to(step.at);
        let now = scenario.start + step.at + jiff::SignedDuration::from_secs(60);
        engine.assess(
            &mut replay.snapshot,
            &replay.probes,
            now - jiff::SignedDuration::from_secs(30),
        );
        let doc = engine.assess(&mut replay.snapshot, &replay.probes, now);
        let bundle = write(
            &doc,
            (&replay.snapshot, &replay.probes, &engine.thresholds),
            &ServiceFacts::default(),
            &Redactor::default(),
        )
        .unwrap();
        let path = dir.path().join("step.tar.gz");
        std::fs::write(&path, &bundle).unwrap();
        let replayed = assess_file(&path);
        assert_eq!(replayed.timeline, doc.timeline, "step {:?}", step.name);
        drawn += usize::from(
            doc.timeline
                .spans
                .iter()
                .any(|s| s.label.contains("bootstrap")),
        );
    }
    assert!(
        drawn >= 5,
        "the bootstrap Job is drawn from its start to the end: {drawn}"
    );
}

#[test]
fn the_bundle_holds_what_support_reads() {
    let (mut snapshot, probes, now) = corpus_inputs("18-postgres-subpath-behind-helm-timeout");
    let doc = engine().assess(&mut snapshot, &probes, now);
    let facts = ServiceFacts {
        version: "9.9.9".into(),
        args: vec!["appliance-status".into(), "serve".into()],
        env: vec![("HOME".into(), 5)],
    };
    let files = unpack(
        &write(
            &doc,
            (&snapshot, &probes, &Thresholds::default()),
            &facts,
            &Redactor::default(),
        )
        .unwrap(),
    );
    let manifest: Value = serde_json::from_str(&files["manifest.json"]).unwrap();
    let listed: Vec<&str> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    for path in files.keys().filter(|p| *p != "manifest.json") {
        assert!(
            listed.contains(&path.as_str()),
            "{path} is not in the manifest"
        );
    }
    for path in [
        "status.json",
        "objects.yaml",
        "state.json",
        "events.txt",
        "node.txt",
        "service.txt",
    ] {
        assert!(files.contains_key(path), "{path} is missing");
    }
    let status: StatusDocument = serde_json::from_str(&files["status.json"]).unwrap();
    assert_eq!(verdict(&status), verdict(&doc));
    let objects = parse_documents(&files["objects.yaml"], "objects.yaml").unwrap();
    assert_eq!(objects.objects.len(), snapshot.object_count());
    assert!(files["events.txt"].lines().count() > snapshot.events.len());
    assert!(files["service.txt"].contains("appliance-status 9.9.9"));
    assert!(files["service.txt"].contains("HOME (5 bytes)"));
}

/// Secrets planted in the cluster's objects, in the service's environment and arguments, and in
/// messages and logs never reach the bundle; what support needs around them does.
#[test]
fn planted_secrets_never_reach_the_bundle() {
    let (mut snapshot, mut probes, now) = corpus_inputs("01-fully-healthy");
    let token = "8f3a1c5e9b7d2f4a6c8e0b1d3f5a7c9e8f3a1c5e9b7d2f4a6c8e0b1d3f5a7c9e";
    let planted = format!(
        "---\napiVersion: v1\nkind: Secret\nmetadata: {{name: db-credentials, namespace: msp}}\n\
         data: {{DB_PASSWORD_SERVER: cGxhbnRlZC1zZWNyZXQtZGF0YQ==}}\nstringData: {{x: planted-string-data}}\n\
         ---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: appliance-release-selection, namespace: alga-system}}\n\
         data: {{releaseVersion: 1.0-rc5, dbPassword: planted-cm-value, notes: planted-cm-notes,\n\
           values.yaml: \"bootstrap:\\n  mode: recover\\npostgres:\\n  password: planted-values-yaml\\n\"}}\n\
         ---\napiVersion: batch/v1\nkind: Job\nmetadata: {{name: planted-job, namespace: msp}}\n\
         spec: {{template: {{spec: {{containers: [{{name: c, image: 'busybox:1', env: [{{name: PGPASSWORD, value: planted-env-in-job}}]}}]}}}}}}\n\
         ---\napiVersion: v1\nkind: Event\nmetadata: {{name: planted.1, namespace: msp}}\n\
         involvedObject: {{kind: Pod, namespace: msp, name: db-0}}\ntype: Warning\nreason: Failed\n\
         message: 'connect postgres://alga:planted-url-pass@db:5432/server failed; password=planted-kv token {token}'\n\
         lastTimestamp: '2026-04-30T02:00:00Z'\n\
         ---\napiVersion: v1\nkind: Event\nmetadata: {{name: planted.2, namespace: msp}}\n\
         involvedObject: {{kind: Pod, namespace: msp, name: db-0}}\ntype: Warning\nreason: Failed\n\
         message: 'x={token} pre-{token} GET /path/{token}?a=1&t={token}'\n\
         lastTimestamp: '2026-04-30T02:00:01Z'\n"
    );
    for o in parse_documents(&planted, "planted").unwrap().objects {
        snapshot.apply(o);
    }
    snapshot.logs.push(LogExcerpt {
        namespace: "msp".into(),
        pod: "db-0".into(),
        container: Some("db".into()),
        lines: vec![
            "GET /api Authorization: Bearer plantedbearertoken123".into(),
            "api_key: planted-api-key".into(),
        ],
    });
    probes
        .set(
            "https:ghcr.io",
            "error: https://robot:planted-probe@ghcr.io/ unreachable",
        )
        .unwrap();
    let doc = engine().assess(&mut snapshot, &probes, now);
    let facts = ServiceFacts {
        version: "1".into(),
        args: vec![
            "appliance-status".into(),
            "serve".into(),
            "--login-url".into(),
            "https://admin:planted-arg@192.168.64.8/".into(),
        ],
        env: vec![("PLANTED_ENV".into(), "planted-env-value".len())],
    };
    let source = crate::auth::TokenSource::fixed(Some(token));
    let redactor = Redactor::with_secrets(move |text| source.occurrences(text));
    let bundle = write(
        &doc,
        (&snapshot, &probes, &Thresholds::default()),
        &facts,
        &redactor,
    )
    .unwrap();
    let files = unpack(&bundle);
    let all: String = files.values().cloned().collect::<Vec<_>>().join("\n");
    for secret in [
        "cGxhbnRlZC1zZWNyZXQtZGF0YQ==",
        "planted-secret-data",
        "planted-string-data",
        "planted-cm-value",
        "planted-cm-notes",
        "planted-values-yaml",
        "planted-env-in-job",
        "planted-url-pass",
        "planted-kv",
        token,
        "plantedbearertoken123",
        "planted-api-key",
        "planted-probe",
        "planted-arg",
        "planted-env-value",
    ] {
        assert!(!all.contains(secret), "{secret} reached the bundle");
    }
    // What support needs around them stays.
    for kept in [
        "db-credentials",
        "dbPassword",
        "PLANTED_ENV (17 bytes)",
        "releaseVersion: 1.0-rc5",
        "mode: recover",
        "postgres://[redacted]@db:5432/server",
        "192.168.64.8",
        "busybox:1",
    ] {
        assert!(all.contains(kept), "{kept} is missing from the bundle");
    }
    assert!(files.contains_key("logs/msp_db-0_db.log"));
}

proptest::proptest! {
    /// The token never survives redaction, whatever surrounds it (word characters, separators,
    /// other copies of it, multi-byte text), and the text around it is kept.
    #[test]
    fn the_token_is_redacted_in_any_surroundings(
        before in "\\PC{0,40}",
        between in "\\PC{0,10}",
        after in "\\PC{0,40}",
    ) {
        let token = "8f3a1c5e9b7d2f4a6c8e0b1d3f5a7c9e8f3a1c5e9b7d2f4a6c8e0b1d3f5a7c9e";
        let source = crate::auth::TokenSource::fixed(Some(token));
        let r = Redactor::with_secrets(move |text| source.occurrences(text));
        let text = format!("{before}{token}{between}{token}{after}");
        let out = r.text(&text);
        proptest::prop_assert!(!out.contains(token), "{out}");
        proptest::prop_assert!(out.contains("[redacted]"));
    }
}

#[test]
fn the_redactor_keeps_ordinary_words() {
    let r = Redactor::default();
    for text in [
        "Back-off restarting failed container temporal in pod temporal-0_msp(5f0c)",
        "MountVolume.SetUp failed for volume \"creds\" : secret \"db-credentials\" not found",
        "run `appliance-status token ensure` first",
        "Failed to pull image \"ghcr.io/nine-minds/alga-psa-ee:61e4a00e\": not found",
        "Get \"http://10.244.0.7:8080/healthz\": connection refused",
    ] {
        assert_eq!(r.text(text), text);
    }
    assert_eq!(
        r.text("DATABASE_URL=postgres://u:p4ss@db/x"),
        "DATABASE_URL=postgres://[redacted]@db/x"
    );
    assert_eq!(
        r.text("{\"password\":\"hunter2\"}"),
        "{\"password\":\"[redacted]\"}"
    );
    assert_eq!(
        r.text("Authorization: Basic dXNlcjpwYXNz"),
        "Authorization: Basic [redacted]"
    );
}

#[test]
fn anything_else_is_refused_clearly() {
    let err = read(b"not a bundle at all").unwrap_err().to_string();
    assert!(err.contains("not a support bundle"), "{err}");

    fn tar_gz(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        ));
        for (path, data) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_cksum();
            tar.append_data(&mut header, path, *data).unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap()
    }
    let err = read(&tar_gz(&[("b/notes.txt", b"hello")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("has no manifest.json"), "{err}");
    let err = read(&tar_gz(&[("b/manifest.json", b"{\"format\": 99}")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("bundle format"), "{err}");
    let err = read(&tar_gz(&[
        ("b/manifest.json", b"{\"format\": 1}"),
        ("b/status.json", b"{\"rollup\": 3}"),
    ]))
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("status.json:"), "{err}");
    // A decompression bomb stops at the limit.
    let zeros = vec![b'0'; 3 << 20];
    let err = read_limited(&tar_gz(&[("b/objects.yaml", &zeros)]), 1 << 20).unwrap_err();
    // `support-bundle` tells this one from the others
    assert!(matches!(err, Error::BundleTooLarge { .. }), "{err}");
    assert!(err.to_string().contains("more than 1 MiB"), "{err}");
    // A bundle whose objects are more than `assess` reads at once is refused while unpacking.
    let spaces = vec![b' '; MAX_UNPACKED_BYTES as usize + 1];
    let err = read(&tar_gz(&[("b/objects.yaml", &spaces)])).unwrap_err();
    assert!(err.to_string().contains("more than 40 MiB"), "{err}");
    // Truncated: a clear error, not a panic.
    let mut whole = tar_gz(&[("b/manifest.json", b"{\"format\": 1}")]);
    whole.truncate(whole.len() / 2);
    assert!(read(&whole).is_err());
}

/// Concurrent downloads queue: one bundle (one copy of the snapshot) is written at a time, and
/// every request is answered.
#[tokio::test]
async fn concurrent_bundle_requests_queue_one_copy_at_a_time() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let (desk, mut queue) = desk();
    let writing = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (w, m) = (writing.clone(), most.clone());
    // The owner as the state task is: it hands each request to a writer and goes back to its queue.
    tokio::spawn(async move {
        while let Some(request) = queue.recv().await {
            let (w, m) = (w.clone(), m.clone());
            tokio::spawn(async move {
                let now = w.fetch_add(1, Ordering::SeqCst) + 1;
                m.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                w.fetch_sub(1, Ordering::SeqCst);
                let _ = request.reply.send(Ok(vec![1]));
                drop(request.turn);
            });
        }
    });
    let asks: Vec<_> = (0..5)
        .map(|_| {
            let desk = desk.clone();
            tokio::spawn(async move { desk.request(Redactor::default()).await })
        })
        .collect();
    for ask in asks {
        assert_eq!(ask.await.unwrap().unwrap(), vec![1]);
    }
    assert_eq!(most.load(Ordering::SeqCst), 1, "one copy at a time");
    // an asker that gives up does not free the turn while its bundle is still being written
    let gone = tokio::spawn({
        let desk = desk.clone();
        async move { desk.request(Redactor::default()).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    gone.abort();
    let next = desk.request(Redactor::default()).await;
    assert_eq!(next.unwrap(), vec![1]);
    assert_eq!(most.load(Ordering::SeqCst), 1, "still one copy at a time");
}

/// A bundle is written from the snapshot its owner shares: no copy is made for the request (the
/// writer holds the same allocation), and the owner gets it back to itself once the bundle is out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_shares_the_snapshot_instead_of_copying_it() {
    let (snapshot, probes, now) = corpus_inputs("17-temporal-crash-loop");
    let doc = engine().assess(&mut snapshot.clone(), &probes, now);
    let shared = Arc::new(snapshot);
    let (desk, mut queue) = desk();
    let asked = tokio::spawn(async move { desk.request(Redactor::default()).await });
    let request = queue.recv().await.unwrap();
    answer(
        request,
        doc,
        (shared.clone(), &probes, &Thresholds::default()),
    );
    // while it is written, the writer holds the owner's own allocation
    let was_shared = Arc::strong_count(&shared) == 2;
    let bytes = asked.await.unwrap().unwrap();
    assert!(!unpack(&bytes).is_empty());
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(
        was_shared,
        "the writer holds the owner's snapshot itself (writing takes far longer than this check)"
    );
    assert_eq!(Arc::strong_count(&shared), 1, "given back once written");
}
