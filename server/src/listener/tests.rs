//! The listener's discipline on real loopback sockets, with short limits: each timeout, each cap,
//! who goes first at a cap, and the drain.

use super::*;
use axum::routing::get;
use std::net::Ipv6Addr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
const SLOW: &[u8] = b"GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n";

struct Server {
    addr: SocketAddr,
    counters: Arc<Counters>,
    stop: watch::Sender<bool>,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(limits: Limits) -> Server {
    start_tls(limits, None).await
}

async fn start_tls(limits: Limits, tls: Option<tokio_rustls::TlsAcceptor>) -> Server {
    let app = Router::new()
        .route("/", get(|| async { "ok" }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(600)).await;
                "slow"
            }),
        )
        .route("/big", get(|| async { vec![b'b'; 16 << 20] }))
        .route(
            "/upload",
            axum::routing::post(|body: axum::body::Bytes| async move {
                assert!(!body.is_empty());
                "ok"
            }),
        )
        .route(
            "/slower",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(10)).await;
                "slower"
            }),
        );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let counters = Arc::new(Counters::default());
    let (stop, rx) = watch::channel(false);
    let done = tokio::spawn(serve(listener, app, limits, counters.clone(), rx, tls));
    Server {
        addr,
        counters,
        stop,
        done,
    }
}

fn limits() -> Limits {
    Limits {
        header_read: Duration::from_secs(30),
        idle: Duration::from_secs(30),
        max_connections: 64,
        max_per_client: 64,
        drain: Duration::from_secs(2),
    }
}

/// A connection from `source` (a loopback address).
async fn connect_from(source: &str, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    socket.connect(to).await.unwrap()
}

async fn connect(to: SocketAddr) -> TcpStream {
    connect_from("127.0.0.1", to).await
}

/// Reads until the peer closes (or `within` passes: then `None`).
async fn read_to_close(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    let end = Instant::now() + within;
    loop {
        match tokio::time::timeout_at(end, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&all).into_owned()),
            Ok(Ok(n)) => all.extend_from_slice(&buf[..n]),
        }
    }
}

/// Sends `request` and reads its response, up to the end of the body `ok` or `slow` (the test
/// routes' bodies), without waiting for the connection to close.
async fn exchange(stream: &mut TcpStream, request: &[u8]) -> String {
    stream.write_all(request).await.unwrap();
    read_answer(stream).await
}

async fn read_answer(stream: &mut TcpStream) -> String {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    let end = Instant::now() + Duration::from_secs(5);
    while !(all.ends_with(b"\r\n\r\nok") || all.ends_with(b"\r\n\r\nslow")) {
        match tokio::time::timeout_at(end, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => all.extend_from_slice(&buf[..n]),
            other => panic!(
                "no whole answer ({other:?}): {}",
                String::from_utf8_lossy(&all)
            ),
        }
    }
    String::from_utf8_lossy(&all).into_owned()
}

/// Whether the peer has closed `stream` (a read returns at once with 0 or an error).
async fn is_closed(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 1];
    matches!(
        tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

/// `n` connections from `source` that start a request and never finish its headers.
async fn unfinished(source: &str, to: SocketAddr, n: usize) -> Vec<TcpStream> {
    let mut streams = Vec::new();
    for _ in 0..n {
        let mut s = connect_from(source, to).await;
        s.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        streams.push(s);
    }
    streams
}

/// How many of `streams` the peer has closed.
async fn closed(streams: &mut [TcpStream]) -> usize {
    let mut n = 0;
    for s in streams {
        n += usize::from(is_closed(s).await);
    }
    n
}

#[test]
fn clients_are_counted_by_address_and_ipv6_by_its_64() {
    let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
    let b: IpAddr = "2001:db8:1:2:ffff:1:2:3".parse().unwrap();
    let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
    assert_eq!(client_key(a), client_key(b));
    assert_ne!(client_key(a), client_key(c));
    let mapped = IpAddr::V6(Ipv6Addr::from([0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0001]));
    assert_eq!(client_key(mapped), "10.0.0.1".parse::<IpAddr>().unwrap());
    let v4: IpAddr = "192.168.1.7".parse().unwrap();
    assert_eq!(client_key(v4), v4);
}

#[tokio::test]
async fn unfinished_headers_are_closed_after_the_header_read_timeout() {
    let server = start(Limits {
        header_read: Duration::from_millis(300),
        ..limits()
    })
    .await;
    let mut stream = connect(server.addr).await;
    let began = Instant::now();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    assert!(read_to_close(&mut stream, Duration::from_secs(5))
        .await
        .is_some());
    let took = began.elapsed();
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert_eq!(server.counters.timed_out.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn a_slowloris_is_closed_while_it_still_sends() {
    let server = start(Limits {
        header_read: Duration::from_millis(400),
        ..limits()
    })
    .await;
    let mut stream = connect(server.addr).await;
    let began = Instant::now();
    let header = b"GET / HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut closed_after = None;
    for byte in header.iter() {
        if stream.write_all(&[*byte]).await.is_err() || is_closed(&mut stream).await {
            closed_after = Some(began.elapsed());
            break;
        }
    }
    let took = closed_after.expect("closed before the headers ended");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_idle_timeout() {
    let server = start(Limits {
        idle: Duration::from_millis(400),
        ..limits()
    })
    .await;
    let mut stream = connect(server.addr).await;
    let answer = exchange(&mut stream, REQUEST).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // kept alive: a second request on the same connection is answered
    let answer = exchange(&mut stream, REQUEST).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let began = Instant::now();
    assert!(read_to_close(&mut stream, Duration::from_secs(5))
        .await
        .is_some());
    let took = began.elapsed();
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(3),
        "{took:?}"
    );
}

#[tokio::test]
async fn at_the_cap_the_unfinished_go_first_and_a_client_is_served() {
    let server = start(Limits {
        max_connections: 4,
        ..limits()
    })
    .await;
    // a client that completed a request and stays connected
    let mut served = connect(server.addr).await;
    assert!(exchange(&mut served, REQUEST)
        .await
        .starts_with("HTTP/1.1 200"));
    let mut hostile = unfinished("127.0.0.1", server.addr, 3).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    // the cap is full; each newcomer's request is answered (and each stays connected)
    let mut newcomers = Vec::new();
    for _ in 0..3 {
        let mut client = connect(server.addr).await;
        let answer = exchange(&mut client, REQUEST).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        newcomers.push(client);
    }
    assert!(server.counters.evicted.load(Ordering::Relaxed) >= 3);
    assert_eq!(
        closed(&mut hostile).await,
        3,
        "every unfinished connection went first"
    );
    // the connection that had been served is still there
    assert!(exchange(&mut served, REQUEST)
        .await
        .starts_with("HTTP/1.1 200"));
    assert!(server.counters.open.load(Ordering::Relaxed) <= 4);
}

#[tokio::test]
async fn at_the_cap_the_crowded_address_gives_way_to_another() {
    let server = start(Limits {
        max_connections: 4,
        ..limits()
    })
    .await;
    // a lone client's unfinished connection, the oldest of all
    let mut lone = connect_from("127.0.0.3", server.addr).await;
    lone.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut crowd = unfinished("127.0.0.2", server.addr, 3).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut newcomer = connect_from("127.0.0.4", server.addr).await;
    assert!(exchange(&mut newcomer, REQUEST)
        .await
        .starts_with("HTTP/1.1 200"));
    assert_eq!(
        closed(&mut crowd).await,
        1,
        "the room came from the crowded address"
    );
    let answer = exchange(&mut lone, b"Host: localhost\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn a_request_in_flight_is_never_closed_for_room() {
    let server = start(Limits {
        max_connections: 1,
        ..limits()
    })
    .await;
    let mut slow = connect(server.addr).await;
    slow.write_all(SLOW).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // no room: the newcomer is closed at once
    let mut newcomer = connect(server.addr).await;
    newcomer.write_all(REQUEST).await.ok();
    assert!(read_to_close(&mut newcomer, Duration::from_secs(2))
        .await
        .is_some_and(|s| s.is_empty()));
    assert_eq!(server.counters.refused.load(Ordering::Relaxed), 1);
    // the request in flight is answered whole
    let answer = read_answer(&mut slow).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// A request whose headers are whole but whose body dribbles in holds no place a client needs.
#[tokio::test]
async fn a_body_still_arriving_gives_way_to_a_client() {
    let server = start(Limits {
        max_connections: 2,
        ..limits()
    })
    .await;
    let mut dribblers = Vec::new();
    for _ in 0..2 {
        let mut s = connect_from("127.0.0.2", server.addr).await;
        s.write_all(b"POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n0123")
            .await
            .unwrap();
        dribblers.push(s);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut client = connect(server.addr).await;
    let answer = exchange(&mut client, REQUEST).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(closed(&mut dribblers).await, 1, "one dribbler gave way");
    // a body that does arrive whole is answered
    let mut whole = connect(server.addr).await;
    let answer = exchange(
        &mut whole,
        b"POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\nhi",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// The race between picking a connection for room and its request beginning: a request that
/// began is answered whole, then the connection closes.
#[tokio::test]
async fn a_connection_picked_as_its_request_begins_answers_it_then_closes() {
    let app = Router::new().route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            "slow"
        }),
    );
    let conn = Arc::new(Conn::new("127.0.0.1".parse().unwrap()));
    let (mut client, server_side) = tokio::io::duplex(64 * 1024);
    let (_stop, rx) = watch::channel(false);
    let counters = Counters::default();
    let serving = {
        let conn = conn.clone();
        async move {
            serve_connection(
                server_side,
                "127.0.0.1:9".parse().unwrap(),
                app,
                conn,
                limits(),
                &counters,
                rx,
            )
            .await
        }
    };
    let client_side = async {
        client.write_all(SLOW).await.unwrap();
        while conn.in_flight.load(Ordering::Acquire) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // picked for room now, as the eviction in `make_room` does
        conn.close.notify_one();
        let mut all = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut all))
            .await
            .expect("the connection closes after its answer")
            .unwrap();
        String::from_utf8_lossy(&all).into_owned()
    };
    let ((), answer) = tokio::join!(serving, client_side);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("slow"), "{answer}");
}

#[tokio::test]
async fn one_client_address_cannot_take_every_place() {
    let server = start(Limits {
        max_per_client: 2,
        ..limits()
    })
    .await;
    // another client, unfinished but not over its own cap
    let mut other = connect_from("127.0.0.2", server.addr).await;
    other.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
    let mut mine = unfinished("127.0.0.1", server.addr, 2).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut third = connect(server.addr).await;
    assert!(exchange(&mut third, REQUEST)
        .await
        .starts_with("HTTP/1.1 200"));
    assert_eq!(
        closed(&mut mine).await,
        1,
        "one of the address's own unfinished connections"
    );
    // the other address's connection was not touched: it can still finish its request
    let answer = exchange(&mut other, b"Host: localhost\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn shutdown_closes_the_idle_and_lets_requests_in_flight_finish() {
    let server = start(limits()).await;
    let mut idle = connect(server.addr).await;
    assert!(exchange(&mut idle, REQUEST)
        .await
        .starts_with("HTTP/1.1 200"));
    let mut slow = connect(server.addr).await;
    slow.write_all(SLOW).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let began = Instant::now();
    server.stop.send(true).unwrap();
    assert!(read_to_close(&mut idle, Duration::from_millis(500))
        .await
        .is_some());
    let answer = read_to_close(&mut slow, Duration::from_secs(3))
        .await
        .expect("closed after its answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("slow"), "{answer}");
    server.done.await.unwrap().unwrap();
    assert!(began.elapsed() < Duration::from_secs(2));
    // nothing is accepted any more
    assert!(TcpStream::connect(server.addr).await.is_err());
}

#[tokio::test]
async fn shutdown_cuts_a_request_longer_than_the_drain() {
    let server = start(Limits {
        drain: Duration::from_millis(500),
        ..limits()
    })
    .await;
    let mut slower = connect(server.addr).await;
    slower
        .write_all(b"GET /slower HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let began = Instant::now();
    server.stop.send(true).unwrap();
    server.done.await.unwrap().unwrap();
    let took = began.elapsed();
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert!(read_to_close(&mut slower, Duration::from_secs(1))
        .await
        .is_some());
}

#[tokio::test]
async fn over_tls_a_client_is_served_and_a_silent_handshake_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let made = crate::tls::self_signed("127.0.0.1").unwrap();
    let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    std::fs::write(&cert, &made.cert_pem).unwrap();
    std::fs::write(&key, &made.key_pem).unwrap();
    let server = start_tls(
        Limits {
            header_read: Duration::from_millis(400),
            ..limits()
        },
        Some(crate::tls::acceptor(&cert, &key).unwrap()),
    )
    .await;
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(made.cert_pem.as_bytes()).unwrap())
        .tls_built_in_root_certs(false)
        .build()
        .unwrap();
    let url = format!("https://127.0.0.1:{}/", server.addr.port());
    let body = client.get(&url).send().await.unwrap().text().await.unwrap();
    assert_eq!(body, "ok");
    // plain HTTP to the TLS port gets no page
    let mut plain = connect(server.addr).await;
    plain.write_all(REQUEST).await.unwrap();
    let answer = read_to_close(&mut plain, Duration::from_secs(3)).await;
    assert!(answer.is_some_and(|a| !a.contains("200 OK")));
    // a connection that never starts its handshake is closed in the header time
    let mut silent = connect(server.addr).await;
    let began = Instant::now();
    assert!(read_to_close(&mut silent, Duration::from_secs(3))
        .await
        .is_some());
    assert!(began.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_reader_that_never_reads_is_closed_and_a_slow_one_is_not() {
    let server = start(Limits {
        idle: Duration::from_secs(2),
        ..limits()
    })
    .await;
    let big = b"GET /big HTTP/1.1\r\nHost: localhost\r\n\r\n";
    // never reads: its response stalls in the socket's buffers, and the connection is closed
    let mut stuck = connect(server.addr).await;
    stuck.write_all(big).await.unwrap();
    let began = Instant::now();
    while server.counters.timed_out.load(Ordering::Relaxed) == 0 {
        assert!(began.elapsed() < Duration::from_secs(8), "never closed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // reads slowly, for longer than the idle time: served whole
    let mut slow = connect(server.addr).await;
    slow.write_all(big).await.unwrap();
    let mut got = 0usize;
    let mut buf = vec![0u8; 64 << 10];
    let began = Instant::now();
    while got < 16 << 20 {
        let n = tokio::time::timeout(Duration::from_secs(5), slow.read(&mut buf))
            .await
            .expect("the response keeps coming")
            .unwrap();
        assert!(n > 0, "closed after {got} bytes");
        got += n;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        began.elapsed() > Duration::from_secs(2),
        "{:?}",
        began.elapsed()
    );
}
