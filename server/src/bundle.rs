//! The support bundle: one `.tar.gz` for support to read and for `assess` to replay, so the verdict
//! can be reproduced offline. `appliance-status support-bundle -o FILE` and the diagnostics tab's
//! download (`GET /api/support-bundle`) write it; `appliance-status assess FILE` reads it back.
//!
//! | file | what |
//! |---|---|
//! | `manifest.json` | format, when, the service's version, the verdict, every file with its size, the redaction rules |
//! | `status.json` | the published document |
//! | `objects.yaml` | every object the service holds, as a YAML stream like `kubectl get -o yaml`: nodes, pods, Jobs, PVCs, workloads, the catalog's ConfigMaps, Secret names, events, Flux objects |
//! | `state.json` | what the service remembers (Jobs seen complete, first-seen times, causes), the API's health, probe results, log excerpts: what `assess` needs besides the objects |
//! | `events.txt` | every event, newest first, one line each |
//! | `logs/NAMESPACE_POD_CONTAINER.log` | the log excerpts |
//! | `node.txt` | each node: versions, capacity, addresses, conditions |
//! | `service.txt` | the service's version, arguments and environment (names only) |
//!
//! Redacted by construction: the bundle is written from the snapshot, which never holds Secret
//! data, environment values, commands or volumes (`objects.rs` prunes them on the way in); the
//! catalog's ConfigMaps are written with only the values the engine reads (release selection
//! keys, `bootstrap.mode`), every other value replaced by its length; the service's own
//! environment is listed by name and length. Every string that remains (messages, log lines,
//! annotations, arguments) passes through [`Redactor`]: credentials in URLs, `Bearer`/`Basic`
//! credentials, `password=`/`token:`-style values and the service's token wherever it occurs (found
//! by its length and fingerprint, confirmed by digest) are replaced by `[redacted]`.

use crate::assess::Thresholds;
use crate::event::EventRecord;
use crate::probes::Probes;
use crate::snapshot::{ApiHealth, FluxObject, LogExcerpt, RememberedCause, Snapshot};
use crate::{Error, Result};
use app::status::StatusDocument;
use jiff::Timestamp;
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{Arc, LazyLock};
use tokio::sync::{mpsc, oneshot};

/// Bumped when a file changes meaning.
pub const FORMAT: u32 = 1;
/// The most `assess` unpacks from one bundle's files it reads (a guard against a decompression
/// bomb): the objects `assess` would read at once, and room for the document and state.
pub const MAX_UNPACKED_BYTES: u64 = crate::objects::MAX_OBJECTS_TEXT as u64 + (8 << 20);

const REDACTED: &str = "[redacted]";

/// ConfigMap keys whose values the engine reads and the bundle keeps: the release selection.
const RELEASE_KEYS: [&str; 9] = [
    "releaseVersion",
    "selectedChannel",
    "channel",
    "appVersion",
    "releaseBranch",
    "algaCoreTag",
    "workflowWorkerTag",
    "emailServiceTag",
    "temporalWorkerTag",
];

/// Where a secret the service knows occurs in a text (byte ranges, in order, not overlapping).
pub type SecretFinder = Arc<dyn Fn(&str) -> Vec<std::ops::Range<usize>> + Send + Sync>;

/// Replaces credentials in free text with `[redacted]`.
#[derive(Clone, Default)]
pub struct Redactor {
    /// The secrets the service knows (its token), found wherever they occur in a text: inside a
    /// word, a path, a query string.
    secrets: Option<SecretFinder>,
}

static URL_USERINFO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@"'<>]+@"#).expect("valid pattern")
});
static AUTH_SCHEME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?P<scheme>bearer|basic)(?P<gap>\s+)[A-Za-z0-9._~+/=-]{6,}")
        .expect("valid pattern")
});
static KEY_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(?P<key>[A-Za-z0-9_.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?)[A-Za-z0-9_.-]*)(?P<sep>["']?\s*[=:]\s*["']?)(?P<value>[^\s"'&,;)]+)"#,
    )
    .expect("valid pattern")
});
impl Redactor {
    /// A redactor that also removes every occurrence `find` reports (the service's token:
    /// [`crate::auth::TokenSource::occurrences`]).
    pub fn with_secrets(
        find: impl Fn(&str) -> Vec<std::ops::Range<usize>> + Send + Sync + 'static,
    ) -> Redactor {
        Redactor {
            secrets: Some(Arc::new(find)),
        }
    }

    /// `text` with its credentials replaced. Known secrets go first, wherever they stand.
    pub fn text(&self, text: &str) -> String {
        let mut known = String::new();
        let text = match &self.secrets {
            Some(find) => {
                let mut last = 0;
                for r in find(text) {
                    known.push_str(&text[last..r.start]);
                    known.push_str(REDACTED);
                    last = r.end;
                }
                known.push_str(&text[last..]);
                known.as_str()
            }
            None => text,
        };
        let mut out = URL_USERINFO
            .replace_all(text, format!("${{scheme}}{REDACTED}@").as_str())
            .into_owned();
        out = AUTH_SCHEME
            .replace_all(&out, format!("${{scheme}}${{gap}}{REDACTED}").as_str())
            .into_owned();
        out = KEY_VALUE
            .replace_all(&out, |c: &regex::Captures<'_>| {
                if &c["value"] == REDACTED {
                    c[0].to_string()
                } else {
                    format!("{}{}{REDACTED}", &c["key"], &c["sep"])
                }
            })
            .into_owned();
        out
    }

    /// Every string in `value`, redacted; nulls dropped.
    fn value(&self, value: &mut Value) {
        match value {
            Value::String(s) => *s = self.text(s),
            Value::Array(items) => items.iter_mut().for_each(|v| self.value(v)),
            Value::Object(map) => {
                map.retain(|_, v| !v.is_null());
                map.values_mut().for_each(|v| self.value(v));
            }
            _ => {}
        }
    }
}

/// What the service says about itself in `service.txt`.
#[derive(Clone, Debug, Default)]
pub struct ServiceFacts {
    pub version: String,
    pub args: Vec<String>,
    /// Environment variable names and the length of their values (never the values).
    pub env: Vec<(String, usize)>,
}

impl ServiceFacts {
    /// This process's.
    pub fn of_this_process() -> ServiceFacts {
        ServiceFacts {
            version: env!("CARGO_PKG_VERSION").to_string(),
            args: std::env::args().collect(),
            env: std::env::vars_os()
                .map(|(k, v)| (k.to_string_lossy().into_owned(), v.len()))
                .collect(),
        }
    }
}

/// What `assess` needs besides the objects (`state.json`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct State {
    pub completed_jobs: Vec<CompletedJob>,
    pub first_seen: BTreeMap<String, Timestamp>,
    pub causes: BTreeMap<String, RememberedCause>,
    pub api: ApiHealth,
    pub probes: BTreeMap<String, String>,
    pub logs: Vec<LogExcerpt>,
    /// The thresholds the service assessed with (its hysteresis hides blockers younger than it).
    pub thresholds: Option<Thresholds>,
    /// The registry check of the selected release's images.
    pub release_check: crate::release::ReleaseCheck,
}

/// A Job seen complete (its TTL may have deleted it since).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompletedJob {
    pub namespace: String,
    pub name: String,
    pub at: Timestamp,
    /// When it started (bundles before the timeline do not say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<Timestamp>,
}

/// One file of the bundle, as the manifest lists it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Entry {
    pub path: String,
    pub bytes: usize,
}

/// Writes the bundle (gzip-compressed tar) for a document and the snapshot it was assessed from.
pub fn write(
    doc: &StatusDocument,
    (snapshot, probes, thresholds): (&Snapshot, &Probes, &Thresholds),
    facts: &ServiceFacts,
    redactor: &Redactor,
) -> Result<Vec<u8>> {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut document = serde_json::to_value(doc)?;
    redactor.value(&mut document);
    files.push(("status.json".into(), serde_json::to_vec_pretty(&document)?));
    files.push(("objects.yaml".into(), objects_yaml(snapshot, redactor)?));
    let mut state = state(snapshot, probes, redactor);
    state.thresholds = Some(thresholds.clone());
    files.push(("state.json".into(), serde_json::to_vec_pretty(&state)?));
    files.push(("events.txt".into(), events_text(snapshot, redactor)));
    for log in &state.logs {
        let name = format!(
            "logs/{}_{}_{}.log",
            log.namespace,
            log.pod,
            log.container.as_deref().unwrap_or("main")
        );
        files.push((name, (log.lines.join("\n") + "\n").into_bytes()));
    }
    files.push(("node.txt".into(), node_text(snapshot, redactor)));
    files.push(("service.txt".into(), service_text(facts, redactor)));

    let entries: Vec<Entry> = files
        .iter()
        .map(|(path, data)| Entry {
            path: path.clone(),
            bytes: data.len(),
        })
        .collect();
    let mut manifest = json!({
        "format": FORMAT,
        "createdAt": Timestamp::now(),
        "documentTime": doc.timestamp,
        "service": {"name": "appliance-status", "version": facts.version},
        "source": doc.source,
        "rollup": doc.rollup.state.as_str(),
        "siteId": doc.site_id,
        "files": entries,
        "redaction": [
            "Secret data is never read: Secrets appear by name only",
            "pod and workload specs keep container names and images only (no environment, commands or volumes)",
            "ConfigMaps keep the release selection keys and bootstrap.mode; every other value is replaced by its length",
            "the service's environment is listed by name and value length only",
            "credentials in URLs, Bearer/Basic credentials, password/token/secret/key values and the service's token are replaced by [redacted] in every string",
        ],
        "replay": "appliance-status assess THIS_FILE --format text",
    });
    redactor.value(&mut manifest);
    files.insert(
        0,
        (
            "manifest.json".into(),
            serde_json::to_vec_pretty(&manifest)?,
        ),
    );

    let stamp = doc.timestamp.as_second().max(0) as u64;
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    let root = bundle_root(doc);
    for (path, data) in &files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(stamp);
        header.set_cksum();
        tar.append_data(&mut header, format!("{root}/{path}"), data.as_slice())?;
    }
    Ok(tar.into_inner()?.finish()?)
}

/// The directory inside the archive (and the file's name, with `.tar.gz`).
pub fn bundle_root(doc: &StatusDocument) -> String {
    let site: String = doc
        .site_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "appliance-status-{site}-{}",
        doc.timestamp.strftime("%Y%m%dT%H%M%SZ")
    )
}

fn state(snapshot: &Snapshot, probes: &Probes, redactor: &Redactor) -> State {
    let memory = &snapshot.memory;
    let mut api = snapshot.api.clone();
    api.last_error = api.last_error.map(|e| redactor.text(&e));
    for message in api.forbidden.values_mut() {
        *message = redactor.text(message);
    }
    State {
        completed_jobs: memory
            .completed_jobs
            .iter()
            .map(|(key, at)| CompletedJob {
                namespace: key.0.clone(),
                name: key.1.clone(),
                at: *at,
                started: memory.job_starts.get(key).copied(),
            })
            .collect(),
        first_seen: memory.first_seen.clone(),
        causes: memory
            .causes
            .iter()
            .map(|(id, c)| {
                let mut c = c.clone();
                c.reason = redactor.text(&c.reason);
                (id.clone(), c)
            })
            .collect(),
        api,
        probes: probes
            .pairs()
            .map(|(k, v)| (k.to_string(), redactor.text(v)))
            .collect(),
        logs: snapshot
            .logs
            .iter()
            .map(|l| LogExcerpt {
                lines: l.lines.iter().map(|line| redactor.text(line)).collect(),
                ..l.clone()
            })
            .collect(),
        thresholds: None,
        release_check: snapshot.release_check.clone(),
    }
}

fn objects_yaml(snapshot: &Snapshot, redactor: &Redactor) -> Result<Vec<u8>> {
    fn typed<T: Serialize>(out: &mut Vec<Value>, objects: impl Iterator<Item = T>) {
        out.extend(objects.filter_map(|o| serde_json::to_value(o).ok()));
    }
    let mut objects = Vec::new();
    typed(&mut objects, snapshot.nodes.values());
    typed(&mut objects, snapshot.pods.values());
    typed(&mut objects, snapshot.jobs.values());
    typed(&mut objects, snapshot.pvcs.values());
    typed(&mut objects, snapshot.deployments.values());
    typed(&mut objects, snapshot.stateful_sets.values());
    typed(&mut objects, snapshot.daemon_sets.values());
    for cm in snapshot.config_maps.values() {
        let mut v = serde_json::to_value(cm)?;
        keep_read_values(&mut v);
        objects.push(v);
    }
    for (namespace, name) in snapshot.secret_names.keys() {
        objects.push(json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace}}));
    }
    objects.extend(snapshot.events.values().map(event_value));
    objects.extend(snapshot.flux.values().map(flux_value));
    let mut out = String::new();
    for mut o in objects {
        redactor.value(&mut o);
        out.push_str("---\n");
        out.push_str(&serde_yaml::to_string(&o)?);
    }
    Ok(out.into_bytes())
}

/// A ConfigMap with only the values the engine reads.
fn keep_read_values(cm: &mut Value) {
    let Some(data) = cm.get_mut("data").and_then(Value::as_object_mut) else {
        return;
    };
    for (key, value) in data.iter_mut() {
        let text = value.as_str().unwrap_or_default();
        let mode = serde_yaml::from_str::<serde_yaml::Value>(text)
            .ok()
            .and_then(|v| {
                v.get("bootstrap")?
                    .get("mode")?
                    .as_str()
                    .map(str::to_string)
            });
        *value = Value::String(if RELEASE_KEYS.contains(&key.as_str()) {
            text.to_string()
        } else if let Some(mode) = mode {
            format!("bootstrap:\n  mode: {mode}\n")
        } else {
            format!("{REDACTED} ({} bytes)", text.len())
        });
    }
}

fn event_value(e: &EventRecord) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": e.name, "namespace": e.namespace},
        "involvedObject": {"kind": e.object.kind, "namespace": e.object.namespace(), "name": e.object.name},
        "type": e.event_type, "reason": e.reason(), "message": e.message(), "count": e.count,
        "firstTimestamp": e.first_time(), "lastTimestamp": e.last_time(),
    })
}

fn flux_value(f: &FluxObject) -> Value {
    let revision = match f.kind {
        crate::snapshot::FluxKind::Kustomization | crate::snapshot::FluxKind::HelmRelease => {
            // `revision` is read back from these two (applied, else attempted)
            json!({"lastAppliedRevision": f.applied_revision})
        }
        _ => json!({"artifact": f.revision.as_ref().map(|r| json!({"revision": r}))}),
    };
    let mut status =
        json!({"conditions": f.conditions, "observedGeneration": f.observed_generation});
    if let (Some(s), Some(r)) = (status.as_object_mut(), revision.as_object()) {
        s.extend(r.clone());
    }
    let mut spec = json!({
        "timeout": f.timeout, "suspend": f.suspended, "targetNamespace": f.target_namespace,
        "releaseName": f.release_name,
        "dependsOn": f.depends_on.iter().map(|d| json!({"name": d})).collect::<Vec<_>>(),
    });
    // A HelmRelease's retry budget, where helm-controller keeps it (objects::helm_retry reads it).
    if let Some(r) = &f.helm_retry {
        let failures = if r.action == "upgrade" {
            "upgradeFailures"
        } else {
            "installFailures"
        };
        status["lastAttemptedReleaseAction"] = json!(r.action);
        status[failures] = json!(r.failures);
        let mut action = json!({"remediation": {"retries": r.retries}});
        if let Some(interval) = &r.retry_on_failure {
            action["strategy"] = json!({"name": "RetryOnFailure", "retryInterval": interval});
        }
        spec[r.action.as_str()] = action;
    }
    if let Some(attempted) = &f.attempted_revision {
        status["lastAttemptedRevision"] = json!(attempted);
    }
    // When the newest Helm release began (objects::newest_release_start reads it).
    if let Some(at) = f.last_deployed {
        status["history"] = json!([{"lastDeployed": at}]);
    }
    json!({
        "apiVersion": f.kind.api_version(), "kind": f.kind.as_str(),
        "metadata": {"name": f.name, "namespace": f.namespace, "generation": f.generation,
            "labels": f.labels, "creationTimestamp": f.created},
        "spec": spec,
        "status": status,
    })
}

fn events_text(snapshot: &Snapshot, redactor: &Redactor) -> Vec<u8> {
    let mut events: Vec<&EventRecord> = snapshot.events.values().collect();
    events.sort_by_key(|e| std::cmp::Reverse(e.last_time()));
    let mut out = String::from("LAST SEEN\tTYPE\tREASON\tOBJECT\tCOUNT\tMESSAGE\n");
    for e in events {
        let last = e.last_time().map(|t| t.to_string()).unwrap_or_default();
        out.push_str(&format!(
            "{last}\t{}\t{}\t{}/{}/{}\t{}\t{}\n",
            e.event_type,
            e.reason,
            e.object.kind,
            e.object.namespace,
            e.object.name,
            e.count,
            redactor.text(&e.message).replace(['\n', '\t'], " ")
        ));
    }
    out.into_bytes()
}

fn node_text(snapshot: &Snapshot, redactor: &Redactor) -> Vec<u8> {
    let mut out = String::new();
    for node in snapshot.nodes.values() {
        out.push_str(&format!(
            "Node {}\n",
            node.metadata.name.as_deref().unwrap_or("?")
        ));
        let Some(status) = &node.status else { continue };
        if let Some(info) = &status.node_info {
            out.push_str(&format!(
                "  kubelet {}, {} ({}), kernel {}, runtime {}\n",
                info.kubelet_version,
                info.os_image,
                info.architecture,
                info.kernel_version,
                info.container_runtime_version
            ));
        }
        for (what, list) in [
            ("capacity", &status.capacity),
            ("allocatable", &status.allocatable),
        ] {
            if let Some(list) = list {
                let items: Vec<String> = list.iter().map(|(k, v)| format!("{k}={}", v.0)).collect();
                out.push_str(&format!("  {what}: {}\n", items.join(", ")));
            }
        }
        for a in status.addresses.iter().flatten() {
            out.push_str(&format!("  address {}: {}\n", a.type_, a.address));
        }
        for c in status.conditions.iter().flatten() {
            out.push_str(&format!(
                "  condition {}={} {}: {}\n",
                c.type_,
                c.status,
                c.reason.as_deref().unwrap_or(""),
                redactor.text(c.message.as_deref().unwrap_or(""))
            ));
        }
    }
    if out.is_empty() {
        out.push_str("No node seen.\n");
    }
    out.into_bytes()
}

fn service_text(facts: &ServiceFacts, redactor: &Redactor) -> Vec<u8> {
    let mut out = format!("appliance-status {}\n\nArguments:\n", facts.version);
    for a in &facts.args {
        out.push_str(&format!("  {}\n", redactor.text(a)));
    }
    out.push_str("\nEnvironment (names and value lengths; values are never written):\n");
    let mut env = facts.env.clone();
    env.sort();
    for (name, len) in env {
        out.push_str(&format!("  {name} ({len} bytes)\n"));
    }
    out.into_bytes()
}

/// A bundle read back: the document it carries, its objects and the service's state.
#[derive(Debug)]
pub struct Replay {
    pub document: StatusDocument,
    /// `objects.yaml`, for `objects::parse_documents`.
    pub objects: String,
    pub state: State,
}

/// Every file of a bundle, by its path below the bundle's directory, as text (for support's
/// tools and the tests; `read` takes only what `assess` needs).
pub fn files(bytes: &[u8]) -> Result<Vec<(String, String)>> {
    unpack(bytes, MAX_UNPACKED_BYTES, |_| true)
}

/// The files `wanted` keeps, unpacked up to `limit` bytes in all (a decompression bomb stops
/// there with an error).
fn unpack(
    bytes: &[u8],
    limit: u64,
    wanted: impl Fn(&str) -> bool,
) -> Result<Vec<(String, String)>> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let mut out = Vec::new();
    let mut unpacked = 0u64;
    for entry in archive.entries().map_err(Error::NotABundle)? {
        let mut entry = entry.map_err(Error::NotABundle)?;
        let path = entry
            .path()
            .map_err(Error::BundleName)?
            .to_string_lossy()
            .into_owned();
        let name = path
            .split_once('/')
            .map(|(_, rest)| rest)
            .unwrap_or(&path)
            .to_string();
        if !wanted(&name) {
            continue;
        }
        let mut text = String::new();
        (&mut entry)
            .take(limit.saturating_sub(unpacked) + 1)
            .read_to_string(&mut text)
            .map_err(|error| Error::BundleFile {
                name: name.clone(),
                error,
            })?;
        unpacked += text.len() as u64;
        if unpacked > limit {
            return Err(Error::BundleTooLarge { limit });
        }
        out.push((name, text));
    }
    Ok(out)
}

/// Reads a bundle written by [`write`]; a clear error for anything else.
pub fn read(bytes: &[u8]) -> Result<Replay> {
    read_limited(bytes, MAX_UNPACKED_BYTES)
}

fn read_limited(bytes: &[u8], limit: u64) -> Result<Replay> {
    let mut files: BTreeMap<String, String> = unpack(bytes, limit, |name| {
        matches!(
            name,
            "manifest.json" | "status.json" | "objects.yaml" | "state.json"
        )
    })?
    .into_iter()
    .collect();
    let mut take = |name: &str| {
        files
            .remove(name)
            .ok_or_else(|| Error::BundleMissing(name.to_string()))
    };
    let json = |name: &'static str| move |error| Error::BundleJson { name, error };
    let manifest: Value =
        serde_json::from_str(&take("manifest.json")?).map_err(json("manifest.json"))?;
    match manifest.get("format").and_then(Value::as_u64) {
        Some(f) if f <= u64::from(FORMAT) => {}
        found => return Err(Error::BundleFormat { found }),
    }
    let document = serde_json::from_str(&take("status.json")?).map_err(json("status.json"))?;
    let state = serde_json::from_str(&take("state.json")?).map_err(json("state.json"))?;
    Ok(Replay {
        document,
        objects: take("objects.yaml")?,
        state,
    })
}

impl Replay {
    /// Puts the service's remembered state and probes back (objects are applied by the caller).
    pub fn restore(&self, snapshot: &mut Snapshot, probes: &mut Probes) -> Result<()> {
        let s = &self.state;
        for job in &s.completed_jobs {
            snapshot
                .memory
                .completed_jobs
                .insert((job.namespace.clone(), job.name.clone()), job.at);
            if let Some(started) = job.started {
                snapshot
                    .memory
                    .job_starts
                    .insert((job.namespace.clone(), job.name.clone()), started);
            }
        }
        snapshot.memory.first_seen = s.first_seen.clone();
        snapshot.memory.causes = s.causes.clone();
        snapshot.api = s.api.clone();
        snapshot.logs = s.logs.clone();
        snapshot.release_check = s.release_check.clone();
        for (name, value) in &s.probes {
            probes
                .set(name, value)
                .map_err(|error| Error::BundleProbe {
                    name: name.clone(),
                    error,
                })?;
        }
        Ok(())
    }
}

/// A request for a bundle, answered by whoever owns the snapshot (the collector's state task, or
/// the demo runner), between two changes: nothing asks Kubernetes for it.
pub struct Request {
    pub redactor: Redactor,
    pub reply: oneshot::Sender<Result<Vec<u8>>>,
    /// The one writer's turn: held until the bundle is written, even when the asker has gone.
    pub turn: tokio::sync::OwnedSemaphorePermit,
}

/// The asking end, held by the web layer and the CLI. One bundle is written at a time, from the
/// snapshot its owner shares (no copy per request; a change landing meanwhile makes the owner
/// copy it once): further requests queue for up to [`QUEUE_WAIT`], then are told to try again.
#[derive(Clone)]
pub struct Desk(mpsc::Sender<Request>, Arc<tokio::sync::Semaphore>);

/// How long a request waits for the bundle before it to be written, at most.
pub const QUEUE_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// The answering end, polled by the snapshot's owner.
pub type Queue = mpsc::Receiver<Request>;

/// A desk and its queue.
pub fn desk() -> (Desk, Queue) {
    let (tx, rx) = mpsc::channel(1);
    (Desk(tx, Arc::new(tokio::sync::Semaphore::new(1))), rx)
}

impl Desk {
    /// Asks for a bundle and waits for it (after the one being written, if any).
    pub async fn request(&self, redactor: Redactor) -> Result<Vec<u8>> {
        let turn = tokio::time::timeout(QUEUE_WAIT, self.1.clone().acquire_owned())
            .await
            .map_err(|_| Error::BundleBusy)?
            .map_err(|_| Error::Stopping)?;
        let (reply, answer) = oneshot::channel();
        self.0
            .try_send(Request {
                redactor,
                reply,
                turn,
            })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => Error::BundleBusy,
                mpsc::error::TrySendError::Closed(_) => Error::Stopping,
            })?;
        answer.await.map_err(|_| Error::StoppedBeforeBundle)?
    }
}

/// Answers `request` from a copy of the owner's state; the writing runs on a blocking thread, so
/// the owner only pays for the copy.
pub fn answer(
    request: Request,
    doc: StatusDocument,
    (snapshot, probes, thresholds): (std::sync::Arc<Snapshot>, &Probes, &Thresholds),
) {
    // The snapshot is shared, not copied: its owner copies it only if a change lands while the
    // bundle is still being written (`Arc::make_mut`), once at most.
    let (probes, thresholds) = (probes.clone(), thresholds.clone());
    tokio::task::spawn_blocking(move || {
        let facts = ServiceFacts::of_this_process();
        let inputs = (&*snapshot, &probes, &thresholds);
        let bundle = write(&doc, inputs, &facts, &request.redactor)
            .map_err(|e| Error::BundleNotWritten(Box::new(e)));
        let _ = request.reply.send(bundle);
        drop(request.turn);
    });
}

#[cfg(test)]
mod tests;
