//! What the Kafka adapter promises beyond the shared conformance suite, against the broker named by
//! `ARGUS_TEST_KAFKA_BROKERS` (started by `data-layer/local/up.sh`; `source /tmp/argus-services/env.sh`):
//! topic creation, commits only after `ack`, dead letters with `partition/offset`, backpressure on a full
//! producer queue, rebalancing, flow control, `close`, and errors that never show the SASL password.
//!
//! Every test uses its own topic prefix and group names, so tests (and other runs) never share messages.
//! Without the variable each test prints `skipping: …` and returns, unless `ARGUS_REQUIRE_SERVICES=1`.

#![cfg(feature = "kafka")]

use argus_bus::kafka::{KafkaBus, KafkaBusConfig, KafkaSaslConfig};
use argus_bus::{Bus, BusError, Delivery, NackOutcome, Subscription};
use argus_vocabulary::{DeadLetter, Envelope, Topic};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// The longest any wait in these tests may take before the test fails.
const WAIT: Duration = Duration::from_secs(30);

/// The broker list, or `None` (after saying so) when the servers are not configured; panics instead when
/// `ARGUS_REQUIRE_SERVICES=1`.
fn kafka_brokers() -> Option<String> {
    if let Ok(brokers) = std::env::var("ARGUS_TEST_KAFKA_BROKERS") {
        return Some(brokers);
    }
    if std::env::var("ARGUS_REQUIRE_SERVICES").is_ok_and(|value| value == "1") {
        panic!(
            "ARGUS_TEST_KAFKA_BROKERS is not set: run data-layer/local/up.sh and source \
             /tmp/argus-services/env.sh"
        );
    }
    eprintln!(
        "skipping: ARGUS_TEST_KAFKA_BROKERS is not set (run data-layer/local/up.sh to test against kafka)"
    );
    None
}

fn unique(what: &str) -> String {
    format!("{what}-{}", uuid::Uuid::new_v4().simple())
}

/// A test configuration: unique client id and topic prefix, short session timeout.
fn test_config(brokers: String) -> KafkaBusConfig {
    let run = uuid::Uuid::new_v4().simple().to_string();
    let mut config = KafkaBusConfig::new(brokers);
    config.client_id = format!("argus-kafka-test-{run}");
    config.topic_prefix = format!("kafka-test-{run}.");
    config.session_timeout_ms = 3_000;
    config
}

async fn connect(config: &KafkaBusConfig) -> KafkaBus {
    match KafkaBus::connect(config).await {
        Ok(bus) => bus,
        Err(error) => panic!("connecting to kafka failed: {error}"),
    }
}

async fn subscribe(bus: &KafkaBus, topic: Topic, group: &str) -> Box<dyn Subscription> {
    match tokio::time::timeout(WAIT, bus.subscribe(topic, group)).await {
        Ok(Ok(subscription)) => subscription,
        other => panic!("subscribing {group} failed: {other:?}", other = other.map(|result| result.err())),
    }
}

async fn publish(bus: &KafkaBus, topic: Topic, key: &str, payload: &str) {
    if let Err(error) = bus.publish(topic, key, payload.as_bytes().to_vec()).await {
        panic!("publishing {payload} failed: {error}");
    }
}

async fn next(subscription: &mut Box<dyn Subscription>) -> Delivery {
    match tokio::time::timeout(WAIT, subscription.next()).await {
        Ok(Ok(Some(delivery))) => delivery,
        other => panic!("expected a delivery, got {other:?}"),
    }
}

fn text(delivery: &Delivery) -> String {
    String::from_utf8_lossy(&delivery.payload).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vocabulary_topics_are_created_with_the_configured_partition_counts() {
    let Some(brokers) = kafka_brokers() else { return };
    let mut config = test_config(brokers);
    config.partitions =
        BTreeMap::from([("argus.dlq".to_owned(), 1), ("argus.healing.requested".to_owned(), 2)]);

    let bus = connect(&config).await;
    let counts = bus.partition_counts().await.expect("partition counts");

    for topic in Topic::ALL {
        let expected = match topic {
            Topic::DeadLetter => 1,
            Topic::HealingRequested => 2,
            other => other.default_partitions() as usize,
        };
        assert_eq!(counts.get(&topic), Some(&expected), "{topic}");
    }
    assert_eq!(counts.get(&Topic::TestExecuted), Some(&12));
    assert_eq!(counts.get(&Topic::HealingCompleted), Some(&6));
    assert_eq!(counts.get(&Topic::IntegrationGithub), Some(&3));

    config.partitions.clear();
    let again = connect(&config).await;
    assert_eq!(again.partition_counts().await.expect("counts"), counts, "existing topics are left unchanged");
    assert!(again.ready().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_are_committed_only_after_ack() {
    let Some(brokers) = kafka_brokers() else { return };
    let bus = connect(&test_config(brokers)).await;
    let group = unique("committer");
    publish(&bus, Topic::TestFailed, "k", "first").await;

    let mut unacked = subscribe(&bus, Topic::TestFailed, &group).await;
    let abandoned = next(&mut unacked).await;
    assert_eq!(text(&abandoned), "first");
    drop(unacked);

    let mut second = subscribe(&bus, Topic::TestFailed, &group).await;
    let again = next(&mut second).await;
    assert_eq!(text(&again), "first", "not acknowledged, so delivered to the next member");
    assert_eq!(again.coordinates, abandoned.coordinates);
    second.ack(&again).await.expect("ack");
    drop(second);

    publish(&bus, Topic::TestFailed, "k", "second").await;
    let mut third = subscribe(&bus, Topic::TestFailed, &group).await;
    let after_ack = next(&mut third).await;
    assert_eq!(text(&after_ack), "second", "the acknowledged message is not delivered again");
    third.ack(&after_ack).await.expect("ack");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_message_lands_in_the_dead_letter_topic_with_partition_and_offset_and_the_next_flows() {
    let Some(brokers) = kafka_brokers() else { return };
    let mut config = test_config(brokers);
    config.max_attempts = 2;
    let bus = connect(&config).await;
    let mut member = subscribe(&bus, Topic::TestFailed, "correlator").await;
    publish(&bus, Topic::TestFailed, "shop/test", "\u{1}not json").await;
    publish(&bus, Topic::TestFailed, "shop/test", r#"{"project_id":"shop","n":1}"#).await;

    let first = next(&mut member).await;
    assert_eq!(
        member.nack(&first, "cannot decode: expected value").await.expect("nack"),
        NackOutcome::Redelivered
    );
    let second = next(&mut member).await;
    assert_eq!((text(&second), second.attempt), (text(&first), 2));
    let outcome = member.nack(&second, "cannot decode: expected value").await.expect("nack");
    assert_eq!(outcome, NackOutcome::DeadLettered);
    let following = next(&mut member).await;
    assert_eq!(text(&following), r#"{"project_id":"shop","n":1}"#, "the stream keeps flowing");
    member.ack(&following).await.expect("ack");

    let mut dead_letters = subscribe(&bus, Topic::DeadLetter, "dlq-reader").await;
    let delivery = next(&mut dead_letters).await;
    let letter = Envelope::<DeadLetter>::from_bytes(&delivery.payload).expect("a dead-letter envelope");
    assert_eq!(delivery.key, "shop/test");
    assert_eq!(letter.project_id.as_str(), "unknown", "the payload names no project");
    let dead_letter = letter.payload;
    assert_eq!(dead_letter.original_topic, "argus.test.failed");
    assert_eq!(dead_letter.consumer_group, "correlator");
    assert_eq!(dead_letter.payload, "\u{1}not json");
    assert_eq!(dead_letter.error, "cannot decode: expected value");
    assert_eq!(dead_letter.attempts, 2);
    assert_eq!(dead_letter.coordinates, first.coordinates);
    let (partition, offset) = dead_letter.coordinates.split_once('/').expect("partition/offset");
    assert!(partition.parse::<i32>().is_ok() && offset.parse::<i64>().is_ok(), "{}", dead_letter.coordinates);
    dead_letters.ack(&delivery).await.expect("ack");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_producer_queue_is_backpressure_after_the_publish_timeout() {
    let Some(brokers) = kafka_brokers() else { return };
    let mut config = test_config(brokers);
    // One message fills the queue, and the producer lingers on it for two seconds before sending.
    config.producer_queue_max_messages = 1;
    config.linger_ms = 2_000;
    config.publish_timeout_ms = 300;
    let bus = Arc::new(connect(&config).await);

    let lingering = tokio::spawn({
        let bus = Arc::clone(&bus);
        async move { bus.publish(Topic::TestExecuted, "k", b"lingering".to_vec()).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await; // let the first message into the queue
    let started = Instant::now();
    let rejected = bus.publish(Topic::TestExecuted, "k", b"rejected".to_vec()).await;
    let waited = started.elapsed();

    assert!(
        matches!(&rejected, Err(BusError::Backpressure { topic }) if topic == "argus.test.executed"),
        "got {rejected:?}"
    );
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_millis(1_500),
        "waited {waited:?}"
    );
    let first = tokio::time::timeout(WAIT, lingering).await.expect("first publish finished").expect("joined");
    assert!(first.is_ok(), "the queued message is still delivered: {first:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_waiting_for_room_proceeds_once_the_queue_drains() {
    let Some(brokers) = kafka_brokers() else { return };
    let mut config = test_config(brokers);
    config.producer_queue_max_messages = 1;
    config.linger_ms = 500;
    config.publish_timeout_ms = 10_000;
    let bus = Arc::new(connect(&config).await);

    let first = tokio::spawn({
        let bus = Arc::clone(&bus);
        async move { bus.publish(Topic::TestExecuted, "k", b"one".to_vec()).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let second = bus.publish(Topic::TestExecuted, "k", b"two".to_vec()).await;

    assert!(second.is_ok(), "got {second:?}");
    assert!(started.elapsed() < Duration::from_secs(10), "it proceeded before the timeout");
    assert!(first.await.expect("joined").is_ok());
    let mut member = subscribe(&bus, Topic::TestExecuted, &unique("reader")).await;
    let received = [text(&next(&mut member).await), text(&next(&mut member).await)];
    assert_eq!(received, ["one", "two"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_a_member_leaves_the_other_gets_its_partitions_and_its_unacked_messages() {
    const COUNT: usize = 24;
    let Some(brokers) = kafka_brokers() else { return };
    let bus = connect(&test_config(brokers)).await;
    let group = unique("rebalance");
    let mut leaver = subscribe(&bus, Topic::TestExecuted, &group).await;
    let mut stayer = subscribe(&bus, Topic::TestExecuted, &group).await;
    for n in 0..COUNT {
        publish(&bus, Topic::TestExecuted, &format!("key-{n}"), &n.to_string()).await;
    }

    // The leaver keeps what it gets unacknowledged; the stayer acknowledges its own share.
    let mut held_by_leaver = BTreeSet::new();
    let mut acked_by_stayer = BTreeSet::new();
    let deadline = Instant::now() + WAIT;
    while held_by_leaver.len() + acked_by_stayer.len() < COUNT {
        tokio::select! {
            delivery = leaver.next() => {
                let delivery = delivery.expect("next").expect("a delivery");
                assert!(held_by_leaver.insert(text(&delivery)), "no duplicates before the rebalance");
            }
            delivery = stayer.next() => {
                let delivery = delivery.expect("next").expect("a delivery");
                stayer.ack(&delivery).await.expect("ack");
                assert!(acked_by_stayer.insert(text(&delivery)), "no duplicates before the rebalance");
            }
            () = tokio::time::sleep_until(deadline) => panic!("only {held_by_leaver:?} and {acked_by_stayer:?} arrived"),
        }
    }
    assert!(!held_by_leaver.is_empty() && !acked_by_stayer.is_empty(), "both members had partitions");

    drop(leaver);

    let mut redelivered = BTreeSet::new();
    while redelivered.len() < held_by_leaver.len() {
        let delivery = next(&mut stayer).await;
        stayer.ack(&delivery).await.expect("ack");
        redelivered.insert(text(&delivery));
    }
    assert_eq!(redelivered, held_by_leaver, "the stayer gets exactly the leaver's unacknowledged messages");
    assert!(
        tokio::time::timeout(Duration::from_secs(2), stayer.next()).await.is_err(),
        "nothing the stayer acknowledged comes back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_consumer_buffer_pauses_and_resumes_without_losing_or_reordering() {
    const COUNT: usize = 60;
    let Some(brokers) = kafka_brokers() else { return };
    let mut config = test_config(brokers);
    config.consumer_buffer_messages = 4;
    let bus = connect(&config).await;
    for n in 0..COUNT {
        publish(&bus, Topic::LocatorObserved, "one-key", &n.to_string()).await;
    }

    let mut member = subscribe(&bus, Topic::LocatorObserved, &unique("slow")).await;
    let mut received = Vec::new();
    for _ in 0..COUNT {
        let delivery = next(&mut member).await;
        member.ack(&delivery).await.expect("ack");
        received.push(text(&delivery).parse::<usize>().expect("a number"));
        if received.len() % 10 == 0 {
            tokio::time::sleep(Duration::from_millis(300)).await; // a slow handler: let the buffer fill
        }
    }

    assert_eq!(received, (0..COUNT).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unacknowledged_counts_a_groups_lag_until_its_acks_are_committed() {
    let Some(brokers) = kafka_brokers() else { return };
    let bus = connect(&test_config(brokers)).await;
    assert_eq!(bus.unacknowledged().await.expect("count"), 0, "no group subscribed yet");
    for n in 0..3 {
        publish(&bus, Topic::HealingRequested, &format!("k{n}"), "m").await;
    }
    let mut member = subscribe(&bus, Topic::HealingRequested, "healer").await;
    assert_eq!(bus.unacknowledged().await.expect("count"), 3);

    for _ in 0..3 {
        let delivery = next(&mut member).await;
        member.ack(&delivery).await.expect("ack");
    }
    drop(member);

    let deadline = Instant::now() + WAIT;
    while bus.unacknowledged().await.expect("count") != 0 {
        assert!(Instant::now() < deadline, "the lag never dropped to zero");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    publish(&bus, Topic::HealingRequested, "k", "while nobody consumes").await;
    assert_eq!(bus.unacknowledged().await.expect("count"), 1, "a group without members still owes it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_stops_delivering_but_acks_still_commit() {
    let Some(brokers) = kafka_brokers() else { return };
    let config = test_config(brokers);
    let bus = connect(&config).await;
    let group = unique("closing");
    publish(&bus, Topic::TestExecuted, "k", "handled during shutdown").await;
    publish(&bus, Topic::TestExecuted, "k", "left for later").await;
    let mut member = subscribe(&bus, Topic::TestExecuted, &group).await;
    let in_flight = next(&mut member).await;

    bus.close().await.expect("close");

    let after = tokio::time::timeout(WAIT, member.next()).await.expect("next returns");
    assert!(matches!(after, Ok(None)), "got {after:?}");
    member.ack(&in_flight).await.expect("an in-flight delivery can still be acknowledged");
    assert!(!bus.ready().await);
    assert!(matches!(bus.publish(Topic::TestExecuted, "k", Vec::new()).await, Err(BusError::Closed)));
    assert!(matches!(bus.subscribe(Topic::TestExecuted, "other").await, Err(BusError::Closed)));
    drop(member);

    let restarted = connect(&config).await;
    let mut member = subscribe(&restarted, Topic::TestExecuted, &group).await;
    assert_eq!(text(&next(&mut member).await), "left for later", "the acknowledged one was committed");
}

#[tokio::test]
async fn an_unreachable_broker_fails_connect_without_showing_the_password() {
    let mut config = KafkaBusConfig::new("127.0.0.1:1");
    config.request_timeout_ms = 1_000;
    config.sasl = Some(KafkaSaslConfig {
        mechanism: KafkaSaslConfig::default_mechanism(),
        username: "argus".to_owned(),
        password: "hunter2-secret".to_owned().into(),
    });

    let started = Instant::now();
    let result = KafkaBus::connect(&config).await;

    let error = result.expect_err("no broker listens on port 1");
    assert!(matches!(error, BusError::Backend(_)), "{error:?}");
    assert!(!error.to_string().contains("hunter2-secret"), "{error}");
    assert!(!format!("{config:?}").contains("hunter2-secret"));
    assert!(started.elapsed() < Duration::from_secs(10), "bounded by the request timeout");
}
