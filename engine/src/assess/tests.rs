//! The engine as a whole: the observed bootstrap's expectations step by step, the document's
//! shape, and the property tests (a verdict never contradicts itself, whatever the cluster).
//! Each rule's own tests sit beside it (`pod.rs`, `platform.rs`, `flux.rs`, …), on `testkit`.

use super::testkit::*;

// ------------------------------------------------------------------------------------------------
// The scenario: every step's expectation (PRD acceptance 3, 4, 5, 6 and each observed problem).
// ------------------------------------------------------------------------------------------------

#[test]
fn observed_bootstrap_meets_every_step_expectation() {
    let scenario = Scenario::observed_bootstrap();
    let mut replay = Replay::new(scenario.clone());
    let mut checked = 0;
    for step in &scenario.steps {
        replay.advance_to(step.at);
        let Some(expect) = &step.expect else { continue };
        let at = scenario.start + step.at;
        let now = at + expect.check_after.unwrap_or(SignedDuration::from_mins(2));
        let doc = assess_twice(&mut replay.snapshot, &replay.probes, at, now);
        assert_eq!(
            invariants::contradictions(&doc),
            Vec::<String>::new(),
            "step {:?}",
            step.name
        );
        assert_eq!(
            doc.rollup.state, expect.rollup,
            "step {:?}: {:#?}\n{:#?}",
            step.name, doc.rollup, doc.top_blockers
        );
        assert_eq!(
            ready_tiers(&doc),
            expect.ready,
            "step {:?}: tiers {:#?}",
            step.name,
            doc.tiers
        );
        match &expect.top_blocker {
            Some(b) => {
                let t = top(&doc);
                assert_eq!(
                    (t.component.as_str(), t.layer, t.login_blocking),
                    (b.component.as_str(), b.layer, b.login_blocking),
                    "step {:?}: blockers {:#?}",
                    step.name,
                    doc.top_blockers
                );
            }
            None => assert!(
                doc.top_blockers.is_empty(),
                "step {:?}: unexpected blockers {:#?}",
                step.name,
                doc.top_blockers
            ),
        }
        checked += 1;
    }
    assert_eq!(
        checked,
        scenario.steps.len(),
        "every step of the demo carries an expectation"
    );
}

#[test]
fn document_shape_carries_release_urls_and_components() {
    let mut r = replay_to(mins(55));
    let start = r.scenario.start;
    let doc = assess_twice(
        &mut r.snapshot,
        &r.probes,
        start + mins(55),
        start + mins(57),
    );
    assert_eq!(doc.site_id, "appliance-single-node");
    assert_eq!(
        doc.release.selected_release_version.as_deref(),
        Some("1.0-rc5")
    );
    assert_eq!(doc.release.channel.as_deref(), Some("candidate"));
    assert!(doc
        .release
        .git_revision
        .as_deref()
        .unwrap()
        .starts_with("release/1.0-rc5@sha1:979e2079"));
    assert_eq!(
        doc.urls.login_url.as_deref(),
        Some("http://192.168.64.8:3000")
    );
    assert_eq!(
        doc.urls.status_url.as_deref(),
        Some("http://192.168.64.8:8080")
    );
    assert_eq!(doc.components.len(), catalog().components.len());
    let tw = doc
        .components
        .iter()
        .find(|c| c.name == "temporal-worker")
        .unwrap();
    assert_eq!(
        (tw.ready, tw.desired, tw.status),
        (2, 2, ComponentState::Ready)
    );
    assert!(doc
        .components
        .iter()
        .any(|c| c.name == "pgbouncer" && c.status == ComponentState::Missing));
    let json = serde_json::to_value(&doc).unwrap();
    assert_eq!(json["rollup"]["state"], "fully_healthy");
}

// ------------------------------------------------------------------------------------------------
// Properties.
// ------------------------------------------------------------------------------------------------

mod properties {
    use super::*;
    use proptest::prelude::*;

    const BACKGROUND: [(&str, &str); 5] = [
        ("temporal", "app.kubernetes.io/name: temporal, app.kubernetes.io/instance: temporal, app.kubernetes.io/component: server"),
        ("temporal-ui", "app.kubernetes.io/name: temporal, app.kubernetes.io/instance: temporal, app.kubernetes.io/component: ui"),
        ("email-service", "app.kubernetes.io/name: email-service, app.kubernetes.io/instance: email-service"),
        ("workflow-worker", "app.kubernetes.io/name: workflow-worker, app.kubernetes.io/instance: workflow-worker"),
        ("temporal-worker", "app.kubernetes.io/name: temporal-worker, app.kubernetes.io/instance: temporal-worker"),
    ];
    const WAITING: [&str; 5] = [
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "CreateContainerConfigError",
        "ErrImagePull",
        "RunContainerError",
    ];

    fn background_pod(i: usize, component: usize, waiting: usize, ready: bool) -> String {
        let (name, labels) = BACKGROUND[component];
        let release = if name == "temporal-ui" {
            "temporal"
        } else {
            name
        };
        let state = if ready {
            "running: {startedAt: \"2026-04-30T01:50:00Z\"}".to_string()
        } else {
            format!(
                "waiting: {{reason: {}, message: 'failed: not found'}}",
                WAITING[waiting]
            )
        };
        format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}-p{i}, namespace: msp, labels: {{{labels}}}}}\nspec: {{containers: [{{name: c, image: \"x:1\"}}]}}\nstatus:\n  phase: Running\n  containerStatuses:\n  - {{name: c, image: \"x:1\", imageID: \"\", ready: {ready}, restartCount: 3, state: {{{state}}}}}\n---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {{name: {release}, namespace: alga-system}}\nstatus:\n  conditions:\n  - {{type: Ready, status: \"False\", reason: InstallFailed, message: \"context deadline exceeded\", lastTransitionTime: \"2026-04-30T01:50:00Z\"}}\n")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Whatever happens to background components, LOGIN_READY does not change.
        #[test]
        fn background_state_never_changes_login_ready(
            pods in proptest::collection::vec((0usize..5, 0usize..5, any::<bool>()), 0..8),
            at_step in prop_oneof![Just(36i64), Just(39), Just(42), Just(55)],
        ) {
            let base = replay_to(mins(at_step));
            let start = base.scenario.start;
            let mut plain = base.clone();
            let expected = assess_twice(&mut plain.snapshot, &plain.probes, start + mins(at_step), start + mins(at_step + 2)).tiers.login.ready;
            let mut changed = base;
            for (i, (component, waiting, ready)) in pods.into_iter().enumerate() {
                apply_yaml(&mut changed.snapshot, &background_pod(i, component, waiting, ready));
            }
            let doc = assess_twice(&mut changed.snapshot, &changed.probes, start + mins(at_step), start + mins(at_step + 2));
            prop_assert_eq!(doc.tiers.login.ready, expected);
            if doc.tiers.login.ready {
                prop_assert_ne!(doc.rollup.state, RollupState::FailedActionRequired);
            }
        }

        /// A known pod-level cause always outranks (and absorbs) the HelmRelease timeout it explains.
        #[test]
        fn lower_cause_outranks_the_helm_timeout(component in 0usize..5, waiting in 0usize..5) {
            let mut snap = Snapshot::default();
            apply_yaml(&mut snap, &background_pod(0, component, waiting, false));
            let t0 = ts("2026-04-30T02:00:00Z");
            let doc = assess_twice(&mut snap, &Probes::default(), t0, t0 + mins(1));
            let name = BACKGROUND[component].0;
            let own: Vec<_> = doc.top_blockers.iter().filter(|b| b.component == name).collect();
            prop_assert!(!own.is_empty());
            prop_assert!(own[0].layer != Layer::Helm, "{:?}", own[0]);
            prop_assert!(own.iter().all(|b| b.layer != Layer::Helm));
            prop_assert!(own[0].evidence.iter().any(|e| e.kind == "HelmRelease"));
        }

        /// `assess` never panics, whatever objects come in.
        #[test]
        fn assess_never_panics_on_arbitrary_objects(objects in proptest::collection::vec(arbitrary_object(), 0..12)) {
            let mut snap = Snapshot::default();
            for value in objects {
                if let Ok(Some(o)) = crate::objects::object_from_value(value) {
                    snap.apply(o);
                }
            }
            snap.remember();
            let t0 = ts("2026-04-30T02:00:00Z");
            let doc = assess_twice(&mut snap, &Probes::default(), t0, t0 + mins(30));
            prop_assert!(serde_json::to_string(&doc).is_ok());
        }
    }

    fn arbitrary_object() -> impl Strategy<Value = serde_json::Value> {
        let kinds = prop_oneof![
            Just(("v1", "Pod")),
            Just(("v1", "Event")),
            Just(("v1", "Node")),
            Just(("apps/v1", "Deployment")),
            Just(("apps/v1", "StatefulSet")),
            Just(("batch/v1", "Job")),
            Just(("v1", "PersistentVolumeClaim")),
            Just(("helm.toolkit.fluxcd.io/v2", "HelmRelease")),
            Just(("kustomize.toolkit.fluxcd.io/v1", "Kustomization")),
            Just(("v1", "ConfigMap")),
            Just(("source.toolkit.fluxcd.io/v1", "GitRepository")),
        ];
        let names = prop_oneof![
            Just("db-0"),
            Just("redis-0"),
            Just("alga-core"),
            Just("workflow-worker"),
            Just("x"),
            Just("")
        ];
        let text = prop_oneof![
            Just("failed to create subPath directory for volumeMount \"db-data\" of container \"db\""),
            Just("lookup ghcr.io on 192.168.64.1:53: connection refused"), Just("context deadline exceeded"),
            Just("not found"), Just(""), Just("lookup "), Just("image \""), Just("secret \""),
        ];
        let reasons = prop_oneof![
            Just("CrashLoopBackOff"),
            Just("ImagePullBackOff"),
            Just("CreateContainerConfigError"),
            Just("Failed"),
            Just("Pulling"),
            Just("InstallFailed"),
            Just("")
        ];
        (kinds, names, text, reasons, any::<bool>(), 0i64..100_000).prop_map(|((api, kind), name, text, reason, flag, n)| {
            let t = format!("2026-04-30T{:02}:{:02}:00Z", (n / 60) % 24, n % 60);
            serde_json::json!({
                "apiVersion": api, "kind": kind,
                "metadata": {"name": name, "namespace": if flag { "msp" } else { "alga-system" }, "labels": {"app": "db", "job-name": name}, "creationTimestamp": t},
                "involvedObject": {"kind": "Pod", "namespace": "msp", "name": name},
                "reason": reason, "message": text, "type": if flag { "Warning" } else { "Normal" }, "lastTimestamp": t,
                "spec": {"replicas": n % 4, "containers": [{"name": "c", "image": text}], "selector": {}, "template": {}},
                "status": {
                    "phase": if flag { "Pending" } else { "Lost" },
                    "replicas": n % 3, "readyReplicas": n % 2,
                    "conditions": [{"type": "Ready", "status": if flag { "False" } else { "Unknown" }, "reason": reason, "message": text, "lastTransitionTime": t}],
                    "containerStatuses": [{"name": "c", "image": text, "imageID": "", "ready": flag, "restartCount": n % 5,
                        "state": {"waiting": {"reason": reason, "message": text}},
                        "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}]
                }
            })
        })
    }
}

// ------------------------------------------------------------------------------------------------
// One verdict: generated snapshots of the real appliance, held to the invariants.
// ------------------------------------------------------------------------------------------------

mod one_verdict {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    /// The corpus's healthy appliance: every kind, as `kubectl get -A -o yaml` prints it.
    const HEALTHY: &str = include_str!("../../../server/corpus/01-fully-healthy/dump.yaml");
    const AT: &str = "2026-04-30T02:00:00Z";

    /// Pods of catalog components, by name prefix, with their main container.
    const PODS: [&str; 14] = [
        "coredns-",
        "local-path-provisioner-",
        "helm-controller-",
        "appliance-status-",
        "db-0",
        "redis-0",
        "pgbouncer-",
        "alga-core-sebastian-",
        "temporal-5",
        "temporal-ui-",
        "email-service-",
        "workflow-worker-",
        "temporal-worker-",
        "source-controller-",
    ];

    /// What happens to one pod. The first five only take time; the rest are failures.
    #[derive(Clone, Copy, Debug)]
    enum PodFate {
        Pulling(i64),
        NotReady,
        InitWait,
        Interrupted,
        Ready,
        TagMissing,
        CrashLoop,
        SecretMissing,
        Unschedulable,
        Stalled,
    }

    impl PodFate {
        fn fails(self) -> bool {
            matches!(
                self,
                PodFate::TagMissing
                    | PodFate::CrashLoop
                    | PodFate::SecretMissing
                    | PodFate::Unschedulable
                    | PodFate::Stalled
            )
        }
    }

    /// What happens to one Flux object (HelmRelease or Kustomization).
    #[derive(Clone, Copy, Debug)]
    enum FluxFate {
        Ready,
        Reconciling(i64),
        Depends,
        NotObserved,
        InstallFailed,
        UpgradeFailed,
        /// Failed `n` times, retried by helm-controller every 5 minutes (RetryOnFailure), the last
        /// failure `m` minutes ago: progress, never a failure.
        Retrying(i64, i64),
    }

    impl FluxFate {
        fn fails(self) -> bool {
            matches!(self, FluxFate::InstallFailed | FluxFate::UpgradeFailed)
        }
    }

    #[derive(Clone, Debug)]
    struct World {
        pods: Vec<(usize, PodFate)>,
        flux: Vec<(usize, FluxFate)>,
        job: Option<bool>,
        node_down: bool,
        login_probe: Option<bool>,
        seed: Option<u8>,
        mode_fresh: bool,
        minutes_later: i64,
    }

    impl World {
        fn fails(&self) -> bool {
            self.pods.iter().any(|(_, f)| f.fails())
                || self.flux.iter().any(|(_, f)| f.fails())
                || self.job == Some(false)
                || self.node_down
                || self.login_probe == Some(false)
                || self.seed == Some(0)
                || self.mode_fresh
        }
    }

    fn pod_fate(failures: bool) -> BoxedStrategy<PodFate> {
        let progressing = prop_oneof![
            (1i64..40).prop_map(PodFate::Pulling),
            Just(PodFate::NotReady),
            Just(PodFate::InitWait),
            Just(PodFate::Interrupted),
            Just(PodFate::Ready),
        ];
        if !failures {
            return progressing.boxed();
        }
        prop_oneof![
            progressing,
            Just(PodFate::TagMissing),
            Just(PodFate::CrashLoop),
            Just(PodFate::SecretMissing),
            Just(PodFate::Unschedulable),
            Just(PodFate::Stalled),
        ]
        .boxed()
    }

    fn flux_fate(failures: bool) -> BoxedStrategy<FluxFate> {
        let progressing = prop_oneof![
            Just(FluxFate::Ready),
            (1i64..29).prop_map(FluxFate::Reconciling),
            Just(FluxFate::Depends),
            Just(FluxFate::NotObserved),
            (1i64..20, 1i64..40).prop_map(|(n, m)| FluxFate::Retrying(n, m)),
        ];
        if !failures {
            return progressing.boxed();
        }
        prop_oneof![
            progressing,
            Just(FluxFate::InstallFailed),
            Just(FluxFate::UpgradeFailed)
        ]
        .boxed()
    }

    fn world(failures: bool) -> impl Strategy<Value = World> {
        let f = failures;
        (
            proptest::collection::vec((0..PODS.len(), pod_fate(f)), 0..6),
            proptest::collection::vec((0usize..11, flux_fate(f)), 0..5),
            if f {
                proptest::option::of(any::<bool>()).boxed()
            } else {
                proptest::option::of(Just(true)).boxed()
            },
            if f {
                any::<bool>().boxed()
            } else {
                Just(false).boxed()
            },
            if f {
                proptest::option::of(any::<bool>()).boxed()
            } else {
                proptest::option::of(Just(true)).boxed()
            },
            if f {
                proptest::option::of(0u8..3).boxed()
            } else {
                proptest::option::of(1u8..3).boxed()
            },
            if f {
                any::<bool>().boxed()
            } else {
                Just(false).boxed()
            },
            0i64..60,
        )
            .prop_map(
                |(pods, flux, job, node_down, login_probe, seed, mode_fresh, minutes_later)| {
                    World {
                        pods,
                        flux,
                        job,
                        node_down,
                        login_probe,
                        seed,
                        mode_fresh,
                        minutes_later,
                    }
                },
            )
    }

    fn ago(minutes: i64) -> String {
        (ts(AT) - mins(minutes)).to_string()
    }

    fn event(
        ns: &str,
        pod: &str,
        reason: &str,
        message: &str,
        minutes: i64,
        warning: bool,
    ) -> Value {
        json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": format!("{pod}.{reason}.{minutes}.{}", message.len()), "namespace": ns},
            "involvedObject": {"kind": "Pod", "namespace": ns, "name": pod},
            "reason": reason, "message": message, "type": if warning { "Warning" } else { "Normal" },
            "firstTimestamp": ago(minutes), "lastTimestamp": ago(minutes.min(1)), "count": 3
        })
    }

    /// Makes the pod's owner (Deployment or StatefulSet) report it unready; with `stalled`, its
    /// rollout passed the progress deadline.
    fn unready_owner(items: &mut [Value], pod: &Value, stalled: bool) {
        let hash = pod["metadata"]["labels"]["pod-template-hash"]
            .as_str()
            .map(str::to_string);
        let owner = pod["metadata"]["ownerReferences"][0]["name"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let workload = match &hash {
            Some(h) => owner.trim_end_matches(&format!("-{h}")).to_string(),
            None => owner,
        };
        for item in items.iter_mut() {
            let kind = item["kind"].as_str().unwrap_or("").to_string();
            if !(kind == "Deployment" || kind == "StatefulSet")
                || item["metadata"]["name"] != workload.as_str()
            {
                continue;
            }
            item["status"]["readyReplicas"] = json!(0);
            item["status"]["availableReplicas"] = json!(0);
            if kind == "Deployment" {
                let rs = format!("{workload}-{}", hash.clone().unwrap_or_default());
                let mut conds = vec![
                    json!({"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable", "message": "Deployment does not have minimum availability.", "lastTransitionTime": ago(20)}),
                ];
                conds.push(if stalled {
                    json!({"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": format!("ReplicaSet \"{rs}\" has timed out progressing."), "lastTransitionTime": ago(10)})
                } else {
                    json!({"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated", "message": format!("ReplicaSet \"{rs}\" is progressing."), "lastTransitionTime": ago(20)})
                });
                item["status"]["conditions"] = json!(conds);
            }
        }
    }

    fn unready_containers(status: &mut Value) {
        for c in status["containerStatuses"]
            .as_array_mut()
            .into_iter()
            .flatten()
        {
            c["ready"] = json!(false);
        }
    }

    fn apply_pod(items: &mut Vec<Value>, prefix: &str, fate: PodFate) {
        let Some(i) = items.iter().position(|v| {
            v["kind"] == "Pod"
                && v["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with(prefix))
        }) else {
            return;
        };
        let pod = items[i].clone();
        let ns = pod["metadata"]["namespace"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let name = pod["metadata"]["name"].as_str().unwrap_or("").to_string();
        let container = pod["spec"]["containers"][0]["name"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let image = pod["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let waiting = |reason: &str, message: &str| {
            json!([{"name": container, "image": image, "imageID": "", "ready": false, "restartCount": 4, "started": false,
            "state": {"waiting": {"reason": reason, "message": message}},
            "lastState": {"terminated": {"reason": "Error", "exitCode": 1, "startedAt": ago(3), "finishedAt": ago(2)}}}])
        };
        let mut extra = Vec::new();
        let status = &mut items[i]["status"];
        match fate {
            PodFate::Ready => return,
            PodFate::Pulling(m) => {
                status["containerStatuses"] = waiting("ContainerCreating", "");
                extra.push(event(
                    &ns,
                    &name,
                    "Pulling",
                    &format!("Pulling image \"{image}\""),
                    m,
                    false,
                ));
            }
            PodFate::NotReady => unready_containers(status),
            PodFate::InitWait => {
                status["containerStatuses"] = waiting("PodInitializing", "");
                status["initContainerStatuses"] = json!([{"name": "wait-for-bootstrap", "image": "busybox:1.36", "imageID": "", "ready": false, "restartCount": 0, "started": true, "state": {"running": {"startedAt": ago(15)}}}]);
            }
            PodFate::Interrupted => {
                status["containerStatuses"] = waiting("ContainerCreating", "");
                extra.push(event(&ns, &name, "Failed", &format!("Failed to pull image \"{image}\": rpc error: code = Canceled desc = failed to pull and unpack image \"{image}\": context canceled"), 3, true));
                extra.push(event(
                    &ns,
                    &name,
                    "Pulling",
                    &format!("Pulling image \"{image}\""),
                    2,
                    false,
                ));
            }
            PodFate::TagMissing => {
                status["containerStatuses"] = waiting(
                    "ImagePullBackOff",
                    &format!("Back-off pulling image \"{image}\""),
                );
                extra.push(event(&ns, &name, "Failed", &format!("Failed to pull image \"{image}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": {image}: not found"), 8, true));
            }
            PodFate::CrashLoop => {
                status["containerStatuses"] = waiting(
                    "CrashLoopBackOff",
                    "back-off 5m0s restarting failed container",
                );
                extra.push(event(
                    &ns,
                    &name,
                    "BackOff",
                    &format!(
                        "Back-off restarting failed container {container} in pod {name}_{ns}(0a1b)"
                    ),
                    9,
                    true,
                ));
            }
            PodFate::SecretMissing => {
                status["containerStatuses"] = waiting(
                    "CreateContainerConfigError",
                    "secret \"db-credentials\" not found",
                );
            }
            PodFate::Unschedulable => {
                status["containerStatuses"] = json!([]);
                status["conditions"] = json!([{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/1 nodes are available: 1 Insufficient memory.", "lastTransitionTime": ago(6)}]);
                extra.push(json!({
                    "apiVersion": "v1", "kind": "Event", "metadata": {"name": format!("{name}.sched"), "namespace": ns},
                    "involvedObject": {"kind": "Pod", "namespace": ns, "name": name}, "reason": "FailedScheduling", "type": "Warning",
                    "message": "0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
                    "firstTimestamp": ago(6), "lastTimestamp": ago(1), "count": 5
                }));
            }
            PodFate::Stalled => unready_containers(status),
        }
        unready_owner(items, &pod, matches!(fate, PodFate::Stalled));
        items.extend(extra);
    }

    fn apply_flux(items: &mut [Value], index: usize, fate: FluxFate) {
        let mut flux: Vec<&mut Value> = items
            .iter_mut()
            .filter(|v| v["kind"] == "HelmRelease" || v["kind"] == "Kustomization")
            .collect();
        let n = flux.len();
        let Some(obj) = flux.get_mut(index % n.max(1)) else {
            return;
        };
        let release = obj["kind"] == "HelmRelease";
        let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
        let cond = |t: &str, s: &str, r: &str, m: &str, at: i64| json!({"type": t, "status": s, "reason": r, "message": m, "lastTransitionTime": ago(at)});
        let conditions = match fate {
            FluxFate::Ready => return,
            FluxFate::NotObserved => {
                obj["metadata"]["generation"] = json!(2);
                return;
            }
            FluxFate::Reconciling(m) if release => {
                let msg = "Running 'upgrade' action with timeout of 30m0s";
                vec![cond("Reconciling", "True", "Progressing", msg, m), cond("Ready", "Unknown", "Progressing", msg, m)]
            }
            FluxFate::Reconciling(m) => {
                let msg = "Running health checks for revision release/1.0-rc5@sha1:979e2079 with a timeout of 30m0s";
                vec![cond("Reconciling", "True", "Progressing", msg, m), cond("Ready", "Unknown", "Progressing", "Reconciliation in progress", m)]
            }
            FluxFate::Depends => vec![cond("Ready", "False", "DependencyNotReady", "dependency 'flux-system/alga-core' is not ready", 5)],
            // helm-controller atomic_release.go with the RetryOnFailure strategy.
            FluxFate::Retrying(n, m) if release => {
                obj["spec"]["install"] = json!({"strategy": {"name": "RetryOnFailure"}});
                obj["status"]["lastAttemptedReleaseAction"] = json!("install");
                obj["status"]["installFailures"] = json!(n);
                vec![
                    cond("Reconciling", "True", "ProgressingWithRetry", "retrying after 5m0s", m),
                    cond("Ready", "False", "InstallFailed", &format!("Helm install failed for release msp/{name} with chart {name}@0.1.0: context deadline exceeded"), m),
                ]
            }
            FluxFate::Retrying(_, m) => {
                let msg = "Running health checks for revision release/1.0-rc5@sha1:979e2079 with a timeout of 30m0s";
                vec![cond("Reconciling", "True", "Progressing", msg, m), cond("Ready", "Unknown", "Progressing", "Reconciliation in progress", m)]
            }
            FluxFate::InstallFailed if release => vec![
                cond("Stalled", "True", "RetriesExceeded", "Failed to install after 1 attempt(s)", 4),
                cond("Ready", "False", "InstallFailed", &format!("Helm install failed for release msp/{name} with chart {name}@0.1.0: context deadline exceeded"), 4),
            ],
            FluxFate::UpgradeFailed if release => vec![
                cond("Stalled", "True", "RetriesExceeded", "Failed to upgrade after 1 attempt(s)", 4),
                cond("Ready", "False", "UpgradeFailed", &format!("Helm upgrade failed for release msp/{name} with chart {name}@0.1.1: timed out waiting for the condition"), 4),
            ],
            FluxFate::InstallFailed | FluxFate::UpgradeFailed => vec![
                cond("Ready", "False", "HealthCheckFailed", "timeout waiting for: [HelmRelease/alga-system/alga-core status: 'InProgress']", 4),
            ],
        };
        obj["status"]["conditions"] = json!(conditions);
    }

    fn snapshot_of(world: &World) -> (Snapshot, Probes) {
        static BASE: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
        let mut items = BASE
            .get_or_init(|| {
                let dump: Value = serde_yaml::from_str(HEALTHY).unwrap();
                dump["items"].as_array().cloned().unwrap()
            })
            .clone();
        for (i, fate) in &world.pods {
            apply_pod(&mut items, PODS[*i], *fate);
        }
        for (i, fate) in &world.flux {
            apply_flux(&mut items, *i, *fate);
        }
        if let Some(ok) = world.job {
            let condition = if ok {
                json!([])
            } else {
                json!([{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit", "lastTransitionTime": ago(5)}])
            };
            items.push(json!({
                "apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"name": "alga-core-sebastian-bootstrap-r2", "namespace": "msp"},
                "spec": {"backoffLimit": 2},
                "status": {"startTime": ago(8), "active": if ok { 1 } else { 0 }, "failed": if ok { 0 } else { 3 }, "conditions": condition}
            }));
        }
        for item in items.iter_mut() {
            if world.node_down && item["kind"] == "Node" {
                item["status"]["conditions"] = json!([{"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown", "message": "Kubelet stopped posting node status.", "lastTransitionTime": ago(5)}]);
            }
            if world.mode_fresh
                && item["kind"] == "ConfigMap"
                && item["metadata"]["name"] == "appliance-values-alga-core"
            {
                item["data"]["values.yaml"] = json!("bootstrap:\n  mode: fresh\n");
            }
        }
        let mut snap = Snapshot::default();
        for item in items {
            if let Some(o) = crate::objects::object_from_value(item).unwrap() {
                snap.apply(o);
            }
        }
        snap.remember();
        let mut probes = Probes::default();
        match world.login_probe {
            Some(true) => probes.set("login-url", "307 /msp/dashboard").unwrap(),
            Some(false) => probes
                .set("login-url", "error: connection refused")
                .unwrap(),
            None => {}
        }
        if let Some(n) = world.seed {
            probes.set("seed-users", &n.to_string()).unwrap();
        }
        (snap, probes)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(160))]

        /// Whatever the cluster, the document never contradicts itself (issue 8, deliverable 4).
        #[test]
        fn the_verdict_never_contradicts_itself(world in world(true)) {
            let (mut snap, probes) = snapshot_of(&world);
            let now = ts(AT) + mins(world.minutes_later);
            let doc = assess_twice(&mut snap, &probes, now - mins(1), now);
            let found = invariants::contradictions(&doc);
            prop_assert!(found.is_empty(), "{:?}\n{:#?}\n{:#?}", found, world, doc.top_blockers);
            if !world.fails() {
                prop_assert_ne!(doc.rollup.state, RollupState::FailedActionRequired);
            }
        }

        /// A cluster that only takes its time is never "Failed / action required", and has no
        /// failure blocker at all: only warnings, past their expected time.
        #[test]
        fn progressing_only_is_never_failed(world in world(false)) {
            prop_assert!(!world.fails());
            let (mut snap, probes) = snapshot_of(&world);
            let now = ts(AT) + mins(world.minutes_later);
            let doc = assess_twice(&mut snap, &probes, now - mins(1), now);
            prop_assert_eq!(invariants::contradictions(&doc), Vec::<String>::new());
            prop_assert_ne!(doc.rollup.state, RollupState::FailedActionRequired, "{:#?}\n{:#?}", world, doc.top_blockers);
            prop_assert!(
                doc.top_blockers.iter().all(|b| b.severity == Severity::Warning),
                "{:#?}\n{:#?}", world, doc.top_blockers
            );
        }
    }

    /// The generator itself: the healthy base is fully healthy, and one failure shows.
    #[test]
    fn the_generator_starts_healthy_and_its_failures_show() {
        let healthy = World {
            pods: vec![],
            flux: vec![],
            job: None,
            node_down: false,
            login_probe: Some(true),
            seed: Some(2),
            mode_fresh: false,
            minutes_later: 0,
        };
        let (mut snap, probes) = snapshot_of(&healthy);
        let doc = assess_twice(&mut snap, &probes, ts(AT) - mins(1), ts(AT));
        assert_eq!(
            doc.rollup.state,
            RollupState::FullyHealthy,
            "{:#?}",
            doc.top_blockers
        );
        let broken = World {
            pods: vec![(4, PodFate::TagMissing)],
            ..healthy
        };
        let (mut snap, probes) = snapshot_of(&broken);
        let doc = assess_twice(&mut snap, &probes, ts(AT) - mins(1), ts(AT));
        assert_eq!(doc.rollup.state, RollupState::FailedActionRequired);
        assert_eq!(top(&doc).component, "db");
    }
}

// ------------------------------------------------------------------------------------------------
// The registry check of the selected release (issue 11), on every realistic dump.
// ------------------------------------------------------------------------------------------------
