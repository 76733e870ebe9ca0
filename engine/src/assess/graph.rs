//! The Flux graph: root Kustomization → tier Kustomizations → HelmReleases → catalog components.
//!
//! Built once per assessment from labels and specs the controllers write: the Kustomization that
//! applied an object (`kustomize.toolkit.fluxcd.io/name|namespace`), the HelmRelease that
//! installed one (`helm.toolkit.fluxcd.io/name|namespace`, Helm's `meta.helm.sh/release-name|
//! namespace` with the release's `releaseName`/`targetNamespace`), `dependsOn`, and the catalog's
//! `helmRelease`. The rules, the linker and the tiers read it; it reads nothing of theirs.

use super::facts::{flux_state, FluxState};
use crate::catalog::{Catalog, ComponentKind};
use crate::snapshot::{FluxKind, FluxObject, Snapshot};
use app::status::Tier;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::{BTreeMap, BTreeSet};

/// `Kind/namespace/name` of a Flux object.
pub fn flux_key(kind: FluxKind, namespace: &str, name: &str) -> String {
    format!("{}/{namespace}/{name}", kind.as_str())
}

/// One Flux object in the graph.
pub struct FluxNode<'a> {
    pub object: &'a FluxObject,
    pub key: String,
    pub state: FluxState<'a>,
    /// The Kustomization that applied it.
    pub parent: Option<String>,
    /// Kustomizations named in `dependsOn`.
    pub depends_on: Vec<String>,
    /// The tier whose readiness this object serves.
    pub tier: Tier,
    /// HelmReleases: the catalog components it installs.
    pub components: BTreeSet<&'a str>,
}

/// Every Flux object with its place in the graph.
pub struct FluxGraph<'a> {
    pub nodes: BTreeMap<String, FluxNode<'a>>,
}

/// What the graph needs to know of a catalog component: its name, tier, and the metadata of
/// its workloads and pods (for the labels and annotations Helm and Flux write).
pub struct ComponentObjects<'a> {
    pub name: &'a str,
    pub tier: Tier,
    pub helm_release: Option<&'a str>,
    pub metas: Vec<&'a ObjectMeta>,
}

fn label<'m>(meta: &'m ObjectMeta, key: &str) -> Option<&'m str> {
    meta.labels.as_ref()?.get(key).map(String::as_str)
}

fn annotation<'m>(meta: &'m ObjectMeta, key: &str) -> Option<&'m str> {
    meta.annotations.as_ref()?.get(key).map(String::as_str)
}

/// The Helm release name helm-controller uses (`GetReleaseName` in helm-controller's
/// `api/v2/helmrelease_types.go`): `releaseName`, else `<targetNamespace>-<name>`, else the name.
pub fn release_name(hr: &FluxObject) -> String {
    match (&hr.release_name, &hr.target_namespace) {
        (Some(r), _) if !r.is_empty() => r.clone(),
        (_, Some(t)) if !t.is_empty() => format!("{t}-{}", hr.name),
        _ => hr.name.clone(),
    }
}

/// The namespace Helm installs into: `targetNamespace`, else the HelmRelease's own.
pub fn release_namespace(hr: &FluxObject) -> &str {
    hr.target_namespace
        .as_deref()
        .filter(|t| !t.is_empty())
        .unwrap_or(&hr.namespace)
}

impl<'a> FluxGraph<'a> {
    /// Links every Flux object of the snapshot.
    pub fn build(
        snapshot: &'a Snapshot,
        catalog: &'a Catalog,
        components: &[ComponentObjects<'a>],
    ) -> FluxGraph<'a> {
        let site = &catalog.site;
        // Tier Kustomizations as the catalog names them.
        let catalog_tiers: BTreeMap<String, Tier> = catalog
            .components
            .iter()
            .filter(|c| c.kind == ComponentKind::Kustomization)
            .flat_map(|c| {
                let ns = c.namespace(site).to_string();
                c.workloads.iter().map(move |w| {
                    (
                        flux_key(FluxKind::Kustomization, &ns, &w.name),
                        w.tier.unwrap_or(c.tier),
                    )
                })
            })
            .collect();

        let mut nodes: BTreeMap<String, FluxNode<'a>> = snapshot
            .flux
            .values()
            .map(|f| {
                let key = flux_key(f.kind, &f.namespace, &f.name);
                let parent = f
                    .labels
                    .get("kustomize.toolkit.fluxcd.io/name")
                    .map(|name| {
                        let ns = f
                            .labels
                            .get("kustomize.toolkit.fluxcd.io/namespace")
                            .map(String::as_str)
                            .unwrap_or(&f.namespace);
                        flux_key(FluxKind::Kustomization, ns, name)
                    })
                    .filter(|p| *p != key);
                let dep_kind = match f.kind {
                    FluxKind::HelmRelease => FluxKind::HelmRelease,
                    _ => FluxKind::Kustomization,
                };
                let depends_on = f
                    .depends_on
                    .iter()
                    .map(|d| flux_key(dep_kind, &f.namespace, d))
                    .collect();
                let mut installs = BTreeSet::new();
                if f.kind == FluxKind::HelmRelease {
                    let (rel, rel_ns) = (release_name(f), release_namespace(f));
                    for c in components {
                        let by_catalog = c.helm_release == Some(f.name.as_str())
                            && site.helm_release_namespace == f.namespace;
                        let by_labels = c.metas.iter().any(|m| {
                            (label(m, "helm.toolkit.fluxcd.io/name") == Some(f.name.as_str())
                                && label(m, "helm.toolkit.fluxcd.io/namespace")
                                    == Some(f.namespace.as_str()))
                                || (annotation(m, "meta.helm.sh/release-name")
                                    == Some(rel.as_str())
                                    && annotation(m, "meta.helm.sh/release-namespace")
                                        == Some(rel_ns))
                        });
                        if by_catalog || by_labels {
                            installs.insert(c.name);
                        }
                    }
                }
                let node = FluxNode {
                    object: f,
                    key: key.clone(),
                    state: flux_state(f),
                    parent,
                    depends_on,
                    tier: Tier::Background,
                    components: installs,
                };
                (key, node)
            })
            .collect();

        // Components applied by a Kustomization directly (plain manifests, not a chart).
        for c in components {
            for m in &c.metas {
                let (Some(name), Some(ns)) = (
                    label(m, "kustomize.toolkit.fluxcd.io/name"),
                    label(m, "kustomize.toolkit.fluxcd.io/namespace"),
                ) else {
                    continue;
                };
                if let Some(k) = nodes.get_mut(&flux_key(FluxKind::Kustomization, ns, name)) {
                    k.components.insert(c.name);
                }
            }
        }

        // Tiers: the catalog's for tier Kustomizations; a HelmRelease serves the lowest tier it
        // installs a component of; anything else inherits from what applied it.
        let tiers_of_components: BTreeMap<&str, Tier> =
            components.iter().map(|c| (c.name, c.tier)).collect();
        let keys: Vec<String> = nodes.keys().cloned().collect();
        let mut resolved: BTreeMap<String, Tier> = BTreeMap::new();
        for key in &keys {
            let tier = resolve_tier(key, &nodes, &catalog_tiers, &tiers_of_components, 0);
            resolved.insert(key.clone(), tier);
        }
        for (key, tier) in resolved {
            if let Some(n) = nodes.get_mut(&key) {
                n.tier = tier;
            }
        }
        FluxGraph { nodes }
    }

    /// The node of a key.
    pub fn node(&self, key: &str) -> Option<&FluxNode<'a>> {
        self.nodes.get(key)
    }

    /// Everything applied below `key`, transitively (children Kustomizations and HelmReleases).
    pub fn below(&self, key: &str) -> BTreeSet<&str> {
        let mut out: BTreeSet<&str> = BTreeSet::new();
        let mut frontier = vec![key.to_string()];
        while let Some(k) = frontier.pop() {
            for n in self.nodes.values() {
                if n.parent.as_deref() == Some(k.as_str()) && out.insert(n.key.as_str()) {
                    frontier.push(n.key.clone());
                }
            }
        }
        out.remove(key);
        out
    }

    /// The catalog components installed by `key` or anything below it.
    pub fn components_below(&self, key: &str) -> BTreeSet<&'a str> {
        let mut out: BTreeSet<&'a str> = BTreeSet::new();
        for k in self.below(key).into_iter().chain([key]) {
            if let Some(n) = self.nodes.get(k) {
                out.extend(n.components.iter().copied());
            }
        }
        out
    }
}

fn resolve_tier(
    key: &str,
    nodes: &BTreeMap<String, FluxNode<'_>>,
    catalog_tiers: &BTreeMap<String, Tier>,
    component_tiers: &BTreeMap<&str, Tier>,
    depth: usize,
) -> Tier {
    if let Some(t) = catalog_tiers.get(key) {
        return *t;
    }
    let Some(node) = nodes.get(key) else {
        return Tier::Background;
    };
    if let Some(t) = node
        .components
        .iter()
        .filter_map(|c| component_tiers.get(c))
        .min()
    {
        return *t;
    }
    match &node.parent {
        // Depth bounds a labelling loop (A applied by B applied by A).
        Some(p) if depth < 16 => resolve_tier(p, nodes, catalog_tiers, component_tiers, depth + 1),
        _ => Tier::Background,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::parse_documents;

    fn snapshot(yaml: &str) -> Snapshot {
        let mut s = Snapshot::default();
        for o in parse_documents(yaml, "t").unwrap().objects {
            s.apply(o);
        }
        s
    }

    const LAYOUT: &str = r#"
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: alga-appliance, namespace: flux-system}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: alga-core
  namespace: flux-system
  labels: {kustomize.toolkit.fluxcd.io/name: alga-appliance, kustomize.toolkit.fluxcd.io/namespace: flux-system}
spec: {dependsOn: [{name: alga-platform}]}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: alga-core
  namespace: alga-system
  labels: {kustomize.toolkit.fluxcd.io/name: alga-core, kustomize.toolkit.fluxcd.io/namespace: flux-system}
spec: {releaseName: alga-core, targetNamespace: msp}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: mystery
  namespace: alga-system
  labels: {kustomize.toolkit.fluxcd.io/name: alga-core, kustomize.toolkit.fluxcd.io/namespace: flux-system}
spec: {targetNamespace: msp}
"#;

    #[test]
    fn links_root_tier_release_and_components() {
        let snap = snapshot(LAYOUT);
        let catalog = Catalog::embedded();
        let web_meta = ObjectMeta {
            annotations: Some(
                [
                    (
                        "meta.helm.sh/release-name".to_string(),
                        "msp-mystery".to_string(),
                    ),
                    (
                        "meta.helm.sh/release-namespace".to_string(),
                        "msp".to_string(),
                    ),
                ]
                .into(),
            ),
            ..Default::default()
        };
        let applied = ObjectMeta {
            labels: Some(
                [
                    (
                        "kustomize.toolkit.fluxcd.io/name".to_string(),
                        "alga-core".to_string(),
                    ),
                    (
                        "kustomize.toolkit.fluxcd.io/namespace".to_string(),
                        "flux-system".to_string(),
                    ),
                ]
                .into(),
            ),
            ..Default::default()
        };
        let components = vec![
            ComponentObjects {
                name: "pgbouncer",
                tier: Tier::Core,
                helm_release: None,
                metas: vec![&applied],
            },
            ComponentObjects {
                name: "db",
                tier: Tier::Core,
                helm_release: Some("alga-core"),
                metas: vec![],
            },
            ComponentObjects {
                name: "alga-core",
                tier: Tier::Login,
                helm_release: Some("alga-core"),
                metas: vec![],
            },
            ComponentObjects {
                name: "email-service",
                tier: Tier::Background,
                helm_release: None,
                metas: vec![&web_meta],
            },
        ];
        let g = FluxGraph::build(&snap, &catalog, &components);
        let root = "Kustomization/flux-system/alga-appliance";
        let core = "Kustomization/flux-system/alga-core";
        let hr = "HelmRelease/alga-system/alga-core";
        assert_eq!(g.node(core).unwrap().parent.as_deref(), Some(root));
        assert_eq!(
            g.node(core).unwrap().depends_on,
            vec!["Kustomization/flux-system/alga-platform"]
        );
        assert_eq!(g.node(core).unwrap().tier, Tier::Core, "from the catalog");
        assert_eq!(g.node(hr).unwrap().tier, Tier::Core, "lowest component");
        assert!(g.below(root).contains(hr));
        assert_eq!(
            g.components_below(root).into_iter().collect::<Vec<_>>(),
            vec!["alga-core", "db", "email-service", "pgbouncer"]
        );
        assert!(
            g.node(core).unwrap().components.contains("pgbouncer"),
            "applied by the Kustomization directly"
        );
        // Helm's annotations with helm-controller's default release name `<target>-<name>`.
        let mystery = g.node("HelmRelease/alga-system/mystery").unwrap();
        assert!(mystery.components.contains("email-service"));
        assert_eq!(mystery.tier, Tier::Background);
        assert!(g.node(hr).unwrap().components.contains("db"));
    }
}
