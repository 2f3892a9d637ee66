//! The pipeline workers and the loop that drives them from the bus.
//!
//! - [`normalizer`]: accepted ingest batches → test results, fingerprinted failures, locator observations
//!   (with the pure [`normalizer::classify()`], [`normalizer::locator_extract`] and
//!   [`normalizer::fingerprint`]); [`replay_unnormalized_batches`] and [`replay_unprocessed_github_events`] for
//!   start-up recovery.
//! - [`correlator`]: records results, failures (groups + graph) and observations; asks for heals.
//! - [`healer`]: knowledge base → cache → DOM similarity; stores, records and publishes the answer.
//! - [`pipeline`]: [`Pipeline`], one consumer loop per (role, topic) around the roles' `handle` steps.
//! - [`role`]: [`Role`], its consumer group and topics.
//! - [`context`]: [`WorkerContext`] (the ports) and [`Clock`].
//! - [`config`]: [`WorkersConfig`] and the retry section of the consumer loops.
//! - [`metrics`]: [`WorkerMetrics`], rendered for `/metrics`.
//! - [`error`]: [`WorkerError`], the one error type of this crate (poison vs transient).
//!
//! Each worker is built from its config (`XConfig::build`) and has one public step,
//! `handle(&ctx, &delivery) -> Result<Outcome, WorkerError>`, which tests drive directly. Every step is
//! idempotent by event id, so at-least-once delivery is safe.

pub mod config;
pub mod context;
pub mod correlator;
pub mod error;
pub mod healer;
pub mod metrics;
pub mod normalizer;
pub mod pipeline;
pub mod role;

pub use config::{RetryConfig, WorkersConfig};
pub use context::{Clock, WorkerContext};
pub use correlator::{Correlator, CorrelatorConfig, replay_unprocessed_github_events};
pub use error::WorkerError;
pub use healer::{Healer, HealerConfig};
pub use metrics::WorkerMetrics;
pub use normalizer::{Normalizer, NormalizerConfig, replay_unnormalized_batches};
pub use pipeline::Pipeline;
pub use role::Role;

use argus_bus::Delivery;
use argus_vocabulary::{Envelope, Topic, envelope::Payload};

/// What a worker's `handle` did with a message. Every outcome is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The message's effects were applied.
    Done,
    /// The message had been handled before (same event id); nothing new happened.
    Duplicate,
    /// The message was deliberately not acted on, for the given reason.
    Skipped(&'static str),
}

/// Decodes a delivery's envelope; an undecodable payload is poison.
pub(crate) fn decode<T: Payload>(delivery: &Delivery) -> Result<Envelope<T>, WorkerError> {
    Envelope::<T>::from_bytes(&delivery.payload)
        .map_err(|source| WorkerError::Decode { topic: delivery.topic, source })
}

/// Checks that a delivery comes from the topic the worker consumes; anything else is poison.
pub(crate) fn expect_topic(role: Role, delivery: &Delivery, expected: Topic) -> Result<(), WorkerError> {
    if delivery.topic == expected {
        Ok(())
    } else {
        Err(WorkerError::UnexpectedTopic { role: role.as_str(), topic: delivery.topic })
    }
}
