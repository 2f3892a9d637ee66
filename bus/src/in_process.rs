//! The embedded bus adapter: bounded per-topic logs in memory, with the semantics of the Kafka adapter.
//!
//! - [`InProcessBusConfig`]: capacity, attempt limit and publish timeout.
//! - [`InProcessBus`]: the [`Bus`]; [`InProcessBus::close`] stops intake for shutdown.
//! - `log`: one topic's log and its consumer groups as plain data (offsets, cursors, redelivery queues,
//!   in-flight and acknowledged sets, trimming). All the bookkeeping lives there and is unit-tested.
//! - `crate::dead_letter` (shared with the Kafka adapter): wrapping a poison message for `argus.dlq`.
//!
//! This file is the thin shell: one `std::sync::Mutex` over every topic's log (never held across an
//! `.await`), and two [`Notify`]s, one for "something may be deliverable" (publishes, requeues, close) and
//! one for "a topic shrank" (trimming, close). Every waiter registers with its `Notify` *before* it looks at
//! the state, so a wake-up between the look and the wait is never lost. Waiting futures hold nothing, so
//! [`Subscription::next`] and [`Bus::publish`] are cancellation-safe.

mod log;

use crate::dead_letter::{PoisonMessage, dead_letter_envelope};
use crate::{Bus, BusError, Delivery, NackOutcome, Subscription};
use argus_vocabulary::Topic;
use async_trait::async_trait;
use log::{StoredMessage, TopicLog};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;
use uuid::Uuid;

/// Settings of the in-process bus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InProcessBusConfig {
    /// How many messages one topic may hold that are not yet acknowledged by every consumer group (or are
    /// waiting for the first group to subscribe). A publish to a full topic waits; `0` rejects every publish.
    #[serde(default = "InProcessBusConfig::default_capacity_per_topic")]
    pub capacity_per_topic: u64,
    /// How many times a message is tried before [`Subscription::nack`] sends it to `argus.dlq`.
    #[serde(default = "InProcessBusConfig::default_max_attempts")]
    pub max_attempts: u32,
    /// How long a publish to a full topic waits for room before failing with [`BusError::Backpressure`],
    /// in milliseconds.
    #[serde(default = "InProcessBusConfig::default_publish_timeout_ms")]
    pub publish_timeout_ms: u64,
}

impl InProcessBusConfig {
    /// Default [`Self::capacity_per_topic`].
    pub const fn default_capacity_per_topic() -> u64 {
        10_000
    }

    /// Default [`Self::max_attempts`].
    pub const fn default_max_attempts() -> u32 {
        5
    }

    /// Default [`Self::publish_timeout_ms`].
    pub const fn default_publish_timeout_ms() -> u64 {
        2_000
    }

    fn publish_timeout(&self) -> Duration {
        Duration::from_millis(self.publish_timeout_ms)
    }
}

impl Default for InProcessBusConfig {
    fn default() -> Self {
        Self {
            capacity_per_topic: Self::default_capacity_per_topic(),
            max_attempts: Self::default_max_attempts(),
            publish_timeout_ms: Self::default_publish_timeout_ms(),
        }
    }
}

/// The bus state behind the mutex.
#[derive(Debug, Default)]
struct BusState {
    /// Set by [`InProcessBus::close`]; never cleared.
    closed: bool,
    /// Every topic anyone published to or subscribed to.
    topics: HashMap<Topic, TopicLog>,
    /// The next delivery receipt (unique across the bus).
    next_receipt: u64,
    /// The next subscription id (unique across the bus).
    next_member: u64,
}

/// What the bus and its subscriptions share.
#[derive(Debug)]
struct Shared {
    config: InProcessBusConfig,
    /// One random id per bus instance, mixed into dead-letter event ids (offsets restart with the process).
    incarnation: Uuid,
    state: Mutex<BusState>,
    /// Signalled when a message may have become deliverable, and on close.
    delivery_ready: Notify,
    /// Signalled when a topic shrank, and on close.
    space_freed: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, BusState> {
        // Every critical section leaves the state consistent before it can panic, so a poisoned lock still
        // guards valid data.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The embedded bus: one in-memory log per topic, bounded by [`InProcessBusConfig::capacity_per_topic`].
#[derive(Debug)]
pub struct InProcessBus {
    shared: Arc<Shared>,
}

impl InProcessBus {
    /// An empty, open bus.
    pub fn new(config: InProcessBusConfig) -> Arc<Self> {
        let shared = Shared {
            config,
            incarnation: Uuid::new_v4(),
            state: Mutex::new(BusState::default()),
            delivery_ready: Notify::new(),
            space_freed: Notify::new(),
        };
        Arc::new(Self { shared: Arc::new(shared) })
    }

    /// The settings the bus was built with.
    pub fn config(&self) -> &InProcessBusConfig {
        &self.shared.config
    }

    /// Stops intake: publishing and subscribing fail with [`BusError::Closed`], and [`Subscription::next`]
    /// returns `Ok(None)` once its group has nothing left to hand out. Deliveries already handed out can
    /// still be acknowledged or nacked.
    pub fn close(&self) {
        self.shared.lock().closed = true;
        self.shared.delivery_ready.notify_waiters();
        self.shared.space_freed.notify_waiters();
        tracing::info!("in-process bus closed");
    }
}

#[async_trait]
impl Bus for InProcessBus {
    #[tracing::instrument(level = "debug", skip_all, fields(topic = %topic, key = key))]
    async fn publish(&self, topic: Topic, key: &str, payload: Vec<u8>) -> Result<(), BusError> {
        let shared = &self.shared;
        let deadline = Instant::now() + shared.config.publish_timeout();
        let message = StoredMessage { key: key.to_owned(), payload };
        loop {
            let mut space_freed = pin!(shared.space_freed.notified());
            space_freed.as_mut().enable();
            {
                let mut state = shared.lock();
                if state.closed {
                    return Err(BusError::Closed);
                }
                let log = state.topics.entry(topic).or_default();
                if log.retained() < shared.config.capacity_per_topic {
                    let offset = log.append(message);
                    drop(state);
                    shared.delivery_ready.notify_waiters();
                    tracing::debug!(offset, "published");
                    return Ok(());
                }
            }
            if tokio::time::timeout_at(deadline, space_freed).await.is_err() {
                tracing::warn!(
                    capacity = shared.config.capacity_per_topic,
                    timeout_ms = shared.config.publish_timeout_ms,
                    "publish rejected: topic is full"
                );
                return Err(BusError::Backpressure { topic: topic.name().to_owned() });
            }
        }
    }

    async fn subscribe(&self, topic: Topic, group: &str) -> Result<Box<dyn Subscription>, BusError> {
        let member = {
            let mut state = self.shared.lock();
            if state.closed {
                return Err(BusError::Closed);
            }
            state.topics.entry(topic).or_default().join(group);
            let member = state.next_member;
            state.next_member += 1;
            member
        };
        tracing::debug!(topic = %topic, group, member, "subscribed");
        Ok(Box::new(InProcessSubscription {
            shared: Arc::clone(&self.shared),
            topic,
            group: group.to_owned(),
            member,
        }))
    }

    async fn unacknowledged(&self) -> Result<u64, BusError> {
        Ok(self.shared.lock().topics.values().map(TopicLog::unacknowledged).sum())
    }

    async fn ready(&self) -> bool {
        !self.shared.lock().closed
    }
}

/// One member of a consumer group. Dropping it gives its unsettled deliveries back to the group.
#[derive(Debug)]
struct InProcessSubscription {
    shared: Arc<Shared>,
    topic: Topic,
    group: String,
    member: u64,
}

impl InProcessSubscription {
    /// Appends the dead letter for `receipt` to `argus.dlq` and acknowledges the original, both under one
    /// lock so neither can happen without the other. `Ok(None)` when `argus.dlq` is full.
    fn try_dead_letter(&self, receipt: u64, error: &str) -> Result<Option<u64>, BusError> {
        let shared = &self.shared;
        let mut guard = shared.lock();
        let state = &mut *guard;
        let unknown = || BusError::UnknownReceipt(receipt);
        let log = state.topics.get(&self.topic).ok_or_else(unknown)?;
        let in_flight = log.in_flight(&self.group, self.member, receipt).ok_or_else(unknown)?;
        let message = log.message(in_flight.offset).ok_or_else(unknown)?;
        // A dead letter that itself fails is exchanged one for one on argus.dlq, so it may not wait for room
        // there: its own acknowledgement is what would make room.
        let dead_letter_retained = state.topics.get(&Topic::DeadLetter).map_or(0, TopicLog::retained);
        if self.topic != Topic::DeadLetter && dead_letter_retained >= shared.config.capacity_per_topic {
            return Ok(None);
        }
        let poison = PoisonMessage {
            topic: self.topic,
            group: &self.group,
            offset: in_flight.offset,
            key: &message.key,
            payload: &message.payload,
            attempts: in_flight.attempt,
            error,
        };
        let envelope = dead_letter_envelope(poison, shared.incarnation, chrono::Utc::now());
        let dead_letter = StoredMessage { key: envelope.partition_key(), payload: envelope.to_bytes() };
        tracing::warn!(
            topic = %self.topic,
            group = %self.group,
            offset = in_flight.offset,
            attempts = in_flight.attempt,
            error,
            event_id = %envelope.event_id,
            "message dead-lettered after its last attempt"
        );
        state.topics.entry(Topic::DeadLetter).or_default().append(dead_letter);
        let trimmed = state
            .topics
            .get_mut(&self.topic)
            .and_then(|log| log.ack(&self.group, self.member, receipt))
            .ok_or_else(unknown)?;
        Ok(Some(trimmed))
    }
}

#[async_trait]
impl Subscription for InProcessSubscription {
    async fn next(&mut self) -> Result<Option<Delivery>, BusError> {
        let shared = &self.shared;
        loop {
            let mut delivery_ready = pin!(shared.delivery_ready.notified());
            delivery_ready.as_mut().enable();
            {
                let mut guard = shared.lock();
                let state = &mut *guard;
                let receipt = state.next_receipt;
                let handed = state
                    .topics
                    .get_mut(&self.topic)
                    .and_then(|log| log.take_next(&self.group, self.member, receipt));
                if let Some(handed) = handed {
                    state.next_receipt += 1;
                    return Ok(Some(Delivery {
                        topic: self.topic,
                        key: handed.message.key,
                        payload: handed.message.payload,
                        attempt: handed.attempt,
                        coordinates: handed.offset.to_string(),
                        receipt,
                    }));
                }
                if state.closed {
                    return Ok(None);
                }
            }
            delivery_ready.await;
        }
    }

    async fn ack(&mut self, delivery: &Delivery) -> Result<(), BusError> {
        let trimmed = self
            .shared
            .lock()
            .topics
            .get_mut(&self.topic)
            .and_then(|log| log.ack(&self.group, self.member, delivery.receipt))
            .ok_or(BusError::UnknownReceipt(delivery.receipt))?;
        if trimmed > 0 {
            self.shared.space_freed.notify_waiters();
        }
        Ok(())
    }

    #[tracing::instrument(
        level = "debug",
        skip_all,
        fields(topic = %self.topic, group = %self.group, coordinates = %delivery.coordinates)
    )]
    async fn nack(&mut self, delivery: &Delivery, error: &str) -> Result<NackOutcome, BusError> {
        let shared = &self.shared;
        let receipt = delivery.receipt;
        {
            let mut state = shared.lock();
            let log = state.topics.get_mut(&self.topic).ok_or(BusError::UnknownReceipt(receipt))?;
            let in_flight =
                log.in_flight(&self.group, self.member, receipt).ok_or(BusError::UnknownReceipt(receipt))?;
            if in_flight.attempt < shared.config.max_attempts {
                let attempt = log
                    .requeue(&self.group, self.member, receipt)
                    .ok_or(BusError::UnknownReceipt(receipt))?;
                drop(state);
                shared.delivery_ready.notify_waiters();
                tracing::debug!(attempt, error, "message requeued");
                return Ok(NackOutcome::Redelivered);
            }
        }
        let deadline = Instant::now() + shared.config.publish_timeout();
        loop {
            let mut space_freed = pin!(shared.space_freed.notified());
            space_freed.as_mut().enable();
            if let Some(trimmed) = self.try_dead_letter(receipt, error)? {
                shared.delivery_ready.notify_waiters();
                if trimmed > 0 {
                    shared.space_freed.notify_waiters();
                }
                return Ok(NackOutcome::DeadLettered);
            }
            if tokio::time::timeout_at(deadline, space_freed).await.is_err() {
                tracing::warn!(
                    capacity = shared.config.capacity_per_topic,
                    "dead-lettering rejected: dead-letter topic is full"
                );
                return Err(BusError::Backpressure { topic: Topic::DeadLetter.name().to_owned() });
            }
        }
    }
}

impl Drop for InProcessSubscription {
    fn drop(&mut self) {
        let released = self
            .shared
            .lock()
            .topics
            .get_mut(&self.topic)
            .map_or(0, |log| log.release_member(&self.group, self.member));
        if released > 0 {
            self.shared.delivery_ready.notify_waiters();
            tracing::debug!(
                topic = %self.topic,
                group = %self.group,
                released,
                "dropped subscription gave its deliveries back"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_match_the_documented_values() {
        let config = InProcessBusConfig::default();
        assert_eq!(config.capacity_per_topic, 10_000);
        assert_eq!(config.max_attempts, 5);
        assert_eq!(config.publish_timeout_ms, 2_000);
    }

    #[test]
    fn config_fills_missing_fields_and_rejects_unknown_ones() {
        let partial: InProcessBusConfig =
            serde_json::from_str(r#"{"max_attempts":3}"#).expect("partial config parses");
        assert_eq!(partial, InProcessBusConfig { max_attempts: 3, ..InProcessBusConfig::default() });

        let unknown = serde_json::from_str::<InProcessBusConfig>(r#"{"capacity":1}"#);
        assert!(unknown.is_err(), "unknown field must be rejected");
    }
}
