//! The bus port: topics of enveloped messages, consumed by consumer groups with at-least-once delivery.
//!
//! - [`Bus`] / [`Subscription`]: the port. Every adapter passes [`conformance`] unchanged.
//! - [`in_process`]: the embedded adapter (bounded per-topic logs in memory).
//! - `kafka` (cargo feature `kafka`, which needs cmake to build librdkafka): the Kafka-protocol adapter
//!   (rdkafka; idempotent producer, commits only after `ack`).
//! - `dead_letter`: the `argus.dlq` envelope both adapters build for a poison message.
//! - [`publish`]: typed publishing of an [`Envelope`].
//! - [`BusError`]: the one error type of this crate.
//!
//! Semantics every adapter keeps:
//! - a message published to a topic is delivered to every consumer group subscribed to that topic, and
//!   within a group to one member at a time (competing consumers);
//! - a delivery is redelivered until it is [`Subscription::ack`]ed (a dropped subscription gives its
//!   in-flight deliveries back to the group), so handlers must be idempotent by event id;
//! - [`Subscription::nack`] redelivers with `attempt + 1`; once `attempt` reaches the configured maximum the
//!   message is wrapped in a [`argus_vocabulary::DeadLetter`], published to `argus.dlq` and acknowledged;
//! - publishing is bounded: when a topic's backlog is full, `publish` waits up to the configured timeout and
//!   then fails with [`BusError::Backpressure`] rather than growing memory.

pub mod conformance;
mod dead_letter;
mod error;
pub mod in_process;
#[cfg(feature = "kafka")]
pub mod kafka;

pub use error::BusError;

use argus_vocabulary::{Envelope, Topic, envelope::Payload};
use async_trait::async_trait;

/// One message handed to a consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The topic it came from.
    pub topic: Topic,
    /// Its partition key.
    pub key: String,
    /// Its payload (an encoded [`Envelope`]).
    pub payload: Vec<u8>,
    /// 1 on first delivery, then one more per redelivery.
    pub attempt: u32,
    /// Where the message sits in its source, for logs and dead letters (Kafka: `partition/offset`).
    pub coordinates: String,
    /// Adapter-private handle used by `ack`/`nack`.
    pub receipt: u64,
}

/// What [`Subscription::nack`] did with the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NackOutcome {
    /// It will be delivered again.
    Redelivered,
    /// It reached the attempt limit and went to `argus.dlq`.
    DeadLettered,
}

/// The bus port.
#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Publishes one message. Waits while the topic is full, up to the adapter's publish timeout, then
    /// fails with [`BusError::Backpressure`].
    async fn publish(&self, topic: Topic, key: &str, payload: Vec<u8>) -> Result<(), BusError>;

    /// Joins consumer group `group` on `topic`. A group that did not exist starts at the oldest message
    /// the bus still holds.
    async fn subscribe(&self, topic: Topic, group: &str) -> Result<Box<dyn Subscription>, BusError>;

    /// Messages published but not yet acknowledged by every group subscribed to their topic (backlog plus
    /// in flight). Zero means the pipeline is idle. Adapters that cannot know exactly return an upper bound.
    async fn unacknowledged(&self) -> Result<u64, BusError>;

    /// Whether the bus can accept and deliver messages now (for `/ready`).
    async fn ready(&self) -> bool;
}

/// A member of a consumer group on one topic.
#[async_trait]
pub trait Subscription: Send {
    /// The next delivery, waiting for one; `None` once the bus is closed.
    async fn next(&mut self) -> Result<Option<Delivery>, BusError>;

    /// The delivery's effect is durable: it is never delivered to this group again.
    async fn ack(&mut self, delivery: &Delivery) -> Result<(), BusError>;

    /// The handler failed with `error`: redeliver, or dead-letter once the attempt limit is reached.
    async fn nack(&mut self, delivery: &Delivery, error: &str) -> Result<NackOutcome, BusError>;
}

/// Publishes an envelope on its payload's topic, keyed by the payload's partition key.
pub async fn publish<T: Payload>(bus: &dyn Bus, envelope: &Envelope<T>) -> Result<(), BusError> {
    bus.publish(T::TOPIC, &envelope.partition_key(), envelope.to_bytes()).await
}
