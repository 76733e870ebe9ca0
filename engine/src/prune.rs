//! What is dropped from an object on its way in: managed fields, last-applied annotations, pod
//! specs down to container names and images, messages bounded. What is not kept is neither
//! memory nor anything a support bundle could leak.

use crate::event::bound_message;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// Drops what the engine never reads and bounds what it does.
pub fn prune_meta(meta: &mut ObjectMeta) {
    meta.managed_fields = None;
    if let Some(annotations) = meta.annotations.as_mut() {
        annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
        annotations.retain(|k, _| k.starts_with("meta.helm.sh/") || k.starts_with("helm.toolkit"));
        if annotations.is_empty() {
            meta.annotations = None;
        }
    }
}

/// Keeps of a pod spec only what the engine reads: container names and images, the node and the
/// restart policy. The rest is memory, and environment values, commands and volumes are no
/// business of a status service (nor of its support bundle, which writes what is kept).
fn slim_pod_spec(spec: &mut k8s_openapi::api::core::v1::PodSpec) {
    let slim = |c: &k8s_openapi::api::core::v1::Container| k8s_openapi::api::core::v1::Container {
        name: c.name.clone(),
        image: c.image.clone(),
        ..Default::default()
    };
    *spec = k8s_openapi::api::core::v1::PodSpec {
        containers: spec.containers.iter().map(slim).collect(),
        init_containers: spec
            .init_containers
            .as_ref()
            .map(|cs| cs.iter().map(slim).collect()),
        node_name: spec.node_name.take(),
        restart_policy: spec.restart_policy.take(),
        ..Default::default()
    };
}

/// A workload's pod template, slimmed like a pod (its labels kept for selectors).
pub fn prune_template(template: &mut k8s_openapi::api::core::v1::PodTemplateSpec) {
    if let Some(meta) = template.metadata.as_mut() {
        prune_meta(meta);
        meta.annotations = None;
    }
    if let Some(spec) = template.spec.as_mut() {
        slim_pod_spec(spec);
    }
}

/// A pod: its metadata pruned, its spec slimmed, its messages bounded.
pub fn prune_pod(pod: &mut Pod) {
    prune_meta(&mut pod.metadata);
    if let Some(spec) = pod.spec.as_mut() {
        slim_pod_spec(spec);
    }
    if let Some(status) = pod.status.as_mut() {
        if let Some(m) = status.message.as_mut() {
            bound_message(m);
        }
        for cs in status
            .container_statuses
            .iter_mut()
            .flatten()
            .chain(status.init_container_statuses.iter_mut().flatten())
        {
            for state in [cs.state.as_mut(), cs.last_state.as_mut()]
                .into_iter()
                .flatten()
            {
                if let Some(m) = state.waiting.as_mut().and_then(|w| w.message.as_mut()) {
                    bound_message(m);
                }
                if let Some(m) = state.terminated.as_mut().and_then(|t| t.message.as_mut()) {
                    bound_message(m);
                }
            }
        }
    }
}
