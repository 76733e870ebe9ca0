//! How soon a change in the cluster reaches the document, with the service's own timings (a 30 s
//! hysteresis, the 200 ms debounce): the release binary against a real kube-apiserver, the
//! observed bootstrap applied step by step as real objects, `/api/status` read every 50 ms. For
//! each step: the time from the step's last write to the first document whose verdict (rollup,
//! ready tiers, blockers, failures just seen, operations) differs from before it. A new failure
//! shows at once as not yet confirmed; it counts after the hysteresis. Prints figures;
//! scripts/bench.sh runs it.
//!
//! Needs the release binary (`scripts/build.sh`); `APPLIANCE_STATUS_BIN` overrides its path.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use testenv::{ScenarioLoader, TestCluster};

mod support;

const TOKEN: &str = "bench-token-0123456789abcdef0123456789";

fn status(port: u16) -> Option<serde_json::Value> {
    support::status_json(port, TOKEN)
}

/// What a reader sees of the verdict, without times and ages.
fn verdict(doc: &serde_json::Value) -> String {
    let ids = |key: &str, field: &str| -> BTreeSet<String> {
        doc[key]
            .as_array()
            .into_iter()
            .flatten()
            .map(|b| b[field].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let ready: Vec<bool> = [
        "platform",
        "core",
        "bootstrap",
        "login",
        "background",
        "fullHealth",
    ]
    .iter()
    .map(|t| doc["tiers"][t]["ready"].as_bool().unwrap_or(false))
    .collect();
    format!(
        "{} {:?} {:?} {:?} {:?}",
        doc["rollup"]["state"],
        ready,
        ids("topBlockers", "id"),
        ids("unconfirmed", "id"),
        ids("activeOperations", "target")
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let cluster = TestCluster::start()?;
    cluster.install_flux_crds()?;
    let (mut child, port) = support::serve(
        &cluster.kubeconfig,
        TOKEN,
        &["--no-outbound-checks", "--no-release-check"],
    )?;
    let began = Instant::now();
    while status(port).is_none_or(|d| d["source"]["lastSync"].is_null()) {
        anyhow::ensure!(
            began.elapsed() < Duration::from_secs(60),
            "the service never synced"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let client = cluster.client().await?;
    let mut loader =
        ScenarioLoader::new(client, appliance_status::scenario::OBSERVED_BOOTSTRAP).await?;
    println!("step | document changed after");
    println!("---|---");
    let mut worst = Duration::ZERO;
    let mut unchanged = 0;
    let mut before = status(port).map(|d| verdict(&d)).unwrap_or_default();
    while let Some(name) = loader.apply_next().await? {
        let applied = Instant::now();
        let mut changed = None;
        while applied.elapsed() < Duration::from_secs(5) {
            if let Some(now) = status(port).map(|d| verdict(&d)) {
                if now != before {
                    changed = Some(applied.elapsed());
                    before = now;
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        match changed {
            Some(took) => {
                worst = worst.max(took);
                println!("{name} | {} ms", took.as_millis());
            }
            None => {
                unchanged += 1;
                println!("{name} | no change within 5 s");
            }
        }
    }
    println!(
        "\nworst: {} ms; steps without a visible change: {unchanged}",
        worst.as_millis()
    );
    let _ = child.kill();
    let _ = child.wait();
    Ok(())
}
