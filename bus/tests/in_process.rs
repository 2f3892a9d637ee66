//! The in-process bus: the shared conformance suite, then what only this adapter promises (bounded
//! capacity with a publish timeout, `close`, exact attempt numbers on abandoned deliveries).

use argus_bus::in_process::{InProcessBus, InProcessBusConfig};
use argus_bus::{Bus, BusError, Delivery, Subscription};
use argus_vocabulary::{DeadLetter, Envelope, Topic};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

mod conformance {
    use argus_bus::conformance::BusUnderTest;
    use argus_bus::in_process::{InProcessBus, InProcessBusConfig};

    async fn in_process_bus() -> BusUnderTest {
        let config = InProcessBusConfig { max_attempts: 3, ..InProcessBusConfig::default() };
        let max_attempts = config.max_attempts;
        BusUnderTest { bus: InProcessBus::new(config), max_attempts }
    }

    argus_bus::bus_conformance_tests!(in_process_bus);
}

/// Generous bound for things that happen at once in memory; only reached when the test fails.
const FAIL_AFTER: Duration = Duration::from_secs(5);

fn small_bus(capacity_per_topic: u64) -> Arc<InProcessBus> {
    InProcessBus::new(InProcessBusConfig { capacity_per_topic, ..InProcessBusConfig::default() })
}

async fn next(subscription: &mut Box<dyn Subscription>) -> Delivery {
    match tokio::time::timeout(FAIL_AFTER, subscription.next()).await {
        Ok(Ok(Some(delivery))) => delivery,
        other => panic!("expected a delivery, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn publish_to_a_full_topic_fails_with_backpressure_after_the_timeout() {
    let bus = small_bus(2);
    bus.publish(Topic::TestExecuted, "k", b"1".to_vec()).await.expect("room for the first");
    bus.publish(Topic::TestExecuted, "k", b"2".to_vec()).await.expect("room for the second");

    let started = Instant::now();
    let third = bus.publish(Topic::TestExecuted, "k", b"3".to_vec()).await;

    assert!(
        matches!(&third, Err(BusError::Backpressure { topic }) if topic == "argus.test.executed"),
        "got {third:?}"
    );
    assert_eq!(started.elapsed(), Duration::from_millis(2_000), "waited exactly the publish timeout");
    assert!(bus.publish(Topic::TestFailed, "k", b"x".to_vec()).await.is_ok(), "other topics have room");
}

#[tokio::test(start_paused = true)]
async fn waiting_publish_proceeds_once_a_consumer_acks() {
    let bus = small_bus(2);
    let mut consumer = bus.subscribe(Topic::TestExecuted, "g").await.expect("subscribe");
    bus.publish(Topic::TestExecuted, "k", b"1".to_vec()).await.expect("first");
    bus.publish(Topic::TestExecuted, "k", b"2".to_vec()).await.expect("second");
    let started = Instant::now();
    let waiting = tokio::spawn({
        let bus = Arc::clone(&bus);
        async move { bus.publish(Topic::TestExecuted, "k", b"3".to_vec()).await }
    });
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(!waiting.is_finished(), "the third publish must wait for room");

    let first = next(&mut consumer).await;
    consumer.ack(&first).await.expect("ack");

    let third = tokio::time::timeout(FAIL_AFTER, waiting).await.expect("publish finished").expect("joined");
    assert!(third.is_ok(), "got {third:?}");
    assert!(started.elapsed() < Duration::from_millis(2_000), "it proceeded before the timeout");
    assert_eq!(bus.unacknowledged().await.expect("count"), 2);
}

#[tokio::test]
async fn close_ends_next_once_nothing_is_left() {
    let bus = small_bus(10);
    let mut consumer = bus.subscribe(Topic::TestExecuted, "g").await.expect("subscribe");
    bus.publish(Topic::TestExecuted, "k", b"left".to_vec()).await.expect("publish");

    bus.close();

    assert_eq!(next(&mut consumer).await.payload, b"left", "what was published is still handed out");
    let after = tokio::time::timeout(FAIL_AFTER, consumer.next()).await.expect("next returns");
    assert!(matches!(after, Ok(None)), "got {after:?}");
    assert!(!bus.ready().await);
    assert!(matches!(bus.publish(Topic::TestExecuted, "k", Vec::new()).await, Err(BusError::Closed)));
    assert!(matches!(bus.subscribe(Topic::TestExecuted, "h").await, Err(BusError::Closed)));
}

#[tokio::test]
async fn close_wakes_a_waiting_next() {
    let bus = small_bus(10);
    let mut consumer = bus.subscribe(Topic::TestExecuted, "g").await.expect("subscribe");
    let waiting = tokio::spawn(async move { consumer.next().await });
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }

    bus.close();

    let ended = tokio::time::timeout(FAIL_AFTER, waiting).await.expect("next woke").expect("joined");
    assert!(matches!(ended, Ok(None)), "got {ended:?}");
}

#[tokio::test(start_paused = true)]
async fn close_fails_a_publish_waiting_for_room() {
    let bus = small_bus(1);
    bus.publish(Topic::TestExecuted, "k", b"1".to_vec()).await.expect("first");
    let waiting = tokio::spawn({
        let bus = Arc::clone(&bus);
        async move { bus.publish(Topic::TestExecuted, "k", b"2".to_vec()).await }
    });
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    let started = Instant::now();

    bus.close();

    let second = tokio::time::timeout(FAIL_AFTER, waiting).await.expect("publish woke").expect("joined");
    assert!(matches!(second, Err(BusError::Closed)), "got {second:?}");
    assert!(started.elapsed() < Duration::from_millis(2_000), "it did not wait for the timeout");
}

#[tokio::test]
async fn dropped_subscription_redelivers_with_the_next_attempt_before_newer_messages() {
    let bus = small_bus(10);
    let mut first = bus.subscribe(Topic::TestExecuted, "g").await.expect("subscribe");
    let mut second = bus.subscribe(Topic::TestExecuted, "g").await.expect("subscribe");
    for payload in [b"a", b"b"] {
        bus.publish(Topic::TestExecuted, "k", payload.to_vec()).await.expect("publish");
    }
    let abandoned = next(&mut first).await;
    assert_eq!((abandoned.payload.as_slice(), abandoned.attempt), (&b"a"[..], 1));

    drop(first);

    let redelivered = next(&mut second).await;
    assert_eq!((redelivered.payload.as_slice(), redelivered.attempt), (&b"a"[..], 2));
    assert_eq!(redelivered.coordinates, abandoned.coordinates);
    assert_eq!(next(&mut second).await.payload, b"b");
}

#[tokio::test]
async fn members_of_one_group_take_turns() {
    let bus = small_bus(10);
    let mut first = bus.subscribe(Topic::TestExecuted, "g").await.expect("subscribe");
    let mut second = bus.subscribe(Topic::TestExecuted, "g").await.expect("subscribe");
    for payload in [b"a", b"b"] {
        bus.publish(Topic::TestExecuted, "k", payload.to_vec()).await.expect("publish");
    }

    let to_first = next(&mut first).await;
    let to_second = next(&mut second).await;

    assert_eq!((to_first.payload.as_slice(), to_second.payload.as_slice()), (&b"a"[..], &b"b"[..]));
    assert!(second.ack(&to_first).await.is_err(), "a member cannot settle another member's delivery");
    assert!(first.ack(&to_first).await.is_ok());
}

#[tokio::test]
async fn dead_letter_of_a_non_json_payload_is_filed_under_the_unknown_project() {
    let bus = InProcessBus::new(InProcessBusConfig { max_attempts: 1, ..InProcessBusConfig::default() });
    let mut consumer = bus.subscribe(Topic::TestFailed, "correlator").await.expect("subscribe");
    bus.publish(Topic::TestFailed, "key", b"\xffnot json".to_vec()).await.expect("publish");

    let poison = next(&mut consumer).await;
    let outcome = consumer.nack(&poison, "cannot decode").await.expect("nack");

    assert_eq!(outcome, argus_bus::NackOutcome::DeadLettered);
    let mut dead_letters = bus.subscribe(Topic::DeadLetter, "reader").await.expect("subscribe");
    let delivery = next(&mut dead_letters).await;
    let envelope = Envelope::<DeadLetter>::from_bytes(&delivery.payload).expect("a dead-letter envelope");
    assert_eq!(envelope.project_id.as_str(), "unknown");
    assert_eq!(envelope.payload.payload, "\u{fffd}not json");
    assert_eq!(envelope.payload.coordinates, "0");
    assert_eq!(envelope.payload.attempts, 1);
}

#[tokio::test(start_paused = true)]
async fn unacknowledged_ignores_topics_no_group_has_joined_but_they_still_fill_up() {
    let bus = small_bus(1);
    bus.publish(Topic::DeadLetter, "k", b"nobody reads me".to_vec()).await.expect("publish");

    assert_eq!(bus.unacknowledged().await.expect("count"), 0, "no group is expected to work on it");
    let full = tokio::time::timeout(FAIL_AFTER, bus.publish(Topic::DeadLetter, "k", Vec::new())).await;
    assert!(matches!(full, Ok(Err(BusError::Backpressure { .. }))), "got {full:?}");

    let mut reader = bus.subscribe(Topic::DeadLetter, "reader").await.expect("subscribe");
    assert_eq!(bus.unacknowledged().await.expect("count"), 1, "the first group now owes it");
    let retained = next(&mut reader).await;
    assert_eq!(retained.payload, b"nobody reads me");
}

#[tokio::test]
async fn a_slow_group_holds_messages_back_until_it_acks() {
    let bus = small_bus(10);
    let mut fast = bus.subscribe(Topic::TestExecuted, "fast").await.expect("subscribe");
    let mut slow = bus.subscribe(Topic::TestExecuted, "slow").await.expect("subscribe");
    bus.publish(Topic::TestExecuted, "k", b"m".to_vec()).await.expect("publish");

    let by_fast = next(&mut fast).await;
    fast.ack(&by_fast).await.expect("ack");
    assert_eq!(bus.unacknowledged().await.expect("count"), 1, "the slow group has not acked");

    let by_slow = next(&mut slow).await;
    slow.ack(&by_slow).await.expect("ack");
    assert_eq!(bus.unacknowledged().await.expect("count"), 0);
}
