//! The `appliance-status` binary: parses the command line, runs the admin commands
//! (`appliance_status::admin`) or wires and runs the service (`serve`).

use anyhow::Context;
use app::status::SourceMode;
use appliance_status::admin;
use appliance_status::assess::{SourceInfo, Thresholds};
use appliance_status::auth::{
    token_source, Access, BoundedStore, Clock, SessionPolicy, TokenSource,
};
use appliance_status::cli::{self, Cli, Command, LogFormat, ServeArgs};
use appliance_status::collect::{self, CollectorOptions};
use appliance_status::exit;
use appliance_status::prober::{self, Dsn, ProberConfig};
use appliance_status::publish::{self, Engine, Publisher};
use appliance_status::scenario::Scenario;
use appliance_status::smoke::SmokeConfig;
use appliance_status::term;
use appliance_status::web::{self, AppState};
use clap::Parser;
use leptos::config::LeptosOptions;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Assess(args) => ExitCode::from(admin::assess(&args)),
        Command::Token { action } => block_on(admin::token(action)),
        Command::Status(args) => block_on(admin::status(args)),
        Command::SupportBundle(args) => block_on(admin::support_bundle(args)),
        Command::ValidateRelease(args) => block_on(admin::validate_release(args)),
        Command::Wait(args) => block_on(admin::wait(args)),
        Command::SmokeWrite { dir } => match appliance_status::smoke::write_and_read(&dir) {
            Ok(()) => {
                println!("wrote and read back a file in {}", dir.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: cannot write to {}: {e}", dir.display());
                ExitCode::from(1)
            }
        },
        Command::Serve(args) => {
            init_tracing(args.log_format);
            let runtime = match tokio::runtime::Runtime::new() {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: cannot start the runtime: {e}");
                    return ExitCode::from(1);
                }
            };
            let json_logs = args.log_format == LogFormat::Json;
            match runtime.block_on(serve(*args)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    // once: as a log record where logs are collected, else as a line for people
                    if json_logs {
                        tracing::error!("{e:#}");
                    } else {
                        eprintln!("error: {}", term::lines(&format!("{e:#}")));
                    }
                    ExitCode::from(1)
                }
            }
        }
    }
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Runs an admin command on a small runtime; its result is the exit code.
fn block_on(command: impl std::future::Future<Output = u8>) -> ExitCode {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => ExitCode::from(rt.block_on(command)),
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            ExitCode::from(exit::INTERNAL)
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    if !args.no_ui {
        web::check_site(&args.site_root, "appliance-status").map_err(anyhow::Error::msg)?;
    }
    let catalog = Arc::new(cli::load_catalog(args.catalog.as_deref())?);
    let tokens = match &args.token_file {
        Some(path) => {
            let tokens = TokenSource::from_file(path.clone())
                .with_context(|| format!("reading the token file {}", path.display()))?;
            anyhow::ensure!(
                tokens.is_set(),
                "the token file {} is empty",
                path.display()
            );
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the token file {}", path.display()))?;
            token_source::strong_enough(&text)
                .map_err(|e| anyhow::anyhow!("the token file {}: {e}", path.display()))?;
            tokio::spawn(tokens.clone().watch(std::time::Duration::from_secs(2)));
            tokens
        }
        None => {
            let token = std::env::var("APPLIANCE_STATUS_TOKEN").ok();
            if let Some(t) = token.as_deref().filter(|t| !t.trim().is_empty()) {
                token_source::strong_enough(t)
                    .map_err(|e| anyhow::anyhow!("APPLIANCE_STATUS_TOKEN: {e}"))?;
            }
            TokenSource::fixed(token.as_deref())
        }
    };
    let thresholds: Thresholds = args.thresholds.thresholds(Thresholds::default().hysteresis);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };

    let (feed, source_task, ready, bundles) = match &args.demo {
        Some(demo) => {
            let scenario = match demo {
                None => Scenario::observed_bootstrap(),
                Some(path) => Scenario::from_file(path)?,
            };
            if !tokens.is_set() {
                tracing::warn!("no token configured (APPLIANCE_STATUS_TOKEN or --token-file): the demo is open to anyone who can reach it");
            }
            let engine = Engine {
                catalog,
                thresholds,
                source: SourceInfo {
                    mode: SourceMode::Scenario,
                    name: Some(scenario.metadata.name.clone()),
                },
            };
            tracing::info!(scenario = %scenario.metadata.name, speed = args.speed, "demo mode: replaying a scenario");
            let mut runner = publish::demo(engine, scenario, args.speed, args.repeat);
            let (publisher, feed) = Publisher::new(runner.first_document());
            let ready = Arc::new(AtomicBool::new(true));
            let (bundles, queue) = appliance_status::bundle::desk();
            let task = tokio::spawn(runner.run(publisher, queue, stopped()));
            (feed, task, ready, bundles)
        }
        None => {
            if !tokens.is_set() {
                anyhow::bail!("a token is required to serve a live cluster: set APPLIANCE_STATUS_TOKEN or --token-file");
            }
            let client = collect::client(args.kubeconfig.as_deref())
                .await
                .context("connecting to Kubernetes")?;
            let engine = Engine {
                catalog: catalog.clone(),
                thresholds,
                source: SourceInfo {
                    mode: SourceMode::Live,
                    name: None,
                },
            };
            let options = CollectorOptions {
                secret_metadata: args.secret_metadata,
                max_events: args.max_events,
                log_tails: !args.no_log_tails,
                ..CollectorOptions::default()
            };
            let live = collect::start(client.clone(), engine, options, stopped());
            let (feed, extra_tx) = (live.feed.clone(), live.extra.clone());
            let seed_dsn = match (
                &args.seed_dsn_file,
                std::env::var("APPLIANCE_STATUS_SEED_DSN").ok(),
            ) {
                (Some(path), _) => Some(Dsn(std::fs::read_to_string(path)
                    .with_context(|| format!("reading the seed DSN file {}", path.display()))?
                    .trim()
                    .to_string())),
                (None, env) => env.map(Dsn),
            };
            let outbound = |hosts: &[String]| match args.no_outbound_checks {
                true => Vec::new(),
                false => hosts.to_vec(),
            };
            let prober_config = ProberConfig {
                login_url: args.login_url.clone(),
                insecure_tls: args.insecure_login_tls,
                dns_hosts: outbound(&args.dns_checks),
                https_hosts: outbound(&args.https_checks),
                seed_dsn,
                interval: std::time::Duration::from_secs(
                    args.probe_interval.as_secs().max(1) as u64
                ),
                ..ProberConfig::default()
            };
            tokio::spawn(prober::run(prober_config, feed.clone(), extra_tx.clone()));
            // The selected release's images against their registry, in the background.
            let off = match (args.no_release_check, args.no_outbound_checks) {
                (true, _) => Some("--no-release-check"),
                (_, true) => Some("--no-outbound-checks"),
                _ => None,
            };
            match off {
                Some(flag) => {
                    let note = format!(
                        "off ({flag}): the release's images are not checked against their registry"
                    );
                    let _ = extra_tx
                        .send(collect::Change::ReleaseCheck(
                            appliance_status::release::ReleaseCheck {
                                note: Some(note),
                                images: Vec::new(),
                            },
                        ))
                        .await;
                }
                None => {
                    let registry = args
                        .registry
                        .options()
                        .and_then(appliance_status::registry::Registry::new)
                        .map_err(|e| anyhow::anyhow!("release image check: {e}"))?;
                    tokio::spawn(appliance_status::release::run_checker(
                        registry,
                        live.release_images.clone(),
                        appliance_status::release::Cadence::every(std::time::Duration::from_secs(
                            args.release_check_interval.as_secs().max(1) as u64,
                        )),
                        extra_tx.clone(),
                    ));
                }
            }
            if args.storage_smoke {
                let mut smoke =
                    SmokeConfig::new(&args.storage_smoke_namespace, &args.storage_smoke_image);
                smoke.storage_class = args.storage_smoke_class.clone();
                smoke.interval = std::time::Duration::from_secs(
                    args.storage_smoke_interval.as_secs().max(60) as u64,
                );
                tracing::info!(namespace = %smoke.namespace, "storage smoke probe enabled");
                tokio::spawn(appliance_status::smoke::run(
                    client.clone(),
                    smoke,
                    extra_tx.clone(),
                ));
            }
            tracing::info!("watching the cluster");
            (feed, live.task, live.ready, live.bundles)
        }
    };

    let leptos_options = LeptosOptions::builder()
        .output_name("appliance-status")
        .site_root(args.site_root.display().to_string())
        .site_pkg_dir("pkg")
        .site_addr(args.listen)
        .build();
    let to_std =
        |d: jiff::SignedDuration| std::time::Duration::from_secs(d.as_secs().max(1) as u64);
    let access = Access {
        open: !tokens.is_set(),
        tokens,
        limiter: Arc::default(),
        policy: SessionPolicy {
            idle: to_std(args.session_idle),
            absolute: to_std(args.session_absolute),
            tls: args.tls || args.tls_cert.is_some(),
        },
        clock: Clock::default(),
        metrics_open: args.metrics_open,
    };
    let state = AppState {
        leptos_options,
        feed,
        ready,
        bundles,
        sessions: BoundedStore::new(access.policy.idle),
        access,
        allowed_hosts: Arc::new(args.allowed_hosts.clone()),
    };
    let app = web::router(state);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let limits = args.connections.limits();
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(
            appliance_status::tls::acceptor(cert, key).map_err(|e| anyhow::anyhow!("TLS: {e}"))?,
        ),
        _ => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let open_files = appliance_status::listener::raise_open_files_limit();
    tracing::info!(
        max_connections = limits.max_connections,
        per_client = limits.max_per_client,
        open_files,
        "listening on {scheme}://{}",
        listener.local_addr()?
    );
    // The listener sets TCP_NODELAY on every connection: the page is streamed in several writes,
    // and Nagle's algorithm with the client's delayed ACK held a response up to 40 ms.
    let serving = tokio::spawn(appliance_status::listener::serve(
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
    let _ = source_task.await;
    tracing::info!("stopped");
    Ok(())
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
