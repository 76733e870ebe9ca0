//! The HTTP server: the Leptos app (SSR + hydration), `GET /api/status`, `/livez`, `/readyz`.
//! Handlers only read the published document.

use app::api::ssr::StatusFeed;
use app::{shell, App};
use axum::extract::{FromRef, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A bearer token; `Debug` never prints it.
#[derive(Clone)]
pub struct Token(Arc<str>);

impl Token {
    /// Wraps a token, trimmed of surrounding whitespace (files often end with a newline).
    pub fn new(token: &str) -> Option<Token> {
        let t = token.trim();
        (!t.is_empty()).then(|| Token(Arc::from(t)))
    }

    /// Constant-time comparison (length leaks, content does not).
    pub fn matches(&self, candidate: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), candidate.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(***)")
    }
}

/// What every handler may read.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub feed: StatusFeed,
    /// Set once the source has produced its first complete document (caches synced).
    pub ready: Arc<AtomicBool>,
    /// `None` serves `/api/status` without authentication (demo without a token only).
    pub token: Option<Token>,
}

/// The whole router; tests call it with `oneshot`, without a socket.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let leptos_options = state.leptos_options.clone();
    let feed = state.feed.clone();
    Router::new()
        .route("/api/status", get(api_status))
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(feed.clone()),
            move || shell(leptos_options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        // Health endpoints sit outside auth, tracing and timeouts: probes must always get through.
        .route("/livez", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .with_state(state)
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

async fn api_status(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.token {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !presented.is_some_and(|p| token.matches(p.trim())) {
            let mut r = (
                StatusCode::UNAUTHORIZED,
                "a valid bearer token is required\n",
            )
                .into_response();
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return r;
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::{Engine, Publisher};
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    fn state(token: Option<&str>, ready: bool) -> AppState {
        let engine = Engine {
            catalog: Arc::new(crate::catalog::Catalog::embedded()),
            thresholds: crate::assess::Thresholds::default(),
            source: crate::assess::SourceInfo {
                mode: app::status::SourceMode::Live,
                name: None,
            },
        };
        let doc = engine.assess(
            &mut crate::snapshot::Snapshot::default(),
            &crate::probes::Probes::default(),
            jiff::Timestamp::now(),
        );
        let (publisher, feed) = Publisher::new(doc);
        std::mem::forget(publisher); // keep the channel open for the test's lifetime
        AppState {
            leptos_options: LeptosOptions::builder()
                .output_name("appliance-status")
                .build(),
            feed,
            ready: Arc::new(AtomicBool::new(ready)),
            token: token.and_then(Token::new),
        }
    }

    async fn get(app: Router, uri: &str, headers: &[(&str, &str)]) -> Response {
        let mut req = Request::get(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap()
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

    #[test]
    fn tokens_compare_whole_and_never_print() {
        let t = Token::new(" abc \n").unwrap();
        assert!(t.matches("abc"));
        assert!(!t.matches("abd") && !t.matches("ab") && !t.matches("abcd"));
        assert_eq!(format!("{t:?}"), "Token(***)");
        assert!(Token::new("  \n").is_none());
    }
}
