//! Access: the token (from the mounted Secret's file, re-read when it changes, or the environment),
//! browser sessions issued after token entry, bearer tokens for API clients, brute-force limits,
//! cross-site request refusal, and the security headers every response carries.
//!
//! Choices: sessions live in a bounded in-memory store (a restart logs everyone out, which the UI
//! handles by returning to the login page); the brute-force limit is per client address, bounded;
//! a lockout is shown as such (429), while every wrong-token failure gets the same 401 and text.

use async_trait::async_trait;
use axum::extract::{ConnectInfo, Form, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use rand::Rng;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};
use tower_sessions::Session;

/// Failures allowed per window before logins are refused.
pub const MAX_FAILURES: usize = 5;
/// The failure window, and how long a lockout lasts.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(5 * 60);
/// Client addresses tracked at most by the limiter.
const LIMITER_CAPACITY: usize = 4096;
/// Sessions kept at most; the oldest is dropped beyond it.
pub const MAX_SESSIONS: usize = 256;
/// The session key holding [`Login`].
const LOGIN_KEY: &str = "login";

/// The current token, as a digest, and its generation (bumped on every change).
#[derive(Debug)]
pub struct TokenSource {
    state: RwLock<Option<([u8; 32], u64)>>,
    file: Option<PathBuf>,
}

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.trim().as_bytes()).into()
}

impl TokenSource {
    /// A token read from a file (the mounted Secret), re-read by [`TokenSource::watch`].
    pub fn from_file(path: PathBuf) -> std::io::Result<Arc<TokenSource>> {
        let text = std::fs::read_to_string(&path)?;
        let state = (!text.trim().is_empty()).then(|| (digest(&text), 1));
        Ok(Arc::new(TokenSource {
            state: RwLock::new(state),
            file: Some(path),
        }))
    }

    /// A fixed token (environment); `None` or empty means no token.
    pub fn fixed(token: Option<&str>) -> Arc<TokenSource> {
        let state = token
            .filter(|t| !t.trim().is_empty())
            .map(|t| (digest(t), 1));
        Arc::new(TokenSource {
            state: RwLock::new(state),
            file: None,
        })
    }

    /// Whether a token is configured.
    pub fn is_set(&self) -> bool {
        self.state.read().map(|s| s.is_some()).unwrap_or(false)
    }

    /// The generation of the current token (sessions of older generations are over).
    pub fn generation(&self) -> u64 {
        self.state
            .read()
            .ok()
            .and_then(|s| s.map(|(_, g)| g))
            .unwrap_or(0)
    }

    /// Constant-time comparison over digests; returns the token's generation on a match.
    pub fn verify(&self, candidate: &str) -> Option<u64> {
        let (want, generation) = (*self.state.read().ok()?)?;
        let got = digest(candidate);
        let diff = want
            .iter()
            .zip(got.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        (diff == 0).then_some(generation)
    }

    /// Re-reads the token file every `every`; a changed token ends every session.
    pub async fn watch(self: Arc<Self>, every: Duration) {
        let Some(path) = self.file.clone() else {
            return;
        };
        loop {
            tokio::time::sleep(every).await;
            let Ok(text) = tokio::fs::read_to_string(&path).await else {
                continue;
            };
            if text.trim().is_empty() {
                continue;
            }
            let new = digest(&text);
            if let Ok(mut state) = self.state.write() {
                if state.map(|(d, _)| d) != Some(new) {
                    let generation = state.map(|(_, g)| g).unwrap_or(0) + 1;
                    *state = Some((new, generation));
                    tracing::info!("the token changed: every session has ended");
                }
            }
        }
    }
}

/// Failed logins per client address, bounded.
#[derive(Debug, Default)]
pub struct Limiter {
    failures: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl Limiter {
    /// `Err(wait)` while the address is locked out.
    pub fn check(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let Some(times) = map.get_mut(&ip) else {
            return Ok(());
        };
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= FAILURE_WINDOW)
        {
            times.pop_front();
        }
        if times.len() >= MAX_FAILURES {
            let oldest = *times.front().expect("non-empty");
            return Err(FAILURE_WINDOW.saturating_sub(now.duration_since(oldest)));
        }
        Ok(())
    }

    /// Records a failure.
    pub fn fail(&self, ip: IpAddr, now: Instant) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= LIMITER_CAPACITY && !map.contains_key(&ip) {
            // Forget the address whose last failure is oldest.
            if let Some(victim) = map
                .iter()
                .min_by_key(|(_, t)| t.back().copied())
                .map(|(ip, _)| *ip)
            {
                map.remove(&victim);
            }
        }
        let times = map.entry(ip).or_default();
        times.push_back(now);
        while times.len() > MAX_FAILURES {
            times.pop_front();
        }
    }

    /// Addresses tracked (for tests of the bound).
    pub fn tracked(&self) -> usize {
        self.failures.lock().map(|m| m.len()).unwrap_or(0)
    }
}

/// A bounded in-memory session store.
#[derive(Debug, Default, Clone)]
pub struct BoundedStore {
    records: Arc<Mutex<HashMap<Id, Record>>>,
}

impl BoundedStore {
    /// Sessions held.
    pub fn len(&self) -> usize {
        self.records.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// Whether no session is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl SessionStore for BoundedStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let mut map = self
            .records
            .lock()
            .map_err(|e| session_store::Error::Backend(e.to_string()))?;
        let now = time::OffsetDateTime::now_utc();
        map.retain(|_, r| r.expiry_date > now);
        while map.contains_key(&record.id) {
            record.id = Id::default();
        }
        if map.len() >= MAX_SESSIONS {
            if let Some(oldest) = map
                .iter()
                .min_by_key(|(_, r)| r.expiry_date)
                .map(|(id, _)| *id)
            {
                map.remove(&oldest);
            }
        }
        map.insert(record.id, record.clone());
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let mut map = self
            .records
            .lock()
            .map_err(|e| session_store::Error::Backend(e.to_string()))?;
        if map.len() >= MAX_SESSIONS && !map.contains_key(&record.id) {
            return Err(session_store::Error::Backend("session store full".into()));
        }
        map.insert(record.id, record.clone());
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let map = self
            .records
            .lock()
            .map_err(|e| session_store::Error::Backend(e.to_string()))?;
        Ok(map
            .get(id)
            .filter(|r| r.expiry_date > time::OffsetDateTime::now_utc())
            .cloned())
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let mut map = self
            .records
            .lock()
            .map_err(|e| session_store::Error::Backend(e.to_string()))?;
        map.remove(id);
        Ok(())
    }
}

/// What a logged-in session holds.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
struct Login {
    /// The token generation it logged in with.
    generation: u64,
    /// Unix seconds of the login, for the absolute timeout.
    at: i64,
}

/// Session timeouts and cookie settings.
#[derive(Clone, Debug)]
pub struct SessionPolicy {
    pub idle: Duration,
    pub absolute: Duration,
    /// Served over TLS: `Secure` cookie with the `__Host-` prefix.
    pub tls: bool,
}

impl SessionPolicy {
    /// The cookie name for this policy.
    pub fn cookie_name(&self) -> &'static str {
        if self.tls {
            "__Host-appliance-status"
        } else {
            "appliance-status"
        }
    }

    /// The session layer: HttpOnly, SameSite=Strict, sliding idle expiry.
    pub fn layer(&self, store: BoundedStore) -> tower_sessions::SessionManagerLayer<BoundedStore> {
        tower_sessions::SessionManagerLayer::new(store)
            .with_name(self.cookie_name())
            .with_http_only(true)
            .with_same_site(tower_sessions::cookie::SameSite::Strict)
            .with_secure(self.tls)
            .with_path("/")
            // Every request renews the idle expiry (sliding), not only requests that write.
            .with_always_save(true)
            .with_expiry(tower_sessions::Expiry::OnInactivity(
                time::Duration::try_from(self.idle).unwrap_or(time::Duration::minutes(30)),
            ))
    }
}

/// Everything the access layer needs.
#[derive(Clone)]
pub struct Access {
    pub tokens: Arc<TokenSource>,
    pub limiter: Arc<Limiter>,
    pub policy: SessionPolicy,
    /// Demo without a token: everything is open (logged at startup).
    pub open: bool,
}

impl Access {
    /// Whether this session is logged in with the current token and within its absolute lifetime.
    pub async fn session_valid(&self, session: &Session) -> bool {
        let Ok(Some(login)) = session.get::<Login>(LOGIN_KEY).await else {
            return false;
        };
        let age = jiff::Timestamp::now().as_second() - login.at;
        login.generation == self.tokens.generation()
            && age >= 0
            && (age as u64) < self.policy.absolute.as_secs()
    }

    /// Whether a bearer header carries the token.
    pub fn bearer_valid(&self, headers: &HeaderMap) -> bool {
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|t| self.tokens.verify(t).is_some())
    }
}

/// The login form.
#[derive(serde::Deserialize)]
pub struct LoginForm {
    pub token: String,
}

const LOGIN_PAGE: &str = include_str!("login.html");

fn login_page(status: StatusCode, message: &str) -> Response {
    let notice = if message.is_empty() {
        String::new()
    } else {
        format!(r#"<p class="banner error" role="alert" data-testid="login-error">{message}</p>"#)
    };
    (status, Html(LOGIN_PAGE.replace("{{notice}}", &notice))).into_response()
}

/// `GET /login`.
pub async fn login_form(State(access): State<Access>, session: Session) -> Response {
    if access.open || access.session_valid(&session).await {
        return Redirect::to("/").into_response();
    }
    login_page(StatusCode::OK, "")
}

/// `POST /login`: a correct token starts a session (with a fresh id).
pub async fn login(
    State(access): State<Access>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    session: Session,
    Form(form): Form<LoginForm>,
) -> Response {
    let ip = peer.ip();
    if let Err(wait) = access.limiter.check(ip, Instant::now()) {
        let minutes = wait.as_secs().div_ceil(60).max(1);
        tracing::warn!(%ip, "login refused: too many failed attempts");
        return login_page(
            StatusCode::TOO_MANY_REQUESTS,
            &format!(
                "Too many failed attempts. Try again in {minutes} minute{}.",
                if minutes == 1 { "" } else { "s" }
            ),
        );
    }
    match access.tokens.verify(&form.token) {
        Some(generation) => {
            let login = Login {
                generation,
                at: jiff::Timestamp::now().as_second(),
            };
            if session.cycle_id().await.is_err() || session.insert(LOGIN_KEY, login).await.is_err()
            {
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "sessions are unavailable, try again",
                )
                    .into_response();
            }
            tracing::info!(%ip, "login");
            Redirect::to("/").into_response()
        }
        None => {
            access.limiter.fail(ip, Instant::now());
            let delay = rand::rng().random_range(500..=1000);
            tokio::time::sleep(Duration::from_millis(delay)).await;
            tracing::info!(%ip, "login failed");
            login_page(StatusCode::UNAUTHORIZED, "That token is not valid.")
        }
    }
}

/// `POST /logout`: ends the session on the server.
pub async fn logout(session: Session) -> Response {
    let _ = session.flush().await;
    Redirect::to("/login").into_response()
}

/// Paths that never need a session.
fn is_public(path: &str) -> bool {
    matches!(path, "/login" | "/livez" | "/readyz") || path.starts_with("/pkg/")
}

/// Refuses cross-site non-GET requests (`Sec-Fetch-Site`, else `Origin` against `Host`).
pub fn cross_site(method: &Method, headers: &HeaderMap) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return !matches!(site, "same-origin" | "none");
    }
    match (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        headers.get(header::HOST).and_then(|v| v.to_str().ok()),
    ) {
        (Some(origin), Some(host)) => origin.split_once("://").map(|(_, h)| h) != Some(host),
        (Some(_), None) => true,
        _ => false,
    }
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
    if access.open || is_public(&path) {
        return next.run(request).await;
    }
    let api = path.starts_with("/api/");
    // A valid session is never refused, whatever its address did (a lockout never ends one).
    let mut allowed = access.session_valid(&session).await;
    let bearer = api && request.headers().contains_key(header::AUTHORIZATION);
    if !allowed && bearer {
        // A bearer token is a door like the login form: the same per-address limit and delay.
        let ip = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        if let Err(wait) = access.limiter.check(ip, Instant::now()) {
            tracing::warn!(%ip, "bearer refused: too many failed attempts");
            let mut r = (
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "too many failed attempts: try again in {} minutes\n",
                    wait.as_secs().div_ceil(60).max(1)
                ),
            )
                .into_response();
            r.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(wait.as_secs().max(1)),
            );
            return r;
        }
        allowed = access.bearer_valid(request.headers());
        if !allowed {
            access.limiter.fail(ip, Instant::now());
            let delay = rand::rng().random_range(500..=1000);
            tokio::time::sleep(Duration::from_millis(delay)).await;
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

/// The policy for pages without scripts (login, errors, JSON); the app sets its own with a nonce.
const DEFAULT_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Security headers on every response.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DEFAULT_CSP),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_verification_and_generations() {
        let t = TokenSource::fixed(Some("correct horse\n"));
        assert_eq!(t.verify("correct horse"), Some(1));
        assert_eq!(t.verify("correct hors"), None);
        assert_eq!(t.verify(""), None);
        assert!(!TokenSource::fixed(Some("  ")).is_set());
    }

    #[tokio::test]
    async fn a_changed_token_file_bumps_the_generation() {
        let dir = std::env::temp_dir().join(format!("as-token-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, "first\n").unwrap();
        let t = TokenSource::from_file(file.clone()).unwrap();
        assert_eq!(t.verify("first"), Some(1));
        tokio::spawn(t.clone().watch(Duration::from_millis(20)));
        std::fs::write(&file, "second\n").unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(t.verify("first"), None);
        assert_eq!(t.verify("second"), Some(2));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn limiter_locks_after_five_failures_and_forgets_after_the_window() {
        let l = Limiter::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..MAX_FAILURES {
            assert!(l.check(ip, t0).is_ok(), "attempt {i}");
            l.fail(ip, t0);
        }
        let wait = l.check(ip, t0 + Duration::from_secs(60)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(240));
        assert!(
            l.check("192.0.2.2".parse().unwrap(), t0).is_ok(),
            "other addresses are not locked"
        );
        assert!(l.check(ip, t0 + FAILURE_WINDOW).is_ok());
    }

    #[test]
    fn limiter_memory_is_bounded() {
        let l = Limiter::default();
        let t0 = Instant::now();
        for i in 0..(LIMITER_CAPACITY as u32 + 500) {
            l.fail(
                IpAddr::from(i.to_be_bytes()),
                t0 + Duration::from_millis(u64::from(i)),
            );
        }
        assert_eq!(l.tracked(), LIMITER_CAPACITY);
    }

    #[tokio::test]
    async fn session_store_is_bounded() {
        let store = BoundedStore::default();
        let expiry = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
        for _ in 0..(MAX_SESSIONS + 50) {
            let mut r = Record {
                id: Id::default(),
                data: Default::default(),
                expiry_date: expiry,
            };
            store.create(&mut r).await.unwrap();
        }
        assert_eq!(store.len(), MAX_SESSIONS);
    }

    #[test]
    fn cross_site_requests_are_recognised() {
        let mut h = HeaderMap::new();
        assert!(
            !cross_site(&Method::POST, &h),
            "no browser headers: a CLI client"
        );
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(cross_site(&Method::POST, &h));
        assert!(!cross_site(&Method::GET, &h));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(!cross_site(&Method::POST, &h));
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("10.0.0.5:8080"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(cross_site(&Method::POST, &h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://10.0.0.5:8080"),
        );
        assert!(!cross_site(&Method::POST, &h));
    }
}
