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
//!
//! ```text
//! testenv --smoke --dir DIR --control-port PORT
//! ```
//! The smoke run (`testenv::smoke`): a real control plane, kwok, git, Flux and the helm-controller
//! stand-in, up to but not including the appliance's bootstrap; serves:
//! - `GET /ready`: 200 once everything runs (`DIR/admin-kubeconfig` is then written);
//! - `POST /bootstrap`: applies the bootstrap's objects; the timeline starts;
//! - `GET /service?port=P`: how to start appliance-status as its chart does (404 until the chart
//!   is installed): `{"args": [...], "token": ...}`;
//! - `GET /timeline`: `{"what": seconds after the bootstrap}` (releases, the bootstrap Job, ...);
//! - `GET /login`: alga-core's login URL, which answers (307 to `/msp/dashboard`) only while the
//!   alga-core Deployment has a ready pod, and 503 before, like the node's port 3000.

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
    if std::env::args().any(|a| a == "--smoke") {
        return smoke_main().await;
    }
    let dir = PathBuf::from(arg("--dir").context("--dir DIR is required")?);
    let port: u16 = arg("--control-port")
        .context("--control-port PORT is required")?
        .parse()?;
    let scenario = match arg("--scenario") {
        Some(path) => std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?,
        None => {
            let path = testenv::project_root().join("engine/scenarios/observed-bootstrap.yaml");
            std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?
        }
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
        .with_graceful_shutdown(terminated())
        .await?;
    let _ = std::fs::remove_file(dir.join("kubeconfig"));
    drop(cluster);
    Ok(())
}

async fn terminated() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("signal handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

async fn smoke_main() -> Result<()> {
    use axum::extract::{Query, State};
    use axum::http::StatusCode;
    use testenv::smoke::Smoke;
    let dir = PathBuf::from(arg("--dir").context("--dir DIR is required")?);
    let port: u16 = arg("--control-port")
        .context("--control-port PORT is required")?
        .parse()?;
    // A run starts from an empty directory (the harness owns it).
    let _ = std::fs::remove_dir_all(&dir);
    let smoke = Smoke::start(&dir).await?;
    let smoke = Arc::new(Mutex::new(smoke));
    // Observes the cluster for the timeline; stops the run if a component died.
    let observer = {
        let smoke = smoke.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                let mut guard = smoke.lock().await;
                if let Err(e) = tokio::task::block_in_place(|| guard.observe()) {
                    // A component died: the run is void; stop everything rather than serve on.
                    eprintln!("testenv smoke: {e:#}");
                    guard.cluster.stop_all();
                    std::process::exit(1);
                }
            }
        })
    };
    type Shared = Arc<Mutex<Smoke>>;
    let app = axum::Router::new()
        .route("/ready", axum::routing::get(|| async { "ready" }))
        .route(
            "/bootstrap",
            axum::routing::post(|State(s): State<Shared>| async move {
                let mut guard = s.lock().await;
                match tokio::task::block_in_place(|| guard.bootstrap()) {
                    Ok(()) => (StatusCode::OK, "applied".to_string()),
                    Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}")),
                }
            }),
        )
        .route(
            "/timeline",
            axum::routing::get(|State(s): State<Shared>| async move {
                axum::Json(s.lock().await.timeline.json())
            }),
        )
        .route(
            "/service",
            axum::routing::get(
                move |State(s): State<Shared>,
                      Query(q): Query<std::collections::HashMap<String, String>>| async move {
                    let Some(p) = q.get("port").and_then(|p| p.parse::<u16>().ok()) else {
                        return (StatusCode::BAD_REQUEST, "?port=P is required").into_response();
                    };
                    let login = format!("http://127.0.0.1:{port}/login");
                    let guard = s.lock().await;
                    match tokio::task::block_in_place(|| guard.service(p, &login)) {
                        Ok(Some(v)) => axum::Json(v).into_response(),
                        Ok(None) => (StatusCode::NOT_FOUND, "not installed yet").into_response(),
                        Err(e) => {
                            (StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}")).into_response()
                        }
                    }
                },
            ),
        )
        .route(
            "/login",
            axum::routing::get(|State(s): State<Shared>| async move {
                let guard = s.lock().await;
                if tokio::task::block_in_place(|| guard.login_serving()) {
                    axum::response::Redirect::temporary("/msp/dashboard").into_response()
                } else {
                    (StatusCode::SERVICE_UNAVAILABLE, "alga-core is not running").into_response()
                }
            })
            .head(|State(s): State<Shared>| async move {
                let guard = s.lock().await;
                if tokio::task::block_in_place(|| guard.login_serving()) {
                    axum::response::Redirect::temporary("/msp/dashboard").into_response()
                } else {
                    StatusCode::SERVICE_UNAVAILABLE.into_response()
                }
            }),
        )
        .route(
            "/msp/dashboard",
            axum::routing::get(|| async { "alga-core stand-in: dashboard" }),
        )
        .with_state(smoke.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    eprintln!("testenv smoke: control on 127.0.0.1:{port}");
    axum::serve(listener, app)
        .with_graceful_shutdown(terminated())
        .await?;
    observer.abort();
    drop(smoke);
    Ok(())
}
