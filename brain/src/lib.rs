//! The `argus` binary's library: the composition root of the embedded profile.
//!
//! - [`cli`]: the command line (`serve`, `project create`, `demo`) and configuration loading from the
//!   process (the only place env vars and files are read).
//! - [`config`]: the typed configuration and its pure layered loader.
//! - [`startup`]: [`Application`]: build (open adapters, bind, spawn the pipeline, replay), serve, drain.
//! - [`api`]: the HTTP API (axum): routes, auth, errors, handlers, metrics.
//! - [`intake`]: wire batches → domain [`argus_vocabulary::IngestBatch`] plus snapshots.
//! - [`project`]: projects and API keys (generated, hashed, shown once).
//! - [`demo`]: the self-contained demo (bundled pages, scenario, typed API client).
//! - [`BrainError`]: the one error type of this crate.

pub mod api;
pub mod cli;
pub mod config;
pub mod demo;
mod error;
pub mod intake;
pub mod project;
pub mod startup;

pub use config::Config;
pub use error::BrainError;
pub use startup::Application;
