//! Every typed Kubernetes kind the engine keeps, in one table: adding a watched kind is one line
//! here. The table generates the `KubeObject` variant, the `Snapshot` field, reading the kind from
//! `kubectl` output, pruning it on the way in, applying, replacing, deleting and counting it, and
//! (in the service, `server/src/collect.rs`) its watcher.
//!
//! Three kinds are kept differently and stay out of the table: events (a compact
//! `event::EventRecord`, from the core and the `events.k8s.io` APIs), Secrets (the name only, as
//! metadata) and Flux's objects (read from their unstructured form, `snapshot::FluxObject`).

/// Calls `$then!` with the table: one `(Variant, type, "Kind", "api group", namespaced, snapshot
/// field, watch, prune)` per kind, where watch is `cluster` (one watcher for the whole cluster)
/// or `named` (only the objects the catalog names, by name) and prune is what to drop on the way
/// in (`|o: &mut T| …`).
#[macro_export]
macro_rules! typed_kinds {
    ($then:ident) => {
        $then! {
            (Node, k8s_openapi::api::core::v1::Node, "Node", "", false, nodes, cluster,
                |o: &mut k8s_openapi::api::core::v1::Node| $crate::prune::prune_meta(&mut o.metadata)),
            (Pod, k8s_openapi::api::core::v1::Pod, "Pod", "", true, pods, cluster,
                |o: &mut k8s_openapi::api::core::v1::Pod| $crate::prune::prune_pod(o)),
            (Job, k8s_openapi::api::batch::v1::Job, "Job", "batch", true, jobs, cluster,
                |o: &mut k8s_openapi::api::batch::v1::Job| {
                    $crate::prune::prune_meta(&mut o.metadata);
                    if let Some(spec) = o.spec.as_mut() {
                        $crate::prune::prune_template(&mut spec.template);
                    }
                }),
            (Pvc, k8s_openapi::api::core::v1::PersistentVolumeClaim, "PersistentVolumeClaim", "", true, pvcs, cluster,
                |o: &mut k8s_openapi::api::core::v1::PersistentVolumeClaim| $crate::prune::prune_meta(&mut o.metadata)),
            (Deployment, k8s_openapi::api::apps::v1::Deployment, "Deployment", "apps", true, deployments, cluster,
                |o: &mut k8s_openapi::api::apps::v1::Deployment| {
                    $crate::prune::prune_meta(&mut o.metadata);
                    if let Some(spec) = o.spec.as_mut() {
                        $crate::prune::prune_template(&mut spec.template);
                    }
                }),
            (StatefulSet, k8s_openapi::api::apps::v1::StatefulSet, "StatefulSet", "apps", true, stateful_sets, cluster,
                |o: &mut k8s_openapi::api::apps::v1::StatefulSet| {
                    $crate::prune::prune_meta(&mut o.metadata);
                    if let Some(spec) = o.spec.as_mut() {
                        $crate::prune::prune_template(&mut spec.template);
                    }
                }),
            (DaemonSet, k8s_openapi::api::apps::v1::DaemonSet, "DaemonSet", "apps", true, daemon_sets, cluster,
                |o: &mut k8s_openapi::api::apps::v1::DaemonSet| {
                    $crate::prune::prune_meta(&mut o.metadata);
                    if let Some(spec) = o.spec.as_mut() {
                        $crate::prune::prune_template(&mut spec.template);
                    }
                }),
            (ConfigMap, k8s_openapi::api::core::v1::ConfigMap, "ConfigMap", "", true, config_maps, named,
                |o: &mut k8s_openapi::api::core::v1::ConfigMap| {
                    $crate::prune::prune_meta(&mut o.metadata);
                    o.binary_data = None;
                }),
        }
    };
}

macro_rules! names_and_watches {
    ($(($v:ident, $t:ty, $kind:literal, $group:literal, $ns:literal, $field:ident, $watch:ident, $prune:expr)),* $(,)?) => {
        &[$(($kind, stringify!($watch)),)*]
    };
}

/// Every typed kind's name and how it is watched (`cluster` or `named`).
pub const TYPED: &[(&str, &str)] = typed_kinds!(names_and_watches);

/// The kinds watched cluster-wide, events included: each must have listed once before the
/// service says it is ready (Flux kinds may be absent; named ConfigMaps and Secrets are few).
pub fn cluster_kinds() -> impl Iterator<Item = &'static str> {
    TYPED
        .iter()
        .filter(|(_, watch)| *watch == "cluster")
        .map(|(kind, _)| *kind)
        .chain(["Event"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cluster_kinds_are_the_watched_ones_and_events() {
        let cluster: Vec<&str> = cluster_kinds().collect();
        assert_eq!(
            cluster,
            [
                "Node",
                "Pod",
                "Job",
                "PersistentVolumeClaim",
                "Deployment",
                "StatefulSet",
                "DaemonSet",
                "Event"
            ]
        );
        assert!(TYPED.contains(&("ConfigMap", "named")));
    }
}
