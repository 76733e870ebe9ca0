//! The admin's commands, as the bootstrap runs them: `token ensure|rotate` against a real
//! kube-apiserver (the Secret, the private token file, the PRD's block), and `status` / `wait`
//! against the running service (the observed bootstrap replayed by `serve --demo`), each outcome
//! with its exit code.

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use testenv::{chart_template, ScenarioLoader, TestCluster};

mod support;

use support::{bin, text};

fn home(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("admin-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn token_cmd(home: &Path, kubeconfig: &Path, action: &str, extra: &[&str]) -> Output {
    bin()
        .env("HOME", home)
        .env_remove("KUBECONFIG")
        .args(["token", action, "--site-id", "site-1", "--kubeconfig"])
        .arg(kubeconfig)
        .args(extra)
        .output()
        .unwrap()
}

fn secret_token(cluster: &TestCluster) -> String {
    let b64 = cluster
        .kubectl(
            &[
                "get",
                "secret",
                "-n",
                "appliance-system",
                "appliance-status-auth",
                "-o",
                "jsonpath={.data.token}",
            ],
            None,
        )
        .unwrap();
    let out = Command::new("base64")
        .arg("-d")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    out.stdin
        .as_ref()
        .unwrap()
        .write_all(b64.trim().as_bytes())
        .unwrap();
    text(&out.wait_with_output().unwrap().stdout)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_ensure_and_rotate_on_a_real_apiserver() {
    let cluster = TestCluster::start().expect("test API server");
    cluster.install_flux_crds().unwrap();
    let home = home("token");

    // An empty cluster: the namespace is created, the node address given.
    let out = token_cmd(
        &home,
        &cluster.kubeconfig,
        "ensure",
        &["--output", "json", "--node-ip", "10.1.2.3"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["url"], "http://10.1.2.3:8080");
    assert_eq!(json["generated"], true);
    let token = json["token"].as_str().unwrap().to_string();
    assert_eq!(token.len(), 64);
    assert_eq!(
        secret_token(&cluster),
        token,
        "the Secret holds the same token"
    );

    // The node, as the first step of the observed bootstrap writes it (InternalIP 192.168.64.8).
    let client = cluster.client().await.unwrap();
    let mut loader = ScenarioLoader::new(client, appliance_status::scenario::OBSERVED_BOOTSTRAP)
        .await
        .unwrap();
    loader.apply_next().await.unwrap();

    // A second run reuses the token and prints exactly the PRD's block.
    let out = token_cmd(&home, &cluster.kubeconfig, "ensure", &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("Appliance status UI:\nURL: http://192.168.64.8:8080\nToken: {token}\n")
    );
    assert!(
        text(&out.stderr).is_empty(),
        "nothing else is printed: {}",
        text(&out.stderr)
    );
    let file = home.join(".alga-psa-appliance/site-1/status-token");
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(file.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), token);

    // Rotation replaces both.
    let out = token_cmd(&home, &cluster.kubeconfig, "rotate", &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rotated = text(&out.stdout)
        .lines()
        .nth(2)
        .unwrap()
        .trim_start_matches("Token: ")
        .to_string();
    assert_ne!(rotated, token);
    assert_eq!(secret_token(&cluster), rotated);
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), rotated);

    // Installing and upgrading the chart leaves the token alone: the Secret is not the chart's.
    // (The scenario's own appliance-status Deployment has another selector; the chart's replaces it.)
    cluster
        .kubectl(
            &[
                "delete",
                "deployment",
                "appliance-status",
                "-n",
                "appliance-system",
            ],
            None,
        )
        .unwrap();
    for values in [vec![], vec!["--set", "logFormat=human"]] {
        cluster
            .kubectl(&["apply", "-f", "-"], Some(&chart_template(&values)))
            .unwrap();
        assert_eq!(secret_token(&cluster), rotated);
    }

    // A file others can read is refused, with its own exit code and without the token.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = token_cmd(&home, &cluster.kubeconfig, "ensure", &[]);
    assert_eq!(out.status.code(), Some(8), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains(&rotated) && out.stdout.is_empty());
    assert_eq!(text(&out.stderr).lines().count(), 1, "one clear line");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();

    // No kubeconfig, an unreachable API, an account that may not write the Secret.
    let out = token_cmd(&home, Path::new("/nonexistent/kubeconfig"), "ensure", &[]);
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    let port = free_port();
    let dead = home.join("dead.kubeconfig");
    std::fs::write(&dead, format!("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: 'https://127.0.0.1:{port}', insecure-skip-tls-verify: true}}\nusers:\n- name: u\n  user: {{token: t}}\ncontexts:\n- name: x\n  context: {{cluster: c, user: u}}\ncurrent-context: x\n")).unwrap();
    let out = token_cmd(&home, &dead, "ensure", &[]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    let stranger = home.join("stranger.kubeconfig");
    cluster.write_kubeconfig(&stranger, "not-a-token").unwrap();
    let out = token_cmd(&home, &stranger, "ensure", &[]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out.stderr));
}

/// Opt-in TLS: `token ensure --tls` makes the site's certificate once (kept beside the token,
/// 0600, and in a `kubernetes.io/tls` Secret), prints its fingerprint with an https URL, reuses it,
/// and `rotate --tls` renews it; `serve` with it answers over HTTPS only, with `Secure` cookies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_from_token_ensure_to_an_https_page() {
    let cluster = TestCluster::start().expect("test API server");
    let home = home("tls");
    let ensure = |action: &str| {
        let out = token_cmd(
            &home,
            &cluster.kubeconfig,
            action,
            &["--tls", "--node-ip", "127.0.0.1", "--output", "json"],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let json = ensure("ensure");
    assert_eq!(json["url"], "https://127.0.0.1:8080");
    let fingerprint = json["certificateSha256"].as_str().unwrap().to_string();
    let dir = home.join(".alga-psa-appliance/site-1");
    let (cert, key) = (dir.join("status-tls.crt"), dir.join("status-tls.key"));
    for f in [&cert, &key] {
        assert_eq!(
            std::fs::metadata(f).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // the fingerprint is the certificate's, as openssl computes it
    let openssl = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        text(&openssl.stdout)
            .trim()
            .ends_with(&format!("={fingerprint}")),
        "{} vs {fingerprint}",
        text(&openssl.stdout)
    );
    let secret: serde_json::Value = serde_json::from_str(
        &cluster
            .kubectl(
                &[
                    "get",
                    "secret",
                    "-n",
                    "appliance-system",
                    "appliance-status-tls",
                    "-o",
                    "json",
                ],
                None,
            )
            .unwrap(),
    )
    .unwrap();
    assert_eq!(secret["type"], "kubernetes.io/tls");
    use base64::Engine as _;
    let in_secret = base64::engine::general_purpose::STANDARD
        .decode(secret["data"]["tls.crt"].as_str().unwrap())
        .unwrap();
    assert_eq!(in_secret, std::fs::read(&cert).unwrap());
    // the text block names it
    let out = token_cmd(
        &home,
        &cluster.kubeconfig,
        "ensure",
        &["--tls", "--node-ip", "127.0.0.1"],
    );
    assert!(text(&out.stdout).ends_with(&format!("Certificate SHA-256: {fingerprint}\n")));
    // kept while the site keeps it, renewed with the token
    assert_eq!(
        ensure("ensure")["certificateSha256"].as_str(),
        Some(fingerprint.as_str())
    );
    let rotated = ensure("rotate");
    assert_ne!(
        rotated["certificateSha256"].as_str(),
        Some(fingerprint.as_str())
    );

    // The page over HTTPS with that certificate, and only over HTTPS.
    let token = rotated["token"].as_str().unwrap().to_string();
    let port = free_port();
    let child = bin()
        .env("APPLIANCE_STATUS_TOKEN", &token)
        .args([
            "serve",
            "--no-site",
            "--demo",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--tls-cert",
        ])
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _service = Service::listening(child, port);
    let client = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(&cert).unwrap()).unwrap(),
        )
        .tls_built_in_root_certs(false)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = format!("https://127.0.0.1:{port}");
    let r = client.get(format!("{base}/livez")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = client
        .post(format!("{base}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let cookie = testenv::tls::set_cookie(&r, "__Host-").expect("a __Host- cookie");
    assert!(cookie.split("; ").any(|p| p == "Secure"), "{cookie}");
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/livez"))
        .send()
        .await;
    assert!(
        plain.map_or(true, |r| r.status() != 200),
        "plain HTTP answered"
    );
    // `status` over https trusts the site's certificate, kept beside its token
    let status = |home: &Path, extra: &[&str]| {
        bin()
            .env("HOME", home)
            .env_remove("APPLIANCE_STATUS_TOKEN")
            .args([
                "status",
                "--site-id",
                "site-1",
                "--url",
                &base,
                "--timeout",
                "3s",
            ])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = status(&home, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("Status: "),
        "{}",
        text(&out.stdout)
    );
    // elsewhere, without it: refused at once, saying what to pass
    let elsewhere = self::home("tls-elsewhere");
    let site = elsewhere.join(".alga-psa-appliance/site-1");
    std::fs::create_dir_all(&site).unwrap();
    std::fs::set_permissions(&site, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(site.join("status-token"), format!("{token}\n")).unwrap();
    std::fs::set_permissions(
        site.join("status-token"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let out = status(&elsewhere, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("not trusted"),
        "{}",
        text(&out.stderr)
    );
    let cert_arg = cert.display().to_string();
    let out = status(&elsewhere, &["--tls-cert", &cert_arg]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// A loopback port nobody listens on (yet).
fn free_port() -> u16 {
    testenv::free_port().unwrap()
}

/// A running `serve` and its URL, killed when dropped.
struct Service(Child, String);

impl Service {
    /// Waits until `child` listens on `port`.
    fn listening(child: Child, port: u16) -> Service {
        let service = Service(child, format!("http://127.0.0.1:{port}"));
        let began = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                began.elapsed() < Duration::from_secs(20),
                "serve did not listen"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        service
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve_demo(token: &str, speed: &str) -> Service {
    serve_demo_on(free_port(), token, speed)
}

fn serve_demo_on(port: u16, token: &str, speed: &str) -> Service {
    let child = support::serve_demo(token, speed, port).spawn().unwrap();
    Service::listening(child, port)
}

fn follow(url: &str, token: &str, args: &[&str]) -> Output {
    bin()
        .env("APPLIANCE_STATUS_TOKEN", token)
        .env("HOME", home("follow"))
        .args(args)
        .args(["--url", url])
        .output()
        .unwrap()
}

#[test]
fn wait_follows_the_bootstrap_and_prints_the_login_url() {
    let token = "0123456789abcdef0123456789abcdef";
    // The observed bootstrap at 60x: login is ready about 39 scenario minutes in.
    let service = serve_demo(token, "60");
    let out = follow(
        &service.1,
        token,
        &[
            "wait",
            "--for",
            "login",
            "--timeout",
            "3m",
            "--fail-after",
            "10m",
        ],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    for line in [
        "PLATFORM_READY ready",
        "CORE_READY ready",
        "BOOTSTRAP_READY ready",
        "LOGIN_READY ready",
        "Login URL: http://192.168.64.8:3000",
        "Top issue: ",
        "In progress: ",
        // how it went, from the scenario's own times (its pull, Helm's retry, the Job, the
        // Postgres warnings)
        "login ready 39 min after the start: image pulls 16 min 3 s, Helm 2 min 55 s, \
         database bootstrap 35 min 42 s; longest problem: db, 29 min (db-0: Failed)",
    ] {
        assert!(stdout.contains(line), "{line:?} missing from:\n{stdout}");
    }
    let login_at = stdout.find("Login URL:").unwrap();
    assert_eq!(
        stdout[login_at..].lines().count(),
        1 + stdout[login_at..].lines().skip(1).count()
    );
    assert!(
        stdout.lines().all(|l| l.starts_with('[')),
        "plain timestamped lines when not a terminal:\n{stdout}"
    );

    // JSON lines for scripts.
    let out = follow(
        &service.1,
        token,
        &[
            "wait",
            "--for",
            "login",
            "--output",
            "json",
            "--timeout",
            "1m",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let mut stories = 0;
    for line in text(&out.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        assert!(v["event"].is_string() && v["at"].is_string(), "{line}");
        if v["event"] == "story" {
            assert_eq!(v["for"], "LOGIN_READY", "{line}");
            assert!(
                v["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("login ready 39 min after the start: "),
                "{line}"
            );
            stories += 1;
        }
    }
    assert_eq!(stories, 1, "the story ends the stream once");

    // `status` once: the overview.
    let out = follow(&service.1, token, &["status"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stdout).starts_with("Status: "),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stdout).contains("How it went: login ready 39 min after the start"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn wait_exit_codes_per_outcome() {
    let token = "fedcba9876543210fedcba9876543210";
    // Slowly: the first minutes of the observed bootstrap, where the resolver refuses queries.
    let service = serve_demo(token, "10");
    // Failed / action required (at once with --fail-after 0s): the top blocker is printed.
    let out = follow(
        &service.1,
        token,
        &[
            "wait",
            "--for",
            "full",
            "--fail-after",
            "0s",
            "--timeout",
            "2m",
        ],
    );
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("Failed / action required: dns: DNS resolver failure"),
        "{}",
        text(&out.stdout)
    );
    // Timed out.
    let out = follow(
        &service.1,
        token,
        &["wait", "--for", "full", "--timeout", "3s"],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("Timed out after 3 s waiting for FULLY_HEALTHY"),
        "{}",
        text(&out.stdout)
    );
    // A wrong token: unauthorized, one line.
    let out = follow(
        &service.1,
        "wrong-token-wrong-token-wrong-token",
        &["status"],
    );
    assert_eq!(out.status.code(), Some(6), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr).lines().count(), 1);
    assert!(!text(&out.stderr).contains("wrong-token"));
    drop(service);
    // Nobody listening: unreachable, once the time to wait for it is up, naming the cause.
    let port = free_port();
    let out = follow(
        &format!("http://127.0.0.1:{port}"),
        token,
        &["status", "--timeout", "2s"],
    );
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(&format!(
            "cannot reach the status service at http://127.0.0.1:{port}: connection refused"
        )),
        "{}",
        text(&out.stderr)
    );
}

/// What is not a status service, a wrong token, a URL without a scheme: each ends at once, with
/// its own code and what is wrong, however long `--timeout` would have waited.
#[test]
fn what_retrying_cannot_mend_ends_at_once() {
    // A web server that is not the status service: 404 for everything.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let other = format!("http://{}", listener.local_addr().unwrap());
    answer_always(
        listener,
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found",
    );
    let token = "0123456789abcdef0123456789abcdef";
    let began = Instant::now();
    let out = follow(
        &other,
        token,
        &["wait", "--for", "login", "--timeout", "5m"],
    );
    assert_eq!(out.status.code(), Some(9), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("answered HTTP 404: not an appliance-status service"),
        "{}",
        text(&out.stderr)
    );
    let out = follow(&format!("{other}/wrong/path"), token, &["status"]);
    assert_eq!(out.status.code(), Some(9), "{}", text(&out.stderr));

    // No scheme.
    let out = follow("127.0.0.1:8080", token, &["status"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr)
            .contains("is not an http:// or https:// address; e.g. http://127.0.0.1:8080"),
        "{}",
        text(&out.stderr)
    );

    // A wrong token, while `wait` would wait an hour.
    let service = serve_demo(token, "20");
    let out = follow(
        &service.1,
        "wrong-token-wrong-token-wrong-token",
        &["wait", "--for", "login", "--timeout", "60m"],
    );
    assert_eq!(out.status.code(), Some(6), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("refused the token (HTTP 401)"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        began.elapsed() < Duration::from_secs(60),
        "{:?}",
        began.elapsed()
    );
}

/// `wait` started before the service answers (its pod still pulling), then the service killed
/// and started again mid-wait: `wait` keeps asking, says what it waits for, and follows the
/// bootstrap to the login URL.
#[test]
fn wait_follows_through_a_service_not_there_yet_and_a_restart() {
    use std::io::BufRead;
    let token = "a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6";
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut waiting = bin()
        .env("APPLIANCE_STATUS_TOKEN", token)
        .env("HOME", home("early"))
        .args([
            "wait",
            "--for",
            "login",
            "--timeout",
            "4m",
            "--fail-after",
            "10m",
            "--url",
            &url,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, lines) = std::sync::mpsc::channel::<String>();
    let stdout = waiting.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let mut seen = Vec::new();
    let mut until = |what: &str, within: Duration| {
        let end = Instant::now() + within;
        while let Ok(line) = lines.recv_timeout(end.saturating_duration_since(Instant::now())) {
            seen.push(line.clone());
            if line.contains(what) {
                return;
            }
        }
        panic!("{what:?} not seen within {within:?}:\n{}", seen.join("\n"));
    };
    until(
        &format!("Waiting for the status service at {url}: connection refused"),
        Duration::from_secs(10),
    );
    // 20 s later the service starts
    std::thread::sleep(Duration::from_secs(20));
    let service = serve_demo_on(port, token, "60");
    until("PLATFORM_READY ready", Duration::from_secs(60));
    // killed mid-wait, and started again
    drop(service);
    until("connection refused", Duration::from_secs(15));
    let _service = serve_demo_on(port, token, "60");
    until(
        "Login URL: http://192.168.64.8:3000",
        Duration::from_secs(120),
    );
    let status = waiting.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{}", seen.join("\n"));
}

/// `wait` in a real pseudo-terminal (util-linux `script`) of `columns`×24, its output played
/// into a terminal emulator (vt100, with scrollback): its exit code, every row ever shown (what
/// scrolled off, then the final screen), and the raw output. No row may have been wrapped by
/// the terminal: every line fits the width.
fn wait_on_a_terminal(
    url: &str,
    token: &str,
    columns: u16,
    extra: &str,
) -> (Option<i32>, Vec<String>, String) {
    let command = format!(
        "stty cols {columns} rows 24; exec {} wait --for login --timeout 3m --url {url} {extra}",
        env!("CARGO_BIN_EXE_appliance-status"),
    );
    let out = Command::new("script")
        .args(["-qefc", &command, "/dev/null"])
        .env("APPLIANCE_STATUS_TOKEN", token)
        .env("HOME", home("pty"))
        .env("LANG", "C.UTF-8")
        .env("TERM", "xterm-256color")
        .output()
        .unwrap();
    let mut parser = vt100::Parser::new(24, columns, 10_000);
    parser.process(&out.stdout);
    parser.screen_mut().set_scrollback(usize::MAX);
    let mut offset = parser.screen().scrollback();
    let mut all = Vec::new();
    loop {
        parser.screen_mut().set_scrollback(offset);
        let take = if offset == 0 { 24 } else { offset.min(24) };
        let screen = parser.screen();
        for (i, row) in screen.rows(0, columns).enumerate().take(take) {
            assert!(
                !screen.row_wrapped(i as u16),
                "a line wider than {columns} columns was wrapped by the terminal: {row:?}"
            );
            all.push(row);
        }
        if offset == 0 {
            break;
        }
        offset -= take;
    }
    (
        out.status.code(),
        all,
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// On a terminal, `wait` draws the live display: the lines that last (tiers turning ready, the
/// login URL, a final mark) and one area redrawn in place with the state, the top issue and its
/// next action: at 80 and at 40 columns nothing wraps, no copy of the area is left behind, and
/// the final screen reads as the outcome.
#[test]
fn wait_draws_a_live_display_in_a_terminal() {
    let token = "00112233445566778899aabbccddeeff";
    let service = serve_demo(token, "60");
    for columns in [80u16, 40] {
        let (code, rows, _) = wait_on_a_terminal(&service.1, token, columns, "--fail-after 10m");
        let all = rows.join("\n");
        assert_eq!(code, Some(0), "{all}");
        for line in [
            "CORE_READY ready",
            "LOGIN_READY ready",
            "Login URL:",
            "✔ LOGIN_READY after",
            "login ready 39 min",
        ] {
            assert!(
                all.contains(line),
                "{line:?} missing at {columns} columns:\n{all}"
            );
        }
        // the area was redrawn in place: no state line (⏳ …) is left anywhere
        assert!(
            !rows
                .iter()
                .any(|r| r.starts_with("⏳") || r.contains("Top issue:")),
            "a copy of the area was left behind at {columns} columns:\n{all}"
        );
        // each lasting line once
        assert_eq!(all.matches("CORE_READY ready").count(), 1, "{all}");
        assert!(
            !rows.iter().any(|r| r.starts_with("[2026")),
            "no timestamped lines on a terminal:\n{all}"
        );
    }
    // plain symbols on request
    let (code, rows, _) = wait_on_a_terminal(&service.1, token, 80, "--fail-after 10m --ascii");
    assert_eq!(code, Some(0));
    assert!(
        rows.iter().any(|r| r.starts_with("[ok] LOGIN_READY after")),
        "{}",
        rows.join("\n")
    );
}

/// While it waits, the area shows the top issue and its next action (the observed bootstrap's
/// first minutes: the resolver refuses queries), and a failure ends with both, readable.
#[test]
fn the_terminal_shows_the_top_issue_and_its_next_action_while_waiting() {
    let token = "ffeeddccbbaa99887766554433221100";
    let service = serve_demo(token, "10");
    let (code, rows, raw) = wait_on_a_terminal(&service.1, token, 40, "--fail-after 20s");
    let all = rows.join("\n");
    assert_eq!(code, Some(4), "{all}");
    assert!(
        raw.contains("Top issue: dns:"),
        "the area showed the top issue: {raw:?}"
    );
    // the failure that lasted 20 s (on a busy machine the resolver may recover sooner)
    let last = all.rfind("✖ Failed / action required: ").expect(&all);
    assert!(all[last..].contains("  Next: "), "{all}");
}

/// Answers the login URL probe as the web app does once it is up (`307` to the dashboard), on a
/// port nobody listens on before: until then the probe is refused, as on the node.
fn start_web_app(listener: TcpListener) {
    answer_always(
        listener,
        b"HTTP/1.1 307 Temporary Redirect\r\nLocation: /msp/dashboard\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
}

/// Answers every request on `listener` with `response`, on a thread of its own.
fn answer_always(listener: TcpListener, response: &'static [u8]) {
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            use std::io::{Read, Write};
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(response);
        }
    });
}

/// The admin's whole path on an empty cluster, every part real: `token ensure` creates the
/// namespace, the Secret and the private file; `helm install` of the chart (no other namespace
/// exists yet), then `helm upgrade`; `serve` runs as the chart runs it, with the chart's
/// service-account token and the token file the Secret mounts; the tiers then create their
/// namespaces and Flux its CRDs, the observed bootstrap is written step by step, and `wait --for
/// login` (token read from the admin's file) follows it to the login URL; a wait too short
/// times out with its exit code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admins_path_on_an_empty_cluster() {
    let cluster = TestCluster::start().expect("test API server");
    let home = home("path");

    // 1. The token: namespace, Secret and the private file.
    let out = token_cmd(
        &home,
        &cluster.kubeconfig,
        "ensure",
        &["--node-ip", "192.168.64.8"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let token = text(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Token: "))
        .unwrap()
        .to_string();
    assert_eq!(secret_token(&cluster), token);

    // 2. The chart, with helm, into a cluster where only appliance-system exists.
    let namespaces = cluster
        .kubectl(&["get", "namespaces", "-o", "name"], None)
        .unwrap();
    assert!(!namespaces.contains("namespace/msp") && !namespaces.contains("flux-system"));
    let chart = testenv::project_root().join("helm/appliance-status");
    for (verb, extra) in [
        ("install", "logFormat=json"),
        ("upgrade", "logFormat=human"),
    ] {
        let out = Command::new(testenv::helm())
            .args([verb, "appliance-status"])
            .arg(&chart)
            .args(["--namespace", "appliance-system", "--kubeconfig"])
            .arg(&cluster.kubeconfig)
            .args(["--set", extra])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "helm {verb}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        assert_eq!(secret_token(&cluster), token, "helm {verb} keeps the token");
    }
    let image = cluster
        .kubectl(
            &[
                "get",
                "deployment",
                "appliance-status",
                "-n",
                "appliance-system",
                "-o",
                "jsonpath={.spec.template.spec.containers[0].image}",
            ],
            None,
        )
        .unwrap();
    assert_eq!(
        image,
        format!(
            "ghcr.io/nine-minds/appliance-status:{}",
            env!("CARGO_PKG_VERSION")
        ),
        "the image scripts/image.sh builds from the Dockerfile"
    );

    // 3. The service as the chart runs it: its account's token, the Secret's token as a file.
    let account = cluster
        .service_account_kubeconfig("appliance-system", "appliance-status")
        .unwrap();
    let token_file = home.join("mounted-token");
    std::fs::write(&token_file, secret_token(&cluster)).unwrap();
    let web_port = free_port(); // nothing answers there until alga-core is up
    let port = free_port();
    let child = bin()
        .env_remove("APPLIANCE_STATUS_TOKEN")
        .env_remove("KUBECONFIG")
        .args([
            "serve",
            "--no-site",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--kubeconfig",
        ])
        .arg(&account)
        .arg("--token-file")
        .arg(&token_file)
        .args([
            "--login-url",
            &format!("http://127.0.0.1:{web_port}/"),
            "--no-outbound-checks",
            "--probe-interval",
            "1s",
            "--hysteresis",
            "1s",
        ])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(home.join("serve.log")).unwrap())
        .spawn()
        .unwrap();
    let service = Service::listening(child, port);

    // The admin follows from their own machine: the token from the file `token ensure` wrote.
    let admin = |args: &[&str]| {
        let mut command = bin();
        command
            .env_remove("APPLIANCE_STATUS_TOKEN")
            .env("HOME", &home)
            .args(args)
            .args(["--site-id", "site-1", "--url", &service.1])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    };
    let out = admin(&["status"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("Status: Installing"),
        "{}",
        text(&out.stdout)
    );
    // Too short a wait on an empty cluster: timed out, with its own exit code.
    let out = admin(&["wait", "--for", "login", "--timeout", "3s"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("Timed out after 3 s waiting for LOGIN_READY"),
        "{}",
        text(&out.stdout)
    );
    let waiting = admin(&[
        "wait",
        "--for",
        "login",
        "--timeout",
        "4m",
        "--fail-after",
        "10m",
    ])
    .spawn()
    .unwrap();

    // 4. Flux arrives, the tiers create their namespaces, the bootstrap runs.
    cluster.install_flux_crds().unwrap();
    let client = cluster.client().await.unwrap();
    let mut loader = ScenarioLoader::new(client, appliance_status::scenario::OBSERVED_BOOTSTRAP)
        .await
        .unwrap()
        .installed("Deployment", "appliance-system", "appliance-status");
    let scenario: serde_json::Value =
        serde_yaml::from_str(appliance_status::scenario::OBSERVED_BOOTSTRAP).unwrap();
    let mut web_app = Some(web_port);
    for step in scenario["steps"].as_array().unwrap() {
        loader.apply_next().await.unwrap();
        // The web app answers from the step where the scenario's probe saw it answer.
        if step.pointer("/probes/login-url").is_some() {
            if let Some(port) = web_app.take() {
                start_web_app(TcpListener::bind(("127.0.0.1", port)).unwrap());
            }
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    assert!(web_app.is_none(), "the scenario probes the login URL");

    let out = waiting.wait_with_output().unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    for line in [
        "CORE_READY ready",
        "BOOTSTRAP_READY ready",
        "LOGIN_READY ready",
        "Login URL: http://192.168.64.8:3000",
    ] {
        assert!(stdout.contains(line), "{line:?} missing from:\n{stdout}");
    }
    assert!(!stdout.contains(&token) && !text(&out.stderr).contains(&token));

    // The observed bootstrap ends fully healthy.
    let out = admin(&["wait", "--for", "full", "--timeout", "1m"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let out = admin(&["status", "--output", "json"]).output().unwrap();
    let doc: app::status::StatusDocument = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc.rollup.state, app::status::RollupState::FullyHealthy);
    assert!(
        doc.top_blockers
            .iter()
            .all(|b| !b.id.ends_with("/forbidden")),
        "the chart's account reads everything: {:#?}",
        doc.top_blockers
    );
    let responds = doc
        .tiers
        .login
        .checks
        .iter()
        .find(|c| c.name == "login.url-responds")
        .unwrap();
    assert_eq!(
        (responds.state, responds.detail.as_deref()),
        (
            app::status::CheckState::Ok,
            Some("HTTP 307 → /msp/dashboard")
        ),
        "the service's own probe of the web app"
    );

    // What a Prometheus scraper reads, with the token as its bearer token.
    let metrics = reqwest::Client::new()
        .get(format!("{}/metrics", service.1))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), reqwest::StatusCode::OK);
    let metrics = metrics.text().await.unwrap();
    for line in [
        "appliance_status_tier_ready{tier=\"login\"} 1",
        "appliance_status_rollup{state=\"fully_healthy\"} 1",
        "appliance_status_probe_ok{probe=\"login-url\"} 1",
        "appliance_status_watch_listed{kind=\"HelmRelease\",state=\"listed\"} 1",
        "appliance_status_source_stale 0",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "{line:?} missing:\n{metrics}"
        );
    }
    drop(service);
}

/// `wait --for update` on a real API server holding an update as the controllers write it (the
/// corpus's rolling upgrade 1.0-rc5 → 1.0-rc6): it waits while the update moves, ends when Flux
/// has applied the new release whole (`lastAppliedRevision` caught up), and ends with exit 4 once
/// Flux gave up on the next one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_for_an_update_follows_it_to_its_end() {
    let cluster = TestCluster::start().expect("test API server");
    cluster.install_flux_crds().unwrap();
    let mut loader = ScenarioLoader::new(
        cluster.client().await.unwrap(),
        "start: '2026-04-30T00:00:00Z'\nsteps: []\n",
    )
    .await
    .unwrap();
    let name = "35-upgrade-old-pod-serving";
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let dump: serde_json::Value = serde_yaml::from_str(
        &std::fs::read_to_string(corpus.join(name).join("dump.yaml")).unwrap(),
    )
    .unwrap();
    let (_, _, at) = appliance_engine::fixtures::corpus_inputs(name);
    let shift = jiff::Timestamp::now().duration_since(at);
    loader.apply_dump(&dump, shift).await.unwrap();
    let wait = |args: &[&str]| {
        bin()
            .args(["wait", "--for", "update", "--kubeconfig"])
            .arg(&cluster.kubeconfig)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // Still moving: it times out (3) after saying what moves.
    let out = wait(&["--timeout", "5s"]).wait_with_output().unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("Updating 1.0-rc5 → 1.0-rc6: alga-core rolling out"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Timed out after 5 s waiting for UPDATE_DONE"),
        "{stdout}"
    );

    // Flux finishes: every tier Kustomization has applied 1.0-rc6 whole.
    let child = wait(&["--timeout", "2m"]);
    std::thread::sleep(Duration::from_secs(3));
    let finished = |applied: &str, attempted: &str, ready: serde_json::Value| {
        dump["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["kind"] == "Kustomization")
            .filter(|i| {
                let s = &i["status"];
                s["lastAppliedRevision"].is_string()
                    && s["lastAppliedRevision"] != s["lastAttemptedRevision"]
            })
            .map(|k| {
                let mut k = k.clone();
                // the API server's own bookkeeping, as apply_dump leaves it
                for field in ["uid", "resourceVersion", "managedFields"] {
                    k["metadata"].as_object_mut().unwrap().remove(field);
                }
                k["status"]["lastAppliedRevision"] = applied.into();
                k["status"]["lastAttemptedRevision"] = attempted.into();
                k["status"]["conditions"] = ready.clone();
                k
            })
            .collect::<Vec<_>>()
    };
    let rc6 = "release/1.0-rc6@sha1:7e2d4c1b8a9f0e1d2c3b4a5f6e7d8c9b0a1f2e3d";
    let now = jiff::Timestamp::now().to_string();
    let ready = serde_json::json!([{"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded",
        "message": format!("Applied revision: {rc6}"), "lastTransitionTime": now}]);
    let caught_up = finished(rc6, rc6, ready);
    assert!(!caught_up.is_empty(), "the dump has Kustomizations behind");
    for k in caught_up {
        loader.apply_object(k).await.unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("updated from 1.0-rc5 to 1.0-rc6; login ready"),
        "{stdout}"
    );

    // Nothing under way now: without `--to` the wait has no update to see end (it times out);
    // naming the release it brings, it is done at once.
    let out = wait(&["--timeout", "3s"]).wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stdout));
    let out = wait(&["--timeout", "1m", "--to", "1.0-rc6"])
        .wait_with_output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("1.0-rc6 applied; login ready"),
        "{}",
        text(&out.stdout)
    );

    // The next update, 1.0-rc6 → 1.0-rc7: its health check fails and kustomize-controller
    // retries (`Reconciling=True ProgressingWithRetry`, as its finalizeStatus writes), while
    // helm-controller gave up on alga-core's upgrade (`Stalled`): Flux will not finish it, exit 4.
    let rc7 = "release/1.0-rc7@sha1:0123456789abcdef0123456789abcdef01234567";
    let failed = serde_json::json!([
        {"type": "Reconciling", "status": "True", "reason": "ProgressingWithRetry",
         "message": format!("Running health checks for revision {rc7} with a timeout of 30m0s"), "lastTransitionTime": now},
        {"type": "Ready", "status": "False", "reason": "HealthCheckFailed",
         "message": "timeout waiting for: [HelmRelease/alga-system/alga-core status: 'Failed']", "lastTransitionTime": now},
        {"type": "Healthy", "status": "False", "reason": "HealthCheckFailed",
         "message": "timeout waiting for: [HelmRelease/alga-system/alga-core status: 'Failed']", "lastTransitionTime": now}]);
    for k in finished(rc6, rc7, failed) {
        loader.apply_object(k).await.unwrap();
    }
    let mut release = dump["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "HelmRelease" && i["metadata"]["name"] == "alga-core")
        .unwrap()
        .clone();
    for field in ["uid", "resourceVersion", "managedFields"] {
        release["metadata"].as_object_mut().unwrap().remove(field);
    }
    let gave_up = "Helm upgrade failed for release msp/alga-core with chart sebastian@0.1.1: context deadline exceeded";
    release["status"]["conditions"] = serde_json::json!([
        {"type": "Stalled", "status": "True", "reason": "RetriesExceeded",
         "message": "Failed to upgrade after 1 attempt(s)", "lastTransitionTime": now},
        {"type": "Ready", "status": "False", "reason": "UpgradeFailed", "message": gave_up, "lastTransitionTime": now},
        {"type": "Released", "status": "False", "reason": "UpgradeFailed", "message": gave_up, "lastTransitionTime": now}]);
    loader.apply_object(release).await.unwrap();
    let out = wait(&["--timeout", "1m", "--fail-after", "0s"])
        .wait_with_output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains(
            "The update 1.0-rc6 → 1.0-rc7 stopped (HelmRelease alga-core: Failed to upgrade"
        ),
        "{stdout}"
    );
}
