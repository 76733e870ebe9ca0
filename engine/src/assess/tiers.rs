//! Tiered readiness: each PRD requirement is a named check in its tier's table. A check has two
//! parts: which shown failures make it fail (`fails_on`), and what the objects and probes say
//! when none does (`facts`: ok, pending or not applicable). A check can fail only by naming the
//! blockers that fail it, so every failed check is explained. Tiers are evaluated in order;
//! a workload that merely waits on an earlier tier is shown only once that tier is ready.

use super::index::{component_ready, ComponentView, Index};
use super::platform::COLLECTOR_STALE_AFTER;
use super::rank::{Candidate, LOGIN_PATH};
use super::{Finding, Inputs};
use crate::catalog::ComponentKind;
use crate::probes::Failure;
use crate::snapshot::FluxKind;
use app::status::*;
use jiff::Timestamp;
use std::collections::BTreeSet;

/// What a check reads.
pub struct Ctx<'a, 'i> {
    pub inputs: &'a Inputs<'i>,
    pub index: &'a Index<'i>,
    pub now: Timestamp,
    /// Shown failures: the only thing that can fail a check.
    pub failed: Vec<&'a Candidate>,
    /// Shown warnings (slow, not failed).
    pub warnings: Vec<&'a Candidate>,
}

/// A check's state when nothing failed it, with what was seen.
type Facts = (CheckState, String);

/// One row of a tier's table.
pub struct CheckDef<'d> {
    pub name: String,
    pub description: String,
    pub fails_on: Box<dyn Fn(&Finding) -> bool + 'd>,
    pub facts: Box<dyn Fn(&Ctx<'_, '_>) -> Facts + 'd>,
}

impl<'d> CheckDef<'d> {
    fn new(
        name: impl Into<String>,
        description: impl Into<String>,
        fails_on: impl Fn(&Finding) -> bool + 'd,
        facts: impl Fn(&Ctx<'_, '_>) -> Facts + 'd,
    ) -> Self {
        CheckDef {
            name: name.into(),
            description: description.into(),
            fails_on: Box::new(fails_on),
            facts: Box::new(facts),
        }
    }

    /// Runs the check.
    pub fn run(&self, ctx: &Ctx<'_, '_>) -> Check {
        let failing: Vec<&Candidate> = ctx
            .failed
            .iter()
            .copied()
            .filter(|c| (self.fails_on)(&c.finding))
            .collect();
        let (state, detail) = match failing.first() {
            Some(first) => (
                CheckState::Failed,
                format!(
                    "{}{}",
                    first.finding.reason,
                    if failing.len() > 1 {
                        format!(" (and {} more)", failing.len() - 1)
                    } else {
                        String::new()
                    }
                ),
            ),
            None => (self.facts)(ctx),
        };
        Check {
            name: self.name.clone(),
            description: self.description.clone(),
            state,
            detail: Some(detail),
            blockers: failing.iter().map(|c| c.finding.id.clone()).collect(),
        }
    }
}

fn ok_if(cond: bool) -> CheckState {
    if cond {
        CheckState::Ok
    } else {
        CheckState::Pending
    }
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

/// A check that another tier is ready: failed by exactly the blockers that fail that tier.
fn dependency(name: &str, tier: Tier, status: &TierStatus) -> Check {
    let blockers: Vec<String> = status
        .checks
        .iter()
        .filter(|c| c.state == CheckState::Failed)
        .flat_map(|c| c.blockers.iter().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let state = match (status.ready, blockers.is_empty()) {
        (true, _) => CheckState::Ok,
        (false, false) => CheckState::Failed,
        (false, true) => CheckState::Pending,
    };
    Check {
        name: name.into(),
        description: format!("{} ready", tier.readiness_name()),
        state,
        detail: Some(status.status.as_str().into()),
        blockers,
    }
}

/// Failures of a component, at its own tier (release-level findings never count here).
fn of_component(name: &str, tier: Tier) -> impl Fn(&Finding) -> bool + '_ {
    move |f| f.component == name && f.tier == tier
}

/// The readiness check of one catalog component.
fn component<'d>(
    index: &'d Index<'_>,
    name: &'d str,
    check: impl Into<String>,
    description: impl Into<String>,
) -> CheckDef<'d> {
    let tier = index
        .view(name)
        .map(|v| v.component.tier)
        .unwrap_or(Tier::Background);
    CheckDef::new(
        check,
        description,
        of_component(name, tier),
        move |ctx| match ctx.index.view(name) {
            None => (
                CheckState::NotApplicable,
                format!("{name} is not in the catalog"),
            ),
            Some(v) => component_facts(ctx.index, v),
        },
    )
}

fn component_facts(index: &Index<'_>, v: &ComponentView<'_>) -> Facts {
    if !v.present() {
        return (CheckState::Pending, "not installed yet".into());
    }
    let ready = component_ready(index, v);
    let (r, d) = v.replicas();
    let detail = match v.component.kind {
        ComponentKind::Job if ready => "completed".to_string(),
        ComponentKind::Job => "running".to_string(),
        ComponentKind::Node
        | ComponentKind::GitRepository
        | ComponentKind::OCIRepository
        | ComponentKind::Kustomization => if ready { "ready" } else { "not ready yet" }.into(),
        _ => format!("{r}/{d} ready"),
    };
    (ok_if(ready), detail)
}

/// The tier's Flux objects: its Kustomization(s) and the HelmReleases they apply. Failed by a
/// Flux failure of this tier nothing below explains, or by the blocker a failed one is evidence
/// of. Reconciling, waiting on a dependency and not yet reconciled are progress: the tier's
/// readiness comes from its components (a tier Kustomization with `wait` turns Ready only when
/// everything it applies is, including later tiers' workloads).
fn flux_apply<'d>(tier: Tier, name: &str, kustomization: &'d str) -> CheckDef<'d> {
    let description =
        format!("Flux Kustomization {kustomization} and its HelmReleases have not failed");
    CheckDef::new(
        name,
        description,
        move |f| {
            f.tier == tier && (f.flux.is_some() && matches!(f.layer, Layer::Flux | Layer::Helm))
        },
        move |ctx| {
            let nodes: Vec<_> = ctx
                .index
                .graph
                .nodes
                .values()
                .filter(|n| {
                    n.tier == tier
                        && matches!(
                            n.object.kind,
                            FluxKind::Kustomization | FluxKind::HelmRelease
                        )
                })
                .collect();
            if nodes.is_empty() {
                return (
                    CheckState::NotApplicable,
                    format!("no Flux Kustomization or HelmRelease serves this tier (installed without Flux, or {kustomization} not applied yet)"),
                );
            }
            let failed: Vec<&str> = nodes
                .iter()
                .filter(|n| n.state.is_failed())
                .map(|n| n.key.as_str())
                .collect();
            let detail = if failed.is_empty() {
                let ready = nodes.iter().filter(|n| n.state.is_ready()).count();
                format!("{ready} of {} ready, none failed", nodes.len())
            } else {
                // Explained by a lower cause (see the component checks) or by a release-level
                // blocker under full health.
                format!("failed, explained elsewhere: {}", failed.join(", "))
            };
            (CheckState::Ok, detail)
        },
    )
}

/// Every tier, each check listing the blockers that fail it. Returns the tiers, the candidates
/// shown as blockers, and the ids of waits that are not shown because an earlier tier is not
/// ready.
pub fn evaluate(
    inputs: &Inputs<'_>,
    index: &Index<'_>,
    candidates: Vec<Candidate>,
    now: Timestamp,
) -> (Tiers, Vec<Candidate>, BTreeSet<String>) {
    let (waits, direct): (Vec<Candidate>, Vec<Candidate>) = candidates
        .into_iter()
        .partition(|c| c.finding.waits_for_earlier_tiers);
    let mut shown: Vec<Candidate> = direct;
    let mut waiting = BTreeSet::new();
    let mut done: Vec<(Tier, TierStatus)> = Vec::new();

    // The waits of a tier are shown once every earlier tier on the way to login is ready.
    let mut waits = waits;
    let mut admit = |tier: Tier, done: &[(Tier, TierStatus)], shown: &mut Vec<Candidate>| {
        let earlier_ready = LOGIN_PATH
            .iter()
            .filter(|t| **t < tier)
            .all(|t| done.iter().any(|(d, s)| d == t && s.ready));
        let (mine, rest): (Vec<Candidate>, Vec<Candidate>) = std::mem::take(&mut waits)
            .into_iter()
            .partition(|c| c.finding.tier == tier);
        waits = rest;
        for c in mine {
            if earlier_ready {
                shown.push(c);
            } else {
                waiting.insert(c.finding.id.clone());
            }
        }
    };

    type Table = for<'d, 'i> fn(&'d Index<'i>) -> Vec<CheckDef<'d>>;
    let tables: [(Tier, Table); 3] = [
        (Tier::Platform, platform_checks),
        (Tier::Core, core_checks),
        (Tier::Bootstrap, bootstrap_checks),
    ];
    for (tier, table) in tables {
        admit(tier, &done, &mut shown);
        let ctx = context(inputs, index, now, &shown);
        let checks = table(index).iter().map(|d| d.run(&ctx)).collect();
        done.push((tier, tier_status(tier, checks)));
    }
    let get = |done: &[(Tier, TierStatus)], t: Tier| {
        done.iter()
            .find(|(d, _)| *d == t)
            .map(|(_, s)| s.clone())
            .expect("evaluated in order")
    };

    admit(Tier::Login, &done, &mut shown);
    let ctx = context(inputs, index, now, &shown);
    let login = login_tier(
        &ctx,
        &get(&done, Tier::Platform),
        &get(&done, Tier::Core),
        &get(&done, Tier::Bootstrap),
    );
    done.push((Tier::Login, login.clone()));

    admit(Tier::Background, &done, &mut shown);
    let ctx = context(inputs, index, now, &shown);
    let background = tier_status(
        Tier::Background,
        background_checks(index)
            .iter()
            .map(|d| d.run(&ctx))
            .collect(),
    );
    // Whatever still waits (a tier the catalog does not order) is shown as it is.
    shown.append(&mut waits);

    let ctx = context(inputs, index, now, &shown);
    let mut full = vec![
        dependency("full.platform", Tier::Platform, &get(&done, Tier::Platform)),
        dependency("full.login", Tier::Login, &login),
        dependency("full.background", Tier::Background, &background),
    ];
    full.extend(full_checks().iter().map(|d| d.run(&ctx)));
    let tiers = Tiers {
        platform: get(&done, Tier::Platform),
        core: get(&done, Tier::Core),
        bootstrap: get(&done, Tier::Bootstrap),
        login,
        background,
        full_health: tier_status(Tier::FullHealth, full),
    };
    (tiers, shown, waiting)
}

fn context<'a, 'i>(
    inputs: &'a Inputs<'i>,
    index: &'a Index<'i>,
    now: Timestamp,
    shown: &'a [Candidate],
) -> Ctx<'a, 'i> {
    let (failed, warnings) = shown.iter().partition(|c| c.failed());
    Ctx {
        inputs,
        index,
        now,
        failed,
        warnings,
    }
}

// ------------------------------------------------------------------------------------------------
// PLATFORM_READY
// ------------------------------------------------------------------------------------------------

fn platform_checks<'d>(index: &'d Index<'_>) -> Vec<CheckDef<'d>> {
    vec![
        CheckDef::new(
            "platform.node-booted",
            "Talos node installed and booted from disk",
            |_| false,
            node_booted,
        ),
        CheckDef::new(
            "platform.kubernetes-api",
            "Kubernetes API reachable",
            |f| {
                f.component == "kubernetes-api"
                    || (f.component == "appliance-status" && f.slug == "forbidden")
            },
            kubernetes_api,
        ),
        component(
            index,
            "node",
            "platform.node-ready",
            "Node Ready and schedulable",
        ),
        component(index, "coredns", "platform.coredns", "CoreDNS healthy"),
        CheckDef::new(
            "platform.dns-outbound",
            "DNS and outbound HTTPS checks pass",
            |f| matches!(f.layer, Layer::Dns | Layer::Network) && f.tier == Tier::Platform,
            dns_outbound,
        ),
        component(
            index,
            "local-path-provisioner",
            "platform.local-path",
            "local-path storage installed",
        ),
        CheckDef::new(
            "platform.storage-smoke",
            "Storage smoke test passes",
            |f| f.component == "local-path-provisioner" && f.slug == "smoke",
            storage_smoke,
        ),
        component(
            index,
            "flux-controllers",
            "platform.flux-controllers",
            "Flux controllers running",
        ),
        component(
            index,
            "flux-source",
            "platform.flux-source",
            "Release source fetched (Flux GitRepository)",
        ),
        flux_apply(Tier::Platform, "platform.flux", "alga-platform"),
        CheckDef::new(
            "platform.appliance-status",
            "appliance-status reachable",
            |f| f.component == "appliance-status" && f.tier == Tier::Platform,
            appliance_status,
        ),
    ]
}

/// Names what it read: the node, its OS image and kubelet version, its Ready condition.
fn node_booted(ctx: &Ctx<'_, '_>) -> Facts {
    let Some(node) = ctx.inputs.snapshot.nodes.values().next() else {
        return (CheckState::Pending, "no node registered yet".into());
    };
    let name = node.metadata.name.as_deref().unwrap_or("node");
    let info = node.status.as_ref().and_then(|s| s.node_info.as_ref());
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
        .map(|c| c.status.as_str())
        .unwrap_or("unknown");
    match info.filter(|i| !i.os_image.is_empty() && !i.kubelet_version.is_empty()) {
        Some(i) => {
            let talos = if i.os_image.starts_with("Talos") {
                ""
            } else {
                " (not a Talos image)"
            };
            (
                CheckState::Ok,
                format!(
                    "{name}: {}{talos}, kubelet {}, Ready={ready}",
                    i.os_image, i.kubelet_version
                ),
            )
        }
        None => (
            CheckState::Pending,
            format!("{name} registered; its kubelet has not reported the OS image yet"),
        ),
    }
}

fn kubernetes_api(ctx: &Ctx<'_, '_>) -> Facts {
    let api = &ctx.inputs.snapshot.api;
    match (ctx.inputs.source.mode, api.last_sync) {
        (SourceMode::Live, Some(at)) => (
            CheckState::Ok,
            format!("answering; last complete list at {at}"),
        ),
        (SourceMode::Live, None) => (
            CheckState::Pending,
            "the first list of every kind is not complete yet".into(),
        ),
        (SourceMode::Scenario, _) => (
            CheckState::Ok,
            format!(
                "objects read from {}, not from a live API",
                ctx.inputs.source.name.as_deref().unwrap_or("a dump")
            ),
        ),
    }
}

fn dns_outbound(ctx: &Ctx<'_, '_>) -> Facts {
    let probes = ctx.inputs.probes;
    match probes.hosts("dns:").len() + probes.hosts("https:").len() {
        0 => (
            CheckState::NotApplicable,
            "no DNS or HTTPS probe configured; no resolver failure seen".into(),
        ),
        n => (CheckState::Ok, format!("{n} probes pass")),
    }
}

fn storage_smoke(ctx: &Ctx<'_, '_>) -> Facts {
    let storage_class = ctx
        .index
        .components
        .iter()
        .find_map(|v| v.component.storage_class.clone())
        .unwrap_or_else(|| "local-path".into());
    match ctx.inputs.probes.storage_smoke() {
        Some(Ok(())) => (CheckState::Ok, "probe passed: a test claim bound".into()),
        // A failed probe is a blocker (platform rules) and fails this check through it.
        Some(Err(Failure(e))) => (CheckState::Pending, e),
        None => {
            let bound = ctx.inputs.snapshot.pvcs.values().find(|p| {
                p.spec
                    .as_ref()
                    .and_then(|s| s.storage_class_name.as_deref())
                    == Some(storage_class.as_str())
                    && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound")
            });
            match bound {
                Some(p) => (
                    CheckState::Ok,
                    format!(
                        "inferred from bound claims ({} is bound); no smoke probe configured",
                        p.metadata.name.as_deref().unwrap_or("a claim")
                    ),
                ),
                None => (
                    CheckState::Pending,
                    format!("no smoke probe configured; inferred from bound claims: waiting for a {storage_class} claim to bind"),
                ),
            }
        }
    }
}

/// Live: the service's own collector is current. From a dump or scenario: the appliance-status
/// Deployment that was running there.
fn appliance_status(ctx: &Ctx<'_, '_>) -> Facts {
    let api = &ctx.inputs.snapshot.api;
    match ctx.inputs.source.mode {
        SourceMode::Live => match api.last_sync {
            None => (
                CheckState::Pending,
                "the collector has not completed its first list yet".into(),
            ),
            Some(at) => {
                let age = ctx.now.duration_since(at);
                let fresh = age <= COLLECTOR_STALE_AFTER || api.unreachable_since.is_some();
                (
                    ok_if(fresh),
                    format!(
                        "collector current ({} since the last complete sync); this document is fresh",
                        app::format::duration(age.as_secs().max(0) as u64)
                    ),
                )
            }
        },
        SourceMode::Scenario => match ctx.index.view("appliance-status") {
            Some(v) => component_facts(ctx.index, v),
            None => (
                CheckState::NotApplicable,
                "appliance-status is not in the catalog".into(),
            ),
        },
    }
}

// ------------------------------------------------------------------------------------------------
// CORE_READY
// ------------------------------------------------------------------------------------------------

/// The tiers whose pods and claims are login-critical.
const LOGIN_CRITICAL: [Tier; 3] = [Tier::Core, Tier::Bootstrap, Tier::Login];
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

fn core_checks<'d>(index: &'d Index<'_>) -> Vec<CheckDef<'d>> {
    let pgbouncer_check = match index.view("pgbouncer") {
        Some(v) if v.component.required_when_present && !v.present() => CheckDef::new(
            "core.pgbouncer",
            "PgBouncer ready (when the app runtime uses it)",
            of_component("pgbouncer", Tier::Core),
            |_| {
                (
                    CheckState::NotApplicable,
                    "not installed: the web app connects to Postgres directly".into(),
                )
            },
        ),
        _ => component(
            index,
            "pgbouncer",
            "core.pgbouncer",
            "PgBouncer ready (when the app runtime uses it)",
        ),
    };
    vec![
        flux_apply(Tier::Core, "core.flux", "alga-core"),
        component(index, "db", "core.postgres", "Postgres ready"),
        component(index, "redis", "core.redis", "Redis ready"),
        pgbouncer_check,
        CheckDef::new(
            "core.credentials",
            "DB and Redis credentials exist",
            |f| LOGIN_CRITICAL.contains(&f.tier) && f.layer == Layer::Config && f.slug.starts_with("secret"),
            credentials,
        ),
        CheckDef::new(
            "core.pvcs",
            "Required PVCs bound",
            |f| LOGIN_CRITICAL.contains(&f.tier) && f.layer == Layer::Storage && f.slug.starts_with("pvc-"),
            pvcs,
        ),
        CheckDef::new(
            "core.no-failing-pods",
            "No login-critical pod in CreateContainerConfigError, ImagePullBackOff or CrashLoopBackOff",
            |f| LOGIN_CRITICAL.contains(&f.tier) && POD_LAYERS.contains(&f.layer) && f.component != "bootstrap",
            |_| (CheckState::Ok, "none failing".into()),
        ),
    ]
}

fn core_views<'a, 'i>(ctx: &'a Ctx<'_, 'i>) -> impl Iterator<Item = &'a ComponentView<'i>> {
    ctx.index
        .components
        .iter()
        .filter(|v| v.component.tier == Tier::Core)
}

fn credentials(ctx: &Ctx<'_, '_>) -> Facts {
    let secrets: Vec<(&str, &str)> = core_views(ctx)
        .flat_map(|v| {
            v.component
                .secrets
                .iter()
                .map(move |s| (v.namespace, s.as_str()))
        })
        .collect();
    let listed = !secrets.is_empty()
        && secrets.iter().all(|(ns, s)| {
            ctx.inputs
                .snapshot
                .secret_names
                .contains_key(&(ns.to_string(), s.to_string()))
        });
    let started = core_views(ctx)
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
    if listed {
        (CheckState::Ok, "Secrets present".into())
    } else if started {
        (
            CheckState::Ok,
            "inferred: Postgres and Redis started with their credentials".into(),
        )
    } else {
        (
            CheckState::Pending,
            "waiting for Postgres and Redis to start".into(),
        )
    }
}

fn pvcs(ctx: &Ctx<'_, '_>) -> Facts {
    let required: Vec<(&str, bool)> = ctx
        .index
        .components
        .iter()
        .filter(|v| LOGIN_CRITICAL.contains(&v.component.tier))
        .flat_map(|v| v.pvcs.iter())
        .map(|(n, p)| {
            (
                *n,
                p.and_then(|p| p.status.as_ref()?.phase.as_deref()) == Some("Bound"),
            )
        })
        .collect();
    let unbound: Vec<&str> = required
        .iter()
        .filter(|(_, b)| !b)
        .map(|(n, _)| *n)
        .collect();
    if unbound.is_empty() {
        (CheckState::Ok, format!("{} bound", required.len()))
    } else {
        (
            CheckState::Pending,
            format!("not bound yet: {}", unbound.join(", ")),
        )
    }
}

// ------------------------------------------------------------------------------------------------
// BOOTSTRAP_READY
// ------------------------------------------------------------------------------------------------

fn bootstrap_checks<'d>(index: &'d Index<'_>) -> Vec<CheckDef<'d>> {
    let job = index
        .bootstrap_view()
        .map(|v| v.component.name.as_str())
        .unwrap_or("bootstrap-job");
    vec![
        CheckDef::new(
            "bootstrap.job-completed",
            "Bootstrap job completed",
            of_component(job, Tier::Bootstrap),
            job_completed,
        ),
        CheckDef::new(
            "bootstrap.database",
            "Database exists",
            |f| f.component == "bootstrap" && f.slug == "database-missing",
            |ctx| match ctx.inputs.probes.seed_users() {
                Some(Ok(_)) => (CheckState::Ok, "the seed query ran".into()),
                // a past bootstrap does not prove the database is there now
                None if ctx.index.bootstrap_done().is_some()
                    && ctx.index.database_ready() == Some(false) =>
                {
                    (
                        CheckState::Pending,
                        "the database is not running: it cannot be checked now".into(),
                    )
                }
                _ => inferred_from_bootstrap(ctx, "waiting for the bootstrap"),
            },
        ),
        CheckDef::new(
            "bootstrap.migrations",
            "Migrations completed",
            move |f| f.component == job && matches!(f.layer, Layer::Job | Layer::Log),
            |ctx| inferred_from_bootstrap(ctx, "waiting for the bootstrap job"),
        ),
        CheckDef::new(
            "bootstrap.seed-data",
            "Seed data exists (server.users count > 0)",
            |f| f.component == "bootstrap" && f.layer == Layer::Probe,
            |ctx| match ctx.inputs.probes.seed_users() {
                Some(Ok(n)) if n > 0 => (CheckState::Ok, format!("{n} users")),
                Some(Ok(n)) => (
                    CheckState::Pending,
                    format!("{n} users; waiting for the bootstrap"),
                ),
                Some(Err(e)) => (
                    CheckState::Pending,
                    format!("{e}; waiting for the bootstrap"),
                ),
                None => inferred_from_bootstrap(ctx, "waiting for the bootstrap"),
            },
        ),
        CheckDef::new(
            "bootstrap.mode",
            "Bootstrap mode no longer `fresh` after the first success",
            |f| f.component == "bootstrap" && f.slug == "mode-fresh",
            |ctx| match ctx.index.bootstrap_mode() {
                None => (
                    CheckState::NotApplicable,
                    "bootstrap values not found".into(),
                ),
                Some((_, m)) if m == "fresh" => (
                    CheckState::Pending,
                    "bootstrap.mode: fresh (expected until the first bootstrap succeeds)".into(),
                ),
                Some((_, m)) => (CheckState::Ok, format!("bootstrap.mode: {m}")),
            },
        ),
    ]
}

fn job_completed(ctx: &Ctx<'_, '_>) -> Facts {
    if let Some(why) = ctx.index.bootstrap_voided() {
        return (CheckState::Pending, why);
    }
    match ctx.index.bootstrap_done() {
        Some(Some(at)) => (CheckState::Ok, format!("completed at {at}")),
        Some(None) => (
            CheckState::Ok,
            "inferred: the web app passed its wait-for-bootstrap step".into(),
        ),
        None if ctx
            .index
            .bootstrap_view()
            .is_some_and(|v| !v.jobs.is_empty()) =>
        {
            (CheckState::Pending, "running".into())
        }
        None => (CheckState::Pending, "not started yet".into()),
    }
}

fn inferred_from_bootstrap(ctx: &Ctx<'_, '_>, waiting: &str) -> Facts {
    match ctx.index.bootstrap_done() {
        Some(_) => (
            CheckState::Ok,
            "inferred from the completed bootstrap".into(),
        ),
        None => (CheckState::Pending, waiting.into()),
    }
}

// ------------------------------------------------------------------------------------------------
// LOGIN_READY
// ------------------------------------------------------------------------------------------------

fn login_tier(
    ctx: &Ctx<'_, '_>,
    platform: &TierStatus,
    core: &TierStatus,
    bootstrap: &TierStatus,
) -> TierStatus {
    let index = ctx.index;
    let mut own: Vec<Check> = vec![
        dependency("login.core", Tier::Core, core),
        dependency("login.bootstrap", Tier::Bootstrap, bootstrap),
    ];
    for v in index
        .components
        .iter()
        .filter(|v| v.component.tier == Tier::Login)
    {
        own.push(
            component(
                index,
                &v.component.name,
                format!("login.{}", v.component.name),
                format!("{} deployment ready", v.component.display_name()),
            )
            .run(ctx),
        );
    }
    for (name, description) in [
        ("login.url-responds", "App URL responds"),
        ("login.redirect", "Dashboard/login redirect works"),
    ] {
        own.push(
            CheckDef::new(
                name,
                description,
                |f| f.component == "login-url",
                login_probe,
            )
            .run(ctx),
        );
    }
    own.push(Check {
        name: "login.url-known".into(),
        description: "Public login URL known".into(),
        state: ok_if(index.login_url.is_some()),
        detail: Some(
            index
                .login_url
                .clone()
                .unwrap_or_else(|| "node address not known yet".into()),
        ),
        blockers: Vec::new(),
    });
    // The platform is required on the way to login; once Alga is up, a platform problem no
    // longer keeps anyone from logging in.
    let up = own
        .iter()
        .all(|c| matches!(c.state, CheckState::Ok | CheckState::NotApplicable));
    let mut platform_check = dependency("login.platform", Tier::Platform, platform);
    platform_check.description = "PLATFORM_READY (until Alga is up)".into();
    if up && platform_check.state != CheckState::Ok {
        platform_check = Check {
            state: CheckState::Ok,
            detail: Some(
                format!(
                    "platform {:?}, but Alga is up: platform issues do not block login",
                    platform.status
                )
                .to_lowercase(),
            ),
            blockers: Vec::new(),
            ..platform_check
        };
    }
    let mut checks = vec![platform_check];
    checks.extend(own);
    tier_status(Tier::Login, checks)
}

/// Without a probe, inferred from the ready web pods, and saying so.
fn login_probe(ctx: &Ctx<'_, '_>) -> Facts {
    let web = ctx.index.login_up();
    match ctx.inputs.probes.login_url() {
        Some(p) if p.works() => (CheckState::Ok, p.describe()),
        // Not working while the web app is ready is a blocker (release rules).
        Some(p) => (
            CheckState::Pending,
            format!("{}; waiting for the web app", p.describe()),
        ),
        None if web => (
            CheckState::Ok,
            "not probed; inferred from ready web pods".into(),
        ),
        None => (CheckState::Pending, "waiting for the web app".into()),
    }
}

// ------------------------------------------------------------------------------------------------
// BACKGROUND_READY
// ------------------------------------------------------------------------------------------------

fn background_checks<'d>(index: &'d Index<'_>) -> Vec<CheckDef<'d>> {
    let mut checks = vec![flux_apply(
        Tier::Background,
        "background.flux",
        "alga-background",
    )];
    for v in index
        .components
        .iter()
        .filter(|v| v.component.tier == Tier::Background)
    {
        checks.push(component(
            index,
            &v.component.name,
            format!("background.{}", v.component.name),
            format!("{} healthy", v.component.display_name()),
        ));
    }
    checks
}

// ------------------------------------------------------------------------------------------------
// FULLY_HEALTHY
// ------------------------------------------------------------------------------------------------

fn full_checks() -> Vec<CheckDef<'static>> {
    vec![
        CheckDef::new(
            "full.flux",
            "All selected HelmReleases and Kustomizations ready",
            |f| f.tier == Tier::FullHealth && matches!(f.layer, Layer::Flux | Layer::Helm),
            |ctx| {
                let objects: Vec<_> = ctx
                    .index
                    .graph
                    .nodes
                    .values()
                    .filter(|n| {
                        matches!(
                            n.object.kind,
                            FluxKind::HelmRelease | FluxKind::Kustomization
                        )
                    })
                    .collect();
                let unready: Vec<&str> = objects
                    .iter()
                    .filter(|n| !n.state.is_ready())
                    .map(|n| n.key.as_str())
                    .collect();
                if objects.is_empty() {
                    (
                        CheckState::Pending,
                        "no HelmRelease or Kustomization seen yet".into(),
                    )
                } else if unready.is_empty() {
                    (CheckState::Ok, format!("{} ready", objects.len()))
                } else {
                    (
                        CheckState::Pending,
                        format!("not ready: {}", unready.join(", ")),
                    )
                }
            },
        ),
        CheckDef::new(
            "full.no-open-blockers",
            "No open blockers or warnings",
            |_| true,
            |ctx| match ctx.warnings.first() {
                None => (CheckState::Ok, "none".into()),
                Some(w) => (
                    CheckState::Pending,
                    format!(
                        "{} warning(s), e.g. {}",
                        ctx.warnings.len(),
                        w.finding.reason
                    ),
                ),
            },
        ),
        CheckDef::new(
            "full.image-tags",
            "No missing image tags",
            |f| f.slug == "tag-missing",
            |_| (CheckState::Ok, "no pull reports a missing tag".into()),
        ),
        CheckDef::new(
            "full.image-drift",
            "No image drift",
            |f| f.slug.starts_with("image-drift"),
            |ctx| {
                let workloads: usize = ctx
                    .index
                    .components
                    .iter()
                    .map(|v| v.deployments.len() + v.stateful_sets.len() + v.daemon_sets.len())
                    .sum();
                (
                    CheckState::Ok,
                    format!("each of {workloads} workloads runs its own template's images"),
                )
            },
        ),
    ]
}

/// This rule through the whole assessment, on objects as the cluster writes them.
#[cfg(test)]
mod assessed {
    use crate::assess::testkit::*;

    /// AC4 and the TTL rule: a deleted completed bootstrap Job keeps BOOTSTRAP_READY.
    #[test]
    fn bootstrap_stays_ready_after_the_job_is_garbage_collected() {
        let mut r = replay_to(mins(44));
        assert!(r.snapshot.jobs.is_empty(), "the scenario deleted the Job");
        let start = r.scenario.start;
        let doc = assess_twice(
            &mut r.snapshot,
            &r.probes,
            start + mins(44),
            start + mins(46),
        );
        assert!(doc.tiers.bootstrap.ready, "{:#?}", doc.tiers.bootstrap);
        // Even without the remembered completion (a restarted service), the ready web app proves it.
        r.snapshot.memory.completed_jobs.clear();
        let doc = assess_twice(
            &mut r.snapshot,
            &r.probes,
            start + mins(46),
            start + mins(47),
        );
        assert!(doc.tiers.bootstrap.ready, "{:#?}", doc.tiers.bootstrap);
    }

    /// The check's state and detail.
    fn check<'d>(doc: &'d StatusDocument, name: &str) -> (CheckState, &'d str) {
        let c = Tier::ALL
            .iter()
            .flat_map(|t| doc.tiers.get(*t).checks.iter())
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no check {name}"));
        (c.state, c.detail.as_deref().unwrap_or_default())
    }

    /// BOOTSTRAP_READY is re-proven when the ground changes under a remembered success: a newer
    /// bootstrap Job that failed or still runs, a database volume created after the success, a
    /// database that is down.
    #[test]
    fn a_remembered_bootstrap_is_not_inherited_when_the_ground_changes() {
        let r = replay_to(mins(44));
        let start = r.scenario.start;
        let at = |m: i64| (start + mins(m)).to_string();
        let assessed = |r: &mut Replay, m: i64| {
            assess_twice(
                &mut r.snapshot,
                &r.probes,
                start + mins(m),
                start + mins(m) + SignedDuration::from_secs(31),
            )
        };
        let ready = assessed(&mut r.clone(), 50);
        assert!(ready.tiers.bootstrap.ready, "{:#?}", ready.tiers.bootstrap);

        // a database reset: the data volume re-created after the bootstrap, while the service
        // watched (it remembered the volume the bootstrap seeded)
        let mut reset = r.clone();
        assert!(assessed(&mut reset, 46).tiers.bootstrap.ready);
        assert!(reset.snapshot.memory.bootstrap_volume.is_some());
        let pvc = reset
            .snapshot
            .pvcs
            .values_mut()
            .find(|p| p.metadata.name.as_deref() == Some("alga-core-sebastian-postgres-data"))
            .expect("the database volume");
        pvc.metadata.creation_timestamp = Some(
            k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(start + mins(48)),
        );
        let doc = assessed(&mut reset, 50);
        assert!(!doc.tiers.bootstrap.ready, "{:#?}", doc.tiers.bootstrap);
        let (state, detail) = check(&doc, "bootstrap.job-completed");
        assert_eq!(state, CheckState::Pending);
        assert!(
            detail.contains("not the one the last successful bootstrap seeded"),
            "{detail}"
        );

        // a newer bootstrap Job that failed
        let mut rerun = r.clone();
        apply_yaml(
            &mut rerun.snapshot,
            &format!(
                r#"
apiVersion: batch/v1
kind: Job
metadata: {{name: alga-core-sebastian-bootstrap-r2, namespace: msp, creationTimestamp: "{}"}}
spec: {{backoffLimit: 0, template: {{spec: {{restartPolicy: Never, containers: [{{name: bootstrap, image: "ghcr.io/nine-minds/alga-psa-ee:1.0-rc5"}}]}}}}}}
status:
  failed: 1
  startTime: "{}"
  conditions: [{{type: Failed, status: "True", reason: BackoffLimitExceeded, message: Job has reached the specified backoff limit, lastTransitionTime: "{}"}}]
"#,
                at(47),
                at(47),
                at(49)
            ),
        );
        let doc = assessed(&mut rerun, 50);
        assert!(!doc.tiers.bootstrap.ready, "{:#?}", doc.tiers.bootstrap);
        let (state, detail) = check(&doc, "bootstrap.job-completed");
        assert_ne!(state, CheckState::Ok, "{detail}");

        // the database down, no seed query: a past bootstrap does not prove it is there
        let mut down = r.clone();
        for p in down.snapshot.pods.values_mut().filter(|p| {
            p.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("app"))
                .map(String::as_str)
                == Some("db")
        }) {
            if let Some(cs) = p.status.as_mut().and_then(|s| s.conditions.as_mut()) {
                for c in cs.iter_mut().filter(|c| c.type_ == "Ready") {
                    c.status = "False".into();
                }
            }
        }
        down.probes = Probes::default();
        let doc = assessed(&mut down, 50);
        let (state, detail) = check(&doc, "bootstrap.database");
        assert_eq!(state, CheckState::Pending, "{detail}");
        assert!(detail.contains("database is not running"), "{detail}");
        assert!(!doc.tiers.bootstrap.ready);
    }

    #[test]
    fn diagnostics_carry_flux_conditions_and_the_bootstrap_summary() {
        let mut r = replay_to(mins(36));
        let start = r.scenario.start;
        let doc = assess_twice(
            &mut r.snapshot,
            &r.probes,
            start + mins(36),
            start + mins(37),
        );
        let b = doc.bootstrap.clone().unwrap();
        assert_eq!(
            (b.state.as_str(), b.job.as_deref()),
            ("running", Some("alga-core-sebastian-bootstrap-r1"))
        );
        assert!(
            b.log_excerpt
                .iter()
                .any(|l| l.contains("running migrations")),
            "{b:?}"
        );
        let hr = doc
            .flux
            .iter()
            .find(|f| f.kind == "HelmRelease" && f.name == "alga-core")
            .unwrap();
        assert_eq!((hr.ready, hr.reason.as_str()), (None, "Progressing"));

        let mut r = replay_to(mins(44));
        let doc = assess_twice(
            &mut r.snapshot,
            &r.probes,
            start + mins(44),
            start + mins(45),
        );
        let b = doc.bootstrap.unwrap();
        assert_eq!(
            (b.state.as_str(), b.job),
            ("completed", None),
            "the Job is gone; the completion is remembered"
        );
        assert!(b.completed_at.is_some());
        let hr = doc
            .flux
            .iter()
            .find(|f| f.kind == "HelmRelease" && f.name == "alga-core")
            .unwrap();
        assert_eq!(hr.ready, Some(true));
        let source = doc.flux.iter().find(|f| f.kind == "GitRepository").unwrap();
        assert!(source
            .revision
            .as_deref()
            .unwrap()
            .starts_with("release/1.0-rc5"));
    }
}
