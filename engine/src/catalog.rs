//! The component catalog: which components make up the appliance, where they live, which tier each
//! gates. Data, not code: the real Alga appliance is embedded, a file can replace it.

use crate::{Error, Result};
use app::status::Tier;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The embedded default: the real Alga PSA appliance.
pub const EMBEDDED_CATALOG: &str = include_str!("../catalog/alga-appliance.yaml");

/// The whole catalog.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Catalog {
    pub site: SiteDefaults,
    #[serde(default)]
    pub release: ReleaseSources,
    pub components: Vec<Component>,
}

/// Site-wide names and URLs; `<node-ip>` in a URL is replaced by the node's address.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SiteDefaults {
    pub site_id: String,
    pub status_url: String,
    pub login_url: String,
    pub workload_namespace: String,
    pub helm_release_namespace: String,
    pub flux_namespace: String,
    pub status_namespace: String,
}

/// Where release information is read from.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReleaseSources {
    pub git_repository: Option<ObjectRef>,
    pub selection: Option<ObjectRef>,
    pub bootstrap_values: Option<ObjectRef>,
    /// The images a release manifest names (`app.images.<key>`), by key: where each lives and
    /// which component runs it (its tier says whether a missing tag blocks login).
    #[serde(default)]
    pub images: std::collections::BTreeMap<String, ReleaseImage>,
}

/// One image of a release: `<repository>:<tag from the manifest>`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReleaseImage {
    /// e.g. `ghcr.io/nine-minds/alga-psa-ee`.
    pub repository: String,
    /// The catalog component that runs it.
    pub component: String,
}

/// A namespaced object name.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(deny_unknown_fields)]
pub struct ObjectRef {
    pub namespace: String,
    pub name: String,
}

/// The Kubernetes kind a component is observed through.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
pub enum ComponentKind {
    Node,
    Deployment,
    StatefulSet,
    DaemonSet,
    Job,
    GitRepository,
    OCIRepository,
    Kustomization,
}

impl ComponentKind {
    /// The kind's name as Kubernetes spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentKind::Node => "Node",
            ComponentKind::Deployment => "Deployment",
            ComponentKind::StatefulSet => "StatefulSet",
            ComponentKind::DaemonSet => "DaemonSet",
            ComponentKind::Job => "Job",
            ComponentKind::GitRepository => "GitRepository",
            ComponentKind::OCIRepository => "OCIRepository",
            ComponentKind::Kustomization => "Kustomization",
        }
    }
}

/// A named object of a component, optionally gating a different tier than the component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkloadRef {
    pub name: String,
    pub tier: Option<Tier>,
}

impl<'de> Deserialize<'de> for WorkloadRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Name(String),
            Full { name: String, tier: Option<Tier> },
        }
        Ok(match Form::deserialize(d)? {
            Form::Name(name) => WorkloadRef { name, tier: None },
            Form::Full { name, tier } => WorkloadRef { name, tier },
        })
    }
}

/// One component of the appliance.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Component {
    pub name: String,
    pub tier: Tier,
    /// A human name, e.g. "Postgres".
    pub description: Option<String>,
    pub kind: ComponentKind,
    /// Defaults to the site's workload namespace (Flux kinds: the Flux namespace).
    pub namespace: Option<String>,
    #[serde(default)]
    pub workloads: Vec<WorkloadRef>,
    /// For Jobs whose name carries a revision suffix.
    pub workload_prefix: Option<String>,
    /// Pod labels that select this component's pods (all must match).
    #[serde(default)]
    pub selector: BTreeMap<String, String>,
    /// The HelmRelease (in the site's HelmRelease namespace) that installs it.
    pub helm_release: Option<String>,
    #[serde(default)]
    pub pvcs: Vec<String>,
    #[serde(default)]
    pub secrets: Vec<String>,
    /// The storage class this component provides.
    pub storage_class: Option<String>,
    /// The container of interest (Jobs).
    pub container: Option<String>,
    /// Expected image size, to scale how long a pull may take before it counts as slow.
    pub image_size_bytes: Option<u64>,
    /// How long it typically takes once its images are on the node (a Job's run, a workload's
    /// start until ready), in seconds: what the login estimate adds for it.
    pub typical_seconds: Option<u64>,
    /// Counted in its tier only once installed (PgBouncer).
    #[serde(default)]
    pub required_when_present: bool,
}

impl Component {
    /// The namespace the component's objects live in.
    pub fn namespace<'a>(&'a self, site: &'a SiteDefaults) -> &'a str {
        match (&self.namespace, self.kind) {
            (Some(ns), _) => ns,
            (None, ComponentKind::Node) => "",
            (
                None,
                ComponentKind::GitRepository
                | ComponentKind::OCIRepository
                | ComponentKind::Kustomization,
            ) => &site.flux_namespace,
            (None, _) => &site.workload_namespace,
        }
    }

    /// The human name: the description, else the component name.
    pub fn display_name(&self) -> &str {
        self.description.as_deref().unwrap_or(&self.name)
    }

    /// Whether a workload of this kind and name belongs to the component.
    pub fn owns_workload(&self, name: &str) -> bool {
        self.workloads.iter().any(|w| w.name == name)
            || self
                .workload_prefix
                .as_deref()
                .is_some_and(|p| name.starts_with(p))
    }
}

impl Catalog {
    /// The embedded Alga appliance catalog.
    pub fn embedded() -> Catalog {
        Catalog::parse(EMBEDDED_CATALOG, "embedded catalog")
            .expect("the embedded catalog is validated by its tests")
    }

    /// Reads and validates a catalog file.
    pub fn from_file(path: &Path) -> Result<Catalog> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.display().to_string(),
            source,
        })?;
        Catalog::parse(&text, &path.display().to_string())
    }

    /// Parses and validates catalog YAML; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Catalog> {
        let catalog: Catalog = serde_yaml::from_str(text).map_err(|e| Error::Catalog {
            origin: origin.to_string(),
            message: e.to_string(),
        })?;
        catalog.validate(origin)?;
        Ok(catalog)
    }

    /// Checks what the types cannot; `origin` names the catalog in errors.
    fn validate(&self, origin: &str) -> Result<()> {
        let invalid = |message: String| {
            Err(Error::Catalog {
                origin: origin.to_string(),
                message,
            })
        };
        if self.components.is_empty() {
            return invalid("the catalog lists no components".into());
        }
        let mut names = BTreeSet::new();
        for c in &self.components {
            if c.name.trim().is_empty() {
                return invalid("a component has an empty name".into());
            }
            if !names.insert(c.name.as_str()) {
                return invalid(format!("component {:?} is listed twice", c.name));
            }
            if c.tier == Tier::FullHealth {
                return invalid(format!(
                    "component {:?}: tier full_health is computed, not assigned",
                    c.name
                ));
            }
            let needs_workload = c.kind != ComponentKind::Node;
            if needs_workload && c.workloads.is_empty() && c.workload_prefix.is_none() {
                return invalid(format!(
                    "component {:?} ({}) names no workloads and no workloadPrefix",
                    c.name,
                    c.kind.as_str()
                ));
            }
        }
        for (key, image) in &self.release.images {
            if !names.contains(image.component.as_str()) {
                return invalid(format!(
                    "release image {key}: component {:?} is not in the catalog",
                    image.component
                ));
            }
        }
        Ok(())
    }

    /// The component by name.
    pub fn component(&self, name: &str) -> Option<&Component> {
        self.components.iter().find(|c| c.name == name)
    }

    /// The login URL with `<node-ip>` replaced, when the node's address is known.
    pub fn url_for(&self, template: &str, node_ip: Option<&str>) -> Option<String> {
        match (template.contains("<node-ip>"), node_ip) {
            (false, _) => Some(template.to_string()),
            (true, Some(ip)) => Some(template.replace("<node-ip>", ip)),
            (true, None) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalog_is_valid_and_complete() {
        let catalog = Catalog::embedded();
        assert_eq!(catalog.site.site_id, "appliance-single-node");
        let db = catalog.component("db").unwrap();
        assert_eq!(db.tier, Tier::Core);
        assert_eq!(db.namespace(&catalog.site), "msp");
        assert!(catalog.component("temporal-ui").is_some());
    }

    /// The release images are the four a release manifest names (`app.images.<key>`), each run
    /// by a component of the catalog that pulls it; alga-core's is the one login waits for.
    #[test]
    fn release_images_are_run_by_catalog_components() {
        let catalog = Catalog::embedded();
        let keys: Vec<&str> = catalog.release.images.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "algaCore",
                "emailService",
                "temporalWorker",
                "workflowWorker"
            ]
        );
        for (key, image) in &catalog.release.images {
            let component = catalog
                .component(&image.component)
                .unwrap_or_else(|| panic!("{key}: no component {}", image.component));
            assert!(
                image.repository.starts_with("ghcr.io/nine-minds/"),
                "{key}: {}",
                image.repository
            );
            assert!(
                !component.workloads.is_empty() || component.workload_prefix.is_some(),
                "{key}: {} runs no workload",
                component.name
            );
        }
        let core = catalog.component(&catalog.release.images["algaCore"].component);
        assert_eq!(core.map(|c| c.tier), Some(Tier::Login));
    }

    #[test]
    fn malformed_catalogs_are_clear_errors() {
        let err = Catalog::parse("components: [", "bad.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad.yaml"), "{err}");
        let dup = "site: {siteId: s, statusUrl: a, loginUrl: b, workloadNamespace: m, helmReleaseNamespace: h, fluxNamespace: f, statusNamespace: s}\ncomponents:\n- {name: a, tier: core, kind: Deployment, workloads: [a]}\n- {name: a, tier: core, kind: Deployment, workloads: [a]}\n";
        let err = Catalog::parse(dup, "dup.yaml").unwrap_err().to_string();
        assert!(err.contains("listed twice"), "{err}");
        let unknown_tier = dup.replace("tier: core", "tier: gold");
        assert!(Catalog::parse(&unknown_tier, "t.yaml").is_err());
    }

    #[test]
    fn node_ip_fills_url_templates() {
        let catalog = Catalog::embedded();
        assert_eq!(
            catalog
                .url_for(&catalog.site.login_url, Some("192.168.64.8"))
                .as_deref(),
            Some("http://192.168.64.8:3000")
        );
        assert_eq!(catalog.url_for(&catalog.site.login_url, None), None);
    }
}
