//! The HTTP server: the Leptos app (SSR + hydration), `GET /api/status`, `/livez`, `/readyz`.
//! Handlers only read the published document.

use crate::auth::{self, Access, BoundedStore};
use app::api::ssr::StatusFeed;
use app::{shell, App};
use axum::extract::{FromRef, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What every handler may read.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub feed: StatusFeed,
    /// Set once the source has produced its first complete document (caches synced).
    pub ready: Arc<AtomicBool>,
    /// Who may see what: the token, sessions, brute-force limits.
    pub access: Access,
    /// Where sessions live (bounded, in memory).
    pub sessions: BoundedStore,
    /// Asks the snapshot's owner for a support bundle.
    pub bundles: crate::bundle::Desk,
    /// Host names served besides IP literals and localhost (`--allowed-host`).
    pub allowed_hosts: Arc<Vec<String>>,
}

/// A request body larger than this gets 413 on every route: the largest the service takes is a
/// login form or a server function's arguments, well under 1 KiB.
pub const MAX_BODY: usize = 64 * 1024;

/// The files of the built site the page needs (`scripts/build.sh` writes them, with `.br` and
/// `.gz` beside each): without them the page is unstyled and never hydrates.
pub const SITE_FILES: [&str; 3] = ["wasm", "js", "css"];

/// Checks that `site_root/pkg` holds the page's files for `output_name`; the error names what
/// is missing and where it looked.
pub fn check_site(site_root: &std::path::Path, output_name: &str) -> crate::Result<()> {
    let pkg = site_root.join("pkg");
    let missing: Vec<String> = SITE_FILES
        .iter()
        .map(|ext| format!("{output_name}.{ext}"))
        .filter(|f| !pkg.join(f).is_file())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(crate::Error::SiteIncomplete { missing, pkg })
}

/// The whole router; tests call it with `oneshot`, without a socket.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let leptos_options = state.leptos_options.clone();
    let feed = state.feed.clone();
    let session_layer = state.access.policy.layer(state.sessions.clone());
    // The wasm, JS and CSS, brotli or gzip as the browser accepts, from the `.br`/`.gz` files
    // `scripts/build.sh` writes beside them (compressed once at build time, never per request).
    let pkg = tower_http::services::ServeDir::new(format!(
        "{}/{}",
        state.leptos_options.site_root, state.leptos_options.site_pkg_dir
    ))
    .precompressed_br()
    .precompressed_gzip();
    Router::new()
        .nest_service("/pkg", pkg)
        .route("/api/status", get(api_status))
        .route("/api/support-bundle", get(support_bundle))
        .route("/metrics", get(metrics))
        .route("/login", get(auth::login_form).post(auth::login))
        .route("/logout", post(auth::logout))
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(feed.clone()),
            move || shell(leptos_options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn_with_state(
            state.access.clone(),
            auth::require_access,
        ))
        .layer(session_layer)
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        // Health endpoints sit outside auth, tracing and timeouts: probes must always get through.
        .route("/livez", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .layer(middleware::from_fn_with_state(
            state.allowed_hosts.clone(),
            auth::check_host,
        ))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(MAX_BODY))
        .layer(middleware::from_fn(auth::security_headers))
        .with_state(state)
}

/// The support bundle, written by the snapshot's owner between two changes (never from a request
/// to Kubernetes); its text is redacted, the service's token included (recognised by digest).
async fn support_bundle(State(state): State<AppState>) -> Response {
    let tokens = state.access.tokens.clone();
    let redactor = crate::bundle::Redactor::with_secrets(move |text| tokens.occurrences(text));
    let name = crate::bundle::bundle_root(&state.feed.current().document);
    match state.bundles.request(redactor).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "application/gzip".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}.tar.gz\""),
                ),
                (header::CACHE_CONTROL, "no-store".to_string()),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "5")],
            e.to_string(),
        )
            .into_response(),
    }
}

async fn readyz(State(state): State<AppState>) -> Response {
    if state.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "waiting for the first complete status",
        )
            .into_response()
    }
}

/// `GET /metrics`: the published document and the access counters, Prometheus text format.
async fn metrics(State(state): State<AppState>) -> Response {
    let text = crate::metrics::render(
        &state.feed.current().document,
        state.feed.assessed_at(),
        &state.access.limiter,
        jiff::Timestamp::now(),
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// `GET /api/status`: the published JSON (access is checked by the middleware: a session or a
/// bearer token).
async fn api_status(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let published = state.feed.current();
    let mut response = if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == published.etag)
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(header::CONTENT_TYPE, "application/json")],
            published.json.clone(),
        )
            .into_response()
    };
    let h = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&published.etag) {
        h.insert(header::ETAG, etag);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Building the router's state and sending requests without a socket, for the tests of the
/// web layer, of each access module, and the fuzz targets (feature `testing`).
#[cfg(any(test, feature = "testing"))]
pub mod testing {
    use super::*;
    use crate::publish::{Engine, Publisher};
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    pub fn state(token: Option<&str>, ready: bool) -> AppState {
        let engine = Engine {
            catalog: Arc::new(crate::catalog::Catalog::embedded()),
            thresholds: crate::assess::Thresholds::default(),
            source: crate::assess::SourceInfo::live(),
        };
        let doc = engine.assess(
            &mut crate::snapshot::Snapshot::default(),
            &crate::probes::Probes::default(),
            jiff::Timestamp::now(),
        );
        let (_publisher, feed) = Publisher::new(doc);
        AppState {
            leptos_options: LeptosOptions::builder()
                .output_name("appliance-status")
                .build(),
            feed,
            ready: Arc::new(AtomicBool::new(ready)),
            access: Access {
                tokens: crate::auth::TokenSource::fixed(token),
                limiter: Arc::default(),
                policy: crate::auth::SessionPolicy {
                    idle: Duration::from_secs(1800),
                    absolute: Duration::from_secs(8 * 3600),
                    tls: false,
                },
                clock: crate::auth::Clock::default(),
                open: token.is_none(),
                metrics_open: false,
            },
            sessions: BoundedStore::new(Duration::from_secs(1800)),
            // Nobody answers: a test that downloads a bundle sets its own desk.
            bundles: crate::bundle::desk().0,
            allowed_hosts: Arc::default(),
        }
    }

    /// A GET from 127.0.0.1.
    pub async fn get(app: Router, uri: &str, headers: &[(&str, &str)]) -> Response {
        send(app, uri, [127, 0, 0, 1], headers, None).await
    }

    /// A request from `ip` with `headers` and a form `body` (POST when given).
    pub async fn send(
        app: Router,
        uri: &str,
        ip: [u8; 4],
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Response {
        let app = app.layer(axum::extract::connect_info::MockConnectInfo(
            std::net::SocketAddr::from((ip, 40000)),
        ));
        let mut req = match body {
            Some(_) => {
                Request::post(uri).header("content-type", "application/x-www-form-urlencoded")
            }
            None => Request::get(uri),
        };
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let body = body.map(|b| Body::from(b.to_string())).unwrap_or_default();
        app.oneshot(req.body(body).unwrap()).await.unwrap()
    }

    /// The `name=value` of a response's session cookie.
    pub fn cookie(response: &Response) -> Option<String> {
        response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.contains("appliance-status="))
            .and_then(|v| v.split(';').next())
            .map(str::to_string)
    }
}

#[cfg(test)]
mod site_tests {
    use super::*;

    #[test]
    fn an_incomplete_site_is_named_file_by_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = check_site(dir.path(), "appliance-status")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("appliance-status.wasm, appliance-status.js, appliance-status.css"),
            "{err}"
        );
        std::fs::create_dir_all(dir.path().join("pkg")).unwrap();
        for ext in ["wasm", "js"] {
            std::fs::write(dir.path().join(format!("pkg/appliance-status.{ext}")), "x").unwrap();
        }
        let err = check_site(dir.path(), "appliance-status")
            .unwrap_err()
            .to_string();
        assert!(err.contains("appliance-status.css not found"), "{err}");
        std::fs::write(dir.path().join("pkg/appliance-status.css"), "x").unwrap();
        assert!(check_site(dir.path(), "appliance-status").is_ok());
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{get, send, state};
    use super::*;

    /// A body over the limit gets 413 on every route, before any door; before, a 3 MB server
    /// function body got 500.
    #[tokio::test]
    async fn oversize_bodies_get_413_everywhere() {
        let app = router(state(Some(&"t".repeat(32)), true));
        let big = "token=".to_string() + &"x".repeat(3 << 20);
        let length = big.len().to_string();
        for uri in ["/login", "/api/status-document", "/logout", "/"] {
            let r = send(
                app.clone(),
                uri,
                [10, 0, 0, 9],
                &[("content-length", &length)],
                Some(&big),
            )
            .await;
            assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE, "{uri}");
        }
        // a body within the limit still reaches its door
        let r = send(app, "/login", [10, 0, 0, 9], &[], Some("token=wrong")).await;
        assert_ne!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }

    /// A request naming another host (a DNS-rebinding page) is refused before any door, so its
    /// guesses never count; the node's address and localhost are served.
    #[tokio::test(start_paused = true)]
    async fn requests_for_other_host_names_get_421() {
        let token = "t".repeat(32);
        let s = state(Some(&token), true);
        let limiter = s.access.limiter.clone();
        let app = router(s);
        let bearer = format!("Bearer {token}");
        for host in [
            "evil.example",
            "evil.example:8080",
            "192.168.64.8.evil.example",
        ] {
            let r = get(
                app.clone(),
                "/api/status",
                &[("host", host), ("authorization", "Bearer wrong")],
            )
            .await;
            assert_eq!(r.status(), StatusCode::MISDIRECTED_REQUEST, "{host}");
        }
        assert_eq!(
            limiter.failures.get(),
            0,
            "refused guesses are not even counted"
        );
        for host in ["192.168.64.8:8080", "localhost:8080", "[fd00::8]:8080"] {
            let r = get(
                app.clone(),
                "/api/status",
                &[("host", host), ("authorization", &bearer)],
            )
            .await;
            assert_eq!(r.status(), StatusCode::OK, "{host}");
        }
    }

    /// The page lives at `/` only; any other path is a plain 404 page, not the status page.
    #[tokio::test]
    async fn other_paths_are_not_found() {
        let app = router(state(None, true));
        let page = get(app.clone(), "/", &[]).await;
        assert_eq!(page.status(), StatusCode::OK);
        let body = axum::body::to_bytes(page.into_body(), 1 << 20)
            .await
            .unwrap();
        assert!(String::from_utf8_lossy(&body).contains("data-testid=\"rollup\""));
        let missing = get(app, "/no-such-page", &[]).await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        let body = axum::body::to_bytes(missing.into_body(), 1 << 20)
            .await
            .unwrap();
        let body = String::from_utf8_lossy(&body);
        assert!(body.contains("Page not found."), "{body}");
        assert!(!body.contains("data-testid=\"rollup\""));
    }

    /// The wasm goes out as the `.br` file beside it to a browser that accepts brotli, and as is to
    /// one that does not.
    #[tokio::test]
    async fn the_wasm_is_served_precompressed() {
        let site = tempfile::tempdir().unwrap();
        std::fs::create_dir(site.path().join("pkg")).unwrap();
        std::fs::write(site.path().join("pkg/appliance-status.wasm"), b"raw wasm").unwrap();
        std::fs::write(site.path().join("pkg/appliance-status.wasm.br"), b"brotli").unwrap();
        let mut st = state(None, true);
        st.leptos_options = LeptosOptions::builder()
            .output_name("appliance-status")
            .site_root(site.path().to_string_lossy().to_string())
            .build();
        let br = get(
            router(st.clone()),
            "/pkg/appliance-status.wasm",
            &[("accept-encoding", "gzip, deflate, br")],
        )
        .await;
        assert_eq!(br.status(), StatusCode::OK);
        assert_eq!(br.headers()[header::CONTENT_ENCODING], "br");
        assert_eq!(br.headers()[header::CONTENT_TYPE], "application/wasm");
        let body = axum::body::to_bytes(br.into_body(), 1024).await.unwrap();
        assert_eq!(&body[..], b"brotli");
        let plain = get(router(st), "/pkg/appliance-status.wasm", &[]).await;
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        let body = axum::body::to_bytes(plain.into_body(), 1024).await.unwrap();
        assert_eq!(&body[..], b"raw wasm");
    }

    #[tokio::test]
    async fn status_api_needs_the_bearer_token() {
        let app = router(state(Some("s3cret-token\n"), true));
        assert_eq!(
            get(app.clone(), "/api/status", &[]).await.status(),
            StatusCode::UNAUTHORIZED
        );
        let wrong = get(
            app.clone(),
            "/api/status",
            &[("authorization", "Bearer nope")],
        )
        .await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(wrong.headers()[header::WWW_AUTHENTICATE], "Bearer");
        let basic = get(
            app.clone(),
            "/api/status",
            &[("authorization", "Basic czNjcmV0LXRva2Vu")],
        )
        .await;
        assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
        let ok = get(
            app.clone(),
            "/api/status",
            &[("authorization", "Bearer s3cret-token")],
        )
        .await;
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(ok.headers()[header::CACHE_CONTROL], "no-store");
        let etag = ok.headers()[header::ETAG].to_str().unwrap().to_string();
        let body = axum::body::to_bytes(ok.into_body(), 1 << 20).await.unwrap();
        let doc: app::status::StatusDocument = serde_json::from_slice(&body).unwrap();
        assert_eq!(doc.site_id, "appliance-single-node");
        let cached = get(
            app,
            "/api/status",
            &[
                ("authorization", "Bearer s3cret-token"),
                ("if-none-match", &etag),
            ],
        )
        .await;
        assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
    }

    #[tokio::test]
    async fn metrics_need_the_token_unless_opened() {
        let app = router(state(Some("s3cret-token"), true));
        assert_eq!(
            get(app.clone(), "/metrics", &[]).await.status(),
            StatusCode::UNAUTHORIZED
        );
        let ok = get(app, "/metrics", &[("authorization", "Bearer s3cret-token")]).await;
        assert_eq!(ok.status(), StatusCode::OK);
        assert!(ok.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"));
        let body = axum::body::to_bytes(ok.into_body(), 1 << 20).await.unwrap();
        assert!(String::from_utf8_lossy(&body)
            .contains("appliance_status_tier_ready{tier=\"platform\"}"));
        let mut open = state(Some("s3cret-token"), true);
        open.access.metrics_open = true;
        let app = router(open);
        assert_eq!(
            get(app.clone(), "/metrics", &[]).await.status(),
            StatusCode::OK
        );
        assert_eq!(
            get(app, "/api/status", &[]).await.status(),
            StatusCode::UNAUTHORIZED,
            "only /metrics is opened"
        );
    }

    #[tokio::test]
    async fn health_endpoints_are_open() {
        let app = router(state(Some("t"), false));
        assert_eq!(
            get(app.clone(), "/livez", &[]).await.status(),
            StatusCode::OK
        );
        assert_eq!(
            get(app, "/readyz", &[]).await.status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        let app = router(state(Some("t"), true));
        assert_eq!(get(app, "/readyz", &[]).await.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn pages_need_a_session_and_carry_security_headers() {
        let app = router(state(Some("t"), true));
        let page = get(app.clone(), "/", &[]).await;
        assert_eq!(page.status(), StatusCode::SEE_OTHER);
        assert_eq!(page.headers()[header::LOCATION], "/login");
        let login = get(app.clone(), "/login", &[]).await;
        assert_eq!(login.status(), StatusCode::OK);
        let h = login.headers();
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(h[header::REFERRER_POLICY], "no-referrer");
        assert!(h[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'"));
        let api = get(app, "/api/status-document", &[]).await;
        assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    }
}
