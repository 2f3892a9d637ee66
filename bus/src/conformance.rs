//! The conformance suite: the checks every [`Bus`] adapter passes unchanged.
//!
//! Each check is a public async function over a [`BusUnderTest`]; [`crate::bus_conformance_tests!`] expands
//! to one `#[tokio::test]` per check, given an async factory that makes a fresh bus:
//!
//! ```text
//! async fn in_process_bus() -> argus_bus::conformance::BusUnderTest { /* … */ }
//! argus_bus::bus_conformance_tests!(in_process_bus);
//! ```
//!
//! The checks are written for real brokers too, where topics are shared and delivery takes time:
//! - every check uses consumer groups and a payload marker unique to its run, and acknowledges and skips
//!   messages of other runs it meets on a shared topic;
//! - every wait is bounded by [`WAIT`] and fails the test when it runs out; nothing assumes instant delivery;
//! - payloads are JSON objects with a `project_id`, like real envelopes.
//!
//! The test crate needs `tokio` (features `macros`, `rt-multi-thread`) among its dependencies.

use crate::{Bus, BusError, Delivery, NackOutcome, Subscription};
use argus_vocabulary::{DeadLetter, Envelope, Topic};
use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use uuid::Uuid;

/// The longest any check waits for something to happen before it fails.
pub const WAIT: Duration = Duration::from_secs(30);

/// The project every conformance payload names.
pub const CONFORMANCE_PROJECT: &str = "conformance";

/// How often polling checks look again.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// The topic the checks publish on (any topic but `argus.dlq` would do).
const TOPIC: Topic = Topic::TestExecuted;

/// A fresh bus for one check, and the attempt limit it was configured with.
pub struct BusUnderTest {
    /// The adapter under test.
    pub bus: Arc<dyn Bus>,
    /// Its configured maximum number of attempts before dead-lettering (at least 2 for the nack checks).
    pub max_attempts: u32,
}

/// A group name or marker unique to one run of one check.
fn unique(what: &str) -> String {
    format!("conformance-{what}-{}", Uuid::new_v4().simple())
}

/// The payload of message `n` of the run `marker`.
fn payload(marker: &str, n: usize) -> Vec<u8> {
    serde_json::json!({ "project_id": CONFORMANCE_PROJECT, "marker": marker, "n": n })
        .to_string()
        .into_bytes()
}

/// The `n` of a delivery of the run `marker`; `None` for messages of other runs.
fn number_of(delivery: &Delivery, marker: &str) -> Option<usize> {
    let value: serde_json::Value = serde_json::from_slice(&delivery.payload).ok()?;
    if value.get("marker")?.as_str()? != marker {
        return None;
    }
    usize::try_from(value.get("n")?.as_u64()?).ok()
}

/// Runs `future`, failing the test if it takes longer than [`WAIT`].
async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(WAIT, future).await {
        Ok(value) => value,
        Err(_) => panic!("timed out after {WAIT:?} waiting for {what}"),
    }
}

async fn publish_all(bus: &dyn Bus, topic: Topic, marker: &str, count: usize, key: impl Fn(usize) -> String) {
    for n in 0..count {
        let published = within("publish", bus.publish(topic, &key(n), payload(marker, n))).await;
        if let Err(error) = published {
            panic!("publishing message {n} failed: {error}");
        }
    }
}

async fn subscribe(bus: &dyn Bus, topic: Topic, group: &str) -> Box<dyn Subscription> {
    match within("subscribe", bus.subscribe(topic, group)).await {
        Ok(subscription) => subscription,
        Err(error) => panic!("subscribing {group} to {topic} failed: {error}"),
    }
}

/// The next delivery of the run `marker`, with its `n`. Messages of other runs are acknowledged and skipped.
async fn next_of_run(subscription: &mut dyn Subscription, marker: &str) -> Result<(Delivery, usize), String> {
    loop {
        match subscription.next().await {
            Ok(Some(delivery)) => match number_of(&delivery, marker) {
                Some(n) => return Ok((delivery, n)),
                None => subscription.ack(&delivery).await.map_err(|error| error.to_string())?,
            },
            Ok(None) => return Err("the bus closed the subscription".to_owned()),
            Err(error) => return Err(error.to_string()),
        }
    }
}

/// Waits (bounded) for the next delivery of the run `marker`.
async fn receive(subscription: &mut dyn Subscription, marker: &str) -> (Delivery, usize) {
    match within("a delivery", next_of_run(subscription, marker)).await {
        Ok(received) => received,
        Err(error) => panic!("receiving failed: {error}"),
    }
}

async fn ack(subscription: &mut dyn Subscription, delivery: &Delivery) {
    if let Err(error) = within("ack", subscription.ack(delivery)).await {
        panic!("ack of {} failed: {error}", delivery.coordinates);
    }
}

/// Receives `count` deliveries of the run `marker`, acknowledging each, and returns their `n`s in order.
async fn receive_and_ack(subscription: &mut dyn Subscription, marker: &str, count: usize) -> Vec<usize> {
    let mut numbers = Vec::with_capacity(count);
    for _ in 0..count {
        let (delivery, n) = receive(subscription, marker).await;
        ack(subscription, &delivery).await;
        numbers.push(n);
    }
    numbers
}

async fn nack(subscription: &mut dyn Subscription, delivery: &Delivery, error: &str) -> NackOutcome {
    match within("nack", subscription.nack(delivery, error)).await {
        Ok(outcome) => outcome,
        Err(bus_error) => panic!("nack of {} failed: {bus_error}", delivery.coordinates),
    }
}

/// Polls `unacknowledged()` until `accept` holds, failing the test after [`WAIT`].
async fn wait_for_unacknowledged(bus: &dyn Bus, what: &str, accept: impl Fn(u64) -> bool) {
    let mut last = None;
    let polled = tokio::time::timeout(WAIT, async {
        loop {
            match bus.unacknowledged().await {
                Ok(count) if accept(count) => return,
                Ok(count) => last = Some(count),
                Err(error) => panic!("unacknowledged() failed: {error}"),
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    })
    .await;
    assert!(polled.is_ok(), "unacknowledged() never became {what} within {WAIT:?}; last answer {last:?}");
}

/// A fresh bus answers ready.
pub async fn fresh_bus_is_ready(under_test: BusUnderTest) {
    assert!(within("ready", under_test.bus.ready()).await, "a fresh bus must be ready");
}

/// A group that subscribes after messages were published still receives every one of them.
pub async fn late_group_receives_everything_published_before_it(under_test: BusUnderTest) {
    let bus = under_test.bus.as_ref();
    let marker = unique("late");
    publish_all(bus, TOPIC, &marker, 10, |n| format!("{marker}-{n}")).await;

    let mut late = subscribe(bus, TOPIC, &unique("late-group")).await;
    let received: BTreeSet<usize> = receive_and_ack(late.as_mut(), &marker, 10).await.into_iter().collect();

    assert_eq!(received, (0..10).collect(), "the late group must receive every earlier message");
}

/// Two consumer groups on one topic each receive every message.
pub async fn every_group_receives_every_message(under_test: BusUnderTest) {
    let bus = under_test.bus.as_ref();
    let marker = unique("fanout");
    let mut first = subscribe(bus, TOPIC, &unique("fanout-a")).await;
    let mut second = subscribe(bus, TOPIC, &unique("fanout-b")).await;
    publish_all(bus, TOPIC, &marker, 10, |n| format!("{marker}-{n}")).await;

    let by_first: BTreeSet<usize> = receive_and_ack(first.as_mut(), &marker, 10).await.into_iter().collect();
    let by_second: BTreeSet<usize> =
        receive_and_ack(second.as_mut(), &marker, 10).await.into_iter().collect();

    let everything: BTreeSet<usize> = (0..10).collect();
    assert_eq!(by_first, everything, "the first group must receive every message");
    assert_eq!(by_second, everything, "the second group must receive every message");
}

/// Two members of one group, consuming concurrently, together receive every message exactly once.
pub async fn members_of_one_group_split_messages_without_duplicates(under_test: BusUnderTest) {
    const COUNT: usize = 40;
    let bus = under_test.bus.as_ref();
    let marker = unique("split");
    let group = unique("split-group");
    let members = [subscribe(bus, TOPIC, &group).await, subscribe(bus, TOPIC, &group).await];
    publish_all(bus, TOPIC, &marker, COUNT, |n| format!("{marker}-{n}")).await;

    let (sender, mut receiver) = mpsc::unbounded_channel::<Result<usize, String>>();
    let mut consumers = Vec::new();
    for mut member in members {
        let sender = sender.clone();
        let marker = marker.clone();
        consumers.push(tokio::spawn(async move {
            loop {
                let received = match next_of_run(member.as_mut(), &marker).await {
                    Ok((delivery, n)) => member.ack(&delivery).await.map(|()| n).map_err(|e| e.to_string()),
                    Err(error) => Err(error),
                };
                let failed = received.is_err();
                if sender.send(received).is_err() || failed {
                    return;
                }
            }
        }));
    }
    drop(sender);

    let mut received = Vec::new();
    let collected = tokio::time::timeout(WAIT, async {
        while received.iter().collect::<BTreeSet<_>>().len() < COUNT {
            match receiver.recv().await {
                Some(Ok(n)) => received.push(n),
                Some(Err(error)) => panic!("a member failed: {error}"),
                None => panic!("both members stopped"),
            }
        }
    })
    .await;
    for consumer in &consumers {
        consumer.abort();
    }

    assert!(collected.is_ok(), "only {} of {COUNT} messages arrived within {WAIT:?}", received.len());
    received.sort_unstable();
    assert_eq!(received, (0..COUNT).collect::<Vec<_>>(), "every message exactly once across the members");
}

/// A delivery that was never acknowledged is handed to another member once its subscription is dropped.
pub async fn unacked_delivery_of_a_dropped_subscription_is_redelivered(under_test: BusUnderTest) {
    let bus = under_test.bus.as_ref();
    let marker = unique("abandoned");
    let group = unique("abandoned-group");
    let mut first = subscribe(bus, TOPIC, &group).await;
    publish_all(bus, TOPIC, &marker, 1, |_| marker.clone()).await;
    let (_abandoned, n) = receive(first.as_mut(), &marker).await;
    drop(first);

    let mut second = subscribe(bus, TOPIC, &group).await;
    let (redelivered, again) = receive(second.as_mut(), &marker).await;
    ack(second.as_mut(), &redelivered).await;

    assert_eq!((n, again), (0, 0), "the abandoned message must be delivered again");
}

/// A nacked delivery comes back with its attempt number increased by one.
pub async fn nack_redelivers_with_attempt_plus_one(under_test: BusUnderTest) {
    assert!(under_test.max_attempts >= 2, "this check needs max_attempts >= 2");
    let bus = under_test.bus.as_ref();
    let marker = unique("nack");
    let mut member = subscribe(bus, TOPIC, &unique("nack-group")).await;
    publish_all(bus, TOPIC, &marker, 1, |_| marker.clone()).await;

    let (first, _) = receive(member.as_mut(), &marker).await;
    let outcome = nack(member.as_mut(), &first, "conformance: transient failure").await;
    let (second, n) = receive(member.as_mut(), &marker).await;
    ack(member.as_mut(), &second).await;

    assert_eq!(outcome, NackOutcome::Redelivered);
    assert_eq!(n, 0);
    assert_eq!(second.payload, first.payload);
    assert_eq!(second.attempt, first.attempt + 1, "a redelivery carries the next attempt number");
}

/// A message nacked `max_attempts` times reaches `argus.dlq` with its error and coordinates, and the
/// message after it (same key) is still delivered.
pub async fn poison_message_is_dead_lettered_and_the_stream_keeps_flowing(under_test: BusUnderTest) {
    let bus = under_test.bus.as_ref();
    let max_attempts = under_test.max_attempts;
    assert!(max_attempts >= 1, "this check needs max_attempts >= 1");
    let marker = unique("poison");
    let group = unique("poison-group");
    let key = marker.clone();
    let mut member = subscribe(bus, TOPIC, &group).await;
    publish_all(bus, TOPIC, &marker, 2, |_| key.clone()).await;

    let mut poison_attempts = Vec::new();
    let mut outcomes = Vec::new();
    let mut poison_coordinates = None;
    let mut next_delivered = false;
    while !(next_delivered && outcomes.contains(&NackOutcome::DeadLettered)) {
        let (delivery, n) = receive(member.as_mut(), &marker).await;
        if n == 0 {
            assert!(poison_attempts.len() < max_attempts as usize, "poison delivered after its last attempt");
            poison_attempts.push(delivery.attempt);
            poison_coordinates = Some(delivery.coordinates.clone());
            outcomes.push(nack(member.as_mut(), &delivery, "conformance: poison payload").await);
        } else {
            ack(member.as_mut(), &delivery).await;
            next_delivered = true;
        }
    }

    let expected_attempts: Vec<u32> = (1..=max_attempts).collect();
    assert_eq!(poison_attempts, expected_attempts, "one delivery per attempt, numbered from 1");
    let mut expected_outcomes = vec![NackOutcome::Redelivered; max_attempts as usize - 1];
    expected_outcomes.push(NackOutcome::DeadLettered);
    assert_eq!(outcomes, expected_outcomes);

    let mut dead_letters = subscribe(bus, Topic::DeadLetter, &unique("dlq-reader")).await;
    let (delivery, letter) = within("the dead letter", async {
        loop {
            let delivery = match dead_letters.next().await {
                Ok(Some(delivery)) => delivery,
                Ok(None) => panic!("the bus closed the dead-letter subscription"),
                Err(error) => panic!("reading argus.dlq failed: {error}"),
            };
            let ours = Envelope::<DeadLetter>::from_bytes(&delivery.payload)
                .ok()
                .filter(|envelope| envelope.payload.consumer_group == group);
            if let Err(error) = dead_letters.ack(&delivery).await {
                panic!("ack on argus.dlq failed: {error}");
            }
            if let Some(envelope) = ours {
                return (delivery, envelope);
            }
        }
    })
    .await;

    assert_eq!(delivery.topic, Topic::DeadLetter);
    assert_eq!(delivery.key, key, "a dead letter keeps the original key");
    assert_eq!(letter.project_id.as_str(), CONFORMANCE_PROJECT);
    let dead_letter = letter.payload;
    assert_eq!(dead_letter.original_topic, TOPIC.name());
    assert_eq!(dead_letter.key, key);
    assert_eq!(dead_letter.payload.as_bytes(), payload(&marker, 0).as_slice());
    assert!(dead_letter.error.contains("poison payload"), "error kept: {:?}", dead_letter.error);
    assert_eq!(dead_letter.attempts, max_attempts);
    assert_eq!(Some(dead_letter.coordinates), poison_coordinates, "coordinates of the original delivery");
}

/// `unacknowledged()` counts published messages and falls back to zero once every one is acknowledged.
pub async fn unacknowledged_drops_to_zero_after_every_ack(under_test: BusUnderTest) {
    const COUNT: usize = 5;
    let bus = under_test.bus.as_ref();
    let marker = unique("idle");
    let mut member = subscribe(bus, TOPIC, &unique("idle-group")).await;
    publish_all(bus, TOPIC, &marker, COUNT, |n| format!("{marker}-{n}")).await;
    wait_for_unacknowledged(bus, "at least the published count", |count| count >= COUNT as u64).await;

    let mut deliveries = Vec::new();
    for _ in 0..COUNT {
        deliveries.push(receive(member.as_mut(), &marker).await.0);
    }
    wait_for_unacknowledged(bus, "non-zero while deliveries are in flight", |count| count > 0).await;
    for delivery in &deliveries {
        ack(member.as_mut(), delivery).await;
    }

    wait_for_unacknowledged(bus, "zero", |count| count == 0).await;
}

/// One member receives the messages of one key in the order they were published.
pub async fn one_member_receives_one_keys_messages_in_order(under_test: BusUnderTest) {
    const COUNT: usize = 100;
    let bus = under_test.bus.as_ref();
    let marker = unique("ordered");
    let mut member = subscribe(bus, TOPIC, &unique("ordered-group")).await;
    publish_all(bus, TOPIC, &marker, COUNT, |_| marker.clone()).await;

    let received = receive_and_ack(member.as_mut(), &marker, COUNT).await;

    assert_eq!(received, (0..COUNT).collect::<Vec<_>>(), "one key's messages arrive in publish order");
}

/// A delivery can be settled once: acknowledging or nacking it again fails with an unknown receipt.
pub async fn settling_a_delivery_twice_is_rejected(under_test: BusUnderTest) {
    let bus = under_test.bus.as_ref();
    let marker = unique("settled");
    let mut member = subscribe(bus, TOPIC, &unique("settled-group")).await;
    publish_all(bus, TOPIC, &marker, 1, |_| marker.clone()).await;
    let (delivery, _) = receive(member.as_mut(), &marker).await;
    ack(member.as_mut(), &delivery).await;

    let second_ack = within("second ack", member.ack(&delivery)).await;
    let late_nack = within("late nack", member.nack(&delivery, "too late")).await;

    assert!(matches!(second_ack, Err(BusError::UnknownReceipt(_))), "second ack: {second_ack:?}");
    assert!(matches!(late_nack, Err(BusError::UnknownReceipt(_))), "late nack: {late_nack:?}");
}

/// Expands to one `#[tokio::test]` per conformance check. `$factory` is an async function (or closure
/// returning a future) that makes a fresh [`BusUnderTest`](crate::conformance::BusUnderTest). Invoke it
/// inside a module to keep the test names apart from the adapter's own tests.
#[macro_export]
macro_rules! bus_conformance_tests {
    ($factory:expr) => {
        $crate::bus_conformance_tests!(@checks $factory;
            fresh_bus_is_ready,
            late_group_receives_everything_published_before_it,
            every_group_receives_every_message,
            members_of_one_group_split_messages_without_duplicates,
            unacked_delivery_of_a_dropped_subscription_is_redelivered,
            nack_redelivers_with_attempt_plus_one,
            poison_message_is_dead_lettered_and_the_stream_keeps_flowing,
            unacknowledged_drops_to_zero_after_every_ack,
            one_member_receives_one_keys_messages_in_order,
            settling_a_delivery_twice_is_rejected,
        );
    };
    (@checks $factory:expr; $($check:ident),+ $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                $crate::conformance::$check(($factory)().await).await;
            }
        )+
    };
}
