//! An image reference, as the OCI distribution spec writes it, what a registry said of it, and
//! what the service knows of the selected release's images (`ReleaseCheck`): the vocabulary the
//! release check and the engine share (asking is `server/src/registry.rs`).

use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// `host/name:tag`, checked against the distribution spec's grammar.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImageRef {
    pub host: String,
    pub name: String,
    pub tag: String,
}

impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}:{}", self.host, self.name, self.tag)
    }
}

/// A tag as the distribution spec allows it: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
pub fn valid_tag(tag: &str) -> bool {
    let mut chars = tag.chars();
    tag.len() <= 128
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// A repository path component: lowercase alphanumerics separated by `.`, `_`, `__` or dashes.
fn valid_component(part: &str) -> bool {
    let bytes = part.as_bytes();
    !part.is_empty()
        && bytes[0].is_ascii_lowercase() | bytes[0].is_ascii_digit()
        && bytes[bytes.len() - 1].is_ascii_lowercase() | bytes[bytes.len() - 1].is_ascii_digit()
        && part
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
        && !part.contains("..")
        && !part.contains("___")
}

impl ImageRef {
    /// `repository` (`host/name`) with `tag`; an error says what does not parse.
    pub fn new(repository: &str, tag: &str) -> Result<ImageRef> {
        let (host, name) = repository
            .split_once('/')
            .ok_or_else(|| Error::NoRegistryHost {
                repository: repository.to_string(),
            })?;
        if host.is_empty() || !host.contains(['.', ':']) && host != "localhost" {
            return Err(Error::RegistryHost {
                repository: repository.to_string(),
                host: host.to_string(),
            });
        }
        if !name.split('/').all(valid_component) {
            return Err(Error::RepositoryName {
                repository: repository.to_string(),
                name: name.to_string(),
            });
        }
        if !valid_tag(tag) {
            return Err(Error::ImageTag {
                tag: tag.to_string(),
            });
        }
        Ok(ImageRef {
            host: host.to_string(),
            name: name.to_string(),
            tag: tag.to_string(),
        })
    }
}

/// Why a registry could not be asked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub enum Unreachable {
    Dns(String),
    Tls(String),
    Timeout(String),
    Connection(String),
    /// It answered, but not as a registry does.
    Answer(String),
}

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unreachable::Dns(d) => write!(f, "DNS: {d}"),
            Unreachable::Tls(d) => write!(f, "TLS: {d}"),
            Unreachable::Timeout(d) => write!(f, "timeout: {d}"),
            Unreachable::Connection(d) => write!(f, "connection: {d}"),
            Unreachable::Answer(d) => write!(f, "unexpected answer: {d}"),
        }
    }
}

/// What the registry says about one image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    Present {
        digest: String,
        media_type: String,
        /// The image's compressed size for the node's platform: the config and layers its
        /// manifest lists (what the kubelet reports as `Image size` once pulled).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        size_bytes: Option<u64>,
    },
    TagMissing,
    RepositoryNotFound,
    Unauthorized {
        detail: String,
    },
    Unreachable {
        why: Unreachable,
    },
}

impl Outcome {
    /// The outcome's name on the wire (`present`, `tag_missing`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Present { .. } => "present",
            Outcome::TagMissing => "tag_missing",
            Outcome::RepositoryNotFound => "repository_not_found",
            Outcome::Unauthorized { .. } => "unauthorized",
            Outcome::Unreachable { .. } => "unreachable",
        }
    }

    /// In words, for people.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Present {
                digest,
                size_bytes: Some(size),
                ..
            } => format!("present ({digest}, {})", app::format::bytes(*size)),
            Outcome::Present { digest, .. } => format!("present ({digest})"),
            Outcome::TagMissing => "tag not found in the registry".into(),
            Outcome::RepositoryNotFound => "repository not found".into(),
            Outcome::Unauthorized { detail } => format!("unauthorized: {detail}"),
            Outcome::Unreachable { why } => format!("registry unreachable ({why})"),
        }
    }
}

/// What the service knows of the selected release's images (`Snapshot::release_check`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseCheck {
    /// A sentence for the diagnostics tab: what was checked and when, or why not.
    pub note: Option<String>,
    pub images: Vec<ImageCheck>,
}

/// One image as the checker last saw it.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageCheck {
    pub key: String,
    pub reference: String,
    pub component: String,
    pub login_critical: bool,
    /// The last answer, whatever it was.
    pub last: Outcome,
    /// The last definite answer (present, missing, not found, unauthorized): what the engine
    /// uses, so a registry outage neither raises nor clears a blocker.
    pub settled: Option<Outcome>,
    pub checked_at: jiff::Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_follow_the_distribution_grammar() {
        let r = ImageRef::new("ghcr.io/nine-minds/alga-psa-ee", "61e4a00e").unwrap();
        assert_eq!(r.to_string(), "ghcr.io/nine-minds/alga-psa-ee:61e4a00e");
        assert!(ImageRef::new("127.0.0.1:5000/x", "979e207").is_ok());
        assert!(ImageRef::new("ghcr.io/Nine-Minds/x", "1")
            .unwrap_err()
            .to_string()
            .contains("repository name"));
        assert!(ImageRef::new("ghcr.io/x", "61e4 00e")
            .unwrap_err()
            .to_string()
            .contains("valid image tag"));
        assert!(ImageRef::new("ghcr.io/x", "").is_err());
        assert!(ImageRef::new("ghcr.io/x", "-x").is_err());
        assert!(ImageRef::new("ghcr.io/x", &"a".repeat(129)).is_err());
        assert!(ImageRef::new("alga-psa-ee", "1")
            .unwrap_err()
            .to_string()
            .contains("no registry host"));
    }
}
