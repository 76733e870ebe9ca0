//! appliance-status, the service above the engine (crate `engine`, `appliance_engine`):
//!
//! ```text
//! sources (collect | publish::DemoRunner, prober, release checker, smoke) -> Change
//!   -> the snapshot's owner (engine::change::apply) -> engine::assess -> publish -> readers
//! readers: web (the page, /api/status, /metrics), bundle; the command line (cli, admin, follow)
//! ```

/// The engine and its vocabulary (crate `engine`), re-exported where the service reads them.
pub use appliance_engine::{
    assess, catalog, change, event, images, moment, objects, probes, scenario, snapshot,
};

pub mod admin;
pub mod auth;
pub mod bundle;
pub mod cli;
pub mod collect;
pub mod exit;
pub mod follow;
pub mod listener;
pub mod metrics;
pub mod output;
pub mod prober;
pub mod publish;
pub mod registry;
pub mod release;
pub mod service;
pub mod smoke;
pub mod term;
pub mod tls;
pub mod token;
pub mod web;

/// The engine's errors and result, used by the service too.
pub use appliance_engine::{Error, Result};
