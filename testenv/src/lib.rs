//! A real kube-apiserver and etcd for tests, started on loopback from binaries built from their Go
//! modules (`testing/apiserver/build.sh`), with RBAC, service-account tokens, an admin token and
//! the Flux CRDs from the controllers' own modules (`testing/crds/build.sh`). Both processes are stopped by PID on drop, also
//! when a test fails.
//!
//! [`ScenarioLoader`] applies scenario files (objects and their `.status`) to it, step by step, with
//! timestamps rebased so that each step looks as fresh to the collector as it says.

pub mod controlplane;
pub mod helmrelease;
pub mod layers;
pub mod registry;
pub mod smoke;
pub mod standalone;
pub mod tls;

use anyhow::{bail, Context, Result};
use kube::api::{DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube::discovery::{ApiCapabilities, ApiResource, Scope};
use kube::{Api, Client};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The project root (this crate lives in `testenv/`).
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("testenv has a parent")
        .to_path_buf()
}

/// The Flux CRDs (source-, kustomize- and helm-controller's), made or found cached by
/// `testing/crds/build.sh`; asked once per process.
pub fn flux_crds_dir() -> Result<PathBuf> {
    static DIR: std::sync::OnceLock<std::result::Result<PathBuf, String>> =
        std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let out = Command::new("bash")
            .arg(project_root().join("testing/crds/build.sh"))
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("running testing/crds/build.sh: {e}"))?;
        if !out.status.success() {
            return Err(format!("testing/crds/build.sh failed ({})", out.status));
        }
        Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
    })
    .clone()
    .map_err(anyhow::Error::msg)
}

/// What a build script of `testing/` made (or found cached): it prints the directory on stdout;
/// its progress goes to the test's stderr. Panics, naming the script, when it fails.
pub fn built(script: &str) -> PathBuf {
    let out = Command::new("bash")
        .arg(project_root().join(script))
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("running {script}: {e}"));
    assert!(out.status.success(), "{script} failed ({})", out.status);
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// helm, installed (or found cached) by `testing/tools.sh`.
pub fn helm() -> PathBuf {
    let out = Command::new("bash")
        .arg(project_root().join("testing/tools.sh"))
        .output()
        .expect("testing/tools.sh");
    assert!(
        out.status.success(),
        "installing helm failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("helm")
}

/// `helm template` of this repository's chart as release `appliance-status` in
/// `appliance-system`, with `extra` arguments (`--set …`).
pub fn chart_template(extra: &[&str]) -> String {
    let out = Command::new(helm())
        .args(["template", "appliance-status"])
        .arg(project_root().join("helm/appliance-status"))
        .args(["--namespace", "appliance-system"])
        .args(extra)
        .output()
        .expect("helm runs");
    assert!(
        out.status.success(),
        "helm template failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A free TCP port on loopback.
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Builds (or finds cached) kube-apiserver and etcd; returns their directory.
pub fn binaries() -> Result<PathBuf> {
    let script = project_root().join("testing/apiserver/build.sh");
    let out = Command::new("bash")
        .arg(&script)
        .stderr(Stdio::inherit())
        .output()
        .context("running testing/apiserver/build.sh")?;
    if !out.status.success() {
        bail!("building the test API server failed ({})", out.status);
    }
    Ok(PathBuf::from(String::from_utf8(out.stdout)?.trim()))
}

/// A running etcd + kube-apiserver pair.
pub struct TestCluster {
    pub dir: PathBuf,
    pub port: u16,
    etcd_port: u16,
    peer_port: u16,
    pub admin_token: String,
    /// An admin kubeconfig.
    pub kubeconfig: PathBuf,
    bin: PathBuf,
    etcd: Option<Child>,
    apiserver: Option<Child>,
    /// Further processes (controller-manager, scheduler, kwok, Flux's controllers, ...), stopped
    /// first, in reverse order, on drop.
    others: Vec<(String, Child)>,
}

impl TestCluster {
    /// Starts etcd and kube-apiserver on free loopback ports and waits until `/readyz` answers.
    pub fn start() -> Result<TestCluster> {
        let bin = binaries()?;
        let dir = std::env::temp_dir().join(format!(
            "appliance-status-apiserver-{}-{}",
            std::process::id(),
            free_port()?
        ));
        std::fs::create_dir_all(dir.join("pki"))?;
        let admin_token = format!("admin-{}", free_port()?);
        std::fs::write(
            dir.join("tokens.csv"),
            format!("{admin_token},admin,admin-uid,system:masters\n"),
        )?;
        let key = dir.join("sa.key");
        let status = Command::new("openssl")
            .args(["genrsa", "-out"])
            .arg(&key)
            .arg("2048")
            .stderr(Stdio::null())
            .status()?;
        if !status.success() {
            bail!("openssl genrsa failed");
        }
        let status = Command::new("openssl")
            .args(["rsa", "-pubout", "-in"])
            .arg(&key)
            .arg("-out")
            .arg(dir.join("sa.pub"))
            .stderr(Stdio::null())
            .status()?;
        if !status.success() {
            bail!("openssl rsa -pubout failed");
        }
        let mut cluster = TestCluster {
            port: free_port()?,
            etcd_port: free_port()?,
            peer_port: free_port()?,
            kubeconfig: dir.join("kubeconfig"),
            dir,
            admin_token,
            bin,
            etcd: None,
            apiserver: None,
            others: Vec::new(),
        };
        cluster.start_etcd()?;
        cluster.start_apiserver()?;
        cluster.write_kubeconfig(&cluster.kubeconfig.clone(), &cluster.admin_token.clone())?;
        Ok(cluster)
    }

    /// Starts `command` with its output in `DIR/<name>.log`; stopped with the cluster.
    pub fn spawn(&mut self, name: &str, mut command: Command) -> Result<()> {
        let child = command
            .stdin(Stdio::null())
            .stdout(self.log_file(&format!("{name}.log"))?)
            .stderr(self.log_file(&format!("{name}.log"))?)
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        self.others.push((name.to_string(), child));
        Ok(())
    }

    /// Fails with the log's tail when a process started by [`TestCluster::spawn`] has exited.
    pub fn check_running(&mut self) -> Result<()> {
        for (name, child) in &mut self.others {
            if let Some(status) = child.try_wait()? {
                let log = std::fs::read_to_string(self.dir.join(format!("{name}.log")))
                    .unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(15).collect();
                bail!(
                    "{name} exited ({status}); log tail:\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            }
        }
        Ok(())
    }

    fn log_file(&self, name: &str) -> Result<std::fs::File> {
        Ok(std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(name))?)
    }

    fn start_etcd(&mut self) -> Result<()> {
        let client = format!("http://127.0.0.1:{}", self.etcd_port);
        let peer = format!("http://127.0.0.1:{}", self.peer_port);
        let child = Command::new(self.bin.join("etcd"))
            .arg(format!("--data-dir={}", self.dir.join("etcd").display()))
            .arg("--name=test")
            .arg(format!("--listen-client-urls={client}"))
            .arg(format!("--advertise-client-urls={client}"))
            .arg(format!("--listen-peer-urls={peer}"))
            .arg(format!("--initial-advertise-peer-urls={peer}"))
            .arg(format!("--initial-cluster=test={peer}"))
            .arg("--unsafe-no-fsync")
            .arg("--log-level=error")
            .stdout(self.log_file("etcd.log")?)
            .stderr(self.log_file("etcd.log")?)
            .spawn()
            .context("starting etcd")?;
        self.etcd = Some(child);
        Ok(())
    }

    /// Starts (or restarts) kube-apiserver on the same port and data.
    pub fn start_apiserver(&mut self) -> Result<()> {
        let d = &self.dir;
        let child = Command::new(self.bin.join("kube-apiserver"))
            .arg(format!(
                "--etcd-servers=http://127.0.0.1:{}",
                self.etcd_port
            ))
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--secure-port={}", self.port))
            .arg(format!("--cert-dir={}", d.join("pki").display()))
            .arg(format!(
                "--token-auth-file={}",
                d.join("tokens.csv").display()
            ))
            .arg("--authorization-mode=RBAC")
            .arg(format!(
                "--service-account-issuer=https://127.0.0.1:{}",
                self.port
            ))
            .arg(format!(
                "--service-account-key-file={}",
                d.join("sa.pub").display()
            ))
            .arg(format!(
                "--service-account-signing-key-file={}",
                d.join("sa.key").display()
            ))
            .arg("--service-cluster-ip-range=10.0.0.0/24")
            .arg("--disable-admission-plugins=ServiceAccount")
            .arg("--allow-privileged=true")
            .arg("--v=0")
            .stdout(self.log_file("kube-apiserver.log")?)
            .stderr(self.log_file("kube-apiserver.log")?)
            .spawn()
            .context("starting kube-apiserver")?;
        self.apiserver = Some(child);
        self.wait_ready(Duration::from_secs(90))
    }

    /// Stops kube-apiserver (etcd keeps the data).
    pub fn stop_apiserver(&mut self) {
        if let Some(mut c) = self.apiserver.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn wait_ready(&self, within: Duration) -> Result<()> {
        let began = Instant::now();
        loop {
            let out = Command::new("curl")
                .args(["-ksf", "-m", "2", "-H"])
                .arg(format!("Authorization: Bearer {}", self.admin_token))
                .arg(format!("https://127.0.0.1:{}/readyz", self.port))
                .output()?;
            if out.status.success() {
                return Ok(());
            }
            if began.elapsed() > within {
                let log = std::fs::read_to_string(self.dir.join("kube-apiserver.log"))
                    .unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(20).collect();
                bail!(
                    "kube-apiserver not ready after {within:?}; log tail:\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// Writes a kubeconfig for a bearer token.
    pub fn write_kubeconfig(&self, path: &Path, token: &str) -> Result<()> {
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: https://127.0.0.1:{}\n    insecure-skip-tls-verify: true\nusers:\n- name: user\n  user:\n    token: {token}\ncontexts:\n- name: test\n  context: {{cluster: test, user: user}}\ncurrent-context: test\n",
            self.port
        );
        std::fs::write(path, text)?;
        Ok(())
    }

    /// Runs kubectl with the admin kubeconfig.
    pub fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> Result<String> {
        use std::io::Write;
        let mut child = Command::new("kubectl")
            .arg(format!("--kubeconfig={}", self.kubeconfig.display()))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("running kubectl")?;
        if let Some(text) = stdin {
            child
                .stdin
                .take()
                .expect("piped")
                .write_all(text.as_bytes())?;
        }
        drop(child.stdin.take());
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "kubectl {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8(out.stdout)?)
    }

    /// Installs the Flux CRDs ([`flux_crds_dir`]) and waits until they are served.
    pub fn install_flux_crds(&self) -> Result<()> {
        self.install_crds(&flux_crds_dir()?)
    }

    /// Applies the CRDs in `dir` and waits until every CRD is served.
    pub fn install_crds(&self, dir: &Path) -> Result<()> {
        self.kubectl(
            &["apply", "--server-side", "-f", &dir.display().to_string()],
            None,
        )?;
        self.kubectl(
            &[
                "wait",
                "--for=condition=Established",
                "--timeout=60s",
                "crd",
                "--all",
            ],
            None,
        )?;
        Ok(())
    }

    /// An admin client.
    pub async fn client(&self) -> Result<Client> {
        let kc = kube::config::Kubeconfig::read_from(&self.kubeconfig)?;
        let config =
            kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
                .await?;
        Ok(Client::try_from(config)?)
    }

    /// A genuine service-account token (TokenRequest), and a kubeconfig using it.
    pub fn service_account_kubeconfig(&self, namespace: &str, name: &str) -> Result<PathBuf> {
        let token = self.kubectl(
            &["create", "token", name, "-n", namespace, "--duration=1h"],
            None,
        )?;
        let path = self.dir.join(format!("kubeconfig-{namespace}-{name}"));
        self.write_kubeconfig(&path, token.trim())?;
        Ok(path)
    }
}

impl TestCluster {
    /// Stops every process: the others, then kube-apiserver, then etcd (also done on drop).
    pub fn stop_all(&mut self) {
        while let Some((_, mut c)) = self.others.pop() {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.stop_apiserver();
        if let Some(mut c) = self.etcd.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        self.stop_all();
        if std::env::var_os("TESTENV_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The namespaces the scenarios use.
pub const NAMESPACES: [&str; 6] = [
    "msp",
    "alga-system",
    "flux-system",
    "local-path-storage",
    "appliance-system",
    "kube-system",
];

/// Applies scenario steps (objects with status) to an API server.
pub struct ScenarioLoader {
    client: Client,
    steps: Vec<Value>,
    start: jiff::Timestamp,
    next: usize,
    resources: BTreeMap<(String, String), (ApiResource, ApiCapabilities)>,
    /// (kind, namespace, name) of objects a real install created: the scenario writes only their
    /// status, as their controller would.
    installed: Vec<(String, String, String)>,
}

/// Shifts every RFC 3339 timestamp in a JSON value by `shift`.
pub fn rebase_times(value: &mut Value, shift: jiff::SignedDuration) {
    match value {
        Value::String(s) if s.len() >= 20 && s.as_bytes()[4] == b'-' && s.contains('T') => {
            if let Ok(moved) = s
                .parse::<jiff::Timestamp>()
                .and_then(|t| t.checked_add(shift))
            {
                *s = moved.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rebase_times(v, shift)),
        Value::Object(map) => map.values_mut().for_each(|v| rebase_times(v, shift)),
        _ => {}
    }
}

fn offset_of(step: &Value) -> Result<jiff::SignedDuration> {
    let text = step
        .get("at")
        .and_then(Value::as_str)
        .context("step without `at`")?;
    let mut total = 0i64;
    let mut number = String::new();
    for ch in text.chars() {
        if ch.is_ascii_digit() {
            number.push(ch);
        } else {
            let unit = match ch {
                'h' => 3600,
                'm' => 60,
                's' => 1,
                _ => bail!("bad duration {text:?}"),
            };
            total += number.parse::<i64>()? * unit;
            number.clear();
        }
    }
    Ok(jiff::SignedDuration::from_secs(total))
}

impl ScenarioLoader {
    /// Reads a scenario file and creates the namespaces it needs.
    pub async fn new(client: Client, scenario_yaml: &str) -> Result<ScenarioLoader> {
        let scenario: Value = serde_yaml::from_str(scenario_yaml)?;
        let start: jiff::Timestamp = scenario
            .get("start")
            .and_then(Value::as_str)
            .context("scenario without start")?
            .parse()?;
        let steps = scenario
            .get("steps")
            .and_then(Value::as_array)
            .cloned()
            .context("scenario without steps")?;
        let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
        for ns in NAMESPACES {
            let body = serde_json::from_value(
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
            )?;
            match namespaces.create(&PostParams::default(), &body).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 409 => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(ScenarioLoader {
            client,
            steps,
            start,
            next: 0,
            resources: BTreeMap::new(),
            installed: Vec::new(),
        })
    }

    /// The object exists from a real install (e.g. the chart's Deployment): the scenario writes
    /// only its status, as its controller would, and leaves its spec alone.
    pub fn installed(mut self, kind: &str, namespace: &str, name: &str) -> ScenarioLoader {
        self.installed
            .push((kind.into(), namespace.into(), name.into()));
        self
    }

    /// Number of steps.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether the scenario has no steps.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The step's `expect` block.
    pub fn expectation(&self, step: usize) -> Option<&Value> {
        self.steps.get(step)?.get("expect").filter(|v| !v.is_null())
    }

    async fn api_for(&mut self, object: &Value) -> Result<(Api<DynamicObject>, bool)> {
        let api_version = object
            .get("apiVersion")
            .and_then(Value::as_str)
            .context("object without apiVersion")?
            .to_string();
        let kind = object
            .get("kind")
            .and_then(Value::as_str)
            .context("object without kind")?
            .to_string();
        let key = (api_version.clone(), kind.clone());
        if !self.resources.contains_key(&key) {
            let (group, version) = api_version.split_once('/').unwrap_or(("", &api_version));
            let gvk = GroupVersionKind::gvk(group, version, &kind);
            let found = kube::discovery::pinned_kind(&self.client, &gvk)
                .await
                .with_context(|| format!("discovering {api_version} {kind}"))?;
            self.resources.insert(key.clone(), found);
        }
        let (resource, caps) = &self.resources[&key];
        let namespace = object
            .pointer("/metadata/namespace")
            .and_then(Value::as_str);
        let api = match (caps.scope.clone(), namespace) {
            (Scope::Namespaced, Some(ns)) => {
                Api::namespaced_with(self.client.clone(), ns, resource)
            }
            _ => Api::all_with(self.client.clone(), resource),
        };
        let has_status = caps.subresources.iter().any(|(r, _)| r.plural == "status")
            || object.get("status").is_some();
        Ok((api, has_status))
    }

    /// Applies the next step, with timestamps rebased so the step happens now. Returns its name.
    pub async fn apply_next(&mut self) -> Result<Option<String>> {
        let Some(step) = self.steps.get(self.next).cloned() else {
            return Ok(None);
        };
        self.next += 1;
        let scenario_time = self.start.checked_add(offset_of(&step)?)?;
        let shift = jiff::Timestamp::now().duration_since(scenario_time);
        for id in step
            .get("delete")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
        {
            let kind = id.get("kind").and_then(Value::as_str).unwrap_or("");
            let api_version = match kind {
                "Pod" | "Event" | "ConfigMap" | "PersistentVolumeClaim" | "Node" => "v1",
                "Job" => "batch/v1",
                "Deployment" | "StatefulSet" | "DaemonSet" => "apps/v1",
                "HelmRelease" => "helm.toolkit.fluxcd.io/v2",
                "Kustomization" => "kustomize.toolkit.fluxcd.io/v1",
                _ => "source.toolkit.fluxcd.io/v1",
            };
            let object = json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": id["name"], "namespace": id["namespace"]}});
            let (api, _) = self.api_for(&object).await?;
            let name = id.get("name").and_then(Value::as_str).unwrap_or("");
            match api
                .delete(
                    name,
                    &DeleteParams {
                        grace_period_seconds: Some(0),
                        ..DeleteParams::default()
                    },
                )
                .await
            {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => {
                    return Err(anyhow::Error::from(e).context(format!("deleting {kind} {name}")))
                }
            }
        }
        for mut object in step
            .get("apply")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
        {
            rebase_times(&mut object, shift);
            self.apply_object(object).await?;
        }
        Ok(Some(
            step.get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        ))
    }

    /// Applies every item of a `kubectl get -A -o yaml` dump (a `List`) with its status, times
    /// moved by `shift`; what only the dumped cluster owns is left to this API server (`uid`,
    /// `resourceVersion`, `managedFields`, a Service's cluster IP from another range, a Job's
    /// selector and labels made from its uid). Returns
    /// the number of objects of each kind applied.
    pub async fn apply_dump(
        &mut self,
        dump: &Value,
        shift: jiff::SignedDuration,
    ) -> Result<BTreeMap<String, usize>> {
        let mut applied = BTreeMap::new();
        for mut item in dump["items"].as_array().cloned().unwrap_or_default() {
            if let Some(meta) = item["metadata"].as_object_mut() {
                for field in ["uid", "resourceVersion", "managedFields"] {
                    meta.remove(field);
                }
            }
            if item["kind"] == "Service" {
                if let Some(spec) = item["spec"].as_object_mut() {
                    spec.remove("clusterIP");
                    spec.remove("clusterIPs");
                }
            }
            if item["kind"] == "Job" {
                // A Job's selector is generated from its own uid: this API server makes its own.
                if let Some(spec) = item["spec"].as_object_mut() {
                    spec.remove("selector");
                }
                if let Some(labels) = item
                    .pointer_mut("/spec/template/metadata/labels")
                    .and_then(Value::as_object_mut)
                {
                    labels.remove("controller-uid");
                    labels.remove("batch.kubernetes.io/controller-uid");
                }
            }
            let kind = item["kind"].as_str().unwrap_or("").to_string();
            rebase_times(&mut item, shift);
            self.apply_object(item).await?;
            *applied.entry(kind).or_default() += 1;
        }
        Ok(applied)
    }

    /// Server-side applies an object, then its `.status` through the status subresource.
    pub async fn apply_object(&mut self, mut object: Value) -> Result<()> {
        let (api, has_status) = self.api_for(&object).await?;
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .context("object without a name")?
            .to_string();
        let mut status = object.as_object_mut().and_then(|o| o.remove("status"));
        // A Job's startTime is immutable once set: the API server keeps the first one.
        if object["kind"] == "Job" {
            if let Ok(existing) = api.get(&name).await {
                if let Some(first) = existing.data.pointer("/status/startTime").cloned() {
                    if let Some(s) = status.as_mut().and_then(Value::as_object_mut) {
                        // Steps are applied faster than the scenario clock, so a completion
                        // rebased later may precede the kept start: it must not.
                        if let (Some(done), Some(start)) = (
                            s.get("completionTime").and_then(Value::as_str),
                            first.as_str(),
                        ) {
                            if done < start {
                                s.insert("completionTime".into(), first.clone());
                            }
                        }
                        s.insert("startTime".into(), first);
                    }
                }
            }
        }
        if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("creationTimestamp");
        }
        let params = PatchParams::apply("appliance-status-scenario").force();
        let key = (
            object["kind"].as_str().unwrap_or("").to_string(),
            object
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            name.clone(),
        );
        if !self.installed.contains(&key) {
            api.patch(&name, &params, &Patch::Apply(&object))
                .await
                .with_context(|| format!("applying {} {name}", object["kind"]))?;
        } else if let Some(s) = status.as_mut().and_then(Value::as_object_mut) {
            // The controller reports the generation it saw: the install's, not the scenario's.
            let live = api
                .get(&name)
                .await
                .with_context(|| format!("reading the installed {} {name}", object["kind"]))?;
            if let (Some(generation), true) = (
                live.metadata.generation,
                s.contains_key("observedGeneration"),
            ) {
                s.insert("observedGeneration".into(), generation.into());
            }
        }
        if let (Some(status), true) = (status, has_status) {
            let body = json!({"apiVersion": object["apiVersion"], "kind": object["kind"], "metadata": {"name": name, "namespace": object.pointer("/metadata/namespace")}, "status": status});
            api.patch_status(&name, &params, &Patch::Apply(&body))
                .await
                .with_context(|| format!("applying the status of {} {name}", object["kind"]))?;
        }
        Ok(())
    }
}

/// A running `appliance-status serve` on a free loopback port, killed when dropped.
pub struct Served {
    child: Child,
    pub port: u16,
}

impl Served {
    /// Starts `bin serve --listen 127.0.0.1:PORT` with `args` and `env`; its output is discarded.
    pub fn start(
        bin: &str,
        args: &[&dyn AsRef<std::ffi::OsStr>],
        env: &[(&str, &str)],
    ) -> Result<Served> {
        let port = free_port()?;
        let mut command = Command::new(bin);
        command
            .args([
                "serve",
                "--no-site",
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .args(args.iter().map(|a| a.as_ref()))
            .env_remove("APPLIANCE_STATUS_TOKEN")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in env {
            command.env(k, v);
        }
        let child = command.spawn().context("starting appliance-status serve")?;
        Ok(Served { child, port })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
