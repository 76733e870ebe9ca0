//! Shared by the benchmarks that run the release service: where the binary is, starting it against
//! a kubeconfig, and reading its memory.
#![allow(dead_code)] // each benchmark uses its own part

use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The release binary (`scripts/build.sh`), or `APPLIANCE_STATUS_BIN`.
pub fn release_binary() -> String {
    std::env::var("APPLIANCE_STATUS_BIN").unwrap_or_else(|_| {
        let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
        format!("{target}/release/appliance-status")
    })
}

/// A `/proc/<pid>/status` field in KiB (`VmRSS:`, `VmHWM:`), 0 when gone.
pub fn memory_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// `serve` on a free loopback port against `kubeconfig`, with `token`, quiet, `extra` arguments
/// after; the child and its port.
pub fn serve(kubeconfig: &Path, token: &str, extra: &[&str]) -> std::io::Result<(Child, u16)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    Command::new(release_binary())
        .args([
            "serve",
            "--no-site",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--kubeconfig",
        ])
        .arg(kubeconfig)
        .args(extra)
        .env("APPLIANCE_STATUS_TOKEN", token)
        .env("RUST_LOG", "warn")
        .env(
            "MALLOC_ARENA_MAX",
            std::env::var("MALLOC_ARENA_MAX").unwrap_or_else(|_| "2".into()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(|child| (child, port))
}

/// `/api/status` of the service on `port` with `token`, as a client reads it (curl), or `None`.
pub fn status_json(port: u16, token: &str) -> Option<serde_json::Value> {
    let out = Command::new("curl")
        .args([
            "-sf",
            "-m",
            "2",
            "-H",
            &format!("Authorization: Bearer {token}"),
            &format!("http://127.0.0.1:{port}/api/status"),
        ])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| serde_json::from_slice(&out.stdout).ok())
        .flatten()
}
