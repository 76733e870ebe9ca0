//! The event store's worst case: the count bound (`--max-events`, 50,000) full of events whose
//! messages are as long as the service keeps (4 KiB), applied to a snapshot as the collector does
//! and bounded by it. Prints how many events stay, what the byte budget counts, and this process's
//! resident memory before and after. scripts/bench.sh runs it; docs/BENCHMARKS.md has the figures.

use appliance_status::collect::DEFAULT_MAX_EVENTS;
use appliance_status::objects::{parse_documents, MAX_EVENT_BYTES};
use appliance_status::snapshot::{Snapshot, MAX_MESSAGE_BYTES};

mod support;

fn main() -> anyhow::Result<()> {
    let pid = std::process::id();
    let before = support::memory_kib(pid, "VmRSS:");
    let long = "m".repeat(MAX_MESSAGE_BYTES);
    let mut snapshot = Snapshot::default();
    // In batches of 1,000, bounded after each as the state task bounds after each change.
    for batch in 0..DEFAULT_MAX_EVENTS / 1000 {
        let mut text = String::new();
        for i in 0..1000 {
            let n = batch * 1000 + i;
            text.push_str(&format!(
                "---\napiVersion: v1\nkind: Event\nmetadata: {{name: pod-{n}.17a2b3c4d5e6f7a8, namespace: msp}}\ninvolvedObject: {{kind: Pod, namespace: msp, name: pod-{n}}}\ntype: Warning\nreason: Failed\nmessage: {long}\nlastTimestamp: \"2026-04-30T{:02}:{:02}:{:02}Z\"\n",
                n / 3600 % 24,
                n / 60 % 60,
                n % 60
            ));
        }
        for o in parse_documents(&text, "bench")?.objects {
            snapshot.apply(o);
        }
        snapshot.bound_events(DEFAULT_MAX_EVENTS);
    }
    let kept = snapshot.events.len();
    let counted: usize = snapshot.events.values().map(|e| e.footprint()).sum();
    let after = support::memory_kib(pid, "VmRSS:");
    let peak = support::memory_kib(pid, "VmHWM:");
    println!(
        "events: {} offered with {} B messages, {kept} kept; budget {} MiB, counted {:.1} MiB",
        DEFAULT_MAX_EVENTS,
        MAX_MESSAGE_BYTES,
        MAX_EVENT_BYTES >> 20,
        counted as f64 / (1 << 20) as f64
    );
    println!(
        "resident: {:.1} MiB before, {:.1} MiB after (peak {:.1} MiB, parsing included)",
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        peak as f64 / 1024.0
    );
    Ok(())
}
