//! The `argus` binary's library: the composition root of the embedded and distributed profiles.
//!
//! - [`cli`]: the command line (`serve`, `worker`, `healthcheck`, `project create`, `demo`, …) and
//!   configuration loading from the process (the only place env vars and files are read).
//! - [`config`]: the typed configuration and its pure layered loader; the profile switch.
//! - [`startup`]: [`Application`]: build (open the profile's adapters, bind, spawn the pipeline, replay),
//!   serve, drain.
//! - [`distributed`]: the distributed profile's adapters (Postgres, Kafka, Valkey, FalkorDB).
//! - [`worker`]: `argus worker <role>`, one role as its own process.
//! - [`api`]: the HTTP API (axum): routes, auth, errors, handlers, metrics.
//! - [`intake`]: wire batches → domain [`argus_vocabulary::IngestBatch`] plus snapshots.
//! - [`locate`]: `argus locate`, the engine on offline cases (JSON lines in, results and figures out).
//! - [`parse`]: `argus parse`, a test report (JUnit, Playwright JSON, Argus JSON) summarised offline.
//! - [`project`]: projects and API keys (generated, hashed, shown once).
//! - [`upload`]: `argus report upload`, reports sent to `POST /api/v1/reports` (globs, gzip, retries).
//! - [`demo`]: the self-contained demo (bundled pages, scenario, typed API client).
//! - [`BrainError`]: the one error type of this crate.

pub mod api;
pub mod cli;
pub mod config;
pub mod demo;
pub mod distributed;
mod error;
pub mod intake;
pub mod locate;
pub mod parse;
pub mod project;
pub mod startup;
pub mod upload;
pub mod worker;

pub use config::Config;
pub use error::BrainError;
pub use startup::Application;
