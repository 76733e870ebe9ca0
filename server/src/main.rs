//! The `appliance-status` binary: parses the command line and runs `serve` or `assess`.

use anyhow::Context;
use app::status::SourceMode;
use appliance_status::assess::{SourceInfo, Thresholds};
use appliance_status::cli::{self, Cli, Command, LogFormat, OutputFormat, ServeArgs};
use appliance_status::publish::{self, Engine, Publisher};
use appliance_status::scenario::Scenario;
use appliance_status::web::{self, AppState, Token};
use clap::Parser;
use leptos::config::LeptosOptions;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Assess(args) => match cli::run_assess(&args) {
            Ok((doc, warnings)) => {
                for w in warnings {
                    eprintln!("warning: {w}");
                }
                match args.format {
                    OutputFormat::Json => match serde_json::to_string_pretty(&doc) {
                        Ok(json) => println!("{json}"),
                        Err(e) => {
                            eprintln!("error: cannot serialise the document: {e}");
                            return ExitCode::from(1);
                        }
                    },
                    OutputFormat::Text => print!("{}", cli::render_text(&doc)),
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
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
            match runtime.block_on(serve(args)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e:#}");
                    eprintln!("error: {e:#}");
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

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let catalog = Arc::new(cli::load_catalog(args.catalog.as_deref())?);
    let token = match &args.token_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the token file {}", path.display()))?;
            Some(
                Token::new(&text)
                    .with_context(|| format!("the token file {} is empty", path.display()))?,
            )
        }
        None => std::env::var("APPLIANCE_STATUS_TOKEN")
            .ok()
            .and_then(|t| Token::new(&t)),
    };
    let thresholds: Thresholds = args.thresholds.thresholds();
    let Some(demo) = &args.demo else {
        anyhow::bail!(
            "live cluster collection is not built yet (issue 4): run with --demo [FILE] for now"
        );
    };
    let scenario = match demo {
        None => Scenario::observed_bootstrap(),
        Some(path) => Scenario::from_file(path)?,
    };
    if token.is_none() {
        tracing::warn!("no token configured (APPLIANCE_STATUS_TOKEN or --token-file): /api/status is open in demo mode");
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
    let (publisher, feed): (Publisher, _) = Publisher::new(runner.first_document());
    let ready = Arc::new(AtomicBool::new(true));

    let leptos_options = LeptosOptions::builder()
        .output_name("appliance-status")
        .site_root(args.site_root.display().to_string())
        .site_pkg_dir("pkg")
        .site_addr(args.listen)
        .build();
    let state = AppState {
        leptos_options,
        feed,
        ready,
        token,
    };
    let app = web::router(state);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    tracing::info!("listening on http://{}", listener.local_addr()?);

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut demo_stop = stop_rx.clone();
    let demo_task = tokio::spawn(runner.run(publisher, async move {
        let _ = demo_stop.wait_for(|s| *s).await;
    }));
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            let _ = stop_tx.send(true);
        })
        .await?;
    let _ = demo_task.await;
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
