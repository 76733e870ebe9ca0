//! appliance-status, the server side: one flow, no back and forth.
//!
//! ```text
//! source (collector | scenario player) -> Snapshot -> assess -> published StatusDocument -> readers
//! ```
//!
//! - [`snapshot`] and [`objects`]: what the engine knows, and how objects get in; [`event`]: the
//!   compact record an Event is kept as.
//! - [`catalog`]: the appliance's components, as data.
//! - [`probes`]: results the service measured itself.
//! - [`assess`]: the pure engine.
//! - [`scenario`]: timelines of objects that drive tests and the demo.
//! - [`publish`]: runs the engine once per change and publishes the document.
//! - [`web`]: the HTTP server (the Leptos app, `/api/status`, health).

pub mod admin;
pub mod assess;
pub mod auth;
pub mod bundle;
pub mod catalog;
pub mod cli;
pub mod collect;
pub mod event;
pub mod exit;
pub mod follow;
pub mod listener;
pub mod metrics;
pub mod moment;
pub mod objects;
pub mod output;
pub mod prober;
pub mod probes;
pub mod publish;
pub mod registry;
pub mod release;
pub mod scenario;
pub mod smoke;
pub mod snapshot;
pub mod term;
pub mod tls;
pub mod token;
pub mod web;

/// Errors of this crate. Every one names what it was reading.
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
