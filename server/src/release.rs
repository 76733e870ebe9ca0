//! The service's release checks: every image a release names asked of its registry
//! (`validate-release`, PRD AC7), and the background checker that follows the selected release
//! (`run_checker`). The manifests, plans and verdicts are the engine's
//! (`appliance_engine::release`), re-exported here.

pub use appliance_engine::release::*;

use crate::change::Change;
use crate::registry::{Outcome, Registry};
use std::collections::BTreeMap;

/// Checks every planned image (one request chain each, in turn).
pub async fn check(registry: &Registry, planned: Vec<Planned>) -> Vec<Checked> {
    let mut out = Vec::new();
    for p in planned {
        let result = registry.check(&p.image, p.login_critical).await;
        out.push(Checked {
            reference: p.image.to_string(),
            planned: p,
            result,
        });
    }
    out
}

/// How often the checker asks again.
#[derive(Clone, Copy, Debug)]
pub struct Cadence {
    /// Every image present: asked again this rarely.
    pub present: std::time::Duration,
    /// Something missing or refused: asked again this often (a publish is noticed).
    pub missing: std::time::Duration,
    /// Registry unreachable: the first retry; doubled up to `max_backoff`.
    pub retry: std::time::Duration,
    pub max_backoff: std::time::Duration,
}

impl Cadence {
    /// `missing` = `interval`; present 15 times less often; retries from half of it, doubling
    /// up to 5 times it.
    pub fn every(interval: std::time::Duration) -> Cadence {
        Cadence {
            present: interval * 15,
            missing: interval,
            retry: (interval / 2).max(std::time::Duration::from_secs(1)),
            max_backoff: interval * 5,
        }
    }
}

impl Default for Cadence {
    /// Every 2 minutes while something is missing, 30 while all is present; retries from 1
    /// minute up to 10.
    fn default() -> Self {
        Cadence::every(std::time::Duration::from_secs(120))
    }
}

/// The checker: checks the selected release's images when the selection appears or changes, then
/// again on the cadence, backing off while the registry is unreachable; sends each result to the
/// state task. It never runs per page view, and it is the only thing here that asks a registry.
pub async fn run_checker(
    registry: Registry,
    mut wanted: tokio::sync::watch::Receiver<Vec<Planned>>,
    cadence: Cadence,
    tx: tokio::sync::mpsc::Sender<Change>,
) {
    // The last definite answer per reference (bounded: one release's images, plus a few old).
    let mut settled: BTreeMap<String, Outcome> = BTreeMap::new();
    let mut backoff = cadence.retry;
    loop {
        let plan = wanted.borrow_and_update().clone();
        let mut wait = cadence.present;
        if !plan.is_empty() {
            let checked = check(&registry, plan).await;
            let now = jiff::Timestamp::now();
            let mut images = Vec::new();
            for c in &checked {
                if !matches!(c.result, Outcome::Unreachable { .. }) {
                    settled.insert(c.reference.clone(), c.result.clone());
                }
                images.push(ImageCheck {
                    key: c.planned.key.clone(),
                    reference: c.reference.clone(),
                    component: c.planned.component.clone(),
                    login_critical: c.planned.login_critical,
                    last: c.result.clone(),
                    settled: settled.get(&c.reference).cloned(),
                    checked_at: now,
                });
            }
            if settled.len() > 64 {
                let keep: Vec<String> = images.iter().map(|i| i.reference.clone()).collect();
                settled.retain(|k, _| keep.contains(k));
            }
            let unreachable = images
                .iter()
                .filter(|i| matches!(i.last, Outcome::Unreachable { .. }))
                .count();
            let missing = images
                .iter()
                .filter(|i| {
                    !matches!(
                        i.last,
                        Outcome::Present { .. } | Outcome::Unreachable { .. }
                    )
                })
                .count();
            let note = format!(
                "{} images of release checked at {now}: {} present, {missing} missing or refused, {unreachable} could not be checked{}",
                images.len(),
                images.len() - missing - unreachable,
                if unreachable > 0 {
                    format!(" (retry in {} s)", backoff.as_secs())
                } else {
                    String::new()
                }
            );
            let check = ReleaseCheck {
                note: Some(note),
                images,
            };
            if tx.send(Change::ReleaseCheck(check)).await.is_err() {
                return;
            }
            wait = if unreachable > 0 {
                let w = backoff;
                backoff = (backoff * 2).min(cadence.max_backoff);
                w
            } else {
                backoff = cadence.retry;
                if missing > 0 {
                    cadence.missing
                } else {
                    cadence.present
                }
            };
        }
        tokio::select! {
            changed = wanted.changed() => if changed.is_err() { return },
            _ = tokio::time::sleep(wait) => {}
        }
    }
}
