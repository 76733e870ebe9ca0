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

/// Errors of the engine's readers (objects, catalog, scenario, probes). Every one names what it was reading.
#[derive(Debug, thiserror::Error)]
pub enum Error {
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
}

/// This crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
