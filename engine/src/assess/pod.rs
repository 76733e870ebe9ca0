//! Pod, container and pod-event rules (signals §1 and §2): the lowest layer most causes show at.

use super::image::{classify_pull, image_in_message, pull_advice, PullClass};
use super::index::{ComponentView, Index};
use super::logs::crash_signal;
use super::{evidence, Finding, Inputs, Progress};
use crate::event::EventRecord;
use app::status::{Layer, Operation, OperationKind};
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};

const PULL_FAILURES: [&str; 2] = ["ImagePullBackOff", "ErrImagePull"];
const RUNTIME_REFUSALS: [&str; 7] = [
    "CreateContainerError",
    "RunContainerError",
    "PreStartHookError",
    "PreCreateHookError",
    "ImageInspectError",
    "ErrImageNeverPull",
    "InvalidImageName",
];

/// Context shared by the rules for one pod.
struct PodCtx<'a, 'i> {
    view: &'a ComponentView<'i>,
    pod: &'i Pod,
    ns: &'i str,
    name: &'i str,
    events: Vec<&'i EventRecord>,
    now: Timestamp,
}

impl PodCtx<'_, '_> {
    fn finding(
        &self,
        layer: Layer,
        progress: Progress,
        slug: &str,
        reason: String,
        next: impl Into<String>,
    ) -> Finding {
        let c = self.view.component;
        Finding::new(
            &c.name, c.tier, layer, progress, slug, self.ns, reason, next,
        )
    }

    /// The newest event of `reason` whose message satisfies `matches`.
    fn event(&self, reason: &str, matches: impl Fn(&str) -> bool) -> Option<&EventRecord> {
        self.events
            .iter()
            .copied()
            .find(|e| &*e.reason == reason && matches(&e.message))
    }

    fn event_evidence(&self, e: &EventRecord) -> app::status::Evidence {
        evidence(
            "Event",
            Some(self.ns),
            &format!("Pod/{}", self.name),
            e.reason(),
            &e.message,
            e.last_time(),
        )
    }

    fn pod_evidence(&self, reason: &str, message: &str) -> app::status::Evidence {
        evidence("Pod", Some(self.ns), self.name, Some(reason), message, None)
    }
}

/// Findings and in-progress operations for every pod of one component.
pub fn findings(
    inputs: &Inputs<'_>,
    index: &Index<'_>,
    view: &ComponentView<'_>,
    now: Timestamp,
    out: &mut Vec<Finding>,
    ops: &mut Vec<Operation>,
) {
    for pod in &view.pods {
        let ns = pod.metadata.namespace.as_deref().unwrap_or("");
        let name = pod.metadata.name.as_deref().unwrap_or("");
        let ctx = PodCtx {
            view,
            pod,
            ns,
            name,
            events: index.events_for("Pod", ns, name),
            now,
        };
        pod_level(&ctx, out);
        let status = pod.status.as_ref();
        let inits = status
            .and_then(|s| s.init_container_statuses.as_deref())
            .unwrap_or(&[]);
        let mains = status
            .and_then(|s| s.container_statuses.as_deref())
            .unwrap_or(&[]);
        for cs in inits {
            container(index, &ctx, cs, true, out, ops);
            waiting_init(&ctx, cs, ops);
        }
        for cs in mains {
            container(index, &ctx, cs, false, out, ops);
        }
        event_level(inputs, &ctx, now, out, ops);
    }
}

/// An init container that runs (e.g. `wait-for-bootstrap`) holds the pod back by design: a wait.
fn waiting_init(ctx: &PodCtx<'_, '_>, cs: &ContainerStatus, ops: &mut Vec<Operation>) {
    let Some(running) = cs.state.as_ref().and_then(|s| s.running.as_ref()) else {
        return;
    };
    let started = running.started_at.as_ref().map(|t| t.0).unwrap_or_default();
    ops.push(Operation {
        kind: OperationKind::Waiting,
        component: Some(ctx.view.component.name.clone()),
        tier: Some(ctx.view.component.tier),
        target: format!("Pod/{}/{}", ctx.ns, ctx.name),
        started,
        elapsed_seconds: 0,
        size_bytes: None,
        message: format!(
            "init container {} is running (waits before the app starts)",
            cs.name
        ),
    });
}

fn pod_level(ctx: &PodCtx<'_, '_>, out: &mut Vec<Finding>) {
    let Some(status) = ctx.pod.status.as_ref() else {
        return;
    };
    if status.reason.as_deref() == Some("Evicted") {
        let msg = status.message.clone().unwrap_or_default();
        out.push(
            ctx.finding(
                Layer::Node,
                Progress::Failed,
                "evicted",
                format!("Pod {} was evicted by the node: {msg}", ctx.name),
                "Free node resources (disk, memory) and delete the evicted pod so it is recreated.",
            )
            .with(ctx.pod_evidence("Evicted", &msg)),
        );
    }
    let unschedulable = status.conditions.as_ref().and_then(|cs| {
        cs.iter().find(|c| {
            c.type_ == "PodScheduled"
                && c.status == "False"
                && c.reason.as_deref() == Some("Unschedulable")
        })
    });
    if let Some(cond) = unschedulable {
        let event = ctx.event("FailedScheduling", |_| true);
        let msg = event
            .and_then(|e| e.message().map(str::to_string))
            .or(cond.message.clone())
            .unwrap_or_default();
        let since = cond.last_transition_time.as_ref().map(|t| t.0);
        let mut f = if msg.contains("unbound immediate PersistentVolumeClaims") {
            ctx.finding(Layer::Storage, Progress::Progressing, "pvc-unbound",
                format!("Pod {} waits for its PersistentVolumeClaims to bind", ctx.name),
                "Check that the local-path storage provisioner is running and the claims can be provisioned.")
        } else {
            let layer = if msg.contains("persistentvolumeclaim") {
                Layer::Storage
            } else {
                Layer::Node
            };
            ctx.finding(layer, Progress::Failed, "unschedulable",
                format!("Pod {} cannot be scheduled: {}", ctx.name, scheduling_cause(&msg)),
                "Free or add node resources, or fix the pod's node selector, tolerations or volume claims.")
        };
        f = f
            .seen_at(since)
            .with(ctx.pod_evidence("Unschedulable", &msg));
        if let Some(e) = event {
            f = f.with(ctx.event_evidence(e));
        }
        out.push(f);
    }
}

/// The interesting part of `0/1 nodes are available: 1 Insufficient memory. preemption: ...`.
fn scheduling_cause(msg: &str) -> String {
    let body = msg.split_once(": ").map(|(_, b)| b).unwrap_or(msg);
    let body = body.split(" preemption:").next().unwrap_or(body);
    body.trim().trim_end_matches('.').to_string()
}

fn container(
    index: &Index<'_>,
    ctx: &PodCtx<'_, '_>,
    cs: &ContainerStatus,
    init: bool,
    out: &mut Vec<Finding>,
    ops: &mut Vec<Operation>,
) {
    let label = if init {
        format!("init container {}", cs.name)
    } else {
        format!("container {}", cs.name)
    };
    let state = cs.state.as_ref();
    if let Some(w) = state.and_then(|s| s.waiting.as_ref()) {
        let reason = w.reason.as_deref().unwrap_or("");
        let message = w.message.as_deref().unwrap_or("");
        if PULL_FAILURES.contains(&reason) {
            out.push(pull_failure(index, ctx, cs, reason, message, ops));
        } else if reason == "CrashLoopBackOff" {
            out.push(crash_loop(index, ctx, cs, &label, reason));
        } else if reason == "CreateContainerConfigError" {
            let detail = if message.is_empty() {
                ctx.event("Failed", |m| m.starts_with("Error: "))
                    .and_then(|e| e.message())
                    .unwrap_or("")
            } else {
                message
            };
            out.push(config_error(ctx, &label, reason, detail));
        } else if RUNTIME_REFUSALS.contains(&reason)
            || (reason != "ContainerCreating"
                && reason != "PodInitializing"
                && (reason.starts_with("Err")
                    || reason.ends_with("Error")
                    || reason.ends_with("BackOff")))
        {
            out.push(runtime_refusal(ctx, cs, &label, reason, message));
        }
    }
    // Between two crashes the kubelet runs the container again, not ready, until its next exit:
    // still the same crash loop, with the same id, so the blocker keeps its `since` rather than
    // vanishing at each restart (the BackOff events that date it may have expired, or never come).
    if restarted_after_failure(cs) {
        out.push(crash_loop(index, ctx, cs, &label, "Running"));
        return;
    }
    // A running container that never becomes ready: its readiness probe fails.
    if !init && !cs.ready {
        if let Some(running) = state.and_then(|s| s.running.as_ref()) {
            if let Some(e) = ctx.event("Unhealthy", |m| m.contains("Readiness probe")) {
                let msg = e.message.to_string();
                out.push(
                    ctx.finding(Layer::Pod, Progress::Progressing, "readiness",
                        format!("{} runs but its readiness probe fails: {msg}", ctx.name),
                        "Wait for the service to finish starting; if it persists, read the container log.")
                        .seen_at(running.started_at.as_ref().map(|t| t.0))
                        .with(ctx.event_evidence(e)),
                );
            }
        }
    }
}

/// A container the kubelet could not create or start (`ImageInspectError`, `CreateContainerError`,
/// …). When the message shows the runtime's own socket refusing or absent (the gRPC client's
/// `dial unix /run/containerd/containerd.sock: …`), the runtime did not answer: that is the node's
/// runtime, not a refusal of this container's configuration (docs/PULL_ERRORS.md,
/// `RuntimeUnavailable`).
fn runtime_refusal(
    ctx: &PodCtx<'_, '_>,
    cs: &ContainerStatus,
    label: &str,
    reason: &str,
    message: &str,
) -> Finding {
    let f = if classify_pull(message) == PullClass::RuntimeUnavailable {
        let advice = pull_advice(message, cs.image.as_str());
        ctx.finding(
            advice.layer,
            Progress::Failed,
            advice.slug,
            format!(
                "The node's container runtime did not answer the kubelet for {label} of {} ({reason})",
                ctx.name
            ),
            advice.next_action,
        )
    } else {
        ctx.finding(
            Layer::Pod,
            Progress::Failed,
            &reason.to_ascii_lowercase(),
            format!(
                "The container runtime refused {label} of {}: {reason}: {message}",
                ctx.name
            ),
            "Fix the container configuration named in the message, then delete the pod to retry.",
        )
    };
    f.with(ctx.pod_evidence(reason, message))
}

fn pull_failure(
    index: &Index<'_>,
    ctx: &PodCtx<'_, '_>,
    cs: &ContainerStatus,
    reason: &str,
    waiting_msg: &str,
    ops: &mut Vec<Operation>,
) -> Finding {
    let image = cs.image.as_str();
    // The kubelet's Failed event has the registry's words; the waiting message may only say back-off.
    let event = ctx.event("Failed", |m| {
        m.contains("pull")
            && image_in_message(m).is_none_or(|i| i == image)
            && !m.starts_with("Error: ImagePullBackOff")
            && !m.starts_with("Error: ErrImagePull")
    });
    let text = event.and_then(|e| e.message()).unwrap_or(waiting_msg);
    let advice = pull_advice(text, image);
    let progress = if advice.class == PullClass::Interrupted {
        Progress::Progressing
    } else {
        Progress::Failed
    };
    // Interrupted: the kubelet pulls again after its back-off. Shown as that, at once, as an
    // operation; the finding warns only if it goes on (PRD: "wait for retry or restart pod").
    let (reason_text, next_action) = match pull_retry(ctx, image) {
        Some(retry) if advice.class == PullClass::Interrupted => {
            ops.push(Operation {
                kind: OperationKind::ImagePull,
                component: Some(ctx.view.component.name.clone()),
                tier: Some(ctx.view.component.tier),
                target: image.to_string(),
                started: retry.since,
                elapsed_seconds: 0,
                size_bytes: ctx.view.component.image_size_bytes,
                message: format!(
                    "pull interrupted (context canceled) for pod {}; {}, no action needed yet",
                    ctx.name, retry.says
                ),
            });
            (
                format!("{}; {}, no action needed yet", advice.reason, retry.says),
                "No action needed yet: the kubelet retries the pull by itself. If it keeps being interrupted, restart the pod or check the node's disk and network.".to_string(),
            )
        }
        _ => (advice.reason, advice.next_action),
    };
    let mut f = ctx
        .finding(
            advice.layer,
            progress,
            advice.slug,
            reason_text,
            next_action,
        )
        .with(ctx.pod_evidence(reason, waiting_msg));
    // One id per pulling component whatever the class, so the blocker keeps its `since` and its
    // diagnosis when the event that revealed the cause expires (kubernetes#48188).
    f.id = format!("pull/{}/{}/{}", ctx.ns, ctx.view.component.name, cs.name);
    // An interrupted pull is not remembered: its reason carries the retry's countdown, which
    // would freeze, and what interrupted it says nothing of the next attempt.
    f.remember_cause = !matches!(advice.class, PullClass::Unknown | PullClass::Interrupted);
    if advice.class == PullClass::Unknown {
        if let Some(known) = index.snapshot.memory.causes.get(&f.id) {
            f.layer = known.layer;
            f.slug = known.slug.clone();
            f.reason = format!(
                "{} (still failing; the original event has expired)",
                known.reason
            );
            f.next_action = known.next_action.clone();
        }
    }
    if let Some(e) = event {
        f = f.seen_at(e.first_time()).with(ctx.event_evidence(e));
    }
    f
}

/// The kubelet's image back-off: 10 s after the first failed pull, doubled each time, at most
/// 300 s (kubernetes `pkg/kubelet/kubelet.go`: `imageBackOffPeriod`, `MaxImageBackOff`, doubled
/// by client-go's `flowcontrol.Backoff.Next`).
pub fn image_back_off(failures: u32) -> SignedDuration {
    let doublings = failures.saturating_sub(1).min(5);
    SignedDuration::from_secs((10i64 << doublings).min(300))
}

/// A pull the kubelet tries again after its back-off.
struct PullRetry {
    /// `retrying (attempt 4, next in about 25 s)`.
    says: String,
    /// The first failed pull the events still show.
    since: Timestamp,
}

/// The failed pulls of `image` the kubelet's `Failed to pull image` events count, and when its
/// back-off lets it try again. `None` without such an event (expired, or none recorded yet).
fn pull_retry(ctx: &PodCtx<'_, '_>, image: &str) -> Option<PullRetry> {
    let failed: Vec<&EventRecord> = ctx
        .events
        .iter()
        .copied()
        .filter(|e| {
            &*e.reason == "Failed"
                && e.message.starts_with("Failed to pull image")
                && image_in_message(&e.message).is_none_or(|i| i == image)
        })
        .collect();
    let failures = failed
        .iter()
        .fold(0u32, |n, e| n.saturating_add(e.count.max(1)));
    let last = failed.iter().filter_map(|e| e.last_time()).max()?;
    // Pulling again since: the pull in progress is the operation, not a retry to wait for.
    if ctx
        .event("Pulling", |_| true)
        .and_then(EventRecord::last_time)
        .is_some_and(|pulling| pulling > last)
    {
        return None;
    }
    let since = failed
        .iter()
        .filter_map(|e| e.first_time())
        .min()
        .unwrap_or(last);
    let left = last
        .checked_add(image_back_off(failures))
        .map_or(0, |at| at.duration_since(ctx.now).as_secs());
    let next = if left <= 0 {
        "next any moment".to_string()
    } else {
        format!("next in about {}", app::format::duration(left as u64))
    };
    Some(PullRetry {
        says: format!("retrying (attempt {}, {next})", failures.saturating_add(1)),
        since,
    })
}

/// Running again, not ready, after at least two restarts, the last one a failure.
fn restarted_after_failure(cs: &ContainerStatus) -> bool {
    let running = cs.state.as_ref().and_then(|s| s.running.as_ref()).is_some();
    let failed_last = cs
        .last_state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .is_some_and(|t| t.exit_code != 0);
    running && !cs.ready && cs.restart_count >= 2 && failed_last
}

fn crash_loop(
    index: &Index<'_>,
    ctx: &PodCtx<'_, '_>,
    cs: &ContainerStatus,
    label: &str,
    state: &str,
) -> Finding {
    let last = cs.last_state.as_ref().and_then(|s| s.terminated.as_ref());
    let exit = last.map(|t| (t.reason.clone().unwrap_or_default(), t.exit_code));
    let log = index.snapshot.logs.iter().find(|l| {
        l.namespace == ctx.ns
            && l.pod == ctx.name
            && l.container.as_deref().is_none_or(|c| c == cs.name)
    });
    let since = ctx
        .event("BackOff", |_| true)
        .and_then(EventRecord::first_time);
    let back_off = ctx
        .event("BackOff", |_| true)
        .map(|e| ctx.event_evidence(e));
    let source = format!("{}/{}", ctx.name, cs.name);
    let mut f = if let Some(signal) = log.and_then(|l| crash_signal(&l.lines)) {
        ctx.finding(
            signal.layer,
            Progress::Failed,
            signal.slug,
            signal.reason,
            signal.next_action,
        )
        .with_log_lines(ctx.ns, &source, &signal.lines)
    } else if let Some((reason, code)) = exit.as_ref().filter(|(r, _)| r == "OOMKilled") {
        ctx.finding(
            Layer::Pod,
            Progress::Failed,
            "oom",
            format!(
                "{label} of {} runs out of memory ({reason}, exit code {code})",
                ctx.name
            ),
            "Raise the container's memory limit, or free memory on the node.",
        )
    } else {
        let how = exit
            .as_ref()
            .map(|(r, c)| format!(" (last exit: {r}, code {c})"))
            .unwrap_or_default();
        let tail = log
            .map(|l| &l.lines[l.lines.len().saturating_sub(5)..])
            .unwrap_or(&[]);
        ctx.finding(
            Layer::Pod,
            Progress::Failed,
            "crash-loop",
            format!("{label} of {} keeps crashing{how}", ctx.name),
            "Read the container log (shown in evidence when available) for the cause.",
        )
        .with_log_lines(ctx.ns, &source, tail)
    };
    f = f.seen_at(since).with(ctx.pod_evidence(
        state,
        &format!("{label} restarted {} times", cs.restart_count),
    ));
    if let Some(e) = back_off {
        f = f.with(e);
    }
    f
}

/// `CreateContainerConfigError` and mount failures: name the missing thing.
fn config_error(ctx: &PodCtx<'_, '_>, label: &str, reason: &str, message: &str) -> Finding {
    let component = ctx.view.component;
    let f = if message.contains("failed to create subPath directory") {
        let pvcs = component.pvcs.join(", ");
        let what = if component.name == "db" {
            "Postgres PVC initialization failed"
        } else {
            "PVC initialization failed"
        };
        ctx.finding(Layer::Storage, Progress::Failed, "subpath",
            format!("{what}: the subPath directory on the data volume could not be created ({label} of {})", ctx.name),
            format!("Repair or recreate the PVC subPath directory{} (check that the volume is writable and not full), then delete pod {} to retry.",
                if pvcs.is_empty() { String::new() } else { format!(" of {pvcs}") }, ctx.name))
    } else if let Some(secret) = quoted_after(message, "secret \"") {
        ctx.finding(Layer::Config, Progress::Failed, "secret-missing",
            format!("Credentials missing: Secret {secret:?} not found (needed by {})", ctx.name),
            format!("Create the Secret {secret:?} in namespace {} (the bootstrap normally does), then the pod starts by itself.", ctx.ns))
    } else if message.contains("couldn't find key") {
        ctx.finding(
            Layer::Config,
            Progress::Failed,
            "secret-key-missing",
            format!(
                "A key is missing from a Secret used by {}: {message}",
                ctx.name
            ),
            "Add the missing key to the Secret named in the message.",
        )
    } else if let Some(cm) = quoted_after(message, "configmap \"") {
        ctx.finding(
            Layer::Config,
            Progress::Failed,
            "configmap-missing",
            format!("ConfigMap {cm:?} not found (needed by {})", ctx.name),
            format!(
                "Create the ConfigMap {cm:?} in namespace {} or fix the reference.",
                ctx.ns
            ),
        )
    } else {
        ctx.finding(
            Layer::Config,
            Progress::Failed,
            "config-error",
            format!("{label} of {} cannot be created: {message}", ctx.name),
            "Fix the configuration named in the message.",
        )
    };
    let mut f = f.with(ctx.pod_evidence(reason, message));
    if let Some(e) = ctx.event("Failed", |m| {
        !message.is_empty() && m.contains(message.trim_start_matches("Error: "))
    }) {
        f = f.seen_at(e.first_time()).with(ctx.event_evidence(e));
    }
    f
}

fn quoted_after<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    let start = message.find(prefix)? + prefix.len();
    let len = message[start..].find('"')?;
    Some(&message[start..start + len])
}

/// Causes that only events show: mounts, sandboxes, subPath, and pulls in progress.
fn event_level(
    inputs: &Inputs<'_>,
    ctx: &PodCtx<'_, '_>,
    now: Timestamp,
    out: &mut Vec<Finding>,
    ops: &mut Vec<Operation>,
) {
    let running_ok = ctx
        .pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .is_some_and(|cs| {
            !cs.is_empty()
                && cs
                    .iter()
                    .all(|c| c.state.as_ref().is_some_and(|s| s.running.is_some()))
        });
    if running_ok {
        return; // old mount or pull events of a pod that is running now are history
    }
    if let Some(e) = ctx.event("Failed", |m| {
        m.contains("failed to create subPath directory")
    }) {
        out.push(config_error(ctx, "container", "Failed", &e.message).seen_at(e.first_time()));
    }
    for reason in ["FailedMount", "FailedAttachVolume"] {
        if let Some(e) = ctx.event(reason, |_| true) {
            let msg = e.message.to_string();
            out.push(
                ctx.finding(Layer::Storage, Progress::Failed, "mount",
                    format!("A volume of {} cannot be mounted: {msg}", ctx.name),
                    "Check the PersistentVolumeClaim and the storage provisioner named in the message.")
                    .seen_at(e.first_time())
                    .with(ctx.event_evidence(e)),
            );
        }
    }
    if let Some(e) = ctx.event("FailedCreatePodSandBox", |_| true) {
        let msg = e.message.to_string();
        out.push(
            ctx.finding(
                Layer::Network,
                Progress::Failed,
                "sandbox",
                format!(
                    "The pod sandbox (network) for {} cannot be created: {msg}",
                    ctx.name
                ),
                "Check the node's container network (CNI) pods and the node conditions.",
            )
            .seen_at(e.first_time())
            .with(ctx.event_evidence(e)),
        );
    }
    // A pull in progress: `Pulling` newer than any `Pulled` / `Failed` for the pod.
    if let Some(pulling) = ctx.event("Pulling", |_| true) {
        let started = pulling.last_time();
        let done = ctx.events.iter().any(|e| {
            matches!(
                e.reason(),
                Some("Pulled") | Some("Failed") | Some("BackOff")
            ) && e.last_time() >= started
        });
        if let (false, Some(started)) = (done, started) {
            let image = image_in_message(&pulling.message)
                .unwrap_or("image")
                .to_string();
            let size = ctx.view.component.image_size_bytes;
            let elapsed = now.duration_since(started).as_secs().max(0);
            ops.push(Operation {
                kind: OperationKind::ImagePull,
                component: Some(ctx.view.component.name.clone()),
                tier: Some(ctx.view.component.tier),
                target: image.clone(),
                started,
                elapsed_seconds: elapsed as u64,
                size_bytes: size,
                message: format!("pulling for pod {}", ctx.name),
            });
            let expected = size.map(|s| {
                SignedDuration::from_secs(
                    (s / inputs.thresholds.pull_bytes_per_second.max(1)) as i64,
                )
            });
            let mut f = ctx.finding(Layer::Image, Progress::Progressing, "slow-pull",
                format!("Image pull of {image} is taking long ({} so far{})", app::format::duration(elapsed as u64),
                    size.map(|s| format!(", about {}", app::format::bytes(s))).unwrap_or_default()),
                "Nothing to do yet if the download is progressing; otherwise check the network speed to the registry.")
                .seen_at(Some(started))
                .with(ctx.event_evidence(pulling));
            // Twice the time the expected size takes: past that, a warning (never more by age).
            f.warn_after = expected.map(|e| e * 2);
            out.push(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduling_cause_is_extracted() {
        assert_eq!(
            scheduling_cause("0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."),
            "1 Insufficient memory"
        );
    }

    #[test]
    fn quoted_names() {
        assert_eq!(
            quoted_after(r#"secret "db-credentials" not found"#, "secret \""),
            Some("db-credentials")
        );
        assert_eq!(quoted_after("nothing", "secret \""), None);
    }
}

/// This rule through the whole assessment, on objects as the cluster writes them.
#[cfg(test)]
mod assessed {
    use crate::assess::testkit::*;

    #[test]
    fn oom_killed_crash_loop_says_out_of_memory() {
        let mut r = replay_to(mins(39));
        apply_yaml(
            &mut r.snapshot,
            &crash_pod("redis-0", "app: redis", "redis", "OOMKilled"),
        );
        let start = r.scenario.start;
        let doc = assess_twice(
            &mut r.snapshot,
            &r.probes,
            start + mins(40),
            start + mins(41),
        );
        let b = doc
            .top_blockers
            .iter()
            .find(|b| b.component == "redis")
            .unwrap();
        assert!(
            b.reason
                .contains("runs out of memory (OOMKilled, exit code 137)"),
            "{}",
            b.reason
        );
        assert!(b.login_blocking);
        // Redis is core: Alga is not usable while it crash-loops.
        assert!(!doc.tiers.core.ready && !doc.tiers.login.ready);
        assert_eq!(doc.rollup.state, RollupState::FailedActionRequired);
    }

    /// Between two crashes the kubelet runs the container again; without BackOff events to date it
    /// (expired, or a kwok node), the crash loop must not vanish and restart its hysteresis at every
    /// restart. Found on the smoke run's control plane (`server/tests/control_plane.rs`).
    #[test]
    fn a_crash_loop_keeps_its_blocker_while_the_container_runs_between_crashes() {
        let mut r = replay_to(mins(39));
        let start = r.scenario.start;
        let crashed = crash_pod("redis-0", "app: redis", "redis", "");
        let running_again = crashed
        .replace(
            r#"state: {waiting: {reason: CrashLoopBackOff, message: "back-off 5m0s restarting failed container"}}"#,
            r#"state: {running: {startedAt: "2026-04-30T01:40:20Z"}}"#,
        )
        .replace("restartCount: 7", "restartCount: 8");
        assert_ne!(crashed, running_again);
        // Applies a pod state and assesses twice, `first` and `second` seconds after minute 40.
        let mut step = |yaml: &str, first: i64, second: i64| {
            apply_yaml(&mut r.snapshot, yaml);
            let at = |secs| start + mins(40) + SignedDuration::from_secs(secs);
            assess_twice(&mut r.snapshot, &r.probes, at(first), at(second))
        };
        let doc = step(&crashed, 0, 5);
        assert!(
            doc.top_blockers.iter().all(|b| b.component != "redis"),
            "within hysteresis"
        );
        let doc = step(&running_again, 20, 25);
        assert!(
            doc.top_blockers.iter().all(|b| b.component != "redis"),
            "still within hysteresis"
        );
        let doc = step(&crashed, 36, 37);
        let b = doc
            .top_blockers
            .iter()
            .find(|b| b.component == "redis")
            .expect("shown 36 s after the first crash, across the restart");
        assert_eq!(b.since, start + mins(40));
        assert!(b.reason.contains("keeps crashing"), "{}", b.reason);
        // And while it runs between crashes, it is still the crash loop.
        let doc = step(&running_again, 40, 41);
        assert!(doc
            .top_blockers
            .iter()
            .any(|b| b.component == "redis" && b.reason.contains("keeps crashing")));
    }

    #[test]
    fn unauthorized_and_dns_pulls_are_classified_from_the_failed_event() {
        let mut snap = Snapshot::default();
        let image = "ghcr.io/nine-minds/alga-psa-ee:1.0-rc5";
        let unauthorized = format!(
            r#"Failed to pull image "{image}": rpc error: code = Unknown desc = failed to pull and unpack image "{image}": failed to resolve reference "{image}": failed to authorize: failed to fetch anonymous token: unexpected status: 403 Forbidden"#
        );
        apply_yaml(
            &mut snap,
            &(waiting_core_pod(
                image,
                "ImagePullBackOff",
                &format!(r#"Back-off pulling image "{image}""#),
            ) + &core_pod_event(
                "e1",
                "Failed",
                1,
                ("2026-04-30T02:00:00Z", "2026-04-30T02:00:00Z"),
                &unauthorized,
            )),
        );
        let t0 = ts("2026-04-30T02:00:00Z");
        let doc = assess_twice(&mut snap, &Probes::default(), t0, t0 + mins(1));
        let b = top(&doc);
        assert_eq!((b.component.as_str(), b.layer), ("alga-core", Layer::Image));
        assert!(
            b.reason.starts_with("Not authorized to pull image"),
            "{}",
            b.reason
        );
        assert!(b.next_action.contains("image pull secrets"));

        // The original event expires: only the back-off text is left; still a pull failure.
        snap.events.clear();
        let doc = assess_twice(&mut snap, &Probes::default(), t0 + mins(1), t0 + mins(70));
        let b = top(&doc);
        assert_eq!((b.component.as_str(), b.layer), ("alga-core", Layer::Image));
        assert!(
            b.reason.starts_with("Not authorized to pull image")
                && b.reason.contains("original event has expired"),
            "{}",
            b.reason
        );
        assert_eq!(
            b.since, t0,
            "the blocker keeps its first-seen time after the event expired"
        );
    }

    /// With imagePullPolicy IfNotPresent the kubelet asks the runtime for the image's status before
    /// pulling; a runtime whose socket refuses shows as `ImageInspectError` (image_manager.go
    /// "Failed to inspect image %q: %v", with the imageRef it did not get). That is the node's
    /// runtime not answering, not a refusal of the container (corpus case 31); a runtime that does
    /// answer and refuses stays the container's problem.
    #[test]
    fn an_inspect_error_on_the_runtime_socket_is_the_runtime_not_answering() {
        let pod = |message: &str| {
            waiting_core_pod(
                "ghcr.io/nine-minds/alga-psa-ee:3c9b1f0a",
                "ImageInspectError",
                message,
            )
        };
        let t0 = ts("2026-04-30T02:00:00Z");
        let blocker = |message: &str| {
            let mut snap = Snapshot::default();
            apply_yaml(&mut snap, &pod(message));
            let doc = assess_twice(&mut snap, &Probes::default(), t0, t0 + mins(1));
            top(&doc).clone()
        };
        let down = blocker(
            r#"Failed to inspect image "": rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial unix /run/containerd/containerd.sock: connect: connection refused""#,
        );
        assert_eq!(
            (down.component.as_str(), down.layer),
            ("alga-core", Layer::Node)
        );
        assert!(
            down.reason.starts_with(
                "The node's container runtime did not answer the kubelet for container main"
            ),
            "{}",
            down.reason
        );
        assert!(
            down.next_action.contains("talosctl service cri"),
            "{}",
            down.next_action
        );
        let refused = blocker(
            r#"Failed to inspect image "": rpc error: code = DeadlineExceeded desc = context deadline exceeded"#,
        );
        assert_eq!(refused.layer, Layer::Pod);
        assert!(
            refused
                .reason
                .starts_with("The container runtime refused container main"),
            "{}",
            refused.reason
        );
    }

    #[test]
    fn unschedulable_pod_names_the_scheduling_cause() {
        let mut snap = Snapshot::default();
        apply_yaml(
            &mut snap,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: db-0, namespace: msp, labels: {app: db}}
spec: {containers: [{name: db, image: "ankane/pgvector:latest"}]}
status:
  phase: Pending
  conditions:
  - {type: PodScheduled, status: "False", reason: Unschedulable, lastTransitionTime: "2026-04-30T02:00:00Z", message: "0/1 nodes are available: 1 Insufficient memory."}
---
apiVersion: v1
kind: Event
metadata: {name: e1, namespace: msp}
involvedObject: {kind: Pod, namespace: msp, name: db-0}
reason: FailedScheduling
type: Warning
lastTimestamp: "2026-04-30T02:00:05Z"
message: "0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
"#,
        );
        let t0 = ts("2026-04-30T02:00:00Z");
        let doc = assess_twice(&mut snap, &Probes::default(), t0, t0 + mins(1));
        let b = top(&doc);
        assert_eq!((b.component.as_str(), b.layer), ("db", Layer::Node));
        assert!(
            b.reason
                .ends_with("cannot be scheduled: 1 Insufficient memory"),
            "{}",
            b.reason
        );
    }

    #[test]
    fn slow_pull_is_progress_not_failure_until_past_its_scaled_threshold() {
        let mut r = replay_to(mins(3));
        // Take the Postgres failure out to look at the pull alone.
        let db_ok = r
            .scenario
            .steps
            .iter()
            .find(|s| s.at == mins(36))
            .unwrap()
            .clone();
        crate::scenario::apply_step(&mut r.snapshot, &mut r.probes, &db_ok);
        let start = r.scenario.start;
        let at = |m| start + mins(m);
        let doc = assess_twice(&mut r.snapshot, &r.probes, at(3), at(13));
        let pull = doc
            .active_operations
            .iter()
            .find(|o| o.kind == OperationKind::ImagePull)
            .expect("the pull is an operation");
        assert_eq!(pull.target, "ghcr.io/nine-minds/alga-psa-ee:1.0-rc5");
        assert_eq!(pull.size_bytes, Some(1_843_201_234));
        assert_eq!(pull.elapsed_seconds, 588, "started 3m12s in");
        assert!(
            (580..=600).contains(&pull.elapsed_seconds),
            "{}",
            pull.elapsed_seconds
        );
        assert!(
            !doc.top_blockers.iter().any(|b| b.component == "alga-core"),
            "a 10-minute pull of 1.8 GB is normal: {:#?}",
            doc.top_blockers
        );
        assert_eq!(doc.rollup.state, RollupState::Installing);
        assert!(
            doc.rollup.message.contains("alga-psa-ee"),
            "{}",
            doc.rollup.message
        );
        // 1.8 GB at 2 MB/s is ~15 min expected: a warning after twice that, and never more by age
        // alone (issue 8, class 3): a slow pull is not a failed install.
        for minutes in [35, 50, 90] {
            let doc = assess_twice(&mut r.snapshot, &r.probes, at(13), at(3 + minutes));
            let slow = doc
                .top_blockers
                .iter()
                .find(|b| b.id.ends_with("slow-pull"))
                .unwrap_or_else(|| panic!("slow after {minutes} min"));
            assert_eq!(
                (slow.escalation, slow.severity, slow.login_blocking),
                (Escalation::Warning, Severity::Warning, false),
                "at {minutes} min"
            );
            assert_eq!(
                doc.rollup.state,
                RollupState::Installing,
                "at {minutes} min"
            );
        }
    }

    #[test]
    fn missing_secret_is_a_credentials_blocker() {
        let mut snap = Snapshot::default();
        apply_yaml(
            &mut snap,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: redis-0, namespace: msp, labels: {app: redis}}
spec: {containers: [{name: redis, image: "redis:latest"}]}
status:
  phase: Pending
  containerStatuses:
  - {name: redis, image: "redis:latest", imageID: "", ready: false, restartCount: 0, state: {waiting: {reason: CreateContainerConfigError, message: 'secret "redis-credentials" not found'}}}
"#,
        );
        let t0 = ts("2026-04-30T02:00:00Z");
        let doc = assess_twice(&mut snap, &Probes::default(), t0, t0 + mins(1));
        let b = top(&doc);
        assert_eq!((b.component.as_str(), b.layer), ("redis", Layer::Config));
        assert!(
            b.reason.contains(r#"Secret "redis-credentials" not found"#),
            "{}",
            b.reason
        );
        let cred = doc
            .tiers
            .core
            .checks
            .iter()
            .find(|c| c.name == "core.credentials")
            .unwrap();
        assert_eq!(cred.state, CheckState::Failed);
        assert_eq!(doc.rollup.state, RollupState::FailedActionRequired);
    }

    /// An interrupted pull in its back-off is one attempt of several: at once an operation that
    /// says so (attempt and next try from the kubelet's own events and back-off), never a
    /// failure; the same pull failing for a cause stays a failure.
    #[test]
    fn an_interrupted_pull_is_shown_retrying_with_its_attempt_and_next_try() {
        let image = "ghcr.io/nine-minds/alga-psa-ee:1.0-rc5";
        // `first`: when the first failed pull happened (the event's firstTimestamp).
        let pod = |cause: &str, count: u32, first: &str| {
            let back_off = format!(r#"Back-off pulling image "{image}""#);
            waiting_core_pod(image, "ImagePullBackOff", &back_off)
                + &core_pod_event(
                    "e1",
                    "Failed",
                    count,
                    (first, "2026-04-30T02:00:00Z"),
                    &format!(r#"Failed to pull image "{image}": {cause}"#),
                )
        };
        // kubelet `PullImage` error wrapped by the CRI (containerd `pull.go`: "failed to pull
        // and unpack image"), cancelled.
        let canceled = format!("rpc error: code = Canceled desc = failed to pull and unpack image \"{image}\": context canceled");
        let t0 = ts("2026-04-30T02:00:00Z");
        for (count, at, says) in [
            (1, 4, "retrying (attempt 2, next in about 6 s)"),
            (3, 5, "retrying (attempt 4, next in about 35 s)"),
            (9, 100, "retrying (attempt 10, next in about 3 min 20 s)"),
            (2, 30, "retrying (attempt 3, next any moment)"),
        ] {
            let mut snap = Snapshot::default();
            apply_yaml(&mut snap, &pod(&canceled, count, "2026-04-30T01:58:00Z"));
            let now = t0 + SignedDuration::from_secs(at);
            let doc = assess_twice(&mut snap, &Probes::default(), now, now);
            let op = doc
                .active_operations
                .iter()
                .find(|o| o.kind == OperationKind::ImagePull && o.target == image)
                .unwrap_or_else(|| panic!("no pull operation: {:#?}", doc.active_operations));
            assert!(
                op.message.contains(says) && op.message.ends_with("no action needed yet"),
                "{count} failures, {at} s after the last: {}",
                op.message
            );
            assert!(
                doc.top_blockers.is_empty() && doc.unconfirmed.is_empty(),
                "{:#?}",
                doc.top_blockers
            );
            assert_eq!(doc.rollup.state, RollupState::Installing);
        }
        // Pulling again since the failure: the pull in progress is the operation, not a retry.
        let mut snap = Snapshot::default();
        let pulling_again = pod(&canceled, 2, "2026-04-30T01:58:00Z")
            + &core_pod_event(
                "e2",
                "Pulling",
                3,
                ("2026-04-30T01:58:00Z", "2026-04-30T02:00:30Z"),
                &format!(r#"Pulling image "{image}""#),
            );
        apply_yaml(&mut snap, &pulling_again);
        let now = t0 + SignedDuration::from_secs(40);
        let doc = assess_twice(&mut snap, &Probes::default(), now, now);
        assert!(
            doc.active_operations
                .iter()
                .all(|o| !o.message.contains("retrying")),
            "{:#?}",
            doc.active_operations
        );
        // Long interrupted: a warning that still says it retries, not a failure.
        let mut snap = Snapshot::default();
        apply_yaml(&mut snap, &pod(&canceled, 12, "2026-04-30T01:50:00Z"));
        let doc = assess_twice(&mut snap, &Probes::default(), t0, t0 + mins(40));
        let b = top(&doc);
        assert!(b.reason.contains("retrying (attempt 13"), "{}", b.reason);
        assert_ne!(doc.rollup.state, RollupState::FailedActionRequired);
        // The same back-off after a cause (here a missing tag) is a failure, with no retry story.
        let mut snap = Snapshot::default();
        apply_yaml(&mut snap, &pod(&format!("rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": {image}: not found"), 3, "2026-04-30T01:58:00Z"));
        let doc = assess_twice(&mut snap, &Probes::default(), t0, t0 + mins(2));
        let b = top(&doc);
        assert!(
            b.reason.starts_with("Image tag not found") && !b.reason.contains("retrying"),
            "{}",
            b.reason
        );
        assert!(doc
            .active_operations
            .iter()
            .all(|o| o.kind != OperationKind::ImagePull));
    }

    #[test]
    fn the_image_back_off_doubles_from_ten_seconds_to_five_minutes() {
        let secs: Vec<i64> = (1..=8)
            .map(|n| super::image_back_off(n).as_secs())
            .collect();
        assert_eq!(secs, [10, 20, 40, 80, 160, 300, 300, 300]);
        assert_eq!(super::image_back_off(0).as_secs(), 10);
        assert_eq!(super::image_back_off(u32::MAX).as_secs(), 300);
    }
}
