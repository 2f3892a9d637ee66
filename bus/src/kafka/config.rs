//! [`KafkaBusConfig`]: the settings of the Kafka adapter, and the librdkafka properties derived from them.
//!
//! The derived [`ClientConfig`]s carry the SASL password in clear text (librdkafka needs it), so they are
//! built on demand, handed straight to librdkafka and never logged: `ClientConfig`'s `Debug` prints every
//! property. Only [`KafkaBusConfig`]'s own `Debug` (which redacts the password) may appear in logs.

use crate::BusError;
use argus_vocabulary::Topic;
use rdkafka::ClientConfig;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Settings of the Kafka bus adapter.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaBusConfig {
    /// Bootstrap brokers, `host:port[,host:port…]` (librdkafka `bootstrap.servers`).
    pub brokers: String,
    /// The client id every connection announces (librdkafka `client.id`); shows up in broker logs and
    /// consumer-group listings.
    #[serde(default = "KafkaBusConfig::default_client_id")]
    pub client_id: String,
    /// A prefix put before every topic name (`"staging."` → `staging.argus.test.executed`), so several
    /// environments, or several test runs, can share one cluster without seeing each other's messages.
    /// Empty by default: the topic names of the data-layer spec.
    #[serde(default)]
    pub topic_prefix: String,
    /// Partition counts by topic name (without the prefix), for topics created at start-up. Topics not
    /// listed get [`Topic::default_partitions`] (12/6/3). Existing topics are never changed: a different
    /// count is only logged, because repartitioning would break the per-key order.
    #[serde(default)]
    pub partitions: BTreeMap<String, u32>,
    /// Replication factor of topics created at start-up (3 in production; 1 on a single broker).
    #[serde(default = "KafkaBusConfig::default_replication_factor")]
    pub replication_factor: u16,
    /// The most messages the producer queues in memory before the broker acknowledged them (librdkafka
    /// `queue.buffering.max.messages`). A publish that finds the queue full waits up to
    /// [`Self::publish_timeout_ms`] and then fails with [`BusError::Backpressure`].
    #[serde(default = "KafkaBusConfig::default_producer_queue_max_messages")]
    pub producer_queue_max_messages: u32,
    /// The most kilobytes the producer queues in memory (librdkafka `queue.buffering.max.kbytes`); a full
    /// queue by size is treated like a full queue by count.
    #[serde(default = "KafkaBusConfig::default_producer_queue_max_kbytes")]
    pub producer_queue_max_kbytes: u32,
    /// How long the producer lingers to batch messages before sending, in milliseconds (librdkafka
    /// `linger.ms`).
    #[serde(default = "KafkaBusConfig::default_linger_ms")]
    pub linger_ms: u32,
    /// How long a publish waits for room in a full producer queue before failing with
    /// [`BusError::Backpressure`], in milliseconds.
    #[serde(default = "KafkaBusConfig::default_publish_timeout_ms")]
    pub publish_timeout_ms: u64,
    /// How long the producer keeps trying to deliver one message before the publish fails, in
    /// milliseconds (librdkafka `message.timeout.ms`).
    #[serde(default = "KafkaBusConfig::default_message_timeout_ms")]
    pub message_timeout_ms: u32,
    /// The consumer-group session timeout in milliseconds (librdkafka `session.timeout.ms`): how long a
    /// silent member keeps its partitions. Heartbeats go out every third of it.
    #[serde(default = "KafkaBusConfig::default_session_timeout_ms")]
    pub session_timeout_ms: u32,
    /// How long `subscribe` waits for the new member's first partition assignment, in milliseconds.
    #[serde(default = "KafkaBusConfig::default_group_join_timeout_ms")]
    pub group_join_timeout_ms: u64,
    /// How many fetched messages one subscription buffers before it pauses fetching (and resumes at half).
    #[serde(default = "KafkaBusConfig::default_consumer_buffer_messages")]
    pub consumer_buffer_messages: u32,
    /// How many times a message is tried before `nack` sends it to `argus.dlq`.
    #[serde(default = "KafkaBusConfig::default_max_attempts")]
    pub max_attempts: u32,
    /// Timeout of one metadata, watermark or committed-offset request, in milliseconds (also bounds
    /// `ready()`).
    #[serde(default = "KafkaBusConfig::default_request_timeout_ms")]
    pub request_timeout_ms: u64,
    /// SASL credentials; `None` connects in plaintext without authentication.
    #[serde(default)]
    pub sasl: Option<KafkaSaslConfig>,
}

/// SASL authentication (`security.protocol=SASL_PLAINTEXT`).
///
/// The workspace builds librdkafka without OpenSSL, so only the `PLAIN` mechanism is available; SCRAM and
/// TLS need rdkafka's `ssl` feature.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSaslConfig {
    /// The SASL mechanism (librdkafka `sasl.mechanism`).
    #[serde(default = "KafkaSaslConfig::default_mechanism")]
    pub mechanism: String,
    /// The user name (librdkafka `sasl.username`).
    pub username: String,
    /// The password (librdkafka `sasl.password`); redacted in `Debug` and never logged.
    pub password: SecretString,
}

impl KafkaSaslConfig {
    /// Default [`Self::mechanism`].
    pub fn default_mechanism() -> String {
        "PLAIN".to_owned()
    }
}

impl KafkaBusConfig {
    /// A configuration for `brokers` with every other setting at its default.
    pub fn new(brokers: impl Into<String>) -> Self {
        Self {
            brokers: brokers.into(),
            client_id: Self::default_client_id(),
            topic_prefix: String::new(),
            partitions: BTreeMap::new(),
            replication_factor: Self::default_replication_factor(),
            producer_queue_max_messages: Self::default_producer_queue_max_messages(),
            producer_queue_max_kbytes: Self::default_producer_queue_max_kbytes(),
            linger_ms: Self::default_linger_ms(),
            publish_timeout_ms: Self::default_publish_timeout_ms(),
            message_timeout_ms: Self::default_message_timeout_ms(),
            session_timeout_ms: Self::default_session_timeout_ms(),
            group_join_timeout_ms: Self::default_group_join_timeout_ms(),
            consumer_buffer_messages: Self::default_consumer_buffer_messages(),
            max_attempts: Self::default_max_attempts(),
            request_timeout_ms: Self::default_request_timeout_ms(),
            sasl: None,
        }
    }

    /// Default [`Self::client_id`].
    pub fn default_client_id() -> String {
        "argus".to_owned()
    }

    /// Default [`Self::replication_factor`].
    pub const fn default_replication_factor() -> u16 {
        1
    }

    /// Default [`Self::producer_queue_max_messages`].
    pub const fn default_producer_queue_max_messages() -> u32 {
        10_000
    }

    /// Default [`Self::producer_queue_max_kbytes`] (64 MiB).
    pub const fn default_producer_queue_max_kbytes() -> u32 {
        65_536
    }

    /// Default [`Self::linger_ms`].
    pub const fn default_linger_ms() -> u32 {
        5
    }

    /// Default [`Self::publish_timeout_ms`].
    pub const fn default_publish_timeout_ms() -> u64 {
        2_000
    }

    /// Default [`Self::message_timeout_ms`].
    pub const fn default_message_timeout_ms() -> u32 {
        30_000
    }

    /// Default [`Self::session_timeout_ms`].
    pub const fn default_session_timeout_ms() -> u32 {
        10_000
    }

    /// Default [`Self::group_join_timeout_ms`].
    pub const fn default_group_join_timeout_ms() -> u64 {
        30_000
    }

    /// Default [`Self::consumer_buffer_messages`].
    pub const fn default_consumer_buffer_messages() -> u32 {
        500
    }

    /// Default [`Self::max_attempts`].
    pub const fn default_max_attempts() -> u32 {
        5
    }

    /// Default [`Self::request_timeout_ms`].
    pub const fn default_request_timeout_ms() -> u64 {
        5_000
    }

    /// Rejects settings librdkafka or the adapter cannot work with, naming the setting.
    pub fn validate(&self) -> Result<(), BusError> {
        let invalid = |message: String| Err(BusError::Config(message));
        if self.brokers.trim().is_empty() {
            return invalid("brokers is empty".to_owned());
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if !self.topic_prefix.chars().all(allowed) {
            return invalid(
                "topic_prefix may only contain ASCII letters, digits, '.', '_' and '-'".to_owned(),
            );
        }
        for name in self.partitions.keys() {
            if name.parse::<Topic>().is_err() {
                return invalid(format!("partitions names an unknown topic {name:?}"));
            }
        }
        if self.partitions.values().any(|count| *count == 0 || *count > i32::MAX as u32) {
            return invalid("partitions: every count must be between 1 and 2^31-1".to_owned());
        }
        if self.replication_factor == 0 {
            return invalid("replication_factor must be at least 1".to_owned());
        }
        if self.producer_queue_max_messages == 0 || self.producer_queue_max_kbytes == 0 {
            return invalid("the producer queue bounds must be at least 1".to_owned());
        }
        if self.max_attempts == 0 {
            return invalid("max_attempts must be at least 1".to_owned());
        }
        if self.consumer_buffer_messages == 0 {
            return invalid("consumer_buffer_messages must be at least 1".to_owned());
        }
        if self.session_timeout_ms < 3 {
            return invalid("session_timeout_ms is too small".to_owned());
        }
        Ok(())
    }

    /// The wire name of `topic`, with [`Self::topic_prefix`].
    pub fn topic_name(&self, topic: Topic) -> String {
        format!("{}{}", self.topic_prefix, topic.name())
    }

    /// The partition count `topic` is created with.
    pub fn partitions_of(&self, topic: Topic) -> u32 {
        self.partitions.get(topic.name()).copied().unwrap_or_else(|| topic.default_partitions())
    }

    pub(crate) fn publish_timeout(&self) -> Duration {
        Duration::from_millis(self.publish_timeout_ms)
    }

    pub(crate) fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    pub(crate) fn group_join_timeout(&self) -> Duration {
        Duration::from_millis(self.group_join_timeout_ms)
    }

    /// Properties every client shares: brokers, client id, authentication.
    fn common(&self) -> ClientConfig {
        let mut client = ClientConfig::new();
        client.set("bootstrap.servers", &self.brokers).set("client.id", &self.client_id);
        if let Some(sasl) = &self.sasl {
            client
                .set("security.protocol", "SASL_PLAINTEXT")
                .set("sasl.mechanism", &sasl.mechanism)
                .set("sasl.username", &sasl.username)
                .set("sasl.password", sasl.password.expose_secret());
        }
        client
    }

    /// The idempotent producer: acks from every in-sync replica, bounded queue.
    pub(crate) fn producer_config(&self) -> ClientConfig {
        let mut client = self.common();
        client
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("queue.buffering.max.messages", self.producer_queue_max_messages.to_string())
            .set("queue.buffering.max.kbytes", self.producer_queue_max_kbytes.to_string())
            .set("linger.ms", self.linger_ms.to_string())
            .set("message.timeout.ms", self.message_timeout_ms.to_string());
        client
    }

    /// The admin client that creates topics.
    pub(crate) fn admin_config(&self) -> ClientConfig {
        self.common()
    }

    /// One member of consumer group `group`: manual commits, a new group starts at the oldest message.
    pub(crate) fn consumer_config(&self, group: &str) -> ClientConfig {
        let mut client = self.common();
        client
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("enable.partition.eof", "false")
            .set("session.timeout.ms", self.session_timeout_ms.to_string())
            .set("heartbeat.interval.ms", (self.session_timeout_ms / 3).max(1).to_string());
        client
    }

    /// A client of group `group` that never joins it: it only reads the group's committed offsets and the
    /// topics' watermarks, for `unacknowledged()`.
    pub(crate) fn observer_config(&self, group: &str) -> ClientConfig {
        let mut client = self.common();
        client.set("group.id", group).set("enable.auto.commit", "false");
        client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn property<'a>(client: &'a ClientConfig, key: &str) -> Option<&'a str> {
        client.get(key)
    }

    #[test]
    fn defaults_match_the_documented_values() {
        let config: KafkaBusConfig =
            serde_json::from_str(r#"{"brokers":"127.0.0.1:9092"}"#).expect("minimal config parses");
        assert_eq!(config.client_id, "argus");
        assert_eq!(config.topic_prefix, "");
        assert_eq!(config.replication_factor, 1);
        assert_eq!(config.producer_queue_max_messages, 10_000);
        assert_eq!(config.publish_timeout_ms, 2_000);
        assert_eq!(config.message_timeout_ms, 30_000);
        assert_eq!(config.session_timeout_ms, 10_000);
        assert_eq!(config.max_attempts, 5);
        assert!(config.sasl.is_none());
        assert!(config.validate().is_ok());
        let built = KafkaBusConfig::new("127.0.0.1:9092");
        assert_eq!(format!("{built:?}"), format!("{config:?}"), "new() and serde defaults agree");
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let unknown = serde_json::from_str::<KafkaBusConfig>(r#"{"brokers":"b:9092","partiton":{}}"#);
        assert!(unknown.is_err());
    }

    #[test]
    fn partitions_default_to_the_topic_table_and_can_be_overridden() {
        let mut config = KafkaBusConfig::new("b:9092");
        assert_eq!(config.partitions_of(Topic::TestExecuted), 12);
        assert_eq!(config.partitions_of(Topic::HealingRequested), 6);
        assert_eq!(config.partitions_of(Topic::DeadLetter), 3);

        config.partitions.insert("argus.dlq".to_owned(), 1);
        assert_eq!(config.partitions_of(Topic::DeadLetter), 1);
        assert!(config.validate().is_ok());

        config.partitions.insert("argus.nope".to_owned(), 1);
        assert!(
            matches!(config.validate(), Err(BusError::Config(message)) if message.contains("argus.nope"))
        );
    }

    #[test]
    fn topic_names_carry_the_prefix() {
        let mut config = KafkaBusConfig::new("b:9092");
        assert_eq!(config.topic_name(Topic::DeadLetter), "argus.dlq");
        config.topic_prefix = "staging.".to_owned();
        assert_eq!(config.topic_name(Topic::DeadLetter), "staging.argus.dlq");
    }

    #[test]
    fn nonsense_settings_are_rejected() {
        let broken: [fn(&mut KafkaBusConfig); 6] = [
            |config| config.topic_prefix = "a b/".to_owned(),
            |config| config.brokers = " ".to_owned(),
            |config| config.replication_factor = 0,
            |config| config.max_attempts = 0,
            |config| config.producer_queue_max_messages = 0,
            |config| config.consumer_buffer_messages = 0,
        ];
        for breaking in broken {
            let mut config = KafkaBusConfig::new("b:9092");
            breaking(&mut config);
            assert!(config.validate().is_err(), "{config:?}");
        }
    }

    #[test]
    fn producer_is_idempotent_with_a_bounded_queue() {
        let mut config = KafkaBusConfig::new("b:9092");
        config.producer_queue_max_messages = 7;
        let producer = config.producer_config();
        assert_eq!(property(&producer, "enable.idempotence"), Some("true"));
        assert_eq!(property(&producer, "acks"), Some("all"));
        assert_eq!(property(&producer, "queue.buffering.max.messages"), Some("7"));
        assert_eq!(property(&producer, "message.timeout.ms"), Some("30000"));
    }

    #[test]
    fn consumers_commit_by_hand_and_start_new_groups_at_the_oldest_message() {
        let mut config = KafkaBusConfig::new("b:9092");
        config.session_timeout_ms = 3_000;
        let consumer = config.consumer_config("healer");
        assert_eq!(property(&consumer, "group.id"), Some("healer"));
        assert_eq!(property(&consumer, "enable.auto.commit"), Some("false"));
        assert_eq!(property(&consumer, "auto.offset.reset"), Some("earliest"));
        assert_eq!(property(&consumer, "session.timeout.ms"), Some("3000"));
        assert_eq!(property(&consumer, "heartbeat.interval.ms"), Some("1000"));
    }

    #[test]
    fn the_sasl_password_reaches_librdkafka_but_never_debug() {
        let config: KafkaBusConfig = serde_json::from_str(
            r#"{"brokers":"b:9092","sasl":{"username":"argus","password":"hunter2-secret"}}"#,
        )
        .expect("config with sasl parses");

        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter2-secret"), "password leaked into Debug: {debug}");
        assert!(debug.contains("REDACTED"), "{debug}");

        let producer = config.producer_config();
        assert_eq!(property(&producer, "sasl.password"), Some("hunter2-secret"));
        assert_eq!(property(&producer, "sasl.mechanism"), Some("PLAIN"));
        assert_eq!(property(&producer, "security.protocol"), Some("SASL_PLAINTEXT"));
    }
}
