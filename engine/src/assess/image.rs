//! Image pull rules (signals §3): classify what the kubelet and the runtime said about a pull.

use super::dns::{dns_failure, DnsFailure};
use app::status::Layer;

/// Why an image pull failed: one class per cause in the runtime's, the registry's and Go's own
/// words (containerd's CRI pull and `core/remotes/docker`, the OCI distribution spec, Go's `net`,
/// `net/http`, `crypto/tls` and `crypto/x509`, the kubelet's image manager). docs/PULL_ERRORS.md
/// gives each pattern with its source.
#[derive(Clone, Debug, PartialEq)]
pub enum PullClass {
    TagMissing,
    Unauthorized,
    Dns(DnsFailure),
    Interrupted,
    Unreachable,
    InvalidName,
    /// The node's container runtime did not answer (its socket): not a registry problem.
    RuntimeUnavailable,
    /// No space left on the node's disk while storing or unpacking the image.
    DiskFull,
    /// The bytes received do not match the image's digest or size.
    Corrupted,
    /// The download was cut before the end (`unexpected EOF`, `short read`).
    Truncated,
    /// The registry throttles this node (HTTP 429, `toomanyrequests`), with its retry-after if said.
    RateLimited {
        retry_after: Option<String>,
    },
    /// The registry or a proxy in front of it failed (HTTP 5xx).
    RegistryError {
        status: String,
    },
    /// The HTTP proxy is down or wants credentials (HTTP 407).
    Proxy,
    /// The certificate is signed by an authority the node does not trust: a TLS-inspecting proxy,
    /// or a registry with its own CA.
    UntrustedCertificate,
    /// The certificate is not valid yet for the node's clock: the node's clock is behind.
    ClockBehind {
        now: String,
        from: String,
    },
    /// The certificate has expired for the node's clock: expired, or the clock is ahead.
    CertificateExpired {
        now: String,
        until: String,
    },
    /// The certificate names another host: interception, or DNS pointing elsewhere.
    CertificateNameMismatch,
    /// The registry speaks plain HTTP to a client using HTTPS.
    HttpToHttps,
    /// The image has no variant for the node's platform.
    PlatformMissing,
    /// The tag resolved, but a manifest or layer it names is missing.
    ContentMissing,
    /// The mirror configuration leaves no host to pull from.
    MirrorMisconfigured,
    /// The pod forbids pulling and the image is not on the node.
    NeverPull,
    /// Only `Back-off pulling image` is left: the original error expired (kubernetes#48188).
    Unknown,
    /// A pull error in no class above: shown as the runtime wrote it.
    Other(String),
}

/// What to tell the user about a failed pull.
#[derive(Clone, Debug, PartialEq)]
pub struct PullAdvice {
    pub class: PullClass,
    pub layer: Layer,
    /// Short stable name for blocker ids.
    pub slug: &'static str,
    pub reason: String,
    pub next_action: String,
}

/// Drops `Failed to pull image "<img>": rpc error: code = Unknown desc = ` and similar prefixes,
/// and the kubelet's back-off wrapping (1.32+: `Back-off pulling image "<img>": ErrImagePull:
/// <the error>`), so the same failure reads the same on its first attempt and its tenth.
pub fn strip_pull_prefix(message: &str) -> &str {
    let mut rest = message.trim();
    if let Some(r) = rest.strip_prefix("Error: ") {
        rest = r;
    }
    if rest.starts_with("Back-off pulling image \"") {
        for marker in [": ErrImagePull: ", ": ImagePullBackOff: "] {
            if let Some(i) = rest.find(marker) {
                rest = &rest[i + marker.len()..];
                break;
            }
        }
    }
    if let Some(i) = rest.find(" desc = ") {
        rest = &rest[i + " desc = ".len()..];
    } else if rest.starts_with("Failed to pull image \"") {
        if let Some(i) = rest.find("\": ") {
            rest = &rest[i + 3..];
        }
    }
    rest
}

/// The image named in a kubelet message (`... image "ghcr.io/x:tag" ...`).
pub fn image_in_message(message: &str) -> Option<&str> {
    let start = message.find("image \"")? + "image \"".len();
    let len = message[start..].find('"')?;
    Some(&message[start..start + len])
}

/// The RFC 3339 times of Go's `current time A is before|after B`.
fn clock_times(text: &str, word: &str) -> Option<(String, String)> {
    let at = text.find("current time ")? + "current time ".len();
    let rest = &text[at..];
    let (now, rest) = rest.split_once(&format!(" is {word} "))?;
    let then: String = rest
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"' && *c != ',')
        .collect();
    Some((now.to_string(), then))
}

/// The HTTP 5xx status a registry answered, as `503 Service Unavailable`.
fn server_status(lower: &str, text: &str) -> Option<String> {
    if !(lower.contains("unexpected status") || lower.contains("status code")) {
        return None;
    }
    for code in ["500 ", "502 ", "503 ", "504 "] {
        if let Some(at) = text.find(&format!(": {code}")) {
            let status: String = text[at + 2..]
                .chars()
                .take_while(|c| *c != '\n' && *c != ':')
                .collect();
            return Some(status.trim().to_string());
        }
    }
    None
}

/// Classifies the text of a pull failure, most specific first: a cause that wraps another (a
/// refused connection to the runtime's own socket, a DNS lookup refused) is named before the
/// generic words it also contains (`connection refused`), and `not found` only after the kinds
/// of "not found" that are not a missing tag.
pub fn classify_pull(message: &str) -> PullClass {
    let text = strip_pull_prefix(message);
    let lower = text.to_ascii_lowercase();
    let has = |needle: &str| lower.contains(needle);
    if has("invalidimagename")
        || has("couldn't parse image name")
        || has("couldn't parse image reference")
        || has("invalid reference format")
        || has("failed to parse image reference")
    {
        return PullClass::InvalidName;
    }
    if has("is not present with pull policy of never") || has("errimageneverpull") {
        return PullClass::NeverPull;
    }
    if has("containerd.sock") || has("error while dialing") || has("server is not initialized yet")
    {
        return PullClass::RuntimeUnavailable;
    }
    if has("no space left on device") {
        return PullClass::DiskFull;
    }
    if has("unexpected commit digest") || has("unexpected commit size") {
        return PullClass::Corrupted;
    }
    if has("x509: certificate has expired or is not yet valid") {
        if let Some((now, from)) = clock_times(text, "before") {
            return PullClass::ClockBehind { now, from };
        }
        let (now, until) = clock_times(text, "after").unwrap_or_default();
        return PullClass::CertificateExpired { now, until };
    }
    if has("x509: certificate signed by unknown authority") {
        return PullClass::UntrustedCertificate;
    }
    if (has("x509: certificate is valid for") && has(", not "))
        || has("x509: cannot validate certificate for")
        || has("x509: certificate relies on legacy common name")
    {
        return PullClass::CertificateNameMismatch;
    }
    if has("server gave http response to https client") {
        return PullClass::HttpToHttps;
    }
    if has("toomanyrequests") || has("429 too many requests") || has("pull rate limit") {
        let retry_after = lower.find("retry-after: ").map(|at| {
            text[at + "retry-after: ".len()..]
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != ',')
                .collect::<String>()
        });
        return PullClass::RateLimited { retry_after };
    }
    if has("proxyconnect tcp:") || has("proxy authentication required") {
        return PullClass::Proxy;
    }
    if let Some(dns) = dns_failure(text) {
        return PullClass::Dns(dns);
    }
    if has("pull access denied")
        || has("insufficient_scope")
        || has("failed to fetch oauth token")
        || has("failed to fetch anonymous token")
        || has("401 unauthorized")
        || has("403 forbidden")
        || has("denied: requested access")
        || has("\ndenied: ")
        || has("authorization failed")
        || has("unauthorized")
    {
        return PullClass::Unauthorized;
    }
    if has("no match for platform in manifest") {
        return PullClass::PlatformMissing;
    }
    if has("no resolve hosts") || has("no pull hosts") {
        return PullClass::MirrorMisconfigured;
    }
    if (has("content at ") && has("not found")) || has("could not fetch content") {
        return PullClass::ContentMissing;
    }
    if has("manifest unknown") || has("not found") {
        return PullClass::TagMissing;
    }
    if let Some(status) = server_status(&lower, text) {
        return PullClass::RegistryError { status };
    }
    if has("timeout exceeded")
        || has("tls handshake timeout")
        || has("timeout awaiting response headers")
        || has("connection reset by peer")
        || has("i/o timeout")
        || has("connection refused")
        || has("no route to host")
        || has("network is unreachable")
        || has("code = deadlineexceeded")
        || lower.ends_with("\": eof")
    {
        return PullClass::Unreachable;
    }
    if has("short read: expected") || has("unexpected eof") {
        return PullClass::Truncated;
    }
    if has("context canceled") || has("operation was canceled") || has("code = canceled") {
        return PullClass::Interrupted;
    }
    if lower.starts_with("back-off pulling image") || text.is_empty() {
        return PullClass::Unknown;
    }
    PullClass::Other(text.to_string())
}

/// The user-facing blocker text for a failed pull of `image`.
pub fn pull_advice(message: &str, image: &str) -> PullAdvice {
    let class = classify_pull(message);
    let (layer, slug, reason, next_action) = match &class {
        PullClass::TagMissing => (
            Layer::Image,
            "tag-missing",
            format!("Image tag not found: {image}"),
            "Publish the missing image tag or update the appliance release manifest.".to_string(),
        ),
        PullClass::Unauthorized => (
            Layer::Image,
            "unauthorized",
            format!("Not authorized to pull image {image}"),
            "Configure image pull secrets or registry credentials for this registry.".to_string(),
        ),
        PullClass::Dns(d) => (
            Layer::Dns,
            "dns",
            format!("DNS resolver failure while pulling {image}: {}", d.describe()),
            "Configure explicit DNS servers for the appliance and retry.".to_string(),
        ),
        PullClass::Interrupted => (
            Layer::Image,
            "interrupted",
            format!("Image pull interrupted (context canceled): {image}"),
            "Wait for the automatic retry, or restart the pod if it does not resume.".to_string(),
        ),
        PullClass::Unreachable => (
            Layer::Network,
            "unreachable",
            format!("Image registry unreachable or too slow while pulling {image}"),
            "Check outbound HTTPS from the appliance to the registry (firewall, proxy, TLS).".to_string(),
        ),
        PullClass::InvalidName => (
            Layer::Image,
            "invalid-name",
            format!("Invalid image reference: {image}"),
            "Fix the image reference in the appliance release manifest.".to_string(),
        ),
        PullClass::RuntimeUnavailable => (
            Layer::Node,
            "runtime",
            format!("The node's container runtime did not answer while pulling {image}"),
            "Check the container runtime on the node (Talos: `talosctl service cri`, `talosctl logs cri`)."
                .to_string(),
        ),
        PullClass::DiskFull => (
            Layer::Node,
            "disk-full",
            format!("No space left on the node's disk while storing {image}"),
            "Free space on the node's disk for images (Talos: `talosctl usage /var/lib/containerd`; remove unused images) or grow it."
                .to_string(),
        ),
        PullClass::Corrupted => (
            Layer::Network,
            "corrupted",
            format!("The downloaded image {image} does not match its digest"),
            "Retry; if it repeats, a proxy or mirror alters the download: bypass it, or push the image again."
                .to_string(),
        ),
        PullClass::Truncated => (
            Layer::Network,
            "truncated",
            format!("The download of {image} was cut before the end"),
            "Wait for the automatic retry; if it repeats, a proxy or firewall cuts large downloads: check its size and time limits."
                .to_string(),
        ),
        PullClass::RateLimited { retry_after } => (
            Layer::Image,
            "rate-limited",
            match retry_after {
                Some(after) => format!("The registry limits pulls of {image} (too many requests; retry after {after})"),
                None => format!("The registry limits pulls of {image} (too many requests)"),
            },
            "Wait for the registry's limit to pass (the kubelet retries), authenticate the pulls, or use a registry mirror."
                .to_string(),
        ),
        PullClass::RegistryError { status } => (
            Layer::Image,
            "registry-error",
            format!("The registry failed while serving {image} ({status})"),
            "Wait for the registry to recover (the kubelet retries); check the registry's status, or use a mirror."
                .to_string(),
        ),
        PullClass::Proxy => (
            Layer::Network,
            "proxy",
            format!("The HTTP proxy refused or is down while pulling {image}"),
            "Check the node's proxy settings (Talos: `machine.env` HTTPS_PROXY and NO_PROXY), with credentials if the proxy asks for them."
                .to_string(),
        ),
        PullClass::UntrustedCertificate => (
            Layer::Network,
            "tls-untrusted",
            format!("The registry's certificate for {image} is signed by an authority the node does not trust (a TLS-inspecting proxy?)"),
            "Install the proxy's or the registry's CA on the node (Talos: a TrustedRootsConfig document), or pull through a mirror with a trusted certificate."
                .to_string(),
        ),
        PullClass::ClockBehind { now, from } => (
            Layer::Node,
            "clock",
            format!("The node's clock is behind: the registry's certificate for {image} is valid from {from}, the node says {now}"),
            "Fix the node's time sync (Talos: `talosctl time`; check `machine.time.servers` and NTP reachability)."
                .to_string(),
        ),
        PullClass::CertificateExpired { now, until } => (
            Layer::Network,
            "tls-expired",
            if until.is_empty() {
                format!("The registry's certificate for {image} has expired for the node's clock")
            } else {
                format!("The registry's certificate for {image} expired {until} for the node's clock ({now})")
            },
            "If the node's time is wrong, fix its time sync (Talos: `talosctl time`); otherwise the registry's or the proxy's certificate must be renewed."
                .to_string(),
        ),
        PullClass::CertificateNameMismatch => (
            Layer::Network,
            "tls-name",
            format!("The server answering for the registry of {image} presents another host's certificate"),
            "Check DNS and the mirror configuration; if a proxy intercepts TLS, install its CA or exempt the registry."
                .to_string(),
        ),
        PullClass::HttpToHttps => (
            Layer::Image,
            "http-registry",
            format!("The registry of {image} speaks plain HTTP to an HTTPS client"),
            "Configure the registry endpoint as http:// in the node's mirror configuration, or enable TLS on the registry."
                .to_string(),
        ),
        PullClass::PlatformMissing => (
            Layer::Image,
            "platform",
            format!("Image {image} has no variant for this node's platform"),
            "Publish a multi-architecture image, or one built for the node's architecture.".to_string(),
        ),
        PullClass::ContentMissing => (
            Layer::Image,
            "content-missing",
            format!("A manifest or layer of {image} is missing in the registry"),
            "Push the image again (or refresh the mirror); if a mirror is used, try the upstream registry."
                .to_string(),
        ),
        PullClass::MirrorMisconfigured => (
            Layer::Image,
            "mirror",
            format!("The registry mirror configuration leaves no host to pull {image} from"),
            "Fix the node's registry mirror configuration (endpoints and capabilities).".to_string(),
        ),
        PullClass::NeverPull => (
            Layer::Image,
            "never-pull",
            format!("Image {image} is not on the node and the pod may not pull it"),
            "Load the image onto the node, or change the workload's imagePullPolicy.".to_string(),
        ),
        PullClass::Other(text) => (
            Layer::Image,
            "pull-failing",
            format!("Image pull failing for {image}: {text}"),
            "Read the runtime's error above; check the registry, the image reference and the node's network."
                .to_string(),
        ),
        PullClass::Unknown => (
            Layer::Image,
            "pull-failing",
            format!("Image pull keeps failing for {image} (the original error has expired)"),
            "Check the registry and the image tag; delete the pod to retry and see the error again."
                .to_string(),
        ),
    };
    PullAdvice {
        class,
        layer,
        slug,
        reason,
        next_action,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containerd_tag_not_found() {
        let msg = r#"Failed to pull image "ghcr.io/nine-minds/workflow-worker:61e4a00e": rpc error: code = NotFound desc = failed to pull and unpack image "ghcr.io/nine-minds/workflow-worker:61e4a00e": failed to resolve reference "ghcr.io/nine-minds/workflow-worker:61e4a00e": ghcr.io/nine-minds/workflow-worker:61e4a00e: not found"#;
        assert_eq!(classify_pull(msg), PullClass::TagMissing);
        assert_eq!(
            image_in_message(msg),
            Some("ghcr.io/nine-minds/workflow-worker:61e4a00e")
        );
        let advice = pull_advice(msg, "ghcr.io/nine-minds/workflow-worker:61e4a00e");
        assert_eq!(
            advice.reason,
            "Image tag not found: ghcr.io/nine-minds/workflow-worker:61e4a00e"
        );
        assert_eq!(advice.layer, Layer::Image);
    }

    #[test]
    fn docker_manifest_unknown() {
        let msg =
            "Error response from daemon: manifest for ghcr.io/x/y:1 not found: manifest unknown";
        assert_eq!(classify_pull(msg), PullClass::TagMissing);
    }

    #[test]
    fn unauthorized_forms() {
        for msg in [
            "pull access denied, repository does not exist or may require authorization",
            "failed to authorize: failed to fetch anonymous token: unexpected status: 403 Forbidden",
            "unexpected status: 401 Unauthorized",
            "denied: requested access to the resource is denied",
            "insufficient_scope: authorization failed",
        ] {
            assert_eq!(classify_pull(msg), PullClass::Unauthorized, "{msg}");
        }
    }

    #[test]
    fn dns_refused_during_pull() {
        let msg = r#"Failed to pull image "ghcr.io/nine-minds/alga-psa-ee:1.0-rc5": rpc error: code = Unknown desc = failed to pull and unpack image: failed to resolve reference: dial tcp: lookup ghcr.io on 192.168.64.1:53: read udp 10.0.2.15:41234->192.168.64.1:53: read: connection refused"#;
        let PullClass::Dns(d) = classify_pull(msg) else {
            panic!("{:?}", classify_pull(msg))
        };
        assert_eq!(d.host, "ghcr.io");
        assert_eq!(d.resolver, "192.168.64.1:53");
        assert_eq!(pull_advice(msg, "x").layer, Layer::Dns);
    }

    #[test]
    fn interrupted_unreachable_invalid_unknown() {
        assert_eq!(
            classify_pull(
                r#"Failed to pull image "x": rpc error: code = Canceled desc = failed to pull and unpack image "x": context canceled"#
            ),
            PullClass::Interrupted
        );
        assert_eq!(
            classify_pull("net/http: TLS handshake timeout"),
            PullClass::Unreachable
        );
        assert_eq!(
            classify_pull("read: connection reset by peer"),
            PullClass::Unreachable
        );
        assert_eq!(
            classify_pull(
                "Failed to apply default image tag \"ghcr.io/X:\": couldn't parse image reference"
            ),
            PullClass::InvalidName
        );
        assert_eq!(
            classify_pull(r#"Back-off pulling image "ghcr.io/x:1""#),
            PullClass::Unknown
        );
    }

    /// One message per class, as the kubelet shows it; the sources that write each are in
    /// docs/PULL_ERRORS.md (containerd v2.1.4's CRI pull and remotes, Go's net, tls and x509, the
    /// kubelet's image manager).
    #[test]
    fn every_class_from_the_sources_own_words() {
        let cases: Vec<(&str, PullClass)> = vec![
            (r#"Failed to pull image "nginx:1.27": rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial unix /run/containerd/containerd.sock: connect: connection refused""#, PullClass::RuntimeUnavailable),
            (r#"Failed to pull image "registry.example.com/app:1.2": failed to pull and unpack image "registry.example.com/app:1.2": failed to extract layer (application/vnd.oci.image.layer.v1.tar+gzip sha256:0465) to overlayfs as "extract-260106421-WDeK sha256:dc6b": write /var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/105/fs/usr/lib/x: no space left on device: unknown"#, PullClass::DiskFull),
            (r#"rpc error: code = FailedPrecondition desc = failed to pull and unpack image "ghcr.io/x/y:1": failed commit on ref "layer-sha256:aaaa": unexpected commit digest sha256:bbbb, expected sha256:aaaa: failed precondition"#, PullClass::Corrupted),
            (r#"Failed to pull image "docker.io/library/nginx:1.27": failed to pull and unpack image "docker.io/library/nginx:1.27": failed to resolve reference "docker.io/library/nginx:1.27": failed to do request: Head "https://registry-1.docker.io/v2/library/nginx/manifests/1.27": tls: failed to verify certificate: x509: certificate signed by unknown authority"#, PullClass::UntrustedCertificate),
            (r#"failed to do request: Head "https://ghcr.io/v2/x/manifests/1": tls: failed to verify certificate: x509: certificate has expired or is not yet valid: current time 1970-01-01T00:02:11Z is before 2025-02-10T00:00:00Z"#, PullClass::ClockBehind { now: "1970-01-01T00:02:11Z".into(), from: "2025-02-10T00:00:00Z".into() }),
            (r#"failed to do request: Head "https://ghcr.io/v2/x/manifests/1": tls: failed to verify certificate: x509: certificate has expired or is not yet valid: current time 2031-06-01T10:00:00Z is after 2026-04-30T23:59:59Z"#, PullClass::CertificateExpired { now: "2031-06-01T10:00:00Z".into(), until: "2026-04-30T23:59:59Z".into() }),
            (r#"failed to do request: Head "https://registry-1.docker.io/v2/library/nginx/manifests/1.27": tls: failed to verify certificate: x509: certificate is valid for proxy.corp.local, *.corp.local, not registry-1.docker.io"#, PullClass::CertificateNameMismatch),
            (r#"failed to do request: Head "https://10.0.0.7:5000/v2/app/manifests/1.2": http: server gave HTTP response to HTTPS client"#, PullClass::HttpToHttps),
            ("Failed to pull image \"busybox\": failed to pull and unpack image \"docker.io/library/busybox:latest\": failed to copy: httpReadSeeker: failed open: unexpected status from GET request to https://registry-1.docker.io/v2/library/busybox/manifests/sha256:50aa: 429 Too Many Requests\ntoomanyrequests: You have reached your unauthenticated pull rate limit. https://www.docker.com/increase-rate-limit", PullClass::RateLimited { retry_after: None }),
            (r#"failed to copy: httpReadSeeker: failed open: unexpected status code https://ghcr.io/v2/x/manifests/sha256:1: 429 Too Many Requests - Server message: toomanyrequests: retry-after: 333.939671ms, allowed: 44000/minute"#, PullClass::RateLimited { retry_after: Some("333.939671ms".into()) }),
            (r#"failed to do request: Head "https://registry-1.docker.io/v2/library/nginx/manifests/1.27": proxyconnect tcp: dial tcp 10.0.0.1:3128: connect: connection refused"#, PullClass::Proxy),
            (r#"failed to resolve reference "registry.example.com/app:1.2": unexpected status from HEAD request to https://registry.example.com/v2/app/manifests/1.2: 503 Service Unavailable"#, PullClass::RegistryError { status: "503 Service Unavailable".into() }),
            (r#"rpc error: code = NotFound desc = failed to pull and unpack image "ghcr.io/x/y:1": no match for platform in manifest: not found"#, PullClass::PlatformMissing),
            (r#"rpc error: code = NotFound desc = failed to pull and unpack image "ghcr.io/cloudnative-pg/cloudnative-pg:1.20.1": failed to copy: httpReadSeeker: failed open: content at https://ghcr.io/v2/cloudnative-pg/cloudnative-pg/manifests/sha256:8274 not found: not found"#, PullClass::ContentMissing),
            (r#"failed to resolve reference "ghcr.io/x/y:1": no resolve hosts: not found"#, PullClass::MirrorMisconfigured),
            (r#"failed to pull and unpack image "ghcr.io/x/y:1": failed to copy: short read: expected 52428800 bytes but got 1048576: unexpected EOF"#, PullClass::Truncated),
            (r#"failed to do request: Head "https://k8s.gcr.io/v2/conformance/manifests/v1.28.5": dial tcp 64.233.189.82:443: i/o timeout"#, PullClass::Unreachable),
            (r#"failed to do request: Head "https://[2600:1f18::1]:443/v2/x/manifests/1": dial tcp [2600:1f18::1]:443: connect: network is unreachable"#, PullClass::Unreachable),
            (r#"failed to do request: Head "https://ghcr.io/v2/x/manifests/1": EOF"#, PullClass::Unreachable),
            ("unexpected status from GET request to https://h/v2/x/manifests/1: 403 Forbidden\ndenied: requested access to the resource is denied", PullClass::Unauthorized),
            (r#"Container image "app:1.2" is not present with pull policy of Never"#, PullClass::NeverPull),
            (r#"Failed to apply default image tag "ACTOKEY": couldn't parse image name "ACTOKEY": invalid reference format: repository name (library/ACTOKEY) must be lowercase"#, PullClass::InvalidName),
            (r#"failed to resolve reference "docker.io/acme/private:1.0": failed to authorize: failed to fetch oauth token: unexpected status from GET request to https://auth.docker.io/token?scope=x: 401 Unauthorized"#, PullClass::Unauthorized),
            (r#"rpc error: code = Canceled desc = failed to pull and unpack image "x": context canceled"#, PullClass::Interrupted),
            ("failed to pull and unpack image \"x\": a cosmic ray flipped a bit", PullClass::Other("failed to pull and unpack image \"x\": a cosmic ray flipped a bit".into())),
        ];
        for (message, class) in cases {
            assert_eq!(classify_pull(message), class, "{message}");
            let advice = pull_advice(message, "ghcr.io/x/y:1");
            assert!(!advice.reason.is_empty() && !advice.next_action.is_empty());
            assert!(
                !advice.reason.contains("expired")
                    || matches!(class, PullClass::CertificateExpired { .. }),
                "{}",
                advice.reason
            );
        }
        // an unknown error is shown as the runtime wrote it
        let other = pull_advice(
            "failed to pull and unpack image \"x\": a cosmic ray flipped a bit",
            "x",
        );
        assert!(
            other.reason.ends_with("a cosmic ray flipped a bit"),
            "{}",
            other.reason
        );
        // the clock's direction is in the words
        let clock = pull_advice(
            r#"x509: certificate has expired or is not yet valid: current time 1970-01-01T00:02:11Z is before 2025-02-10T00:00:00Z"#,
            "x",
        );
        assert_eq!(clock.layer, Layer::Node);
        assert!(
            clock.next_action.contains("talosctl time"),
            "{}",
            clock.next_action
        );
    }

    proptest::proptest! {
        /// Whatever a pull error says, a message that is there is never called expired: only the
        /// back-off alone is.
        #[test]
        fn a_present_message_is_never_called_expired(text in "[a-zA-Z0-9 :./\"-]{1,120}") {
            let message = format!("failed to pull and unpack image \"x\": {text}");
            proptest::prop_assert_ne!(classify_pull(&message), PullClass::Unknown);
        }

        /// The same failure classifies the same on its first attempt and its tenth: bare, in the
        /// Failed event, behind rpc's code, in the kubelet's back-off (1.32+).
        #[test]
        fn the_same_failure_classifies_the_same_however_wrapped(index in 0usize..6) {
            let inner = [
                r#"failed to pull and unpack image "ghcr.io/x/y:1": failed to resolve reference "ghcr.io/x/y:1": ghcr.io/x/y:1: not found"#,
                r#"failed to do request: Head "https://ghcr.io/v2/x/manifests/1": tls: failed to verify certificate: x509: certificate signed by unknown authority"#,
                "failed to copy: httpReadSeeker: failed open: unexpected status code https://ghcr.io/v2/x: 429 Too Many Requests - Server message: toomanyrequests: retry-after: 1s",
                r#"failed to resolve reference "ghcr.io/x/y:1": failed to do request: Head "https://ghcr.io/v2/x/y/manifests/1": dial tcp: lookup ghcr.io on 127.0.0.53:53: server misbehaving"#,
                r#"failed to extract layer sha256:1: write /var/lib/containerd/x: no space left on device"#,
                r#"failed to pull and unpack image "x": something nobody has written yet"#,
            ][index];
            let bare = classify_pull(inner);
            for wrapped in [
                format!("Failed to pull image \"ghcr.io/x/y:1\": {inner}"),
                format!("Failed to pull image \"ghcr.io/x/y:1\": rpc error: code = Unknown desc = {inner}"),
                format!("Back-off pulling image \"ghcr.io/x/y:1\": ErrImagePull: {inner}"),
            ] {
                proptest::prop_assert_eq!(&classify_pull(&wrapped), &bare, "{}", wrapped);
            }
        }
    }
}
