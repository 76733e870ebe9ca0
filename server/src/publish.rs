//! Runs the engine once per change and publishes the document to every reader (API, UI, CLI)
//! through a `tokio::sync::watch` channel. Readers never compute anything.

use crate::assess::{assess, Inputs, SourceInfo, Thresholds};
use crate::catalog::Catalog;
use crate::probes::Probes;
use crate::scenario::{Replay, Scenario};
use crate::snapshot::Snapshot;
use app::api::ssr::{Published, StatusFeed};
use app::status::StatusDocument;
use jiff::{SignedDuration, Timestamp};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use tokio::sync::watch;

/// The engine's fixed inputs.
#[derive(Clone, Debug)]
pub struct Engine {
    pub catalog: Arc<Catalog>,
    pub thresholds: Thresholds,
    pub source: SourceInfo,
}

impl Engine {
    /// Assesses the snapshot at `now` and records what must be remembered for next time.
    pub fn assess(
        &self,
        snapshot: &mut Snapshot,
        probes: &Probes,
        now: Timestamp,
    ) -> StatusDocument {
        let assessment = assess(
            &Inputs {
                snapshot,
                catalog: &self.catalog,
                probes,
                thresholds: &self.thresholds,
                source: &self.source,
            },
            now,
        );
        snapshot.memory.first_seen = assessment.first_seen;
        snapshot.memory.causes = assessment.causes;
        snapshot.memory.bootstrap_volume = assessment.bootstrap_volume;
        assessment.document
    }
}

/// The writing end: publishes a document when it differs from the last one, and records every
/// assessment's wall-clock time (what "is the status current?" reads: `/metrics`).
pub struct Publisher {
    tx: watch::Sender<Arc<Published>>,
    assessed: Arc<AtomicI64>,
}

impl Publisher {
    /// A publisher with its first document, and the feed readers clone.
    pub fn new(first: StatusDocument) -> (Publisher, StatusFeed) {
        let (tx, rx) = watch::channel(Arc::new(Published::new(first)));
        let assessed = Arc::new(AtomicI64::new(Timestamp::now().as_millisecond()));
        (
            Publisher {
                tx,
                assessed: assessed.clone(),
            },
            StatusFeed(rx, assessed),
        )
    }

    /// The document last published.
    pub fn current(&self) -> StatusDocument {
        self.tx.borrow().document.clone()
    }

    /// Publishes `doc` unless only its timestamp changed; returns whether readers were notified.
    pub fn publish(&self, doc: StatusDocument) -> bool {
        self.assessed
            .store(Timestamp::now().as_millisecond(), Ordering::Relaxed);
        self.tx.send_if_modified(|current| {
            let mut same = doc.clone();
            same.timestamp = current.document.timestamp;
            if same == current.document {
                return false;
            }
            *current = Arc::new(Published::new(doc));
            true
        })
    }
}

/// Plays a scenario in (compressed) real time and publishes after every step and every tick.
pub struct DemoRunner {
    pub engine: Engine,
    pub replay: Replay,
    /// Scenario seconds per real second.
    pub speed: f64,
    /// Start again from the first step after the last one, after a pause.
    pub repeat: bool,
}

impl DemoRunner {
    /// The virtual time `elapsed` real time after the start.
    fn virtual_offset(&self, elapsed: std::time::Duration) -> SignedDuration {
        SignedDuration::from_secs_f64(elapsed.as_secs_f64() * self.speed)
    }

    /// The first document (before any real time passes).
    pub fn first_document(&mut self) -> StatusDocument {
        self.replay.advance_to(SignedDuration::ZERO);
        let start = self.replay.scenario.start;
        self.engine
            .assess(&mut self.replay.snapshot, &self.replay.probes, start)
    }

    /// Runs until `shutdown` resolves.
    pub async fn run(
        mut self,
        publisher: Publisher,
        mut bundles: crate::bundle::Queue,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        tokio::pin!(shutdown);
        let mut began = tokio::time::Instant::now();
        let tick = std::time::Duration::from_millis(500);
        loop {
            let offset = self.virtual_offset(began.elapsed());
            let applied = self.replay.advance_to(offset);
            for i in &applied {
                tracing::info!(step = i + 1, name = %self.replay.scenario.steps[*i].name, "scenario step applied");
            }
            // Whole seconds: the document describes a moment, not a sub-second sample.
            let now = self.replay.scenario.start + SignedDuration::from_secs(offset.as_secs());
            let doc = self
                .engine
                .assess(&mut self.replay.snapshot, &self.replay.probes, now);
            publisher.publish(doc);
            let finished = self.replay.next_step().is_none();
            if finished
                && self.repeat
                && offset > self.replay.scenario.duration() + SignedDuration::from_mins(10)
            {
                tracing::info!("scenario finished; starting again");
                self.replay = Replay::new(self.replay.scenario.clone());
                began = tokio::time::Instant::now();
                continue;
            }
            let pause = tokio::time::sleep(tick);
            tokio::pin!(pause);
            loop {
                tokio::select! {
                    _ = &mut pause => break,
                    _ = &mut shutdown => return,
                    Some(request) = bundles.recv() => crate::bundle::answer(
                        request,
                        publisher.current(),
                        // the demo's snapshot is small and changes every tick: a copy
                        (
                            std::sync::Arc::new(self.replay.snapshot.clone()),
                            &self.replay.probes,
                            &self.engine.thresholds,
                        ),
                    ),
                }
            }
        }
    }
}

/// Builds the demo runner for a scenario.
pub fn demo(engine: Engine, scenario: Scenario, speed: f64, repeat: bool) -> DemoRunner {
    DemoRunner {
        engine,
        replay: Replay::new(scenario),
        speed,
        repeat,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> Engine {
        Engine {
            catalog: Arc::new(Catalog::embedded()),
            thresholds: Thresholds::default(),
            source: SourceInfo::scenario("t"),
        }
    }

    #[test]
    fn publishes_only_on_change() {
        let engine = engine();
        let mut snap = Snapshot::default();
        let probes = Probes::default();
        let t0: Timestamp = "2026-04-30T01:00:00Z".parse().unwrap();
        let doc = engine.assess(&mut snap, &probes, t0);
        let (publisher, feed) = Publisher::new(doc.clone());
        let later = engine.assess(&mut snap, &probes, t0 + SignedDuration::from_secs(1));
        assert!(
            !publisher.publish(later),
            "same state, later time: nothing new to read"
        );
        let mut changed = doc;
        changed.site_id = "other".into();
        assert!(publisher.publish(changed));
        assert_eq!(feed.current().document.site_id, "other");
    }

    #[tokio::test(start_paused = true)]
    async fn demo_runner_advances_through_the_scenario() {
        let mut runner = demo(engine(), Scenario::observed_bootstrap(), 600.0, false);
        let first = runner.first_document();
        let (publisher, feed) = Publisher::new(first);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(runner.run(publisher, crate::bundle::desk().1, async {
            let _ = stop_rx.await;
        }));
        // 600x: the whole observed bootstrap (about an hour) replays in a few virtual seconds.
        tokio::time::sleep(std::time::Duration::from_secs(20)).await;
        let doc = feed.current().document.clone();
        assert_eq!(
            doc.rollup.state,
            app::status::RollupState::FullyHealthy,
            "{:#?}",
            doc.rollup
        );
        let _ = stop_tx.send(());
        task.await.unwrap();
    }
}
