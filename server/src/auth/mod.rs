//! Access to the service, one job per module:
//! - [`token_source`]: the token (mounted Secret file re-read on change, or the environment);
//! - [`limiter`]: failed attempts per address, the lockout and the delay;
//! - [`sessions`]: the bounded session store, idle and absolute limits, cookie settings, the clock;
//! - [`login`]: the login form and logout;
//! - [`headers`]: security headers and cross-site refusal;
//! - here: [`Access`] and the middleware deciding, per request, which door applies.
//!
//! Every door that takes a token — the login form, a bearer token on `/api/status`, a bearer token
//! on a server function (`/api/…`) — counts failures against the same per-address limit and waits
//! the same delay. A lockout is shown as such (429); every wrong-token failure gets the same 401.
//! A valid session is never refused, whatever its address did.

pub mod headers;
pub mod limiter;
pub mod login;
pub mod sessions;
pub mod token_source;

pub use headers::{check_host, cross_site, host_allowed, security_headers};
pub use limiter::{Limiter, FAILURE_WINDOW, MAX_FAILURES};
pub use login::{login, login_form, logout};
pub use sessions::{BoundedStore, Clock, SessionPolicy, MAX_SESSIONS};
pub use token_source::TokenSource;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use sessions::{Login, LOGIN_KEY};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use tower_sessions::Session;

/// Everything the access layer needs.
#[derive(Clone)]
pub struct Access {
    pub tokens: Arc<TokenSource>,
    pub limiter: Arc<Limiter>,
    pub policy: SessionPolicy,
    pub clock: Clock,
    /// Demo without a token: everything is open (logged at startup).
    pub open: bool,
    /// `/metrics` without a token (`--metrics-open`); by default it needs one, like `/api/status`.
    pub metrics_open: bool,
}

impl Access {
    /// Whether this session is logged in with the current token and within its absolute lifetime.
    pub async fn session_valid(&self, session: &Session) -> bool {
        let Ok(Some(login)) = session.get::<Login>(LOGIN_KEY).await else {
            return false;
        };
        login.generation == self.tokens.generation()
            && self.policy.within_lifetime(&login, self.clock.now())
    }

    /// The limiter's "now" (tokio's clock).
    fn instant(&self) -> std::time::Instant {
        tokio::time::Instant::now().into_std()
    }
}

/// The token of an `Authorization: Bearer …` header; `None` without one or for another scheme.
/// The scheme is matched without regard to case (RFC 9110, 11.1).
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim_start_matches(' '))
}

/// The client's address, as the `ConnectInfo` extractor finds it (a test's `MockConnectInfo`
/// included); 0.0.0.0 when the server runs without connection info.
fn peer(request: &Request) -> IpAddr {
    let extensions = request.extensions();
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
        .or_else(|| {
            extensions
                .get::<axum::extract::connect_info::MockConnectInfo<SocketAddr>>()
                .map(|m| m.0)
        })
        .map(|a| a.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

/// Paths that never need a session.
fn is_public(path: &str) -> bool {
    matches!(path, "/login" | "/livez" | "/readyz") || path.starts_with("/pkg/")
}

fn too_many(wait: std::time::Duration) -> Response {
    let mut r = (
        StatusCode::TOO_MANY_REQUESTS,
        format!(
            "too many failed attempts: {}\n",
            limiter::try_again_in(wait)
        ),
    )
        .into_response();
    r.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(wait.as_secs().max(1)),
    );
    r
}

/// The access middleware: cross-site refusal, then session (or bearer, for the API) checks.
pub async fn require_access(
    State(access): State<Access>,
    session: Session,
    request: Request,
    next: Next,
) -> Response {
    if cross_site(request.method(), request.headers()) {
        return (StatusCode::FORBIDDEN, "cross-site request refused\n").into_response();
    }
    let path = request.uri().path().to_string();
    if access.open || is_public(&path) || (access.metrics_open && path == "/metrics") {
        return next.run(request).await;
    }
    // Doors that take a bearer token: the API, server functions, and `/metrics` (scrapers).
    let api = path.starts_with("/api/") || path == "/metrics";
    // A valid session is never refused, whatever its address did (a lockout never ends one).
    let mut allowed = access.session_valid(&session).await;
    let offered = request.headers().contains_key(header::AUTHORIZATION);
    if !allowed && api && offered {
        // A bearer token is a door like the login form: the same per-address limit and delay.
        let ip = peer(&request);
        if let Err(wait) = access.limiter.check(ip, access.instant()) {
            tracing::debug!(%ip, "bearer refused: locked out");
            return too_many(wait);
        }
        allowed = bearer(request.headers()).is_some_and(|t| access.tokens.verify(t).is_some());
        if !allowed {
            access.limiter.fail(ip, access.instant());
            Limiter::delay().await;
            tracing::info!(%ip, "bearer token refused");
        }
    }
    if allowed {
        let mut response = next.run(request).await;
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return response;
    }
    if session
        .get::<Login>(LOGIN_KEY)
        .await
        .ok()
        .flatten()
        .is_some()
    {
        // Expired or from an old token: end it on the server too.
        let _ = session.flush().await;
    }
    if api {
        let mut r = (StatusCode::UNAUTHORIZED, "session ended: log in again\n").into_response();
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        r
    } else {
        Redirect::to("/login").into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_header_parsing() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(bearer(&h), Some("abc"));
        for any_case in ["bearer abc", "BEARER abc", "bEaReR  abc"] {
            h.insert(header::AUTHORIZATION, HeaderValue::from_static(any_case));
            assert_eq!(bearer(&h), Some("abc"), "{any_case}");
        }
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearerabc"));
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&h), None);
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_bytes(b"Bearer \xff").unwrap(),
        );
        assert_eq!(bearer(&h), None, "not text: no token, no panic");
    }
}

/// Every door, through the router, on tokio's paused clock.
#[cfg(test)]
mod doors {
    use super::limiter::FAILURE_DELAY_MS;
    use crate::web::router;
    use crate::web::testing::{cookie, send, state};
    use axum::http::StatusCode;
    use axum::Router;
    use std::time::Duration;
    use tokio::time::Instant;

    const A: [u8; 4] = [192, 0, 2, 1];
    const B: [u8; 4] = [192, 0, 2, 2];

    async fn body(r: axum::response::Response) -> String {
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// One wrong attempt through `door`, timed.
    async fn wrong(app: &Router, door: &str, ip: [u8; 4]) -> (StatusCode, Duration) {
        let began = Instant::now();
        let r = match door {
            "form" => send(app.clone(), "/login", ip, &[], Some("token=guess")).await,
            "api" => {
                let h = [("authorization", "Bearer guess")];
                send(app.clone(), "/api/status", ip, &h, None).await
            }
            _ => {
                // A server function (POST, as the page calls it).
                let h = [("authorization", "Bearer guess")];
                send(app.clone(), "/api/status-document", ip, &h, Some("")).await
            }
        };
        (r.status(), began.elapsed())
    }

    async fn right_bearer(app: &Router, ip: [u8; 4]) -> StatusCode {
        let h = [("authorization", "Bearer s3cret")];
        send(app.clone(), "/api/status", ip, &h, None)
            .await
            .status()
    }

    #[tokio::test(start_paused = true)]
    async fn every_door_shares_the_limit_the_delay_and_the_window() {
        let delay = Duration::from_millis(*FAILURE_DELAY_MS.start())
            ..=Duration::from_millis(*FAILURE_DELAY_MS.end());
        for doors in [
            ["form"; 5],
            ["api"; 5],
            ["function"; 5],
            ["form", "api", "function", "api", "form"],
        ] {
            let app = router(state(Some("s3cret"), true));
            let session = {
                let r = send(app.clone(), "/login", A, &[], Some("token=s3cret")).await;
                cookie(&r).unwrap()
            };
            for door in doors {
                let (code, took) = wrong(&app, door, A).await;
                assert_eq!(code, StatusCode::UNAUTHORIZED, "{door}");
                assert!(delay.contains(&took), "{door}: waited {took:?}");
            }
            // Locked: every door, even with the right token, from that address only.
            let r = send(app.clone(), "/login", A, &[], Some("token=s3cret")).await;
            assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "{doors:?}");
            assert!(body(r).await.contains("Try again in 5 minutes."));
            assert_eq!(
                right_bearer(&app, A).await,
                StatusCode::TOO_MANY_REQUESTS,
                "{doors:?}"
            );
            let began = Instant::now();
            assert_eq!(wrong(&app, "api", A).await.0, StatusCode::TOO_MANY_REQUESTS);
            assert!(
                began.elapsed() < *delay.start(),
                "a lockout answers at once"
            );
            assert_eq!(right_bearer(&app, B).await, StatusCode::OK);
            // A lockout never ends a valid session.
            let h = [("cookie", session.as_str())];
            let r = send(app.clone(), "/api/status", A, &h, None).await;
            assert_eq!(r.status(), StatusCode::OK);
            // The window: locked until the oldest failure is five minutes old.
            tokio::time::advance(Duration::from_secs(4 * 60)).await;
            assert_eq!(right_bearer(&app, A).await, StatusCode::TOO_MANY_REQUESTS);
            tokio::time::advance(Duration::from_secs(60)).await;
            assert_eq!(right_bearer(&app, A).await, StatusCode::OK);
            let r = send(app.clone(), "/login", A, &[], Some("token=s3cret")).await;
            assert_eq!(r.status(), StatusCode::SEE_OTHER);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_right_token_is_never_charged() {
        let app = router(state(Some("s3cret"), true));
        for _ in 0..50 {
            assert_eq!(right_bearer(&app, A).await, StatusCode::OK);
        }
        for _ in 0..4 {
            wrong(&app, "api", A).await;
        }
        assert_eq!(
            right_bearer(&app, A).await,
            StatusCode::OK,
            "four failures: not locked"
        );
    }
}
