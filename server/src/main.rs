//! The `appliance-status` binary: parses the command line and runs `serve` or `assess`.

use anyhow::Context;
use app::status::SourceMode;
use appliance_status::assess::{SourceInfo, Thresholds};
use appliance_status::auth::{
    token_source, Access, BoundedStore, Clock, SessionPolicy, TokenSource,
};
use appliance_status::cli::{
    self, Cli, Command, FollowArgs, LogFormat, OutputFormat, ServeArgs, StatusArgs, TokenCommand,
    WaitArgs,
};
use appliance_status::collect::{self, CollectorOptions};
use appliance_status::follow::{self, exit, Output};
use appliance_status::prober::{self, Dsn, ProberConfig};
use appliance_status::publish::{self, Engine, Publisher};
use appliance_status::scenario::Scenario;
use appliance_status::smoke::SmokeConfig;
use appliance_status::term;
use appliance_status::token;
use appliance_status::web::{self, AppState};
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
                    eprintln!("warning: {}", term::lines(&w.to_string()));
                }
                match args.format {
                    OutputFormat::Json => match serde_json::to_string_pretty(&doc) {
                        Ok(json) => println!("{json}"),
                        Err(e) => {
                            eprintln!("error: cannot serialise the document: {e}");
                            return ExitCode::from(1);
                        }
                    },
                    OutputFormat::Text => print!("{}", cli::render_text(&term::document(&doc))),
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {}", term::lines(&e.to_string()));
                ExitCode::from(2)
            }
        },
        Command::Token { action } => block_on(token(action)),
        Command::Status(args) => block_on(status(args)),
        Command::SupportBundle(args) => block_on(support_bundle(args)),
        Command::ValidateRelease(args) => block_on(validate_release(args)),
        Command::Wait(args) => block_on(wait(args)),
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
            match runtime.block_on(serve(*args)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e:#}");
                    eprintln!("error: {}", term::lines(&format!("{e:#}")));
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

fn home() -> std::path::PathBuf {
    std::env::var_os("HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from("."))
}

/// `token ensure|rotate`: one clear line on error, never the token.
async fn token(action: TokenCommand) -> u8 {
    let (args, rotate) = match &action {
        TokenCommand::Ensure(a) => (a, false),
        TokenCommand::Rotate(a) => (a, true),
    };
    let client = match follow::kube_client(args.kubeconfig.as_deref()).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {}", term::lines(&e.to_string()));
            return e.exit_code();
        }
    };
    match token::issue(
        &client,
        &home(),
        &args.site_id,
        args.node_ip.as_deref(),
        rotate,
        args.tls,
    )
    .await
    {
        Ok(issued) => {
            match args.output {
                Output::Text => print!("{}", issued.block()),
                Output::Json => println!("{}", issued.json()),
            }
            if rotate && args.tls {
                // The service looks at its certificate files every few seconds (`tls::RELOAD_EVERY`);
                // the kubelet updates the Secret's volume within its sync period.
                eprintln!("note: the status service serves the new certificate within about a minute, once the kubelet has updated its Secret volume; no restart is needed");
            }
            exit::REACHED
        }
        Err(e) => {
            eprintln!("error: {}", term::lines(&e.to_string()));
            e.exit_code()
        }
    }
}

/// The document source of `status` and `wait`.
async fn source(from: &FollowArgs) -> Result<follow::Source, follow::FollowError> {
    match &from.url {
        Some(url) => {
            let token = match std::env::var("APPLIANCE_STATUS_TOKEN") {
                Ok(t) if !t.trim().is_empty() => token::Token::from_env(t.trim()),
                _ => {
                    let path = token::token_path(&home(), &from.site_id)?;
                    token::read(&path)?.ok_or_else(|| {
                        follow::FollowError::Usage(format!(
                            "no token: set APPLIANCE_STATUS_TOKEN or run `appliance-status token ensure` ({} does not exist)",
                            path.display()
                        ))
                    })?
                }
            };
            follow::Source::service(url, token)
        }
        None => follow::Source::cluster(from.kubeconfig.as_deref()).await,
    }
}

async fn status(args: StatusArgs) -> u8 {
    let doc = match source(&args.from).await {
        Ok(s) => s.fetch().await,
        Err(e) => Err(e),
    };
    match doc {
        Ok(doc) => {
            match args.output {
                Output::Text => print!("{}", cli::render_text(&term::document(&doc))),
                Output::Json => match serde_json::to_string_pretty(&doc) {
                    Ok(json) => println!("{json}"),
                    Err(e) => {
                        eprintln!("error: {}", term::lines(&e.to_string()));
                        return exit::INTERNAL;
                    }
                },
            }
            exit::REACHED
        }
        Err(e) => {
            eprintln!("error: {}", term::lines(&e.to_string()));
            e.exit_code()
        }
    }
}

async fn validate_release(args: cli::ValidateReleaseArgs) -> u8 {
    use appliance_status::{registry, release};
    let usage = |message: String| {
        eprintln!("error: {}", term::lines(&message));
        exit::USAGE
    };
    let text = match read_manifest(&args.file, release::MAX_MANIFEST_BYTES) {
        Ok(t) => t,
        Err(e) => return usage(e),
    };
    let manifest = match release::parse(&text) {
        Ok(m) => m,
        Err(e) => return usage(e),
    };
    let catalog = match cli::load_catalog(args.catalog.as_deref()) {
        Ok(c) => c,
        Err(e) => return usage(e.to_string()),
    };
    let planned = match release::plan(&manifest, &catalog) {
        Ok(p) => p,
        Err(e) => return usage(e),
    };
    let registry = match args.registry.options().and_then(registry::Registry::new) {
        Ok(r) => r,
        Err(e) => return usage(e),
    };
    let checked = release::check(&registry, planned).await;
    let verdict = release::verdict(&checked);
    match args.output {
        cli::OutputFormat::Text => print!(
            "{}",
            term::lines(&release::render_text(&manifest, &checked))
        ),
        cli::OutputFormat::Json => {
            let json = serde_json::json!({
                "releaseVersion": manifest.release_version,
                "verdict": verdict,
                "images": checked,
            });
            println!(
                "{}",
                serde_json::to_string_pretty(&json).unwrap_or_default()
            );
        }
    }
    match verdict {
        release::Verdict::AllPresent => exit::REACHED,
        release::Verdict::Missing => exit::FAILED,
        release::Verdict::Unauthorized => exit::UNAUTHORIZED,
        release::Verdict::CouldNotCheck => exit::UNREACHABLE,
    }
}

/// The release manifest's text: at most `limit` bytes of UTF-8.
fn read_manifest(path: &std::path::Path, limit: u64) -> Result<String, String> {
    let (origin, bytes) = cli::read_bounded(path, limit).map_err(|e| match e {
        appliance_status::Error::TooLarge { origin, .. } => format!(
            "{origin} is larger than {} KiB: not a release manifest",
            limit >> 10
        ),
        other => other.to_string(),
    })?;
    String::from_utf8(bytes).map_err(|e| format!("{origin}: not UTF-8 text: {e}"))
}

async fn support_bundle(args: cli::SupportBundleArgs) -> u8 {
    let bundle = match source(&args.from).await {
        Ok(s) => s.support_bundle().await,
        Err(e) => Err(e),
    };
    let bytes = match bundle {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {}", term::lines(&e.to_string()));
            return e.exit_code();
        }
    };
    // Check what arrived before writing it: a bundle that `assess` cannot read is no use, except
    // one too large for `assess` to replay, whose files support still reads.
    let replay = match appliance_status::bundle::read(&bytes) {
        Ok(r) => Some(r),
        Err(e) if e.contains("unpacks to more than") => {
            eprintln!(
                "warning: {}; writing it all the same: its files are readable, `assess` will not replay it",
                term::lines(&e)
            );
            None
        }
        Err(e) => {
            eprintln!(
                "error: the service sent something that is not a support bundle: {}",
                term::lines(&e.to_string())
            );
            return exit::INTERNAL;
        }
    };
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&args.output)
        .and_then(|mut f| f.write_all(&bytes));
    if let Err(e) = written {
        eprintln!("error: cannot write {}: {e}", args.output.display());
        return exit::USAGE;
    }
    match replay {
        Some(replay) => println!(
            "Wrote {} ({} bytes): {} at {}. Replay it with: appliance-status assess {} --format text",
            args.output.display(),
            bytes.len(),
            replay.document.rollup.state.label(),
            replay.document.timestamp,
            args.output.display()
        ),
        None => println!("Wrote {} ({} bytes).", args.output.display(), bytes.len()),
    }
    exit::REACHED
}

async fn wait(args: WaitArgs) -> u8 {
    let to_std =
        |d: jiff::SignedDuration| std::time::Duration::from_secs(d.as_secs().max(0) as u64);
    let outcome = match source(&args.from).await {
        Ok(s) => {
            use std::io::{IsTerminal, Write};
            let display = match args.output {
                Output::Json => follow::Display::Json,
                Output::Text if std::io::stdout().is_terminal() => follow::Display::Terminal,
                Output::Text => follow::Display::Lines,
            };
            follow::wait(
                &s,
                args.target,
                to_std(args.timeout),
                to_std(args.fail_after),
                display,
                |text| {
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(text.as_bytes());
                    let _ = out.flush();
                },
            )
            .await
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", term::lines(&e.to_string()));
            e.exit_code()
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
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
