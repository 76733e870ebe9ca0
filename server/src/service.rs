//! The service's wiring, step by step: the token, the source (the embedded demo or the live
//! cluster with its prober, release checker and storage smoke), the web state, the listener; then
//! serving until SIGTERM, and the drain. `main.rs` only parses and dispatches.

use crate::assess::{SourceInfo, Thresholds};
use crate::auth::{token_source, Access, BoundedStore, Clock, SessionPolicy, TokenSource};
use crate::change::Change;
use crate::cli::{self, ServeArgs};
use crate::collect::{self, CollectorOptions};
use crate::prober::{self, Dsn, ProberConfig};
use crate::publish::{self, Engine, Publisher};
use crate::scenario::Scenario;
use crate::smoke::SmokeConfig;
use crate::web::{self, AppState};
use crate::{Error, Result};
use leptos::config::LeptosOptions;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

/// What a source hands the web side: the published feed, its task, readiness, the bundle desk.
struct Source {
    feed: app::api::ssr::StatusFeed,
    task: tokio::task::JoinHandle<()>,
    ready: Arc<AtomicBool>,
    bundles: crate::bundle::Desk,
}

fn secs(d: jiff::SignedDuration, at_least: u64) -> Duration {
    Duration::from_secs((d.as_secs().max(0) as u64).max(at_least))
}

/// Serves until SIGTERM (or Ctrl-C), then drains.
pub async fn serve(args: ServeArgs) -> Result<()> {
    if !args.no_site {
        web::check_site(&args.site_root, "appliance-status")?;
    }
    let tokens = tokens(&args)?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let source = match &args.demo {
        Some(demo) => demo_source(&args, demo.as_deref(), &tokens, stopped())?,
        None => {
            if !tokens.is_set() {
                return Err(Error::NoToken);
            }
            live_source(&args, stopped()).await?
        }
    };
    let app = web::router(web_state(&args, tokens, &source));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|source| Error::Listen {
            address: args.listen,
            source,
        })?;
    let limits = args.connections.limits();
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            Some(crate::tls::acceptor(cert, key).map_err(|e| Error::Tls(Box::new(e)))?)
        }
        _ => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let open_files = crate::listener::raise_open_files_limit();
    tracing::info!(
        max_connections = limits.max_connections,
        per_client = limits.max_per_client,
        open_files,
        "listening on {scheme}://{}",
        listener.local_addr()?
    );
    // The listener sets TCP_NODELAY on every connection: the page is streamed in several writes,
    // and Nagle's algorithm with the client's delayed ACK held a response up to 40 ms.
    let serving = tokio::spawn(crate::listener::serve(
        listener,
        app,
        limits,
        Arc::default(),
        stop_tx.subscribe(),
        tls,
    ));
    shutdown_signal().await;
    let _ = stop_tx.send(true);
    serving.await??;
    let _ = source.task.await;
    tracing::info!("stopped");
    Ok(())
}

/// The token: a file (re-read when it changes) or the environment; a short one refused.
fn tokens(args: &ServeArgs) -> Result<Arc<TokenSource>> {
    Ok(match &args.token_file {
        Some(path) => {
            let reading = |source| Error::ReadTokenFile {
                path: path.clone(),
                source,
            };
            let tokens = TokenSource::from_file(path.clone()).map_err(reading)?;
            if !tokens.is_set() {
                return Err(Error::EmptyTokenFile(path.clone()));
            }
            let text = std::fs::read_to_string(path).map_err(reading)?;
            token_source::strong_enough(&text).map_err(|e| Error::TokenRefused {
                origin: format!("the token file {}", path.display()),
                error: Box::new(e),
            })?;
            tokio::spawn(tokens.clone().watch(Duration::from_secs(2)));
            tokens
        }
        None => {
            let token = std::env::var("APPLIANCE_STATUS_TOKEN").ok();
            if let Some(t) = token.as_deref().filter(|t| !t.trim().is_empty()) {
                token_source::strong_enough(t).map_err(|e| Error::TokenRefused {
                    origin: "APPLIANCE_STATUS_TOKEN".into(),
                    error: Box::new(e),
                })?;
            }
            TokenSource::fixed(token.as_deref())
        }
    })
}

/// The catalog `serve` assesses with: `--catalog` or the embedded one, under `--site-id`.
fn catalog(args: &ServeArgs) -> Result<crate::catalog::Catalog> {
    let mut catalog = cli::load_catalog(args.catalog.as_deref())?;
    if let Some(site) = &args.site_id {
        catalog.site.site_id.clone_from(site);
    }
    Ok(catalog)
}

/// A scenario replayed in compressed time (the embedded observed bootstrap without FILE).
fn demo_source(
    args: &ServeArgs,
    file: Option<&std::path::Path>,
    tokens: &Arc<TokenSource>,
    stopped: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<Source> {
    let catalog = Arc::new(catalog(args)?);
    let scenario = match file {
        None => Scenario::observed_bootstrap(),
        Some(path) => Scenario::from_file(path)?,
    };
    if !tokens.is_set() {
        tracing::warn!("no token configured (APPLIANCE_STATUS_TOKEN or --token-file): the demo is open to anyone who can reach it");
    }
    let engine = Engine {
        catalog,
        thresholds: args.thresholds.thresholds(Thresholds::default().hysteresis),
        source: SourceInfo::scenario(scenario.metadata.name.clone()),
    };
    tracing::info!(scenario = %scenario.metadata.name, speed = args.speed, "demo mode: replaying a scenario");
    let mut runner = publish::demo(engine, scenario, args.speed, args.repeat);
    let (publisher, feed) = Publisher::new(runner.first_document());
    let (bundles, queue) = crate::bundle::desk();
    let task = tokio::spawn(runner.run(publisher, queue, stopped));
    Ok(Source {
        feed,
        task,
        ready: Arc::new(AtomicBool::new(true)),
        bundles,
    })
}

/// The live cluster: the collector, and beside it the prober, the release checker and the
/// opt-in storage smoke, all sending their results as changes.
async fn live_source(
    args: &ServeArgs,
    stopped: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<Source> {
    let catalog = Arc::new(catalog(args)?);
    let client = collect::client(args.kubeconfig.as_deref())
        .await
        .map_err(|e| Error::Connecting(Box::new(e)))?;
    let engine = Engine {
        catalog,
        thresholds: args.thresholds.thresholds(Thresholds::default().hysteresis),
        source: SourceInfo::live(),
    };
    let options = CollectorOptions {
        secret_metadata: args.secret_metadata,
        max_events: args.max_events,
        log_tails: !args.no_log_tails,
        ..CollectorOptions::default()
    };
    let live = collect::start(client.clone(), engine, options, stopped);
    let changes = live.extra.clone();
    tokio::spawn(prober::run(
        prober_config(args)?,
        live.feed.clone(),
        changes.clone(),
    ));
    release_checker(args, &live, changes.clone()).await?;
    if args.storage_smoke {
        let mut smoke = SmokeConfig::new(&args.storage_smoke_namespace, &args.storage_smoke_image);
        smoke.storage_class = args.storage_smoke_class.clone();
        smoke.interval = secs(args.storage_smoke_interval, 60);
        tracing::info!(namespace = %smoke.namespace, "storage smoke probe enabled");
        tokio::spawn(crate::smoke::run(client, smoke, changes));
    }
    tracing::info!("watching the cluster");
    Ok(Source {
        feed: live.feed,
        task: live.task,
        ready: live.ready,
        bundles: live.bundles,
    })
}

/// The probes' settings: the login URL, outside hosts (none with --no-outbound-checks), the
/// seed query's connection string.
fn prober_config(args: &ServeArgs) -> Result<ProberConfig> {
    let seed_dsn = match (
        &args.seed_dsn_file,
        std::env::var("APPLIANCE_STATUS_SEED_DSN").ok(),
    ) {
        (Some(path), _) => Some(Dsn(std::fs::read_to_string(path)
            .map_err(|source| Error::ReadSeedDsn {
                path: path.clone(),
                source,
            })?
            .trim()
            .to_string())),
        (None, env) => env.map(Dsn),
    };
    let outbound = |hosts: &[String]| match args.no_outbound_checks {
        true => Vec::new(),
        false => hosts.to_vec(),
    };
    Ok(ProberConfig {
        login_url: args.login_url.clone(),
        insecure_tls: args.insecure_login_tls,
        dns_hosts: outbound(&args.dns_checks),
        https_hosts: outbound(&args.https_checks),
        seed_dsn,
        interval: secs(args.probe_interval, 1),
        ..ProberConfig::default()
    })
}

/// The selected release's images against their registry, in the background; or a note that the
/// check is off.
async fn release_checker(
    args: &ServeArgs,
    live: &collect::Live,
    changes: tokio::sync::mpsc::Sender<Change>,
) -> Result<()> {
    let off = match (args.no_release_check, args.no_outbound_checks) {
        (true, _) => Some("--no-release-check"),
        (_, true) => Some("--no-outbound-checks"),
        _ => None,
    };
    if let Some(flag) = off {
        let note =
            format!("off ({flag}): the release's images are not checked against their registry");
        let _ = changes
            .send(Change::ReleaseCheck(crate::release::ReleaseCheck {
                note: Some(note),
                images: Vec::new(),
            }))
            .await;
        return Ok(());
    }
    let registry = args
        .registry
        .options()
        .and_then(crate::registry::Registry::new)
        .map_err(|e| Error::ReleaseCheck(Box::new(e)))?;
    tokio::spawn(crate::release::run_checker(
        registry,
        live.release_images.clone(),
        crate::release::Cadence::every(secs(args.release_check_interval, 1)),
        changes,
    ));
    Ok(())
}

/// What every handler reads: the site, the feed, the doors.
fn web_state(args: &ServeArgs, tokens: Arc<TokenSource>, source: &Source) -> AppState {
    let leptos_options = LeptosOptions::builder()
        .output_name("appliance-status")
        .site_root(args.site_root.display().to_string())
        .site_pkg_dir("pkg")
        .site_addr(args.listen)
        .build();
    let access = Access {
        open: !tokens.is_set(),
        tokens,
        limiter: Arc::default(),
        policy: SessionPolicy {
            idle: secs(args.session_idle, 1),
            absolute: secs(args.session_absolute, 1),
            tls: args.tls || args.tls_cert.is_some(),
        },
        clock: Clock::default(),
        metrics_open: args.metrics_open,
    };
    AppState {
        leptos_options,
        feed: source.feed.clone(),
        ready: source.ready.clone(),
        bundles: source.bundles.clone(),
        sessions: BoundedStore::new(access.policy.idle),
        access,
        allowed_hosts: Arc::new(args.allowed_hosts.clone()),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down");
}
