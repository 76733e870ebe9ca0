//! The smoke run's stand-in for Flux's helm-controller, which the Go module proxy does not serve
//! (`github.com/fluxcd/helm-controller` is refused). What is simulated, and what is not:
//!
//! - **Real**: the chart comes from Flux's real source-controller: like helm-controller, the
//!   stand-in creates the HelmChart `<source namespace>/<namespace>-<name>` from the release's
//!   chart template, source-controller builds it from the GitRepository, and the stand-in installs
//!   the packaged artifact it serves, with helm itself (`helm upgrade --install --wait
//!   --wait-for-jobs`, helm-controller's defaults), so every object and pod is real.
//! - **Written as helm-controller v1.x writes them** (internal/controller/helmrelease_controller.go,
//!   internal/reconcile/{atomic_release,install,upgrade,release}.go): `Reconciling` "Fulfilling
//!   prerequisites"; `Ready=False DependencyNotReady` "dependency 'ns/name' is not ready";
//!   `Ready=False SourceNotReady` "HelmChart 'ns/name' is not ready: …"; `Ready=Unknown
//!   Progressing` "Running 'install' action with timeout of 30m0s"; `Released`/`Ready`
//!   InstallSucceeded "Helm install succeeded for release ns/name.vN with chart name@version" or
//!   InstallFailed "Helm install failed for release ns/name with chart name@version: <helm's error>"
//!   (and the upgrade equivalents), `observedGeneration`, `lastAttemptedReleaseAction`, `history`.
//! - **Not simulated**: remediation (uninstall and retry after a failure), drift detection, tests,
//!   post-renderers, the controller's own events. A failed release stays failed until its
//!   generation changes.

use anyhow::{bail, Context, Result};
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube::discovery::ApiResource;
use kube::Client;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// When each step of each release happened, in seconds after the timeline's start.
#[derive(Clone)]
pub struct Timeline {
    start: Arc<Mutex<Instant>>,
    entries: Arc<Mutex<Vec<(String, f64)>>>,
}

impl Timeline {
    pub fn new() -> Timeline {
        Timeline {
            start: Arc::new(Mutex::new(Instant::now())),
            entries: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Starts the clock again, forgetting what was recorded.
    pub fn restart(&self) {
        *self.start.lock().expect("timeline lock") = Instant::now();
        self.entries.lock().expect("timeline lock").clear();
    }

    /// Whether `what` was recorded.
    pub fn has(&self, what: &str) -> bool {
        self.entries
            .lock()
            .expect("timeline lock")
            .iter()
            .any(|(w, _)| w == what)
    }

    /// Records `what` now (once: a repeated entry keeps its first time).
    pub fn record(&self, what: &str) {
        let mut entries = self.entries.lock().expect("timeline lock");
        if !entries.iter().any(|(w, _)| w == what) {
            let start = *self.start.lock().expect("timeline lock");
            entries.push((what.to_string(), start.elapsed().as_secs_f64()));
        }
    }

    /// `{"what": seconds, ...}`.
    pub fn json(&self) -> Value {
        let entries = self.entries.lock().expect("timeline lock");
        Value::Object(
            entries
                .iter()
                .map(|(w, t)| (w.clone(), json!((t * 10.0).round() / 10.0)))
                .collect(),
        )
    }
}

impl Default for Timeline {
    fn default() -> Timeline {
        Timeline::new()
    }
}

fn helm_releases() -> ApiResource {
    resource(
        "helm.toolkit.fluxcd.io",
        "v2",
        "HelmRelease",
        "helmreleases",
    )
}

fn helm_charts() -> ApiResource {
    resource("source.toolkit.fluxcd.io", "v1", "HelmChart", "helmcharts")
}

fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

/// What the stand-in did last for a release.
enum Done {
    /// Installed or upgraded at this generation; the chart revision it used.
    Released {
        generation: i64,
        revision: String,
    },
    Failed {
        generation: i64,
    },
}

/// The stand-in controller: `run` reconciles every HelmRelease every second until dropped.
pub struct HelmController {
    client: Client,
    helm: PathBuf,
    kubeconfig: PathBuf,
    work: PathBuf,
    timeline: Timeline,
    done: HashMap<String, Done>,
    installing: HashMap<String, Installing>,
}

/// A helm action running in the background.
struct Installing {
    action: &'static str,
    chart: String,
    version: String,
    /// `sha256:<hex>` of the values, the history's `configDigest`.
    values_digest: String,
    handle: tokio::task::JoinHandle<Result<String, String>>,
}

impl HelmController {
    pub fn new(
        client: Client,
        helm: PathBuf,
        kubeconfig: PathBuf,
        work: PathBuf,
        timeline: Timeline,
    ) -> HelmController {
        HelmController {
            client,
            helm,
            kubeconfig,
            work,
            timeline,
            done: HashMap::new(),
            installing: HashMap::new(),
        }
    }

    pub async fn run(mut self) {
        loop {
            if let Err(e) = self.reconcile_all().await {
                eprintln!("helm-controller stand-in: {e:#}");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    fn releases(&self) -> Api<DynamicObject> {
        Api::all_with(self.client.clone(), &helm_releases())
    }

    async fn reconcile_all(&mut self) -> Result<()> {
        let list = self.releases().list(&Default::default()).await?;
        for hr in list.items {
            let hr = serde_json::to_value(&hr)?;
            let key = format!(
                "{}/{}",
                hr["metadata"]["namespace"].as_str().unwrap_or_default(),
                hr["metadata"]["name"].as_str().unwrap_or_default()
            );
            if let Err(e) = self.reconcile(&key, &hr).await {
                eprintln!("helm-controller stand-in: {key}: {e:#}");
            }
        }
        Ok(())
    }

    async fn reconcile(&mut self, key: &str, hr: &Value) -> Result<()> {
        let namespace = hr["metadata"]["namespace"].as_str().unwrap_or_default();
        let name = hr["metadata"]["name"].as_str().unwrap_or_default();
        let generation = hr["metadata"]["generation"].as_i64().unwrap_or(1);
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), namespace, &helm_releases());
        let mut status = Status::of(hr);

        // A running helm action: report its outcome when it ends.
        if let Some(running) = self.installing.get(key) {
            if !running.handle.is_finished() {
                return Ok(());
            }
            let Installing {
                action,
                chart,
                version,
                values_digest,
                handle,
            } = self.installing.remove(key).expect("present");
            let release = release_of(hr);
            match handle.await? {
                Ok(revision) => {
                    let number = status.next_version();
                    let msg = format!(
                        "Helm {action} succeeded for release {}/{}.v{number} with chart {chart}@{version}",
                        release.0, release.1
                    );
                    let reason = if action == "install" {
                        "InstallSucceeded"
                    } else {
                        "UpgradeSucceeded"
                    };
                    status.set("Released", "True", reason, &msg);
                    status.set("Ready", "True", reason, &msg);
                    status.remove("Reconciling");
                    status.remove("Stalled");
                    status.value["observedGeneration"] = json!(generation);
                    status.value["lastAppliedRevision"] = json!(revision.clone());
                    status.deployed(&release, number, &chart, &version, &values_digest);
                    status.write(&api, name).await?;
                    self.done.insert(
                        key.to_string(),
                        Done::Released {
                            generation,
                            revision,
                        },
                    );
                    self.timeline.record(&format!("{key} released"));
                }
                Err(error) => {
                    let msg = format!(
                        "Helm {action} failed for release {}/{} with chart {chart}@{version}: {error}",
                        release.0, release.1
                    );
                    let reason = if action == "install" {
                        "InstallFailed"
                    } else {
                        "UpgradeFailed"
                    };
                    status.set("Released", "False", reason, &msg);
                    status.set("Ready", "False", reason, &msg);
                    status.remove("Reconciling");
                    status.value["observedGeneration"] = json!(generation);
                    let failures = status.value["failures"].as_i64().unwrap_or(0) + 1;
                    status.value["failures"] = json!(failures);
                    status.write(&api, name).await?;
                    self.done
                        .insert(key.to_string(), Done::Failed { generation });
                    self.timeline.record(&format!("{key} failed"));
                }
            }
            return Ok(());
        }

        match self.done.get(key) {
            Some(Done::Released { generation: g, .. }) | Some(Done::Failed { generation: g })
                if *g == generation =>
            {
                return Ok(())
            }
            _ => {}
        }
        status.set_if_absent(
            "Reconciling",
            "True",
            "Progressing",
            "Fulfilling prerequisites",
        );

        // Dependencies (helmrelease_controller.go checkDependencies).
        for dep in hr["spec"]["dependsOn"].as_array().into_iter().flatten() {
            let dep_ns = dep["namespace"].as_str().unwrap_or(namespace);
            let dep_name = dep["name"].as_str().unwrap_or_default();
            let ready = match Api::<DynamicObject>::namespaced_with(
                self.client.clone(),
                dep_ns,
                &helm_releases(),
            )
            .get_opt(dep_name)
            .await?
            {
                Some(d) => {
                    let d = serde_json::to_value(&d)?;
                    d["metadata"]["generation"] == d["status"]["observedGeneration"]
                        && condition(&d, "Ready").map(|c| c["status"] == "True") == Some(true)
                }
                None => false,
            };
            if !ready {
                status.set(
                    "Ready",
                    "False",
                    "DependencyNotReady",
                    &format!("dependency '{dep_ns}/{dep_name}' is not ready"),
                );
                return status.write(&api, name).await;
            }
        }
        if status.reason("Ready") == Some("DependencyNotReady") {
            status.set(
                "Ready",
                "Unknown",
                "Progressing",
                "reconciliation in progress",
            );
        }

        // The chart, built by source-controller from the HelmChart template.
        let (chart_ns, chart_name) = self.ensure_helm_chart(hr).await?;
        let charts: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), &chart_ns, &helm_charts());
        let chart = match charts.get_opt(&chart_name).await? {
            Some(c) => serde_json::to_value(&c)?,
            None => bail!("HelmChart {chart_ns}/{chart_name} vanished"),
        };
        let artifact = &chart["status"]["artifact"];
        let chart_ready = chart["metadata"]["generation"] == chart["status"]["observedGeneration"]
            && artifact["url"].is_string();
        if !chart_ready {
            let why = match condition(&chart, "Ready") {
                Some(c) if c["status"] == "False" => {
                    c["message"].as_str().unwrap_or_default().to_string()
                }
                _ => "latest generation of object has not been reconciled".to_string(),
            };
            status.set(
                "Ready",
                "False",
                "SourceNotReady",
                &format!("HelmChart '{chart_ns}/{chart_name}' is not ready: {why}"),
            );
            return status.write(&api, name).await;
        }
        if status.reason("Ready") == Some("SourceNotReady") {
            status.set(
                "Ready",
                "Unknown",
                "Progressing",
                "reconciliation in progress",
            );
        }
        let revision = artifact["revision"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if let Some(Done::Released { revision: r, .. }) = self.done.get(key) {
            if *r == revision && status.value["observedGeneration"] == json!(generation) {
                return Ok(());
            }
        }

        // Fetch the packaged chart and the values, then run helm in the background.
        let url = artifact["url"].as_str().unwrap_or_default();
        let tgz = self.work.join(format!("{namespace}-{name}-{revision}.tgz"));
        let bytes = reqwest::get(url)
            .await
            .and_then(|r| r.error_for_status())
            .with_context(|| format!("fetching the chart artifact {url}"))?
            .bytes()
            .await?;
        std::fs::write(&tgz, &bytes)?;
        let values = self.values(hr).await?;
        let values_file = self.work.join(format!("{namespace}-{name}-values.json"));
        let values_json = serde_json::to_vec(&values)?;
        std::fs::write(&values_file, &values_json)?;
        let values_digest = sha256(&values_json);
        let (chart_name_meta, chart_version) = self.chart_metadata(&tgz)?;
        let release = release_of(hr);
        let installed = self
            .done
            .get(key)
            .map(|d| matches!(d, Done::Released { .. }))
            .unwrap_or(false);
        let action = if installed { "upgrade" } else { "install" };
        let timeout = hr["spec"][action]["timeout"]
            .as_str()
            .or(hr["spec"]["timeout"].as_str())
            .unwrap_or("5m")
            .to_string();
        let msg = format!(
            "Running '{action}' action with timeout of {}",
            go_duration(&timeout)
        );
        status.set("Reconciling", "True", "Progressing", &msg);
        status.set("Ready", "Unknown", "Progressing", &msg);
        status.value["lastAttemptedReleaseAction"] = json!(action);
        status.value["lastAttemptedRevision"] = json!(chart_version.clone());
        status.value["lastAttemptedGeneration"] = json!(generation);
        status.value["helmChart"] = json!(format!("{chart_ns}/{chart_name}"));
        status.value["storageNamespace"] = json!(release.0.clone());
        status.write(&api, name).await?;
        self.timeline.record(&format!("{key} {action} started"));

        let mut command = tokio::process::Command::new(&self.helm);
        command
            .args(["upgrade", "--install", &release.1])
            .arg(&tgz)
            .args(["--namespace", &release.0])
            .arg("--values")
            .arg(&values_file)
            .args(["--wait", "--wait-for-jobs", "--timeout", &timeout])
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .kill_on_drop(true);
        if hr["spec"]["install"]["createNamespace"] == json!(true) {
            command.arg("--create-namespace");
        }
        let log = self.work.join(format!("{namespace}-{name}-helm.log"));
        self.installing.insert(
            key.to_string(),
            Installing {
                action,
                chart: chart_name_meta,
                version: chart_version,
                values_digest,
                handle: tokio::spawn(async move {
                    let out = command.output().await.map_err(|e| e.to_string())?;
                    let _ = std::fs::write(&log, [&out.stdout[..], &out.stderr[..]].concat());
                    if out.status.success() {
                        Ok(revision)
                    } else {
                        Err(helm_error(&String::from_utf8_lossy(&out.stderr)))
                    }
                }),
            },
        );
        Ok(())
    }

    /// Creates (or finds) the HelmChart helm-controller makes for a release
    /// (internal/reconcile/helmchart_template.go): named `<namespace>-<name>` in the source's
    /// namespace.
    async fn ensure_helm_chart(&self, hr: &Value) -> Result<(String, String)> {
        let namespace = hr["metadata"]["namespace"].as_str().unwrap_or_default();
        let name = hr["metadata"]["name"].as_str().unwrap_or_default();
        let template = &hr["spec"]["chart"]["spec"];
        let source_ns = template["sourceRef"]["namespace"]
            .as_str()
            .unwrap_or(namespace)
            .to_string();
        let chart_name = format!("{namespace}-{name}");
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), &source_ns, &helm_charts());
        if api.get_opt(&chart_name).await?.is_none() {
            let mut source_ref = template["sourceRef"].clone();
            if let Some(o) = source_ref.as_object_mut() {
                o.remove("namespace");
            }
            let object = json!({
                "apiVersion": "source.toolkit.fluxcd.io/v1",
                "kind": "HelmChart",
                "metadata": {
                    "name": chart_name,
                    "namespace": source_ns,
                    "labels": {
                        "helm.toolkit.fluxcd.io/name": name,
                        "helm.toolkit.fluxcd.io/namespace": namespace,
                    },
                },
                "spec": {
                    "chart": template["chart"],
                    "version": template["version"].as_str().unwrap_or("*"),
                    "sourceRef": source_ref,
                    "interval": template["interval"].as_str().or(hr["spec"]["interval"].as_str()).unwrap_or("10m"),
                    "reconcileStrategy": template["reconcileStrategy"].as_str().unwrap_or("ChartVersion"),
                },
            });
            let object: DynamicObject = serde_json::from_value(object)?;
            api.create(&PostParams::default(), &object).await?;
        }
        Ok((source_ns, chart_name))
    }

    /// valuesFrom (in order), then spec.values on top (helm-controller's chartutil.ChartValuesFromReferences).
    async fn values(&self, hr: &Value) -> Result<Value> {
        let namespace = hr["metadata"]["namespace"].as_str().unwrap_or_default();
        let mut merged = json!({});
        for reference in hr["spec"]["valuesFrom"].as_array().into_iter().flatten() {
            let kind = reference["kind"].as_str().unwrap_or_default();
            let name = reference["name"].as_str().unwrap_or_default();
            let key = reference["valuesKey"].as_str().unwrap_or("values.yaml");
            let data = match kind {
                "ConfigMap" => {
                    let api: Api<k8s_openapi::api::core::v1::ConfigMap> =
                        Api::namespaced(self.client.clone(), namespace);
                    api.get(name)
                        .await?
                        .data
                        .and_then(|d| d.get(key).cloned())
                        .unwrap_or_default()
                }
                other => bail!("valuesFrom kind {other} is not simulated"),
            };
            let values: Value = serde_yaml::from_str(&data).unwrap_or(json!({}));
            merge(&mut merged, &values);
        }
        if hr["spec"]["values"].is_object() {
            merge(&mut merged, &hr["spec"]["values"]);
        }
        Ok(merged)
    }

    fn chart_metadata(&self, tgz: &std::path::Path) -> Result<(String, String)> {
        let out = std::process::Command::new(&self.helm)
            .args(["show", "chart"])
            .arg(tgz)
            .output()?;
        if !out.status.success() {
            bail!("helm show chart: {}", String::from_utf8_lossy(&out.stderr));
        }
        let chart: Value = serde_yaml::from_slice(&out.stdout)?;
        Ok((
            chart["name"].as_str().unwrap_or_default().to_string(),
            chart["version"].as_str().unwrap_or_default().to_string(),
        ))
    }
}

/// `sha256:<hex>`, as Flux writes digests.
fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    let hash = sha2::Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// (target namespace, release name) of a HelmRelease.
fn release_of(hr: &Value) -> (String, String) {
    let namespace = hr["spec"]["targetNamespace"]
        .as_str()
        .or(hr["metadata"]["namespace"].as_str())
        .unwrap_or_default();
    let name = hr["spec"]["releaseName"]
        .as_str()
        .or(hr["metadata"]["name"].as_str())
        .unwrap_or_default();
    (namespace.to_string(), name.to_string())
}

fn condition<'a>(object: &'a Value, type_: &str) -> Option<&'a Value> {
    object["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
}

fn merge(into: &mut Value, from: &Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

/// helm's error as helm-controller's `err.Error()` reads: without the CLI's "Error: INSTALLATION
/// FAILED: " prefix.
fn helm_error(stderr: &str) -> String {
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with("Error: "))
        .unwrap_or(stderr.trim());
    let line = line.trim_start_matches("Error: ");
    for prefix in ["INSTALLATION FAILED: ", "UPGRADE FAILED: "] {
        if let Some(rest) = line.strip_prefix(prefix) {
            return rest.to_string();
        }
    }
    line.to_string()
}

/// A Flux duration ("30m", "5m", "90s") as Go's time.Duration prints it ("30m0s", "1m30s").
fn go_duration(text: &str) -> String {
    let seconds = match text.strip_suffix('m') {
        Some(m) => m.parse::<u64>().map(|m| m * 60).ok(),
        None => text.strip_suffix('s').and_then(|s| s.parse().ok()),
    };
    match seconds {
        Some(s) if s >= 3600 => format!("{}h{}m{}s", s / 3600, s % 3600 / 60, s % 60),
        Some(s) => format!("{}m{}s", s / 60, s % 60),
        None => text.to_string(),
    }
}

/// A HelmRelease's status being edited.
struct Status {
    value: Value,
}

impl Status {
    fn of(hr: &Value) -> Status {
        let mut value = hr["status"].clone();
        if !value.is_object() {
            value = json!({});
        }
        if !value["conditions"].is_array() {
            value["conditions"] = json!([]);
        }
        Status { value }
    }

    fn conditions(&mut self) -> &mut Vec<Value> {
        self.value["conditions"]
            .as_array_mut()
            .expect("conditions is an array")
    }

    fn reason(&self, type_: &str) -> Option<&str> {
        self.value["conditions"]
            .as_array()?
            .iter()
            .find(|c| c["type"] == type_)?["reason"]
            .as_str()
    }

    fn set(&mut self, type_: &str, status: &str, reason: &str, message: &str) {
        let now = jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let conditions = self.conditions();
        match conditions.iter_mut().find(|c| c["type"] == type_) {
            Some(c) => {
                if c["status"] != status {
                    c["lastTransitionTime"] = json!(now);
                }
                c["status"] = json!(status);
                c["reason"] = json!(reason);
                c["message"] = json!(message);
            }
            None => conditions.push(json!({
                "type": type_, "status": status, "reason": reason, "message": message,
                "lastTransitionTime": now,
            })),
        }
    }

    fn set_if_absent(&mut self, type_: &str, status: &str, reason: &str, message: &str) {
        if self.reason(type_).is_none() {
            self.set(type_, status, reason, message);
        }
    }

    fn remove(&mut self, type_: &str) {
        self.conditions().retain(|c| c["type"] != type_);
    }

    fn next_version(&self) -> i64 {
        self.value["history"]
            .as_array()
            .and_then(|h| h.first())
            .and_then(|s| s["version"].as_i64())
            .unwrap_or(0)
            + 1
    }

    /// A deployed release snapshot at the head of `history` (api/v2 snapshot_types.go).
    fn deployed(
        &mut self,
        release: &(String, String),
        version: i64,
        chart: &str,
        chart_version: &str,
        config_digest: &str,
    ) {
        let now = jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        // helm-controller digests the Helm release object; the stand-in digests what names it.
        let digest = sha256(
            format!(
                "{}/{}.v{version} {chart}@{chart_version} {config_digest}",
                release.0, release.1
            )
            .as_bytes(),
        );
        let snapshot = json!({
            "name": release.1, "namespace": release.0, "version": version,
            "chartName": chart, "chartVersion": chart_version, "status": "deployed",
            "firstDeployed": now, "lastDeployed": now,
            "configDigest": config_digest, "digest": digest,
        });
        let mut history = self.value["history"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        history.insert(0, snapshot);
        history.truncate(5);
        self.value["history"] = json!(history);
    }

    async fn write(self, api: &Api<DynamicObject>, name: &str) -> Result<()> {
        api.patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": self.value})),
        )
        .await
        .with_context(|| format!("writing the status of HelmRelease {name}"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_go_prints_them() {
        assert_eq!(go_duration("30m"), "30m0s");
        assert_eq!(go_duration("5m"), "5m0s");
        assert_eq!(go_duration("90s"), "1m30s");
        assert_eq!(go_duration("120m"), "2h0m0s");
    }

    #[test]
    fn helm_errors_lose_the_cli_prefix() {
        assert_eq!(
            helm_error(
                "coalesce.go:1: warning\nError: INSTALLATION FAILED: context deadline exceeded\n"
            ),
            "context deadline exceeded"
        );
        assert_eq!(
            helm_error("Error: UPGRADE FAILED: resource not ready"),
            "resource not ready"
        );
    }

    #[test]
    fn values_from_merge_under_spec_values() {
        let mut a = json!({"images": {"algaCore": "a", "x": 1}, "keep": true});
        merge(&mut a, &json!({"images": {"algaCore": "b"}}));
        assert_eq!(
            a,
            json!({"images": {"algaCore": "b", "x": 1}, "keep": true})
        );
    }
}
