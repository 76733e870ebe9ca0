//! The tiered Flux layout (`flux/`): the root (`flux/root`) creates the source every tier uses
//! and applies a directory that holds the tiers, the README's overlay sets the site's Git URL,
//! the tier graph keeps a background failure away from core, every HelmRelease of the catalog
//! sits in its tier, the real API server (with Flux's CRDs) accepts every object, and the engine
//! reads the freshly applied, not yet reconciled objects as installing, never failed.

mod support;

use appliance_status::catalog::Catalog;
use serde::Deserialize;
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::bin;

fn flux_dir() -> PathBuf {
    testenv::project_root().join("flux/base")
}

fn root_dir() -> PathBuf {
    testenv::project_root().join("flux/root")
}

/// `kubectl kustomize flux/base/DIR`.
fn build(dir: &str) -> Vec<Value> {
    kustomize(&flux_dir().join(dir))
}

/// `kubectl kustomize DIR`, as Flux's kustomize-controller builds it, one value per object.
fn kustomize(dir: &Path) -> Vec<Value> {
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .expect("kubectl");
    assert!(
        out.status.success(),
        "kustomize {}: {}",
        dir.display(),
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

fn namespace(o: &Value) -> &str {
    o["metadata"]["namespace"].as_str().unwrap()
}

/// The source `(kind, namespace, name)` a `sourceRef` names; its namespace defaults to that of
/// the object holding it, as Flux's controllers resolve it.
fn source_of<'a>(source_ref: &'a Value, holder: &'a Value) -> (&'a str, &'a str, &'a str) {
    (
        source_ref["kind"].as_str().unwrap(),
        source_ref["namespace"]
            .as_str()
            .unwrap_or_else(|| namespace(holder)),
        source_ref["name"].as_str().unwrap(),
    )
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

/// `flux/root` is the GitRepository and the root Kustomization, by the catalog's names; the
/// Kustomization's path is a directory of this repository that builds and holds the three tiers
/// and not the root itself (Flux never puts the placeholder URL back over the site's); every tier
/// and every HelmRelease's chart takes its source from that GitRepository.
#[test]
fn the_root_creates_the_source_every_tier_uses() {
    let root = kustomize(&root_dir());
    let kinds: Vec<(&str, &str)> = root
        .iter()
        .map(|o| {
            (
                o["apiVersion"].as_str().unwrap(),
                o["kind"].as_str().unwrap(),
            )
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        kinds,
        [
            ("kustomize.toolkit.fluxcd.io/v1", "Kustomization"),
            ("source.toolkit.fluxcd.io/v1", "GitRepository"),
        ]
    );
    assert_eq!(root.len(), 2, "{root:#?}");
    let source = of_kind(&root, "GitRepository")[0];
    let top = of_kind(&root, "Kustomization")[0];
    let source_id = ("GitRepository", namespace(source), name(source));

    // The catalog's names: the release's GitRepository, a Kustomization it watches.
    let catalog = Catalog::embedded();
    let release = catalog.release.git_repository.as_ref().unwrap();
    assert_eq!(
        (namespace(source), name(source)),
        (release.namespace.as_str(), release.name.as_str())
    );
    let watched = catalog
        .components
        .iter()
        .find(|c| c.kind.as_str() == "Kustomization")
        .expect("the catalog watches Kustomizations");
    assert!(watched.owns_workload(name(top)), "{}", name(top));
    assert_eq!(watched.namespace(&catalog.site), namespace(top));
    let sources = catalog
        .components
        .iter()
        .find(|c| c.kind.as_str() == "GitRepository")
        .expect("the catalog watches the GitRepository");
    assert!(sources.owns_workload(name(source)), "{}", name(source));

    // The root applies from that source, prunes, and waits on no tier.
    assert_eq!(source_of(&top["spec"]["sourceRef"], top), source_id);
    assert_eq!(top["spec"]["prune"], true);
    assert_eq!(top["spec"]["wait"], false);
    assert!(source["spec"]["ref"]["branch"].as_str().is_some());

    // Its path: a directory of this repository that builds, holding the tiers and not the root.
    let path = top["spec"]["path"].as_str().unwrap();
    let dir = testenv::project_root().join(path.strip_prefix("./").expect("path from ./"));
    assert!(dir.join("kustomization.yaml").is_file(), "{path}");
    let applied = kustomize(&dir);
    assert!(
        of_kind(&applied, "GitRepository").is_empty(),
        "{path} applies a GitRepository: Flux would overwrite the site's URL"
    );
    let tiers = of_kind(&applied, "Kustomization");
    assert_eq!(
        tiers.iter().map(|k| name(k)).collect::<BTreeSet<_>>(),
        BTreeSet::from(["alga-background", "alga-core", "alga-platform"]),
        "{path}"
    );
    assert_eq!(
        applied.len(),
        tiers.len(),
        "{path} applies more than the tiers"
    );

    // Every tier, and every HelmRelease's chart in it, from the root's GitRepository; every
    // tier's own path builds.
    for tier in tiers {
        assert_eq!(
            source_of(&tier["spec"]["sourceRef"], tier),
            source_id,
            "{}",
            name(tier)
        );
        let path = tier["spec"]["path"].as_str().unwrap();
        let objects = kustomize(
            &testenv::project_root().join(path.strip_prefix("./").expect("path from ./")),
        );
        let releases = of_kind(&objects, "HelmRelease");
        assert!(!releases.is_empty(), "{path} has no HelmRelease");
        for h in releases {
            assert_eq!(
                source_of(&h["spec"]["chart"]["spec"]["sourceRef"], h),
                source_id,
                "HelmRelease {}",
                name(h)
            );
        }
    }
}

/// The site overlay `flux/README.md` shows, run as written: it sets the GitRepository's URL and
/// branch and leaves the rest of the root as it is. The placeholder URL can never fetch.
#[test]
fn the_readme_overlay_sets_the_site_url() {
    let readme = std::fs::read_to_string(testenv::project_root().join("flux/README.md")).unwrap();
    let block = readme
        .split("```yaml\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap())
        .find(|b| b.starts_with("# site/kustomization.yaml"))
        .expect("flux/README.md shows site/kustomization.yaml");
    let overlay: Value = serde_yaml::from_str(block).unwrap();
    assert_eq!(overlay["resources"][0], "../flux/root");
    let ops: Value =
        serde_yaml::from_str(overlay["patches"][0]["patch"].as_str().unwrap()).unwrap();
    let set = |path: &str| -> String {
        ops.as_sequence()
            .unwrap()
            .iter()
            .find(|op| op["path"] == path)
            .unwrap_or_else(|| panic!("the overlay sets no {path}"))["value"]
            .as_str()
            .unwrap()
            .to_string()
    };

    // As the README says: site/ beside flux/.
    let tmp = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        testenv::project_root().join("flux"),
        tmp.path().join("flux"),
    )
    .unwrap();
    std::fs::create_dir(tmp.path().join("site")).unwrap();
    std::fs::write(tmp.path().join("site/kustomization.yaml"), block).unwrap();
    let site = kustomize(&tmp.path().join("site"));
    let base = kustomize(&root_dir());

    let placeholder = of_kind(&base, "GitRepository")[0]["spec"]["url"]
        .as_str()
        .unwrap();
    assert!(
        placeholder.starts_with("https://") && placeholder.contains(".invalid/"),
        "{placeholder}"
    );
    let source = of_kind(&site, "GitRepository")[0];
    assert_eq!(source["spec"]["url"], set("/spec/url").as_str());
    assert_ne!(source["spec"]["url"], placeholder);
    assert_eq!(
        source["spec"]["ref"]["branch"],
        set("/spec/ref/branch").as_str()
    );
    // Nothing else changes.
    let mut unset = source.clone();
    unset["spec"]["url"] = of_kind(&base, "GitRepository")[0]["spec"]["url"].clone();
    unset["spec"]["ref"] = of_kind(&base, "GitRepository")[0]["spec"]["ref"].clone();
    assert_eq!(&unset, of_kind(&base, "GitRepository")[0]);
    assert_eq!(
        of_kind(&site, "Kustomization"),
        of_kind(&base, "Kustomization")
    );
    assert_eq!(site.len(), base.len());
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

/// Every object is accepted by a real API server with Flux's CRDs (their OpenAPI schemas): the
/// root as the README applies it (`kubectl apply -k flux/root`), then each tier's objects; and
/// the engine reads the applied, not yet reconciled layout as installing, never failed.
#[test]
fn a_real_api_server_accepts_the_layout_and_it_reads_as_installing() {
    let cluster = testenv::TestCluster::start().expect("test API server");
    cluster.install_flux_crds().unwrap();
    cluster
        .kubectl(&["create", "namespace", "flux-system"], None)
        .unwrap();
    // The schemas are enforced: a GitRepository URL without a scheme is refused, so the root
    // being accepted below means something.
    let mut bad = kustomize(&root_dir());
    for o in &mut bad {
        if o["kind"] == "GitRepository" {
            o["spec"]["url"] = "git.example.invalid/alga-appliance.git".into();
        }
    }
    let bad: String = bad
        .iter()
        .map(|o| format!("---\n{}", serde_yaml::to_string(o).unwrap()))
        .collect();
    let refused = cluster
        .kubectl(
            &["apply", "--server-side", "--dry-run=server", "-f", "-"],
            Some(&bad),
        )
        .expect_err("a URL without a scheme is accepted");
    assert!(format!("{refused:#}").contains("spec.url"), "{refused:#}");
    cluster
        .kubectl(
            &[
                "apply",
                "--server-side",
                "-k",
                &root_dir().display().to_string(),
            ],
            None,
        )
        .unwrap_or_else(|e| panic!("flux/root: {e:#}"));
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
                "gitrepositories,kustomizations,helmreleases,namespaces",
                "-A",
                "-o",
                "yaml",
            ],
            None,
        )
        .unwrap();
    let file = std::env::temp_dir().join(format!("flux-layout-{}.yaml", std::process::id()));
    std::fs::write(&file, dump).unwrap();
    let out = bin()
        .args(["assess", "-o", "json"])
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
    // The engine saw the root: its GitRepository and Kustomization are in the Flux table.
    for (kind, name) in [
        ("GitRepository", "alga-appliance"),
        ("Kustomization", "alga-appliance"),
    ] {
        assert!(
            doc.flux.iter().any(|f| f.kind == kind && f.name == name),
            "{kind} {name} not in {:?}",
            doc.flux
                .iter()
                .map(|f| (&f.kind, &f.name))
                .collect::<Vec<_>>()
        );
    }
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
