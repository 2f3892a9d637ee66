//! The Kafka bus adapter (any Kafka-protocol broker: Redpanda in production, tansu in local tests), over
//! librdkafka through `rdkafka`. `design.md` beside this file explains the consumer, the commits and the
//! rebalance handling.
//!
//! - [`KafkaBusConfig`] (in `config`): brokers, topic prefix and partitions, producer queue bounds and
//!   timeouts, session timeout, attempt limit, optional SASL; and the librdkafka properties derived from it.
//! - [`KafkaBus`]: [`KafkaBus::connect`] creates the vocabulary's topics if missing; the idempotent producer
//!   publishes with backpressure; `unacknowledged` reads the subscribed groups' lag from the broker;
//!   [`KafkaBus::close`] stops delivering, commits and flushes.
//! - `member`: one consumer-group member per `subscribe` — its polling thread, rebalance hooks and the
//!   [`Subscription`] handed to the application.
//! - `book`: a member's offsets as plain data (buffer, redeliveries, in flight, committable positions).
//! - `produce`: the wait-then-backpressure rule for a full producer queue.

mod book;
mod config;
mod member;
mod produce;

pub use config::{KafkaBusConfig, KafkaSaslConfig};

use crate::{Bus, BusError, Subscription};
use argus_vocabulary::Topic;
use async_trait::async_trait;
use member::{KafkaSubscription, Member};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

/// How often `subscribe` looks whether this process's departing members of the group are gone.
const LEAVING_POLL_INTERVAL: Duration = Duration::from_millis(10);

/// `ready()` never waits longer than this for metadata, whatever the request timeout.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// Forwards librdkafka's log lines and client errors to `tracing`. Client errors are mostly transient
/// (a broker connection dropped); librdkafka reconnects on its own.
#[derive(Debug, Clone, Copy, Default)]
struct TracingContext;

impl ClientContext for TracingContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        log_librdkafka(level, facility, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(error = %error, reason, "kafka client error");
    }
}

/// The offset reader of `unacknowledged()` never joins its group: no rebalance hooks needed.
impl ConsumerContext for TracingContext {}

/// One librdkafka log line as a `tracing` event. The lines name brokers and topics, never credentials.
fn log_librdkafka(level: RDKafkaLogLevel, facility: &str, message: &str) {
    match level {
        RDKafkaLogLevel::Emerg
        | RDKafkaLogLevel::Alert
        | RDKafkaLogLevel::Critical
        | RDKafkaLogLevel::Error => {
            tracing::error!(facility, message, "librdkafka")
        }
        RDKafkaLogLevel::Warning => tracing::warn!(facility, message, "librdkafka"),
        RDKafkaLogLevel::Notice => tracing::info!(facility, message, "librdkafka"),
        RDKafkaLogLevel::Info | RDKafkaLogLevel::Debug => tracing::debug!(facility, message, "librdkafka"),
    }
}

fn backend(what: &str) -> impl FnOnce(KafkaError) -> BusError + '_ {
    move |error| BusError::Backend(format!("{what} failed: {error}"))
}

/// What the bus and its subscriptions share.
pub(crate) struct BusShared {
    config: KafkaBusConfig,
    producer: FutureProducer<TracingContext>,
    /// Set by [`KafkaBus::close`]; never cleared.
    closed: AtomicBool,
    /// Delivery receipts, unique across the bus so one subscription cannot settle another's delivery.
    next_receipt: AtomicU64,
    /// Every member started by this bus (weakly: a dropped subscription's member goes away on its own).
    members: Mutex<Vec<MemberEntry>>,
    /// Every (topic, group) subscribed through this bus, with the client that reads the group's committed
    /// offsets (created on first use).
    groups: Mutex<BTreeMap<SubscribedGroup, Option<Arc<OffsetReader>>>>,
}

/// A consumer group on one topic.
type SubscribedGroup = (Topic, String);

/// A client of one consumer group that never joins it: it reads the group's committed offsets.
type OffsetReader = BaseConsumer<TracingContext>;

/// The bus's handle on one member. Only [`KafkaBus::close`] upgrades `member`, on a blocking thread, so the
/// member's driver thread stays the one that closes the consumer.
struct MemberEntry {
    member: Weak<Member>,
    shared: Arc<member::MemberShared>,
    wire_topic: String,
    group: String,
}

impl MemberEntry {
    fn is_alive(&self) -> bool {
        self.member.strong_count() > 0
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section leaves the data consistent before it can panic.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl BusShared {
    /// Produces one message to `topic` and waits until the broker acknowledged it (acks=all). A full
    /// producer queue is retried until the publish timeout, then reported as backpressure.
    async fn send(&self, topic: Topic, key: &str, payload: &[u8]) -> Result<(), BusError> {
        let wire_topic = self.config.topic_name(topic);
        let delivery = produce::enqueue_within(self.config.publish_timeout(), || {
            let record = FutureRecord::to(&wire_topic).key(key).payload(payload);
            self.producer.send_result(record).map_err(|(error, _)| produce::Refusal::from(error))
        })
        .await;
        let delivery = match delivery {
            Ok(delivery) => delivery,
            Err(produce::Refusal::QueueFull) => {
                tracing::warn!(
                    topic = %wire_topic,
                    queue_max_messages = self.config.producer_queue_max_messages,
                    timeout_ms = self.config.publish_timeout_ms,
                    "publish rejected: producer queue is full"
                );
                return Err(BusError::Backpressure { topic: topic.name().to_owned() });
            }
            Err(produce::Refusal::Failed(error)) => {
                return Err(BusError::Backend(format!("producing to {wire_topic} failed: {error}")));
            }
        };
        match delivery.await {
            Ok(Ok(delivered)) => {
                tracing::debug!(topic = %wire_topic, partition = delivered.partition, offset = delivered.offset, "published");
                Ok(())
            }
            Ok(Err((error, _))) => {
                Err(BusError::Backend(format!("delivering to {wire_topic} failed: {error}")))
            }
            Err(_canceled) => Err(BusError::Backend(format!("delivering to {wire_topic} was cancelled"))),
        }
    }

    /// Forgets members that are gone.
    fn prune_members(&self) -> MutexGuard<'_, Vec<MemberEntry>> {
        let mut members = lock(&self.members);
        members.retain(MemberEntry::is_alive);
        members
    }

    /// Waits (bounded by the group join timeout) until every member of `group` on `wire_topic` whose
    /// subscription this process dropped has left the group. A new member joining while an old one is
    /// still leaving costs the group a second rebalance, and some brokers (tansu) mishandle a leave that
    /// arrives during a join.
    async fn wait_for_leaving_members(&self, wire_topic: &str, group: &str) {
        let deadline = tokio::time::Instant::now() + self.config.group_join_timeout();
        let leaving = |entry: &MemberEntry| {
            entry.is_alive()
                && entry.shared.is_leaving()
                && entry.wire_topic == wire_topic
                && entry.group == group
        };
        while self.prune_members().iter().any(leaving) {
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!(group, "an earlier member of the group is still leaving; joining anyway");
                return;
            }
            tokio::time::sleep(LEAVING_POLL_INTERVAL).await;
        }
    }

    /// The committed-offset readers of every subscribed group, created on first use.
    fn observers(&self) -> Result<Vec<(Topic, Arc<OffsetReader>)>, BusError> {
        let mut groups = lock(&self.groups);
        let mut observers = Vec::with_capacity(groups.len());
        for ((topic, group), observer) in groups.iter_mut() {
            let observer = match observer {
                Some(observer) => Arc::clone(observer),
                None => {
                    let created: OffsetReader = self
                        .config
                        .observer_config(group)
                        .create_with_context(TracingContext)
                        .map_err(backend("creating an offset reader"))?;
                    Arc::clone(observer.insert(Arc::new(created)))
                }
            };
            observers.push((*topic, observer));
        }
        Ok(observers)
    }
}

/// The Kafka bus. Build it with [`KafkaBus::connect`]; share it as `Arc<dyn Bus>`.
pub struct KafkaBus {
    shared: Arc<BusShared>,
}

impl std::fmt::Debug for KafkaBus {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("KafkaBus").field("config", &self.shared.config).finish_non_exhaustive()
    }
}

impl KafkaBus {
    /// Connects to the brokers and creates every vocabulary topic that is missing, with
    /// [`KafkaBusConfig::partitions_of`] partitions and the configured replication factor. Fails when the
    /// configuration is invalid or the brokers cannot be reached within the request timeout.
    #[tracing::instrument(skip_all, fields(brokers = %config.brokers, client_id = %config.client_id))]
    pub async fn connect(config: &KafkaBusConfig) -> Result<Self, BusError> {
        config.validate()?;
        let producer: FutureProducer<TracingContext> = config
            .producer_config()
            .create_with_context(TracingContext)
            .map_err(backend("creating the producer"))?;
        let shared = Arc::new(BusShared {
            config: config.clone(),
            producer,
            closed: AtomicBool::new(false),
            next_receipt: AtomicU64::new(0),
            members: Mutex::new(Vec::new()),
            groups: Mutex::new(BTreeMap::new()),
        });
        let bus = Self { shared };
        bus.create_topics().await?;
        tracing::info!(topic_prefix = %config.topic_prefix, "kafka bus connected");
        Ok(bus)
    }

    /// The settings the bus was built with.
    pub fn config(&self) -> &KafkaBusConfig {
        &self.shared.config
    }

    /// The partition count of every vocabulary topic as the broker reports it, by vocabulary topic.
    pub async fn partition_counts(&self) -> Result<BTreeMap<Topic, usize>, BusError> {
        let shared = Arc::clone(&self.shared);
        blocking(move || {
            let timeout = shared.config.request_timeout();
            let mut counts = BTreeMap::new();
            for topic in Topic::ALL {
                let wire_topic = shared.config.topic_name(topic);
                let metadata = shared
                    .producer
                    .client()
                    .fetch_metadata(Some(&wire_topic), timeout)
                    .map_err(backend("fetching metadata"))?;
                let partitions = metadata
                    .topics()
                    .iter()
                    .find(|found| found.name() == wire_topic && found.error().is_none())
                    .map(|found| found.partitions().len())
                    .ok_or_else(|| BusError::Backend(format!("topic {wire_topic} does not exist")))?;
                counts.insert(topic, partitions);
            }
            Ok(counts)
        })
        .await
    }

    /// Creates the vocabulary's topics that do not exist yet, then checks their partition counts.
    async fn create_topics(&self) -> Result<(), BusError> {
        let config = &self.shared.config;
        let admin: AdminClient<TracingContext> = config
            .admin_config()
            .create_with_context(TracingContext)
            .map_err(backend("creating the admin client"))?;
        let names: Vec<(Topic, String)> =
            Topic::ALL.iter().map(|topic| (*topic, config.topic_name(*topic))).collect();
        let new_topics: Vec<NewTopic<'_>> = names
            .iter()
            .map(|(topic, name)| {
                // Validated to fit in an i32 (partitions) and to be at least 1.
                let partitions = i32::try_from(config.partitions_of(*topic)).unwrap_or(i32::MAX);
                NewTopic::new(name, partitions, TopicReplication::Fixed(i32::from(config.replication_factor)))
            })
            .collect();
        let options = AdminOptions::new()
            .request_timeout(Some(config.request_timeout()))
            .operation_timeout(Some(config.request_timeout()));
        let results = admin.create_topics(&new_topics, &options).await.map_err(backend("creating topics"))?;
        for result in results {
            match result {
                Ok(name) => tracing::info!(topic = %name, "topic created"),
                Err((name, RDKafkaErrorCode::TopicAlreadyExists)) => {
                    tracing::debug!(topic = %name, "topic exists")
                }
                Err((name, code)) => {
                    return Err(BusError::Backend(format!("creating topic {name} failed: {code}")));
                }
            }
        }
        let counts = self.partition_counts().await?;
        for (topic, count) in counts {
            let configured = config.partitions_of(topic) as usize;
            if count != configured {
                tracing::warn!(
                    topic = %config.topic_name(topic),
                    partitions = count,
                    configured,
                    "existing topic has a different partition count; left unchanged"
                );
            }
        }
        Ok(())
    }

    /// Graceful shutdown: `next` answers `Ok(None)` from now on (deliveries already handed out can still be
    /// settled, and their acks still commit), publishing and subscribing fail with [`BusError::Closed`],
    /// every member commits what is committable, and the producer flushes what it still holds (bounded by
    /// the message timeout).
    pub async fn close(&self) -> Result<(), BusError> {
        self.shared.closed.store(true, Ordering::Release);
        let members: Vec<Weak<Member>> = {
            let members = self.shared.prune_members();
            for entry in members.iter() {
                entry.shared.wake();
            }
            members.iter().map(|entry| Weak::clone(&entry.member)).collect()
        };
        let shared = Arc::clone(&self.shared);
        blocking(move || {
            let mut first_error = None;
            // Upgraded here, off the runtime: should a member's driver finish meanwhile, the consumer closes on
            // this blocking thread.
            for member in members.iter().filter_map(Weak::upgrade) {
                if let Err(error) = member.commit_all() {
                    tracing::warn!(error = %error, "commit on close failed");
                    first_error.get_or_insert(error);
                }
            }
            let flush_timeout = Duration::from_millis(u64::from(shared.config.message_timeout_ms));
            if let Err(error) = shared.producer.flush(flush_timeout) {
                first_error
                    .get_or_insert(BusError::Backend(format!("flushing the producer failed: {error}")));
            }
            first_error.map_or(Ok(()), Err)
        })
        .await?;
        tracing::info!("kafka bus closed");
        Ok(())
    }
}

/// Runs blocking librdkafka calls off the async runtime.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, BusError> + Send + 'static,
) -> Result<T, BusError> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|error| Err(BusError::Backend(format!("a blocking kafka call failed: {error}"))))
}

/// The lag of `observer`'s group on `wire_topic`: over every partition, the high watermark minus the
/// committed offset (or the low watermark, where a group without a commit would start).
fn group_lag(observer: &OffsetReader, wire_topic: &str, timeout: Duration) -> Result<u64, BusError> {
    // Serve (and drop) whatever events the reader accumulated; it never joins the group.
    while observer.poll(Duration::ZERO).is_some() {}
    let metadata =
        observer.fetch_metadata(Some(wire_topic), timeout).map_err(backend("fetching metadata"))?;
    let mut partitions = TopicPartitionList::new();
    for topic in metadata.topics().iter().filter(|topic| topic.name() == wire_topic) {
        for partition in topic.partitions() {
            partitions.add_partition(wire_topic, partition.id());
        }
    }
    let committed =
        observer.committed_offsets(partitions, timeout).map_err(backend("reading committed offsets"))?;
    let mut lag = 0u64;
    for element in committed.elements() {
        if let Some(error) = element.error().err() {
            return Err(BusError::Backend(format!(
                "reading the committed offset of {wire_topic} failed: {error}"
            )));
        }
        let (low, high) = observer
            .fetch_watermarks(wire_topic, element.partition(), timeout)
            .map_err(backend("fetching watermarks"))?;
        let position = match element.offset() {
            Offset::Offset(offset) => offset.max(low),
            _ => low,
        };
        lag += u64::try_from(high - position).unwrap_or(0);
    }
    Ok(lag)
}

#[async_trait]
impl Bus for KafkaBus {
    #[tracing::instrument(level = "debug", skip_all, fields(topic = %topic, key = key))]
    async fn publish(&self, topic: Topic, key: &str, payload: Vec<u8>) -> Result<(), BusError> {
        if self.shared.closed.load(Ordering::Acquire) {
            return Err(BusError::Closed);
        }
        self.shared.send(topic, key, &payload).await
    }

    async fn subscribe(&self, topic: Topic, group: &str) -> Result<Box<dyn Subscription>, BusError> {
        let shared = &self.shared;
        if shared.closed.load(Ordering::Acquire) {
            return Err(BusError::Closed);
        }
        let wire_topic = shared.config.topic_name(topic);
        shared.wait_for_leaving_members(&wire_topic, group).await;
        let member = Member::start(shared, wire_topic.clone(), group)?;
        shared.prune_members().push(MemberEntry {
            member: Arc::downgrade(&member),
            shared: Arc::clone(member.shared()),
            wire_topic,
            group: group.to_owned(),
        });
        lock(&shared.groups).entry((topic, group.to_owned())).or_insert(None);
        member.wait_joined(shared.config.group_join_timeout()).await?;
        tracing::debug!(topic = %topic, group, "subscribed");
        Ok(Box::new(KafkaSubscription { bus: Arc::clone(shared), member, topic }))
    }

    /// The summed lag of every group subscribed through this bus (whoever holds the partitions now). It
    /// covers the deliveries in flight, which are not committed yet, so it is an upper bound of what this
    /// process still owes; zero when every group committed everything.
    async fn unacknowledged(&self) -> Result<u64, BusError> {
        let observers = self.shared.observers()?;
        if observers.is_empty() {
            return Ok(0);
        }
        let shared = Arc::clone(&self.shared);
        blocking(move || {
            let timeout = shared.config.request_timeout();
            observers.iter().try_fold(0u64, |total, (topic, observer)| {
                Ok(total + group_lag(observer, &shared.config.topic_name(*topic), timeout)?)
            })
        })
        .await
    }

    async fn ready(&self) -> bool {
        if self.shared.closed.load(Ordering::Acquire) {
            return false;
        }
        let shared = Arc::clone(&self.shared);
        let probed = blocking(move || {
            let timeout = shared.config.request_timeout().min(READY_TIMEOUT);
            let wire_topic = shared.config.topic_name(Topic::DeadLetter);
            let metadata = shared
                .producer
                .client()
                .fetch_metadata(Some(&wire_topic), timeout)
                .map_err(backend("fetching metadata"))?;
            let known =
                metadata.topics().iter().any(|topic| topic.name() == wire_topic && topic.error().is_none());
            Ok(known)
        })
        .await;
        match probed {
            Ok(known) => known,
            Err(error) => {
                tracing::warn!(error = %error, "kafka bus not ready");
                false
            }
        }
    }
}
