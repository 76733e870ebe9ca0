//! Probes the service runs itself: the login URL, name resolution and outbound HTTPS for outside
//! hosts, and (optionally) the seed-data query. Results go to the collector as
//! [`Change::Probe`](crate::change::Change), in the same `NAME=VALUE` form as `--probe`.

use crate::change::Change;
use app::api::ssr::StatusFeed;
use std::time::Duration;
use tokio::sync::mpsc;

/// A database connection string; `Debug` never prints it.
#[derive(Clone)]
pub struct Dsn(pub String);

impl std::fmt::Debug for Dsn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Dsn(***)")
    }
}

/// What to probe.
#[derive(Clone, Debug)]
pub struct ProberConfig {
    /// The login URL; default: the document's (the catalog template with the node's address).
    pub login_url: Option<String>,
    /// Accept a self-signed certificate on the login URL.
    pub insecure_tls: bool,
    /// Hosts to resolve (`dns:HOST`).
    pub dns_hosts: Vec<String>,
    /// Hosts to reach over HTTPS (`https:HOST`).
    pub https_hosts: Vec<String>,
    /// The seed query's database (read-only use).
    pub seed_dsn: Option<Dsn>,
    pub interval: Duration,
    pub timeout: Duration,
}

impl Default for ProberConfig {
    fn default() -> Self {
        ProberConfig {
            login_url: None,
            insecure_tls: false,
            dns_hosts: vec!["ghcr.io".into()],
            https_hosts: vec!["ghcr.io".into()],
            seed_dsn: None,
            interval: Duration::from_secs(15),
            timeout: Duration::from_secs(5),
        }
    }
}

fn error(e: impl std::fmt::Display) -> String {
    let text = e.to_string();
    format!("error: {}", text.chars().take(300).collect::<String>())
}

/// `STATUS [LOCATION]`, or `error: …`. Redirects are not followed: the target is the answer.
pub async fn probe_login(url: &str, insecure_tls: bool, timeout: Duration) -> String {
    let client = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .danger_accept_invalid_certs(insecure_tls)
        .timeout(timeout)
        .build()
    {
        Ok(c) => c,
        Err(e) => return error(e),
    };
    match client.get(url).send().await {
        Ok(r) => {
            let location = r
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(|l| format!(" {l}"))
                .unwrap_or_default();
            format!("{}{location}", r.status().as_u16())
        }
        Err(e) => error(e),
    }
}

/// `ok`, or `error: …` from the system resolver.
pub async fn probe_dns(host: &str, timeout: Duration) -> String {
    match tokio::time::timeout(timeout, tokio::net::lookup_host((host, 443))).await {
        Ok(Ok(mut addrs)) => match addrs.next() {
            Some(_) => "ok".into(),
            None => error(format!("lookup {host}: no address")),
        },
        Ok(Err(e)) => error(format!("lookup {host}: {e}")),
        Err(_) => error(format!("lookup {host}: i/o timeout")),
    }
}

/// `ok` when any HTTPS answer comes back, else `error: …`.
pub async fn probe_https(host: &str, timeout: Duration) -> String {
    let client = match reqwest::Client::builder().timeout(timeout).build() {
        Ok(c) => c,
        Err(e) => return error(e),
    };
    match client.head(format!("https://{host}/")).send().await {
        Ok(_) => "ok".into(),
        Err(e) => error(e),
    }
}

/// The count of `users` in a read-only transaction with a statement timeout, or `error: …`.
pub async fn probe_seed(dsn: &Dsn, timeout: Duration) -> String {
    let work = async {
        let (mut client, connection) =
            tokio_postgres::connect(&dsn.0, tokio_postgres::NoTls).await?;
        let conn = tokio::spawn(async move {
            let _ = connection.await;
        });
        let tx = client.build_transaction().read_only(true).start().await?;
        tx.batch_execute(&format!(
            "SET LOCAL statement_timeout = {}",
            timeout.as_millis()
        ))
        .await?;
        let row = tx.query_one("SELECT count(*) FROM users", &[]).await?;
        let count: i64 = row.get(0);
        tx.rollback().await?;
        drop(client);
        let _ = conn.await;
        Ok::<i64, tokio_postgres::Error>(count)
    };
    match tokio::time::timeout(timeout * 2, work).await {
        Ok(Ok(n)) => n.to_string(),
        Ok(Err(e)) => error(
            e.as_db_error()
                .map(|d| d.message().to_string())
                .unwrap_or_else(|| e.to_string()),
        ),
        Err(_) => error("the seed query timed out"),
    }
}

/// Probes every `interval` until the channel closes.
pub async fn run(config: ProberConfig, feed: StatusFeed, tx: mpsc::Sender<Change>) {
    let mut tick = tokio::time::interval(config.interval);
    loop {
        tick.tick().await;
        let mut results = Vec::new();
        let url = config
            .login_url
            .clone()
            .or_else(|| feed.current().document.urls.login_url.clone());
        if let Some(url) = url {
            results.push((
                "login-url".to_string(),
                probe_login(&url, config.insecure_tls, config.timeout).await,
            ));
        }
        for host in config.dns_hosts.iter().filter(|h| !h.is_empty()) {
            results.push((format!("dns:{host}"), probe_dns(host, config.timeout).await));
        }
        for host in config.https_hosts.iter().filter(|h| !h.is_empty()) {
            results.push((
                format!("https:{host}"),
                probe_https(host, config.timeout).await,
            ));
        }
        if let Some(dsn) = &config.seed_dsn {
            results.push((
                "seed-users".to_string(),
                probe_seed(dsn, config.timeout).await,
            ));
        }
        for (name, value) in results {
            if tx.send(Change::Probe(name, Some(value))).await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::Probes;

    #[tokio::test]
    async fn login_probe_reports_the_redirect_it_gets() {
        let app = axum::Router::new().route(
            "/",
            axum::routing::get(|| async { axum::response::Redirect::temporary("/msp/dashboard") }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let value = probe_login(&format!("http://{addr}/"), false, Duration::from_secs(2)).await;
        assert_eq!(value, "307 /msp/dashboard");
        let mut probes = Probes::default();
        probes.set("login-url", &value).unwrap();
        assert!(probes.login_url().unwrap().works());

        // Nothing listens: a clear error, usable as a probe value.
        drop(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap());
        let closed = probe_login("http://127.0.0.1:1/", false, Duration::from_secs(2)).await;
        assert!(closed.starts_with("error: "), "{closed}");
        probes.set("login-url", &closed).unwrap();
        assert!(!probes.login_url().unwrap().works());
    }

    #[tokio::test]
    async fn dns_probe_resolves_and_fails_clearly() {
        assert_eq!(probe_dns("localhost", Duration::from_secs(2)).await, "ok");
        let bad = probe_dns("no-such-host.invalid", Duration::from_secs(5)).await;
        assert!(
            bad.starts_with("error: lookup no-such-host.invalid"),
            "{bad}"
        );
    }

    #[test]
    fn dsn_never_prints() {
        assert_eq!(
            format!("{:?}", Dsn("postgres://u:secret@db/server".into())),
            "Dsn(***)"
        );
    }
}
