//! The login estimate: while the appliance installs and nothing needs action, how long until
//! login, from what is known and said beside it. Without a basis, no estimate.
//!
//! What is left on the login path (CORE, BOOTSTRAP, LOGIN components not ready yet): the images
//! not on the node yet, each by its size (the registry's manifest from the release check, else
//! the catalog), at the pull throughput the kubelet measured on this node (`Successfully pulled
//! image … in 16m3.2s … Image size: 1843201234 bytes`; pulls are serial, the kubelet's default);
//! then each component's typical duration from the catalog (a Job's run, a workload's start). The
//! range runs from the fastest measured throughput with those steps side by side, to the slowest
//! with them one after the other.

use super::index::{component_ready, ComponentView, Index};
use crate::catalog::ComponentKind;
use crate::images::Outcome;
use app::format::{bytes, duration};
use app::status::*;
use jiff::Timestamp;
use std::collections::{BTreeMap, BTreeSet};

/// Pulls shorter or smaller than this say little about the link.
const MIN_MEASURED_BYTES: u64 = 1_000_000;

/// The login estimate, if there is a basis for one.
pub fn estimate(
    index: &Index<'_>,
    tiers: &Tiers,
    rollup: RollupState,
    timeline: &Timeline,
    operations: &[Operation],
    unconfirmed: &[Blocker],
    now: Timestamp,
) -> Option<Estimate> {
    if tiers.login.ready || rollup != RollupState::Installing {
        return None;
    }
    // A failure on the login path just seen, not yet confirmed: the time left is unknown.
    if unconfirmed.iter().any(|b| b.tier <= Tier::Login) {
        return None;
    }
    let mut basis = Vec::new();
    let sizes = registry_sizes(index);
    let on_node = images_on_node(index, timeline);
    let pulling: BTreeMap<&str, &Operation> = operations
        .iter()
        .filter(|o| o.kind == OperationKind::ImagePull)
        .map(|o| (o.target.as_str(), o))
        .collect();
    let rates = measured_rates(timeline);
    let (slow, fast) = match (
        rates.iter().copied().reduce(f64::min),
        rates.iter().copied().reduce(f64::max),
    ) {
        (Some(slow), Some(fast)) => (slow * 0.8, fast * 1.2),
        _ => (0.0, 0.0),
    };
    let mut to_pull: BTreeSet<String> = BTreeSet::new();
    let mut pull_bytes = 0u64;
    let mut steps: Vec<u64> = Vec::new();
    for v in login_path(index) {
        if component_ready(index, v) {
            continue;
        }
        let images = images_of(index, v);
        if images.is_empty() && !v.present() {
            // Not installed, and the release check names none of its images: what it will
            // pull is not known yet.
            return None;
        }
        for image in images {
            if on_node.contains(&image) || !to_pull.insert(image.clone()) {
                continue;
            }
            let (size, from) = match sizes.get(image.as_str()) {
                Some(&s) => (s, "the registry's manifest"),
                None => match v
                    .component
                    .image_size_bytes
                    .filter(|_| single_image(index, v, &on_node))
                {
                    Some(s) => (s, "the catalog"),
                    // An image of unknown size: how long it takes cannot be said.
                    None => return None,
                },
            };
            let left = match pulling.get(image.as_str()) {
                Some(op) if fast > 0.0 => {
                    let done = (op.elapsed_seconds as f64 * (slow + fast) / 2.0) as u64;
                    basis.push(format!(
                        "pulling {image} for {}: about {} of {} ({from}) left at the measured speed",
                        duration(op.elapsed_seconds),
                        bytes(size.saturating_sub(done).max(size / 10)),
                        bytes(size)
                    ));
                    size.saturating_sub(done).max(size / 10)
                }
                _ => {
                    basis.push(format!("to pull: {image}, {} ({from})", bytes(size)));
                    size
                }
            };
            pull_bytes = pull_bytes.saturating_add(left);
        }
        if let Some(typical) = v.component.typical_seconds {
            // A Job waiting inside for what it needs (Postgres) only starts its work once the
            // tiers below it are ready.
            let below_ready = timeline
                .tiers
                .iter()
                .filter(|m| m.ready && m.tier < v.component.tier)
                .map(|m| m.at)
                .max();
            let left = match running_since(v).map(|s| below_ready.map_or(s, |b| s.max(b))) {
                Some(start) => {
                    let ran = now.duration_since(start).as_secs().max(0) as u64;
                    if ran > typical {
                        // Longer than it typically takes: the basis has run out.
                        return None;
                    }
                    basis.push(format!(
                        "{}: working for {}, typically {} (catalog)",
                        v.component.name,
                        duration(ran),
                        duration(typical)
                    ));
                    typical.saturating_sub(ran).max(typical / 4)
                }
                None => {
                    basis.push(format!(
                        "{}: typically {} once its images are on the node (catalog)",
                        v.component.name,
                        duration(typical)
                    ));
                    typical
                }
            };
            steps.push(left);
        }
    }
    if pull_bytes > 0 {
        if fast <= 0.0 {
            return None;
        }
        basis.insert(0, throughput_basis(timeline, &rates));
    }
    if pull_bytes == 0 && steps.is_empty() {
        return None;
    }
    let low = ((pull_bytes as f64 / fast.max(1.0)) as u64)
        .saturating_add(steps.iter().copied().max().unwrap_or(0));
    let high = ((pull_bytes as f64 / slow.max(1.0)) as u64)
        .saturating_add(steps.iter().fold(0u64, |a, b| a.saturating_add(*b)));
    let high = high.max(low);
    Some(Estimate {
        target: Tier::Login,
        low_seconds: low,
        high_seconds: high,
        message: format!("login expected {}", in_about(low, high)),
        basis,
    })
}

/// "in about 12–18 min", "within about 3 min".
pub fn in_about(low: u64, high: u64) -> String {
    let lo = low / 60;
    let hi = high.div_ceil(60).max(1);
    match (lo, hi) {
        (0, hi) => format!("within about {hi} min"),
        (lo, hi) if lo >= hi => format!("in about {hi} min"),
        (lo, hi) => format!("in about {lo}–{hi} min"),
    }
}

/// The components login waits for that run something: CORE, BOOTSTRAP and LOGIN workloads and
/// Jobs (one counted only once present, if the catalog says so).
fn login_path<'i, 'a>(index: &'i Index<'a>) -> impl Iterator<Item = &'i ComponentView<'a>> {
    index.components.iter().filter(|v| {
        matches!(v.component.tier, Tier::Core | Tier::Bootstrap | Tier::Login)
            && matches!(
                v.component.kind,
                ComponentKind::Deployment
                    | ComponentKind::StatefulSet
                    | ComponentKind::DaemonSet
                    | ComponentKind::Job
            )
            && (v.present() || !v.component.required_when_present)
    })
}

/// The images a component runs: its pods' and templates' containers, else (not installed yet)
/// what the release check plans for it.
fn images_of(index: &Index<'_>, v: &ComponentView<'_>) -> BTreeSet<String> {
    let mut images = BTreeSet::new();
    let mut add = |spec: Option<&k8s_openapi::api::core::v1::PodSpec>| {
        for c in spec.into_iter().flat_map(|s| {
            s.containers
                .iter()
                .chain(s.init_containers.iter().flatten())
        }) {
            images.extend(c.image.clone());
        }
    };
    for p in &v.pods {
        add(p.spec.as_ref());
    }
    for d in &v.deployments {
        add(d.spec.as_ref().and_then(|s| s.template.spec.as_ref()));
    }
    for s in &v.stateful_sets {
        add(s.spec.as_ref().and_then(|s| s.template.spec.as_ref()));
    }
    for d in &v.daemon_sets {
        add(d.spec.as_ref().and_then(|s| s.template.spec.as_ref()));
    }
    for j in &v.jobs {
        add(j.spec.as_ref().and_then(|s| s.template.spec.as_ref()));
    }
    if images.is_empty() {
        images.extend(
            index
                .snapshot
                .release_check
                .images
                .iter()
                .filter(|i| i.component == v.component.name)
                .map(|i| i.reference.clone()),
        );
    }
    images
}

/// Whether the catalog's one size can stand for the component's image to pull: there is one.
fn single_image(index: &Index<'_>, v: &ComponentView<'_>, on_node: &BTreeSet<String>) -> bool {
    images_of(index, v)
        .iter()
        .filter(|i| !on_node.contains(*i))
        .count()
        <= 1
}

/// Image sizes the registry gave, by reference.
fn registry_sizes<'a>(index: &Index<'a>) -> BTreeMap<&'a str, u64> {
    index
        .snapshot
        .release_check
        .images
        .iter()
        .filter_map(|i| match &i.last {
            Outcome::Present {
                size_bytes: Some(s),
                ..
            } => Some((i.reference.as_str(), *s)),
            _ => None,
        })
        .collect()
}

/// Images already on the node: a container of it started, the kubelet pulled it, or found it
/// there (`Container image "…" already present on machine`).
fn images_on_node(index: &Index<'_>, timeline: &Timeline) -> BTreeSet<String> {
    let mut on = BTreeSet::new();
    for s in &timeline.spans {
        if s.kind == SpanKind::ImagePull && s.state == SpanState::Succeeded {
            on.insert(s.label.clone());
        }
    }
    for p in index.snapshot.pods.values() {
        let (Some(spec), Some(status)) = (p.spec.as_ref(), p.status.as_ref()) else {
            continue;
        };
        let started: BTreeSet<&str> = status
            .container_statuses
            .iter()
            .flatten()
            .chain(status.init_container_statuses.iter().flatten())
            .filter(|c| {
                c.state
                    .as_ref()
                    .is_some_and(|s| s.running.is_some() || s.terminated.is_some())
                    || c.last_state
                        .as_ref()
                        .is_some_and(|s| s.terminated.is_some())
            })
            .map(|c| c.name.as_str())
            .collect();
        for c in spec
            .containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
        {
            if started.contains(c.name.as_str()) {
                on.extend(c.image.clone());
            }
        }
    }
    for e in index.snapshot.events.values() {
        if e.reason() == Some("Pulled") && e.message.contains("already present on machine") {
            if let Some(image) = super::image::image_in_message(&e.message) {
                on.insert(image.to_string());
            }
        }
    }
    on
}

/// Bytes per second of each pull the kubelet measured.
fn measured_rates(timeline: &Timeline) -> Vec<f64> {
    measured(timeline)
        .map(|(_, size, seconds)| size as f64 / seconds)
        .collect()
}

fn measured(timeline: &Timeline) -> impl Iterator<Item = (&Span, u64, f64)> {
    timeline.spans.iter().filter_map(|s| {
        let size = s.size_bytes.filter(|b| *b >= MIN_MEASURED_BYTES)?;
        let end = s
            .end
            .filter(|_| s.kind == SpanKind::ImagePull && s.state == SpanState::Succeeded)?;
        let seconds = end.duration_since(s.start).as_secs_f64();
        (seconds >= 1.0).then_some((s, size, seconds))
    })
}

fn throughput_basis(timeline: &Timeline, rates: &[f64]) -> String {
    let pulls: Vec<String> = measured(timeline)
        .map(|(s, size, seconds)| {
            format!(
                "{}, {} in {}",
                s.label.rsplit('/').next().unwrap_or(&s.label),
                bytes(size),
                duration(seconds as u64)
            )
        })
        .collect();
    let total: f64 = rates.iter().sum();
    format!(
        "pull throughput {}/s, as the kubelet measured it on this node ({})",
        bytes((total / rates.len().max(1) as f64) as u64),
        pulls.join("; ")
    )
}

/// When a component's containers last started running, if one runs now: a Job's work, or a
/// workload starting up (not ready yet).
fn running_since(v: &ComponentView<'_>) -> Option<Timestamp> {
    v.pods
        .iter()
        .filter_map(|p| p.status.as_ref()?.container_statuses.as_ref())
        .flatten()
        .filter_map(|c| c.state.as_ref()?.running.as_ref()?.started_at.as_ref())
        .map(|t| t.0)
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_read_in_whole_minutes() {
        assert_eq!(in_about(700, 1100), "in about 11–19 min");
        assert_eq!(in_about(20, 150), "within about 3 min");
        assert_eq!(in_about(600, 600), "in about 10 min");
        assert_eq!(in_about(0, 0), "within about 1 min");
    }
}

#[cfg(test)]
mod observed {
    use super::super::testkit::*;

    /// A web pod waiting to pull alga-psa-ee 1.0-rc6, which no pod has pulled yet.
    fn a_new_tag_to_pull(r: &mut Replay) {
        let pod = waiting_core_pod(
            "ghcr.io/nine-minds/alga-psa-ee:1.0-rc6",
            "ContainerCreating",
            "",
        );
        apply_yaml(&mut r.snapshot, &pod);
    }

    fn at(r: &mut Replay, minutes: i64) -> StatusDocument {
        let now = r.scenario.start + mins(minutes) + SignedDuration::from_secs(30);
        assess_twice(
            &mut r.snapshot,
            &r.probes.clone(),
            now - SignedDuration::from_secs(31),
            now,
        )
    }

    /// The observed bootstrap needs action until 36 min (DNS, then the subPath error): no
    /// estimate there. Once Postgres is repaired, the bootstrap's and the web app's typical
    /// durations bracket the time login really took (it was ready at 39 min).
    #[test]
    fn the_observed_bootstrap_is_estimated_only_where_nothing_needs_action() {
        for minutes in [0, 3, 19, 33, 35] {
            let doc = at(&mut replay_to(mins(minutes)), minutes);
            assert_eq!(doc.rollup.state, RollupState::FailedActionRequired);
            assert_eq!(doc.estimate, None, "at {minutes} min");
        }
        for minutes in [36, 37] {
            let doc = at(&mut replay_to(mins(minutes)), minutes);
            let e = doc.estimate.expect("installing, with a basis");
            let actual = (39 - minutes) * 60 - 30;
            assert!(
                (e.low_seconds..=e.high_seconds).contains(&(actual as u64)),
                "at {minutes} min: {e:?}, actual {actual} s"
            );
            assert!(
                e.basis
                    .iter()
                    .any(|b| b.starts_with("bootstrap-job: working for ")),
                "{e:?}"
            );
        }
        for minutes in [39, 42, 55] {
            assert_eq!(
                at(&mut replay_to(mins(minutes)), minutes).estimate,
                None,
                "login is ready"
            );
        }
    }

    /// An image still to pull is timed at the throughput the kubelet measured: the 1.8 GB
    /// alga-psa-ee pull of 16m3.2s (1.9 MB/s) prices a new 1.8 GB tag at 13 to 20 minutes, plus the
    /// steps after it.
    #[test]
    fn an_image_to_pull_is_priced_at_the_measured_throughput() {
        let mut r = replay_to(mins(36));
        a_new_tag_to_pull(&mut r);
        let doc = at(&mut r, 36);
        let e = doc.estimate.expect("an estimate");
        let size = 1_843_201_234f64;
        let rate = size / 963.2;
        assert_eq!(e.low_seconds, (size / (rate * 1.2)) as u64 + 150);
        assert_eq!(e.high_seconds, (size / (rate * 0.8)) as u64 + 150 + 60);
        assert_eq!(e.message, "login expected in about 15–24 min");
        assert!(e.basis[0].starts_with("pull throughput 1.9 MB/s, as the kubelet measured it on this node (alga-psa-ee:1.0-rc5, 1.8 GB in 16 min 3 s)"), "{:?}", e.basis);
        assert!(
            e.basis.contains(
                &"to pull: ghcr.io/nine-minds/alga-psa-ee:1.0-rc6, 1.8 GB (the catalog)"
                    .to_string()
            ),
            "{:?}",
            e.basis
        );
    }

    /// Without a size for an image still to pull, or without a measured pull, or before what
    /// login needs is even known, nothing is said.
    #[test]
    fn without_a_basis_no_estimate() {
        // The first seconds: nothing of alga-core is installed, no release check has run, the
        // resolver's failure is not confirmed yet (installing).
        let mut r = replay_to(mins(0));
        let now = r.scenario.start + SignedDuration::from_secs(5);
        let doc = assess_twice(&mut r.snapshot, &r.probes.clone(), now, now);
        assert_eq!(doc.rollup.state, RollupState::Installing);
        assert_eq!(
            doc.estimate, None,
            "nothing known of what login needs to pull"
        );
        // The bootstrap working past its typical three minutes (the 36-minute state seen at 41
        // minutes): the basis has run out.
        let doc = at(&mut replay_to(mins(36)), 41);
        assert_eq!(doc.rollup.state, RollupState::Installing);
        assert_eq!(doc.estimate, None, "longer than it typically takes");

        let mut r = replay_to(mins(36));
        for (pod, image) in [
            ("1", "registry.example/unknown:1"),
            ("2", "registry.example/other:1"),
        ] {
            apply_yaml(
                &mut r.snapshot,
                &waiting_core_pod(image, "ContainerCreating", "").replace(
                    "alga-core-sebastian-1",
                    &format!("alga-core-sebastian-{pod}"),
                ),
            );
        }
        // two images to pull for alga-core: the catalog's one size cannot stand for both
        assert_eq!(at(&mut r, 36).estimate, None);
        let mut r = replay_to(mins(36));
        let measured: Vec<_> = r
            .snapshot
            .events
            .iter()
            .filter(|(_, e)| e.reason() == Some("Pulled"))
            .map(|(k, _)| k.clone())
            .collect();
        for k in measured {
            r.snapshot.events.remove(&k);
        }
        a_new_tag_to_pull(&mut r);
        assert_eq!(
            at(&mut r, 36).estimate,
            None,
            "no pull measured on this node"
        );
    }
}
