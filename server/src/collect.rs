//! The live collector: kube-rs watchers reflect the cluster into one [`Snapshot`], owned by a
//! single task that applies every change, reassesses (debounced) and publishes.
//!
//! ```text
//! watcher(Pod) ──┐
//! watcher(Event) ┼─► mpsc<Change> ─► state task: Snapshot ─► assess ─► Publisher (watch)
//! watcher(...)  ─┤                      ▲
//! API health ────┤                      └─ log tails, probes (also Changes)
//! ```
//!
//! Each watcher is a reflector into the snapshot: objects are pruned as they arrive, a relist
//! (after a 410 Gone or a reconnect) replaces its kind wholesale, so nothing deleted while the
//! watch was down survives. Errors never stop a watcher; a missing Flux CRD is "not installed",
//! and watching starts when the CRD appears.

use crate::catalog::Catalog;
use crate::objects::{flux_from_value, Collectable, KubeObject};
use crate::probes::Probes;
use crate::publish::{Engine, Publisher};
use crate::snapshot::{FluxKind, LogExcerpt, Snapshot};
pub use appliance_engine::change::{apply, synced, Applied, Change, LOG_BUDGET};
use futures::{Stream, StreamExt};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{ConfigMap, Event, Pod, Secret};
use kube::api::{ApiResource, DynamicObject, LogParams};
use kube::core::PartialObjectMeta;
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// What the collector does, beyond the catalog.
#[derive(Clone, Debug)]
pub struct CollectorOptions {
    /// Watch Secret metadata (names only) of the catalog's secrets; off unless the chart enables it.
    pub secret_metadata: bool,
    /// Events kept at most (newest per object, reason and message first).
    pub max_events: usize,
    /// Changes arriving within this window are assessed together.
    pub debounce: Duration,
    /// Reassess at least this often (ages escalate, staleness grows).
    pub tick: Duration,
    /// Read bounded log tails of crash-looping or failed catalog pods.
    pub log_tails: bool,
    /// Lines and bytes kept per log tail.
    pub log_lines: i64,
    pub log_bytes: i64,
    /// A pod's log is read at most this often.
    pub log_interval: Duration,
}

/// Events kept at most by default: every event a single-node appliance's API server holds (its
/// one-hour TTL keeps it to thousands), with room for a storm. A compact record
/// (`event::EventRecord`) is a fraction of the 2 KiB a `k8s-openapi` Event took: with 20,000
/// events and 2,000 pods the service stays under 64 MiB (docs/BENCHMARKS.md).
pub const DEFAULT_MAX_EVENTS: usize = 50_000;

impl Default for CollectorOptions {
    fn default() -> Self {
        CollectorOptions {
            secret_metadata: false,
            max_events: DEFAULT_MAX_EVENTS,
            debounce: Duration::from_millis(200),
            tick: Duration::from_secs(5),
            log_tails: true,
            log_lines: 60,
            log_bytes: 16 * 1024,
            log_interval: Duration::from_secs(60),
        }
    }
}

/// The Flux kinds watched, with their served versions (the CRDs: testing/crds/build.sh).
const FLUX: [(FluxKind, &str, &str, &str); 4] = [
    (
        FluxKind::GitRepository,
        "source.toolkit.fluxcd.io",
        "v1",
        "gitrepositories",
    ),
    (
        FluxKind::OCIRepository,
        "source.toolkit.fluxcd.io",
        "v1",
        "ocirepositories",
    ),
    (
        FluxKind::Kustomization,
        "kustomize.toolkit.fluxcd.io",
        "v1",
        "kustomizations",
    ),
    (
        FluxKind::HelmRelease,
        "helm.toolkit.fluxcd.io",
        "v2",
        "helmreleases",
    ),
];

/// Whether an error means the API cannot be reached (as opposed to an object it sent that we
/// could not read, which must not make the cluster look down).
fn is_connection_error(e: &watcher::Error) -> bool {
    let inner = match e {
        watcher::Error::InitialListFailed(e)
        | watcher::Error::WatchStartFailed(e)
        | watcher::Error::WatchFailed(e) => e,
        _ => return false,
    };
    !matches!(inner, kube::Error::SerdeError(_) | kube::Error::Api(_))
}

fn api_status(e: &watcher::Error) -> Option<u16> {
    match e {
        watcher::Error::InitialListFailed(kube::Error::Api(s))
        | watcher::Error::WatchStartFailed(kube::Error::Api(s))
        | watcher::Error::WatchFailed(kube::Error::Api(s)) => Some(s.code),
        watcher::Error::WatchError(s) => Some(s.code),
        _ => None,
    }
}

/// Reflects one kind into Changes until the channel closes.
async fn reflect<K, S>(
    kind: &'static str,
    stream: S,
    convert: impl Fn(K) -> Option<KubeObject>,
    tx: mpsc::Sender<Change>,
    event_cap: usize,
) where
    S: Stream<Item = Result<watcher::Event<K>, watcher::Error>>,
{
    futures::pin_mut!(stream);
    if tx.send(Change::Watching(kind)).await.is_err() {
        return;
    }
    let mut buffer = Vec::new();
    let mut down = false;
    while let Some(item) = stream.next().await {
        let change = match item {
            Ok(event) => {
                if down {
                    down = false;
                    if tx.send(Change::ApiOk).await.is_err() {
                        return;
                    }
                }
                match event {
                    watcher::Event::Apply(o) => match convert(o) {
                        Some(o) => Change::Apply(o),
                        None => continue,
                    },
                    watcher::Event::Delete(o) => match convert(o) {
                        Some(o) => Change::Delete(o.id()),
                        None => continue,
                    },
                    watcher::Event::Init => {
                        buffer.clear();
                        continue;
                    }
                    watcher::Event::InitApply(o) => {
                        buffer.extend(convert(o));
                        // Events are bounded while they arrive, not after a whole list is held.
                        if kind == "Event" && buffer.len() > event_cap + event_cap / 4 {
                            crate::objects::bound_event_batch(&mut buffer, event_cap);
                        }
                        continue;
                    }
                    watcher::Event::InitDone => Change::Relist(kind, std::mem::take(&mut buffer)),
                }
            }
            Err(e) => match api_status(&e) {
                Some(404) => Change::NotServed(kind),
                Some(403) => {
                    tracing::warn!(kind, "forbidden: {e}");
                    Change::Forbidden(kind, e.to_string())
                }
                Some(_) => {
                    tracing::debug!(kind, "watch error: {e}");
                    continue;
                }
                None if is_connection_error(&e) => {
                    tracing::debug!(kind, "watch failed: {e}");
                    down = true;
                    Change::ApiDown(e.to_string())
                }
                None => {
                    // A malformed object never stops the watcher, nor darkens the status.
                    tracing::warn!(kind, "unreadable watch data skipped: {e}");
                    continue;
                }
            },
        };
        if tx.send(change).await.is_err() {
            return;
        }
    }
}

fn spawn_typed<K>(api: Api<K>, config: watcher::Config, tx: &mpsc::Sender<Change>, event_cap: usize)
where
    K: Collectable + Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let stream = watcher(api, config).default_backoff();
    tokio::spawn(reflect(
        <K as Collectable>::KIND,
        stream,
        |o: K| Some(o.into_object()),
        tx.clone(),
        event_cap,
    ));
}

/// Starts every watcher; they run until the returned channel's receiver is dropped.
pub fn spawn_watchers(
    client: &Client,
    catalog: &Catalog,
    options: &CollectorOptions,
) -> mpsc::Receiver<Change> {
    let (tx, rx) = mpsc::channel(1024);
    let cfg = || watcher::Config::default();
    // One watcher for the whole cluster per kind the engine's table marks `cluster`, and events.
    macro_rules! watch_cluster_wide {
        ($(($v:ident, $t:ty, $kind:literal, $group:literal, $ns:literal, $field:ident, $watch:ident, $prune:expr)),* $(,)?) => {
            $(watch_cluster_wide!(@one $watch, $t);)*
        };
        (@one cluster, $t:ty) => {
            spawn_typed(Api::<$t>::all(client.clone()), cfg(), &tx, options.max_events);
        };
        (@one named, $t:ty) => {};
    }
    appliance_engine::typed_kinds!(watch_cluster_wide);
    spawn_typed(
        Api::<Event>::all(client.clone()),
        cfg(),
        &tx,
        options.max_events,
    );

    // Only the ConfigMaps the catalog names, each by name (RBAC grants exactly those).
    let release = &catalog.release;
    for r in [&release.selection, &release.bootstrap_values]
        .into_iter()
        .flatten()
    {
        let api = Api::<ConfigMap>::namespaced(client.clone(), &r.namespace);
        let config = cfg().fields(&format!("metadata.name={}", r.name));
        let stream = watcher(api, config).default_backoff();
        // A relist of one name must not wipe the others: apply instead of replacing the kind.
        tokio::spawn(reflect(
            "ConfigMap/named",
            stream,
            |o: ConfigMap| Some(o.into_object()),
            tx.clone(),
            usize::MAX,
        ));
    }

    // Secret names only, and only when enabled: the code never asks for secret data.
    if options.secret_metadata {
        for c in &catalog.components {
            for name in &c.secrets {
                // PartialObjectMeta: the API server sends metadata only.
                let api = Api::<PartialObjectMeta<Secret>>::namespaced(
                    client.clone(),
                    c.namespace(&catalog.site),
                );
                let config = cfg().fields(&format!("metadata.name={name}"));
                let stream = watcher(api, config).default_backoff();
                tokio::spawn(reflect(
                    "Secret/named",
                    stream,
                    |m: PartialObjectMeta<Secret>| {
                        let (namespace, name) = crate::snapshot::key(&m.metadata);
                        Some(KubeObject::SecretName { namespace, name })
                    },
                    tx.clone(),
                    usize::MAX,
                ));
            }
        }
    }

    for (kind, group, version, plural) in FLUX {
        let resource = ApiResource {
            group: group.into(),
            version: version.into(),
            api_version: format!("{group}/{version}"),
            kind: kind.as_str().into(),
            plural: plural.into(),
        };
        let api = Api::<DynamicObject>::all_with(client.clone(), &resource);
        let stream = watcher(api, cfg()).default_backoff();
        tokio::spawn(reflect(
            kind.as_str(),
            stream,
            move |o: DynamicObject| {
                let value = serde_json::to_value(&o).ok()?;
                match flux_from_value(kind, &value) {
                    Ok(f) => Some(KubeObject::Flux(Box::new(f))),
                    Err(e) => {
                        tracing::warn!(kind = kind.as_str(), "malformed object ignored: {e}");
                        None
                    }
                }
            },
            tx.clone(),
            usize::MAX,
        ));
    }

    // API health: a cheap request every few seconds, so an idle cluster is not mistaken for a
    // dead one and a dead one is noticed without waiting for a watch to time out.
    let health_client = client.clone();
    let health_tx = tx.clone();
    tokio::spawn(async move {
        loop {
            let change = match tokio::time::timeout(
                Duration::from_secs(5),
                health_client.apiserver_version(),
            )
            .await
            {
                Ok(Ok(_)) => Change::ApiOk,
                Ok(Err(e)) => Change::ApiDown(e.to_string()),
                Err(_) => Change::ApiDown("the API server did not answer within 5 s".into()),
            };
            if health_tx.send(change).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
    });
    rx
}

/// One receiver for the watchers' changes and the prober's and log tails' (or a test's).
pub fn merge(
    mut a: mpsc::Receiver<Change>,
    mut b: mpsc::Receiver<Change>,
) -> mpsc::Receiver<Change> {
    let (tx, rx) = mpsc::channel(1024);
    tokio::spawn(async move {
        loop {
            let change = tokio::select! {
                Some(c) = a.recv() => c,
                Some(c) = b.recv() => c,
                else => return,
            };
            if tx.send(change).await.is_err() {
                return;
            }
        }
    });
    rx
}

/// Pods whose log tail explains something: crash-looping or failed containers of catalog
/// components, and the bootstrap Job's pods.
fn log_candidates(snapshot: &Snapshot, catalog: &Catalog) -> Vec<(String, String, String, bool)> {
    let namespaces: BTreeSet<&str> = catalog
        .components
        .iter()
        .map(|c| c.namespace(&catalog.site))
        .collect();
    let mut out = Vec::new();
    for ((ns, name), pod) in &snapshot.pods {
        if !namespaces.contains(ns.as_str()) {
            continue;
        }
        let Some(status) = pod.status.as_ref() else {
            continue;
        };
        let job_pod = pod
            .metadata
            .labels
            .as_ref()
            .is_some_and(|l| l.contains_key("job-name"));
        for cs in status
            .container_statuses
            .iter()
            .flatten()
            .chain(status.init_container_statuses.iter().flatten())
        {
            let state = cs.state.as_ref();
            let crashing = state
                .and_then(|s| s.waiting.as_ref())
                .is_some_and(|w| w.reason.as_deref() == Some("CrashLoopBackOff"));
            let failed = state
                .and_then(|s| s.terminated.as_ref())
                .is_some_and(|t| t.exit_code != 0);
            let running_job =
                job_pod && state.is_some_and(|s| s.running.is_some() || s.terminated.is_some());
            if crashing || failed || running_job {
                out.push((ns.clone(), name.clone(), cs.name.clone(), crashing));
            }
        }
    }
    out
}

fn spawn_log_tail(
    client: &Client,
    options: &CollectorOptions,
    target: (String, String, String, bool),
    tx: mpsc::Sender<Change>,
) {
    let (ns, pod, container, previous) = target;
    let api = Api::<Pod>::namespaced(client.clone(), &ns);
    let params = LogParams {
        container: Some(container.clone()),
        previous,
        tail_lines: Some(options.log_lines),
        limit_bytes: Some(options.log_bytes),
        ..LogParams::default()
    };
    tokio::spawn(async move {
        match tokio::time::timeout(Duration::from_secs(10), api.logs(&pod, &params)).await {
            Ok(Ok(text)) => {
                let lines = text
                    .lines()
                    .map(|l| l.chars().take(512).collect::<String>())
                    .collect();
                let _ = tx
                    .send(Change::Logs(LogExcerpt {
                        namespace: ns,
                        pod,
                        container: Some(container),
                        lines,
                    }))
                    .await;
            }
            Ok(Err(e)) => tracing::debug!(%pod, "log tail unavailable: {e}"),
            Err(_) => tracing::debug!(%pod, "log tail timed out"),
        }
    });
}

/// A collector started by [`start`].
pub struct Live {
    /// The latest published document.
    pub feed: app::api::ssr::StatusFeed,
    /// True once every core kind has been listed.
    pub ready: Arc<AtomicBool>,
    /// For changes that do not come from watchers: probe results, log tails.
    pub extra: mpsc::Sender<Change>,
    /// Asks the state task for a support bundle.
    pub bundles: crate::bundle::Desk,
    /// The images the selected release names, updated when the selection changes: what the
    /// release checker (`release::run_checker`) checks.
    pub release_images: tokio::sync::watch::Receiver<Vec<crate::release::Planned>>,
    /// The state task; it ends with `shutdown`.
    pub task: tokio::task::JoinHandle<()>,
}

/// Starts the watchers and the state task, as `serve` runs them (and `status`/`wait` with a
/// kubeconfig, and the tests).
pub fn start(
    client: Client,
    engine: Engine,
    options: CollectorOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Live {
    let watchers = spawn_watchers(&client, &engine.catalog, &options);
    let (extra, extra_rx) = mpsc::channel(64);
    let changes = merge(watchers, extra_rx);
    let first = engine.assess(
        &mut Snapshot::default(),
        &Probes::default(),
        Timestamp::now(),
    );
    let (publisher, feed) = Publisher::new(first);
    let ready = Arc::new(AtomicBool::new(false));
    let (bundles, bundle_queue) = crate::bundle::desk();
    let (wanted_tx, release_images) = tokio::sync::watch::channel(Vec::new());
    let task = tokio::spawn(run(
        client,
        engine,
        options,
        (changes, bundle_queue, wanted_tx),
        extra.clone(),
        publisher,
        ready.clone(),
        shutdown,
    ));
    Live {
        feed,
        ready,
        extra,
        bundles,
        release_images,
        task,
    }
}

/// Runs the state task: applies changes, reassesses and publishes, until `shutdown`.
#[allow(clippy::too_many_arguments)] // the task's whole world, each part distinct
pub async fn run(
    client: Client,
    engine: Engine,
    options: CollectorOptions,
    (mut changes, mut bundles, release_images): (
        mpsc::Receiver<Change>,
        crate::bundle::Queue,
        tokio::sync::watch::Sender<Vec<crate::release::Planned>>,
    ),
    extra: mpsc::Sender<Change>,
    publisher: Publisher,
    ready: Arc<AtomicBool>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    // Shared with a support bundle being written (no copy per request); a change landing meanwhile
    // copies it once (`Arc::make_mut`).
    let mut snapshot: Arc<Snapshot> = Arc::default();
    let mut probes = Probes::default();
    let mut listed: BTreeSet<&'static str> = BTreeSet::new();
    let mut logs_read: BTreeMap<(String, String, String), tokio::time::Instant> = BTreeMap::new();
    let mut dirty = true;
    let mut tick = tokio::time::interval(options.tick);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tick.tick() => { dirty = true; }
            // A support bundle of the state as it stands between two changes.
            Some(request) = bundles.recv() => {
                let inputs = (snapshot.clone(), &probes, &engine.thresholds);
                crate::bundle::answer(request, publisher.current(), inputs);
                continue;
            }
            change = changes.recv() => {
                let Some(change) = change else { return };
                dirty |= land(Arc::make_mut(&mut snapshot), &mut probes, &mut listed, change);
                // Take everything already queued, then wait out the debounce window.
                let deadline = tokio::time::Instant::now() + options.debounce;
                while let Ok(Some(change)) = tokio::time::timeout_at(deadline, changes.recv()).await {
                    dirty |= land(Arc::make_mut(&mut snapshot), &mut probes, &mut listed, change);
                }
            }
        }
        if !dirty {
            continue;
        }
        dirty = false;
        if !ready.load(Ordering::Relaxed) && synced(&listed) {
            ready.store(true, Ordering::Relaxed);
            tracing::info!(objects = snapshot.object_count(), "caches synced");
        }
        let state = Arc::make_mut(&mut snapshot);
        state.bound_events(options.max_events);
        state.remember();
        // Whole seconds: the document describes a moment, not a sub-second sample.
        let now = Timestamp::from_second(Timestamp::now().as_second())
            .unwrap_or_else(|_| Timestamp::now());
        let doc = engine.assess(state, &probes, now);
        publisher.publish(doc);
        let wanted = crate::release::from_selection(&snapshot, &engine.catalog);
        release_images.send_if_modified(|current| {
            let changed = *current != wanted;
            if changed {
                *current = wanted;
            }
            changed
        });

        if options.log_tails && snapshot.api.unreachable_since.is_none() {
            let now = tokio::time::Instant::now();
            for target in log_candidates(&snapshot, &engine.catalog) {
                let key = (target.0.clone(), target.1.clone(), target.2.clone());
                if logs_read
                    .get(&key)
                    .is_some_and(|at| now.duration_since(*at) < options.log_interval)
                {
                    continue;
                }
                logs_read.insert(key, now);
                spawn_log_tail(&client, &options, target, extra.clone());
            }
            logs_read.retain(|_, at| now.duration_since(*at) < options.log_interval * 10);
        }
    }
}

/// Applies one change at the current time (`change::apply`), saying in the log what the API's
/// health did; returns whether to assess again.
fn land(
    snapshot: &mut Snapshot,
    probes: &mut Probes,
    listed: &mut BTreeSet<&'static str>,
    change: Change,
) -> bool {
    if let Change::NotServed(kind) = &change {
        tracing::debug!(kind, "not served yet (CRD not installed)");
    }
    let down = match &change {
        Change::ApiDown(e) => Some(e.clone()),
        _ => None,
    };
    let applied = apply(snapshot, probes, listed, change, Timestamp::now());
    match &applied {
        Applied::ApiBack => tracing::info!("Kubernetes API reachable again"),
        Applied::ApiLost => {
            tracing::warn!("Kubernetes API unreachable: {}", down.unwrap_or_default())
        }
        Applied::Refused(why) => tracing::warn!("{why}"),
        Applied::Changed | Applied::Unchanged => {}
    }
    applied.dirty()
}

/// Connects to the cluster the usual way: in-cluster service account, else `KUBECONFIG` /
/// `~/.kube/config`, or the given kubeconfig file.
pub async fn client(kubeconfig: Option<&std::path::Path>) -> crate::Result<Client> {
    Ok(Client::try_from(config(kubeconfig).await?)?)
}

/// The client configuration: `kubeconfig`, else the in-cluster account, KUBECONFIG or
/// ~/.kube/config.
pub async fn config(kubeconfig: Option<&std::path::Path>) -> crate::Result<kube::Config> {
    Ok(match kubeconfig {
        Some(path) => {
            let kc = kube::config::Kubeconfig::read_from(path)?;
            kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
                .await?
        }
        None => kube::Config::infer().await?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Every request the collector makes for Secrets asks for metadata only
    /// (`PartialObjectMetadata`); no code path reads secret data. A recording client stands in for
    /// the API server: this is about the requests, not the answers.
    #[tokio::test]
    async fn secrets_are_only_ever_requested_as_metadata() {
        let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let record = seen.clone();
        let service = tower::service_fn(move |req: axum::http::Request<kube::client::Body>| {
            let accept = req
                .headers()
                .get(axum::http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            record.lock().unwrap().push((req.uri().to_string(), accept));
            async {
                axum::http::Response::builder()
                    .status(503)
                    .body(kube::client::Body::empty())
            }
        });
        let client = Client::new(service, "default");
        let catalog = Catalog::embedded();
        let options = CollectorOptions {
            secret_metadata: true,
            ..CollectorOptions::default()
        };
        let mut changes = spawn_watchers(&client, &catalog, &options);
        tokio::time::timeout(Duration::from_secs(3), async {
            loop {
                if seen
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|(uri, _)| uri.contains("/secrets"))
                    .count()
                    >= 2
                {
                    return;
                }
                let _ = tokio::time::timeout(Duration::from_millis(50), changes.recv()).await;
            }
        })
        .await
        .expect("the collector asks for both credential Secrets");
        let seen = seen.lock().unwrap();
        let secrets: Vec<_> = seen
            .iter()
            .filter(|(uri, _)| uri.contains("/secrets"))
            .collect();
        for (uri, accept) in &secrets {
            assert!(
                accept.contains("as=PartialObjectMetadata"),
                "{uri} asked for {accept:?}"
            );
            assert!(
                uri.contains("fieldSelector=metadata.name"),
                "{uri} is not restricted by name"
            );
        }
    }

    /// Log tails are read for crash-looping or failed catalog pods and the bootstrap Job's pods,
    /// the previous container for a crash loop; never for healthy pods or other namespaces.
    #[test]
    fn log_tails_target_crashing_failed_and_job_pods() {
        let yaml = r#"
apiVersion: v1
kind: Pod
metadata: {name: temporal-1, namespace: msp}
spec: {containers: [{name: temporal, image: x}]}
status: {containerStatuses: [{name: temporal, image: x, imageID: "", ready: false, restartCount: 4, state: {waiting: {reason: CrashLoopBackOff}}}]}
---
apiVersion: v1
kind: Pod
metadata: {name: boot-1, namespace: msp, labels: {job-name: alga-core-sebastian-bootstrap-r1}}
spec: {containers: [{name: bootstrap, image: x}]}
status: {containerStatuses: [{name: bootstrap, image: x, imageID: "", ready: false, restartCount: 0, state: {terminated: {exitCode: 1}}}]}
---
apiVersion: v1
kind: Pod
metadata: {name: redis-0, namespace: msp}
spec: {containers: [{name: redis, image: x}]}
status: {containerStatuses: [{name: redis, image: x, imageID: "", ready: true, restartCount: 0, state: {running: {}}}]}
---
apiVersion: v1
kind: Pod
metadata: {name: other, namespace: tenant}
spec: {containers: [{name: c, image: x}]}
status: {containerStatuses: [{name: c, image: x, imageID: "", ready: false, restartCount: 9, state: {waiting: {reason: CrashLoopBackOff}}}]}
"#;
        let mut snapshot = Snapshot::default();
        for o in crate::objects::parse_documents(yaml, "t").unwrap().objects {
            snapshot.apply(o);
        }
        let mut got = log_candidates(&snapshot, &Catalog::embedded());
        got.sort();
        assert_eq!(
            got,
            vec![
                ("msp".into(), "boot-1".into(), "bootstrap".into(), false),
                ("msp".into(), "temporal-1".into(), "temporal".into(), true),
            ]
        );
    }

    /// Without the opt-in, nothing about Secrets is requested at all.
    #[tokio::test]
    async fn no_secret_request_without_the_opt_in() {
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let record = seen.clone();
        let service = tower::service_fn(move |req: axum::http::Request<kube::client::Body>| {
            record.lock().unwrap().push(req.uri().to_string());
            async {
                axum::http::Response::builder()
                    .status(503)
                    .body(kube::client::Body::empty())
            }
        });
        let client = Client::new(service, "default");
        let mut changes =
            spawn_watchers(&client, &Catalog::embedded(), &CollectorOptions::default());
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            while changes.recv().await.is_some() {}
        })
        .await;
        let seen = seen.lock().unwrap();
        assert!(
            seen.iter().any(|u| u.contains("/pods")),
            "the collector did start: {seen:?}"
        );
        assert!(!seen.iter().any(|u| u.contains("/secrets")), "{seen:?}");
    }
}
