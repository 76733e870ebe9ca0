//! `testenv`: a real kube-apiserver for the Playwright suite, driven over a loopback control port.
//!
//! ```text
//! testenv --dir DIR --control-port PORT [--scenario FILE]
//! ```
//! Starts etcd + kube-apiserver with the Flux CRDs, writes `DIR/kubeconfig` (admin), and serves:
//! - `GET /ready`: 200 once the cluster is up;
//! - `POST /step`: applies the next scenario step, answers `{"step": N, "name": ...}`;
//! - `GET /login-target`: a stand-in for Alga's login URL (307 to `/msp/dashboard`).
//!
//! Stops both processes when it receives SIGTERM or SIGINT.

use anyhow::{Context, Result};
use axum::response::IntoResponse;
use std::path::PathBuf;
use std::sync::Arc;
use testenv::{ScenarioLoader, TestCluster};
use tokio::sync::Mutex;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() -> Result<()> {
    let dir = PathBuf::from(arg("--dir").context("--dir DIR is required")?);
    let port: u16 = arg("--control-port")
        .context("--control-port PORT is required")?
        .parse()?;
    let scenario = match arg("--scenario") {
        Some(path) => std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?,
        None => std::fs::read_to_string(
            testenv::project_root().join("server/scenarios/observed-bootstrap.yaml"),
        )?,
    };
    std::fs::create_dir_all(&dir)?;
    let cluster = tokio::task::spawn_blocking(TestCluster::start).await??;
    cluster.install_flux_crds()?;
    let loader = ScenarioLoader::new(cluster.client().await?, &scenario).await?;
    let applied = Arc::new(Mutex::new((loader, 0usize)));
    // Written last: its presence says the cluster is ready for the service.
    std::fs::copy(&cluster.kubeconfig, dir.join("kubeconfig.tmp"))?;
    std::fs::rename(dir.join("kubeconfig.tmp"), dir.join("kubeconfig"))?;

    let app = axum::Router::new()
        .route("/ready", axum::routing::get(|| async { "ready" }))
        .route(
            "/login-target",
            axum::routing::get(|| async { axum::response::Redirect::temporary("/msp/dashboard") }),
        )
        .route(
            "/step",
            axum::routing::post(move || {
                let applied = applied.clone();
                async move {
                    let mut guard = applied.lock().await;
                    let (loader, count) = &mut *guard;
                    match loader.apply_next().await {
                        Ok(Some(name)) => {
                            *count += 1;
                            axum::Json(serde_json::json!({"step": *count, "name": name}))
                                .into_response()
                        }
                        Ok(None) => axum::Json(serde_json::json!({"step": *count, "name": null}))
                            .into_response(),
                        Err(e) => (
                            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                            format!("{e:#}"),
                        )
                            .into_response(),
                    }
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    eprintln!(
        "testenv: kube-apiserver on 127.0.0.1:{}, control on 127.0.0.1:{port}",
        cluster.port
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("signal handler");
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        })
        .await?;
    let _ = std::fs::remove_file(dir.join("kubeconfig"));
    drop(cluster);
    Ok(())
}
