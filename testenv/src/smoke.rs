//! The smoke run (PRD AC8): an empty cluster on loopback with a real control plane
//! ([`crate::controlplane`]), the appliance's node simulated by kwok, a git server holding this
//! repository's `flux/` layout with the charts, Flux's real source-controller and
//! kustomize-controller, and the helm-controller stand-in ([`crate::helmrelease`]). From
//! [`Smoke::bootstrap`] on, nothing is written by the harness: every object and status comes from
//! Flux, helm, the Kubernetes controllers, the scheduler or kwok.
//!
//! The git tree (`release/1.0-rc5`): `flux/` and `helm/appliance-status/` from this repository;
//! Alga's charts as small stand-ins at the paths `flux/` names (`./helm` for alga-core's
//! `sebastian`, `./ee/helm/<name>` for the others), built from `testing/smoke/charts/`.

use crate::controlplane::{controller_binaries, kwok_stages, NODE};
use crate::helmrelease::{HelmController, Timeline};
use crate::TestCluster;
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Images the simulated registry does not have (the release's unpublished workflow-worker tag).
pub const MISSING_IMAGES: [&str; 1] = ["ghcr.io/nine-minds/workflow-worker:9d0b3e5c"];

/// The appliance's node as its kubelet registers it: 4 CPUs, 16 GiB (the appliance's VM), Talos.
pub fn node_status() -> Value {
    let capacity =
        json!({"cpu": "4", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"});
    json!({
        "capacity": capacity,
        "allocatable": capacity,
        "nodeInfo": {
            "osImage": "Talos (v1.10.6)",
            "kernelVersion": "6.12.40-talos",
            "containerRuntimeVersion": "containerd://2.0.6",
            "kubeletVersion": "v1.36.3",
            "kubeProxyVersion": "v1.36.3",
            "operatingSystem": "linux",
            "architecture": "amd64",
        },
    })
}

/// The stand-in charts: (path in the git tree, chart name, values file in testing/smoke/charts).
const CHARTS: [(&str, &str, &str); 6] = [
    ("helm", "sebastian", "sebastian.yaml"),
    ("ee/helm/pgbouncer", "pgbouncer", "pgbouncer.yaml"),
    ("ee/helm/temporal", "temporal", "temporal.yaml"),
    (
        "ee/helm/email-service",
        "email-service",
        "email-service.yaml",
    ),
    (
        "ee/helm/workflow-worker",
        "workflow-worker",
        "workflow-worker.yaml",
    ),
    (
        "ee/helm/temporal-worker",
        "temporal-worker",
        "temporal-worker.yaml",
    ),
];

/// The running smoke environment.
pub struct Smoke {
    pub cluster: TestCluster,
    pub dir: PathBuf,
    pub timeline: Timeline,
    pub git_url: String,
    controller: Option<tokio::task::JoinHandle<()>>,
}

impl Smoke {
    /// Starts everything up to, not including, the bootstrap. `dir` holds the git tree, the
    /// charts fetched, and the admin kubeconfig (`dir/admin-kubeconfig`).
    pub async fn start(dir: &Path) -> Result<Smoke> {
        let began = Instant::now();
        std::fs::create_dir_all(dir)?;
        let controllers = tokio::task::spawn_blocking(controller_binaries).await??;
        let fetched = controllers.parent().context("the controllers' directory")?;
        let mut cluster = tokio::task::spawn_blocking(TestCluster::start).await??;
        // Every CRD source-controller watches (Buckets and ExternalArtifacts too) is among them.
        cluster.install_flux_crds()?;
        cluster.start_controllers()?;
        let stages = kwok_stages(&fetched.join("stages"), &MISSING_IMAGES)?;
        cluster.start_kwok(&controllers.join("kwok"), NODE, &node_status(), &stages)?;
        let root = crate::project_root();
        cluster.kubectl(
            &[
                "apply",
                "-f",
                &root
                    .join("testing/smoke/cluster.yaml")
                    .display()
                    .to_string(),
            ],
            None,
        )?;

        // The git server.
        let repos = dir.join("git");
        build_repository(&root, &repos.join("alga-appliance.git"), &dir.join("tree"))?;
        let git_port = crate::free_port()?;
        let mut git = Command::new(controllers.join("git-http"));
        git.arg("-listen")
            .arg(format!("127.0.0.1:{git_port}"))
            .arg("-root")
            .arg(&repos);
        cluster.spawn("git-http", git)?;
        let git_url = format!("http://127.0.0.1:{git_port}/alga-appliance.git");

        // Flux's controllers, as processes with the admin kubeconfig.
        let storage_port = crate::free_port()?;
        std::fs::create_dir_all(dir.join("storage"))?;
        let source_health = crate::free_port()?;
        let kustomize_health = crate::free_port()?;
        let mut source = Command::new(controllers.join("source-controller"));
        source
            .env("KUBECONFIG", &cluster.kubeconfig)
            .env("RUNTIME_NAMESPACE", "flux-system")
            .arg(format!("--storage-path={}", dir.join("storage").display()))
            .arg(format!("--storage-addr=127.0.0.1:{storage_port}"))
            .arg(format!("--storage-adv-addr=127.0.0.1:{storage_port}"))
            .arg(format!("--metrics-addr=127.0.0.1:{}", crate::free_port()?))
            .arg(format!("--health-addr=127.0.0.1:{source_health}"))
            .arg("--enable-leader-election=false")
            .arg("--events-addr=")
            .arg("--log-level=info");
        cluster.spawn("source-controller", source)?;
        let mut kustomize = Command::new(controllers.join("kustomize-controller"));
        kustomize
            .env("KUBECONFIG", &cluster.kubeconfig)
            .env("RUNTIME_NAMESPACE", "flux-system")
            .arg(format!("--metrics-addr=127.0.0.1:{}", crate::free_port()?))
            .arg(format!("--health-addr=127.0.0.1:{kustomize_health}"))
            .arg("--enable-leader-election=false")
            .arg("--events-addr=")
            // Flux's default is 30s; the smoke run checks dependencies more often.
            .arg("--requeue-dependency=5s")
            .arg("--log-level=info");
        cluster.spawn("kustomize-controller", kustomize)?;
        for port in [source_health, kustomize_health] {
            let url = format!("http://127.0.0.1:{port}/readyz");
            let began = Instant::now();
            loop {
                cluster.check_running()?;
                if reqwest::get(&url)
                    .await
                    .is_ok_and(|r| r.status().is_success())
                {
                    break;
                }
                if began.elapsed() > Duration::from_secs(60) {
                    bail!("{url} not ready within a minute");
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }

        let timeline = Timeline::new();
        std::fs::copy(&cluster.kubeconfig, dir.join("admin-kubeconfig"))?;
        let work = dir.join("helm-controller");
        std::fs::create_dir_all(&work)?;
        let controller = HelmController::new(
            cluster.client().await?,
            crate::helm(),
            cluster.kubeconfig.clone(),
            work,
            timeline.clone(),
        );
        let controller = tokio::spawn(controller.run());
        cluster.check_running()?;
        eprintln!(
            "smoke: control plane, kwok, git, Flux up in {:.1}s",
            began.elapsed().as_secs_f64()
        );
        Ok(Smoke {
            cluster,
            dir: dir.to_path_buf(),
            timeline,
            git_url,
            controller: Some(controller),
        })
    }

    /// Applies the bootstrap's objects (`testing/smoke/bootstrap.yaml`): the release selection and
    /// values ConfigMaps, the GitRepository and the root Kustomization. The timeline starts here.
    pub fn bootstrap(&mut self) -> Result<()> {
        let text =
            std::fs::read_to_string(crate::project_root().join("testing/smoke/bootstrap.yaml"))?
                .replace("GIT_URL", &self.git_url);
        self.timeline.restart();
        self.cluster.kubectl(&["apply", "-f", "-"], Some(&text))?;
        self.timeline.record("bootstrap applied");
        Ok(())
    }

    /// How appliance-status runs once its chart is installed: the container's arguments from the
    /// Deployment the chart created, with the token and kubeconfig it would have in the pod
    /// written to files (the Secret's token; a TokenRequest for its ServiceAccount), and the
    /// loopback stand-ins for what the pod reaches on the node. `None` until the Deployment,
    /// ServiceAccount and token Secret exist.
    pub fn service(&self, port: u16, login_url: &str) -> Result<Option<Value>> {
        let get = |args: &[&str]| self.cluster.kubectl(args, None).ok();
        let Some(deployment) = get(&[
            "get",
            "deployment",
            "appliance-status",
            "-n",
            "appliance-system",
            "-o",
            "json",
        ]) else {
            return Ok(None);
        };
        if get(&["get", "sa", "appliance-status", "-n", "appliance-system"]).is_none() {
            return Ok(None);
        }
        let Some(token) = get(&[
            "get",
            "secret",
            "appliance-status-auth",
            "-n",
            "appliance-system",
            "-o",
            "jsonpath={.data.token}",
        ]) else {
            return Ok(None);
        };
        use base64::Engine;
        let token = base64::engine::general_purpose::STANDARD
            .decode(token.trim())
            .context("the token Secret is not base64")?;
        let token_file = self.dir.join("service-token");
        std::fs::write(&token_file, token)?;
        let kubeconfig = self
            .cluster
            .service_account_kubeconfig("appliance-system", "appliance-status")?;
        let deployment: Value = serde_json::from_str(&deployment)?;
        let container = &deployment["spec"]["template"]["spec"]["containers"][0];
        let mut args = Vec::new();
        for arg in container["args"].as_array().into_iter().flatten() {
            let arg = arg.as_str().unwrap_or_default();
            if arg.starts_with("--listen=") {
                args.push(format!("--listen=127.0.0.1:{port}"));
            } else if arg.starts_with("--token-file=") {
                args.push(format!("--token-file={}", token_file.display()));
            } else {
                args.push(arg.to_string());
            }
        }
        // Outside the pod: the API server by kubeconfig, alga-core's login URL on loopback, no
        // pod logs (kwok's pods have none), DNS and HTTPS checks of loopback names.
        args.extend([
            format!("--kubeconfig={}", kubeconfig.display()),
            format!("--login-url={login_url}"),
            "--dns-check=localhost".to_string(),
            "--https-check=".to_string(),
            "--no-log-tails".to_string(),
        ]);
        Ok(Some(json!({
            "args": args,
            "token": std::fs::read_to_string(&token_file)?.trim(),
        })))
    }

    /// Whether the alga-core Deployment has a ready replica (the login URL answers only then).
    pub fn login_serving(&self) -> bool {
        self.cluster
            .kubectl(
                &[
                    "get",
                    "deployment",
                    "alga-core-sebastian",
                    "-n",
                    "msp",
                    "-o",
                    "jsonpath={.status.readyReplicas}",
                ],
                None,
            )
            .map(|r| r.trim().parse::<u32>().unwrap_or(0) >= 1)
            .unwrap_or(false)
    }

    /// Records cluster facts on the timeline (a poller the control endpoint runs each second).
    pub fn observe(&mut self) -> Result<()> {
        self.cluster.check_running()?;
        let jobs = self
            .cluster
            .kubectl(&["get", "jobs", "-n", "msp", "-o", "json"], None)?;
        let jobs: Value = serde_json::from_str(&jobs)?;
        let bootstrap = jobs["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|j| j["metadata"]["name"] == "alga-core-sebastian-bootstrap");
        match bootstrap {
            Some(job) => {
                self.timeline.record("bootstrap job created");
                let complete = job["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| c["type"] == "Complete" && c["status"] == "True");
                if complete && !self.timeline.has("bootstrap job complete") {
                    self.timeline.record("bootstrap job complete");
                    // The appliance's bootstrap script, after the first success: later runs must
                    // not re-create the database (catalog `bootstrap-job.modeCheck`).
                    let values = self.cluster.kubectl(
                        &[
                            "get",
                            "configmap",
                            "appliance-values-alga-core",
                            "-n",
                            "alga-system",
                            "-o",
                            "jsonpath={.data.values\\.yaml}",
                        ],
                        None,
                    )?;
                    let patch = json!({"data": {"values.yaml": values.replace("mode: fresh", "mode: recover")}});
                    self.cluster.kubectl(
                        &[
                            "patch",
                            "configmap",
                            "appliance-values-alga-core",
                            "-n",
                            "alga-system",
                            "--type=merge",
                            "-p",
                            &patch.to_string(),
                        ],
                        None,
                    )?;
                    self.timeline.record("bootstrap.mode set to recover");
                }
            }
            None if self.timeline.has("bootstrap job created") => self
                .timeline
                .record("bootstrap job deleted by the TTL controller"),
            None => {}
        }
        if self.login_serving() {
            self.timeline.record("alga-core ready");
        }
        Ok(())
    }
}

impl Drop for Smoke {
    fn drop(&mut self) {
        if let Some(c) = self.controller.take() {
            c.abort();
        }
    }
}

/// Assembles the git tree and pushes it, as branch `release/1.0-rc5`, to a bare repository.
fn build_repository(root: &Path, bare: &Path, tree: &Path) -> Result<()> {
    let _ = std::fs::remove_dir_all(tree);
    std::fs::create_dir_all(tree)?;
    copy_dir(&root.join("flux"), &tree.join("flux"))?;
    copy_dir(
        &root.join("helm/appliance-status"),
        &tree.join("helm/appliance-status"),
    )?;
    let charts = root.join("testing/smoke/charts");
    for (path, name, values) in CHARTS {
        let dest = tree.join(path);
        copy_dir(&charts.join("workload/templates"), &dest.join("templates"))?;
        std::fs::write(
            dest.join("Chart.yaml"),
            format!("apiVersion: v2\nname: {name}\nversion: 0.1.0\nappVersion: 1.0-rc5\ndescription: stand-in for Alga's {name} chart (appliance-status smoke run)\n"),
        )?;
        std::fs::copy(charts.join(values), dest.join("values.yaml"))?;
    }
    // ./helm is the sebastian chart; this repository's chart below it is not part of it.
    std::fs::write(tree.join("helm/.helmignore"), "appliance-status/\n")?;
    let git = |args: &[&str], dir: &Path| -> Result<()> {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "appliance bootstrap")
            .env("GIT_AUTHOR_EMAIL", "bootstrap@appliance.invalid")
            .env("GIT_COMMITTER_NAME", "appliance bootstrap")
            .env("GIT_COMMITTER_EMAIL", "bootstrap@appliance.invalid")
            .output()?;
        if !out.status.success() {
            bail!(
                "git {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    };
    git(&["init", "-q", "-b", "release/1.0-rc5"], tree)?;
    git(&["add", "-A"], tree)?;
    git(&["commit", "-q", "-m", "release 1.0-rc5"], tree)?;
    let _ = std::fs::remove_dir_all(bare);
    std::fs::create_dir_all(bare.parent().expect("a parent"))?;
    git(
        &[
            "clone",
            "-q",
            "--bare",
            &tree.display().to_string(),
            &bare.display().to_string(),
        ],
        tree,
    )?;
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
