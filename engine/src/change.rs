//! The changes a source sends the snapshot's owner, as plain data, and how each applies: what the
//! watchers saw (an object applied or deleted, a kind listed afresh, not served, forbidden), the
//! API's health, a log tail, a probe result, the registry check of the selected release. The
//! live collector and the tests send them; `apply` is the one place a change lands.

use crate::images::ReleaseCheck;
use crate::objects::{KubeObject, ObjectId};
use crate::probes::Probes;
use crate::snapshot::{LogExcerpt, Snapshot};
use app::status::WatchState;
use jiff::Timestamp;
use std::collections::BTreeSet;

/// One change to the snapshot.
#[derive(Debug)]
pub enum Change {
    Apply(KubeObject),
    Delete(ObjectId),
    /// A watcher started for this kind.
    Watching(&'static str),
    /// A watcher listed its kind afresh: replace it.
    Relist(&'static str, Vec<KubeObject>),
    /// The API answered (a watch event, a version check).
    ApiOk,
    /// The API did not answer.
    ApiDown(String),
    /// A kind is not served (a Flux CRD not installed yet): a state, not an error.
    NotServed(&'static str),
    /// The service account may not watch a kind: its RBAC is incomplete.
    Forbidden(&'static str, String),
    Logs(LogExcerpt),
    Probe(String, Option<String>),
    /// The registry check of the selected release's images (or that it is off).
    ReleaseCheck(ReleaseCheck),
}

/// Bytes of log excerpts kept at most (each is at most `log_bytes`, 16 KiB by default): the
/// oldest go first when more pods crash at once than that holds.
pub const LOG_BUDGET: usize = 1 << 20;

/// What applying a change did.
#[derive(Debug, PartialEq, Eq)]
pub enum Applied {
    /// The snapshot changed (or may have): assess again.
    Changed,
    /// Nothing the engine reads changed.
    Unchanged,
    /// The API answered again after being unreachable.
    ApiBack,
    /// The API stopped answering (it had been answering).
    ApiLost,
    /// The change was refused (a probe result that does not parse), with why.
    Refused(String),
}

impl Applied {
    /// Whether the snapshot should be assessed again.
    pub fn dirty(&self) -> bool {
        !matches!(self, Applied::Unchanged | Applied::Refused(_))
    }
}

/// True once every kind watched cluster-wide has listed (`kinds::cluster_kinds`).
pub fn synced(listed: &BTreeSet<&'static str>) -> bool {
    crate::kinds::cluster_kinds().all(|k| listed.contains(k))
}

/// Drops the oldest excerpts (the first pushed) until the rest hold at most `budget` bytes.
fn keep_within_budget(logs: &mut Vec<LogExcerpt>, budget: usize) {
    let mut total: usize = logs.iter().map(LogExcerpt::footprint).sum();
    let mut drop = 0;
    while total > budget && drop < logs.len() {
        total -= logs[drop].footprint();
        drop += 1;
    }
    logs.drain(..drop);
}

/// Applies one change at `now`; `listed` collects the kinds listed so far.
pub fn apply(
    snapshot: &mut Snapshot,
    probes: &mut Probes,
    listed: &mut BTreeSet<&'static str>,
    change: Change,
    now: Timestamp,
) -> Applied {
    match change {
        Change::Apply(o) => {
            snapshot.api.unreachable_since = None;
            snapshot.apply(o);
        }
        Change::Delete(id) => {
            snapshot.delete(&id);
        }
        Change::Watching(kind) => {
            snapshot
                .api
                .watches
                .entry(kind.to_string())
                .or_insert(WatchState::Listing);
        }
        Change::Relist(kind, objects) => {
            listed.insert(kind);
            snapshot
                .api
                .watches
                .insert(kind.to_string(), WatchState::Listed);
            snapshot.api.forbidden.remove(kind);
            snapshot.api.unreachable_since = None;
            match kind {
                // Named watchers share a kind with each other: apply, do not replace.
                "ConfigMap/named" | "Secret/named" => {
                    objects.into_iter().for_each(|o| snapshot.apply(o))
                }
                _ => snapshot.replace_kind(kind, objects),
            }
            if synced(listed) {
                snapshot.api.last_sync = Some(now);
            }
        }
        Change::ApiOk => {
            let was_down = snapshot.api.unreachable_since.take().is_some();
            snapshot.api.last_error = None;
            if synced(listed) {
                snapshot.api.last_sync = Some(now);
            }
            return if was_down {
                Applied::ApiBack
            } else {
                Applied::Unchanged
            };
        }
        Change::ApiDown(error) => {
            let lost = snapshot.api.unreachable_since.is_none();
            if lost {
                snapshot.api.unreachable_since = Some(now);
            }
            snapshot.api.last_error = Some(error);
            if lost {
                return Applied::ApiLost;
            }
        }
        Change::NotServed(kind) => {
            listed.insert(kind);
            snapshot
                .api
                .watches
                .insert(kind.to_string(), WatchState::NotServed);
            return Applied::Unchanged;
        }
        Change::Forbidden(kind, message) => {
            snapshot
                .api
                .watches
                .insert(kind.to_string(), WatchState::Forbidden);
            let new = snapshot
                .api
                .forbidden
                .insert(kind.to_string(), message)
                .is_none();
            return if new {
                Applied::Changed
            } else {
                Applied::Unchanged
            };
        }
        Change::Logs(excerpt) => {
            snapshot.logs.retain(|l| {
                !(l.namespace == excerpt.namespace
                    && l.pod == excerpt.pod
                    && l.container == excerpt.container)
            });
            // Tails of pods that are gone are dropped.
            let pods = &snapshot.pods;
            snapshot
                .logs
                .retain(|l| pods.contains_key(&(l.namespace.clone(), l.pod.clone())));
            if snapshot
                .pods
                .contains_key(&(excerpt.namespace.clone(), excerpt.pod.clone()))
            {
                snapshot.logs.push(excerpt);
            }
            keep_within_budget(&mut snapshot.logs, LOG_BUDGET);
        }
        Change::ReleaseCheck(check) => {
            snapshot.release_check = check;
        }
        Change::Probe(name, value) => match value {
            Some(v) => {
                if let Err(e) = probes.set(&name, &v) {
                    return Applied::Refused(format!("probe result ignored: {e}"));
                }
            }
            None => probes.clear(&name),
        },
    }
    Applied::Changed
}

#[cfg(test)]
mod tests {
    use super::*;

    /// More crashing pods than the log budget holds: the newest tails are kept, within it.
    #[test]
    fn log_excerpts_stay_within_their_byte_budget() {
        let mut snapshot = Snapshot::default();
        let mut probes = Probes::default();
        let mut listed = BTreeSet::new();
        let log_bytes = 16 * 1024; // the collector's default tail
        let n = 2 * LOG_BUDGET / log_bytes;
        for i in 0..n {
            let pod = format!("p-{i}");
            let yaml = format!(
                "apiVersion: v1\nkind: Pod\nmetadata: {{name: {pod}, namespace: msp}}\nspec: {{containers: [{{name: c, image: x}}]}}\n"
            );
            for o in crate::objects::parse_documents(&yaml, "t").unwrap().objects {
                snapshot.apply(o);
            }
            // a full tail: `log_bytes` of text in lines of 512 characters
            let line = "x".repeat(512);
            let excerpt = LogExcerpt {
                namespace: "msp".into(),
                pod,
                container: Some("c".into()),
                lines: vec![line; log_bytes / 512],
            };
            apply(
                &mut snapshot,
                &mut probes,
                &mut listed,
                Change::Logs(excerpt),
                Timestamp::UNIX_EPOCH,
            );
        }
        let total: usize = snapshot.logs.iter().map(LogExcerpt::footprint).sum();
        assert!(total <= LOG_BUDGET, "{total}");
        let one = snapshot.logs[0].footprint();
        assert_eq!(snapshot.logs.len(), LOG_BUDGET / one, "as many as fit");
        assert_eq!(
            snapshot.logs.last().unwrap().pod,
            format!("p-{}", n - 1),
            "the newest is kept"
        );
        assert!(
            snapshot.logs.iter().all(|l| l.pod != "p-0"),
            "the oldest went"
        );
    }
}
