//! How good the login estimate is: the observed bootstrap replayed every 30 seconds as the live
//! loop assesses it (memory kept between assessments), each estimate set against the time login
//! really took. Prints one row per moment the estimate speaks and a summary.
//!
//! Run: `cargo bench -p server --bench estimate` (scripts/bench.sh; figures in docs/BENCHMARKS.md).

use app::status::{RollupState, Tier};
use appliance_status::assess::{assess, Inputs, SourceInfo, Thresholds};
use appliance_status::catalog::Catalog;
use appliance_status::scenario::{Replay, Scenario};
use jiff::SignedDuration;

fn main() {
    let scenario = Scenario::observed_bootstrap();
    let catalog = Catalog::embedded();
    let thresholds = Thresholds::default();
    let source = SourceInfo::scenario("estimate bench");
    let mut replay = Replay::new(scenario.clone());
    let mut rows = Vec::new();
    let mut login_at = None;
    let (mut failed, mut installing, mut silent) = (0, 0, 0);
    let mut t = SignedDuration::ZERO;
    while t <= scenario.duration() {
        replay.advance_to(t);
        let now = scenario.start + t;
        let a = assess(
            &Inputs {
                snapshot: &replay.snapshot,
                catalog: &catalog,
                probes: &replay.probes,
                thresholds: &thresholds,
                source: &source,
            },
            now,
        );
        replay.snapshot.memory.first_seen = a.first_seen;
        replay.snapshot.memory.causes = a.causes;
        replay.snapshot.memory.bootstrap_volume = a.bootstrap_volume;
        let doc = a.document;
        if doc.tiers.login.ready && login_at.is_none() {
            login_at = doc.timeline.ready_after(Tier::Login);
        }
        if !doc.tiers.login.ready {
            match doc.rollup.state {
                RollupState::FailedActionRequired => failed += 1,
                _ => installing += 1,
            }
            match doc.estimate {
                Some(e) => {
                    rows.push((t.as_secs() as u64, e.low_seconds, e.high_seconds, e.message))
                }
                None if doc.rollup.state == RollupState::Installing => silent += 1,
                None => {}
            }
        }
        t += SignedDuration::from_secs(30);
    }
    let login_at = login_at.expect("login becomes ready in the observed bootstrap");
    println!(
        "observed bootstrap, one assessment every 30 s: login ready {} s after the start",
        login_at
    );
    println!(
        "before login: {failed} moments failed / action required (no estimate by design), {installing} installing, of which {silent} without a basis"
    );
    println!(
        "{:>6} {:>7} {:>7} {:>7} {:>8}  message",
        "at", "low", "high", "actual", "error"
    );
    let mut abs = 0i64;
    let mut inside = 0;
    for (at, low, high, message) in &rows {
        let actual = login_at.saturating_sub(*at) as i64;
        let mid = (*low + *high) as i64 / 2;
        let error = mid - actual;
        abs += error.abs();
        inside += usize::from((*low as i64..=*high as i64).contains(&actual));
        println!("{at:>5}s {low:>6}s {high:>6}s {actual:>6}s {error:>+7}s  {message}");
    }
    if !rows.is_empty() {
        println!(
            "estimates: {}; the actual time within the range: {inside}; mean absolute error of the midpoint: {} s",
            rows.len(),
            abs / rows.len() as i64
        );
    }
}
