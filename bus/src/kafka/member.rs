//! One consumer-group member: a librdkafka consumer, the thread that polls it, and the [`Subscription`]
//! the application holds. See `design.md` beside this file for the whole story.
//!
//! - [`Member`]: the consumer and the state its thread and the subscription share.
//! - [`MemberContext`]: the rebalance hooks (commit what is committable on revoke, forget revoked
//!   partitions, mark the first assignment) and the commit callback.
//! - `drive`: the polling thread. It alone calls `poll`, buffers what it fetches in the member's
//!   [`MemberBook`], pauses the assignment when the buffer is full and resumes it at half, and, once the
//!   subscription is gone, commits what is committable and closes the consumer (leaving the group).
//! - [`KafkaSubscription`]: `next`/`ack`/`nack` over the book; acks commit asynchronously, in order.

use super::book::{Fetched, MemberBook, Settled};
use super::{BusShared, log_librdkafka};
use crate::dead_letter::{KafkaPoisonMessage, PoisonMessage, kafka_dead_letter_envelope};
use crate::{BusError, Delivery, NackOutcome, Subscription};
use argus_vocabulary::Topic;
use async_trait::async_trait;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::Notify;

/// How long one `poll` of the driver blocks; also how quickly a dropped subscription is noticed.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// What the driver thread, the rebalance hooks and the subscription share.
#[derive(Debug, Default)]
pub(super) struct MemberShared {
    state: Mutex<MemberState>,
    /// Signalled when a delivery may be ready, on the first assignment, on a fatal error and on close.
    pub(super) changed: Notify,
    /// Set when the subscription is dropped: the member is leaving the group.
    leaving: AtomicBool,
}

#[derive(Debug, Default)]
struct MemberState {
    book: MemberBook,
    /// The first assignment arrived (possibly empty): the member is part of the group.
    joined: bool,
    /// A fatal consumer error; `next` reports it.
    failure: Option<String>,
    /// Whether the driver paused the assignment because the buffer is full.
    paused: bool,
}

impl MemberShared {
    /// Whether the subscription was dropped (the member is leaving, or has left, the group).
    pub(super) fn is_leaving(&self) -> bool {
        self.leaving.load(Ordering::Acquire)
    }

    /// Wakes a `next` waiting on this member (the bus closed).
    pub(super) fn wake(&self) {
        self.changed.notify_waiters();
    }

    fn lock(&self) -> MutexGuard<'_, MemberState> {
        // Every critical section leaves the state consistent before it can panic.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The librdkafka context of a member: logging, rebalance hooks and commit results.
pub(super) struct MemberContext {
    shared: Arc<MemberShared>,
    wire_topic: String,
    group: String,
}

impl ClientContext for MemberContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        log_librdkafka(level, facility, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(group = %self.group, error = %error, reason, "kafka consumer error");
    }
}

impl ConsumerContext for MemberContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(partitions) => {
                let revoked = partitions_of(partitions, &self.wire_topic);
                let commits = self.shared.lock().book.revoke(revoked.iter().copied());
                // Synchronously, while the partitions are still ours: the next owner starts from here.
                if let Err(error) = commit(consumer, &self.wire_topic, &commits, CommitMode::Sync) {
                    tracing::warn!(group = %self.group, error = %error, "commit on revoke failed");
                }
                tracing::info!(group = %self.group, topic = %self.wire_topic, ?revoked, "partitions revoked");
            }
            Rebalance::Assign(partitions) => {
                let assigned = partitions_of(partitions, &self.wire_topic);
                self.shared.lock().book.assign(assigned.iter().copied());
                tracing::info!(group = %self.group, topic = %self.wire_topic, ?assigned, "partitions assigned");
            }
            Rebalance::Error(error) => {
                tracing::warn!(group = %self.group, error = %error, "rebalance failed");
            }
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(_) = rebalance {
            {
                let mut state = self.shared.lock();
                state.joined = true;
                // A new assignment starts unpaused; the driver pauses it again if the buffer is full.
                state.paused = false;
            }
            self.shared.changed.notify_waiters();
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        match result {
            Ok(()) => tracing::trace!(group = %self.group, committed = offsets.count(), "offsets committed"),
            // The positions are committed again by the next ack of the partition, on revoke and on close;
            // until then a crash redelivers (at-least-once).
            Err(error) => tracing::warn!(group = %self.group, error = %error, "offset commit failed"),
        }
    }
}

/// The partitions of `wire_topic` in a rebalance's list.
fn partitions_of(partitions: &TopicPartitionList, wire_topic: &str) -> Vec<i32> {
    partitions.elements_for_topic(wire_topic).iter().map(|element| element.partition()).collect()
}

/// Commits `positions` (partition, next offset) of `wire_topic`. Nothing to do for an empty list.
fn commit(
    consumer: &BaseConsumer<MemberContext>,
    wire_topic: &str,
    positions: &[(i32, i64)],
    mode: CommitMode,
) -> KafkaResult<()> {
    if positions.is_empty() {
        return Ok(());
    }
    let mut list = TopicPartitionList::new();
    for (partition, offset) in positions {
        list.add_partition_offset(wire_topic, *partition, Offset::Offset(*offset))?;
    }
    consumer.commit(&list, mode)
}

/// A consumer-group member: its librdkafka consumer and the state shared with its driver thread.
pub(super) struct Member {
    consumer: BaseConsumer<MemberContext>,
    shared: Arc<MemberShared>,
    wire_topic: String,
    group: String,
}

impl Member {
    /// Creates the consumer, subscribes it to `wire_topic` and starts its driver thread. The member joins
    /// the group in the background; [`Member::wait_joined`] waits for it.
    pub(super) fn start(bus: &BusShared, wire_topic: String, group: &str) -> Result<Arc<Self>, BusError> {
        let shared = Arc::new(MemberShared::default());
        let context = MemberContext {
            shared: Arc::clone(&shared),
            wire_topic: wire_topic.clone(),
            group: group.to_owned(),
        };
        let consumer: BaseConsumer<MemberContext> =
            bus.config.consumer_config(group).create_with_context(context).map_err(|error| {
                BusError::Backend(format!("creating a consumer of group {group} failed: {error}"))
            })?;
        consumer
            .subscribe(&[wire_topic.as_str()])
            .map_err(|error| BusError::Backend(format!("subscribing to {wire_topic} failed: {error}")))?;
        let member = Arc::new(Self { consumer, shared, wire_topic, group: group.to_owned() });
        let buffer_limit = bus.config.consumer_buffer_messages as usize;
        let driven = Arc::clone(&member);
        std::thread::Builder::new()
            .name(format!("kafka-{group}"))
            .spawn(move || drive(&driven, buffer_limit))
            .map_err(|error| BusError::Backend(format!("starting the consumer thread failed: {error}")))?;
        Ok(member)
    }

    /// Waits until the member received its first assignment, up to `timeout`.
    pub(super) async fn wait_joined(&self, timeout: Duration) -> Result<(), BusError> {
        let joined = async {
            loop {
                let mut changed = pin!(self.shared.changed.notified());
                changed.as_mut().enable();
                {
                    let state = self.shared.lock();
                    if state.joined {
                        return Ok(());
                    }
                    if let Some(failure) = &state.failure {
                        return Err(BusError::Backend(failure.clone()));
                    }
                }
                changed.await;
            }
        };
        tokio::time::timeout(timeout, joined).await.unwrap_or_else(|_| {
            Err(BusError::Backend(format!(
                "group {} did not assign partitions of {} within {timeout:?}",
                self.group, self.wire_topic
            )))
        })
    }

    /// Synchronously commits every committable position (for [`super::KafkaBus::close`]).
    pub(super) fn commit_all(&self) -> Result<(), BusError> {
        let positions = self.shared.lock().book.all_positions();
        commit(&self.consumer, &self.wire_topic, &positions, CommitMode::Sync).map_err(|error| {
            BusError::Backend(format!("committing offsets of group {} failed: {error}", self.group))
        })
    }

    /// The state shared with the driver thread (the bus keeps it to wake `next` and to see departures).
    pub(super) fn shared(&self) -> &Arc<MemberShared> {
        &self.shared
    }

    /// Pauses or resumes the assignment so that at most about `buffer_limit` fetched messages wait.
    fn apply_flow_control(&self, buffer_limit: usize) {
        let (pause, resume) = {
            let state = self.shared.lock();
            let buffered = state.book.buffered();
            (!state.paused && buffered >= buffer_limit, state.paused && buffered <= buffer_limit / 2)
        };
        if !(pause || resume) {
            return;
        }
        let assignment = match self.consumer.assignment() {
            Ok(assignment) => assignment,
            Err(error) => {
                tracing::warn!(group = %self.group, error = %error, "reading the assignment failed");
                return;
            }
        };
        // Pausing drops what librdkafka fetched ahead for the partitions; resuming fetches again from the
        // last message this thread received, so nothing is skipped (and the book drops any repeat).
        let changed =
            if pause { self.consumer.pause(&assignment) } else { self.consumer.resume(&assignment) };
        match changed {
            Ok(()) => {
                self.shared.lock().paused = pause;
                tracing::debug!(group = %self.group, paused = pause, "consumer flow control");
            }
            Err(error) => tracing::warn!(group = %self.group, error = %error, "pausing or resuming failed"),
        }
    }
}

/// The driver thread: polls until the subscription is gone (this thread holds the last reference), then
/// commits what is committable and closes the consumer, which leaves the group.
fn drive(member: &Arc<Member>, buffer_limit: usize) {
    // Only this thread and the subscription hold strong references (the bus keeps a weak one and upgrades
    // it only in `KafkaBus::close`, on a blocking thread), so a count of one means the subscription was
    // dropped.
    while Arc::strong_count(member) > 1 {
        match member.consumer.poll(POLL_INTERVAL) {
            None => {}
            Some(Ok(message)) => {
                let fetched = Fetched {
                    partition: message.partition(),
                    offset: message.offset(),
                    key: message
                        .key()
                        .map(|key| String::from_utf8_lossy(key).into_owned())
                        .unwrap_or_default(),
                    payload: message.payload().map(<[u8]>::to_vec).unwrap_or_default(),
                };
                if member.shared.lock().book.push_fetched(fetched) {
                    member.shared.changed.notify_waiters();
                }
            }
            Some(Err(KafkaError::MessageConsumptionFatal(code))) => {
                tracing::error!(group = %member.group, error = %code, "fatal consumer error");
                member.shared.lock().failure =
                    Some(format!("consumer of group {} failed: {code}", member.group));
                member.shared.changed.notify_waiters();
            }
            Some(Err(error)) => {
                // Transport errors and the like: librdkafka retries on its own.
                tracing::warn!(group = %member.group, error = %error, "consumer error");
            }
        }
        member.apply_flow_control(buffer_limit);
    }
    if let Err(error) = member.commit_all() {
        tracing::warn!(error = %error, "final commit failed; unacknowledged work is redelivered");
    }
    tracing::debug!(group = %member.group, topic = %member.wire_topic, "member leaving the group");
    // Dropping the last reference closes the consumer here, off the async runtime.
}

/// A member of a consumer group on one topic. Dropping it leaves the group: its unacknowledged deliveries
/// go to the remaining members.
pub(super) struct KafkaSubscription {
    pub(super) bus: Arc<BusShared>,
    pub(super) member: Arc<Member>,
    pub(super) topic: Topic,
}

impl KafkaSubscription {
    fn check_topic(&self, delivery: &Delivery) -> Result<(), BusError> {
        if delivery.topic == self.topic { Ok(()) } else { Err(BusError::UnknownReceipt(delivery.receipt)) }
    }

    /// Commits, without waiting, the positions that moved.
    fn commit_moved(&self) -> Result<(), BusError> {
        let moved = self.member.shared.lock().book.take_commits();
        commit(&self.member.consumer, &self.member.wire_topic, &moved, CommitMode::Async).map_err(|error| {
            BusError::Backend(format!("committing offsets of group {} failed: {error}", self.member.group))
        })
    }

    /// Publishes the dead letter for the in-flight `receipt`, then acknowledges it.
    async fn dead_letter(&mut self, receipt: u64, error: &str) -> Result<NackOutcome, BusError> {
        let in_flight = self
            .member
            .shared
            .lock()
            .book
            .in_flight(receipt)
            .cloned()
            .ok_or(BusError::UnknownReceipt(receipt))?;
        let message = &in_flight.message;
        let poison = KafkaPoisonMessage {
            message: PoisonMessage {
                topic: self.topic,
                group: &self.member.group,
                offset: u64::try_from(message.offset).unwrap_or_default(),
                key: &message.key,
                payload: &message.payload,
                attempts: in_flight.attempt,
                error,
            },
            wire_topic: &self.member.wire_topic,
            partition_offset: (message.partition, message.offset),
        };
        let envelope = kafka_dead_letter_envelope(poison, chrono::Utc::now());
        // The message stays in flight (holding its partition's position) until the dead letter is durable.
        self.bus.send(Topic::DeadLetter, &envelope.partition_key(), &envelope.to_bytes()).await?;
        tracing::warn!(
            topic = %self.member.wire_topic,
            group = %self.member.group,
            partition = message.partition,
            offset = message.offset,
            attempts = in_flight.attempt,
            error,
            event_id = %envelope.event_id,
            "message dead-lettered after its last attempt"
        );
        // A revoke during the publish makes this a no-op; the next owner dead-letters it again, same id.
        self.member.shared.lock().book.ack(receipt);
        self.commit_moved()?;
        Ok(NackOutcome::DeadLettered)
    }
}

impl Drop for KafkaSubscription {
    fn drop(&mut self) {
        // The driver thread notices that it holds the last reference, commits and leaves the group.
        self.member.shared.leaving.store(true, Ordering::Release);
    }
}

#[async_trait]
impl Subscription for KafkaSubscription {
    async fn next(&mut self) -> Result<Option<Delivery>, BusError> {
        let shared = &self.member.shared;
        loop {
            let mut changed = pin!(shared.changed.notified());
            changed.as_mut().enable();
            {
                if self.bus.closed.load(Ordering::Acquire) {
                    return Ok(None);
                }
                let mut state = shared.lock();
                if let Some(failure) = &state.failure {
                    return Err(BusError::Backend(failure.clone()));
                }
                let receipt = self.bus.next_receipt.fetch_add(1, Ordering::Relaxed);
                if let Some(in_flight) = state.book.take_next(receipt) {
                    let message = in_flight.message;
                    return Ok(Some(Delivery {
                        topic: self.topic,
                        coordinates: format!("{}/{}", message.partition, message.offset),
                        key: message.key,
                        payload: message.payload,
                        attempt: in_flight.attempt,
                        receipt,
                    }));
                }
            }
            changed.await;
        }
    }

    async fn ack(&mut self, delivery: &Delivery) -> Result<(), BusError> {
        self.check_topic(delivery)?;
        let settled = self
            .member
            .shared
            .lock()
            .book
            .ack(delivery.receipt)
            .ok_or(BusError::UnknownReceipt(delivery.receipt))?;
        if settled == Settled::Revoked {
            tracing::debug!(
                coordinates = %delivery.coordinates,
                "acknowledged a delivery of a revoked partition; its new owner redelivers it"
            );
            return Ok(());
        }
        self.commit_moved()
    }

    #[tracing::instrument(
        level = "debug",
        skip_all,
        fields(topic = %self.member.wire_topic, group = %self.member.group, coordinates = %delivery.coordinates)
    )]
    async fn nack(&mut self, delivery: &Delivery, error: &str) -> Result<NackOutcome, BusError> {
        self.check_topic(delivery)?;
        let receipt = delivery.receipt;
        {
            let mut state = self.member.shared.lock();
            let attempt = match state.book.in_flight(receipt) {
                Some(in_flight) => in_flight.attempt,
                None if state.book.is_revoked(receipt) => {
                    state.book.requeue(receipt);
                    tracing::debug!("nacked a delivery of a revoked partition; its new owner redelivers it");
                    return Ok(NackOutcome::Redelivered);
                }
                None => return Err(BusError::UnknownReceipt(receipt)),
            };
            if attempt < self.bus.config.max_attempts {
                state.book.requeue(receipt);
                drop(state);
                self.member.shared.changed.notify_waiters();
                tracing::debug!(attempt, error, "message requeued");
                return Ok(NackOutcome::Redelivered);
            }
        }
        self.dead_letter(receipt, error).await
    }
}
