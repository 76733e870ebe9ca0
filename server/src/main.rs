//! The `appliance-status` binary: parses the command line, runs the admin commands
//! (`appliance_status::admin`) or the service (`appliance_status::service`).

use appliance_status::cli::{Cli, Command, LogFormat};
use appliance_status::{admin, exit, service, term};
use clap::Parser;
use std::process::ExitCode;

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
            match runtime.block_on(service::serve(*args)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    // once: as a log record where logs are collected, else as a line for people
                    if json_logs {
                        tracing::error!("{}", e.report());
                    } else {
                        eprintln!("error: {}", term::lines(&e.report()));
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
