//! The listener's discipline: what a connection may cost before it has shown it is a client.
//!
//! The service listens on a node port anyone on the site's network reaches. A connection that
//! never finishes its headers, dribbles them (slowloris) or sits idle must not hold memory or file
//! descriptors for long, and must never crowd out a client that completes a request. So:
//!
//! - **header read**: a new connection has `header_read` to complete its first request's headers
//!   (hyper's own header timer, a second longer, backs it up on every request);
//! - **idle**: between requests, a kept-alive connection is closed after `idle`; so is one whose
//!   response has not moved a byte to the client for `idle` (a reader that never reads);
//! - **caps**: at most `max_connections` at once, at most `max_per_client` from one address
//!   (an IPv6 client by its /64). At a cap, the connection that has shown least goes first: one
//!   that never completed a request, from the address holding the most connections, the oldest
//!   first; then the longest idle. A request whose body is still arriving counts as unfinished
//!   (a client dribbling a body holds no place a finished request needs). A connection with a
//!   whole request in flight (its response still streaming included) is never closed for room:
//!   one whose request began just as it was picked finishes that request, then closes. A
//!   newcomer that finds no room is closed at once;
//! - **buffers**: hyper's read buffer is bounded (`MAX_BUF`), so an unfinished connection costs at
//!   most that;
//! - **drain**: on shutdown, nothing new is accepted, idle connections close at once, requests in
//!   flight get `drain` to finish (the chart's `terminationGracePeriodSeconds` is longer);
//! - **TLS** (opt-in, `crate::tls`): the handshake is part of the first request's header time.

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tokio::time::Instant;
use tower::ServiceExt;

/// hyper's read buffer at most (its minimum is 8 KiB): a request's headers must fit. Browsers send
/// 1–4 KiB; the service's own cookie is under 100 bytes.
pub const MAX_BUF: usize = 16 * 1024;

/// The limits; `serve`'s flags set them (`--header-read-timeout`, …).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub header_read: Duration,
    pub idle: Duration,
    pub max_connections: usize,
    pub max_per_client: usize,
    pub drain: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read: Duration::from_secs(10),
            idle: Duration::from_secs(30),
            max_connections: 512,
            max_per_client: 64,
            drain: Duration::from_secs(10),
        }
    }
}

/// The key a client's connections are counted under: its address, an IPv6 address by its /64
/// (one host commonly holds a whole /64).
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut seg = v6.segments();
                seg[4..].fill(0);
                IpAddr::V6(seg.into())
            }
        },
    }
}

/// One connection, as the table sees it.
struct Conn {
    key: IpAddr,
    accepted: Instant,
    /// Requests whose response has not finished (body included).
    in_flight: AtomicUsize,
    /// A request in flight whose body has not all arrived.
    receiving: AtomicBool,
    /// Requests answered completely.
    served: AtomicUsize,
    /// When the last response finished, in milliseconds after `accepted`.
    last_done_ms: AtomicU64,
    /// When a request began or the connection last wrote to the client, in milliseconds after
    /// `accepted`.
    progress_ms: AtomicU64,
    /// Told to close (for room, or at shutdown).
    close: Notify,
    /// A request began or ended: its deadline moved.
    changed: Notify,
}

impl Conn {
    /// A connection from `key`, accepted now.
    fn new(key: IpAddr) -> Conn {
        Conn {
            key,
            accepted: Instant::now(),
            in_flight: AtomicUsize::new(0),
            receiving: AtomicBool::new(false),
            served: AtomicUsize::new(0),
            last_done_ms: AtomicU64::new(0),
            progress_ms: AtomicU64::new(0),
            close: Notify::new(),
            changed: Notify::new(),
        }
    }

    /// When this connection is due to close: idle, `idle` after its last response (or
    /// `header_read` after it opened); with a request in flight, `idle` after its last progress.
    fn deadline(&self, limits: &Limits) -> Option<Instant> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return Some(
                self.accepted
                    + Duration::from_millis(self.progress_ms.load(Ordering::Acquire))
                    + limits.idle,
            );
        }
        Some(if self.served.load(Ordering::Acquire) == 0 {
            self.accepted + limits.header_read
        } else {
            // a response hyper still writes counts as activity, though its body is all taken
            let last = self
                .last_done_ms
                .load(Ordering::Acquire)
                .max(self.progress_ms.load(Ordering::Acquire));
            self.accepted + Duration::from_millis(last) + limits.idle
        })
    }

    /// How much room-making should spare it: lower goes first; `None`: never closed for room.
    fn worth(&self) -> Option<(usize, Instant)> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            if self.receiving.load(Ordering::Acquire) {
                // its body still arriving: as unfinished as headers still arriving
                let progress = Duration::from_millis(self.progress_ms.load(Ordering::Acquire));
                return Some((0, self.accepted + progress));
            }
            return None;
        }
        let served = self.served.load(Ordering::Acquire).min(1);
        let last = self.accepted + Duration::from_millis(self.last_done_ms.load(Ordering::Acquire));
        Some((served, last))
    }
}

/// Every open connection.
#[derive(Default)]
struct Table {
    next: u64,
    conns: HashMap<u64, Arc<Conn>>,
    per_key: HashMap<IpAddr, usize>,
}

impl Table {
    /// The least worthy idle connection among those `filter` admits: one that never completed a
    /// request before one that did; then one of the address holding the most connections (so a
    /// flood from some addresses cannot push out a client from another); then the longest idle.
    fn victim(&self, filter: impl Fn(&Conn) -> bool) -> Option<u64> {
        self.conns
            .iter()
            .filter(|(_, c)| filter(c))
            .filter_map(|(id, c)| {
                let (served, last) = c.worth()?;
                let crowd = self.per_key.get(&c.key).copied().unwrap_or(0);
                Some(((served, std::cmp::Reverse(crowd), last), *id))
            })
            .min()
            .map(|(_, id)| id)
    }

    /// Makes room for a connection from `key`: closes the least worthy idle connection when a
    /// cap is reached. `false`: no room (every connection at the cap has a request in flight).
    fn make_room(&mut self, key: IpAddr, limits: &Limits) -> bool {
        if self.per_key.get(&key).copied().unwrap_or(0) >= limits.max_per_client {
            match self.victim(|c| c.key == key) {
                Some(id) => self.evict(id),
                None => return false,
            }
        }
        if self.conns.len() >= limits.max_connections {
            match self.victim(|_| true) {
                Some(id) => self.evict(id),
                None => return false,
            }
        }
        true
    }

    fn insert(&mut self, conn: Arc<Conn>) -> u64 {
        self.next += 1;
        *self.per_key.entry(conn.key).or_default() += 1;
        self.conns.insert(self.next, conn);
        self.next
    }

    /// Removes `id` from the table and tells it to close.
    fn evict(&mut self, id: u64) {
        if let Some(conn) = self.remove(id) {
            conn.close.notify_one();
        }
    }

    fn remove(&mut self, id: u64) -> Option<Arc<Conn>> {
        let conn = self.conns.remove(&id)?;
        if let Some(n) = self.per_key.get_mut(&conn.key) {
            *n -= 1;
            if *n == 0 {
                self.per_key.remove(&conn.key);
            }
        }
        Some(conn)
    }
}

/// What the serving loop reports (the figures `/metrics` and the tests read).
#[derive(Default, Debug)]
pub struct Counters {
    pub accepted: AtomicU64,
    /// Closed to make room for another connection.
    pub evicted: AtomicU64,
    /// Closed at once: no room.
    pub refused: AtomicU64,
    /// Closed for taking too long to send headers, or idle too long.
    pub timed_out: AtomicU64,
    pub open: AtomicUsize,
}

/// Serves `app` on `listener` under `limits` until `shutdown` turns true, then drains; over TLS
/// when `tls` is given.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    counters: Arc<Counters>,
    mut shutdown: watch::Receiver<bool>,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> std::io::Result<()> {
    let table = Arc::new(Mutex::new(Table::default()));
    let mut tasks = tokio::task::JoinSet::new();
    tokio::spawn(give_back_memory(counters.clone(), shutdown.clone()));
    loop {
        enum Next {
            Conn(tokio::net::TcpStream, SocketAddr),
            Retry,
            Stop,
            Reaped,
        }
        let next = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => Next::Conn(stream, peer),
                Err(e) => {
                    tracing::warn!("accept: {e}");
                    Next::Retry
                }
            },
            _ = stopped(&mut shutdown) => Next::Stop,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => Next::Reaped,
        };
        let (stream, peer) = match next {
            Next::Conn(stream, peer) => (stream, peer),
            // EMFILE and the like: wait a moment rather than spin; nothing is lost.
            Next::Retry => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            Next::Stop => break,
            Next::Reaped => continue,
        };
        counters.accepted.fetch_add(1, Ordering::Relaxed);
        let _ = stream.set_nodelay(true);
        let key = client_key(peer.ip());
        let conn = Arc::new(Conn::new(key));
        let id = {
            let mut t = table.lock().unwrap_or_else(|e| e.into_inner());
            let before = t.conns.len();
            if !t.make_room(key, &limits) {
                counters.refused.fetch_add(1, Ordering::Relaxed);
                continue; // dropping the stream closes it
            }
            let evicted = before - t.conns.len();
            counters
                .evicted
                .fetch_add(evicted as u64, Ordering::Relaxed);
            t.insert(conn.clone())
        };
        counters.open.fetch_add(1, Ordering::Relaxed);
        let app = app.clone();
        let table = table.clone();
        let counters = counters.clone();
        let stop = shutdown.clone();
        let tls = tls.clone();
        tasks.spawn(async move {
            match tls {
                None => serve_connection(stream, peer, app, conn.clone(), limits, &counters, stop).await,
                Some(acceptor) => {
                    // the handshake counts against the first request's header time
                    let deadline = conn.accepted + limits.header_read;
                    let handshake = tokio::time::timeout_at(deadline, acceptor.accept(stream));
                    tokio::select! {
                        done = handshake => match done {
                            Ok(Ok(tls)) => {
                                serve_connection(tls, peer, app, conn.clone(), limits, &counters, stop)
                                    .await
                            }
                            Ok(Err(e)) => tracing::debug!(%peer, "TLS handshake: {e}"),
                            Err(_) => {
                                counters.timed_out.fetch_add(1, Ordering::Relaxed);
                            }
                        },
                        _ = conn.close.notified() => {}
                    }
                }
            }
            table.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
            counters.open.fetch_sub(1, Ordering::Relaxed);
        });
    }
    drop(listener);
    // Drain: every connection task sees the shutdown; those still running after the deadline are
    // cut.
    let _ = tokio::time::timeout(limits.drain + Duration::from_millis(500), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    tasks.abort_all();
    Ok(())
}

/// One connection: hyper serves it; this closes it when it is idle past its deadline, asked to
/// make room, or when the service stops (after `drain` for a request in flight).
async fn serve_connection<S>(
    stream: S,
    peer: SocketAddr,
    app: Router,
    conn: Arc<Conn>,
    limits: Limits,
    counters: &Counters,
    mut stop: watch::Receiver<bool>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = {
        let conn = conn.clone();
        hyper::service::service_fn(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let guard = InFlight::begin(conn.clone());
            let req = if http_body::Body::is_end_stream(req.body()) {
                req.map(Body::new)
            } else {
                conn.receiving.store(true, Ordering::Release);
                req.map(|body| {
                    Body::new(Arriving {
                        body,
                        conn: conn.clone(),
                    })
                })
            };
            let app = app.clone();
            async move {
                let response = app.oneshot(req).await?;
                Ok::<_, std::convert::Infallible>(
                    response.map(|body| Body::new(Guarded { body, guard })),
                )
            }
        })
    };
    let mut http = hyper::server::conn::http1::Builder::new();
    // hyper's own header timer is a backstop a second behind this module's deadline (which
    // also covers the time between requests, and counts what it closes).
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read + Duration::from_secs(1))
        .max_buf_size(MAX_BUF)
        .keep_alive(true);
    let watched = Watched {
        inner: stream,
        conn: conn.clone(),
    };
    let connection = http.serve_connection(TokioIo::new(watched), service);
    tokio::pin!(connection);
    let mut draining: Option<Instant> = None;
    loop {
        let wake = match (draining, conn.deadline(&limits)) {
            (Some(cut), _) => cut,
            (None, Some(deadline)) => deadline,
            // a request in flight: look again in a while
            (None, None) => Instant::now() + limits.idle.min(Duration::from_secs(1)),
        };
        tokio::select! {
            _ = connection.as_mut() => return,
            _ = conn.close.notified() => {
                // picked for room while idle or receiving; a whole request that began as it was
                // picked is answered, and the connection closes after it
                if conn.in_flight.load(Ordering::Acquire) == 0
                    || conn.receiving.load(Ordering::Acquire)
                    || draining.is_some()
                {
                    return;
                }
                connection.as_mut().graceful_shutdown();
                draining = Some(Instant::now() + limits.idle);
            }
            _ = conn.changed.notified() => {}
            _ = tokio::time::sleep_until(wake) => {
                if draining.is_some() {
                    return; // the drain deadline passed
                }
                if conn.deadline(&limits).is_some_and(|d| d <= Instant::now()) {
                    counters.timed_out.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
            _ = stopped(&mut stop), if draining.is_none() => {
                // idle: close now; a request in flight finishes first (keep-alive off)
                if conn.in_flight.load(Ordering::Acquire) == 0 {
                    return;
                }
                connection.as_mut().graceful_shutdown();
                draining = Some(Instant::now() + limits.drain);
            }
        }
    }
}

/// After a burst of connections (a flood), hands the memory their buffers took back to the
/// system: glibc's allocator keeps freed memory in its arenas otherwise, and the pod's resident
/// size would stay at the flood's peak.
async fn give_back_memory(counters: Arc<Counters>, mut stop: watch::Receiver<bool>) {
    let mut seen = counters.accepted.load(Ordering::Relaxed);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(10)) => {}
            _ = stopped(&mut stop) => return,
        }
        let now = counters.accepted.load(Ordering::Relaxed);
        if now - seen > 256 {
            trim_allocator();
        }
        seen = now;
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim_allocator() {
    // SAFETY: malloc_trim only returns free memory at the top of glibc's heaps to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim_allocator() {}

/// Resolves once the service is told to stop (or its sender is gone).
async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

/// Marks a request in flight on its connection until its response body ends (or is dropped).
struct InFlight(Arc<Conn>);

impl Conn {
    /// Something moved: a request began, or bytes went to the client.
    fn touch(&self) {
        let ms = self.accepted.elapsed().as_millis().min(u64::MAX as u128) as u64;
        self.progress_ms.store(ms, Ordering::Release);
    }
}

/// The connection's stream, noting each write to the client as progress.
struct Watched<S> {
    inner: S,
    conn: Arc<Conn>,
}

impl<S: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            self.conn.touch();
        }
        written
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            self.conn.touch();
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl InFlight {
    fn begin(conn: Arc<Conn>) -> InFlight {
        conn.touch();
        conn.in_flight.fetch_add(1, Ordering::AcqRel);
        conn.changed.notify_one();
        InFlight(conn)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let c = &self.0;
        let ms = c.accepted.elapsed().as_millis().min(u64::MAX as u128) as u64;
        c.last_done_ms.store(ms, Ordering::Release);
        c.served.fetch_add(1, Ordering::AcqRel);
        c.in_flight.fetch_sub(1, Ordering::AcqRel);
        c.changed.notify_one();
    }
}

/// A request body still arriving: marks its connection `receiving` until the last byte (or until
/// the handler drops it).
struct Arriving {
    body: Incoming,
    conn: Arc<Conn>,
}

impl Arriving {
    fn arrived(&self) {
        if self.conn.receiving.swap(false, Ordering::AcqRel) {
            self.conn.touch();
        }
    }
}

impl Drop for Arriving {
    fn drop(&mut self) {
        self.arrived();
    }
}

impl http_body::Body for Arriving {
    type Data = axum::body::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let frame = Pin::new(&mut self.body).poll_frame(cx);
        match &frame {
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => self.arrived(),
            Poll::Ready(Some(Ok(_))) if self.body.is_end_stream() => self.arrived(),
            Poll::Ready(Some(Ok(_))) => self.conn.touch(),
            Poll::Pending => {}
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// A response body that holds its request's [`InFlight`] mark until it ends.
struct Guarded {
    body: Body,
    #[allow(dead_code)] // held, never read: dropped with the body
    guard: InFlight,
}

impl http_body::Body for Guarded {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// Raises the soft limit of open files to the hard limit (a container's soft limit can be as low
/// as 1,024 while the hard one allows far more): the caps above, not the kernel, decide who waits.
/// Returns the limit in force.
pub fn raise_open_files_limit() -> Option<u64> {
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                return Some(raised.rlim_cur);
            }
        }
        Some(limit.rlim_cur)
    }
}

#[cfg(test)]
mod tests;
