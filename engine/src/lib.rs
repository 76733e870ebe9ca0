//! The pure engine and its vocabulary: what the cluster looks like to appliance-status
//! (`snapshot`, `objects`, `event`), what the appliance is made of (`catalog`), what changes
//! arrive (`change`), what the release and its images are (`release`, `images`), what the service
//! measured (`probes`), scenarios of objects over time (`scenario`), and the assessment
//! (`assess`) with its invariants. No runtime, no network, no clock: callers pass `now`. The
//! service (crate `server`) runs the sources, the publisher, the web server and the command line
//! above it; nothing here knows they exist.

pub mod assess;
pub mod catalog;
pub mod change;
pub mod event;
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
pub mod images;
pub mod kinds;
pub mod moment;
pub mod objects;
pub mod probes;
pub mod prune;
pub mod release;
pub mod scenario;
pub mod snapshot;

/// Errors of the engine's readers (objects, catalog, scenario, probes, release manifests, image
/// references, durations). Every one names what it was reading; each message is complete (what
/// a variant wraps is part of its text).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The one whose cause is also its `source()`: a report of the whole chain (`serve`'s) names
    /// the cause twice, as it always has.
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{origin}: document {document}: {message}")]
    Input {
        origin: String,
        document: usize,
        message: String,
    },
    #[error("{origin}: too large ({size} bytes; the limit is {limit})")]
    TooLarge {
        origin: String,
        size: u64,
        limit: u64,
    },
    #[error("catalog {origin}: {message}")]
    Catalog { origin: String, message: String },
    #[error("scenario {origin}: {message}")]
    Scenario { origin: String, message: String },
    #[error("probe {0}")]
    Probe(String),
    #[error("{0}")]
    Config(String),

    // One object (`objects`): what is wrong with it.
    #[error("expected a Kubernetes object (a mapping with kind and metadata)")]
    NotAnObject,
    #[error("object has no `kind`")]
    NoKind,
    #[error("{kind} is malformed: {error}")]
    Malformed {
        kind: String,
        error: serde_json::Error,
    },
    #[error("{kind} has no metadata.name")]
    NoName { kind: String },
    #[error("{kind} {name:?} has no metadata.namespace")]
    NoNamespace { kind: String, name: String },
    #[error("{kind} has no metadata")]
    NoMetadata { kind: &'static str },
    #[error("{kind} needs metadata.name and metadata.namespace")]
    NoIdentity { kind: &'static str },
    #[error("{kind} {name}: status.conditions is not a list: {error}")]
    Conditions {
        kind: &'static str,
        name: String,
        error: serde_json::Error,
    },

    // An image reference (`images`).
    #[error("{repository:?} has no registry host")]
    NoRegistryHost { repository: String },
    #[error("{repository:?}: {host:?} is not a registry host")]
    RegistryHost { repository: String, host: String },
    #[error("{repository:?}: {name:?} is not a repository name")]
    RepositoryName { repository: String, name: String },
    #[error("{tag:?} is not a valid image tag (letters, digits, _ . -; at most 128)")]
    ImageTag { tag: String },

    // A release manifest and its plan (`release`).
    #[error("release manifest: {0}")]
    ReleaseManifest(serde_json::Error),
    #[error("release manifest: releaseVersion is empty")]
    NoReleaseVersion,
    #[error("app.images.{key} is missing")]
    ReleaseImageMissing { key: String },
    #[error("app.images.{key}: not an image this appliance runs (known: {})", .known.join(", "))]
    ReleaseImageUnknown { key: String, known: Vec<String> },
    #[error("app.images.{key}: {error}")]
    ReleaseImage { key: String, error: Box<Error> },

    // A duration (`scenario::parse_offset`: `90s`, `16m`, `1h2m30s`).
    #[error("empty duration")]
    EmptyDuration,
    #[error("{text:?}: unknown unit {unit:?} (use h, m, s)")]
    DurationUnit { text: String, unit: char },
    #[error("{text:?}: a number must precede {unit:?}")]
    DurationNumber { text: String, unit: char },
    #[error("{text:?}: missing unit after {number}")]
    DurationMissingUnit { text: String, number: String },
}

/// This crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
