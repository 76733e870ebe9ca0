//! The container image, built from the Dockerfile's `runtime` stage by buildah (scripts/image.sh)
//! and run by podman: one static binary and the site, a non-root UID, no shell, a read-only root
//! filesystem; `/livez`, the login page, the app page's CSP that admits its wasm, the wasm itself,
//! and `assess` inside the image.
//!
//! podman runs with runc, the vfs storage driver and modest ulimits: this machine's sandbox
//! refuses crun's cgroup setup and raising RLIMIT_NOFILE/NPROC to podman's defaults.

use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use testenv::project_root;

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

fn podman(args: &[&str]) -> Output {
    Command::new("podman")
        .args(["--storage-driver", "vfs", "--runtime", "runc"])
        .args(args)
        .output()
        .expect("podman runs")
}

const RUN: [&str; 7] = [
    "run",
    "--ulimit",
    "nofile=4096:4096",
    "--ulimit",
    "nproc=4096:4096",
    "--read-only",
    "--network=host",
];

fn build() -> String {
    // A clean environment: the variables cargo sets for this test would make the nested cargo
    // build look different from one run from a shell, and rebuild the whole static binary.
    let mut cmd = Command::new("bash");
    cmd.arg(project_root().join("scripts/image.sh")).env_clear();
    for var in [
        "PATH",
        "HOME",
        "RUSTUP_HOME",
        "CARGO_HOME",
        "APPLIANCE_STATUS_CACHE",
        "CARGO_TARGET_DIR",
    ] {
        if let Some(value) = std::env::var_os(var) {
            cmd.env(var, value);
        }
    }
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .expect("scripts/image.sh");
    assert!(out.status.success(), "the image builds");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .expect("the image name")
        .trim()
        .to_string()
}

/// A detached container, removed when dropped.
struct Container(String);

impl Drop for Container {
    fn drop(&mut self) {
        let _ = podman(&["rm", "-f", &self.0]);
    }
}

#[tokio::test]
async fn the_image_serves_and_assesses() {
    let image = build();
    let inspect = podman(&[
        "image",
        "inspect",
        "--format",
        "{{.Size}} {{.Config.User}}",
        &image,
    ]);
    let info = String::from_utf8_lossy(&inspect.stdout).trim().to_string();
    let (size, user) = info.split_once(' ').expect("size and user");
    println!("image {image}: {size} bytes, user {user}");
    assert_eq!(user, "65532:65532", "a non-root numeric UID");

    // No shell inside.
    let mut shell: Vec<&str> = RUN.to_vec();
    shell.extend(["--rm", "--entrypoint", "/bin/sh", &image, "-c", "true"]);
    assert!(!podman(&shell).status.success(), "the image has no shell");

    // The service, as the chart runs it: read-only root, its own UID.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let name = format!("appliance-status-test-{port}");
    let listen = format!("127.0.0.1:{port}");
    let env = format!("APPLIANCE_STATUS_TOKEN={TOKEN}");
    let mut serve: Vec<&str> = RUN.to_vec();
    serve.extend([
        "-d", "--name", &name, "-e", &env, &image, "serve", "--demo", "--listen", &listen,
    ]);
    let out = podman(&serve);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _container = Container(name);

    let base = format!("http://{listen}");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let began = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("{base}/livez")).send().await {
            if r.status() == 200 {
                break;
            }
        }
        assert!(
            began.elapsed() < Duration::from_secs(30),
            "/livez never answered"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let login = client.get(format!("{base}/login")).send().await.unwrap();
    assert_eq!(login.status(), 200);
    assert!(login.text().await.unwrap().contains("token"));

    // Log in; the app page's policy admits its own wasm and scripts by nonce only.
    let r = client
        .post(format!("{base}/login"))
        .header("origin", &base)
        .form(&[("token", TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "logged in");
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let page = client
        .get(format!("{base}/"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("'wasm-unsafe-eval'") && csp.contains("'nonce-"),
        "{csp}"
    );
    assert!(page.text().await.unwrap().contains("/pkg/appliance-status"));
    let wasm = client
        .get(format!("{base}/pkg/appliance-status.wasm"))
        .send()
        .await
        .unwrap();
    assert_eq!(wasm.status(), 200);
    assert_eq!(wasm.headers()["content-type"], "application/wasm");
    assert!(wasm.bytes().await.unwrap().starts_with(b"\0asm"));

    // `assess` inside the image, on a corpus dump from standard input.
    let dump = std::fs::read(project_root().join("server/corpus/16-worker-tag-missing/dump.yaml"))
        .unwrap();
    let mut assess = Command::new("podman")
        .args(["--storage-driver", "vfs", "--runtime", "runc"])
        .args(RUN)
        .args([
            "--rm",
            "-i",
            &image,
            "assess",
            "-o",
            "json",
            "--now",
            "2026-04-30T02:00:00Z",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = assess.stdin.take().unwrap();
        stdin.write_all(&dump).unwrap();
    }
    let out = assess.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["rollup"]["state"], "ready_with_background_issues");
    assert_eq!(doc["topBlockers"][0]["component"], "workflow-worker");
}
