//! The Helm chart against a real kube-apiserver with RBAC: `helm lint`, the values schema, names
//! derived from the release, NOTES.txt, server-side dry-run, the collector running with a genuine
//! service-account token bound to the chart's RBAC, and the storage smoke probe's own namespace
//! under Pod Security `restricted` (PodSecurity admission is on in kube-apiserver by default).

mod support;

use app::status::CheckState;
use appliance_status::smoke::{run_once, SmokeConfig};
use serde_json::Value;
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

/// `kubectl auth can-i --list` rows of the chart's account as (resource, resource names, verbs).
fn can_i(cluster: &TestCluster, namespace: &str) -> Vec<(String, String, String)> {
    can_i_as(cluster, SA, namespace)
}

/// `kubectl auth can-i --list` rows of `account` as (resource, resource names, verbs), cut at the
/// header's column positions.
fn can_i_as(
    cluster: &TestCluster,
    account: &str,
    namespace: &str,
) -> Vec<(String, String, String)> {
    let out = cluster
        .kubectl(
            &["auth", "can-i", "--list", "--as", account, "-n", namespace],
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
        vec![
            "--set",
            "nameOverride=probe",
            "--set",
            "storageSmoke.enabled=true",
            "--set",
            "storageSmoke.namespace=smoke-probe",
            "--set-json",
            r#"tolerations=[{"key":"node-role.kubernetes.io/control-plane","operator":"Exists","effect":"NoSchedule"}]"#,
        ],
        // The opt-in monitoring (server/tests/monitoring.rs tests what it does).
        vec![
            "--set",
            "monitoring.serviceMonitor.enabled=true",
            "--set",
            "monitoring.prometheusRule.enabled=true",
            "--set",
            "monitoring.grafanaDashboard.enabled=true",
            "--set",
            "siteId=acme-hq-01",
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
        "helm.sh/chart: appliance-status-0.1.0",
        "app.kubernetes.io/managed-by: Helm",
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
    // (The storage smoke opt-in creates a namespace, which a dry run cannot hold a Role in: it is
    // installed for real by `chart_under_another_release_name_installs_with_notes_and_rbac`.)
    cluster
        .kubectl(
            &["apply", "--dry-run=server", "-f", "-"],
            Some(&chart_template(&[
                "--set",
                "tls.enabled=true",
                "--set",
                "catalog.override=x",
                "--set",
                "exposure=hostNetwork",
            ])),
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

    reads_everything_with(&kubeconfig, "the chart's RBAC").await;

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

/// `helm template RELEASE <chart> --namespace NAMESPACE extra…`: the manifests, or helm's error.
fn template(release: &str, namespace: &str, extra: &[&str]) -> Result<String, String> {
    let out = Command::new(helm())
        .args(["template", release, &chart(), "--namespace", namespace])
        .args(extra)
        .output()
        .expect("helm runs");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The objects of a rendered chart.
fn objects(manifests: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(manifests)
        .map(|d| <Value as serde::Deserialize>::deserialize(d).expect("helm renders YAML"))
        .filter(Value::is_object)
        .collect()
}

fn object<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} among {:?}", names_of(objects)))
}

fn names_of(objects: &[Value]) -> Vec<String> {
    objects
        .iter()
        .map(|o| format!("{} {}", o["kind"], o["metadata"]["name"]))
        .collect()
}

/// The Deployment's pod spec.
fn pod_spec(objects: &[Value]) -> &Value {
    &objects
        .iter()
        .find(|o| o["kind"] == "Deployment")
        .expect("a Deployment")["spec"]["template"]["spec"]
}

fn args(objects: &[Value]) -> Vec<String> {
    pod_spec(objects)["containers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

/// Every `enum` in the schema with the `--set` path that reaches it.
fn enums(schema: &Value, path: &str, found: &mut Vec<(String, Vec<String>)>) {
    if let Some(values) = schema["enum"].as_array() {
        let values = values.iter().map(|v| v.as_str().unwrap().to_string());
        found.push((path.to_string(), values.collect()));
    }
    for (key, property) in schema["properties"].as_object().into_iter().flatten() {
        let path = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        enums(property, &path, found);
    }
}

/// values.schema.json refuses what the templates do not implement, with helm's own message, and
/// takes every value values.yaml documents.
#[test]
fn chart_schema_refuses_what_the_templates_do_not_implement() {
    const SCHEMA: &str = "values don't meet the specifications of the schema(s)";
    let refused: [(&[&str], &str); 14] = [
        // Before the schema this rendered neither a host port nor host networking.
        (
            &["--set", "exposure=hostport"],
            "at '/exposure': value must be one of 'hostPort', 'hostNetwork'",
        ),
        (
            &["--set", "port=eighty"],
            "at '/port': got string, want integer",
        ),
        (&["--set", "port=70000"], "at '/port': maximum"),
        (
            &["--set", "tls.enabled=yes"],
            "at '/tls/enabled': got string, want boolean",
        ),
        (
            &["--set", "logFormat=text"],
            "at '/logFormat': value must be one of",
        ),
        (
            &["--set", "image.pullPolicy=always"],
            "at '/image/pullPolicy': value must be one of",
        ),
        (
            &["--set", "storageSmoke.interval=30 minutes"],
            "at '/storageSmoke/interval'",
        ),
        (
            &["--set", "drainTimeoutSeconds=-1"],
            "at '/drainTimeoutSeconds': minimum",
        ),
        (
            &["--set", "exposur=hostPort"],
            "additional properties 'exposur' not allowed",
        ),
        (
            &["--set", "storageSmoke.enable=true"],
            "additional properties 'enable' not allowed",
        ),
        (
            &["--set", "auth.secretName=Not_A_Name"],
            "at '/auth/secretName'",
        ),
        // An empty resourceNames list in an RBAC rule grants every name.
        (
            &["--set-json", "secretMetadata.names=[]"],
            "at '/secretMetadata/names': minItems",
        ),
        (
            &["--set-json", "catalog.configMaps=[]"],
            "at '/catalog/configMaps': minItems",
        ),
        (&["--set-json", "podLabels={\"a\":1}"], "at '/podLabels/a'"),
    ];
    for (values, message) in refused {
        let err = template("appliance-status", "appliance-system", values)
            .expect_err(&format!("the schema refuses {values:?}"));
        assert!(
            err.contains(SCHEMA) && err.contains(message),
            "{values:?}: {message:?} expected in: {err}"
        );
    }
    let out = Command::new(helm())
        .args(["lint", "--strict", &chart(), "--set", "exposure=hostport"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "helm lint refuses it too");
    assert!(String::from_utf8_lossy(&out.stdout).contains("value must be one of 'hostPort'"));

    // The smoke namespace enforces `restricted`, which the status pod cannot pass.
    let err = template(
        "appliance-status",
        "appliance-system",
        &[
            "--set",
            "storageSmoke.enabled=true",
            "--set",
            "storageSmoke.namespace=appliance-system",
        ],
    )
    .unwrap_err();
    assert!(
        err.contains("storageSmoke.namespace must not be the release's namespace"),
        "{err}"
    );

    // Every enum value renders, and shows in what the templates make of it.
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(project_root().join("helm/appliance-status/values.schema.json"))
            .unwrap(),
    )
    .unwrap();
    let mut found = Vec::new();
    enums(&schema, "", &mut found);
    let mut paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    paths.sort();
    assert_eq!(paths, ["exposure", "image.pullPolicy", "logFormat"]);
    for (path, values) in &found {
        for value in values {
            let set = format!("{path}={value}");
            let rendered = template("appliance-status", "appliance-system", &["--set", &set])
                .unwrap_or_else(|e| panic!("{set}: {e}"));
            let objects = objects(&rendered);
            let container = &pod_spec(&objects)["containers"][0];
            match path.as_str() {
                "image.pullPolicy" => assert_eq!(container["imagePullPolicy"], *value),
                "logFormat" => assert!(args(&objects).contains(&format!("--log-format={value}"))),
                "exposure" => {
                    let host_port = container["ports"][0]["hostPort"] == 8080;
                    let host_network = pod_spec(&objects)["hostNetwork"] == true;
                    assert!(
                        host_port != host_network,
                        "{set}: exactly one of a host port and host networking"
                    );
                    assert_eq!(host_network, value == "hostNetwork");
                }
                other => panic!("{other}: a new enum; say here what it renders"),
            }
        }
    }

    // The other documented values, all at once.
    let documented = [
        "--set",
        "image.tag=20261206",
        "--set",
        "port=9443",
        "--set",
        "tls.enabled=true",
        "--set",
        "storageSmoke.enabled=true",
        "--set",
        "storageSmoke.namespace=status-smoke",
        "--set",
        "storageSmoke.interval=1h30m",
        "--set",
        "secretMetadata.enabled=true",
        "--set",
        "allowedHosts={status.example.net,status.example.net:9443}",
        "--set",
        "drainTimeoutSeconds=0",
        "--set-json",
        r#"imagePullSecrets=[{"name":"ghcr-pull"}]"#,
        "--set-json",
        r#"nodeSelector={"kubernetes.io/os":"linux"}"#,
        "--set-json",
        r#"tolerations=[{"key":"node-role.kubernetes.io/control-plane","operator":"Exists","effect":"NoSchedule"}]"#,
        "--set-json",
        r#"affinity={"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"kubernetes.io/os","operator":"In","values":["linux"]}]}]}}}"#,
        "--set-json",
        r#"podAnnotations={"example.net/owner":"ops"}"#,
        "--set-json",
        r#"podLabels={"team":"ops","app.kubernetes.io/name":"other"}"#,
        "--set",
        "metrics.scrapeAnnotations=true",
    ];
    let objects = objects(&template("appliance-status", "appliance-system", &documented).unwrap());
    let spec = pod_spec(&objects);
    let container = &spec["containers"][0];
    assert_eq!(
        container["image"],
        "ghcr.io/nine-minds/appliance-status:20261206"
    );
    assert_eq!(container["ports"][0]["hostPort"], 9443);
    assert_eq!(spec["imagePullSecrets"][0]["name"], "ghcr-pull");
    assert_eq!(spec["nodeSelector"]["kubernetes.io/os"], "linux");
    assert_eq!(spec["tolerations"][0]["operator"], "Exists");
    assert!(spec["affinity"]["nodeAffinity"].is_object());
    assert_eq!(spec["terminationGracePeriodSeconds"], 5);
    let deployment = object(&objects, "Deployment", "appliance-status");
    let meta = &deployment["spec"]["template"]["metadata"];
    assert_eq!(meta["annotations"]["example.net/owner"], "ops");
    assert_eq!(meta["annotations"]["prometheus.io/port"], "9443");
    assert_eq!(meta["labels"]["team"], "ops");
    for (key, value) in deployment["spec"]["selector"]["matchLabels"]
        .as_object()
        .unwrap()
    {
        assert_eq!(
            meta["labels"][key], *value,
            "podLabels never replace the selector's labels"
        );
    }
    let args = args(&objects);
    for arg in [
        "--storage-smoke-namespace=status-smoke",
        "--storage-smoke-interval=1h30m",
        "--storage-smoke-image=ghcr.io/nine-minds/appliance-status:20261206",
        "--allowed-host=status.example.net:9443",
        "--drain-timeout=0s",
        "--tls-cert=/var/run/appliance-status-tls/tls.crt",
    ] {
        assert!(args.iter().any(|a| a == arg), "{arg} in {args:?}");
    }
    let out = Command::new(helm())
        .args(["lint", "--strict", &chart()])
        .args(documented)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Object names derive from the release (the usual `fullname`), so that two releases do not
/// collide; release `appliance-status` keeps the names the service, flux/ and the docs use. The
/// Secrets are not the chart's: their names stay values.
#[test]
fn chart_names_derive_from_the_release() {
    let opt_ins = [
        "--set",
        "storageSmoke.enabled=true",
        "--set",
        "secretMetadata.enabled=true",
        "--set",
        "catalog.override=x",
    ];
    for (release, namespace, extra, fullname, name) in [
        (
            "appliance-status",
            "appliance-system",
            None,
            "appliance-status",
            "appliance-status",
        ),
        (
            "edge",
            "status-edge",
            None,
            "edge-appliance-status",
            "appliance-status",
        ),
        (
            "appliance-status-2",
            "status-edge",
            None,
            "appliance-status-2",
            "appliance-status",
        ),
        (
            "edge",
            "status-edge",
            Some("fullnameOverride=status"),
            "status",
            "appliance-status",
        ),
        (
            "edge",
            "status-edge",
            Some("nameOverride=probe"),
            "edge-probe",
            "probe",
        ),
    ] {
        let mut values = opt_ins.to_vec();
        if let Some(set) = extra {
            values.extend(["--set", set]);
        }
        let objects = objects(&template(release, namespace, &values).unwrap());
        let smoke = format!("{namespace}-smoke");
        let case = format!("{release} {extra:?}");
        for o in &objects {
            let meta = &o["metadata"];
            let object_name = meta["name"].as_str().unwrap();
            if o["kind"] == "Namespace" {
                assert_eq!(object_name, smoke, "{case}");
            } else {
                assert!(
                    object_name == fullname || object_name.starts_with(&format!("{fullname}-")),
                    "{case}: {} {object_name} is not derived from {fullname}",
                    o["kind"]
                );
            }
            let labels = &meta["labels"];
            assert_eq!(labels["helm.sh/chart"], "appliance-status-0.1.0", "{case}");
            assert_eq!(labels["app.kubernetes.io/instance"], release, "{case}");
            assert_eq!(labels["app.kubernetes.io/name"], name, "{case}");
            // Every binding names the chart's account, in the release's namespace, and a role the
            // chart renders.
            if let Some(subjects) = o["subjects"].as_array() {
                assert_eq!(
                    subjects,
                    &[
                        serde_json::json!({"kind": "ServiceAccount", "name": fullname, "namespace": namespace})
                    ],
                    "{case}"
                );
                let role = o["roleRef"]["name"].as_str().unwrap();
                let role_kind = o["roleRef"]["kind"].as_str().unwrap();
                assert_eq!(
                    object(&objects, role_kind, role)["metadata"]["namespace"],
                    meta["namespace"],
                    "{case}: {role} beside its binding"
                );
            }
        }
        object(&objects, "ServiceAccount", fullname);
        object(&objects, "ClusterRole", &format!("{fullname}-reader"));
        let deployment = object(&objects, "Deployment", fullname);
        let spec = pod_spec(&objects);
        assert_eq!(spec["serviceAccountName"], fullname, "{case}");
        assert_eq!(
            deployment["spec"]["selector"]["matchLabels"],
            serde_json::json!({"app.kubernetes.io/name": name, "app.kubernetes.io/instance": release})
        );
        let volumes = spec["volumes"].as_array().unwrap();
        let volume = |n: &str| volumes.iter().find(|v| v["name"] == n).unwrap().clone();
        assert_eq!(
            volume("token")["secret"]["secretName"],
            "appliance-status-auth",
            "{case}"
        );
        let catalog = volume("catalog")["configMap"]["name"].clone();
        assert_eq!(catalog, format!("{fullname}-catalog"));
        object(&objects, "ConfigMap", catalog.as_str().unwrap());
        // The smoke Role is in the smoke namespace only, which the service is told.
        let smoke_role = object(&objects, "Role", &format!("{fullname}-storage-smoke"));
        assert_eq!(smoke_role["metadata"]["namespace"], smoke.as_str());
        assert!(args(&objects).contains(&format!("--storage-smoke-namespace={smoke}")));
        let namespace_object = object(&objects, "Namespace", &smoke);
        for mode in ["enforce", "audit", "warn"] {
            assert_eq!(
                namespace_object["metadata"]["labels"]
                    [format!("pod-security.kubernetes.io/{mode}")],
                "restricted"
            );
        }
        assert!(
            !objects.iter().any(|o| o["kind"] == "Role"
                && o["metadata"]["namespace"] == namespace
                && o["rules"].to_string().contains("create")),
            "{case}: nothing may be created in the release's namespace"
        );
    }
}

/// A release of another name in another namespace, installed by helm on the real API server: its
/// NOTES (helm renders NOTES.txt only for install/upgrade, and `helm install --dry-run` asks the
/// cluster for its version, so the NOTES are read from the real API server), its derived names
/// bound to a working read-only RBAC (the collector reads with its genuine token), and the storage
/// smoke probe in its own namespace: the pod smoke.rs builds is admitted under Pod Security
/// `restricted` there, a privileged pod and the status pod itself are refused, and the account may
/// create pods there and nowhere else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chart_under_another_release_name_installs_with_notes_and_rbac() {
    let cluster = TestCluster::start().expect("test API server");
    cluster.install_flux_crds().unwrap();
    let helm_at = |args: &[&str]| {
        let out = Command::new(helm())
            .args(args)
            .arg("--kubeconfig")
            .arg(&cluster.kubeconfig)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "helm {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let notes = |out: &str| {
        out.split_once("\nNOTES:\n")
            .unwrap_or_else(|| panic!("no NOTES in {out}"))
            .1
            .to_string()
    };

    // The NOTES of the release the appliance installs: the node's address, the token, what to do
    // while the Secret is missing; https with TLS.
    let chart = chart();
    let default = notes(&helm_at(&[
        "install",
        "appliance-status",
        &chart,
        "-n",
        "appliance-system",
        "--dry-run",
    ]));
    for needle in [
        "The address is http://<node-ip>:8080",
        "kubectl -n appliance-system get pod -l app.kubernetes.io/name=appliance-status,app.kubernetes.io/instance=appliance-status -o jsonpath='{.items[0].status.hostIP}'",
        r#"kubectl get nodes -o jsonpath='{.items[0].status.addresses[?(@.type=="InternalIP")].address}'"#,
        "kubectl -n appliance-system get secret appliance-status-auth -o jsonpath='{.data.token}' | base64 -d",
        "`appliance-status token ensure` creates it",
        "the pod waits in ContainerCreating",
        "secret \"appliance-status-auth\" not found",
        "appliance-status token ensure --kubeconfig",
        "kubectl -n appliance-system create secret generic appliance-status-auth --from-literal=token=\"$(openssl rand -hex 32)\"",
        "appliance-status wait --for login --url http://<node-ip>:8080",
    ] {
        assert!(default.contains(needle), "NOTES lack {needle:?}:\n{default}");
    }
    assert!(!default.contains("smoke"), "{default}");
    let tls = notes(&helm_at(&[
        "install",
        "appliance-status",
        &chart,
        "-n",
        "appliance-system",
        "--dry-run",
        "--set",
        "tls.enabled=true",
        "--set",
        "port=9443",
    ]));
    for needle in [
        "The address is https://<node-ip>:9443",
        "Secret appliance-system/appliance-status-tls",
        "appliance-status token ensure --tls --kubeconfig",
    ] {
        assert!(tls.contains(needle), "TLS NOTES lack {needle:?}:\n{tls}");
    }

    // Release `edge` in `status-edge`, with the smoke probe: installed for real.
    cluster
        .kubectl(&["create", "namespace", "status-edge"], None)
        .unwrap();
    let edge = notes(&helm_at(&[
        "install",
        "edge",
        &chart,
        "-n",
        "status-edge",
        "--set",
        "storageSmoke.enabled=true",
    ]));
    for needle in [
        "Deployment status-edge/edge-appliance-status",
        "kubectl -n status-edge get secret appliance-status-auth -o jsonpath='{.data.token}' | base64 -d",
        // `token ensure` writes appliance-system's Secret: this release's is made with kubectl.
        "`appliance-status token ensure` writes Secret appliance-system/appliance-status-auth",
        "kubectl -n status-edge create secret generic appliance-status-auth",
        "app.kubernetes.io/instance=edge",
        "namespace status-edge-smoke (Pod Security",
    ] {
        assert!(edge.contains(needle), "edge NOTES lack {needle:?}:\n{edge}");
    }
    let labels = cluster
        .kubectl(
            &[
                "get",
                "namespace",
                "status-edge-smoke",
                "-o",
                "jsonpath={.metadata.labels}",
            ],
            None,
        )
        .unwrap();
    let labels: Value = serde_json::from_str(&labels).unwrap();
    assert_eq!(labels["pod-security.kubernetes.io/enforce"], "restricted");

    // The derived names, bound: the collector reads everything with the account's own token.
    for ns in NAMESPACES {
        let _ = cluster.kubectl(&["create", "namespace", ns], None);
    }
    cluster
        .kubectl(
            &["apply", "-f", "-"],
            Some("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: appliance-release, namespace: alga-system}\ndata: {releaseVersion: \"1.0-rc5\"}\n"),
        )
        .unwrap();
    let kubeconfig = cluster
        .service_account_kubeconfig("status-edge", "edge-appliance-status")
        .unwrap();
    reads_everything_with(&kubeconfig, "the derived names' RBAC").await;

    // Writes: claims and pods in the smoke namespace, nothing anywhere else.
    let account = "system:serviceaccount:status-edge:edge-appliance-status";
    let rows = can_i_as(&cluster, account, "status-edge-smoke");
    for resource in ["pods", "persistentvolumeclaims"] {
        assert!(
            rows.iter()
                .any(|(r, _, v)| r == resource && v.contains("create") && v.contains("delete")),
            "{resource} in the smoke namespace: {rows:?}"
        );
    }
    for ns in [
        "status-edge",
        "appliance-system",
        "msp",
        "alga-system",
        "default",
    ] {
        for (resource, _, verbs) in can_i_as(&cluster, account, ns)
            .into_iter()
            .filter(|(r, _, _)| !BUILT_IN_FOR_EVERYONE.contains(&r.as_str()))
        {
            assert!(
                !WRITE_VERBS.iter().any(|w| verbs
                    .split(|c: char| !c.is_alphanumeric() && c != '*')
                    .any(|v| v == *w)),
                "{ns}: {resource} has a write verb: {verbs}"
            );
        }
    }

    // The probe itself, through the account: in the smoke namespace its pod is admitted (the run
    // gets as far as waiting for the claim, which nothing binds here); in the release's namespace
    // it may not even look.
    let client = appliance_status::collect::client(Some(&kubeconfig))
        .await
        .unwrap();
    let mut smoke = SmokeConfig::new(
        "status-edge-smoke",
        "ghcr.io/nine-minds/appliance-status:0.1.0",
    );
    smoke.timeout = Duration::from_secs(3);
    let err = run_once(&client, &smoke, 1).await.unwrap_err().to_string();
    assert!(
        err.contains("did not bind") && err.contains("claim Pending, pod Pending"),
        "the smoke pod is admitted under restricted: {err}"
    );
    smoke.namespace = "status-edge".into();
    let err = run_once(&client, &smoke, 2).await.unwrap_err().to_string();
    assert!(err.contains("forbidden"), "{err}");

    // Pod Security: a privileged pod is refused in the smoke namespace (and admitted in the
    // release's, which cannot enforce it), and so is the status pod's own spec (its host port).
    let privileged = |ns: &str| {
        format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: privileged, namespace: {ns}}}\nspec:\n  containers: [{{name: c, image: busybox, securityContext: {{privileged: true}}}}]\n")
    };
    let refused = cluster
        .kubectl(
            &["apply", "--dry-run=server", "-f", "-"],
            Some(&privileged("status-edge-smoke")),
        )
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("violates PodSecurity \"restricted:latest\"")
            && refused.contains("privileged"),
        "{refused}"
    );
    cluster
        .kubectl(
            &["apply", "--dry-run=server", "-f", "-"],
            Some(&privileged("status-edge")),
        )
        .unwrap();
    let deployment: Value = serde_json::from_str(
        &cluster
            .kubectl(
                &[
                    "get",
                    "deployment",
                    "edge-appliance-status",
                    "-n",
                    "status-edge",
                    "-o",
                    "json",
                ],
                None,
            )
            .unwrap(),
    )
    .unwrap();
    let status_pod = serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "status", "namespace": "status-edge-smoke"},
        "spec": deployment["spec"]["template"]["spec"],
    });
    let refused = cluster
        .kubectl(
            &["create", "--dry-run=server", "-f", "-"],
            Some(&status_pod.to_string()),
        )
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("violates PodSecurity") && refused.contains("hostPort"),
        "{refused}"
    );
}

/// The collector, run with `kubeconfig`'s account, reads the release information and is refused
/// no watch.
async fn reads_everything_with(kubeconfig: &std::path::Path, rbac: &str) {
    let collector = start_collector(kubeconfig, false).await;
    collector.wait_synced(Duration::from_secs(30)).await;
    let doc = wait_for(
        &collector.feed,
        Duration::from_secs(30),
        &format!("release information read through {rbac}"),
        |d| d.release.selected_release_version.as_deref() == Some("1.0-rc5"),
    )
    .await;
    assert!(
        !doc.top_blockers
            .iter()
            .any(|b| b.id.ends_with("/forbidden")),
        "every watch succeeds with {rbac}: {:#?}",
        doc.top_blockers
    );
    collector.stop().await;
}
