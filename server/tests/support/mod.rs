//! Shared by the integration tests: the binary and its output, the collector started as `serve`
//! starts it, and waiting for a published document.
#![allow(dead_code)] // each test binary uses its own part

use app::api::ssr::StatusFeed;
use app::status::{StatusDocument, Tier};
use appliance_status::assess::{SourceInfo, Thresholds};
use appliance_status::catalog::Catalog;
use appliance_status::collect::{self, Change, CollectorOptions};
use appliance_status::publish::Engine;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// The `appliance-status` binary this test run built.
pub fn bin() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_appliance-status"))
}

/// `serve` replaying the embedded demo at `speed` on loopback `port` with `token`, without the
/// site and with its output dropped; more arguments may follow.
pub fn serve_demo(token: &str, speed: &str, port: u16) -> std::process::Command {
    let mut command = bin();
    command
        .env("APPLIANCE_STATUS_TOKEN", token)
        .args(["serve", "--no-site", "--demo", "--speed", speed, "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    command
}

/// Bytes a command wrote, as text.
pub fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// What a command wrote to standard output.
pub fn stdout(out: &std::process::Output) -> String {
    text(&out.stdout)
}

/// What a command wrote to standard error.
pub fn stderr(out: &std::process::Output) -> String {
    text(&out.stderr)
}

/// A running collector.
pub struct Running {
    pub feed: StatusFeed,
    pub ready: Arc<AtomicBool>,
    pub extra: mpsc::Sender<Change>,
    pub stop: tokio::sync::oneshot::Sender<()>,
    pub task: tokio::task::JoinHandle<()>,
}

/// Starts the collector with short timings, as `serve` does, against `kubeconfig`.
pub async fn start_collector(kubeconfig: &std::path::Path, secret_metadata: bool) -> Running {
    let client = collect::client(Some(kubeconfig)).await.expect("client");
    let catalog = Arc::new(Catalog::embedded());
    let engine = Engine {
        catalog: catalog.clone(),
        // The test checks what is collected, not how long causes must hold.
        thresholds: Thresholds {
            hysteresis: jiff::SignedDuration::from_secs(1),
            ..Thresholds::default()
        },
        source: SourceInfo::live(),
    };
    let options = CollectorOptions {
        secret_metadata,
        debounce: Duration::from_millis(100),
        tick: Duration::from_millis(500),
        ..CollectorOptions::default()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let live = collect::start(client, engine, options, async {
        let _ = stopped.await;
    });
    Running {
        feed: live.feed,
        ready: live.ready,
        extra: live.extra,
        stop,
        task: live.task,
    }
}

pub async fn wait_for(
    feed: &StatusFeed,
    within: Duration,
    what: &str,
    ok: impl Fn(&StatusDocument) -> bool,
) -> StatusDocument {
    let began = Instant::now();
    loop {
        let doc = feed.current().document.clone();
        if ok(&doc) {
            return doc;
        }
        if began.elapsed() > within {
            panic!("{what}: not reached within {within:?}; last document: rollup {:?}, blockers {:#?}, tiers {:?}",
                doc.rollup, doc.top_blockers.iter().map(|b| (&b.component, b.layer, &b.reason)).collect::<Vec<_>>(),
                Tier::ALL.map(|t| (t, doc.tiers.get(t).ready)));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

impl Running {
    /// Waits until every core kind has been listed.
    pub async fn wait_synced(&self, within: Duration) {
        let began = Instant::now();
        while !self.ready.load(Ordering::Relaxed) {
            assert!(began.elapsed() < within, "caches never synced");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops the collector.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap();
    }
}
