//! Platform rules (signals §4 nodes, §7): the API, nodes, DNS and outbound probes, storage smoke.

use super::dns::dns_failure;
use super::index::Index;
use super::{evidence, Finding, Inputs, Progress};
use crate::probes::Failure;
use app::status::{Layer, SourceMode, Tier};
use jiff::{SignedDuration, Timestamp};

const PRESSURES: [&str; 4] = [
    "MemoryPressure",
    "DiskPressure",
    "PIDPressure",
    "NetworkUnavailable",
];

fn platform(
    component: &str,
    layer: Layer,
    progress: Progress,
    slug: &str,
    reason: String,
    next: &str,
) -> Finding {
    Finding::new(
        component,
        Tier::Platform,
        layer,
        progress,
        slug,
        "",
        reason,
        next,
    )
}

/// How long the live collector may go without a complete, current view before the service
/// calls itself unhealthy (its API check runs every 3 s).
pub const COLLECTOR_STALE_AFTER: SignedDuration = SignedDuration::from_secs(60);

/// Platform findings.
pub fn findings(inputs: &Inputs<'_>, index: &Index<'_>, now: Timestamp, out: &mut Vec<Finding>) {
    let snap = inputs.snapshot;
    // The service's own health: a live collector that stopped syncing while the API answers.
    if inputs.source.mode == SourceMode::Live && snap.api.unreachable_since.is_none() {
        if let Some(last) = snap.api.last_sync {
            if now.duration_since(last) > COLLECTOR_STALE_AFTER {
                out.push(
                    platform("appliance-status", Layer::Api, Progress::Failed, "collector-stale",
                        format!("appliance-status has not had a current view of the cluster since {last}"),
                        "Restart the appliance-status pod (`kubectl -n appliance-system rollout restart deployment appliance-status`); if it persists, read its log.")
                        .seen_at(Some(last))
                        .with(evidence("api", None, "collector", None, &format!("last complete sync {last}"), Some(last))),
                );
            }
        }
    }
    if let Some(since) = snap.api.unreachable_since {
        let err = snap.api.last_error.clone().unwrap_or_default();
        out.push(
            platform("kubernetes-api", Layer::Api, Progress::Failed, "unreachable",
                format!("Kubernetes API unreachable since {since}"),
                "Check that the node is running and the API server is up (Talos: `talosctl health`); the status shows the last known state meanwhile.")
                .seen_at(Some(since))
                .with(evidence("api", None, "kube-apiserver", None, &err, Some(since))),
        );
    }

    if !snap.api.forbidden.is_empty() {
        let kinds: Vec<&str> = snap.api.forbidden.keys().map(String::as_str).collect();
        let mut f = platform("appliance-status", Layer::Api, Progress::Failed, "forbidden",
            format!("appliance-status is not allowed to read {}: its view of the appliance is incomplete", kinds.join(", ")),
            "Reinstall the appliance-status chart so its read-only ClusterRole and Roles match this version.");
        for (kind, message) in &snap.api.forbidden {
            f = f.with(evidence(
                "api",
                None,
                kind,
                Some("Forbidden"),
                message,
                None,
            ));
        }
        out.push(f);
    }

    for n in snap.nodes.values() {
        let name = n.metadata.name.as_deref().unwrap_or("");
        let conds = n
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_deref())
            .unwrap_or(&[]);
        for c in conds {
            let bad = (c.type_ == "Ready" && c.status != "True")
                || (PRESSURES.contains(&c.type_.as_str()) && c.status == "True");
            if !bad {
                continue;
            }
            let msg = c.message.clone().unwrap_or_default();
            let reason = if c.type_ == "Ready" {
                format!(
                    "Node {name} is not ready ({}: {msg})",
                    c.reason.as_deref().unwrap_or(&c.status)
                )
            } else {
                format!("Node {name} reports {}: {msg}", c.type_)
            };
            out.push(
                platform("node", Layer::Node, Progress::Failed, &format!("{}-{}", name, c.type_.to_ascii_lowercase()), reason,
                    "Check the node's console (Talos dashboard) for kubelet, disk and memory problems.")
                    .seen_at(c.last_transition_time.as_ref().map(|t| t.0))
                    .with(evidence("Node", None, name, Some(&c.type_), &msg, None)),
            );
        }
        if n.spec
            .as_ref()
            .and_then(|s| s.unschedulable)
            .unwrap_or(false)
        {
            out.push(
                platform(
                    "node",
                    Layer::Node,
                    Progress::Failed,
                    &format!("{name}-cordoned"),
                    format!("Node {name} is cordoned (unschedulable)"),
                    "Uncordon the node (`kubectl uncordon`) once maintenance is done.",
                )
                .with(evidence(
                    "Node",
                    None,
                    name,
                    Some("Unschedulable"),
                    "spec.unschedulable: true",
                    None,
                )),
            );
        }
    }

    for (host, outcome) in inputs.probes.hosts("dns:") {
        if let Err(Failure(e)) = outcome {
            let failure = dns_failure(&e);
            let what = failure
                .as_ref()
                .map(|d| d.describe())
                .unwrap_or_else(|| format!("lookup {host} failed: {e}"));
            let slug = failure
                .as_ref()
                .and_then(|d| d.resolver_slug())
                .unwrap_or_else(|| format!("probe-{host}"));
            out.push(
                platform("dns", Layer::Dns, Progress::Failed, &slug,
                    format!("DNS resolver failure: {what}"),
                    "Configure explicit DNS servers for the appliance (bootstrap --dns-servers) and retry.")
                    .with(evidence("probe", None, &format!("dns:{host}"), None, &e, None)),
            );
        }
    }
    for (host, outcome) in inputs.probes.hosts("https:") {
        if let Err(Failure(e)) = outcome {
            out.push(
                platform(
                    "network",
                    Layer::Network,
                    Progress::Failed,
                    &format!("https-{host}"),
                    format!("Outbound HTTPS to {host} fails: {e}"),
                    "Allow outbound HTTPS (port 443) from the appliance, or configure the proxy.",
                )
                .with(evidence(
                    "probe",
                    None,
                    &format!("https:{host}"),
                    None,
                    &e,
                    None,
                )),
            );
        }
    }
    if let Some(Err(Failure(e))) = inputs.probes.storage_smoke() {
        out.push(
            platform(
                "local-path-provisioner",
                Layer::Storage,
                Progress::Failed,
                "smoke",
                format!("Storage smoke test failed: {e}"),
                "Check the local-path provisioner pod and the node's disk.",
            )
            .with(evidence("probe", None, "storage-smoke", None, &e, None)),
        );
    }

    // Resolver failures reported by anything else (Talos, kubelet, controllers) in warning events.
    for e in &index.dns_warnings {
        let msg = &*e.message;
        let Some(d) = dns_failure(msg) else { continue };
        let o = &e.object;
        let object = format!("{}/{}", o.kind, o.name);
        out.push(
            platform(
                "dns",
                Layer::Dns,
                Progress::Failed,
                &d.resolver_slug()
                    .unwrap_or_else(|| format!("lookup-{}", d.host)),
                format!("DNS resolver failure: {}", d.describe()),
                "Configure explicit DNS servers for the appliance and retry.",
            )
            .seen_at(e.first_time())
            .with(evidence(
                "Event",
                o.namespace(),
                &object,
                e.reason(),
                msg,
                e.last_time(),
            )),
        );
    }
}

/// This rule through the whole assessment, on objects as the cluster writes them.
#[cfg(test)]
mod assessed {
    use crate::assess::testkit::*;

    #[test]
    fn node_not_ready_and_api_unreachable_are_platform_blockers() {
        let mut r = replay_to(mins(55));
        apply_yaml(
            &mut r.snapshot,
            r#"
apiVersion: v1
kind: Node
metadata: {name: appliance-single-node}
status:
  addresses: [{type: InternalIP, address: 192.168.64.8}]
  conditions:
  - {type: Ready, status: "False", reason: KubeletNotReady, message: "container runtime network not ready", lastTransitionTime: "2026-04-30T01:58:00Z"}
  - {type: DiskPressure, status: "True", reason: KubeletHasDiskPressure, message: "kubelet has disk pressure", lastTransitionTime: "2026-04-30T01:58:00Z"}
"#,
        );
        let start = r.scenario.start;
        let doc = assess_twice(
            &mut r.snapshot,
            &r.probes,
            start + mins(58),
            start + mins(60),
        );
        // Login was reached and the web pods still run: a platform problem is not "failed".
        assert_ne!(doc.rollup.state, RollupState::FailedActionRequired);
        let node = doc
            .top_blockers
            .iter()
            .find(|b| b.component == "node")
            .unwrap();
        assert_eq!((node.layer, node.login_blocking), (Layer::Node, false));
        assert!(!doc.tiers.platform.ready);

        r.snapshot.api.unreachable_since = Some(start + mins(59));
        r.snapshot.api.last_error = Some("connection refused".into());
        let doc = assess_twice(
            &mut r.snapshot,
            &r.probes,
            start + mins(60),
            start + mins(62),
        );
        assert!(doc.source.stale);
        assert!(doc
            .source
            .message
            .as_deref()
            .unwrap()
            .contains("unreachable since"));
        let api = doc
            .top_blockers
            .iter()
            .find(|b| b.layer == Layer::Api)
            .unwrap();
        assert!(
            api.reason
                .starts_with("Kubernetes API unreachable since 2026-04-30T01:59:00Z"),
            "{}",
            api.reason
        );
    }

    #[test]
    fn dns_resolver_refusing_is_the_first_blocker() {
        let mut r = replay_to(SignedDuration::ZERO);
        let start = r.scenario.start;
        let doc = assess_twice(&mut r.snapshot, &r.probes, start, start + mins(1));
        let t = top(&doc);
        assert_eq!(
            (t.layer, t.login_blocking, t.severity),
            (Layer::Dns, true, Severity::Critical)
        );
        assert!(
            t.reason
                .contains("lookup ghcr.io on 192.168.64.1:53 failed: connection refused"),
            "{}",
            t.reason
        );
        assert!(t.next_action.contains("explicit DNS servers"));
        // One resolver, one blocker: Flux's failed clone is evidence of the same cause.
        let dns: Vec<_> = doc
            .top_blockers
            .iter()
            .filter(|b| b.layer == Layer::Dns)
            .collect();
        assert_eq!(dns.len(), 1, "{dns:#?}");
        assert!(
            t.evidence
                .iter()
                .any(|e| e.kind == "GitRepository" && e.message.contains("lookup github.com")),
            "{:#?}",
            t.evidence
        );
        assert!(!doc.tiers.platform.ready);
        assert!(
            !doc.top_blockers
                .iter()
                .any(|b| b.component == "flux-kustomizations"),
            "a Kustomization waiting for its source is not a blocker"
        );
    }
}
