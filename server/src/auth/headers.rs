//! What every response carries (security headers), the refusal of cross-site writes, and of
//! requests for another host's name (DNS rebinding).

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;

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

/// Whether a non-GET request comes from another site (`Sec-Fetch-Site`, else `Origin` against
/// `Host`). A client sending neither (a CLI) is not cross-site.
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

/// Whether a request naming `host` (the Host header or an absolute URI's authority, port
/// included) may be served. DNS rebinding needs a name the attacker controls, so an IP literal
/// (the node's address, the pod's for the kubelet's probes) is always admitted, and so are
/// `localhost` (a port-forward) and the names the operator configured (`--allowed-host`).
pub fn host_allowed(host: &str, names: &[String]) -> bool {
    if let Some(rest) = host.strip_prefix('[') {
        // [v6] or [v6]:port, nothing else
        return rest.split_once(']').is_some_and(|(ip, port)| {
            ip.parse::<std::net::Ipv6Addr>().is_ok()
                && (port.is_empty() || port.strip_prefix(':').is_some_and(all_digits))
        });
    }
    let name = without_port(host);
    name.parse::<std::net::Ipv4Addr>().is_ok()
        || name.eq_ignore_ascii_case("localhost")
        // a configured name may carry a port or spaces (`a, b` in the environment)
        || names
            .iter()
            .any(|n| without_port(n.trim()).eq_ignore_ascii_case(name))
}

fn all_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// `name` of `name:port` (a trailing dot dropped too); other text as it is.
fn without_port(host: &str) -> &str {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if all_digits(port) => name,
        _ => host,
    };
    name.trim_end_matches('.')
}

/// Refuses (421 Misdirected Request) a request for a host name this service does not answer to.
/// A request without a Host (HTTP/1.0) names nothing to rebind and passes.
pub async fn check_host(
    axum::extract::State(names): axum::extract::State<std::sync::Arc<Vec<String>>>,
    request: Request,
    next: Next,
) -> Response {
    use axum::response::IntoResponse;
    let host = request
        .uri()
        .authority()
        .map(|a| a.as_str().to_string())
        .or_else(|| {
            request
                .headers()
                .get(header::HOST)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        });
    match host {
        Some(host) if !host_allowed(&host, &names) => (
            axum::http::StatusCode::MISDIRECTED_REQUEST,
            "this service does not answer to that host name (serve --allowed-host NAME)\n",
        )
            .into_response(),
        _ => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_addresses_localhost_and_configured_names_are_served() {
        let names = vec!["status.example.net".to_string()];
        for ok in [
            "192.168.64.8:8080",
            "192.168.64.8",
            "[fd00::8]:8080",
            "[::1]",
            "localhost:8080",
            "LOCALHOST",
            "status.example.net:8080",
            "Status.Example.Net.",
        ] {
            assert!(host_allowed(ok, &names), "{ok}");
        }
        for refused in [
            "evil.example",
            "evil.example:8080",
            "192.168.64.8.nip.io:8080",
            "localhost.evil.example",
            "[not-an-ip]:80",
            "",
        ] {
            assert!(!host_allowed(refused, &names), "{refused}");
        }
        assert!(!host_allowed("status.example.net", &[]));
        assert!(!host_allowed("[::1]evil", &names));
        let spaced = vec![
            " status.example.net".to_string(),
            "other.example:8443".to_string(),
        ];
        assert!(host_allowed("status.example.net:8080", &spaced));
        assert!(host_allowed("other.example", &spaced));
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
        h.remove(header::HOST);
        assert!(cross_site(&Method::POST, &h), "an origin and no host");
    }
}
