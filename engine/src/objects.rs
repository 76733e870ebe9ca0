//! Reading Kubernetes objects as `kubectl get -o yaml|json` prints them (one object, a `List`,
//! or multi-document YAML) and applying them to a [`Snapshot`].

use crate::event::EventRecord;
use crate::snapshot::{bound_message, key, FluxKind, FluxObject, HelmRetry, Snapshot};
use crate::{Error, Result};
use k8s_openapi::api::core::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, ObjectMeta};
use serde::de::DeserializeOwned;
use serde_json::Value;

mod nesting;

/// The largest input file read (a support dump of a busy cluster fits easily).
pub const MAX_INPUT_BYTES: u64 = 256 * 1024 * 1024;

/// The most text one input may hold, read at once: parsing takes about 18 bytes of memory per byte
/// of YAML (a 40 MiB dump peaked at 700 MiB), so this keeps `assess` under 1 GiB. An appliance's
/// dump is a few hundred KiB; 32 MiB holds some 14,000 pods.
pub const MAX_OBJECTS_TEXT: usize = 32 << 20;

/// The most objects one input may hold (an appliance has a few hundred; the 2,000-pod benchmark
/// about 30,000 with its events): past it the input is refused, not parsed on.
pub const MAX_OBJECTS: usize = 100_000;

macro_rules! kube_object {
    ($(($v:ident, $t:ty, $kind:literal, $group:literal, $ns:literal, $field:ident, $watch:ident, $prune:expr)),* $(,)?) => {
        /// One object the engine understands: a typed kind of the table (`crate::kinds`), or one
        /// of the three kept differently.
        #[derive(Clone, Debug)]
        pub enum KubeObject {
            $($v(Box<$t>),)*
            /// An event, as its compact record.
            Event(Box<EventRecord>),
            /// Only the name of a Secret is ever kept.
            SecretName { namespace: String, name: String },
            Flux(Box<FluxObject>),
        }

        /// Reads a typed kind of the table; `None` for the others.
        fn typed_from_value(
            group: &str,
            kind: &str,
            value: Value,
        ) -> Option<Result<KubeObject>> {
            match (group, kind) {
                $(($group, $kind) => Some(checked::<$t>(value, $ns)),)*
                _ => None,
            }
        }

        $(
            impl Collectable for $t {
                const KIND: &'static str = $kind;
                fn into_object(mut self) -> KubeObject {
                    let prune: fn(&mut $t) = $prune;
                    prune(&mut self);
                    KubeObject::$v(Box::new(self))
                }
            }
        )*

        impl KubeObject {
            /// Kind and key, for deletes and logs.
            pub fn id(&self) -> ObjectId {
                let (kind, (namespace, name)) = match self {
                    $(KubeObject::$v(o) => ($kind, key(&o.metadata)),)*
                    KubeObject::Event(o) => ("Event", o.key()),
                    KubeObject::SecretName { namespace, name } => {
                        ("Secret", (namespace.clone(), name.clone()))
                    }
                    KubeObject::Flux(o) => (o.kind.as_str(), (o.namespace.clone(), o.name.clone())),
                };
                ObjectId {
                    kind: kind.to_string(),
                    namespace,
                    name,
                }
            }
        }

        impl Snapshot {
            /// Adds or replaces an object.
            pub fn apply(&mut self, object: KubeObject) {
                match object {
                    $(KubeObject::$v(o) => {
                        self.$field.insert(key(&o.metadata), *o);
                    })*
                    KubeObject::Event(o) => {
                        self.events.insert(o.key(), *o);
                    }
                    KubeObject::SecretName { namespace, name } => {
                        self.secret_names.insert((namespace, name), ());
                    }
                    KubeObject::Flux(o) => {
                        self.flux
                            .insert((o.kind, o.namespace.clone(), o.name.clone()), *o);
                    }
                }
            }

            /// Replaces every object of one kind (after a watcher's relist): what the relist did
            /// not return was deleted while nobody watched.
            pub fn replace_kind(&mut self, kind: &str, objects: Vec<KubeObject>) {
                match kind {
                    $($kind => self.$field.clear(),)*
                    "Event" => self.events.clear(),
                    "Secret" => self.secret_names.clear(),
                    other => {
                        if let Some(k) = FluxKind::from_kind(other) {
                            self.flux.retain(|(fk, _, _), _| *fk != k);
                        }
                    }
                }
                for o in objects {
                    self.apply(o);
                }
            }

            /// Removes an object; returns whether it was there.
            pub fn delete(&mut self, id: &ObjectId) -> bool {
                let k = (id.namespace.clone(), id.name.clone());
                match id.kind.as_str() {
                    $($kind => {
                        let k = if $ns { k } else { (String::new(), id.name.clone()) };
                        self.$field.remove(&k).is_some()
                    })*
                    "Event" => self.events.remove(&k).is_some(),
                    "Secret" => self.secret_names.remove(&k).is_some(),
                    other => match FluxKind::from_kind(other) {
                        Some(kind) => self.flux.remove(&(kind, k.0, k.1)).is_some(),
                        None => false,
                    },
                }
            }

            /// How many objects of `kind` the snapshot holds (`None`: a kind it does not keep).
            pub fn count_of(&self, kind: &str) -> Option<usize> {
                Some(match kind {
                    $($kind => self.$field.len(),)*
                    "Event" => self.events.len(),
                    "Secret" => self.secret_names.len(),
                    other => {
                        let kind = FluxKind::from_kind(other)?;
                        self.flux.keys().filter(|(k, _, _)| *k == kind).count()
                    }
                })
            }

            /// Number of objects of every kind, for logs and benchmarks.
            pub fn object_count(&self) -> usize {
                0 $(+ self.$field.len())*
                    + self.events.len()
                    + self.secret_names.len()
                    + self.flux.len()
            }
        }
    };
}
crate::typed_kinds!(kube_object);

/// What reading one input produced: objects, and the kinds it skipped.
#[derive(Debug, Default)]
pub struct Parsed {
    pub objects: Vec<KubeObject>,
    /// Kinds the engine does not use, with how many objects of each and where the first was.
    pub ignored: Ignored,
}

/// Objects skipped because the engine does not use their kind: a count per kind and where the
/// first one was, so a dump with thousands of them makes one line per kind.
#[derive(Debug, Default)]
pub struct Ignored(pub std::collections::BTreeMap<String, (usize, String)>);

impl Ignored {
    fn add(&mut self, kind: &str, at: String) {
        self.0.entry(kind.to_string()).or_insert((0, at)).0 += 1;
    }

    /// Objects skipped, of every kind.
    pub fn count(&self) -> usize {
        self.0.values().map(|(n, _)| n).sum()
    }

    /// Adds another input's counts.
    pub fn merge(&mut self, other: Ignored) {
        for (kind, (n, at)) in other.0 {
            self.0.entry(kind).or_insert((0, at)).0 += n;
        }
    }

    /// One line per kind.
    pub fn summary(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|(kind, (n, at))| {
                let kind = if kind.is_empty() { "(none)" } else { kind };
                let objects = if *n == 1 { "object" } else { "objects" };
                format!("{n} {objects} of kind {kind:?} ignored: not used by appliance-status (first at {at})")
            })
            .collect()
    }
}

/// A reference to an object to delete: `kind`, `namespace`, `name`.
#[derive(Clone, Debug, serde::Deserialize, PartialEq)]
pub struct ObjectId {
    pub kind: String,
    #[serde(default)]
    pub namespace: String,
    pub name: String,
}

/// Parses YAML or JSON text holding objects; `origin` names the input in errors.
pub fn parse_documents(text: &str, origin: &str) -> Result<Parsed> {
    if text.len() > MAX_OBJECTS_TEXT {
        return Err(Error::Input {
            origin: origin.to_string(),
            document: 1,
            message: format!(
                "{} MiB of objects, more than the {} MiB read at once: split the dump (by kind or namespace) into several files",
                text.len() >> 20,
                MAX_OBJECTS_TEXT >> 20
            ),
        });
    }
    if let Some(line) = nesting::too_deep(text, nesting::MAX_DEPTH) {
        return Err(Error::Input {
            origin: origin.to_string(),
            document: 1,
            message: format!(
                "nested more than {} levels deep at line {line}: not Kubernetes objects",
                nesting::MAX_DEPTH
            ),
        });
    }
    let mut parsed = Parsed::default();
    for (index, document) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let doc_no = index + 1;
        let value =
            <Value as serde::Deserialize>::deserialize(document).map_err(|e| Error::Input {
                origin: origin.to_string(),
                document: doc_no,
                message: format!("not valid YAML or JSON: {e}"),
            })?;
        if value.is_null() {
            continue; // an empty document between `---` separators
        }
        collect(value, origin, doc_no, &mut parsed)?;
        if parsed.objects.len() + parsed.ignored.count() > MAX_OBJECTS {
            return Err(Error::Input {
                origin: origin.to_string(),
                document: doc_no,
                message: format!("more than {MAX_OBJECTS} objects: not one appliance's dump"),
            });
        }
    }
    Ok(parsed)
}

fn collect(mut value: Value, origin: &str, doc_no: usize, out: &mut Parsed) -> Result<()> {
    let kind = value
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let kind = kind.as_str();
    if kind == "List" || kind.ends_with("List") && value.get("items").is_some() {
        // taken, not cloned: a List's items are most of the input
        let items = match value.get_mut("items").map(Value::take) {
            Some(Value::Array(items)) => items,
            Some(Value::Null) | None => Vec::new(),
            Some(_) => {
                return Err(Error::Input {
                    origin: origin.into(),
                    document: doc_no,
                    message: "`items` of a List must be a sequence".into(),
                })
            }
        };
        if items.len() > MAX_OBJECTS {
            return Err(Error::Input {
                origin: origin.into(),
                document: doc_no,
                message: format!(
                    "a List of {} items, more than {MAX_OBJECTS}: not one appliance's dump",
                    items.len()
                ),
            });
        }
        for (i, mut item) in items.into_iter().enumerate() {
            // `kubectl get pods -o yaml` omits kind on items of a typed list.
            if item.get("kind").is_none() {
                if let (Some(obj), Some(k)) = (item.as_object_mut(), kind.strip_suffix("List")) {
                    obj.insert("kind".into(), Value::String(k.to_string()));
                }
            }
            let item_kind = item
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            match object_from_value(item) {
                Ok(Some(o)) => out.objects.push(o),
                Ok(None) => out.ignored.add(
                    &item_kind,
                    format!("{origin}, document {doc_no}, item {}", i + 1),
                ),
                Err(e) => {
                    return Err(Error::Input {
                        origin: origin.into(),
                        document: doc_no,
                        message: format!("item {}: {e}", i + 1),
                    })
                }
            }
        }
        return Ok(());
    }
    match object_from_value(value) {
        Ok(Some(o)) => out.objects.push(o),
        Ok(None) => out
            .ignored
            .add(kind, format!("{origin}, document {doc_no}")),
        Err(e) => {
            return Err(Error::Input {
                origin: origin.into(),
                document: doc_no,
                message: e.to_string(),
            });
        }
    }
    Ok(())
}

fn typed<T: DeserializeOwned>(value: Value, kind: &str) -> Result<T> {
    serde_json::from_value(value).map_err(|error| Error::Malformed {
        kind: kind.to_string(),
        error,
    })
}

fn require_name(meta: &ObjectMeta, kind: &str, namespaced: bool) -> Result<()> {
    if meta.name.as_deref().unwrap_or("").is_empty() {
        return Err(Error::NoName {
            kind: kind.to_string(),
        });
    }
    if namespaced && meta.namespace.as_deref().unwrap_or("").is_empty() {
        return Err(Error::NoNamespace {
            kind: kind.to_string(),
            name: meta.name.clone().unwrap_or_default(),
        });
    }
    Ok(())
}

/// Converts one object; `Ok(None)` for kinds the engine does not use.
pub fn object_from_value(value: Value) -> Result<Option<KubeObject>> {
    if !value.is_object() {
        return Err(Error::NotAnObject);
    }
    let kind = value
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let api_version = value
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if kind.is_empty() {
        return Err(Error::NoKind);
    }
    let group = api_version.split_once('/').map(|(g, _)| g).unwrap_or("");
    if let Some(typed) = typed_from_value(group, &kind, value.clone()) {
        return typed.map(Some);
    }
    let obj = match (group, kind.as_str()) {
        ("", "Event") => checked::<Event>(value, true)?,
        ("events.k8s.io", "Event") => {
            let o = event_from_events_api(value)?;
            require_name(&o.metadata, &kind, true)?;
            o.into_object()
        }
        ("", "Secret") => {
            // Only metadata is read, whatever the input carries.
            let meta: ObjectMeta =
                typed(value.get("metadata").cloned().unwrap_or(Value::Null), &kind)?;
            require_name(&meta, &kind, true)?;
            let (namespace, name) = key(&meta);
            KubeObject::SecretName { namespace, name }
        }
        (g, k) if g.ends_with(".toolkit.fluxcd.io") => match FluxKind::from_kind(k) {
            Some(flux_kind) => KubeObject::Flux(Box::new(flux_from_value(flux_kind, &value)?)),
            None => return Ok(None),
        },
        _ => return Ok(None),
    };
    Ok(Some(obj))
}

/// A typed Kubernetes object the engine keeps, pruned on the way in.
pub trait Collectable: Sized {
    /// The kind's name.
    const KIND: &'static str;
    /// Prunes the object and wraps it.
    fn into_object(self) -> KubeObject;
}

impl Collectable for Event {
    const KIND: &'static str = "Event";
    fn into_object(self) -> KubeObject {
        KubeObject::Event(Box::new(EventRecord::from(self)))
    }
}

/// Deserialises, checks identity and prunes one typed object.
fn checked<T>(value: Value, namespaced: bool) -> Result<KubeObject>
where
    T: Collectable + DeserializeOwned + k8s_openapi::Metadata<Ty = ObjectMeta>,
{
    let o: T = typed(value, <T as Collectable>::KIND)?;
    require_name(o.metadata(), <T as Collectable>::KIND, namespaced)?;
    Ok(o.into_object())
}

/// `events.k8s.io/v1` Events carry the same facts under other names.
fn event_from_events_api(value: Value) -> Result<Event> {
    let ev: k8s_openapi::api::events::v1::Event = typed(value, "Event")?;
    Ok(Event {
        metadata: ev.metadata,
        involved_object: ev.regarding.unwrap_or_default(),
        reason: ev.reason,
        message: ev.note,
        type_: ev.type_,
        count: ev.deprecated_count.or(ev.series.as_ref().map(|s| s.count)),
        first_timestamp: ev.deprecated_first_timestamp,
        last_timestamp: ev.deprecated_last_timestamp,
        event_time: ev.event_time,
        series: ev.series.map(|s| k8s_openapi::api::core::v1::EventSeries {
            count: Some(s.count),
            last_observed_time: Some(s.last_observed_time),
        }),
        reporting_component: ev.reporting_controller,
        reporting_instance: ev.reporting_instance,
        source: None,
        action: ev.action,
        related: ev.related,
    })
}

fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut v = value;
    for p in path {
        v = v.get(p)?;
    }
    v.as_str()
}

/// The parts of a Flux object (as JSON) the engine reads.
pub fn flux_from_value(kind: FluxKind, value: &Value) -> Result<FluxObject> {
    let meta = value.get("metadata").ok_or(Error::NoMetadata {
        kind: kind.as_str(),
    })?;
    let name = str_at(meta, &["name"]).unwrap_or("");
    let namespace = str_at(meta, &["namespace"]).unwrap_or("");
    if name.is_empty() || namespace.is_empty() {
        return Err(Error::NoIdentity {
            kind: kind.as_str(),
        });
    }
    let status = value.get("status");
    let conditions: Vec<Condition> = match status.and_then(|s| s.get("conditions")) {
        Some(c) if !c.is_null() => serde_json::from_value::<Vec<Value>>(c.clone())
            .map_err(|error| Error::Conditions {
                kind: kind.as_str(),
                name: name.to_string(),
                error,
            })?
            .into_iter()
            .filter_map(|c| condition_from_value(&c))
            .collect(),
        _ => Vec::new(),
    };
    let spec = value.get("spec");
    let depends_on = spec
        .and_then(|s| s.get("dependsOn"))
        .and_then(Value::as_array)
        .map(|deps| {
            deps.iter()
                .filter_map(|d| d.get("name").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let revision = status.and_then(|s| {
        str_at(s, &["artifact", "revision"])
            .or_else(|| str_at(s, &["lastAppliedRevision"]))
            .or_else(|| str_at(s, &["lastAttemptedRevision"]))
            .map(str::to_string)
    });
    Ok(FluxObject {
        kind,
        namespace: namespace.to_string(),
        name: name.to_string(),
        generation: meta.get("generation").and_then(Value::as_i64),
        labels: meta
            .get("labels")
            .and_then(Value::as_object)
            .map(|l| {
                l.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default(),
        timeout: spec
            .and_then(|s| str_at(s, &["timeout"]))
            .map(str::to_string),
        suspended: spec
            .and_then(|s| s.get("suspend"))
            .and_then(Value::as_bool)
            .unwrap_or(false),
        target_namespace: spec
            .and_then(|s| str_at(s, &["targetNamespace"]))
            .map(str::to_string),
        release_name: spec
            .and_then(|s| str_at(s, &["releaseName"]))
            .map(str::to_string),
        depends_on,
        conditions,
        observed_generation: status
            .and_then(|s| s.get("observedGeneration"))
            .and_then(Value::as_i64),
        revision,
        helm_retry: (kind == FluxKind::HelmRelease)
            .then(|| helm_retry(spec, status))
            .flatten(),
        applied_revision: status
            .and_then(|s| str_at(s, &["lastAppliedRevision"]))
            .map(str::to_string),
        attempted_revision: status
            .and_then(|s| str_at(s, &["lastAttemptedRevision"]))
            .map(str::to_string),
        created: str_at(meta, &["creationTimestamp"]).and_then(|t| t.parse().ok()),
        last_deployed: status.and_then(newest_release_start),
    })
}

/// `lastDeployed` of the newest snapshot in a HelmRelease's `status.history` (the highest
/// `version`; helm-controller keeps them newest first, `api/v2/snapshot_types.go`).
fn newest_release_start(status: &Value) -> Option<jiff::Timestamp> {
    status
        .get("history")?
        .as_array()?
        .iter()
        .enumerate()
        .max_by_key(|(i, h)| {
            (
                h.get("version").and_then(Value::as_i64).unwrap_or(0),
                std::cmp::Reverse(*i),
            )
        })
        .and_then(|(_, h)| str_at(h, &["lastDeployed"])?.parse().ok())
}

/// The retry budget of a HelmRelease's last attempted action (see [`HelmRetry`]).
fn helm_retry(spec: Option<&Value>, status: Option<&Value>) -> Option<HelmRetry> {
    let action = str_at(status?, &["lastAttemptedReleaseAction"])?.to_string();
    let failures_field = match action.as_str() {
        "install" => "installFailures",
        "upgrade" => "upgradeFailures",
        _ => return None,
    };
    let failures = status?
        .get(failures_field)
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let of_action = spec.and_then(|s| s.get(&action));
    let retries = of_action
        .and_then(|a| a.get("remediation"))
        .and_then(|r| r.get("retries"))
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let strategy = of_action.and_then(|a| a.get("strategy"));
    let retry_on_failure = strategy
        .filter(|s| s.get("name").and_then(Value::as_str) == Some("RetryOnFailure"))
        .map(|s| str_at(s, &["retryInterval"]).map(str::to_string));
    Some(HelmRetry {
        action,
        failures,
        retries,
        retry_on_failure,
    })
}

/// Lenient: a condition missing its timestamp or reason is still a condition.
fn condition_from_value(c: &Value) -> Option<Condition> {
    let type_ = c.get("type")?.as_str()?.to_string();
    let status = c
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("Unknown")
        .to_string();
    let mut message = c
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    bound_message(&mut message);
    let last_transition_time = c
        .get("lastTransitionTime")
        .and_then(Value::as_str)
        .and_then(|t| t.parse().ok())
        .map(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time)
        .unwrap_or(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            jiff::Timestamp::UNIX_EPOCH,
        ));
    Some(Condition {
        type_,
        status,
        reason: c
            .get("reason")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        message,
        last_transition_time,
        observed_generation: c.get("observedGeneration").and_then(Value::as_i64),
    })
}

/// The memory events may take at most ([`EventRecord::footprint`]), whatever their count: the
/// count bound (`--max-events`) times the longest message kept (4 KiB) would be about 200 MiB,
/// above the chart's 128 Mi limit. 24 MiB holds some 60,000 typical events, or 5,700 of the
/// longest.
pub const MAX_EVENT_BYTES: usize = 24 << 20;

/// Of `events` (any key), the keys to keep: the newest event per (object, reason, message), then
/// the newest `cap` of those, within [`MAX_EVENT_BYTES`]. The message counts: the kubelet reports
/// one pull failure in three `Failed` events, and only the first has the registry's words.
pub fn events_to_keep<'e, K: Eq + std::hash::Hash>(
    events: impl Iterator<Item = (K, &'e EventRecord)>,
    cap: usize,
) -> std::collections::HashSet<K> {
    events_to_keep_within(events, cap, MAX_EVENT_BYTES)
}

fn events_to_keep_within<'e, K: Eq + std::hash::Hash>(
    events: impl Iterator<Item = (K, &'e EventRecord)>,
    cap: usize,
    budget: usize,
) -> std::collections::HashSet<K> {
    /// (kind, namespace, name, reason, message) of the object an event is about.
    type About<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str);
    let mut newest: std::collections::HashMap<About<'e>, (Option<jiff::Timestamp>, usize, K)> =
        std::collections::HashMap::new();
    for (k, e) in events {
        let o = &e.object;
        let about = (&*o.kind, &*o.namespace, &*o.name, &*e.reason, &*e.message);
        let at = e.last_time();
        if newest.get(&about).is_none_or(|(t, _, _)| *t < at) {
            newest.insert(about, (at, e.footprint(), k));
        }
    }
    let mut keep: Vec<(Option<jiff::Timestamp>, usize, K)> = newest.into_values().collect();
    keep.sort_by_key(|k| std::cmp::Reverse(k.0));
    let mut used = 0usize;
    keep.into_iter()
        .take(cap)
        .take_while(|(_, bytes, _)| {
            used += bytes;
            used <= budget
        })
        .map(|(_, _, k)| k)
        .collect()
}

/// Trims a batch of incoming objects (a relist in progress) to `cap` events, so a large first
/// list is never held whole.
pub fn bound_event_batch(batch: &mut Vec<KubeObject>, cap: usize) {
    let keep = events_to_keep(
        batch.iter().enumerate().filter_map(|(i, o)| match o {
            KubeObject::Event(e) => Some((i, &**e)),
            _ => None,
        }),
        cap,
    );
    let mut index = 0;
    batch.retain(|o| {
        let kept = !matches!(o, KubeObject::Event(_)) || keep.contains(&index);
        index += 1;
        kept
    });
}

impl Snapshot {
    /// Keeps at most `cap` events within [`MAX_EVENT_BYTES`]: the newest one per (object,
    /// reason) first, then the newest.
    pub fn bound_events(&mut self, cap: usize) {
        if self.events.len() <= cap
            && self
                .events
                .values()
                .map(EventRecord::footprint)
                .sum::<usize>()
                <= MAX_EVENT_BYTES
        {
            return;
        }
        let keep = events_to_keep(self.events.iter().map(|(k, e)| (k.clone(), e)), cap);
        self.events.retain(|k, _| keep.contains(k));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hostile inputs are refused before they cost: too deep (at once, with the line), too large
    /// (before any parse), too many objects (before they are converted).
    #[test]
    fn hostile_inputs_are_refused_before_they_cost() {
        let began = std::time::Instant::now();
        let deep = format!(
            "kind: List\nitems: {}{}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let err = parse_documents(&deep, "deep.yaml").unwrap_err().to_string();
        assert!(
            err.contains("nested more than 128 levels deep at line 2"),
            "{err}"
        );
        assert!(began.elapsed() < std::time::Duration::from_secs(2));
        let huge = " ".repeat(MAX_OBJECTS_TEXT + 1);
        let err = parse_documents(&huge, "huge.yaml").unwrap_err().to_string();
        assert!(err.contains("split the dump"), "{err}");
        let many = format!(
            "{{\"kind\":\"List\",\"items\":[{}{{}}]}}",
            "{},".repeat(MAX_OBJECTS)
        );
        let err = parse_documents(&many, "many.json").unwrap_err().to_string();
        assert!(err.contains("more than 100000"), "{err}");
    }

    #[test]
    fn reads_single_list_and_multi_document_inputs() {
        let single = "apiVersion: v1\nkind: Pod\nmetadata: {name: db-0, namespace: msp}\n";
        assert_eq!(parse_documents(single, "a").unwrap().objects.len(), 1);

        let list = r#"{"apiVersion":"v1","kind":"PodList","items":[{"metadata":{"name":"a","namespace":"msp"}},{"metadata":{"name":"b","namespace":"msp"}}]}"#;
        let parsed = parse_documents(list, "b").unwrap();
        assert_eq!(parsed.objects.len(), 2);
        assert!(matches!(parsed.objects[0], KubeObject::Pod(_)));

        let multi = "apiVersion: v1\nkind: Node\nmetadata: {name: n}\n---\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: msp}\n";
        let parsed = parse_documents(multi, "c").unwrap();
        assert_eq!(parsed.objects.len(), 1);
        let summary = parsed.ignored.summary();
        assert_eq!(summary.len(), 1, "the Service is ignored with a warning");
        assert!(
            summary[0].contains("1 object of kind \"Service\"")
                && summary[0].contains("document 3"),
            "{summary:?}"
        );
    }

    #[test]
    fn bad_input_names_file_and_document() {
        let err = parse_documents(
            "kind: Pod\nmetadata: {name: x, namespace: m}\n---\n: : [\n",
            "dump.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("dump.yaml") && err.contains("document 2"),
            "{err}"
        );

        let err = parse_documents(
            "apiVersion: v1\nkind: Pod\nmetadata: {namespace: m}\n",
            "p.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("no metadata.name"), "{err}");

        let err = parse_documents(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x, namespace: m}\nspec: 5\n",
            "p.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("Pod is malformed"), "{err}");

        let err = parse_documents("- 1\n- 2\n", "l.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected a Kubernetes object"), "{err}");
    }

    #[test]
    fn huge_messages_are_bounded() {
        let long = "x".repeat(100_000);
        let text = format!(
            "apiVersion: v1\nkind: Event\nmetadata: {{name: e, namespace: msp}}\ninvolvedObject: {{kind: Pod, name: p, namespace: msp}}\nmessage: {long}\n"
        );
        let parsed = parse_documents(&text, "e").unwrap();
        let KubeObject::Event(ev) = &parsed.objects[0] else {
            panic!()
        };
        assert!(ev.message.len() < 5000);
    }

    /// Workload templates keep container names and images only: environment values (a bootstrap
    /// Job's database password), commands and volumes never enter the snapshot.
    #[test]
    fn workload_templates_keep_names_and_images_only() {
        let template = "template: {metadata: {labels: {app: x}}, spec: {containers: [{name: c, image: 'ghcr.io/x/y:1', command: [sh, -c, 'echo planted-cmd'], env: [{name: DB_PASSWORD, value: planted-env}]}], volumes: [{name: v, secret: {secretName: planted-vol}}]}}";
        for (api, kind, extra) in [
            ("batch/v1", "Job", ""),
            (
                "apps/v1",
                "Deployment",
                "selector: {matchLabels: {app: x}}, ",
            ),
            (
                "apps/v1",
                "StatefulSet",
                "selector: {matchLabels: {app: x}}, serviceName: s, ",
            ),
            (
                "apps/v1",
                "DaemonSet",
                "selector: {matchLabels: {app: x}}, ",
            ),
        ] {
            let text = format!("apiVersion: {api}\nkind: {kind}\nmetadata: {{name: w, namespace: msp}}\nspec: {{{extra}{template}}}\n");
            let parsed = parse_documents(&text, "w").unwrap();
            let kept = format!("{:?}", parsed.objects);
            assert!(kept.contains("ghcr.io/x/y:1"), "{kind}: {kept}");
            for planted in ["planted-env", "planted-cmd", "planted-vol"] {
                assert!(!kept.contains(planted), "{kind} kept {planted}");
            }
        }
    }

    #[test]
    fn secrets_keep_only_their_name() {
        let text = "apiVersion: v1\nkind: Secret\nmetadata: {name: db-credentials, namespace: msp}\ndata: {DB_PASSWORD_SERVER: c2VjcmV0}\n";
        let parsed = parse_documents(text, "s").unwrap();
        assert!(
            matches!(&parsed.objects[0], KubeObject::SecretName { name, .. } if name == "db-credentials")
        );
        assert!(!format!("{:?}", parsed.objects).contains("c2VjcmV0"));
    }

    #[test]
    fn flux_objects_keep_conditions_and_revision() {
        let text = r#"
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: alga-core, namespace: alga-system, generation: 2}
spec: {targetNamespace: msp, releaseName: alga-core, dependsOn: [{name: pgbouncer}]}
status:
  conditions:
  - {type: Ready, status: "False", reason: InstallFailed, message: "context deadline exceeded", lastTransitionTime: "2026-04-30T01:40:00Z"}
  - {type: Stalled, status: "True"}
"#;
        let parsed = parse_documents(text, "hr").unwrap();
        let KubeObject::Flux(hr) = &parsed.objects[0] else {
            panic!()
        };
        assert_eq!(hr.kind, FluxKind::HelmRelease);
        assert_eq!(hr.target_namespace.as_deref(), Some("msp"));
        assert_eq!(hr.depends_on, vec!["pgbouncer"]);
        assert_eq!(hr.condition("Ready").unwrap().reason, "InstallFailed");
        assert_eq!(hr.condition("Stalled").unwrap().status, "True");
    }

    #[test]
    fn bounded_events_keep_the_newest_per_object_and_reason() {
        let mut snap = Snapshot::default();
        let mut text = String::new();
        for i in 0..30 {
            let (obj, reason) = (
                format!("p{}", i % 10),
                if i % 2 == 0 { "Failed" } else { "BackOff" },
            );
            text.push_str(&format!("---\napiVersion: v1\nkind: Event\nmetadata: {{name: e{i}, namespace: msp}}\ninvolvedObject: {{kind: Pod, namespace: msp, name: {obj}}}\nreason: {reason}\nlastTimestamp: \"2026-04-30T01:{i:02}:00Z\"\n"));
        }
        for o in parse_documents(&text, "t").unwrap().objects {
            snap.apply(o);
        }
        snap.bound_events(15);
        assert_eq!(
            snap.events.len(),
            10,
            "10 (object, reason) pairs, newest of each"
        );
        assert!(snap
            .events
            .contains_key(&("msp".to_string(), "e29".to_string())));
        assert!(
            !snap
                .events
                .contains_key(&("msp".to_string(), "e9".to_string())),
            "an older duplicate"
        );
        snap.bound_events(4);
        assert_eq!(snap.events.len(), 4);
        assert!(snap
            .events
            .contains_key(&("msp".to_string(), "e29".to_string())));
    }

    /// Events are bounded in bytes as well as in number: the longest messages cannot take more
    /// than the budget, and the newest are the ones kept.
    #[test]
    fn events_are_bounded_in_bytes_too() {
        let mut text = String::new();
        let long = "x".repeat(crate::snapshot::MAX_MESSAGE_BYTES);
        for i in 0..200 {
            text.push_str(&format!("---\napiVersion: v1\nkind: Event\nmetadata: {{name: e{i}, namespace: msp}}\ninvolvedObject: {{kind: Pod, namespace: msp, name: p{i}}}\nreason: Failed\nmessage: {long}\nlastTimestamp: \"2026-04-30T{:02}:{:02}:00Z\"\n", i / 60, i % 60));
        }
        let parsed = parse_documents(&text, "t").unwrap().objects;
        let events: Vec<EventRecord> = parsed
            .into_iter()
            .filter_map(|o| match o {
                KubeObject::Event(e) => Some(*e),
                _ => None,
            })
            .collect();
        let each = events.iter().map(EventRecord::footprint).max().unwrap();
        assert!(each > crate::snapshot::MAX_MESSAGE_BYTES);
        let keep = events_to_keep_within(events.iter().enumerate(), 1000, 50 * each);
        assert_eq!(keep.len(), 50, "the budget, not the count, decides");
        assert!(keep.contains(&199) && !keep.contains(&149), "the newest 50");
        let total: usize = keep.iter().map(|i| events[*i].footprint()).sum();
        assert!(total <= 50 * each);
    }

    #[test]
    fn a_batch_arriving_is_trimmed_to_the_newest_events() {
        let mut text =
            String::from("apiVersion: v1\nkind: Pod\nmetadata: {name: keep-me, namespace: msp}\n");
        for i in 0..20 {
            text.push_str(&format!("---\napiVersion: v1\nkind: Event\nmetadata: {{name: e{i}, namespace: msp}}\ninvolvedObject: {{kind: Pod, namespace: msp, name: p{i}}}\nreason: Failed\nlastTimestamp: \"2026-04-30T01:{i:02}:00Z\"\n"));
        }
        let mut batch = parse_documents(&text, "t").unwrap().objects;
        bound_event_batch(&mut batch, 5);
        assert_eq!(batch.len(), 6, "the pod and the five newest events");
        let names: Vec<String> = batch.iter().map(|o| o.id().name).collect();
        assert!(
            names.contains(&"keep-me".to_string())
                && names.contains(&"e19".to_string())
                && !names.contains(&"e14".to_string()),
            "{names:?}"
        );
    }

    #[test]
    fn a_relist_replaces_a_kind() {
        let mut snap = Snapshot::default();
        let two = "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: msp}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: msp}\n";
        for o in parse_documents(two, "t").unwrap().objects {
            snap.apply(o);
        }
        let one = parse_documents(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: msp}\n",
            "t",
        )
        .unwrap()
        .objects;
        snap.replace_kind("Pod", one);
        assert_eq!(snap.pods.len(), 1, "a was deleted while the watch was down");
    }

    #[test]
    fn apply_and_delete() {
        let mut snap = Snapshot::default();
        let parsed = parse_documents(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: db-0, namespace: msp}\n",
            "x",
        )
        .unwrap();
        for o in parsed.objects {
            snap.apply(o);
        }
        assert_eq!(snap.pods.len(), 1);
        let id = ObjectId {
            kind: "Pod".into(),
            namespace: "msp".into(),
            name: "db-0".into(),
        };
        assert!(snap.delete(&id));
        assert!(!snap.delete(&id));
    }
}
