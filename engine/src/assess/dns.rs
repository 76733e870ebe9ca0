//! DNS resolver failures (signals §3 and §7): `lookup <host> on <resolver>:53: <detail>`, wherever
//! the text appears (image pulls, Flux sources, events, probes).

/// A failed name lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsFailure {
    pub host: String,
    /// `192.168.64.1:53`, or empty when the message does not name the resolver.
    pub resolver: String,
    /// `connection refused`, `no such host`, `i/o timeout`, `server misbehaving`.
    pub detail: String,
}

impl DnsFailure {
    /// One blocker per failing resolver: every lookup it refuses is evidence of the same cause.
    /// `None` when the message does not name the resolver.
    pub fn resolver_slug(&self) -> Option<String> {
        (!self.resolver.is_empty()).then(|| format!("resolver-{}", self.resolver))
    }

    /// "lookup ghcr.io on 192.168.64.1:53 failed: connection refused".
    pub fn describe(&self) -> String {
        if self.resolver.is_empty() {
            format!("lookup {} failed: {}", self.host, self.detail)
        } else {
            format!(
                "lookup {} on {} failed: {}",
                self.host, self.resolver, self.detail
            )
        }
    }
}

/// Go's resolver's words (`net/dnsclient_unix.go`, `net/net.go`); `Try again` is glibc's, through
/// the cgo resolver.
const DETAILS: [&str; 7] = [
    "connection refused",
    "no such host",
    "i/o timeout",
    "server misbehaving",
    "no answer from dns server",
    "try again",
    "timeout",
];

/// Finds a failed lookup in any message.
pub fn dns_failure(message: &str) -> Option<DnsFailure> {
    let at = message.find("lookup ")?;
    let rest = &message[at + "lookup ".len()..];
    let host_end = rest.find([' ', ':']).unwrap_or(rest.len());
    let host = rest[..host_end].trim_end_matches(',').to_string();
    if host.is_empty() {
        return None;
    }
    let rest = &rest[host_end..];
    let resolver = rest
        .strip_prefix(" on ")
        .and_then(|r| r.split([' ', ',']).next())
        .map(|r| r.trim_end_matches(':').to_string())
        .unwrap_or_default();
    let lower = rest.to_ascii_lowercase();
    let detail = DETAILS.iter().find(|d| lower.contains(*d))?.to_string();
    Some(DnsFailure {
        host,
        resolver,
        detail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn talos_installer_lookup_refused() {
        let d =
            dns_failure("lookup factory.talos.dev on 192.168.64.1:53: connection refused").unwrap();
        assert_eq!(d.host, "factory.talos.dev");
        assert_eq!(d.resolver, "192.168.64.1:53");
        assert_eq!(d.detail, "connection refused");
    }

    #[test]
    fn flux_clone_lookup_timeout_without_resolver() {
        let msg = "failed to checkout and determine revision: unable to clone 'https://github.com/Nine-Minds/alga-psa': dial tcp: lookup github.com: i/o timeout";
        let d = dns_failure(msg).unwrap();
        assert_eq!(d.host, "github.com");
        assert_eq!(d.resolver, "");
        assert_eq!(d.detail, "i/o timeout");
    }

    #[test]
    fn no_such_host_and_not_dns() {
        assert_eq!(
            dns_failure("dial tcp: lookup ghcr.io on 10.96.0.10:53: no such host")
                .unwrap()
                .detail,
            "no such host"
        );
        assert_eq!(dns_failure("Back-off pulling image"), None);
        assert_eq!(dns_failure("lookup ok"), None);
    }
}
