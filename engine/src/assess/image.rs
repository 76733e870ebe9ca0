//! Image pull rules (signals §3): classify what the kubelet and the runtime said about a pull.

use super::dns::{dns_failure, DnsFailure};
use app::status::Layer;

/// Why an image pull failed.
#[derive(Clone, Debug, PartialEq)]
pub enum PullClass {
    TagMissing,
    Unauthorized,
    Dns(DnsFailure),
    Interrupted,
    Unreachable,
    InvalidName,
    /// Only `Back-off pulling image` is left: the original error expired (kubernetes#48188).
    Unknown,
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

/// Drops `Failed to pull image "<img>": rpc error: code = Unknown desc = ` and similar prefixes.
pub fn strip_pull_prefix(message: &str) -> &str {
    let mut rest = message.trim();
    if let Some(r) = rest.strip_prefix("Error: ") {
        rest = r;
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

/// Classifies the text of a pull failure.
pub fn classify_pull(message: &str) -> PullClass {
    let text = strip_pull_prefix(message);
    let lower = text.to_ascii_lowercase();
    if let Some(dns) = dns_failure(text) {
        return PullClass::Dns(dns);
    }
    if lower.contains("invalidimagename")
        || lower.contains("couldn't parse image reference")
        || lower.contains("invalid reference format")
    {
        return PullClass::InvalidName;
    }
    if lower.contains("pull access denied")
        || lower.contains("insufficient_scope")
        || lower.contains("401 unauthorized")
        || lower.contains("403 forbidden")
        || lower.contains("denied: requested access")
        || lower.contains("authorization failed")
        || lower.contains("unauthorized")
    {
        return PullClass::Unauthorized;
    }
    if lower.contains("context canceled") {
        return PullClass::Interrupted;
    }
    if lower.contains("manifest unknown") || lower.contains("not found") {
        return PullClass::TagMissing;
    }
    if lower.contains("timeout exceeded")
        || lower.contains("tls handshake timeout")
        || lower.contains("connection reset by peer")
        || lower.contains("i/o timeout")
        || lower.contains("connection refused")
        || lower.contains("no route to host")
    {
        return PullClass::Unreachable;
    }
    PullClass::Unknown
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
}
