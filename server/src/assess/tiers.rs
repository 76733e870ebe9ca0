//! Tiered readiness: each PRD requirement as a named check, each tier ready when all its checks
//! pass. LOGIN_READY reads only platform-independent core, bootstrap and login facts: background
//! components, Temporal, email, workers never enter it.

use super::index::{component_ready, ComponentView, Index};
use super::{Finding, Inputs, Progress};
use crate::catalog::ComponentKind;
use crate::snapshot::FluxKind;
use app::status::*;

fn check(
    name: &str,
    description: &str,
    state: CheckState,
    detail: impl Into<Option<String>>,
) -> Check {
    Check {
        name: name.into(),
        description: description.into(),
        state,
        detail: detail.into(),
    }
}

fn ok_if(cond: bool) -> CheckState {
    if cond {
        CheckState::Ok
    } else {
        CheckState::Pending
    }
}

/// A check on one catalog component's readiness, failed when a finding says it failed.
fn component_check(
    index: &Index<'_>,
    findings: &[Finding],
    name: &str,
    check_name: &str,
    description: &str,
) -> Check {
    let Some(view) = index.view(name) else {
        return check(
            check_name,
            description,
            CheckState::NotApplicable,
            format!("{name} is not in the catalog"),
        );
    };
    let failure = findings
        .iter()
        .find(|f| f.component == name && f.progress == Progress::Failed);
    if let Some(f) = failure {
        return check(
            check_name,
            description,
            CheckState::Failed,
            f.reason.clone(),
        );
    }
    if !view.present() {
        return check(
            check_name,
            description,
            CheckState::Pending,
            "not installed yet".to_string(),
        );
    }
    let ready = component_ready(index, view);
    let (r, d) = view.replicas();
    let detail = match view.component.kind {
        ComponentKind::Job
        | ComponentKind::Node
        | ComponentKind::GitRepository
        | ComponentKind::OCIRepository
        | ComponentKind::Kustomization => {
            if ready {
                "ready".to_string()
            } else {
                "not ready yet".to_string()
            }
        }
        _ => format!("{r}/{d} ready"),
    };
    check(check_name, description, ok_if(ready), detail)
}

fn tier_status(tier: Tier, checks: Vec<Check>) -> TierStatus {
    let ready = checks
        .iter()
        .all(|c| matches!(c.state, CheckState::Ok | CheckState::NotApplicable));
    let failed = checks.iter().any(|c| c.state == CheckState::Failed);
    let status = match (ready, failed, tier) {
        (true, _, _) => TierHealth::Healthy,
        (false, true, Tier::Background | Tier::FullHealth) => TierHealth::Degraded,
        (false, true, _) => TierHealth::Failed,
        (false, false, _) => TierHealth::Progressing,
    };
    TierStatus {
        ready,
        status,
        checks,
    }
}

fn dependency(name: &str, tier: Tier, status: &TierStatus) -> Check {
    let state = match (status.ready, status.status) {
        (true, _) => CheckState::Ok,
        (false, TierHealth::Failed) => CheckState::Failed,
        _ => CheckState::Pending,
    };
    check(
        name,
        &format!("{} ready", tier.readiness_name()),
        state,
        format!("{:?}", status.status).to_lowercase(),
    )
}

const LOGIN_PATH: [Tier; 3] = [Tier::Core, Tier::Bootstrap, Tier::Login];
const POD_LAYERS: [Layer; 8] = [
    Layer::Image,
    Layer::Config,
    Layer::Storage,
    Layer::Pod,
    Layer::Log,
    Layer::Dns,
    Layer::Network,
    Layer::Node,
];

/// All tiers; the full-health "no critical warnings" check is settled by [`finish`].
pub fn evaluate(inputs: &Inputs<'_>, index: &Index<'_>, findings: &[Finding]) -> Tiers {
    let snap = inputs.snapshot;
    let probes = inputs.probes;

    // ---------------- PLATFORM ----------------
    let node_booted = snap.nodes.values().next().map(|n| {
        n.status
            .as_ref()
            .and_then(|s| s.node_info.as_ref())
            .map(|i| i.os_image.clone())
            .unwrap_or_else(|| "registered".into())
    });
    let dns_failures: Vec<&Finding> = findings
        .iter()
        .filter(|f| {
            matches!(f.layer, Layer::Dns | Layer::Network) && f.progress == Progress::Failed
        })
        .collect();
    let dns_probes = probes.hosts("dns:").len() + probes.hosts("https:").len();
    let dns_check = match (dns_failures.first(), dns_probes) {
        (Some(f), _) => check(
            "platform.dns-outbound",
            "DNS and outbound HTTPS checks pass",
            CheckState::Failed,
            f.reason.clone(),
        ),
        (None, 0) => check(
            "platform.dns-outbound",
            "DNS and outbound HTTPS checks pass",
            CheckState::NotApplicable,
            "no DNS or HTTPS probe configured; no resolver failure seen".to_string(),
        ),
        (None, n) => check(
            "platform.dns-outbound",
            "DNS and outbound HTTPS checks pass",
            CheckState::Ok,
            format!("{n} probes pass"),
        ),
    };
    let storage_class = index
        .components
        .iter()
        .find_map(|v| v.component.storage_class.clone())
        .unwrap_or_else(|| "local-path".into());
    let smoke = match probes.storage_smoke() {
        Some(Ok(())) => check(
            "platform.storage-smoke",
            "Storage smoke test passes",
            CheckState::Ok,
            "probe passed".to_string(),
        ),
        Some(Err(e)) => check(
            "platform.storage-smoke",
            "Storage smoke test passes",
            CheckState::Failed,
            e,
        ),
        None => {
            let bound = snap.pvcs.values().any(|p| {
                p.spec
                    .as_ref()
                    .and_then(|s| s.storage_class_name.as_deref())
                    == Some(storage_class.as_str())
                    && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound")
            });
            check(
                "platform.storage-smoke",
                "Storage smoke test passes",
                ok_if(bound),
                if bound {
                    format!("a {storage_class} claim is bound")
                } else {
                    format!("waiting for a {storage_class} claim to bind")
                },
            )
        }
    };
    let api = match snap.api.unreachable_since {
        Some(since) => check(
            "platform.kubernetes-api",
            "Kubernetes API reachable",
            CheckState::Failed,
            format!("unreachable since {since}"),
        ),
        None => check(
            "platform.kubernetes-api",
            "Kubernetes API reachable",
            CheckState::Ok,
            None,
        ),
    };
    let platform = tier_status(
        Tier::Platform,
        vec![
            check(
                "platform.node-booted",
                "Talos node installed and booted from disk",
                ok_if(node_booted.is_some()),
                node_booted
                    .map(|o| format!("node registered ({o})"))
                    .unwrap_or_else(|| "no node registered yet".into()),
            ),
            api,
            component_check(
                index,
                findings,
                "node",
                "platform.node-ready",
                "Node Ready and schedulable",
            ),
            component_check(
                index,
                findings,
                "coredns",
                "platform.coredns",
                "CoreDNS healthy",
            ),
            dns_check,
            component_check(
                index,
                findings,
                "local-path-provisioner",
                "platform.local-path",
                "local-path storage installed",
            ),
            smoke,
            component_check(
                index,
                findings,
                "flux-controllers",
                "platform.flux-controllers",
                "Flux controllers running",
            ),
            component_check(
                index,
                findings,
                "flux-source",
                "platform.flux-source",
                "Release source fetched (Flux GitRepository)",
            ),
            check(
                "platform.appliance-status",
                "appliance-status reachable",
                CheckState::Ok,
                "this service is answering".to_string(),
            ),
        ],
    );

    // ---------------- CORE ----------------
    let login_path = |f: &&Finding| LOGIN_PATH.contains(&f.tier) && f.progress == Progress::Failed;
    let pgbouncer = match index.view("pgbouncer") {
        Some(v) if v.component.required_when_present && !v.present() => check(
            "core.pgbouncer",
            "PgBouncer ready (when the app runtime uses it)",
            CheckState::NotApplicable,
            "not installed: the web app connects to Postgres directly".to_string(),
        ),
        Some(_) => component_check(
            index,
            findings,
            "pgbouncer",
            "core.pgbouncer",
            "PgBouncer ready (when the app runtime uses it)",
        ),
        None => check(
            "core.pgbouncer",
            "PgBouncer ready (when the app runtime uses it)",
            CheckState::NotApplicable,
            "not in the catalog".to_string(),
        ),
    };
    let core_views: Vec<&ComponentView<'_>> = index
        .components
        .iter()
        .filter(|v| v.component.tier == Tier::Core)
        .collect();
    let credentials = {
        let missing = findings
            .iter()
            .find(|f| login_path(f) && f.layer == Layer::Config && f.slug.starts_with("secret"));
        let secrets: Vec<(&str, &str)> = core_views
            .iter()
            .flat_map(|v| {
                v.component
                    .secrets
                    .iter()
                    .map(move |s| (v.namespace, s.as_str()))
            })
            .collect();
        let all_listed = !secrets.is_empty()
            && secrets.iter().all(|(ns, s)| {
                snap.secret_names
                    .contains_key(&(ns.to_string(), s.to_string()))
            });
        let started = core_views
            .iter()
            .filter(|v| !v.component.required_when_present)
            .all(|v| {
                v.pods.iter().any(|p| {
                    p.status
                        .as_ref()
                        .and_then(|s| s.container_statuses.as_ref())
                        .is_some_and(|cs| {
                            cs.iter()
                                .any(|c| c.state.as_ref().is_some_and(|s| s.running.is_some()))
                        })
                })
            });
        match missing {
            Some(f) => check(
                "core.credentials",
                "DB and Redis credentials exist",
                CheckState::Failed,
                f.reason.clone(),
            ),
            None if all_listed => check(
                "core.credentials",
                "DB and Redis credentials exist",
                CheckState::Ok,
                "Secrets present".to_string(),
            ),
            None if started => check(
                "core.credentials",
                "DB and Redis credentials exist",
                CheckState::Ok,
                "inferred: Postgres and Redis started with their credentials".to_string(),
            ),
            None => check(
                "core.credentials",
                "DB and Redis credentials exist",
                CheckState::Pending,
                "waiting for Postgres and Redis to start".to_string(),
            ),
        }
    };
    let pvcs = {
        let required: Vec<(
            &str,
            Option<&k8s_openapi::api::core::v1::PersistentVolumeClaim>,
        )> = index
            .components
            .iter()
            .filter(|v| LOGIN_PATH.contains(&v.component.tier))
            .flat_map(|v| v.pvcs.iter().copied())
            .collect();
        let storage_failed = findings
            .iter()
            .find(|f| login_path(f) && f.layer == Layer::Storage && f.slug.starts_with("pvc-"));
        let unbound: Vec<&str> = required
            .iter()
            .filter(|(_, p)| p.and_then(|p| p.status.as_ref()?.phase.as_deref()) != Some("Bound"))
            .map(|(n, _)| *n)
            .collect();
        match (storage_failed, unbound.is_empty()) {
            (Some(f), _) => check(
                "core.pvcs",
                "Required PVCs bound",
                CheckState::Failed,
                f.reason.clone(),
            ),
            (None, true) => check(
                "core.pvcs",
                "Required PVCs bound",
                CheckState::Ok,
                format!("{} bound", required.len()),
            ),
            (None, false) => check(
                "core.pvcs",
                "Required PVCs bound",
                CheckState::Pending,
                format!("not bound yet: {}", unbound.join(", ")),
            ),
        }
    };
    let bad_pods: Vec<&Finding> = findings
        .iter()
        .filter(|f| login_path(f) && POD_LAYERS.contains(&f.layer))
        .collect();
    let no_bad_pods = match bad_pods.first() {
        Some(f) => check("core.no-failing-pods", "No login-critical pod in CreateContainerConfigError, ImagePullBackOff or CrashLoopBackOff", CheckState::Failed,
            format!("{}: {}{}", f.component, f.reason, if bad_pods.len() > 1 { format!(" (and {} more)", bad_pods.len() - 1) } else { String::new() })),
        None => check("core.no-failing-pods", "No login-critical pod in CreateContainerConfigError, ImagePullBackOff or CrashLoopBackOff", CheckState::Ok, None),
    };
    let core = tier_status(
        Tier::Core,
        vec![
            component_check(index, findings, "db", "core.postgres", "Postgres ready"),
            component_check(index, findings, "redis", "core.redis", "Redis ready"),
            pgbouncer,
            credentials,
            pvcs,
            no_bad_pods,
        ],
    );

    // ---------------- BOOTSTRAP ----------------
    let job_view = index
        .components
        .iter()
        .find(|v| v.component.tier == Tier::Bootstrap && v.component.kind == ComponentKind::Job);
    let job_failed = findings
        .iter()
        .find(|f| f.tier == Tier::Bootstrap && f.progress == Progress::Failed);
    let login_up = index
        .components
        .iter()
        .filter(|v| v.component.tier == Tier::Login)
        .any(|v| v.workloads_ready());
    let (job_done, job_detail) = match job_view {
        Some(v) if v.job_completed_at.is_some() => (
            true,
            format!("completed at {}", v.job_completed_at.unwrap_or_default()),
        ),
        Some(v) if !v.jobs.is_empty() => (false, "running".to_string()),
        // After ttlSecondsAfterFinished the Job is gone; a ready web app (its init container waits
        // for the bootstrap) proves it ran.
        _ if login_up => (
            true,
            "inferred: the web app passed its wait-for-bootstrap step".to_string(),
        ),
        _ => (false, "not started yet".to_string()),
    };
    let job_check = match job_failed {
        Some(f) => check(
            "bootstrap.job-completed",
            "Bootstrap job completed",
            CheckState::Failed,
            f.reason.clone(),
        ),
        None => check(
            "bootstrap.job-completed",
            "Bootstrap job completed",
            ok_if(job_done),
            job_detail,
        ),
    };
    let seed = probes.seed_users();
    let database = match &seed {
        Some(Ok(_)) => check(
            "bootstrap.database",
            "Database exists",
            CheckState::Ok,
            "the seed query ran".to_string(),
        ),
        Some(Err(e)) if e.contains("does not exist") => check(
            "bootstrap.database",
            "Database exists",
            if job_done {
                CheckState::Failed
            } else {
                CheckState::Pending
            },
            e.clone(),
        ),
        _ => check(
            "bootstrap.database",
            "Database exists",
            ok_if(job_done),
            if job_done {
                "inferred from the completed bootstrap".to_string()
            } else {
                "waiting for the bootstrap".to_string()
            },
        ),
    };
    let migrations = match job_failed {
        Some(f) => check(
            "bootstrap.migrations",
            "Migrations completed",
            CheckState::Failed,
            f.reason.clone(),
        ),
        None => check(
            "bootstrap.migrations",
            "Migrations completed",
            ok_if(job_done),
            if job_done {
                "the bootstrap job ran them".to_string()
            } else {
                "waiting for the bootstrap job".to_string()
            },
        ),
    };
    let seed_check = match seed {
        Some(Ok(n)) if n > 0 => check(
            "bootstrap.seed-data",
            "Seed data exists (server.users count > 0)",
            CheckState::Ok,
            format!("{n} users"),
        ),
        Some(Ok(n)) => check(
            "bootstrap.seed-data",
            "Seed data exists (server.users count > 0)",
            if job_done {
                CheckState::Failed
            } else {
                CheckState::Pending
            },
            format!("{n} users"),
        ),
        Some(Err(e)) => check(
            "bootstrap.seed-data",
            "Seed data exists (server.users count > 0)",
            if job_done {
                CheckState::Failed
            } else {
                CheckState::Pending
            },
            e,
        ),
        None => check(
            "bootstrap.seed-data",
            "Seed data exists (server.users count > 0)",
            ok_if(job_done),
            if job_done {
                "seed query not configured; inferred from the completed bootstrap".to_string()
            } else {
                "waiting for the bootstrap".to_string()
            },
        ),
    };
    let mode = bootstrap_mode(index);
    let mode_check = match (mode.as_deref(), job_done) {
        (None, _) => check("bootstrap.mode", "Bootstrap mode no longer `fresh` after the first success", CheckState::NotApplicable, "bootstrap values not found".to_string()),
        (Some("fresh"), true) => check("bootstrap.mode", "Bootstrap mode no longer `fresh` after the first success", CheckState::Failed, "bootstrap.mode is still `fresh`: a re-run would wipe the database; set it to `recover`".to_string()),
        (Some(m), _) => check("bootstrap.mode", "Bootstrap mode no longer `fresh` after the first success", if m == "fresh" { CheckState::Pending } else { CheckState::Ok }, format!("bootstrap.mode: {m}")),
    };
    let bootstrap = tier_status(
        Tier::Bootstrap,
        vec![job_check, database, migrations, seed_check, mode_check],
    );

    // ---------------- LOGIN ----------------
    let web_ready = login_up;
    let login_probe = probes.login_url();
    let responds = probe_check(
        "login.url-responds",
        "App URL responds",
        login_probe.as_ref(),
        web_ready,
    );
    let redirect = probe_check(
        "login.redirect",
        "Dashboard/login redirect works",
        login_probe.as_ref(),
        web_ready,
    );
    let mut web_checks = Vec::new();
    for v in index
        .components
        .iter()
        .filter(|v| v.component.tier == Tier::Login)
    {
        web_checks.push(component_check(
            index,
            findings,
            &v.component.name,
            &format!("login.{}", v.component.name),
            &format!("{} deployment ready", v.component.display_name()),
        ));
    }
    let mut login_checks = vec![
        dependency("login.core", Tier::Core, &core),
        dependency("login.bootstrap", Tier::Bootstrap, &bootstrap),
    ];
    login_checks.extend(web_checks);
    login_checks.push(responds);
    login_checks.push(redirect);
    login_checks.push(check(
        "login.url-known",
        "Public login URL known",
        ok_if(index.login_url.is_some()),
        index
            .login_url
            .clone()
            .unwrap_or_else(|| "node address not known yet".into()),
    ));
    let login = tier_status(Tier::Login, login_checks);

    // ---------------- BACKGROUND ----------------
    let background = tier_status(
        Tier::Background,
        index
            .components
            .iter()
            .filter(|v| v.component.tier == Tier::Background)
            .map(|v| {
                component_check(
                    index,
                    findings,
                    &v.component.name,
                    &format!("background.{}", v.component.name),
                    &format!("{} healthy", v.component.display_name()),
                )
            })
            .collect(),
    );

    // ---------------- FULLY_HEALTHY ----------------
    let releases: Vec<_> = snap
        .flux
        .values()
        .filter(|f| f.kind == FluxKind::HelmRelease)
        .collect();
    let unready: Vec<&str> = releases
        .iter()
        .filter(|f| !super::flux::is_ready(f))
        .map(|f| f.name.as_str())
        .collect();
    let missing_tags: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.slug == "tag-missing")
        .collect();
    let drift = image_drift(index);
    let full = vec![
        dependency("full.login", Tier::Login, &login),
        dependency("full.background", Tier::Background, &background),
        check(
            "full.helmreleases",
            "All selected HelmReleases ready",
            if releases.is_empty() {
                CheckState::Pending
            } else {
                ok_if(unready.is_empty())
            },
            if releases.is_empty() {
                "no HelmRelease seen yet".to_string()
            } else if unready.is_empty() {
                format!("{} ready", releases.len())
            } else {
                format!("not ready: {}", unready.join(", "))
            },
        ),
        check(
            "full.no-critical",
            "No unacknowledged critical warnings",
            CheckState::Ok,
            None,
        ),
        match missing_tags.first() {
            Some(f) => check(
                "full.image-tags",
                "No missing image tags",
                CheckState::Failed,
                format!("{} ({} in all)", f.reason, missing_tags.len()),
            ),
            None => check(
                "full.image-tags",
                "No missing image tags",
                CheckState::Ok,
                None,
            ),
        },
        match drift.first() {
            Some(d) => check(
                "full.image-drift",
                "No image drift",
                CheckState::Failed,
                format!(
                    "{d}{}",
                    if drift.len() > 1 {
                        format!(" (and {} more)", drift.len() - 1)
                    } else {
                        String::new()
                    }
                ),
            ),
            None => check(
                "full.image-drift",
                "No image drift",
                CheckState::Ok,
                "running images match their workloads".to_string(),
            ),
        },
    ];
    Tiers {
        platform,
        core,
        bootstrap,
        login,
        background,
        full_health: tier_status(Tier::FullHealth, full),
    }
}

/// A check on the login URL probe: ok when it works; failed once the web app is ready and it does
/// not; without a probe, inferred from the web pods and saying so.
fn probe_check(
    name: &str,
    description: &str,
    probe: Option<&crate::probes::LoginProbe>,
    web_ready: bool,
) -> Check {
    match probe {
        Some(p) if p.works() => check(name, description, CheckState::Ok, p.describe()),
        Some(p) => check(
            name,
            description,
            if web_ready {
                CheckState::Failed
            } else {
                CheckState::Pending
            },
            p.describe(),
        ),
        None => check(
            name,
            description,
            ok_if(web_ready),
            if web_ready {
                "not probed; inferred from ready web pods"
            } else {
                "waiting for the web app"
            }
            .to_string(),
        ),
    }
}

/// Settles the "no critical warnings" check once blockers are known.
pub fn finish(mut tiers: Tiers, blockers: &[Blocker]) -> Tiers {
    let critical: Vec<&Blocker> = blockers
        .iter()
        .filter(|b| b.escalation == Escalation::Error || b.severity == Severity::Critical)
        .collect();
    let mut checks = std::mem::take(&mut tiers.full_health.checks);
    if let Some(c) = checks.iter_mut().find(|c| c.name == "full.no-critical") {
        if let Some(b) = critical.first() {
            c.state = CheckState::Failed;
            c.detail = Some(format!(
                "{}: {} ({} in all)",
                b.component,
                b.reason,
                critical.len()
            ));
        }
    }
    tiers.full_health = tier_status(Tier::FullHealth, checks);
    tiers
}

/// `bootstrap.mode` from the alga-core values ConfigMap (any data key holding YAML).
fn bootstrap_mode(index: &Index<'_>) -> Option<String> {
    let r = index.catalog.release.bootstrap_values.as_ref()?;
    let cm = index
        .snapshot
        .config_maps
        .get(&(r.namespace.clone(), r.name.clone()))?;
    cm.data.as_ref()?.values().find_map(|text| {
        let v: serde_yaml::Value = serde_yaml::from_str(text).ok()?;
        v.get("bootstrap")?
            .get("mode")?
            .as_str()
            .map(str::to_string)
    })
}

/// Containers whose running image differs from their workload's template.
fn image_drift(index: &Index<'_>) -> Vec<String> {
    let mut drift = Vec::new();
    for v in &index.components {
        let templates: Vec<(&str, &str)> = v
            .deployments
            .iter()
            .filter_map(|d| d.spec.as_ref())
            .map(|s| &s.template)
            .chain(
                v.stateful_sets
                    .iter()
                    .filter_map(|s| s.spec.as_ref())
                    .map(|s| &s.template),
            )
            .filter_map(|t| t.spec.as_ref())
            .flat_map(|s| {
                s.containers
                    .iter()
                    .filter_map(|c| Some((c.name.as_str(), c.image.as_deref()?)))
            })
            .collect();
        for pod in &v.pods {
            let running = pod
                .status
                .as_ref()
                .and_then(|s| s.container_statuses.as_ref());
            for cs in running.into_iter().flatten() {
                if cs.state.as_ref().and_then(|s| s.running.as_ref()).is_none() {
                    continue;
                }
                if let Some((_, want)) = templates.iter().find(|(n, _)| *n == cs.name) {
                    if !same_image(want, &cs.image) {
                        drift.push(format!(
                            "{}: runs {} but should run {}",
                            v.component.name, cs.image, want
                        ));
                    }
                }
            }
        }
    }
    drift
}

/// Compares image references, tolerating the runtime's `docker.io/library/` expansion.
fn same_image(a: &str, b: &str) -> bool {
    fn norm(s: &str) -> &str {
        s.trim_start_matches("docker.io/")
            .trim_start_matches("library/")
    }
    norm(a) == norm(b)
}
