//! Lookups built once per assessment: each catalog component with its objects, and events by the
//! object they are about (newest first, one per reason).

use super::facts::{deployment_current, flux_state, node_ready, stateful_set_current};
use super::graph::{ComponentObjects, FluxGraph};
use crate::catalog::{Catalog, Component, ComponentKind, WorkloadRef};
use crate::event::EventRecord;
use crate::snapshot::{FluxKind, FluxObject, Objects, Snapshot};
use app::status::{Blocker, ComponentState, ComponentStatus, EventSummary, Release, Severity};
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

/// How many recent events the document carries.
pub const RECENT_EVENTS: usize = 50;

/// An event ranked for the recent list: warnings first, then newest.
#[derive(Clone, Copy)]
struct Ranked<'a> {
    warning: bool,
    at: Option<Timestamp>,
    event: &'a EventRecord,
}

impl PartialEq for Ranked<'_> {
    fn eq(&self, other: &Self) -> bool {
        (self.warning, self.at) == (other.warning, other.at)
    }
}
impl Eq for Ranked<'_> {}
impl PartialOrd for Ranked<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked<'_> {
    /// Greater is more important: a warning, then a newer one.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.warning, self.at).cmp(&(other.warning, other.at))
    }
}

/// A catalog component and the objects that belong to it.
pub struct ComponentView<'a> {
    pub component: &'a Component,
    pub namespace: &'a str,
    pub deployments: Vec<&'a Deployment>,
    pub stateful_sets: Vec<&'a StatefulSet>,
    pub daemon_sets: Vec<&'a DaemonSet>,
    pub jobs: Vec<&'a Job>,
    pub pods: Vec<&'a Pod>,
    /// Each PVC the catalog names, found or not.
    pub pvcs: Vec<(&'a str, Option<&'a PersistentVolumeClaim>)>,
    /// Each Flux object the catalog names (GitRepository, Kustomization components).
    pub flux: Vec<(&'a WorkloadRef, Option<&'a FluxObject>)>,
    /// The HelmRelease that installs the component.
    pub helm_release: Option<&'a FluxObject>,
    /// When a Job of this component was last seen complete, even if it is gone now.
    pub job_completed_at: Option<Timestamp>,
    /// Node components: how many nodes are registered.
    pub nodes: usize,
}

impl ComponentView<'_> {
    /// Whether anything of the component exists in the cluster.
    pub fn present(&self) -> bool {
        !(self.deployments.is_empty()
            && self.stateful_sets.is_empty()
            && self.daemon_sets.is_empty()
            && self.jobs.is_empty()
            && self.pods.is_empty()
            && self.flux.iter().all(|(_, f)| f.is_none()))
            || self.job_completed_at.is_some()
            || self.nodes > 0
    }

    /// (ready, desired) replicas over the component's workloads.
    pub fn replicas(&self) -> (u32, u32) {
        let mut ready = 0i32;
        let mut desired = 0i32;
        for d in &self.deployments {
            desired += d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
            ready += d
                .status
                .as_ref()
                .and_then(|s| s.ready_replicas)
                .unwrap_or(0);
        }
        for s in &self.stateful_sets {
            desired += s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
            ready += s
                .status
                .as_ref()
                .and_then(|s| s.ready_replicas)
                .unwrap_or(0);
        }
        for d in &self.daemon_sets {
            let st = d.status.as_ref();
            desired += st.map(|s| s.desired_number_scheduled).unwrap_or(0);
            ready += st.map(|s| s.number_ready).unwrap_or(0);
        }
        (ready.max(0) as u32, desired.max(0) as u32)
    }

    /// Whether every workload has its desired replicas ready.
    pub fn workloads_ready(&self) -> bool {
        let (ready, desired) = self.replicas();
        let has_workload = !(self.deployments.is_empty()
            && self.stateful_sets.is_empty()
            && self.daemon_sets.is_empty());
        has_workload && ready >= desired.max(1)
    }
}

/// Everything the rules look up.
pub struct Index<'a> {
    pub snapshot: &'a Snapshot,
    pub catalog: &'a Catalog,
    pub components: Vec<ComponentView<'a>>,
    /// Root Kustomization → tier Kustomizations → HelmReleases → components.
    pub graph: FluxGraph<'a>,
    /// Events by the name of the object they are about, newest first.
    events: HashMap<&'a str, Vec<&'a EventRecord>>,
    /// The newest events, warnings first.
    recent: Vec<Ranked<'a>>,
    /// Warning events (not about pods) that mention a name lookup.
    pub dns_warnings: Vec<&'a EventRecord>,
    pub login_url: Option<String>,
    pub status_url: Option<String>,
}

fn in_namespace<'a, T>(objects: &'a Objects<T>, ns: &str) -> impl Iterator<Item = &'a T> + 'a {
    let ns = ns.to_string();
    objects
        .range((ns.clone(), String::new())..)
        .take_while(move |((n, _), _)| *n == ns)
        .map(|(_, v)| v)
}

fn labels_match(pod: &Pod, selector: &std::collections::BTreeMap<String, String>) -> bool {
    let labels = pod.metadata.labels.as_ref();
    selector
        .iter()
        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

fn pod_belongs(pod: &Pod, c: &Component) -> bool {
    let name = pod.metadata.name.as_deref().unwrap_or("");
    match c.kind {
        ComponentKind::Job => {
            let job = pod.metadata.labels.as_ref().and_then(|l| l.get("job-name"));
            job.is_some_and(|j| c.owns_workload(j))
                || c.workload_prefix
                    .as_deref()
                    .is_some_and(|p| name.starts_with(p))
        }
        _ if !c.selector.is_empty() => labels_match(pod, &c.selector),
        _ => c.workloads.iter().any(|w| {
            name.strip_prefix(w.name.as_str())
                .is_some_and(|rest| rest.starts_with('-'))
        }),
    }
}

impl<'a> Index<'a> {
    /// Indexes the snapshot for one assessment.
    pub fn build(snapshot: &'a Snapshot, catalog: &'a Catalog) -> Index<'a> {
        let site = &catalog.site;
        let components: Vec<ComponentView<'a>> = catalog
            .components
            .iter()
            .map(|c| {
                let ns = c.namespace(site);
                let owned = |name: Option<&String>| name.is_some_and(|n| c.owns_workload(n));
                let mut view = ComponentView {
                    component: c,
                    namespace: ns,
                    deployments: Vec::new(),
                    stateful_sets: Vec::new(),
                    daemon_sets: Vec::new(),
                    jobs: Vec::new(),
                    pods: Vec::new(),
                    pvcs: Vec::new(),
                    flux: Vec::new(),
                    helm_release: None,
                    job_completed_at: None,
                    nodes: 0,
                };
                match c.kind {
                    ComponentKind::Node => view.nodes = snapshot.nodes.len(),
                    ComponentKind::Deployment => {
                        view.deployments = in_namespace(&snapshot.deployments, ns)
                            .filter(|d| owned(d.metadata.name.as_ref()))
                            .collect()
                    }
                    ComponentKind::StatefulSet => {
                        view.stateful_sets = in_namespace(&snapshot.stateful_sets, ns)
                            .filter(|d| owned(d.metadata.name.as_ref()))
                            .collect()
                    }
                    ComponentKind::DaemonSet => {
                        view.daemon_sets = in_namespace(&snapshot.daemon_sets, ns)
                            .filter(|d| owned(d.metadata.name.as_ref()))
                            .collect()
                    }
                    ComponentKind::Job => {
                        view.jobs = in_namespace(&snapshot.jobs, ns)
                            .filter(|d| owned(d.metadata.name.as_ref()))
                            .collect();
                        view.job_completed_at = snapshot
                            .memory
                            .completed_jobs
                            .iter()
                            .filter(|((n, name), _)| n == ns && c.owns_workload(name))
                            .map(|(_, t)| *t)
                            .max();
                    }
                    ComponentKind::GitRepository
                    | ComponentKind::OCIRepository
                    | ComponentKind::Kustomization => {
                        view.flux = c
                            .workloads
                            .iter()
                            .map(|w| {
                                let found = FluxKind::from_kind(c.kind.as_str())
                                    .and_then(|k| snapshot.flux_object(k, ns, &w.name));
                                (w, found)
                            })
                            .collect();
                    }
                }
                if c.kind != ComponentKind::Node {
                    view.pods = in_namespace(&snapshot.pods, ns)
                        .filter(|p| pod_belongs(p, c))
                        .collect();
                }
                view.pvcs = c
                    .pvcs
                    .iter()
                    .map(|name| {
                        (
                            name.as_str(),
                            snapshot.pvcs.get(&(ns.to_string(), name.clone())),
                        )
                    })
                    .collect();
                view.helm_release = c.helm_release.as_ref().and_then(|hr| {
                    snapshot.flux_object(FluxKind::HelmRelease, &site.helm_release_namespace, hr)
                });
                view
            })
            .collect();

        // Only events about objects the rules look at are indexed: the components' pods and
        // PVCs. On a busy cluster that is a small share of all events.
        let mut events: HashMap<&str, Vec<&EventRecord>> = components
            .iter()
            .flat_map(|v: &ComponentView<'_>| {
                v.pods
                    .iter()
                    .filter_map(|p| p.metadata.name.as_deref())
                    .chain(v.pvcs.iter().map(|(name, _)| *name))
            })
            .map(|name| (name, Vec::new()))
            .collect();
        // One pass over all events: the index, the newest for the document, resolver failures.
        let mut recent: BinaryHeap<Reverse<Ranked<'a>>> =
            BinaryHeap::with_capacity(RECENT_EVENTS + 1);
        let mut dns_warnings = Vec::new();
        for e in snapshot.events.values() {
            if let Some(list) = events.get_mut(&*e.object.name) {
                list.push(e);
            }
            let warning = e.is_warning();
            let ranked = Ranked {
                warning,
                at: e.last_time(),
                event: e,
            };
            if recent.len() < RECENT_EVENTS {
                recent.push(Reverse(ranked));
            } else if recent.peek().is_some_and(|Reverse(least)| ranked > *least) {
                recent.pop();
                recent.push(Reverse(ranked));
            }
            // Pods' pull failures are classified by the pod rules, with the component they block.
            if warning && &*e.object.kind != "Pod" && e.message.contains("lookup ") {
                dns_warnings.push(e);
            }
        }
        let recent: Vec<Ranked<'a>> = recent
            .into_sorted_vec()
            .into_iter()
            .map(|Reverse(r)| r)
            .collect();
        for list in events.values_mut() {
            list.sort_by_key(|e| std::cmp::Reverse(e.last_time()));
        }

        let node_ip = snapshot
            .nodes
            .values()
            .find_map(crate::snapshot::internal_ip);
        let login_url = catalog.url_for(&catalog.site.login_url, node_ip.as_deref());
        let status_url = catalog.url_for(&catalog.site.status_url, node_ip.as_deref());
        let objects: Vec<ComponentObjects<'a>> = components
            .iter()
            .map(|v| ComponentObjects {
                name: v.component.name.as_str(),
                tier: v.component.tier,
                helm_release: v.component.helm_release.as_deref(),
                metas: v
                    .deployments
                    .iter()
                    .map(|d| &d.metadata)
                    .chain(v.stateful_sets.iter().map(|d| &d.metadata))
                    .chain(v.daemon_sets.iter().map(|d| &d.metadata))
                    .chain(v.jobs.iter().map(|d| &d.metadata))
                    .chain(v.pods.iter().map(|d| &d.metadata))
                    .collect(),
            })
            .collect();
        let graph = FluxGraph::build(snapshot, catalog, &objects);
        Index {
            snapshot,
            catalog,
            components,
            graph,
            events,
            recent,
            dns_warnings,
            login_url,
            status_url,
        }
    }

    /// Events about one object, newest first, one per reason and message (signals §2: never
    /// the oldest). The kubelet reports one pull failure as several `Failed` events — the
    /// registry's words, then `Error: ErrImagePull`, then `Error: ImagePullBackOff` — so one per
    /// reason would keep only the least telling.
    pub fn events_for(&self, kind: &str, namespace: &str, name: &str) -> Vec<&'a EventRecord> {
        let mut seen: Vec<(&str, &str)> = Vec::new();
        let mut out = Vec::new();
        for e in self.events.get(name).map(Vec::as_slice).unwrap_or(&[]) {
            let o = &e.object;
            if &*o.kind != kind || &*o.namespace != namespace {
                continue;
            }
            let key = (&*e.reason, &*e.message);
            if !seen.contains(&key) {
                seen.push(key);
                out.push(*e);
            }
        }
        out
    }

    /// Whether a login-tier workload (the web app) has its replicas ready.
    pub fn login_up(&self) -> bool {
        self.components
            .iter()
            .filter(|v| v.component.tier == app::status::Tier::Login)
            .any(|v| v.workloads_ready())
    }

    /// The bootstrap Job component.
    pub fn bootstrap_view(&self) -> Option<&ComponentView<'a>> {
        self.components.iter().find(|v| {
            v.component.tier == app::status::Tier::Bootstrap
                && v.component.kind == ComponentKind::Job
        })
    }

    /// `Some(when)` once the bootstrap ran: its Job completed (remembered after the TTL deletes
    /// it), or — with no Job and no memory, after a restart past the TTL — the web app is ready,
    /// which its `wait-for-bootstrap` init container allows only after the bootstrap.
    ///
    /// A remembered success is re-proven: it no longer counts once the ground changed under it
    /// ([`Index::bootstrap_voided`]).
    pub fn bootstrap_done(&self) -> Option<Option<Timestamp>> {
        let view = self.bootstrap_view()?;
        if let Some(at) = view.job_completed_at {
            return self.bootstrap_voided().is_none().then_some(Some(at));
        }
        (view.jobs.is_empty() && self.login_up()).then_some(None)
    }

    /// Why the last successful bootstrap no longer counts, if it does not: a newer bootstrap Job
    /// runs or failed (a reinstall, a database reset), or the database's volume was created after
    /// that success (the data it seeded is gone).
    pub fn bootstrap_voided(&self) -> Option<String> {
        let view = self.bootstrap_view()?;
        let at = view.job_completed_at?;
        let created = |m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| {
            m.creation_timestamp.as_ref().map(|t| t.0)
        };
        for job in &view.jobs {
            if !super::facts::job_complete(job) && created(&job.metadata).is_some_and(|c| c > at) {
                return Some(format!(
                    "a newer bootstrap Job, {}, has not completed (the last success was at {at})",
                    job.metadata.name.as_deref().unwrap_or_default()
                ));
            }
        }
        // the database volume: another one than the bootstrap seeded (remembered), or, while the
        // completed Job is still there, one created after that Job (both times the API server's)
        let completed_job_created = view
            .jobs
            .iter()
            .filter(|j| super::facts::job_complete(j))
            .filter_map(|j| created(&j.metadata))
            .max();
        if let Some((name, pvc)) = self.database_volume() {
            let identity = volume_identity(pvc);
            let replaced = self
                .snapshot
                .memory
                .bootstrap_volume
                .as_ref()
                .is_some_and(|seeded| identity.as_ref() != Some(seeded));
            let younger = completed_job_created
                .zip(created(&pvc.metadata))
                .is_some_and(|(job, volume)| volume > job);
            if replaced || younger {
                let since = created(&pvc.metadata)
                    .map(|c| format!(" (created at {c})"))
                    .unwrap_or_default();
                return Some(format!(
                    "the database volume {name} is not the one the last successful bootstrap seeded{since}: the bootstrap must run again"
                ));
            }
        }
        None
    }

    /// The database's volume, if it exists.
    pub fn database_volume(&self) -> Option<(&'a str, &'a PersistentVolumeClaim)> {
        self.view("db")?
            .pvcs
            .iter()
            .find_map(|(name, pvc)| pvc.map(|p| (*name, p)))
    }

    /// The database volume the bootstrap seeded, to remember: the one there when the bootstrap
    /// is first seen done, kept while it is.
    pub fn bootstrap_volume(&self) -> Option<String> {
        let remembered = self.snapshot.memory.bootstrap_volume.clone();
        match self.bootstrap_done() {
            Some(_) => {
                remembered.or_else(|| self.database_volume().and_then(|(_, p)| volume_identity(p)))
            }
            // a bootstrap that no longer counts keeps what it seeded until a new one completes
            None => remembered.filter(|_| self.bootstrap_voided().is_some()),
        }
    }

    /// Whether the database's pods are ready (`None`: no database component or pod seen).
    pub fn database_ready(&self) -> Option<bool> {
        let view = self.view("db")?;
        if view.pods.is_empty() {
            return None;
        }
        Some(view.pods.iter().all(|p| crate::assess::facts::pod_ready(p)))
    }

    /// `bootstrap.mode` from the alga-core values ConfigMap (any data key holding YAML).
    pub fn bootstrap_mode(&self) -> Option<(&'a crate::catalog::ObjectRef, String)> {
        let r = self.catalog.release.bootstrap_values.as_ref()?;
        let cm = self
            .snapshot
            .config_maps
            .get(&(r.namespace.clone(), r.name.clone()))?;
        let mode = cm.data.as_ref()?.values().find_map(|text| {
            let v: serde_yaml::Value = serde_yaml::from_str(text).ok()?;
            v.get("bootstrap")?
                .get("mode")?
                .as_str()
                .map(str::to_string)
        })?;
        Some((r, mode))
    }

    /// The view of a component by name.
    pub fn view(&self, name: &str) -> Option<&ComponentView<'a>> {
        self.components.iter().find(|v| v.component.name == name)
    }

    /// Release information from the Flux source and the release selection ConfigMap.
    pub fn release(&self) -> Release {
        let sources = &self.catalog.release;
        let mut release = Release::default();
        if let Some(r) = &sources.git_repository {
            release.git_revision = [FluxKind::GitRepository, FluxKind::OCIRepository]
                .into_iter()
                .find_map(|k| self.snapshot.flux_object(k, &r.namespace, &r.name))
                .and_then(|g| g.revision.clone());
        }
        if let Some(r) = &sources.selection {
            if let Some(data) = self
                .snapshot
                .config_maps
                .get(&(r.namespace.clone(), r.name.clone()))
                .and_then(|cm| cm.data.as_ref())
            {
                release.selected_release_version = data.get("releaseVersion").cloned();
                release.app_version = data.get("appVersion").cloned();
                release.channel = data.get("channel").cloned();
            }
        }
        release
    }

    /// The newest events, warnings first, each group newest first.
    pub fn recent_events(&self) -> Vec<EventSummary> {
        self.recent
            .iter()
            .map(
                |&Ranked {
                     at: last, event: e, ..
                 }| {
                    let o = &e.object;
                    let or_unknown = |s: &str| {
                        if s.is_empty() {
                            "?".to_string()
                        } else {
                            s.to_string()
                        }
                    };
                    EventSummary {
                        event_type: e.event_type.to_string(),
                        reason: e.reason.to_string(),
                        object: format!(
                            "{}/{}/{}",
                            or_unknown(&o.kind),
                            o.namespace,
                            or_unknown(&o.name)
                        ),
                        message: e.message.to_string(),
                        count: e.count,
                        last_seen: last,
                    }
                },
            )
            .collect()
    }

    /// The bootstrap Job: name, state and log tail.
    pub fn bootstrap_summary(
        &self,
        tiers: &app::status::Tiers,
    ) -> Option<app::status::BootstrapSummary> {
        let view = self.components.iter().find(|v| {
            v.component.tier == app::status::Tier::Bootstrap
                && v.component.kind == ComponentKind::Job
        })?;
        let job = view
            .jobs
            .iter()
            .max_by_key(|j| j.metadata.creation_timestamp.clone());
        let failed = job
            .and_then(|j| j.status.as_ref()?.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Failed" && c.status == "True"));
        let state = if failed {
            "failed"
        } else if view.job_completed_at.is_some() || (job.is_none() && tiers.bootstrap.ready) {
            "completed"
        } else if job.is_some() {
            "running"
        } else {
            "not started"
        };
        let log_excerpt = self
            .snapshot
            .logs
            .iter()
            .filter(|l| {
                l.namespace == view.namespace
                    && view
                        .pods
                        .iter()
                        .any(|p| p.metadata.name.as_deref() == Some(l.pod.as_str()))
            })
            .flat_map(|l| l.lines.iter().rev().take(20).rev().cloned())
            .collect();
        Some(app::status::BootstrapSummary {
            job: job.and_then(|j| j.metadata.name.clone()),
            state: state.to_string(),
            completed_at: view.job_completed_at,
            log_excerpt,
        })
    }

    /// One row per catalog component.
    pub fn component_statuses(&self, blockers: &[Blocker]) -> Vec<ComponentStatus> {
        self.components
            .iter()
            .map(|v| {
                let c = v.component;
                let (ready, desired) = v.replicas();
                let restarts = v
                    .pods
                    .iter()
                    .flat_map(|p| {
                        p.status
                            .as_ref()
                            .and_then(|s| s.container_statuses.as_ref())
                    })
                    .flatten()
                    .map(|cs| cs.restart_count.max(0) as u32)
                    .sum();
                let mut images: Vec<String> = v
                    .pods
                    .iter()
                    .flat_map(|p| {
                        p.spec
                            .as_ref()
                            .map(|s| s.containers.as_slice())
                            .unwrap_or(&[])
                    })
                    .filter_map(|c| c.image.clone())
                    .collect();
                images.sort();
                images.dedup();
                let own: Vec<&Blocker> = blockers
                    .iter()
                    .filter(|b| b.component == c.name && b.tier == c.tier)
                    .collect();
                let failed = own.iter().find(|b| b.severity != Severity::Warning);
                let (status, message) = if let Some(b) = failed {
                    (ComponentState::Failed, b.reason.clone())
                } else if !v.present() {
                    (ComponentState::Missing, "Not installed yet".to_string())
                } else if component_ready(self, v) {
                    (ComponentState::Ready, "Ready".to_string())
                } else if let Some(b) = own.first() {
                    (ComponentState::Progressing, b.reason.clone())
                } else {
                    (ComponentState::Progressing, progress_message(v))
                };
                let workload = match c.kind {
                    ComponentKind::Job => v
                        .jobs
                        .first()
                        .and_then(|j| j.metadata.name.clone())
                        .or(c.workload_prefix.clone()),
                    _ => (!c.workloads.is_empty()).then(|| {
                        c.workloads
                            .iter()
                            .map(|w| w.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    }),
                };
                ComponentStatus {
                    name: c.name.clone(),
                    tier: c.tier,
                    kind: c.kind.as_str().to_string(),
                    namespace: (!v.namespace.is_empty()).then(|| v.namespace.to_string()),
                    workload,
                    ready,
                    desired,
                    restarts,
                    images,
                    status,
                    message,
                }
            })
            .collect()
    }
}

/// Whether a component is ready, by its kind.
pub fn component_ready(index: &Index<'_>, v: &ComponentView<'_>) -> bool {
    match v.component.kind {
        ComponentKind::Node => {
            !index.snapshot.nodes.is_empty() && index.snapshot.nodes.values().all(node_ready)
        }
        ComponentKind::Job => v.job_completed_at.is_some(),
        ComponentKind::GitRepository
        | ComponentKind::OCIRepository
        | ComponentKind::Kustomization => {
            !v.flux.is_empty()
                && v.flux
                    .iter()
                    .all(|(_, f)| f.is_some_and(|f| flux_state(f).is_ready()))
        }
        _ => v.workloads_ready(),
    }
}

/// Whether every workload of a component runs its latest template (rollout complete).
pub fn component_current(v: &ComponentView<'_>) -> bool {
    v.deployments.iter().all(|d| deployment_current(d))
        && v.stateful_sets.iter().all(|s| stateful_set_current(s))
}

fn progress_message(v: &ComponentView<'_>) -> String {
    let (ready, desired) = v.replicas();
    match v.component.kind {
        ComponentKind::Job => "Running".to_string(),
        ComponentKind::GitRepository
        | ComponentKind::OCIRepository
        | ComponentKind::Kustomization => "Reconciling".to_string(),
        _ => format!("{ready}/{desired} ready"),
    }
}

/// A volume's identity: its uid, else its creation time.
fn volume_identity(pvc: &PersistentVolumeClaim) -> Option<String> {
    pvc.metadata.uid.clone().or_else(|| {
        pvc.metadata
            .creation_timestamp
            .as_ref()
            .map(|t| t.0.to_string())
    })
}

/// This rule through the whole assessment, on objects as the cluster writes them.
#[cfg(test)]
mod assessed {
    use crate::assess::testkit::*;

    #[test]
    fn recent_events_put_warnings_first_newest_first() {
        let mut r = replay_to(mins(42));
        let start = r.scenario.start;
        let doc = assess_twice(
            &mut r.snapshot,
            &r.probes,
            start + mins(42),
            start + mins(43),
        );
        let types: Vec<&str> = doc
            .recent_events
            .iter()
            .map(|e| e.event_type.as_str())
            .collect();
        let first_normal = types
            .iter()
            .position(|t| *t == "Normal")
            .unwrap_or(types.len());
        assert!(
            types[first_normal..].iter().all(|t| *t == "Normal"),
            "{types:?}"
        );
        let warnings = &doc.recent_events[..first_normal];
        assert!(warnings
            .windows(2)
            .all(|w| w[0].last_seen >= w[1].last_seen));
    }

    #[test]
    fn deleting_objects_returns_components_to_missing() {
        let mut r = replay_to(mins(55));
        r.snapshot.delete(&ObjectId {
            kind: "Deployment".into(),
            namespace: "msp".into(),
            name: "email-service".into(),
        });
        r.snapshot
            .pods
            .retain(|(_, name), _| !name.starts_with("email-service"));
        let start = r.scenario.start;
        let doc = assess_twice(
            &mut r.snapshot,
            &r.probes,
            start + mins(55),
            start + mins(57),
        );
        let email = doc
            .components
            .iter()
            .find(|c| c.name == "email-service")
            .unwrap();
        assert_eq!(email.status, ComponentState::Missing);
        assert!(doc.tiers.login.ready);
        assert!(!doc.tiers.background.ready);
    }
}
