//! The Helm chart against a real kube-apiserver with RBAC: `helm lint`, server-side dry-run, and
//! the collector running with a genuine service-account token bound to the chart's RBAC.

mod support;

use app::status::CheckState;
use std::process::Command;
use std::time::Duration;
use support::{start_collector, wait_for};
use testenv::{chart_template, helm, project_root, TestCluster, NAMESPACES};

fn chart() -> String {
    project_root()
        .join("helm/appliance-status")
        .display()
        .to_string()
}

const SA: &str = "system:serviceaccount:appliance-system:appliance-status";
/// Granted to every authenticated account by Kubernetes' own `system:basic-user` role (asking
/// "what may I do?"), not by the chart.
const BUILT_IN_FOR_EVERYONE: [&str; 3] = [
    "selfsubjectaccessreviews.authorization.k8s.io",
    "selfsubjectrulesreviews.authorization.k8s.io",
    "selfsubjectreviews.authentication.k8s.io",
];
const WRITE_VERBS: [&str; 7] = [
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
    "escalate",
    "*",
];

/// `kubectl auth can-i --list` rows as (resource, resource names, verbs), cut at the header's
/// column positions.
fn can_i(cluster: &TestCluster, namespace: &str) -> Vec<(String, String, String)> {
    let out = cluster
        .kubectl(
            &["auth", "can-i", "--list", "--as", SA, "-n", namespace],
            None,
        )
        .unwrap();
    let mut lines = out.lines();
    let header = lines.next().unwrap_or_default();
    let col = |name: &str| {
        header
            .find(name)
            .unwrap_or_else(|| panic!("no {name:?} column in {header:?}"))
    };
    let (names_at, verbs_at) = (col("Resource Names"), col("Verbs"));
    let cut = |l: &str, from: usize, to: usize| {
        l.get(from..to.min(l.len()))
            .unwrap_or("")
            .trim()
            .to_string()
    };
    lines
        .map(|l| {
            let resources_end = col("Non-Resource URLs");
            (
                cut(l, 0, resources_end),
                cut(l, names_at, verbs_at),
                cut(l, verbs_at, l.len()),
            )
        })
        .collect()
}

#[test]
fn chart_lints() {
    for values in [
        vec![],
        vec![
            "--set",
            "secretMetadata.enabled=true",
            "--set",
            "exposure=hostNetwork",
            "--set",
            "storageSmoke.enabled=true",
            "--set",
            "tls.enabled=true",
        ],
    ] {
        let out = Command::new(helm())
            .args(["lint", "--strict", &chart()])
            .args(&values)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "helm lint: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The chart's default tag is the image scripts/image.sh builds (the workspace version).
    let chart_yaml =
        std::fs::read_to_string(project_root().join("helm/appliance-status/Chart.yaml")).unwrap();
    let cargo_toml = std::fs::read_to_string(project_root().join("Cargo.toml")).unwrap();
    let app_version = chart_yaml
        .lines()
        .find_map(|l| l.strip_prefix("appVersion: "))
        .unwrap()
        .trim_matches('"');
    let version = cargo_toml
        .lines()
        .find_map(|l| l.strip_prefix("version = "))
        .unwrap()
        .trim_matches('"');
    assert_eq!(
        app_version, version,
        "Chart appVersion and the image tag agree"
    );
    let rendered = chart_template(&[]);
    for needle in [
        "enableServiceLinks: false",
        "readOnlyRootFilesystem: true",
        "runAsNonRoot: true",
        "drop: [ALL]",
        "type: RuntimeDefault",
        "hostPort: 8080",
        "path: /livez",
        "path: /readyz",
        "secretName: appliance-status-auth",
    ] {
        assert!(rendered.contains(needle), "rendered chart lacks {needle:?}");
    }
    assert!(!rendered.contains("secrets"), "no Secret access by default");
    assert!(chart_template(&["--set", "exposure=hostNetwork"]).contains("hostNetwork: true"));
    // Requests in flight get the drain; the pod's grace period is longer.
    assert!(rendered.contains("- --drain-timeout=10s"));
    assert!(rendered.contains("terminationGracePeriodSeconds: 15"));
    assert!(
        chart_template(&["--set", "allowedHosts={status.example.net}"])
            .contains("- --allowed-host=status.example.net")
    );
    // TLS is opt-in: HTTP by default, HTTPS (and HTTPS probes) with the token's certificate.
    assert!(!rendered.contains("--tls-cert") && rendered.contains("scheme: HTTP}"));
    let tls = chart_template(&["--set", "tls.enabled=true"]);
    for needle in [
        "- --tls-cert=/var/run/appliance-status-tls/tls.crt",
        "- --tls-key=/var/run/appliance-status-tls/tls.key",
        "secret: {secretName: appliance-status-tls}",
        "scheme: HTTPS}",
    ] {
        assert!(tls.contains(needle), "TLS chart lacks {needle:?}");
    }
    assert!(!rendered.contains("--no-outbound-checks"));
    assert!(chart_template(&["--set", "outboundChecks=false"]).contains("- --no-outbound-checks"));
    assert!(!rendered.contains("--metrics-open") && !rendered.contains("prometheus.io/scrape"));
    let metrics = chart_template(&[
        "--set",
        "metrics.open=true",
        "--set",
        "metrics.scrapeAnnotations=true",
    ]);
    assert!(metrics.contains("- --metrics-open"));
    assert!(
        metrics.contains("prometheus.io/scrape: \"true\"")
            && metrics.contains("prometheus.io/port: \"8080\"")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chart_rbac_is_read_only_and_sufficient() {
    let cluster = TestCluster::start().expect("test API server");
    cluster.install_flux_crds().unwrap();

    // The status service is installed first: on a cluster where msp, alga-system and
    // flux-system do not exist yet, only its own namespace.
    cluster
        .kubectl(&["create", "namespace", "appliance-system"], None)
        .unwrap();
    cluster
        .kubectl(
            &["apply", "--dry-run=server", "-f", "-"],
            Some(&chart_template(&["--set", "storageSmoke.enabled=true"])),
        )
        .unwrap();
    cluster
        .kubectl(&["apply", "-f", "-"], Some(&chart_template(&[])))
        .unwrap();
    let kubeconfig = cluster
        .service_account_kubeconfig("appliance-system", "appliance-status")
        .unwrap();
    let collector = start_collector(&kubeconfig, false).await;
    collector.wait_synced(Duration::from_secs(30)).await;
    let doc = wait_for(
        &collector.feed,
        Duration::from_secs(30),
        "a document from the empty cluster",
        |d| d.source.last_sync.is_some(),
    )
    .await;
    assert!(
        !doc.top_blockers
            .iter()
            .any(|b| b.id.ends_with("/forbidden")),
        "namespaces that do not exist yet are not a 403: {:#?}",
        doc.top_blockers
    );
    assert_eq!(doc.release.selected_release_version, None);
    assert!(doc
        .components
        .iter()
        .filter(|c| c.namespace.as_deref() == Some("msp"))
        .all(|c| c.status == app::status::ComponentState::Missing));
    collector.stop().await;

    // The tiers create their namespaces later.
    for ns in NAMESPACES {
        let _ = cluster.kubectl(&["create", "namespace", ns], None);
    }
    cluster
        .kubectl(
            &["apply", "--dry-run=server", "-f", "-"],
            Some(&chart_template(&["--set", "secretMetadata.enabled=true"])),
        )
        .unwrap();

    // What the account may do: reads only, and no Secret at all by default.
    for ns in ["msp", "alga-system", "appliance-system", "flux-system"] {
        let rows = can_i(&cluster, ns);
        assert!(
            rows.iter().any(|(r, _, _)| r == "pods"),
            "{ns}: the chart grants pods: {rows:?}"
        );
        for (resource, _, verbs) in rows
            .into_iter()
            .filter(|(r, _, _)| !BUILT_IN_FOR_EVERYONE.contains(&r.as_str()))
        {
            assert!(
                !WRITE_VERBS.iter().any(|w| verbs
                    .split(|c: char| !c.is_alphanumeric() && c != '*')
                    .any(|v| v == *w)),
                "{ns}: {resource} has a write verb: {verbs}"
            );
            assert!(
                !resource.starts_with("secrets"),
                "{ns}: Secret access without the opt-in: {resource} {verbs}"
            );
        }
    }

    // Objects the collector must be able to read.
    let fixtures = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: appliance-release, namespace: alga-system}
data: {releaseVersion: "1.0-rc5", channel: candidate}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: unrelated, namespace: alga-system}
data: {x: "1"}
---
apiVersion: v1
kind: Secret
metadata: {name: db-credentials, namespace: msp}
stringData: {DB_PASSWORD_SERVER: not-for-the-status-service}
---
apiVersion: v1
kind: Secret
metadata: {name: redis-credentials, namespace: msp}
stringData: {REDIS_PASSWORD: not-for-the-status-service}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: alga-core, namespace: alga-system}
spec: {interval: 10m, chart: {spec: {chart: ./helm, sourceRef: {kind: GitRepository, name: alga-appliance, namespace: flux-system}}}}
"#;
    cluster
        .kubectl(&["apply", "-f", "-"], Some(fixtures))
        .unwrap();

    let collector = start_collector(&kubeconfig, false).await;
    collector.wait_synced(Duration::from_secs(30)).await;
    let doc = wait_for(
        &collector.feed,
        Duration::from_secs(30),
        "release information read through the chart's RBAC",
        |d| d.release.selected_release_version.as_deref() == Some("1.0-rc5"),
    )
    .await;
    assert!(
        !doc.top_blockers
            .iter()
            .any(|b| b.id.ends_with("/forbidden")),
        "every watch succeeds with the chart's RBAC: {:#?}",
        doc.top_blockers
    );
    collector.stop().await;

    // The opt-in: names of the two credential Secrets, nothing else.
    cluster
        .kubectl(
            &["apply", "-f", "-"],
            Some(&chart_template(&["--set", "secretMetadata.enabled=true"])),
        )
        .unwrap();
    let msp = can_i(&cluster, "msp");
    let secrets: Vec<_> = msp
        .iter()
        .filter(|(r, _, _)| r.starts_with("secrets"))
        .collect();
    let names: Vec<&str> = secrets.iter().map(|(_, n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        vec!["[db-credentials]", "[redis-credentials]"],
        "only the named Secrets: {msp:?}"
    );
    assert!(
        secrets.iter().all(|(_, _, v)| v == "[get list watch]"),
        "{secrets:?}"
    );
    assert!(can_i(&cluster, "alga-system")
        .iter()
        .all(|(r, _, _)| !r.starts_with("secrets")));

    let collector = start_collector(&kubeconfig, true).await;
    collector.wait_synced(Duration::from_secs(30)).await;
    let doc = wait_for(
        &collector.feed,
        Duration::from_secs(30),
        "credential Secrets seen by name",
        |d| {
            d.tiers
                .core
                .checks
                .iter()
                .any(|c| c.name == "core.credentials" && c.state == CheckState::Ok)
        },
    )
    .await;
    assert!(
        !doc.top_blockers
            .iter()
            .any(|b| b.id.ends_with("/forbidden")),
        "{:#?}",
        doc.top_blockers
    );
    collector.stop().await;

    // A kind the chart does not grant shows as a blocker, not as silence.
    cluster
        .kubectl(
            &["delete", "clusterrolebinding", "appliance-status-reader"],
            None,
        )
        .unwrap();
    let collector = start_collector(&kubeconfig, false).await;
    let doc = wait_for(
        &collector.feed,
        Duration::from_secs(30),
        "missing RBAC reported",
        |d| d.top_blockers.iter().any(|b| b.id.ends_with("/forbidden")),
    )
    .await;
    let b = doc
        .top_blockers
        .iter()
        .find(|b| b.id.ends_with("/forbidden"))
        .unwrap();
    assert!(b.reason.contains("Pod"), "{}", b.reason);
    collector.stop().await;
}
