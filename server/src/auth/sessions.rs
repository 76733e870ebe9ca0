//! Browser sessions: a bounded in-memory store that owns the idle expiry, the absolute lifetime,
//! and the cookie settings. Time comes from [`Clock`] (tokio's clock), so tests control it.
//!
//! Choices: a restart logs everyone out (the UI returns to the login page); beyond
//! [`MAX_SESSIONS`] the session closest to expiry is dropped.

use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

/// Sessions kept at most.
pub const MAX_SESSIONS: usize = 256;

/// Wall time read through tokio's clock: the wall time at start plus tokio's elapsed time.
/// Monotonic in production (a wall-clock step does not end sessions), paused and advanced in tests.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    wall: jiff::Timestamp,
    at: Instant,
}

impl Default for Clock {
    fn default() -> Self {
        Clock {
            wall: jiff::Timestamp::now(),
            at: Instant::now(),
        }
    }
}

impl Clock {
    /// Now, as wall time.
    pub fn now(&self) -> jiff::Timestamp {
        let elapsed = jiff::SignedDuration::try_from(self.at.elapsed()).unwrap_or_default();
        self.wall.saturating_add(elapsed).unwrap_or(self.wall)
    }
}

/// What a logged-in session holds.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
pub struct Login {
    /// The token generation it logged in with.
    pub generation: u64,
    /// Unix seconds of the login, for the absolute timeout.
    pub at: i64,
}

/// The session key holding [`Login`].
pub const LOGIN_KEY: &str = "login";

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

    /// The session layer: HttpOnly, SameSite=Strict, Path=/, no Domain, sliding idle expiry.
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

    /// Whether a login is within its absolute lifetime at `now`.
    pub fn within_lifetime(&self, login: &Login, now: jiff::Timestamp) -> bool {
        let age = now.as_second() - login.at;
        age >= 0 && (age as u64) < self.absolute.as_secs()
    }
}

/// A bounded in-memory session store. It keeps its own idle expiry on [`Clock`] (last use plus
/// `idle`), whatever expiry date the record carries.
#[derive(Debug, Clone)]
pub struct BoundedStore {
    records: Arc<Mutex<HashMap<Id, (Record, Instant)>>>,
    idle: Duration,
}

impl BoundedStore {
    /// A store whose sessions end after `idle` without use.
    pub fn new(idle: Duration) -> BoundedStore {
        BoundedStore {
            records: Arc::default(),
            idle,
        }
    }

    /// Sessions held (expired ones included until the next write).
    pub fn len(&self) -> usize {
        self.records.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// Whether no session is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn locked(
        &self,
    ) -> session_store::Result<std::sync::MutexGuard<'_, HashMap<Id, (Record, Instant)>>> {
        self.records
            .lock()
            .map_err(|e| session_store::Error::Backend(e.to_string()))
    }

    fn live(&self, used: Instant, now: Instant) -> bool {
        now.saturating_duration_since(used) < self.idle
    }
}

#[async_trait]
impl SessionStore for BoundedStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let now = Instant::now();
        let mut map = self.locked()?;
        map.retain(|_, (_, used)| self.live(*used, now));
        while map.contains_key(&record.id) {
            record.id = Id::default();
        }
        if map.len() >= MAX_SESSIONS {
            if let Some(oldest) = map
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(id, _)| *id)
            {
                map.remove(&oldest);
            }
        }
        map.insert(record.id, (record.clone(), now));
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let mut map = self.locked()?;
        if map.len() >= MAX_SESSIONS && !map.contains_key(&record.id) {
            return Err(session_store::Error::Backend("session store full".into()));
        }
        map.insert(record.id, (record.clone(), Instant::now()));
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let now = Instant::now();
        let map = self.locked()?;
        Ok(map
            .get(id)
            .filter(|(_, used)| self.live(*used, now))
            .map(|(r, _)| r.clone()))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.locked()?.remove(id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record {
            id: Id::default(),
            data: Default::default(),
            expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        }
    }

    #[tokio::test]
    async fn the_store_is_bounded() {
        let store = BoundedStore::new(Duration::from_secs(1800));
        for _ in 0..(MAX_SESSIONS + 50) {
            store.create(&mut record()).await.unwrap();
        }
        assert_eq!(store.len(), MAX_SESSIONS);
    }

    #[tokio::test(start_paused = true)]
    async fn the_store_owns_the_idle_expiry() {
        let store = BoundedStore::new(Duration::from_secs(60));
        let mut r = record();
        store.create(&mut r).await.unwrap();
        tokio::time::advance(Duration::from_secs(59)).await;
        assert!(store.load(&r.id).await.unwrap().is_some());
        store.save(&r).await.unwrap(); // used: the idle time starts again
        tokio::time::advance(Duration::from_secs(59)).await;
        assert!(store.load(&r.id).await.unwrap().is_some());
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(store.load(&r.id).await.unwrap().is_none());
        // An expired session is dropped at the next creation.
        store.create(&mut record()).await.unwrap();
        assert_eq!(store.len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_clock_follows_tokio_time() {
        let clock = Clock::default();
        let t0 = clock.now();
        tokio::time::advance(Duration::from_secs(8 * 3600)).await;
        assert_eq!(clock.now().duration_since(t0).as_secs(), 8 * 3600);
        let policy = SessionPolicy {
            idle: Duration::from_secs(1800),
            absolute: Duration::from_secs(8 * 3600),
            tls: false,
        };
        let login = Login {
            generation: 1,
            at: t0.as_second(),
        };
        assert!(!policy.within_lifetime(&login, clock.now()));
        assert!(policy.within_lifetime(&login, t0));
    }
}

/// The limits as a browser meets them, through the router, on tokio's paused clock.
#[cfg(test)]
mod through_the_router {
    use crate::web::router;
    use crate::web::testing::{cookie, send, state};
    use axum::http::StatusCode;
    use axum::Router;
    use std::time::Duration;

    const IP: [u8; 4] = [192, 0, 2, 10];

    pub(crate) async fn log_in(app: &Router, ip: [u8; 4]) -> String {
        let r = send(app.clone(), "/login", ip, &[], Some("token=s3cret")).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        cookie(&r).expect("a session cookie")
    }

    pub(crate) async fn status(app: &Router, cookie: &str) -> StatusCode {
        send(app.clone(), "/api/status", IP, &[("cookie", cookie)], None)
            .await
            .status()
    }

    async fn minutes(n: u64) {
        tokio::time::advance(Duration::from_secs(60 * n)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn the_idle_limit_slides_with_use() {
        let app = router(state(Some("s3cret"), true));
        let c = log_in(&app, IP).await;
        minutes(29).await;
        assert_eq!(status(&app, &c).await, StatusCode::OK);
        minutes(29).await;
        assert_eq!(status(&app, &c).await, StatusCode::OK, "used 29 min ago");
        minutes(30).await;
        assert_eq!(
            status(&app, &c).await,
            StatusCode::UNAUTHORIZED,
            "idle 30 min"
        );
        minutes(1).await;
        assert_eq!(
            status(&app, &c).await,
            StatusCode::UNAUTHORIZED,
            "ended, not revived"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_absolute_limit_ends_a_session_in_use() {
        let app = router(state(Some("s3cret"), true));
        let c = log_in(&app, IP).await;
        for _ in 0..23 {
            minutes(20).await;
            assert_eq!(status(&app, &c).await, StatusCode::OK);
        }
        minutes(19).await; // 7 h 59 min after login
        assert_eq!(status(&app, &c).await, StatusCode::OK);
        minutes(1).await; // 8 h
        assert_eq!(status(&app, &c).await, StatusCode::UNAUTHORIZED);
        // A new login starts a new lifetime.
        let again = log_in(&app, IP).await;
        assert_ne!(again, c);
        assert_eq!(status(&app, &again).await, StatusCode::OK);
    }
}

/// `--tls` (served behind a TLS proxy): the cookie is `__Host-` prefixed and `Secure`, over a real
/// TLS listener whose certificate comes from a test CA (made with openssl), checked by the client.
#[cfg(test)]
mod over_tls {
    use crate::web::router;
    use crate::web::testing::state;
    use std::path::Path;
    use tokio::net::TcpListener;

    /// A test CA and a `localhost` certificate signed by it: (CA PEM, leaf PEM, leaf key PEM).
    fn test_ca(dir: &Path) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let made = testenv::tls::test_ca(dir).expect("test CA");
        let read = |f: &Path| std::fs::read(f).unwrap();
        (read(&made.ca), read(&made.cert), read(&made.key))
    }

    #[tokio::test]
    async fn secure_host_prefixed_cookies_over_tls() {
        let dir = std::env::temp_dir().join(format!("as-tls-{}", std::process::id()));
        let (ca, cert, key) = test_ca(&dir);
        let mut s = state(Some("s3cret"), true);
        s.access.policy.tls = true;
        let backend = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let backend_addr = backend.local_addr().unwrap();
        let app = router(s).into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(async move { axum::serve(backend, app).await });
        let port = testenv::tls::tls_proxy(&cert, &key, backend_addr)
            .await
            .unwrap();

        let client = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
            .tls_built_in_root_certs(false)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let base = format!("https://localhost:{port}");
        let r = client
            .post(format!("{base}/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("token=s3cret")
            .send()
            .await
            .expect("TLS with the test CA's certificate");
        assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER);
        let set_cookie =
            testenv::tls::set_cookie(&r, "__Host-appliance-status=").expect("a __Host- cookie");
        for part in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(
                set_cookie.split("; ").any(|p| p == part),
                "{part} missing: {set_cookie}"
            );
        }
        assert!(
            !set_cookie.contains("Domain="),
            "__Host- forbids Domain: {set_cookie}"
        );
        let pair = set_cookie.split(';').next().unwrap().to_string();
        let status = client
            .get(format!("{base}/api/status"))
            .header("cookie", &pair)
            .send()
            .await
            .unwrap();
        assert_eq!(status.status(), reqwest::StatusCode::OK);

        // A client that does not trust the test CA gets no answer at all.
        let stranger = reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .build()
            .unwrap();
        assert!(stranger.get(format!("{base}/livez")).send().await.is_err());
        let _ = std::fs::remove_dir_all(dir);
    }
}
