//! The admin's commands: `token`, `status`, `wait`, `support-bundle`, `validate-release` and the
//! printing of `assess`. Each returns its exit code (`crate::exit`); what it produces goes to
//! stdout, diagnostics to stderr (`crate::output`).

use crate::cli::{self, AssessArgs, FollowArgs, StatusArgs, TokenCommand, WaitArgs};
use crate::exit;
use crate::follow::{self, FollowError};
use crate::output;
use crate::{term, token};
use std::io::Write;
use std::time::{Duration, Instant};

/// Writes `text` to stdout and flushes it (a pipe sees each line as it comes).
fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// One `error: …` line on stderr, and the error's exit code.
fn fail(e: &FollowError) -> u8 {
    eprintln!("error: {}", term::lines(&e.to_string()));
    e.exit_code()
}

fn to_std(d: jiff::SignedDuration) -> Duration {
    Duration::from_secs(d.as_secs().max(0) as u64)
}

/// `assess`: the document (or the input's error, exit 2); the moment it is assessed at is said
/// on stderr when it was not given.
pub fn assess(args: &AssessArgs) -> u8 {
    match cli::run_assess(args) {
        Ok(assessed) => {
            for w in &assessed.warnings {
                eprintln!("warning: {}", term::lines(w));
            }
            if let Some(note) = &assessed.moment_note {
                eprintln!("note: {}", term::lines(note));
            }
            let doc = &assessed.document;
            out(&output::render(doc, args.output, || {
                cli::render_text(&term::document(doc))
            }));
            exit::REACHED
        }
        Err(e) => {
            eprintln!("error: {}", term::lines(&e.to_string()));
            exit::USAGE
        }
    }
}

pub fn home() -> std::path::PathBuf {
    std::env::var_os("HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from("."))
}

/// `token ensure|rotate`: one clear line on error, never the token.
pub async fn token(action: TokenCommand) -> u8 {
    let (args, rotate) = match &action {
        TokenCommand::Ensure(a) => (a, false),
        TokenCommand::Rotate(a) => (a, true),
    };
    let (client, address) = match follow::kube_client(args.kubeconfig.as_deref()).await {
        Ok(c) => c,
        Err(e) => return fail(&e),
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
            out(&output::render(&issued.json(), args.output, || {
                issued.block()
            }));
            if rotate && args.tls {
                // The service looks at its certificate files every few seconds (`tls::RELOAD_EVERY`);
                // the kubelet updates the Secret's volume within its sync period.
                eprintln!("note: the status service serves the new certificate within about a minute, once the kubelet has updated its Secret volume; no restart is needed");
            }
            exit::REACHED
        }
        Err(e) => {
            let text = match &e {
                token::TokenError::Api { .. } => format!("{e} (API server {address})"),
                _ => e.to_string(),
            };
            eprintln!("error: {}", term::lines(&text));
            e.exit_code()
        }
    }
}

/// The document source of `status` and `wait`.
async fn source(from: &FollowArgs) -> Result<follow::Source, FollowError> {
    match &from.url {
        Some(url) => {
            let token = match std::env::var("APPLIANCE_STATUS_TOKEN") {
                Ok(t) if !t.trim().is_empty() => token::Token::from_env(t.trim()),
                _ => {
                    let path = token::token_path(&home(), &from.site_id)?;
                    token::read(&path)?.ok_or_else(|| {
                        FollowError::Usage(format!(
                            "no token: set APPLIANCE_STATUS_TOKEN or run `appliance-status token ensure` ({} does not exist)",
                            path.display()
                        ))
                    })?
                }
            };
            // over https, the site's self-signed certificate is the one to trust
            let cert = match (&from.tls_cert, url.trim().starts_with("https://")) {
                (Some(path), _) => Some(path.clone()),
                (None, true) => token::token_path(&home(), &from.site_id)
                    .ok()
                    .and_then(|t| Some(t.parent()?.join("status-tls.crt")))
                    .filter(|p| p.exists()),
                (None, false) => None,
            };
            let pem = match cert {
                Some(path) => Some(std::fs::read(&path).map_err(|e| {
                    FollowError::Usage(format!("--tls-cert {}: {e}", path.display()))
                })?),
                None => None,
            };
            follow::Source::service(url, token, pem.as_deref())
        }
        None => follow::Source::cluster(from.kubeconfig.as_deref()).await,
    }
}

/// `status`: the document once; a service that does not answer yet is asked again until
/// `--timeout`, with one note on stderr.
pub async fn status(args: StatusArgs) -> u8 {
    let source = match source(&args.from).await {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let deadline = Instant::now() + to_std(args.timeout);
    let mut noted = false;
    let fetched = follow::fetch_patiently(&source, deadline, |e, _| {
        if !noted {
            eprintln!(
                "note: {}; trying again for up to {}",
                term::lines(&e.to_string()),
                app::format::duration(args.timeout.as_secs().max(0) as u64)
            );
            noted = true;
        }
    })
    .await;
    match fetched {
        Ok(doc) => {
            out(&output::render(&doc, args.output, || {
                cli::render_text(&term::document(&doc))
            }));
            exit::REACHED
        }
        Err(e) => fail(&e),
    }
}

/// `validate-release`.
pub async fn validate_release(args: cli::ValidateReleaseArgs) -> u8 {
    use crate::{registry, release};
    let usage = |e: crate::Error| {
        eprintln!("error: {}", term::lines(&e.to_string()));
        exit::USAGE
    };
    let text = match read_manifest(&args.file, release::MAX_MANIFEST_BYTES) {
        Ok(t) => t,
        Err(e) => return usage(e),
    };
    let manifest = match release::parse(&text) {
        Ok(m) => m,
        Err(e) => return usage(e.into()),
    };
    let catalog = match cli::load_catalog(args.catalog.as_deref()) {
        Ok(c) => c,
        Err(e) => return usage(e),
    };
    let planned = match release::plan(&manifest, &catalog) {
        Ok(p) => p,
        Err(e) => return usage(e.into()),
    };
    let registry = match args.registry.options().and_then(registry::Registry::new) {
        Ok(r) => r,
        Err(e) => return usage(e),
    };
    let checked = release::check(&registry, planned).await;
    let verdict = release::verdict(&checked);
    let json = serde_json::json!({
        "releaseVersion": manifest.release_version,
        "verdict": verdict,
        "images": checked,
    });
    out(&output::render(&json, args.output, || {
        term::lines(&release::render_text(&manifest, &checked)).into_owned()
    }));
    match verdict {
        release::Verdict::AllPresent => exit::REACHED,
        release::Verdict::Missing => exit::FAILED,
        release::Verdict::Unauthorized => exit::UNAUTHORIZED,
        release::Verdict::CouldNotCheck => exit::UNREACHABLE,
    }
}

/// The release manifest's text: at most `limit` bytes of UTF-8.
fn read_manifest(path: &std::path::Path, limit: u64) -> crate::Result<String> {
    let (origin, bytes) = cli::read_bounded(path, limit).map_err(|e| match e {
        crate::Error::Engine(appliance_engine::Error::TooLarge { origin, .. }) => {
            crate::Error::ManifestTooLarge { origin, limit }
        }
        other => other,
    })?;
    String::from_utf8(bytes).map_err(|error| crate::Error::NotUtf8 { origin, error })
}

/// `support-bundle --file FILE`.
pub async fn support_bundle(args: cli::SupportBundleArgs) -> u8 {
    let bundle = match source(&args.from).await {
        Ok(s) => s.support_bundle().await,
        Err(e) => Err(e),
    };
    let bytes = match bundle {
        Ok(b) => b,
        Err(e) => return fail(&e),
    };
    // Check what arrived before writing it: a bundle that `assess` cannot read is no use, except
    // one too large for `assess` to replay, whose files support still reads.
    let replay = match crate::bundle::read(&bytes) {
        Ok(r) => Some(r),
        Err(e @ crate::Error::BundleTooLarge { .. }) => {
            eprintln!(
                "warning: {}; writing it all the same: its files are readable, `assess` will not replay it",
                term::lines(&e.to_string())
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
        .open(&args.file)
        .and_then(|mut f| f.write_all(&bytes));
    if let Err(e) = written {
        eprintln!("error: cannot write {}: {e}", args.file.display());
        return exit::USAGE;
    }
    match replay {
        Some(replay) => println!(
            "Wrote {} ({} bytes): {} at {}. Replay it with: appliance-status assess {}",
            args.file.display(),
            bytes.len(),
            replay.document.rollup.state.label(),
            replay.document.timestamp,
            args.file.display()
        ),
        None => println!("Wrote {} ({} bytes).", args.file.display(), bytes.len()),
    }
    exit::REACHED
}

/// `wait --for TIER`.
pub async fn wait(args: WaitArgs) -> u8 {
    let source = match source(&args.from).await {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let want = follow::WaitFor {
        target: args.target,
        timeout: to_std(args.timeout),
        fail_after: to_std(args.fail_after),
        to: args.to.clone(),
    };
    let display = follow::Display::for_stdout(args.output);
    let symbols = follow::Symbols::for_terminal(args.ascii);
    match follow::wait(&source, want, display, symbols, out).await {
        Ok(code) => code,
        Err(e) => fail(&e),
    }
}
