//! The tiered Flux layout (`flux/`): the tier graph keeps a background failure away from core,
//! every HelmRelease of the catalog sits in its tier, the real API server (with Flux's CRDs)
//! accepts every object, and the engine reads the freshly applied, not yet reconciled objects as
//! installing, never failed.

use appliance_status::catalog::Catalog;
use serde::Deserialize;
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

fn flux_dir() -> PathBuf {
    testenv::project_root().join("flux/base")
}

/// `kubectl kustomize DIR`, as Flux's kustomize-controller builds it, one value per object.
fn build(dir: &str) -> Vec<Value> {
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(flux_dir().join(dir))
        .output()
        .expect("kubectl");
    assert!(
        out.status.success(),
        "kustomize {dir}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| Value::deserialize(d).unwrap())
        .collect()
}

fn of_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

fn name(o: &Value) -> &str {
    o["metadata"]["name"].as_str().unwrap()
}

fn depends_on(o: &Value) -> Vec<String> {
    o["spec"]["dependsOn"]
        .as_sequence()
        .map(|d| {
            d.iter()
                .map(|d| d["name"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Minutes of a Go duration such as `40m` or `1h`.
fn minutes(d: &str) -> u64 {
    match d.strip_suffix('m') {
        Some(m) => m.parse().unwrap(),
        None => d.strip_suffix('h').unwrap().parse::<u64>().unwrap() * 60,
    }
}

#[test]
fn the_tiers_keep_background_away_from_core() {
    let root = build("");
    let tiers: BTreeMap<&str, &Value> = of_kind(&root, "Kustomization")
        .into_iter()
        .map(|k| (name(k), k))
        .collect();
    assert_eq!(
        tiers.keys().copied().collect::<Vec<_>>(),
        ["alga-background", "alga-core", "alga-platform"]
    );
    assert_eq!(depends_on(tiers["alga-platform"]), Vec::<String>::new());
    assert_eq!(depends_on(tiers["alga-core"]), ["alga-platform"]);
    assert_eq!(depends_on(tiers["alga-background"]), ["alga-core"]);
    for (tier, k) in &tiers {
        assert!(
            !depends_on(k).contains(&"alga-background".to_string()),
            "{tier} depends on the background tier"
        );
        assert_eq!(
            k["spec"]["path"],
            format!("./flux/base/{}", &tier[5..]).as_str()
        );
        assert_eq!(k["spec"]["sourceRef"]["name"], "alga-appliance");
    }

    // Each catalog HelmRelease in its tier's directory: core, bootstrap and login in core,
    // background in background; the status service in platform.
    let catalog = Catalog::embedded();
    let mut want: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for c in &catalog.components {
        if let Some(release) = &c.helm_release {
            let dir = match c.tier {
                app::status::Tier::Background => "background",
                _ => "core",
            };
            want.entry(dir).or_default().insert(release.clone());
        }
    }
    want.entry("platform")
        .or_default()
        .insert("appliance-status".into());
    let mut releases: BTreeMap<String, (String, Value)> = BTreeMap::new();
    for dir in ["platform", "core", "background"] {
        let objects = build(dir);
        let got: BTreeSet<String> = of_kind(&objects, "HelmRelease")
            .into_iter()
            .map(|h| name(h).to_string())
            .collect();
        assert_eq!(got, want[dir], "HelmReleases of {dir}");
        for h in of_kind(&objects, "HelmRelease") {
            releases.insert(name(h).to_string(), (dir.to_string(), h.clone()));
        }
    }
    // Core releases never wait on background ones; every dependency exists.
    for (release, (dir, h)) in &releases {
        for d in depends_on(h) {
            let (their_dir, _) = releases
                .get(&d)
                .unwrap_or_else(|| panic!("{release} depends on unknown {d}"));
            assert!(
                !(dir == "core" && their_dir == "background"),
                "core release {release} depends on background {d}"
            );
        }
    }
    // The core tier outwaits alga-core's own install timeout, so the HelmRelease reports first.
    let install = releases["alga-core"].1["spec"]["install"]["timeout"]
        .as_str()
        .unwrap();
    let tier = tiers["alga-core"]["spec"]["timeout"].as_str().unwrap();
    assert!(minutes(tier) > minutes(install), "{tier} <= {install}");
    // The alga-core release is the catalog's: chart ./helm, release name alga-core.
    assert_eq!(
        releases["alga-core"].1["spec"]["chart"]["spec"]["chart"],
        "./helm"
    );
    assert_eq!(releases["alga-core"].1["spec"]["releaseName"], "alga-core");
}

/// Every object is accepted by a real API server with Flux's CRDs (their OpenAPI schemas), and
/// the engine reads the applied, not yet reconciled layout as installing, never failed.
#[test]
fn a_real_api_server_accepts_the_layout_and_it_reads_as_installing() {
    let cluster = testenv::TestCluster::start().expect("test API server");
    cluster.install_flux_crds().unwrap();
    cluster
        .kubectl(&["create", "namespace", "flux-system"], None)
        .unwrap();
    for dir in ["", "platform", "core", "background"] {
        let objects = build(dir);
        let text: String = objects
            .iter()
            .map(|o| format!("---\n{}", serde_yaml::to_string(o).unwrap()))
            .collect();
        cluster
            .kubectl(&["apply", "--server-side", "-f", "-"], Some(&text))
            .unwrap_or_else(|e| panic!("{dir}: {e:#}"));
    }
    let dump = cluster
        .kubectl(
            &[
                "get",
                "kustomizations,helmreleases,namespaces",
                "-A",
                "-o",
                "yaml",
            ],
            None,
        )
        .unwrap();
    let file = std::env::temp_dir().join(format!("flux-layout-{}.yaml", std::process::id()));
    std::fs::write(&file, dump).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_appliance-status"))
        .arg("assess")
        .arg(&file)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: app::status::StatusDocument = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc.rollup.state,
        app::status::RollupState::Installing,
        "{:#?}",
        doc.top_blockers
    );
    assert!(
        doc.top_blockers
            .iter()
            .all(|b| b.severity != app::status::Severity::Critical),
        "{:#?}",
        doc.top_blockers
    );
    // The engine saw the tiers: each HelmRelease is named in the Flux table.
    for release in [
        "appliance-status",
        "alga-core",
        "pgbouncer",
        "temporal",
        "workflow-worker",
    ] {
        assert!(
            doc.flux
                .iter()
                .any(|f| f.kind == "HelmRelease" && f.name == release),
            "{release} not in {:?}",
            doc.flux.iter().map(|f| &f.name).collect::<Vec<_>>()
        );
    }
}
