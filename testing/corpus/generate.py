#!/usr/bin/env python3
"""Writes the realistic scenario corpus: complete `kubectl get -A -o yaml` dumps of the Talos
appliance at moments of a bootstrap, one directory per case under server/corpus/, plus
server/corpus/cases.yaml with what `assess` must say about each.

Every object is written the way its controller writes it: Deployments with their ReplicaSets and
conditions, pods owned by them, StatefulSets with revisions, the root and tier Kustomizations
labelled by the Kustomization that applied them, HelmReleases with the conditions helm-controller
sets, HelmCharts, events (old resolved warnings included; expired ones are simply absent, as on a
cluster), Secrets with data (the reader must keep only names), and kinds the engine ignores
(Services, ServiceAccounts, Namespaces). The messages and where each comes from are listed in
server/corpus/README.md.

Run it after changing a case: `python3 testing/corpus/generate.py`; the files are committed, and
`cargo test -p server --test corpus` runs `assess` on each.
"""
import copy
import datetime as dt
import os
import sys

import zlib

import yaml

# source-controller serves artifacts from its storage address (the CRD requires artifact.url).
STORAGE = "http://source-controller.flux-system.svc.cluster.local./"

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "server", "corpus")

REVISION = "release/1.0-rc5@sha1:979e2079c1d4b0a1e6f2c3d4e5f60718293a4b5c"
NODE = "appliance-single-node"
NODE_IP = "192.168.64.8"

ALGA_IMAGE = "ghcr.io/nine-minds/alga-psa-ee:3c9b1f0a"
WORKER_IMAGE = "ghcr.io/nine-minds/workflow-worker:61e4a00e"
EMAIL_IMAGE = "ghcr.io/nine-minds/email-service:3c9b1f0a"
TWORKER_IMAGE = "ghcr.io/nine-minds/temporal-worker:61e4a00e"


def h(*parts):
    """A stable hash (Python's own is salted per process): the dumps must not change per run."""
    return zlib.crc32(repr(parts).encode())


# ------------------------------------------------------------------------------------------
# time
# ------------------------------------------------------------------------------------------

class Clock:
    def __init__(self, now):
        self.now = dt.datetime.fromisoformat(now.replace("Z", "+00:00"))

    def ago(self, minutes, seconds=0):
        t = self.now - dt.timedelta(minutes=minutes, seconds=seconds)
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------------------------------
# object builders
# ------------------------------------------------------------------------------------------

def meta(name, ns=None, created=None, labels=None, annotations=None, generation=None, owner=None, uid=None):
    m = {"name": name}
    if ns:
        m["namespace"] = ns
    if created:
        m["creationTimestamp"] = created
    m["resourceVersion"] = str(h(name, ns) % 900000 + 1000)
    m["uid"] = uid or "%08x-0000-4000-8000-%012x" % (h(name) % 2**32, h(name, ns) % 2**48)
    if generation is not None:
        m["generation"] = generation
    if labels:
        m["labels"] = dict(labels)
    if annotations:
        m["annotations"] = dict(annotations)
    if owner:
        kind, oname, api = owner
        m["ownerReferences"] = [{"apiVersion": api, "kind": kind, "name": oname, "uid": "%08x-1111-4000-8000-000000000000" % (h(oname) % 2**32), "controller": True, "blockOwnerDeletion": True}]
    return m


def helm_meta(release, release_ns, hr_name):
    """What Helm and helm-controller put on every object they install: Helm's ownership
    annotations and helm-controller's origin labels (internal/postrender/origin_labels.go)."""
    labels = {
        "app.kubernetes.io/managed-by": "Helm",
        "helm.toolkit.fluxcd.io/name": hr_name,
        "helm.toolkit.fluxcd.io/namespace": "alga-system",
    }
    annotations = {
        "meta.helm.sh/release-name": release,
        "meta.helm.sh/release-namespace": release_ns,
    }
    return labels, annotations


def container_spec(name, image, **extra):
    c = {"name": name, "image": image, "imagePullPolicy": "IfNotPresent",
         "resources": {}, "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}
    c.update(extra)
    return c


def running_status(name, image, started, restarts=0, ready=True, last=None):
    s = {"name": name, "image": image, "imageID": image.split(":")[0] + "@sha256:" + "ab" * 32,
         "containerID": "containerd://" + "cd" * 32, "ready": ready, "started": True,
         "restartCount": restarts, "state": {"running": {"startedAt": started}}}
    if last:
        s["lastState"] = last
    else:
        s["lastState"] = {}
    return s


def waiting_status(name, image, reason, message=None, restarts=0, last=None):
    w = {"reason": reason}
    if message:
        w["message"] = message
    s = {"name": name, "image": image, "imageID": "", "ready": False, "started": False,
         "restartCount": restarts, "state": {"waiting": w}, "lastState": last or {}}
    return s


def terminated_status(name, image, reason, exit_code, started, finished):
    return {"name": name, "image": image, "imageID": image.split(":")[0] + "@sha256:" + "ef" * 32,
            "containerID": "containerd://" + "01" * 32, "ready": False, "started": False, "restartCount": 0,
            "state": {"terminated": {"reason": reason, "exitCode": exit_code, "startedAt": started, "finishedAt": finished}},
            "lastState": {}}


def pod_conditions(clk, created, ready, scheduled=True, initialized=True, unschedulable_msg=None, unready="main"):
    t = created
    conds = []
    if unschedulable_msg:
        return [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": unschedulable_msg,
                 "lastProbeTime": None, "lastTransitionTime": created}]
    conds.append({"type": "PodReadyToStartContainers", "status": "True", "lastProbeTime": None, "lastTransitionTime": t})
    conds.append({"type": "Initialized", "status": "True" if initialized else "False", "lastProbeTime": None, "lastTransitionTime": t,
                  **({} if initialized else {"reason": "ContainersNotInitialized", "message": "containers with incomplete status: [wait-for-bootstrap]"})})
    r = "True" if ready else "False"
    extra = {} if ready else {"reason": "ContainersNotReady", "message": "containers with unready status: [%s]" % unready}
    conds.append({"type": "Ready", "status": r, "lastProbeTime": None, "lastTransitionTime": t, **extra})
    conds.append({"type": "ContainersReady", "status": r, "lastProbeTime": None, "lastTransitionTime": t, **extra})
    conds.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": created})
    return conds


def pod(clk, name, ns, labels, owner, containers, statuses, created, phase="Running", ready=True,
        init_containers=None, init_statuses=None, unschedulable_msg=None, initialized=True, unready="main"):
    p = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": meta(name, ns, created, labels=labels, owner=owner),
        "spec": {"containers": containers, "nodeName": None if unschedulable_msg else NODE, "restartPolicy": owner[0] == "Job" and "Never" or "Always",
                 "serviceAccountName": "default", "schedulerName": "default-scheduler", "enableServiceLinks": True,
                 "dnsPolicy": "ClusterFirst", "securityContext": {}, "terminationGracePeriodSeconds": 30},
        "status": {"phase": phase, "qosClass": "BestEffort", "startTime": created,
                   "conditions": pod_conditions(clk, created, ready, initialized=initialized, unschedulable_msg=unschedulable_msg, unready=unready)},
    }
    if init_containers:
        p["spec"]["initContainers"] = init_containers
    if unschedulable_msg:
        del p["spec"]["nodeName"]
        del p["status"]["startTime"]
        return p
    p["status"]["hostIP"] = NODE_IP
    p["status"]["podIP"] = "10.244.0.%d" % (h(name) % 200 + 10)
    p["status"]["containerStatuses"] = statuses
    if init_statuses:
        p["status"]["initContainerStatuses"] = init_statuses
    return p


def deployment_conditions(rs_name, available, progressing="ok", t="", t_avail=None):
    conds = []
    if available:
        conds.append({"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                      "message": "Deployment has minimum availability.", "lastUpdateTime": t_avail or t, "lastTransitionTime": t_avail or t})
    else:
        conds.append({"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
                      "message": "Deployment does not have minimum availability.", "lastUpdateTime": t, "lastTransitionTime": t})
    # pkg/controller/deployment/util/deployment_util.go: NewRSAvailableReason, ReplicaSetUpdatedReason,
    # TimedOutReason with these messages.
    if progressing == "ok":
        conds.append({"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                      "message": 'ReplicaSet "%s" has successfully progressed.' % rs_name, "lastUpdateTime": t, "lastTransitionTime": t})
    elif progressing == "updating":
        conds.append({"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                      "message": 'ReplicaSet "%s" is progressing.' % rs_name, "lastUpdateTime": t, "lastTransitionTime": t})
    elif progressing == "deadline":
        conds.append({"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                      "message": 'ReplicaSet "%s" has timed out progressing.' % rs_name, "lastUpdateTime": t, "lastTransitionTime": t})
    return conds


class World:
    """All objects of one dump."""

    def __init__(self, clk):
        self.clk = clk
        self.items = []
        self.events = []
        # kube-apiserver stores events with a TTL (--event-ttl, 1h) renewed at each write: an event
        # last written longer ago is gone. Applied where a case says so (state "event-ttl").
        self.event_ttl = None
        # The Git revision Flux fetched, and the one its Kustomizations last applied (an upgrade in
        # progress has applied the previous one until its health checks pass).
        self.revision = REVISION
        self.applied_revision = None
        # What controllers do to the whole dump afterwards (the node controller marking pods).
        self.post = []

    def add(self, *objs):
        self.items.extend(objs)

    def event(self, obj_kind, ns, obj_name, reason, message, first, last=None, count=1, type_="Normal", source="kubelet", container="main", salt=None):
        name = "%s.%x" % (obj_name, h(obj_name, reason, message, *([salt] if salt else [])) % 2**40)
        e = {
            "apiVersion": "v1", "kind": "Event",
            # Events about cluster-scoped objects (the Node) live in namespace "default".
            "metadata": meta(name, ns or "default", first),
            "involvedObject": {"apiVersion": "v1" if obj_kind in ("Pod", "PersistentVolumeClaim", "Node") else "apps/v1",
                               "kind": obj_kind, "name": obj_name, "namespace": ns},
            "reason": reason, "message": message, "type": type_, "count": count,
            "firstTimestamp": first, "lastTimestamp": last or first,
            "source": {"component": source, **({"host": NODE} if source == "kubelet" else {})},
            "reportingComponent": source, "reportingInstance": NODE if source == "kubelet" else "",
        }
        if obj_kind == "Pod":
            e["involvedObject"]["fieldPath"] = "spec.containers{%s}" % container
        self.events.append(e)

    def dump(self):
        for f in self.post:
            f(self)
        self.post = []
        events = self.events
        if self.event_ttl is not None:
            oldest = self.clk.ago(self.event_ttl)
            events = [e for e in events if e["lastTimestamp"] >= oldest]
        return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": self.items + events}


def workload(w, kind, name, ns, replicas, image, selector, created, *, container="main", state="ready", helm=None,
             pod_labels=None, init=None, pull_minutes=None, restarts=0, extra_images=None, template_image=None,
             progressing="ok", events=True, hash_="5d8f7c9b6d", ready_since=None, pod_created=None):
    """A Deployment (with its ReplicaSet) or StatefulSet and its pods, in one of the states:
    ready, pulling, tag-missing, unauthorized, interrupted, backoff-expired, crashloop, config:<msg>,
    init-wait, unschedulable:<msg>, subpath."""
    clk = w.clk
    labels, annotations = ({}, {}) if helm is None else helm_meta(*helm)
    tmpl_labels = dict(selector)
    tmpl_labels.update(pod_labels or {})
    template_image = template_image or image
    tcontainers = [container_spec(container, template_image)]
    tspec = {"containers": tcontainers, "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "enableServiceLinks": True}
    if init:
        tspec["initContainers"] = [container_spec(init[0], init[1])]
    template = {"metadata": {"labels": tmpl_labels}, "spec": tspec}
    is_ready = state in ("ready", "recovered")
    ready_count = replicas if is_ready else 0
    t_ready = ready_since or created
    if kind == "Deployment":
        rs_name = "%s-%s" % (name, hash_)
        d = {"apiVersion": "apps/v1", "kind": "Deployment",
             "metadata": meta(name, ns, created, labels={**labels, **selector}, annotations={**annotations, "deployment.kubernetes.io/revision": "1"}, generation=1),
             "spec": {"replicas": replicas, "selector": {"matchLabels": selector}, "template": template,
                      "progressDeadlineSeconds": 600, "revisionHistoryLimit": 10,
                      "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}},
             "status": {"observedGeneration": 1, "replicas": replicas, "updatedReplicas": replicas,
                        "conditions": deployment_conditions(rs_name, is_ready, progressing if not is_ready or progressing != "ok" else "ok", t_ready if is_ready else created)}}
        if is_ready:
            d["status"].update({"readyReplicas": replicas, "availableReplicas": replicas})
        else:
            d["status"]["unavailableReplicas"] = replicas
        # pkg/controller/deployment/sync.go (getNewReplicaSet): the ReplicaSet's template is the
        # Deployment's with the pod-template-hash label added, so its selector matches it.
        rs_template = copy.deepcopy(template)
        rs_template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = hash_
        rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": meta(rs_name, ns, created, labels={**tmpl_labels, "pod-template-hash": hash_},
                               annotations={"deployment.kubernetes.io/desired-replicas": str(replicas), "deployment.kubernetes.io/max-replicas": str(replicas + 1), "deployment.kubernetes.io/revision": "1"},
                               generation=1, owner=("Deployment", name, "apps/v1")),
              "spec": {"replicas": replicas, "selector": {"matchLabels": {**selector, "pod-template-hash": hash_}}, "template": rs_template},
              "status": {"replicas": replicas, "fullyLabeledReplicas": replicas, "observedGeneration": 1,
                         **({"readyReplicas": replicas, "availableReplicas": replicas} if is_ready else {})}}
        w.add(d, rs)
        owner = ("ReplicaSet", rs_name, "apps/v1")
        pod_names = ["%s-%s-%s" % (name, hash_, sfx) for sfx in ["x7k2p", "m4q9z", "b8w3n"][:replicas]]
        pod_labels_all = {**tmpl_labels, "pod-template-hash": hash_}
    else:
        s = {"apiVersion": "apps/v1", "kind": "StatefulSet",
             "metadata": meta(name, ns, created, labels={**labels, **selector}, annotations=annotations, generation=1),
             "spec": {"replicas": replicas, "selector": {"matchLabels": selector}, "serviceName": name, "template": template,
                      "podManagementPolicy": "OrderedReady", "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}},
             "status": {"observedGeneration": 1, "replicas": replicas, "currentReplicas": replicas, "updatedReplicas": replicas,
                        "currentRevision": "%s-6b4f9d7c8" % name, "updateRevision": "%s-6b4f9d7c8" % name, "collisionCount": 0,
                        **({"readyReplicas": replicas, "availableReplicas": replicas} if is_ready else {"availableReplicas": 0})}}
        w.add(s)
        owner = ("StatefulSet", name, "apps/v1")
        pod_names = ["%s-%d" % (name, i) for i in range(replicas)]
        pod_labels_all = {**tmpl_labels, "controller-revision-hash": "%s-6b4f9d7c8" % name,
                          "statefulset.kubernetes.io/pod-name": pod_names[0], "apps.kubernetes.io/pod-index": "0"}
    for pn in pod_names:
        make_pod(w, pn, ns, pod_labels_all, owner, container, image, template_image, pod_created or created, state, init, pull_minutes, restarts, events,
                 t_ready if pod_created is None else max(t_ready, pod_created))
    return pod_names


# ---- pull failures in the runtime's own words ----------------------------------------------------
# The node runs containerd 2.0.5 (Talos v1.10.3) and kubelet v1.33.1. containerd's CRI wraps every
# pull error in `failed to pull and unpack image %q: %w` (internal/cri/server/images/image_pull.go)
# around the resolver's, fetcher's or unpacker's words (core/remotes/docker/resolver.go, fetcher.go,
# httpreadseeker.go, core/content/helpers.go, core/unpack/unpacker.go); the kubelet's cri-client
# drops `rpc error: code = Unknown desc = ` and keeps every other code
# (staging/src/k8s.io/cri-client/pkg/remote_image.go). %(r)s is the reference as containerd
# normalised it (docker.io/library/redis:latest); the kubelet quotes the pod's image. The sources of
# each text are in server/corpus/README.md and /tmp/pull-research (docs/PULL_ERRORS.md).
PULL_ERRORS = {
    # ghcr.io's 429 on a blob GET: containerd retries 429 itself (resolver.go retryRequest), then the
    # fetcher renders the body (fetcher.go "unexpected status code %v: %s - Server message: %s",
    # errcode.go "toomanyrequests: <message>"); the body is ghcr's own.
    "ratelimit-ghcr": 'failed to pull and unpack image "%(r)s": failed to copy: httpReadSeeker: failed open: unexpected status code '
                      'https://ghcr.io/v2/%(repo)s/blobs/sha256:4f1d0a3b9c8e7d6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f: '
                      '429 Too Many Requests - Server message: toomanyrequests: retry-after: 333.939671ms',
    # Docker Hub's 429 on the manifest GET by digest (HEAD requests are not limited), with its 2025 body.
    "ratelimit-dockerhub": 'failed to pull and unpack image "%(r)s": failed to copy: httpReadSeeker: failed open: unexpected status code '
                           'https://registry-1.docker.io/v2/%(repo)s/manifests/sha256:50aa4698fa6262977cff89181b2664b99d8a56dbca847bf62f2ef04854597cf8: '
                           '429 Too Many Requests - Server message: toomanyrequests: You have reached your unauthenticated pull rate limit. '
                           'https://www.docker.com/increase-rate-limit',
    # Go's crypto/tls CertificateVerificationError around crypto/x509's UnknownAuthorityError, on the
    # resolver's HEAD (resolver.go "failed to do request: %w", client/pull.go "failed to resolve reference %q: %w").
    "tls-untrusted": 'failed to pull and unpack image "%(r)s": failed to resolve reference "%(r)s": failed to do request: '
                     'Head "https://%(host)s/v2/%(repo)s/manifests/%(tag)s": tls: failed to verify certificate: x509: certificate signed by unknown authority',
    # crypto/x509 CertificateInvalidError{Reason: Expired}: "current time %s is before %s" (RFC 3339, UTC).
    "clock-behind": 'failed to pull and unpack image "%(r)s": failed to resolve reference "%(r)s": failed to do request: '
                    'Head "https://%(host)s/v2/%(repo)s/manifests/%(tag)s": tls: failed to verify certificate: x509: certificate has expired or is not yet valid: '
                    'current time %(now)s is before 2026-05-14T00:00:00Z',
    # core/unpack/unpacker.go "failed to extract layer %s: %w" (v2.0.5: the diffID) around the
    # os.PathError of the overlayfs applier's write (pkg/archive); the in-process diff service adds nothing.
    "disk-full": 'failed to pull and unpack image "%(r)s": failed to extract layer sha256:9c2f4e1a7b3d5c6e8f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a: '
                 'write /var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/87/fs/app/.next/server/chunks/4727.js: no space left on device',
    # resolver.go "%s: %w" with errdefs.ErrNotFound: the NotFound code survives the kubelet.
    "tag-missing": 'rpc error: code = NotFound desc = failed to pull and unpack image "%(r)s": failed to resolve reference "%(r)s": %(r)s: not found',
}


def cri_ref(image):
    """The reference as containerd normalises it (github.com/distribution/reference ParseNormalizedNamed)."""
    name = image
    first = name.split("/")[0]
    if "/" not in name or not ("." in first or ":" in first or first == "localhost"):
        name = "docker.io/" + (name if "/" in name else "library/" + name)
    if ":" not in name.split("/")[-1] and "@" not in name:
        name += ":latest"
    return name


def pull_error(key, image, now=""):
    r = cri_ref(image)
    host, rest = r.split("/", 1)
    repo, tag = rest.rsplit(":", 1)
    return PULL_ERRORS[key] % {"r": r, "host": "registry-1.docker.io" if host == "docker.io" else host, "repo": repo, "tag": tag, "now": now}


def attempt_times(first, now_gap=20):
    """Seconds before now of the kubelet's pull attempts since `first` minutes ago: its image
    back-off starts at 10 s and doubles to MaxImageBackOff, 300 s (pkg/kubelet/kubelet.go)."""
    times, t, delay = [], -first * 60, 10
    while t <= -now_gap:
        times.append(t)
        t += delay + 3   # the attempt itself takes a few seconds
        delay = min(delay * 2, 300)
    return times


def pull_failure(w, ns, pn, container, image, key, *, first, reason="ImagePullBackOff", expired=False):
    """A pull the kubelet keeps failing (pkg/kubelet/images/image_manager.go): each attempt a
    `Pulling` and a `Failed` "Failed to pull image %q: %v" event, the container's `Error:
    ErrImagePull` (kuberuntime_container.go), then back-off: `BackOff` "Back-off pulling image %q" and
    `Error: ImagePullBackOff`. Since 1.32 the waiting message carries the stored cause: `Back-off
    pulling image %q: ErrImagePull: <the error>`; within seconds of an attempt the waiting reason is
    ErrImagePull and its message the error itself. `expired`: only the back-off events are left (the
    kubelet's spam filter lets the frequent back-off through; the Failed events expired). An error
    that names the time (the clock's) differs at each attempt: one Failed event per attempt.
    Returns the container's waiting status."""
    clk = w.clk
    times = attempt_times(first)
    if reason == "ErrImagePull":
        times[-1] = -5
    at = lambda secs: clk.ago(0, -secs)
    errs = [pull_error(key, image, now=at(t)) for t in times]
    err = errs[-1]
    ev = lambda r, m, f, l, c, t="Normal": w.event("Pod", ns, pn, r, m, f, l, c, t, container=container)
    if not expired:
        n = len(times)
        ev("Pulling", 'Pulling image "%s"' % image, at(times[0]), at(times[-1]), n)
        if len(set(errs)) == 1:
            ev("Failed", 'Failed to pull image "%s": %s' % (image, err), at(times[0]), at(times[-1]), n, "Warning")
        else:
            for t, e in zip(times, errs):
                ev("Failed", 'Failed to pull image "%s": %s' % (image, e), at(t), at(t), 1, "Warning")
        ev("Failed", "Error: ErrImagePull", at(times[0]), at(times[-1]), n, "Warning")
    backoffs = 4 * len(times) + (40 if expired else 0)
    ev("BackOff", 'Back-off pulling image "%s"' % image, at(times[0] + 5), clk.ago(0, 40), backoffs)
    ev("Failed", "Error: ImagePullBackOff", at(times[0] + 5), clk.ago(0, 40), backoffs, "Warning")
    if reason == "ErrImagePull":
        return waiting_status(container, image, "ErrImagePull", err)
    return waiting_status(container, image, "ImagePullBackOff", 'Back-off pulling image "%s": ErrImagePull: %s' % (image, err))


def make_pod(w, pn, ns, labels, owner, container, image, template_image, created, state, init, pull_minutes, restarts, events, t_ready):
    clk = w.clk
    spec_c = [container_spec(container, template_image)]
    init_c = [container_spec(init[0], init[1])] if init else None
    init_s = None
    ev = lambda reason, msg, first, last=None, count=1, type_="Normal": w.event("Pod", ns, pn, reason, msg, first, last, count, type_)
    if events:
        ev("Scheduled", "Successfully assigned %s/%s to %s" % (ns, pn, NODE), created) if not state.startswith("unschedulable") else None
    if state == "ready":
        if init:
            init_s = [terminated_status(init[0], init[1], "Completed", 0, created, t_ready)]
        st = [running_status(container, image, t_ready, restarts=restarts)]
        p = pod(clk, pn, ns, labels, owner, spec_c, st, created, init_containers=init_c, init_statuses=init_s)
        if events:
            ev("Pulled", 'Container image "%s" already present on machine' % image, created)
            ev("Created", "Created container: %s" % container, created)
            ev("Started", "Started container %s" % container, created)
    elif state == "pulling":
        st = [waiting_status(container, template_image, "ContainerCreating")]
        if init:
            init_s = [terminated_status(init[0], init[1], "Completed", 0, created, created)]
        p = pod(clk, pn, ns, labels, owner, spec_c, st, created, phase="Pending", ready=False, init_containers=init_c, init_statuses=init_s)
        if events:
            ev("Pulling", 'Pulling image "%s"' % template_image, clk.ago(pull_minutes))
    elif state == "init-wait":
        init_s = [running_status(init[0], init[1], created, ready=False)]
        st = [waiting_status(container, template_image, "PodInitializing")]
        p = pod(clk, pn, ns, labels, owner, spec_c, st, created, phase="Pending", ready=False, init_containers=init_c, init_statuses=init_s, initialized=False)
        if events:
            ev("Pulled", 'Container image "%s" already present on machine' % init[1], created)
            ev("Started", "Started container %s" % init[0], created)
    elif state in ("tag-missing", "unauthorized", "dns", "backoff-expired"):
        # kubelet pkg/kubelet/images/image_manager.go: "Failed to pull image %q: %v" (reason Failed),
        # then "Error: ErrImagePull" / "Error: ImagePullBackOff", and "Back-off pulling image %q".
        # The runtime's text is containerd's (remotes/docker/resolver.go, pull.go).
        errs = {
            "tag-missing": 'rpc error: code = NotFound desc = failed to pull and unpack image "%(i)s": failed to resolve reference "%(i)s": %(i)s: not found',
            "unauthorized": 'rpc error: code = Unknown desc = failed to pull and unpack image "%(i)s": failed to resolve reference "%(i)s": failed to authorize: failed to fetch anonymous token: unexpected status from GET request to https://ghcr.io/token?scope=repository%%3Anine-minds%%2Falga-psa-ee%%3Apull&service=ghcr.io: 403 Forbidden',
            "dns": 'rpc error: code = Unknown desc = failed to pull and unpack image "%(i)s": failed to resolve reference "%(i)s": failed to do request: Head "https://ghcr.io/v2/nine-minds/alga-psa-ee/manifests/3c9b1f0a": dial tcp: lookup ghcr.io on 192.168.64.1:53: read udp 192.168.64.8:41234->192.168.64.1:53: read: connection refused',
        }
        back = 'Back-off pulling image "%s"' % template_image
        st = [waiting_status(container, template_image, "ImagePullBackOff", back)]
        if init:
            init_s = [terminated_status(init[0], init[1], "Completed", 0, created, created)]
        p = pod(clk, pn, ns, labels, owner, spec_c, st, created, phase="Pending", ready=False, init_containers=init_c, init_statuses=init_s)
        if state != "backoff-expired":
            err = errs[state] % {"i": template_image}
            ev("Pulling", 'Pulling image "%s"' % template_image, clk.ago(pull_minutes or 12), clk.ago(2), count=6)
            ev("Failed", 'Failed to pull image "%s": %s' % (template_image, err), clk.ago(pull_minutes or 12), clk.ago(2), count=6, type_="Warning")
            ev("Failed", "Error: ErrImagePull", clk.ago(pull_minutes or 12), clk.ago(2), count=6, type_="Warning")
        # The back-off events outlive the original error; after an hour only they are left.
        ev("BackOff", back, clk.ago(pull_minutes or 70), clk.ago(1), count=40)
        ev("Failed", "Error: ImagePullBackOff", clk.ago(pull_minutes or 70), clk.ago(1), count=40, type_="Warning")
    elif state == "interrupted":
        st = [waiting_status(container, template_image, "ContainerCreating")]
        if init:
            init_s = [terminated_status(init[0], init[1], "Completed", 0, created, created)]
        p = pod(clk, pn, ns, labels, owner, spec_c, st, created, phase="Pending", ready=False, init_containers=init_c, init_statuses=init_s)
        err = 'rpc error: code = Canceled desc = failed to pull and unpack image "%(i)s": context canceled' % {"i": template_image}
        ev("Pulling", 'Pulling image "%s"' % template_image, clk.ago(pull_minutes), clk.ago(pull_minutes))
        ev("Failed", 'Failed to pull image "%s": %s' % (template_image, err), clk.ago(3), type_="Warning")
        ev("Failed", "Error: ErrImagePull", clk.ago(3), type_="Warning")
        # The kubelet retries at once: a new Pulling after the failure.
        ev("Pulling", 'Pulling image "%s"' % template_image, clk.ago(pull_minutes), clk.ago(2), count=2)
    elif state == "crashloop":
        last = {"terminated": {"reason": "Error", "exitCode": 1, "startedAt": clk.ago(2), "finishedAt": clk.ago(1, 50)}}
        st = [waiting_status(container, image, "CrashLoopBackOff",
                             "back-off 5m0s restarting failed container=%s pod=%s_%s(%s)" % (container, pn, ns, "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d"),
                             restarts=restarts or 9, last=last)]
        st[0]["imageID"] = image.split(":")[0] + "@sha256:" + "ab" * 32
        p = pod(clk, pn, ns, labels, owner, spec_c, st, created, ready=False)
        ev("BackOff", "Back-off restarting failed container %s in pod %s_%s(%s)" % (container, pn, ns, "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d"), clk.ago(25), clk.ago(1), count=110, type_="Warning")
    elif state.startswith("config:"):
        msg = state[len("config:"):]
        st = [waiting_status(container, image, "CreateContainerConfigError", msg)]
        p = pod(clk, pn, ns, labels, owner, spec_c, st, created, phase="Pending", ready=False)
        ev("Failed", "Error: %s" % msg, clk.ago(20), clk.ago(1), count=90, type_="Warning")
    elif state.startswith("unschedulable:"):
        msg = state[len("unschedulable:"):]
        p = pod(clk, pn, ns, labels, owner, spec_c, [], created, phase="Pending", ready=False, unschedulable_msg=msg)
        w.event("Pod", ns, pn, "FailedScheduling", msg, created, clk.ago(1), count=12, type_="Warning", source="default-scheduler")
    elif state.split(":")[0] in ("pullfail", "pullerr", "pullexpired"):
        # pull failures in the runtime's words, as kubelet 1.33 shows them (see pull_failure)
        kind, key = state.split(":", 1)
        st = [pull_failure(w, ns, pn, container, template_image, key, first=pull_minutes or 12,
                           reason="ErrImagePull" if kind == "pullerr" else "ImagePullBackOff", expired=kind == "pullexpired")]
        if init:
            init_s = [terminated_status(init[0], init[1], "Completed", 0, created, created)]
        p = pod(clk, pn, ns, labels, owner, spec_c, st, created, phase="Pending", ready=False, init_containers=init_c, init_statuses=init_s,
                unready=container)
    elif state == "inspect-runtime-down":
        # The runtime's socket refuses: with imagePullPolicy IfNotPresent the kubelet asks for the
        # image's status first (image_manager.go imagePullPrecheck: "Failed to inspect image %q: %v",
        # event reason InspectFailed, waiting reason ImageInspectError), quoting the imageRef it did not
        # get (""); the gRPC client's words for a refused dial ("connection error: desc = \"transport:
        # Error while dialing: ...\""). Its init container had just finished.
        msg = 'Failed to inspect image "": rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial unix /run/containerd/containerd.sock: connect: connection refused"'
        st = [waiting_status(container, template_image, "ImageInspectError", msg)]
        if init:
            init_s = [terminated_status(init[0], init[1], "Completed", 0, created, clk.ago(2, 5))]
        p = pod(clk, pn, ns, labels, owner, spec_c, st, created, phase="Pending", ready=False, init_containers=init_c, init_statuses=init_s)
        w.event("Pod", ns, pn, "InspectFailed", msg, clk.ago(2, 3), clk.ago(1, 41), 3, "Warning", container=container)
        w.event("Pod", ns, pn, "Failed", "Error: ImageInspectError", clk.ago(2, 3), clk.ago(1, 41), 3, "Warning", container=container)
    elif state == "recovered":
        # An interrupted pull the kubelet retried: containerd cancelled it after 5 minutes without
        # progress (CRI image_pull.go, image_pull_progress_timeout), code Canceled kept by the kubelet;
        # back-off, a second Pulling, then the kubelet's Pulled with duration and size; running since.
        if init:
            init_s = [terminated_status(init[0], init[1], "Completed", 0, created, clk.ago(pull_minutes, 5))]
        st = [running_status(container, image, t_ready)]
        p = pod(clk, pn, ns, labels, owner, spec_c, st, created, init_containers=init_c, init_statuses=init_s)
        for c in p["status"]["conditions"]:
            if c["type"] in ("Ready", "ContainersReady"):
                c["lastTransitionTime"] = t_ready
        err = 'rpc error: code = Canceled desc = failed to pull and unpack image "%s": context canceled' % cri_ref(image)
        cancelled = pull_minutes - 9
        ev("Pulling", 'Pulling image "%s"' % image, clk.ago(pull_minutes), clk.ago(cancelled, -12), 2)
        ev("Failed", 'Failed to pull image "%s": %s' % (image, err), clk.ago(cancelled), type_="Warning")
        ev("Failed", "Error: ErrImagePull", clk.ago(cancelled), type_="Warning")
        ev("BackOff", 'Back-off pulling image "%s"' % image, clk.ago(cancelled, -5))
        ev("Failed", "Error: ImagePullBackOff", clk.ago(cancelled, -5), type_="Warning")
        ev("Pulled", 'Successfully pulled image "%s" in 17m41.207s (17m41.207s including waiting). Image size: 1843201234 bytes.' % image, t_ready)
        ev("Created", "Created container: %s" % container, t_ready)
        ev("Started", "Started container %s" % container, t_ready)
    else:
        raise ValueError(state)
    w.add(p)


def job(w, name, ns, created, state, helm, pod_suffix="k4t8q", done=1, pull_minutes=None, image=ALGA_IMAGE):
    """The bootstrap Job (Helm hook of alga-core). running | complete (`done` minutes ago) | failed |
    retrying (its first pod failed within the backoff limit, the second runs) | a pull failure of its
    pod (pullfail:<class>, pullerr:<class>, pullexpired:<class>, as in make_pod)."""
    clk = w.clk
    labels, annotations = helm_meta(*helm)
    # The Job controller labels its pods with the Job's uid (a second Job has its own).
    uid = "9f1e2d3c-0000-4000-8000-000000000001" if name.endswith("-r1") else "9f1e2d3c-0000-4000-8000-%012x" % (h(name) % 2**48)
    sel = {"batch.kubernetes.io/controller-uid": uid}
    j = {"apiVersion": "batch/v1", "kind": "Job",
         "metadata": meta(name, ns, created, labels={**labels, "app.kubernetes.io/component": "bootstrap"},
                          annotations={**annotations, "helm.sh/hook": "post-install,post-upgrade", "helm.sh/hook-weight": "0"}, generation=1,
                          uid=None if name.endswith("-r1") else uid),
         "spec": {"backoffLimit": 2, "ttlSecondsAfterFinished": 300, "completions": 1, "parallelism": 1,
                  "selector": {"matchLabels": sel},
                  "template": {"metadata": {"labels": {**sel, "job-name": name}},
                               "spec": {"restartPolicy": "Never", "containers": [container_spec("bootstrap", image)]}}},
         "status": {"startTime": created}}
    pn = "%s-%s" % (name, pod_suffix)
    plabels = {**sel, "job-name": name, "batch.kubernetes.io/job-name": name}
    owner = ("Job", name, "batch/v1")
    if state == "running":
        j["status"].update({"active": 1, "ready": 1, "uncountedTerminatedPods": {}})
        p = pod(clk, pn, ns, plabels, owner, [container_spec("bootstrap", image)],
                [running_status("bootstrap", image, created)], created)
    elif state == "complete":
        j["status"].update({"succeeded": 1, "completionTime": clk.ago(done), "ready": 0, "uncountedTerminatedPods": {},
                            "conditions": [
                                {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods", "lastProbeTime": clk.ago(done), "lastTransitionTime": clk.ago(done)},
                                {"type": "Complete", "status": "True", "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods", "lastProbeTime": clk.ago(done), "lastTransitionTime": clk.ago(done)}]})
        p = pod(clk, pn, ns, plabels, owner, [container_spec("bootstrap", image)],
                [terminated_status("bootstrap", image, "Completed", 0, created, clk.ago(done))], created, phase="Succeeded", ready=False)
    elif state == "retrying":
        # Within backoffLimit 2: the first pod exited 1, the controller created a second, which runs.
        again = clk.ago(0, 50)
        first = pod(clk, pn, ns, plabels, owner, [container_spec("bootstrap", image)],
                    [terminated_status("bootstrap", image, "Error", 1, created, clk.ago(1, 10))], created, phase="Failed", ready=False, unready="bootstrap")
        w.add(first)
        pn = "%s-%s" % (name, "9xw2m")
        j["status"].update({"active": 1, "ready": 1, "failed": 1, "uncountedTerminatedPods": {}})
        p = pod(clk, pn, ns, plabels, owner, [container_spec("bootstrap", image)],
                [running_status("bootstrap", image, again)], again)
        w.event("Job", ns, name, "SuccessfulCreate", "Created pod: %s-k4t8q" % name, created, source="job-controller")
        created = again
    elif state.split(":")[0] in ("pullfail", "pullerr", "pullexpired"):
        kind, key = state.split(":", 1)
        j["status"].update({"active": 1, "ready": 0, "uncountedTerminatedPods": {}})
        st = [pull_failure(w, ns, pn, "bootstrap", image, key, first=pull_minutes or 12,
                           reason="ErrImagePull" if kind == "pullerr" else "ImagePullBackOff", expired=kind == "pullexpired")]
        p = pod(clk, pn, ns, plabels, owner, [container_spec("bootstrap", image)], st, created, phase="Pending", ready=False, unready="bootstrap")
    elif state == "failed":
        # pkg/controller/job/job_controller.go: reason BackoffLimitExceeded, "Job has reached the
        # specified backoff limit" (FailureTarget first, then Failed).
        j["status"].update({"failed": 3, "ready": 0, "uncountedTerminatedPods": {},
                            "conditions": [
                                {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit", "lastProbeTime": clk.ago(4), "lastTransitionTime": clk.ago(4)},
                                {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit", "lastProbeTime": clk.ago(4), "lastTransitionTime": clk.ago(4)}]})
        p = pod(clk, pn, ns, plabels, owner, [container_spec("bootstrap", image)],
                [terminated_status("bootstrap", image, "Error", 1, clk.ago(6), clk.ago(4))], created, phase="Failed", ready=False)
        w.event("Job", ns, name, "BackoffLimitExceeded", "Job has reached the specified backoff limit", clk.ago(4), type_="Warning", source="job-controller")
    w.event("Job", ns, name, "SuccessfulCreate", "Created pod: %s" % pn, created, source="job-controller")
    w.add(j, p)


def rollout(w, name, ns, old_image, new_image, selector, created, started, helm, pod_labels, init, old_hash, new_hash, pull_minutes, container="main",
            new_state="pulling", deadline=None):
    """A Deployment of one replica rolling out a new template (pkg/controller/deployment/rolling.go):
    maxSurge 25% rounds up to 1, maxUnavailable 25% down to 0, so the new ReplicaSet's pod starts
    beside the old one, which keeps serving until the new one is available. Progressing=True
    ReplicaSetUpdated 'ReplicaSet "<new>" is progressing.', Available=True from the old pod
    (deployment_util.go). The new pod pulls its image."""
    clk = w.clk
    labels, annotations = helm_meta(*helm)
    tmpl_labels = {**selector, **pod_labels}

    def template(image, hash_=None):
        t = {"metadata": {"labels": dict(tmpl_labels)},
             "spec": {"containers": [container_spec(container, image)], "initContainers": [container_spec(init[0], init[1])],
                      "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "enableServiceLinks": True}}
        if hash_:
            t["metadata"]["labels"]["pod-template-hash"] = hash_
        return t
    old_rs, new_rs = "%s-%s" % (name, old_hash), "%s-%s" % (name, new_hash)
    d = {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": meta(name, ns, created, labels={**labels, **selector}, annotations={**annotations, "deployment.kubernetes.io/revision": "2"}, generation=2),
         "spec": {"replicas": 1, "selector": {"matchLabels": selector}, "template": template(new_image),
                  "progressDeadlineSeconds": 600, "revisionHistoryLimit": 10,
                  "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}},
         "status": {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1, "unavailableReplicas": 1,
                    "conditions": [
                        {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability.",
                         "lastUpdateTime": created, "lastTransitionTime": created},
                        {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated", "message": 'ReplicaSet "%s" is progressing.' % new_rs,
                         "lastUpdateTime": started, "lastTransitionTime": created}
                        if deadline is None else
                        # progressDeadlineSeconds passed without the new ReplicaSet becoming available
                        {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": 'ReplicaSet "%s" has timed out progressing.' % new_rs,
                         "lastUpdateTime": deadline, "lastTransitionTime": deadline}]}}
    w.add(d)
    for rs_name, hash_, image, revision, rs_created, ready in [(old_rs, old_hash, old_image, "1", created, True), (new_rs, new_hash, new_image, "2", started, False)]:
        w.add({"apiVersion": "apps/v1", "kind": "ReplicaSet",
               "metadata": meta(rs_name, ns, rs_created, labels={**tmpl_labels, "pod-template-hash": hash_},
                                annotations={"deployment.kubernetes.io/desired-replicas": "1", "deployment.kubernetes.io/max-replicas": "2", "deployment.kubernetes.io/revision": revision},
                                generation=1, owner=("Deployment", name, "apps/v1")),
               "spec": {"replicas": 1, "selector": {"matchLabels": {**selector, "pod-template-hash": hash_}}, "template": template(image, hash_)},
               "status": {"replicas": 1, "fullyLabeledReplicas": 1, "observedGeneration": 1, **({"readyReplicas": 1, "availableReplicas": 1} if ready else {})}})
    owner = lambda rs: ("ReplicaSet", rs, "apps/v1")
    make_pod(w, "%s-x7k2p" % old_rs, ns, {**tmpl_labels, "pod-template-hash": old_hash}, owner(old_rs), container, old_image, old_image, created,
             "ready", init, None, 0, True, created)
    make_pod(w, "%s-q2v8h" % new_rs, ns, {**tmpl_labels, "pod-template-hash": new_hash}, owner(new_rs), container, new_image, new_image, started,
             new_state, init, pull_minutes, 0, True, started)


def runtime_down(w, since):
    """The node's container runtime stopped answering: the kubelet reports Ready=False
    KubeletNotReady "container runtime is down" once its last runtime sync is older than its
    threshold (pkg/kubelet/runtime.go runtimeErrors, nodestatus ReadyCondition) and stops syncing
    pods; the node lifecycle controller taints the node not-ready and marks every pod on it not
    ready, with a "NodeNotReady" "Node is not ready" event each (pkg/controller/util/node
    MarkPodsNotReady); the workload controllers then count no ready replica."""
    t = w.clk.ago(*since)
    for o in w.items:
        if o["kind"] != "Pod" or o["spec"].get("nodeName") != NODE or o["status"]["phase"] in ("Succeeded", "Failed"):
            continue
        for c in o["status"].get("conditions", []):
            if c["type"] == "Ready" and c["status"] == "True":
                c["status"], c["lastTransitionTime"] = "False", t
                w.event("Pod", o["metadata"]["namespace"], o["metadata"]["name"], "NodeNotReady", "Node is not ready", t, type_="Warning", source="node-controller")
    ready = lambda p: any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))
    owned = lambda kind, name: [p for p in w.items if p["kind"] == "Pod" and any(r["kind"] == kind and r["name"] == name for r in p["metadata"].get("ownerReferences", []))]
    counts = {}
    for o in w.items:
        if o["kind"] in ("ReplicaSet", "StatefulSet", "Job"):
            n = sum(1 for p in owned(o["kind"], o["metadata"]["name"]) if ready(p))
            counts[o["metadata"]["name"]] = n
            if o["kind"] == "Job":
                if "ready" in o["status"]:
                    o["status"]["ready"] = n
                continue
            for k in ("readyReplicas", "availableReplicas"):
                o["status"].pop(k, None)
                if n:
                    o["status"][k] = n
            if o["kind"] == "StatefulSet" and not n:
                o["status"]["availableReplicas"] = 0
    for o in w.items:
        if o["kind"] != "Deployment":
            continue
        rss = [r for r in w.items if r["kind"] == "ReplicaSet" and any(x["name"] == o["metadata"]["name"] for x in r["metadata"].get("ownerReferences", []))]
        n = sum(counts.get(r["metadata"]["name"], 0) for r in rss)
        replicas = o["spec"]["replicas"]
        for k in ("readyReplicas", "availableReplicas", "unavailableReplicas"):
            o["status"].pop(k, None)
        if n:
            o["status"]["readyReplicas"] = o["status"]["availableReplicas"] = n
        if replicas - n:
            o["status"]["unavailableReplicas"] = replicas - n
        for c in o["status"]["conditions"]:
            if c["type"] == "Available" and n < replicas and c["status"] == "True":
                c.update({"status": "False", "reason": "MinimumReplicasUnavailable", "message": "Deployment does not have minimum availability.",
                          "lastUpdateTime": t, "lastTransitionTime": t})


def pvc(w, name, ns, created, phase="Bound", helm=None):
    labels, annotations = ({}, {}) if helm is None else helm_meta(*helm)
    obj = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
           "metadata": meta(name, ns, created, labels=labels, annotations={**annotations, "pv.kubernetes.io/bind-completed": "yes", "volume.kubernetes.io/storage-provisioner": "rancher.io/local-path", "volume.kubernetes.io/selected-node": NODE}),
           "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "20Gi"}}, "storageClassName": "local-path", "volumeMode": "Filesystem",
                    **({"volumeName": "pvc-%08x-0000-4000-8000-000000000000" % (h(name) % 2**32)} if phase == "Bound" else {})},
           "status": {"phase": phase, **({"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "20Gi"}} if phase == "Bound" else {})}}
    w.add(obj)


# ---- Flux ---------------------------------------------------------------------------------

def cond(type_, status, reason, message, t, gen=1):
    return {"type": type_, "status": status, "reason": reason, "message": message, "lastTransitionTime": t, "observedGeneration": gen}


def kustomization(w, name, path, created, state, depends_on=None, parent=True, timeout="30m", extra=None):
    """kustomize-controller internal/controller/kustomization_controller.go conditions."""
    clk = w.clk
    labels = {"kustomize.toolkit.fluxcd.io/name": "alga-appliance", "kustomize.toolkit.fluxcd.io/namespace": "flux-system"} if parent else {}
    k = {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
         "metadata": meta(name, "flux-system", created, labels=labels, generation=1, annotations={"reconcile.fluxcd.io/requestedAt": created} if not parent else None),
         "spec": {"interval": "10m", "retryInterval": "1m", "timeout": timeout, "path": path, "prune": True, "wait": True,
                  "sourceRef": {"kind": "GitRepository", "name": "alga-appliance"}},
         "status": {"observedGeneration": 1, "lastAttemptedRevision": w.revision}}
    if depends_on:
        k["spec"]["dependsOn"] = [{"name": d} for d in depends_on]
    st = state[0]
    t = clk.ago(state[1]) if len(state) > 1 else created
    if st == "ready":
        k["status"]["lastAppliedRevision"] = w.revision
        k["status"]["conditions"] = [cond("Ready", "True", "ReconciliationSucceeded", "Applied revision: %s" % w.revision, t),
                                     cond("Healthy", "True", "Succeeded", "Health check passed in 2m14.208s", t)]
    elif st == "health":
        msg = "Running health checks for revision %s with a timeout of %s" % (w.revision, go(timeout))
        k["status"]["conditions"] = [cond("Reconciling", "True", "Progressing", msg, t),
                                     cond("Ready", "Unknown", "Progressing", "Reconciliation in progress", t),
                                     cond("Healthy", "Unknown", "Progressing", msg, t)]
    elif st == "depends":
        k["status"]["conditions"] = [cond("Ready", "False", "DependencyNotReady", "dependency 'flux-system/%s' is not ready" % depends_on[0], t)]
    elif st == "noartifact":
        k["status"]["conditions"] = [cond("Ready", "False", "ArtifactFailed", "Source artifact not found, retrying in 30s", t)]
    elif st == "healthfailed":
        # lastAppliedRevision moves only once the health checks pass (kustomize-controller
        # internal/controller/kustomization_controller.go, reconcile: "Set last applied
        # revisions" after checkHealth): a failed one keeps the previous release, if any.
        if w.applied_revision:
            k["status"]["lastAppliedRevision"] = w.applied_revision
        msg = "timeout waiting for: [%s]" % ", ".join("%s status: '%s'" % (o, s) for o, s in state[2])
        # and it tries again at its retryInterval: finalizeStatus keeps Reconciling=True with
        # ProgressingWithRetry after a failed reconciliation
        k["status"]["conditions"] = [cond("Reconciling", "True", "ProgressingWithRetry",
                                          "Running health checks for revision %s with a timeout of %s" % (w.revision, go(timeout)), t),
                                     cond("Ready", "False", "HealthCheckFailed", msg, t),
                                     cond("Healthy", "False", "HealthCheckFailed", msg, t)]
    elif st == "pathmissing":
        # the build fails before anything is applied: the last applied release stays
        k["status"]["lastAppliedRevision"] = w.applied_revision or w.revision
        msg = "kustomization path not found: stat /tmp/kustomization-1464362706/%s: no such file or directory" % path.lstrip("./")
        k["status"]["conditions"] = [cond("Reconciling", "True", "ProgressingWithRetry", "Fetching manifests for revision %s with a timeout of 4m30s" % w.revision, t),
                                     cond("Ready", "False", "ArtifactFailed", msg, t),
                                     cond("Healthy", "True", "Succeeded", "Health check passed in 1m2.113s", clk.ago(60))]
    else:
        raise ValueError(st)
    if w.applied_revision and st in ("health", "depends"):
        k["status"]["lastAppliedRevision"] = w.applied_revision
    if extra:
        k["status"]["conditions"].extend(extra)
    w.add(k)


def go(timeout):
    return {"30m": "30m0s", "10m": "10m0s", "5m": "5m0s"}[timeout]


def helmrelease(w, name, target_ns, tier_k, created, state, chart="sebastian", version="0.1.0", depends_on=None, timeout="30m"):
    """helm-controller internal/reconcile/{atomic_release,install,upgrade}.go conditions."""
    clk = w.clk
    hr = {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
          "metadata": meta(name, "alga-system", created, generation=1,
                           labels={"kustomize.toolkit.fluxcd.io/name": tier_k, "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}),
          "spec": {"interval": "10m", "releaseName": name, "targetNamespace": target_ns, "timeout": timeout,
                   "chart": {"spec": {"chart": "./helm" if name == "alga-core" else "./ee/helm/%s" % name, "reconcileStrategy": "Revision",
                                      "sourceRef": {"kind": "GitRepository", "name": "alga-appliance", "namespace": "flux-system"}}},
                   "install": {"remediation": {"retries": 0}}, "upgrade": {"remediation": {"retries": 0}}},
          "status": {"observedGeneration": 1, "helmChart": "flux-system/alga-system-%s" % name, "lastAttemptedRevision": version,
                     "lastAttemptedReleaseAction": "install"}}
    if depends_on:
        hr["spec"]["dependsOn"] = [{"name": d} for d in depends_on]
    rel = "%s/%s" % (target_ns, name)
    st = state[0]
    t = clk.ago(state[1]) if len(state) > 1 else created
    if st == "ready":
        msg = "Helm install succeeded for release %s.v1 with chart %s@%s" % (rel, chart, version)
        hr["status"]["conditions"] = [cond("Ready", "True", "InstallSucceeded", msg, t), cond("Released", "True", "InstallSucceeded", msg, t)]
        hr["status"]["history"] = [{"name": name, "namespace": target_ns, "version": 1, "status": "deployed", "chartName": chart, "chartVersion": version,
                                    "firstDeployed": created, "lastDeployed": created, "digest": "sha256:" + "12" * 32, "configDigest": "sha256:" + "34" * 32}]
    elif st == "installing":
        msg = "Running 'install' action with timeout of %s" % go(timeout)
        hr["status"]["conditions"] = [cond("Reconciling", "True", "Progressing", msg, t), cond("Ready", "Unknown", "Progressing", msg, t)]
    elif st == "installfailed":
        msg = "Helm install failed for release %s with chart %s@%s: context deadline exceeded" % (rel, chart, version)
        hr["status"]["installFailures"] = 1
        hr["status"]["conditions"] = [cond("Stalled", "True", "RetriesExceeded", "Failed to install after 1 attempt(s)", t),
                                      cond("Ready", "False", "InstallFailed", msg, t), cond("Released", "False", "InstallFailed", msg, t)]
    elif st == "upgradefailed":
        # Deployed v1 keeps serving; the upgrade to v2 failed.
        ok = "Helm install succeeded for release %s.v1 with chart %s@%s" % (rel, chart, version)
        msg = "Helm upgrade failed for release %s with chart %s@0.1.1: %s" % (rel, chart, state[2])
        hr["status"]["lastAttemptedReleaseAction"] = "upgrade"
        hr["status"]["lastAttemptedRevision"] = "0.1.1"
        hr["status"]["upgradeFailures"] = 1
        hr["status"]["conditions"] = [cond("Stalled", "True", "RetriesExceeded", "Failed to upgrade after 1 attempt(s)", t),
                                      cond("Ready", "False", "UpgradeFailed", msg, t), cond("Released", "False", "UpgradeFailed", msg, t)]
        hr["status"]["history"] = [{"name": name, "namespace": target_ns, "version": 2, "status": "failed", "chartName": chart, "chartVersion": "0.1.1",
                                    "firstDeployed": created, "lastDeployed": t, "digest": "sha256:" + "56" * 32, "configDigest": "sha256:" + "78" * 32},
                                   {"name": name, "namespace": target_ns, "version": 1, "status": "superseded", "chartName": chart, "chartVersion": version,
                                    "firstDeployed": created, "lastDeployed": created, "digest": "sha256:" + "12" * 32, "configDigest": "sha256:" + "34" * 32}]
        del ok
    elif st == "installretrying":
        # The RetryOnFailure strategy (spec.install.strategy): after the failed install,
        # atomic_release.go marks Reconciling=True ProgressingWithRetry "retrying after %s"
        # (retry.GetRetryInterval().String(): Go's "5m0s") and requeues after that interval;
        # install.go's failure message stays in Ready and Released. No Stalled: no budget to spend.
        failures = state[2] if len(state) > 2 else 1
        msg = "Helm install failed for release %s with chart %s@%s: context deadline exceeded" % (rel, chart, version)
        hr["spec"]["install"] = {"strategy": {"name": "RetryOnFailure", "retryInterval": "5m"}}
        hr["status"]["installFailures"] = failures
        hr["status"]["conditions"] = [cond("Reconciling", "True", "ProgressingWithRetry", "retrying after 5m0s", t),
                                      cond("Ready", "False", "InstallFailed", msg, t), cond("Released", "False", "InstallFailed", msg, t)]
    elif st == "depends":
        hr["status"]["conditions"] = [cond("Ready", "False", "DependencyNotReady", "dependency 'alga-system/%s' is not ready" % depends_on[0], t)]
    elif st == "upgrading":
        # atomic_release.go reconcilingMsg for the upgrade action; v1 stays deployed (and Released)
        # until the action ends, so its history and Released condition are the install's.
        msg = "Running 'upgrade' action with timeout of %s" % go(timeout)
        ok = "Helm install succeeded for release %s.v1 with chart %s@%s" % (rel, chart, version)
        hr["status"]["lastAttemptedReleaseAction"] = "upgrade"
        hr["status"]["conditions"] = [cond("Reconciling", "True", "Progressing", msg, t), cond("Ready", "Unknown", "Progressing", msg, t),
                                      cond("Released", "True", "InstallSucceeded", ok, created)]
        hr["status"]["history"] = [{"name": name, "namespace": target_ns, "version": 1, "status": "deployed", "chartName": chart, "chartVersion": version,
                                    "firstDeployed": created, "lastDeployed": created, "digest": "sha256:" + "12" * 32, "configDigest": "sha256:" + "34" * 32}]
    else:
        raise ValueError(st)
    chart_obj = {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmChart",
                 "metadata": meta("alga-system-%s" % name, "flux-system", created, generation=1),
                 "spec": {"chart": hr["spec"]["chart"]["spec"]["chart"], "interval": "10m", "reconcileStrategy": "Revision",
                          "sourceRef": {"kind": "GitRepository", "name": "alga-appliance"}, "version": "*"},
                 "status": {"observedGeneration": 1, "conditions": [cond("Ready", "True", "ChartPullSucceeded", "packaged '%s' chart with version '%s'" % (chart, version), created)],
                            "artifact": {"revision": version, "path": "helmchart/flux-system/alga-system-%s/%s-%s.tgz" % (name, chart, version),
                                         "url": STORAGE + "helmchart/flux-system/alga-system-%s/%s-%s.tgz" % (name, chart, version), "digest": "sha256:" + "9a" * 32, "lastUpdateTime": created, "size": 24512}}}
    w.add(hr, chart_obj)


def git_repository(w, created, state=("ready",), stored=None):
    """source-controller: Ready=True Succeeded "stored artifact for revision '%s'"; a fetch failure
    is Ready=False GitOperationFailed with the clone error (internal/controller/gitrepository_controller.go)."""
    clk = w.clk
    g = {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
         "metadata": meta("alga-appliance", "flux-system", created, generation=1),
         "spec": {"interval": "5m", "url": "https://github.com/Nine-Minds/alga-psa", "ref": {"branch": "release/1.0-rc5"}, "timeout": "60s"},
         "status": {"observedGeneration": 1}}
    if state[0] == "ready":
        # `stored`: when the artifact of the current revision was stored (a newer revision fetched later)
        t_stored = stored or created
        short = w.revision.split(":")[-1][:8]
        g["status"]["artifact"] = {"revision": w.revision, "path": "gitrepository/flux-system/alga-appliance/%s.tar.gz" % short,
                                   "url": STORAGE + "gitrepository/flux-system/alga-appliance/%s.tar.gz" % short, "digest": "sha256:" + "aa" * 32, "lastUpdateTime": t_stored, "size": 10485760}
        g["status"]["conditions"] = [cond("Ready", "True", "Succeeded", "stored artifact for revision '%s'" % w.revision, created),
                                     cond("ArtifactInStorage", "True", "Succeeded", "stored artifact for revision '%s'" % w.revision, created)]
    else:
        msg = "failed to checkout and determine revision: unable to clone 'https://github.com/Nine-Minds/alga-psa': Get \"https://github.com/Nine-Minds/alga-psa/info/refs?service=git-upload-pack\": dial tcp: lookup github.com on 192.168.64.1:53: read udp 192.168.64.8:53219->192.168.64.1:53: read: connection refused"
        g["status"]["conditions"] = [cond("Reconciling", "True", "ProgressingWithRetry", "building artifact", clk.ago(state[1])),
                                     cond("Ready", "False", "GitOperationFailed", msg, clk.ago(state[1])),
                                     cond("FetchFailed", "True", "GitOperationFailed", msg, clk.ago(state[1]))]
        w.event("GitRepository", "flux-system", "alga-appliance", "GitOperationFailed", msg, clk.ago(state[1]), clk.ago(1), count=8, type_="Warning", source="source-controller")
        w.events[-1]["involvedObject"]["apiVersion"] = "source.toolkit.fluxcd.io/v1"
    w.add(g)


# ------------------------------------------------------------------------------------------
# the appliance
# ------------------------------------------------------------------------------------------

DEFAULT = {
    "node": "ready",
    "git": ("ready",),
    "k-root": ("ready",), "k-platform": ("ready",), "k-core": ("ready",), "k-background": ("ready",),
    "hr-appliance-status": ("ready",), "hr-alga-core": ("ready",), "hr-pgbouncer": ("ready",),
    "hr-temporal": ("ready",), "hr-email-service": ("ready",), "hr-workflow-worker": ("ready",), "hr-temporal-worker": ("ready",),
    "appliance-status": "ready",
    "db": "ready", "redis": "ready", "pgbouncer": "ready",
    "job": "gone",          # deleted by its TTL after completing
    "web": "ready", "web-progress": "ok",
    "temporal": "ready", "temporal-ui": "ready", "email-service": "ready", "workflow-worker": "ready", "temporal-worker": "ready",
    "bootstrap-mode": "recover",
    "helm-controller-image": "ghcr.io/fluxcd/helm-controller:v1.6.3",
    "install": 60,           # minutes since the install started
    "present": None,         # None: everything; else a set of what exists yet
    "web-pull": 14,
}


def build(case):
    s = dict(DEFAULT)
    s.update(case.get("state", {}))
    clk = Clock(case["now"])
    w = World(clk)
    if s.get("event-ttl"):
        w.event_ttl = 60
    if "revision" in s:
        w.applied_revision, w.revision = REVISION, s["revision"]
    start = s["install"]
    t0 = clk.ago(start)
    has = lambda what: s["present"] is None or what in s["present"]

    # namespaces (ignored by the engine)
    for ns in ["kube-system", "local-path-storage", "flux-system", "appliance-system", "alga-system", "msp"]:
        w.add({"apiVersion": "v1", "kind": "Namespace", "metadata": meta(ns, None, t0, labels={"kubernetes.io/metadata.name": ns}),
               "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})

    # node
    ready = s["node"] == "ready"
    down = s["node"] == "runtime-down"
    if down:
        # pkg/kubelet/runtime.go and nodestatus ReadyCondition: the kubelet still posts its status.
        ready_cond = {"type": "Ready", "status": "False", "reason": "KubeletNotReady", "message": "container runtime is down",
                      "lastHeartbeatTime": clk.ago(0, 8), "lastTransitionTime": clk.ago(1, 34)}
        taints = [{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule", "timeAdded": clk.ago(1, 33)},
                  {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute", "timeAdded": clk.ago(1, 33)}]
    else:
        ready_cond = {"type": "Ready", "status": "True" if ready else "Unknown", "reason": "KubeletReady" if ready else "NodeStatusUnknown",
                      "message": "kubelet is posting ready status" if ready else "Kubelet stopped posting node status.", "lastHeartbeatTime": clk.ago(0, 20) if ready else clk.ago(6), "lastTransitionTime": t0 if ready else clk.ago(5)}
        taints = [] if ready else [{"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule", "timeAdded": clk.ago(5)}]
    beat = clk.ago(0, 8) if down else clk.ago(0, 20)
    node_conds = [
        {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory", "message": "kubelet has sufficient memory available", "lastHeartbeatTime": beat, "lastTransitionTime": t0},
        {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure", "message": "kubelet has no disk pressure", "lastHeartbeatTime": beat, "lastTransitionTime": t0},
        {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID", "message": "kubelet has sufficient PID available", "lastHeartbeatTime": beat, "lastTransitionTime": t0},
        ready_cond,
    ]
    w.add({"apiVersion": "v1", "kind": "Node",
           "metadata": meta(NODE, None, t0, labels={"kubernetes.io/hostname": NODE, "kubernetes.io/os": "linux", "kubernetes.io/arch": "arm64", "node-role.kubernetes.io/control-plane": ""}),
           "spec": {"podCIDR": "10.244.0.0/24", **({"taints": taints} if taints else {})},
           "status": {"conditions": node_conds,
                      "addresses": [{"type": "InternalIP", "address": NODE_IP}, {"type": "Hostname", "address": NODE}],
                      "capacity": {"cpu": "4", "memory": "8123456Ki", "pods": "110"}, "allocatable": {"cpu": "4", "memory": "7921456Ki", "pods": "110"},
                      "nodeInfo": {"osImage": "Talos (v1.10.3)", "kubeletVersion": "v1.33.1", "kubeProxyVersion": "", "containerRuntimeVersion": "containerd://2.0.5",
                                   "kernelVersion": "6.12.31-talos", "operatingSystem": "linux", "architecture": "arm64", "machineID": "5f1e" * 8, "systemUUID": "5f1e2d3c-0000-4000-8000-000000000000", "bootID": "7a6b5c4d-0000-4000-8000-000000000000"}}})
    if down:
        # kubelet recordNodeStatusEvent and the node lifecycle controller's RecordNodeStatusChange.
        w.event("Node", "", NODE, "NodeNotReady", "Node %s status is now: NodeNotReady" % NODE, clk.ago(1, 34))
        w.event("Node", "", NODE, "NodeNotReady", "Node %s status is now: NodeNotReady" % NODE, clk.ago(1, 33), type_="Normal", source="node-controller", salt="node-controller")
        w.post.append(lambda w: runtime_down(w, (1, 32)))
    elif not ready:
        w.event("Node", "", NODE, "NodeNotReady", "Node %s status is now: NodeNotReady" % NODE, clk.ago(5), type_="Normal", source="node-controller")

    # platform workloads
    workload(w, "Deployment", "coredns", "kube-system", 2, "registry.k8s.io/coredns/coredns:v1.12.1", {"k8s-app": "kube-dns"}, t0, container="coredns", hash_="7c65d6cfc9")
    workload(w, "Deployment", "local-path-provisioner", "local-path-storage", 1, "rancher/local-path-provisioner:v0.0.31", {"app": "local-path-provisioner"}, t0, container="local-path-provisioner", hash_="6bc6568469")
    for ctl, ver in [("source-controller", "v1.9.1"), ("kustomize-controller", "v1.9.4"), ("helm-controller", "v1.6.3"), ("notification-controller", "v1.9.1")]:
        image = "ghcr.io/fluxcd/%s:%s" % (ctl, ver)
        running = s["helm-controller-image"] if ctl == "helm-controller" else image
        workload(w, "Deployment", ctl, "flux-system", 1, running, {"app": ctl}, t0, container="manager", template_image=image,
                 hash_="%x" % (h(ctl) % 2**36), pod_labels={"app.kubernetes.io/part-of": "flux"})
    git_repository(w, t0, s["git"], stored=clk.ago(s["revision-age"]) if "revision-age" in s else None)
    kustomization(w, "alga-appliance", "./ee/appliance/flux/base", t0, s["k-root"], parent=False)
    if s.get("platform-flux", True):
        kustomization(w, "alga-platform", "./ee/appliance/flux/base/platform", clk.ago(start - 1), s["k-platform"], timeout="10m")
        helmrelease(w, "appliance-status", "appliance-system", "alga-platform", clk.ago(start - 2), s["hr-appliance-status"], chart="appliance-status", timeout="5m")
    if has("core"):
        kustomization(w, "alga-core", "./ee/appliance/flux/base/core", clk.ago(start - 1), s["k-core"], depends_on=["alga-platform"])
    if has("background"):
        kustomization(w, "alga-background", "./ee/appliance/flux/base/background", clk.ago(start - 1), s["k-background"], depends_on=["alga-core"])

    status_state = s["appliance-status"]
    workload(w, "Deployment", "appliance-status", "appliance-system", 1, "ghcr.io/nine-minds/appliance-status:0.1.0",
             {"app.kubernetes.io/name": "appliance-status", "app.kubernetes.io/instance": "appliance-status"}, clk.ago(start - 2),
             container="appliance-status", state=status_state, helm=("appliance-status", "appliance-system", "appliance-status"), hash_="84f5d9c6b7")
    w.add({"apiVersion": "v1", "kind": "Secret", "metadata": meta("appliance-status-auth", "appliance-system", clk.ago(start - 2)),
           "type": "Opaque", "data": {"token": "c2VjcmV0LXRva2VuLW5ldmVyLWtlcHQ="}})
    w.add({"apiVersion": "v1", "kind": "Service", "metadata": meta("appliance-status", "appliance-system", clk.ago(start - 2)),
           "spec": {"type": "ClusterIP", "ports": [{"port": 8080, "protocol": "TCP", "targetPort": 8080}], "selector": {"app.kubernetes.io/name": "appliance-status"}}})
    w.add({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta("appliance-status", "appliance-system", clk.ago(start - 2))})

    if not has("core"):
        return w.dump()

    # core
    core_t = clk.ago(start - 3)
    alga = ("alga-core", "msp", "alga-core")
    helmrelease(w, "alga-core", "msp", "alga-core", core_t, s["hr-alga-core"])
    release = s.get("release", "1.0-rc5")
    web_image = s.get("web-image", ALGA_IMAGE)
    w.add({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("appliance-release", "alga-system", t0),
           "data": {"releaseVersion": release, "appVersion": release, "channel": "candidate"}})
    w.add({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("appliance-values-alga-core", "alga-system", t0),
           "data": {"values.yaml": "bootstrap:\n  mode: %s\nsetup:\n  image:\n    tag: %s\n" % (s["bootstrap-mode"], s.get("values-tag", "3c9b1f0a"))}})
    for secret, keys in [("db-credentials", ["DB_PASSWORD_SUPERUSER", "DB_PASSWORD_SERVER", "DB_PASSWORD_PGBOUNCER", "DB_PASSWORD_HOCUSPOCUS"]), ("redis-credentials", ["REDIS_PASSWORD"])]:
        if not (secret == "db-credentials" and s.get("db-secret-missing")):
            w.add({"apiVersion": "v1", "kind": "Secret", "metadata": meta(secret, "msp", core_t, labels=helm_meta(*alga)[0], annotations=helm_meta(*alga)[1]),
                   "type": "Opaque", "data": {k: "cGFzc3dvcmQtbmV2ZXIta2VwdA==" for k in keys}})
    # A database reset: the data claim deleted and created again (by Helm) after the bootstrap.
    pvc(w, "alga-core-sebastian-postgres-data", "msp", clk.ago(s["db-pvc-age"]) if "db-pvc-age" in s else core_t, helm=alga)
    pvc(w, "alga-core-sebastian-redis-data", "msp", core_t, helm=alga)
    pvc(w, "alga-core-sebastian-storage", "msp", core_t, helm=alga)
    db_pod_t = clk.ago(s["db-pvc-age"]) if "db-pvc-age" in s else None
    workload(w, "StatefulSet", "db", "msp", 1, "ankane/pgvector:latest", {"app": "db"}, core_t, container="db", state=s["db"], helm=alga,
             pod_created=db_pod_t)
    workload(w, "StatefulSet", "redis", "msp", 1, "redis:latest", {"app": "redis"}, core_t, container="redis", state=s["redis"], helm=alga,
             pull_minutes=s.get("redis-pull"))
    for svc in ["db", "redis", "alga-core-sebastian"]:
        w.add({"apiVersion": "v1", "kind": "Service", "metadata": meta(svc, "msp", core_t, labels=helm_meta(*alga)[0], annotations=helm_meta(*alga)[1]),
               "spec": {"clusterIP": "None" if svc != "alga-core-sebastian" else "10.96.14.2", "ports": [{"port": 5432}]}})
    # An old, resolved warning: Postgres's volume mount failed once while the claim was binding.
    w.event("Pod", "msp", "db-0", "FailedScheduling", "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
            clk.ago(start - 3), type_="Warning", source="default-scheduler")
    if db_pod_t:
        # db-0 re-created with the new claim: the scheduler waited for it to bind again.
        w.event("Pod", "msp", "db-0", "FailedScheduling", "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
                db_pod_t, type_="Warning", source="default-scheduler", salt="reset")
    if s.get("pgbouncer") == "not-installed":
        # its HelmRelease waits on alga-core (dependsOn): nothing of it is installed yet
        helmrelease(w, "pgbouncer", "msp", "alga-core", core_t, s["hr-pgbouncer"], chart="pgbouncer", depends_on=["alga-core"])
    elif s.get("pgbouncer") != "absent":
        helmrelease(w, "pgbouncer", "msp", "alga-core", core_t, s["hr-pgbouncer"], chart="pgbouncer", depends_on=["alga-core"])
        workload(w, "Deployment", "pgbouncer", "msp", 1, "edoburu/pgbouncer:latest",
                 {"app.kubernetes.io/name": "pgbouncer", "app.kubernetes.io/instance": "pgbouncer", "app.kubernetes.io/component": "pgbouncer"}, core_t,
                 container="pgbouncer", state=s["pgbouncer"], helm=("pgbouncer", "msp", "pgbouncer"), hash_="7f9c8d6b5a")
    job_state = s["job"]
    if job_state != "gone":
        job(w, "alga-core-sebastian-bootstrap-r1", "msp", clk.ago(s.get("job-age", 12)), job_state, alga,
            done=s.get("job-done", 1), pull_minutes=s.get("job-pull"), image=s.get("job-image", ALGA_IMAGE))
    if "job2" in s:
        # a newer bootstrap (the post-upgrade hook of Helm revision 2)
        job(w, "alga-core-sebastian-bootstrap-r2", "msp", clk.ago(s["job2"][1]), s["job2"][0], alga, pod_suffix="p5n7c", image=s.get("job-image", ALGA_IMAGE))
    web_state = s["web"]
    web_labels = {"app.kubernetes.io/name": "sebastian", "app.kubernetes.io/instance": "alga-core"}
    if web_state == "rollout":
        rollout(w, "alga-core-sebastian", "msp", ALGA_IMAGE, web_image, web_labels, core_t, clk.ago(s["rollout-age"]), alga,
                {"app.kubernetes.io/component": "main"}, ("wait-for-bootstrap", "busybox:1.36"), "6d4b8c9f7d", "7b9f5d2c4e", s["web-pull"],
                new_state=s.get("rollout-pod", "pulling"), deadline=clk.ago(s["rollout-age"] - 10) if s["rollout-age"] > 10 else None)
    else:
        workload(w, "Deployment", "alga-core-sebastian", "msp", 1, ALGA_IMAGE, web_labels, core_t, state=web_state, helm=alga,
                 pod_labels={"app.kubernetes.io/component": "main"}, init=("wait-for-bootstrap", "busybox:1.36"),
                 pull_minutes=s["web-pull"], progressing=s["web-progress"], hash_="6d4b8c9f7d",
                 template_image=web_image, ready_since=clk.ago(s["web-ready"]) if "web-ready" in s else None)

    if not has("background"):
        return w.dump()

    bg_t = clk.ago(max(start - 30, 1))
    for name, chart, deps in [("temporal", "temporal", ["alga-core"]), ("email-service", "email-service", ["alga-core", "pgbouncer"]),
                              ("workflow-worker", "workflow-worker", ["alga-core", "pgbouncer"]), ("temporal-worker", "temporal-worker", ["alga-core", "pgbouncer", "temporal"])]:
        helmrelease(w, name, "msp", "alga-background", bg_t, s["hr-" + name], chart=chart, depends_on=deps)
    th = ("temporal", "msp", "temporal")
    workload(w, "Deployment", "temporal", "msp", 1, "temporalio/auto-setup:1.27.2",
             {"app.kubernetes.io/name": "temporal", "app.kubernetes.io/instance": "temporal", "app.kubernetes.io/component": "server"}, bg_t,
             container="temporal", state=s["temporal"], helm=th, hash_="5b7d9c8f6e")
    workload(w, "Deployment", "temporal-ui", "msp", 1, "temporalio/ui:2.30.0",
             {"app.kubernetes.io/name": "temporal", "app.kubernetes.io/instance": "temporal", "app.kubernetes.io/component": "ui"}, bg_t,
             container="temporal-ui", state=s["temporal-ui"], helm=th, hash_="78c9d6f5b4")
    for name, image, replicas in [("email-service", EMAIL_IMAGE, 1), ("workflow-worker", WORKER_IMAGE, 1), ("temporal-worker", TWORKER_IMAGE, 2)]:
        workload(w, "Deployment", name, "msp", replicas, image,
                 {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": name, "app.kubernetes.io/component": name}, bg_t,
                 container=name, state=s[name], helm=(name, "msp", name), hash_="%x" % (h(name) % 2**36),
                 pull_minutes=s.get("bg-pull", 12))
    return w.dump()


# ------------------------------------------------------------------------------------------
# the cases
# ------------------------------------------------------------------------------------------

NOW = "2026-04-30T02:00:00Z"
CORE_K = "Kustomization/flux-system/alga-core"
ALL = ["platform", "core", "bootstrap", "login", "background", "full_health"]
LOGIN = ["platform", "core", "bootstrap", "login"]

CASES = [
    # ---- the healthy appliance, and what must not spoil it -----------------------------------------
    dict(name="01-fully-healthy", cls="4, 8",
         description="The final state: every HelmRelease installed, flux-controllers with four workloads and four images, temporal with its UI, the bootstrap Job gone after its TTL, old resolved warnings and no expired events.",
         now=NOW, state={}, probes=["login-url=307 /msp/dashboard", "seed-users=12"],
         expect=dict(rollup="fully_healthy", ready=ALL, top=None,
                     checks={"full.image-drift": "ok", "platform.storage-smoke": "ok", "platform.node-booted": "ok", "bootstrap.job-completed": "ok"},
                     detail={"platform.node-booted": "Talos (v1.10.3), kubelet v1.33.1, Ready=True", "platform.storage-smoke": "inferred from bound claims"})),
    dict(name="02-flux-controller-image-drift", cls="4",
         description="helm-controller's pod runs v1.6.2 while its Deployment, rolled out, says v1.6.3: drift of that one workload, reported per workload, login unaffected.",
         now=NOW, state={"helm-controller-image": "ghcr.io/fluxcd/helm-controller:v1.6.2"}, probes=["login-url=307 /msp/dashboard"],
         expect=dict(rollup="ready_with_background_issues", ready=LOGIN + ["background"],
                     top=dict(component="flux-controllers", layer="image", loginBlocking=False, severity="background"),
                     checks={"full.image-drift": "failed"})),
    # ---- class 1: Flux waiting is not the blocker ---------------------------------------------------
    dict(name="03-core-install-pulling", cls="1, 2",
         description="The normal core install at minute 25: alga-core Kustomization running health checks, HelmRelease alga-core running its install, the web pod pulling the 1.8 GB image for 14 minutes, the bootstrap Job running.",
         now=NOW, state={"install": 26, "present": {"core"}, "k-core": ("health", 24), "hr-alga-core": ("installing", 23),
                         "k-root": ("health", 25), "job": "running", "web": "pulling", "web-pull": 14, "web-progress": "deadline"},
         probes=[], expect=dict(rollup="installing", ready=["platform", "core"], top=None,
                                message="alga-psa-ee")),
    dict(name="04-core-tag-missing-behind-reconcile", cls="1",
         description="The web image tag does not exist; Flux is still within its 30-minute timeouts. The tag is the blocker, not the reconciliation.",
         now=NOW, state={"install": 28, "present": {"core"}, "k-core": ("health", 26), "hr-alga-core": ("installing", 25), "k-root": ("health", 27),
                         "job": "complete", "web": "tag-missing", "web-image": "ghcr.io/nine-minds/alga-psa-ee:3c9b1f0b"},
         probes=[], expect=dict(rollup="failed_action_required", ready=["platform", "bootstrap"],
                                top=dict(component="alga-core", layer="image", loginBlocking=True, severity="critical", reason="Image tag not found"))),
    dict(name="05-bootstrap-failed-behind-reconcile", cls="1",
         description="The bootstrap Job exceeded its backoffLimit while HelmRelease alga-core still runs its install: the Job is the blocker.",
         now=NOW, state={"install": 22, "present": {"core"}, "k-core": ("health", 20), "hr-alga-core": ("installing", 19), "k-root": ("health", 21),
                         "job": "failed", "web": "init-wait"},
         probes=[], expect=dict(rollup="failed_action_required", ready=["platform", "core"],
                                top=dict(component="bootstrap-job", layer="job", loginBlocking=True, severity="critical"))),
    dict(name="06-unauthorized-pull-behind-reconcile", cls="1",
         description="The registry refuses the anonymous token for the web image; the install is within its timeout.",
         now=NOW, state={"install": 20, "present": {"core"}, "k-core": ("health", 18), "hr-alga-core": ("installing", 17), "k-root": ("health", 19),
                         "job": "complete", "web": "unauthorized"},
         probes=[], expect=dict(rollup="failed_action_required", ready=["platform", "bootstrap"],
                                top=dict(component="alga-core", layer="image", loginBlocking=True, severity="critical", reason="Not authorized"))),
    dict(name="07-interrupted-pull-retrying", cls="1, 3",
         description="The web image pull was interrupted (context canceled) three minutes ago and the kubelet pulls again: progress, not a blocker.",
         now=NOW, state={"install": 20, "present": {"core"}, "k-core": ("health", 18), "hr-alga-core": ("installing", 17), "k-root": ("health", 19),
                         "job": "complete", "web": "interrupted", "web-pull": 10},
         probes=[], expect=dict(rollup="installing", ready=["platform", "core", "bootstrap"], top=None)),
    dict(name="08-helm-timeout-over-slow-pull", cls="1",
         description="HelmRelease alga-core gave up after its 30-minute timeout (Stalled, RetriesExceeded) while the web image still pulls: the pull is the cause, the timeout its evidence, and Helm will not retry by itself.",
         now=NOW, state={"install": 45, "present": {"core"}, "k-core": ("healthfailed", 2, [("HelmRelease/alga-system/alga-core", "Failed")]),
                         "hr-alga-core": ("installfailed", 3), "k-root": ("health", 44), "job": "complete", "web": "pulling", "web-pull": 33},
         probes=[], expect=dict(rollup="failed_action_required", ready=["platform", "bootstrap"],
                                top=dict(component="alga-core", layer="image", loginBlocking=True, severity="critical", evidence="HelmRelease"))),
    # ---- class 2: consequential waiting -----------------------------------------------------------------
    dict(name="09-web-waits-for-bootstrap-past-deadline", cls="2",
         description="The migrations take long: the web pod waits in wait-for-bootstrap and its Deployment carries Progressing=False ProgressDeadlineExceeded. Waiting, not failing.",
         now=NOW, state={"install": 30, "present": {"core"}, "k-core": ("health", 28), "hr-alga-core": ("installing", 27), "k-root": ("health", 29),
                         "job": "running", "job-age": 14, "web": "init-wait", "web-progress": "deadline"},
         probes=[], expect=dict(rollup="installing", ready=["platform", "core"], top=None, message="bootstrap")),
    # ---- class 3: slow progress -----------------------------------------------------------------------
    dict(name="10-slow-pull-25-minutes", cls="3",
         description="The 1.8 GB web image still pulls after 25 minutes on a slow link, no error event; the Deployment passed its progress deadline. Slow, not failed.",
         now=NOW, state={"install": 29, "present": {"core"}, "k-core": ("health", 27), "hr-alga-core": ("installing", 27), "k-root": ("health", 28),
                         "job": "complete", "web": "pulling", "web-pull": 25, "web-progress": "deadline"},
         probes=[], expect=dict(rollup="installing", ready=["platform", "core", "bootstrap"], top=None, message="alga-psa-ee")),
    # ---- class 5: a failed check has a blocker ---------------------------------------------------------
    dict(name="11-bootstrap-mode-still-fresh", cls="5",
         description="Everything runs, but bootstrap.mode is still `fresh` after the first success: BOOTSTRAP_READY fails with a blocker saying what to do.",
         now=NOW, state={"bootstrap-mode": "fresh"}, probes=["login-url=307 /msp/dashboard", "seed-users=12"],
         expect=dict(rollup="failed_action_required", ready=["platform", "core", "background"],
                     top=dict(component="bootstrap", layer="config", loginBlocking=True, severity="critical"),
                     checks={"bootstrap.mode": "failed"})),
    # ---- class 6 and 7: release-level failures ----------------------------------------------------------
    dict(name="12-core-upgrade-failed-previous-serving", cls="6",
         description="HelmRelease alga-core failed an upgrade (Stalled, RetriesExceeded) and alga-core's Kustomization health check reports it; every pod of the release is ready and current, the login URL answers 307.",
         now=NOW, state={"hr-alga-core": ("upgradefailed", 10, "cannot patch \"alga-core-sebastian\" with kind Deployment: Deployment.apps \"alga-core-sebastian\" is invalid: spec.template.spec.containers[0].image: Required value"),
                         "k-core": ("healthfailed", 5, [("HelmRelease/alga-system/alga-core", "Failed")])},
         probes=["login-url=307 /msp/dashboard", "seed-users=12"],
         expect=dict(rollup="ready_with_background_issues", ready=LOGIN + ["background"],
                     top=dict(component="alga-core", layer="helm", loginBlocking=False, severity="background", reason="keeps serving"),
                     checks={"core.postgres": "ok", "full.flux": "failed"})),
    dict(name="13-core-kustomization-path-missing", cls="7",
         description="Kustomization alga-core cannot find its path in a new revision (ArtifactFailed, retrying); everything it applied earlier is ready.",
         now=NOW, state={"k-core": ("pathmissing", 8)}, probes=["login-url=307 /msp/dashboard"],
         expect=dict(rollup="ready_with_background_issues", ready=LOGIN + ["background"],
                     top=dict(component="flux-kustomizations", layer="flux", loginBlocking=False, severity="background"))),
    dict(name="14-core-kustomization-failed-while-installing", cls="7",
         description="Kustomization alga-core timed out on its health checks while Postgres cannot create its data directory: Postgres is the blocker, the Kustomization and the Helm timeout its evidence.",
         now=NOW, state={"install": 40, "present": {"core"}, "k-core": ("healthfailed", 6, [("HelmRelease/alga-system/alga-core", "InProgress")]),
                         "hr-alga-core": ("installfailed", 7), "k-root": ("health", 39), "job": "gone", "web": "init-wait",
                         "db": "config:failed to create subPath directory for volumeMount \"db-data\" of container \"db\""},
         probes=[], expect=dict(rollup="failed_action_required", ready=["platform"],
                                top=dict(component="db", layer="storage", loginBlocking=True, severity="critical", evidence="Kustomization"))),
    # ---- the PRD's blocker table ----------------------------------------------------------------------
    dict(name="15-dns-resolver-refuses", cls="PRD",
         description="The resolver 192.168.64.1 refuses queries: the release source cannot be cloned.",
         now=NOW, state={"install": 6, "present": set(), "git": ("dnsfail", 5), "k-root": ("noartifact", 5), "platform-flux": False},
         probes=[], expect=dict(rollup="failed_action_required", ready=[],
                                top=dict(component="dns", layer="dns", loginBlocking=True, severity="critical"))),
    dict(name="16-worker-tag-missing", cls="PRD, AC5",
         description="Login works; workflow-worker's image tag was never published; its HelmRelease is still installing inside its timeout.",
         now=NOW, state={"workflow-worker": "tag-missing", "hr-workflow-worker": ("installing", 14), "k-background": ("health", 15), "bg-pull": 13},
         probes=["login-url=307 /msp/dashboard", "seed-users=12"],
         expect=dict(rollup="ready_with_background_issues", ready=LOGIN,
                     top=dict(component="workflow-worker", layer="image", loginBlocking=False, severity="background", reason="workflow-worker:61e4a00e"))),
    dict(name="17-temporal-crash-loop", cls="PRD",
         description="Temporal crash-loops (no log tail in a dump): a background problem naming the last exit.",
         now=NOW, state={"temporal": "crashloop", "hr-temporal": ("installfailed", 3), "k-background": ("healthfailed", 2, [("HelmRelease/alga-system/temporal", "Failed")])},
         probes=["login-url=307 /msp/dashboard"],
         expect=dict(rollup="ready_with_background_issues", ready=LOGIN,
                     top=dict(component="temporal", layer="pod", loginBlocking=False, severity="background", evidence="HelmRelease"))),
    dict(name="18-postgres-subpath-behind-helm-timeout", cls="PRD, AC6",
         description="Postgres's data volume subPath cannot be created; HelmRelease alga-core timed out after 30 minutes (context deadline exceeded).",
         now=NOW, state={"install": 40, "present": {"core"}, "k-core": ("health", 38), "hr-alga-core": ("installfailed", 7), "k-root": ("health", 39),
                         "job": "gone", "web": "init-wait", "db": "config:failed to create subPath directory for volumeMount \"db-data\" of container \"db\""},
         probes=[], expect=dict(rollup="failed_action_required", ready=["platform"],
                                top=dict(component="db", layer="storage", loginBlocking=True, severity="critical", reason="Postgres PVC initialization failed", evidence="HelmRelease"))),
    dict(name="19-pull-failure-after-events-expired", cls="PRD",
         description="The web pod has been in ImagePullBackOff for over an hour: the Failed events with the registry's words expired, only the back-off is left.",
         now=NOW, state={"install": 90, "present": {"core"}, "k-core": ("healthfailed", 50, [("HelmRelease/alga-system/alga-core", "Failed")]), "hr-alga-core": ("installfailed", 55),
                         "k-root": ("health", 89), "job": "complete", "web": "backoff-expired"},
         probes=[], expect=dict(rollup="failed_action_required", ready=["platform", "bootstrap"],
                                top=dict(component="alga-core", layer="image", loginBlocking=True, severity="critical"))),
    dict(name="20-background-unschedulable-memory", cls="PRD",
         description="temporal-worker cannot be scheduled: the scheduler reports Insufficient memory. Login works.",
         now=NOW, state={"temporal-worker": "unschedulable:0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
                         "hr-temporal-worker": ("installing", 10), "k-background": ("health", 11)},
         probes=["login-url=307 /msp/dashboard"],
         expect=dict(rollup="ready_with_background_issues", ready=LOGIN,
                     top=dict(component="temporal-worker", layer="node", loginBlocking=False, severity="background", reason="Insufficient memory"))),
    dict(name="21-db-credentials-missing", cls="PRD",
         description="Postgres cannot start: Secret db-credentials does not exist (CreateContainerConfigError).",
         now=NOW, state={"install": 15, "present": {"core"}, "k-core": ("health", 13), "hr-alga-core": ("installing", 12), "k-root": ("health", 14),
                         "job": "gone", "web": "init-wait", "db": "config:secret \"db-credentials\" not found", "db-secret-missing": True},
         probes=[], expect=dict(rollup="failed_action_required", ready=["platform"],
                                top=dict(component="db", layer="config", loginBlocking=True, severity="critical"),
                                checks={"core.credentials": "failed"})),
    dict(name="22-background-waits-for-core", cls="1",
         description="Core still installing: alga-background waits on its dependency (DependencyNotReady), background HelmReleases wait on theirs. Nothing failed.",
         now=NOW, state={"install": 12, "k-core": ("health", 10), "hr-alga-core": ("installing", 9), "k-root": ("health", 11), "k-background": ("depends", 10),
                         "job": "running", "job-age": 5, "web": "init-wait",
                         "hr-temporal": ("depends", 10), "hr-email-service": ("depends", 10), "hr-workflow-worker": ("depends", 10), "hr-temporal-worker": ("depends", 10),
                         "present": {"core"}},
         probes=[], expect=dict(rollup="installing", ready=["platform", "core"], top=None)),
    dict(name="23-status-service-first", cls="AC1",
         description="Minute 3: appliance-status answers, the root Kustomization runs its health checks, alga-core is not applied yet, and no claim has bound: without a smoke probe, storage cannot be confirmed yet.",
         now=NOW, state={"install": 3, "present": set(), "k-root": ("health", 2)},
         probes=[], expect=dict(rollup="installing", ready=[], top=None,
                                checks={"platform.storage-smoke": "pending", "platform.appliance-status": "ok", "platform.flux": "ok"},
                                detail={"platform.storage-smoke": "no smoke probe configured"})),
    dict(name="24-node-not-ready", cls="PRD",
         description="The kubelet stopped posting status during the core install: a platform blocker.",
         now=NOW, state={"install": 20, "present": {"core"}, "node": "unknown", "k-core": ("health", 18), "hr-alga-core": ("installing", 17), "k-root": ("health", 19),
                         "job": "running", "web": "init-wait"},
         probes=[], expect=dict(rollup="failed_action_required", ready=["core"],
                                top=dict(component="node", layer="node", loginBlocking=True, severity="critical"))),
    dict(name="25-login-url-refused-while-web-ready", cls="8",
         description="Every pod is ready but the login URL probe is refused: a checked check, failed by its blocker.",
         now=NOW, state={}, probes=["login-url=error: connect to 192.168.64.8:3000: Connection refused", "seed-users=12"],
         expect=dict(rollup="failed_action_required", ready=["platform", "core", "bootstrap", "background"],
                     top=dict(component="login-url", layer="probe", loginBlocking=True, severity="critical"),
                     checks={"login.url-responds": "failed"})),
    # ---- issue "diagnosis of what nobody has written yet", item 5: the pull classes and their neighbours --------
    # The node runs containerd 2.0.5 and kubelet 1.33.1: the kubelet's back-off message carries the cause
    # (`Back-off pulling image "X": ErrImagePull: ...`). The bootstrap Job's pod pulls alga-psa-ee first: the web
    # pod's main container starts (and would pull) only after its wait-for-bootstrap init container.
    dict(name="26-bootstrap-pull-rate-limited-ghcr", cls="5: rate limit",
         description="ghcr.io throttles the site's address: the bootstrap pod's pull of alga-psa-ee fails with 429 toomanyrequests (retry-after in ghcr's body) and backs off; the web pod waits for the bootstrap.",
         now=NOW, state={"install": 24, "present": {"core"}, "k-core": ("health", 22), "hr-alga-core": ("installing", 21), "k-root": ("health", 23),
                         "pgbouncer": "not-installed", "hr-pgbouncer": ("depends", 21),
                         "job": "pullfail:ratelimit-ghcr", "job-age": 20, "job-pull": 19, "web": "init-wait", "web-progress": "deadline"},
         probes=[], expect=dict(rollup="failed_action_required", ready=["platform"],
                                top=dict(component="bootstrap-job", layer="image", loginBlocking=True, severity="critical", reason="retry after 333.939671ms"),
                                checks={"bootstrap.job-completed": "failed", "core.no-failing-pods": "failed"})),
    dict(name="27-redis-pull-rate-limited-docker-hub", cls="5: rate limit",
         description="Docker Hub refuses redis:latest with 429 toomanyrequests (its unauthenticated pull rate limit, the site's shared address): Redis, a core component, cannot start.",
         now=NOW, state={"install": 10, "present": {"core"}, "k-core": ("health", 8), "hr-alga-core": ("installing", 7), "k-root": ("health", 9),
                         "pgbouncer": "not-installed", "hr-pgbouncer": ("depends", 7),
                         "redis": "pullfail:ratelimit-dockerhub", "redis-pull": 6, "job": "running", "job-age": 6, "web": "init-wait", "web-progress": "updating"},
         probes=[], expect=dict(rollup="failed_action_required", ready=["platform"],
                                top=dict(component="redis", layer="image", loginBlocking=True, severity="critical", reason="too many requests"),
                                checks={"core.redis": "failed", "bootstrap.job-completed": "pending"})),
    dict(name="28-tls-inspecting-proxy", cls="5: TLS interception",
         description="The site's proxy inspects TLS to ghcr.io and re-signs it with its own CA, which the node does not trust: the bootstrap pod's pull fails with x509: certificate signed by unknown authority.",
         now=NOW, state={"install": 15, "present": {"core"}, "k-core": ("health", 13), "hr-alga-core": ("installing", 12), "k-root": ("health", 14),
                         "pgbouncer": "not-installed", "hr-pgbouncer": ("depends", 12),
                         "job": "pullfail:tls-untrusted", "job-age": 11, "job-pull": 10, "web": "init-wait", "web-progress": "deadline"},
         probes=[], expect=dict(rollup="failed_action_required", ready=["platform"],
                                top=dict(component="bootstrap-job", layer="network", loginBlocking=True, severity="critical", reason="does not trust"),
                                checks={"bootstrap.job-completed": "failed"})),
    dict(name="29-node-clock-behind", cls="5: clock",
         description="The node's clock runs two weeks behind (every time in this dump is the node's): ghcr.io's renewed certificate is not valid yet for it, the bootstrap pod's pull has just failed again (ErrImagePull).",
         now=NOW, state={"install": 14, "present": {"core"}, "k-core": ("health", 12), "hr-alga-core": ("installing", 11), "k-root": ("health", 13),
                         "pgbouncer": "not-installed", "hr-pgbouncer": ("depends", 11),
                         "job": "pullerr:clock-behind", "job-age": 10, "job-pull": 9, "web": "init-wait", "web-progress": "deadline"},
         probes=[], expect=dict(rollup="failed_action_required", ready=["platform"],
                                top=dict(component="bootstrap-job", layer="node", loginBlocking=True, severity="critical", reason="clock is behind"),
                                checks={"bootstrap.job-completed": "failed"})),
    dict(name="30-disk-full-while-unpacking", cls="5: disk",
         description="alga-psa-ee unpacks to more than the free space on /var: containerd's extraction fails with no space left on device and is cleaned up, so the free space between attempts stays above the kubelet's eviction threshold (no DiskPressure).",
         now=NOW, state={"install": 26, "present": {"core"}, "k-core": ("health", 24), "hr-alga-core": ("installing", 23), "k-root": ("health", 25),
                         "pgbouncer": "not-installed", "hr-pgbouncer": ("depends", 23),
                         "job": "pullfail:disk-full", "job-age": 22, "job-pull": 21, "web": "init-wait", "web-progress": "deadline"},
         probes=[], expect=dict(rollup="failed_action_required", ready=["platform"],
                                top=dict(component="bootstrap-job", layer="node", loginBlocking=True, severity="critical", reason="No space left"),
                                checks={"bootstrap.job-completed": "failed"})),
    dict(name="31-container-runtime-down", cls="5: runtime socket",
         description="containerd stopped answering two minutes ago: the web pod's next start asked for its image's status on a refused socket (ImageInspectError, containerd.sock), then the kubelet declared the runtime down (Ready=False) and the node controller marked every pod not ready.",
         now=NOW, state={"install": 21, "present": {"core"}, "node": "runtime-down", "k-core": ("health", 19), "hr-alga-core": ("installing", 18), "k-root": ("health", 20),
                         "pgbouncer": "not-installed", "hr-pgbouncer": ("depends", 18),
                         "job": "complete", "job-age": 17, "job-done": 3, "web": "inspect-runtime-down", "web-progress": "deadline"},
         probes=[], expect=dict(rollup="failed_action_required", ready=[],
                                top=dict(component="node", layer="node", loginBlocking=True, severity="critical", reason="container runtime is down"),
                                checks={"platform.node-ready": "failed"})),
    dict(name="32-backoff-carries-the-cause", cls="5: kubelet 1.32 back-off",
         description="The release names an alga-psa-ee tag that was never pushed; after 90 minutes the kubelet's Failed events have expired, but its back-off message (1.32+) still carries the registry's words: the tag, not an expired unknown.",
         now=NOW, state={"install": 95, "present": {"core"}, "event-ttl": True, "k-core": ("healthfailed", 61, [("HelmRelease/alga-system/alga-core", "InProgress")]),
                         "hr-alga-core": ("installfailed", 62), "k-root": ("health", 8),
                         "pgbouncer": "not-installed", "hr-pgbouncer": ("depends", 62),
                         "job-image": "ghcr.io/nine-minds/alga-psa-ee:3c9b1f0b", "web-image": "ghcr.io/nine-minds/alga-psa-ee:3c9b1f0b", "values-tag": "3c9b1f0b",
                         "job": "pullexpired:tag-missing", "job-age": 92, "job-pull": 92, "web": "init-wait", "web-progress": "deadline"},
         probes=[], expect=dict(rollup="failed_action_required", ready=["platform"],
                                top=dict(component="bootstrap-job", layer="image", loginBlocking=True, severity="critical", reason="Image tag not found: ghcr.io/nine-minds/alga-psa-ee:3c9b1f0b", evidence="HelmRelease"),
                                checks={"full.image-tags": "failed"})),
    # ---- their neighbours that are not failures --------------------------------------------------------
    dict(name="33-background-slow-pull-login-ready", cls="5: slow pull",
         description="Login works; email-service's image has been pulling for 9 minutes on a slow link, no error: past the time a pull should take, a warning, never a failure.",
         now=NOW, state={"install": 40, "k-root": ("health", 8), "k-background": ("health", 10), "hr-email-service": ("installing", 10),
                         "email-service": "pulling", "bg-pull": 9},
         probes=["login-url=307 /msp/dashboard", "seed-users=12"],
         expect=dict(rollup="ready_to_log_in", ready=LOGIN,
                     top=dict(component="email-service", layer="image", loginBlocking=False, severity="warning", reason="taking long"),
                     message="taking longer than expected")),
    dict(name="34-interrupted-pull-recovered", cls="5: recovered pull",
         description="Fifty minutes ago containerd cancelled the web image pull after five minutes without progress (context canceled); the kubelet pulled again and the pod has run since: the old Failed event is history.",
         now=NOW, state={"web": "recovered", "web-pull": 50, "web-ready": 23},
         probes=["login-url=307 /msp/dashboard", "seed-users=12"],
         expect=dict(rollup="fully_healthy", ready=ALL, top=None,
                     checks={"full.no-open-blockers": "ok", "login.url-responds": "ok"})),
    dict(name="35-upgrade-old-pod-serving", cls="5: rolling upgrade",
         description="An upgrade to 1.0-rc6 rolls out: HelmRelease alga-core runs its upgrade, the new ReplicaSet's pod pulls the new image while the old ReplicaSet's pod stays ready and serves; login stays ready.",
         now=NOW, state={"install": 300, "event-ttl": True, "revision": "release/1.0-rc6@sha1:7e2d4c1b8a9f0e1d2c3b4a5f6e7d8c9b0a1f2e3d", "revision-age": 9, "release": "1.0-rc6",
                         "web": "rollout", "rollout-age": 7, "web-pull": 6, "web-image": "ghcr.io/nine-minds/alga-psa-ee:7e2d4c1b", "values-tag": "7e2d4c1b",
                         "hr-alga-core": ("upgrading", 7), "k-core": ("health", 7), "k-root": ("health", 8), "k-background": ("depends", 7)},
         probes=["login-url=307 /msp/dashboard", "seed-users=12"],
         expect=dict(update=dict(state="in_progress", fromRelease="1.0-rc5", to="1.0-rc6", message="Updating 1.0-rc5 → 1.0-rc6: alga-core rolling out"), rollup="ready_to_log_in", ready=LOGIN + ["background"], top=None,
                     checks={"full.image-drift": "ok", "login.url-responds": "ok"})),
    dict(name="36-bootstrap-second-attempt-running", cls="5: Job retry",
         description="The bootstrap Job's first pod exited 1 (within backoffLimit 2) and its second attempt runs: an operation on its second attempt, not a failure.",
         now=NOW, state={"install": 16, "present": {"core"}, "k-core": ("health", 14), "hr-alga-core": ("installing", 13), "k-root": ("health", 15),
                         "pgbouncer": "not-installed", "hr-pgbouncer": ("depends", 13),
                         "job": "retrying", "job-age": 4, "web": "init-wait", "web-progress": "deadline"},
         probes=[], expect=dict(rollup="installing", ready=["platform", "core"], top=None, message="attempt 2 of 3",
                                checks={"bootstrap.job-completed": "pending"})),
    dict(name="37-database-reset-bootstrap-again", cls="5: readiness re-proven",
         description="Minutes after the first bootstrap the database was reset: the completed Job is still there, the Postgres data claim was created after it, and a forced upgrade runs a newer bootstrap Job. The old success is not inherited.",
         now=NOW, state={"install": 22, "present": {"core"}, "hr-alga-core": ("upgrading", 2),
                         "job": "complete", "job-age": 18, "job-done": 4, "db-pvc-age": 2, "job2": ("running", 1), "web-ready": 3},
         probes=[], expect=dict(rollup="installing", ready=["platform", "core"], top=None,
                                checks={"bootstrap.job-completed": "pending"},
                                detail={"bootstrap.job-completed": "a newer bootstrap Job, alga-core-sebastian-bootstrap-r2, has not completed"})),
    dict(name="38-upgrade-tag-missing-old-pod-serving", cls="5: rolling upgrade",
         description="An upgrade to 1.0-rc6 names an alga-psa-ee tag that was never pushed: the new ReplicaSet's pod cannot pull it, the old ReplicaSet's pod keeps serving and the login URL answers. The upgrade is stuck, login is not.",
         now=NOW, state={"install": 300, "event-ttl": True, "revision": "release/1.0-rc6@sha1:7e2d4c1b8a9f0e1d2c3b4a5f6e7d8c9b0a1f2e3d", "revision-age": 13, "release": "1.0-rc6",
                         "web": "rollout", "rollout-age": 12, "web-pull": 11, "rollout-pod": "pullfail:tag-missing",
                         "web-image": "ghcr.io/nine-minds/alga-psa-ee:7e2d4c1c", "values-tag": "7e2d4c1c",
                         "hr-alga-core": ("upgrading", 12), "k-core": ("health", 12), "k-root": ("health", 13), "k-background": ("depends", 12)},
         probes=["login-url=307 /msp/dashboard", "seed-users=12"],
         expect=dict(update=dict(state="blocked", fromRelease="1.0-rc5", to="1.0-rc6", message="is blocked: alga-core: Image tag not found"), rollup="ready_with_background_issues", ready=LOGIN + ["background"],
                     top=dict(component="alga-core", layer="image", loginBlocking=False, severity="background", reason="Image tag not found: ghcr.io/nine-minds/alga-psa-ee:7e2d4c1c"),
                     checks={"login.url-responds": "ok", "full.image-tags": "failed"})),
    dict(name="39-upgrade-gave-up-old-pod-serving", cls="5: rolling upgrade",
         description="The same stuck upgrade 45 minutes on: HelmRelease alga-core gave up (Stalled, UpgradeFailed: context deadline exceeded) and alga-core's Kustomization reports it; the old pod still serves. The missing tag is the cause, the Flux failures its evidence, login unaffected.",
         now=NOW, state={"install": 300, "event-ttl": True, "revision": "release/1.0-rc6@sha1:7e2d4c1b8a9f0e1d2c3b4a5f6e7d8c9b0a1f2e3d", "revision-age": 46, "release": "1.0-rc6",
                         "web": "rollout", "rollout-age": 45, "web-pull": 44, "rollout-pod": "pullfail:tag-missing",
                         "web-image": "ghcr.io/nine-minds/alga-psa-ee:7e2d4c1c", "values-tag": "7e2d4c1c",
                         "hr-alga-core": ("upgradefailed", 15, "context deadline exceeded"),
                         "k-core": ("healthfailed", 14, [("HelmRelease/alga-system/alga-core", "Failed")]), "k-root": ("health", 8), "k-background": ("depends", 44)},
         probes=["login-url=307 /msp/dashboard", "seed-users=12"],
         expect=dict(update=dict(state="stopped", fromRelease="1.0-rc5", to="1.0-rc6", message="stopped (HelmRelease alga-core: "), rollup="ready_with_background_issues", ready=LOGIN + ["background"],
                     top=dict(component="alga-core", layer="image", loginBlocking=False, severity="background", reason="the previous version keeps serving", evidence="HelmRelease"),
                     checks={"login.url-responds": "ok", "core.no-failing-pods": "ok"})),
    dict(name="40-helm-install-retrying", cls="2: HelmRelease retry",
         description="email-service's install timed out while its image was pulling; HelmRelease email-service uses the RetryOnFailure strategy, so helm-controller retries it every 5 minutes (the second attempt in about 3). Its pod has pulled the image since and runs: retrying, no action needed yet.",
         now=NOW, state={"install": 45, "k-root": ("health", 8), "k-background": ("health", 35), "hr-email-service": ("installretrying", 2, 1)},
         probes=["login-url=307 /msp/dashboard", "seed-users=12"],
         expect=dict(rollup="ready_to_log_in", ready=LOGIN + ["background"], top=None,
                     message="Background services are still installing",
                     operation="Helm install of email-service retrying (attempt 2, next in about 3 min)")),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    index = []
    for case in CASES:
        dump = build(case)
        d = os.path.join(OUT, case["name"])
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "dump.yaml"), "w") as f:
            f.write("# %s\n# Generated by testing/corpus/generate.py; `kubectl get -A -o yaml` of the appliance at %s.\n" % (case["description"], case["now"]))
            yaml.safe_dump(dump, f, sort_keys=False, width=200)
        entry = {k: case[k] for k in ("name", "description", "now", "probes", "expect")}
        entry["issueClass"] = case["cls"]
        index.append(entry)
    with open(os.path.join(OUT, "cases.yaml"), "w") as f:
        f.write("# What `assess` must say about each dump (generated with the dumps by testing/corpus/generate.py).\n")
        yaml.safe_dump({"cases": index}, f, sort_keys=False, width=200)
    print("wrote %d cases to %s" % (len(CASES), OUT))


if __name__ == "__main__":
    sys.exit(main())
