//! Wrapping a poison message in an [`Envelope<DeadLetter>`] for `argus.dlq`, for both adapters. Pure: the
//! clock reading (and the in-process bus's incarnation) are passed in.
//!
//! - [`dead_letter_envelope`]: the in-process bus, whose coordinates are one sequence number per topic;
//! - [`kafka_dead_letter_envelope`]: the Kafka bus, whose coordinates are `partition/offset`.

use argus_vocabulary::{DeadLetter, Envelope, EventId, ProjectId, Topic};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The namespace of dead-letter event ids (a fixed, arbitrary UUID: changing it changes every id).
const DEAD_LETTER_NAMESPACE: Uuid = Uuid::from_u128(0x6172_6775_732d_646c_712d_6e61_6d65_7370);

/// The project a dead letter is filed under when the payload does not name a valid one.
const UNKNOWN_PROJECT: &str = "unknown";

/// Everything known about a message that exhausted its attempts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PoisonMessage<'a> {
    /// The topic it came from.
    pub(crate) topic: Topic,
    /// The consumer group that gave up on it.
    pub(crate) group: &'a str,
    /// Its offset in the topic's log.
    pub(crate) offset: u64,
    /// Its partition key.
    pub(crate) key: &'a str,
    /// Its payload.
    pub(crate) payload: &'a [u8],
    /// How many times it was tried.
    pub(crate) attempts: u32,
    /// The handler's last error.
    pub(crate) error: &'a str,
}

/// The dead letter for `poison`, as an envelope ready to publish on `argus.dlq`.
///
/// The event id is derived from `incarnation` (one random id per bus instance), topic, group and offset,
/// so dead-lettering the same delivery twice yields the same id, while a restarted in-memory bus, whose
/// offsets start again at zero, never reuses an id of its predecessor.
pub(crate) fn dead_letter_envelope(
    poison: PoisonMessage<'_>,
    incarnation: Uuid,
    now: DateTime<Utc>,
) -> Envelope<DeadLetter> {
    let event_id = dead_letter_event_id(incarnation, poison.topic, poison.group, poison.offset);
    let coordinates = poison.offset.to_string();
    envelope(poison, coordinates, event_id, now)
}

#[cfg(feature = "kafka")]
/// Everything the Kafka adapter knows about a message that exhausted its attempts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KafkaPoisonMessage<'a> {
    /// The message itself; its `offset` field is ignored in favour of `partition_offset`.
    pub(crate) message: PoisonMessage<'a>,
    /// The topic's wire name (with the deployment's prefix), which scopes the event id.
    pub(crate) wire_topic: &'a str,
    /// The partition and offset it was read from.
    pub(crate) partition_offset: (i32, i64),
}

#[cfg(feature = "kafka")]
/// The dead letter for a Kafka `poison`, as an envelope ready to publish on `argus.dlq`.
///
/// Kafka offsets are durable, so the event id is derived from wire topic, group, partition and offset
/// alone: a consumer that crashes after dead-lettering but before committing dead-letters the message
/// again under the same id, which readers of `argus.dlq` can deduplicate.
pub(crate) fn kafka_dead_letter_envelope(
    poison: KafkaPoisonMessage<'_>,
    now: DateTime<Utc>,
) -> Envelope<DeadLetter> {
    let (partition, offset) = poison.partition_offset;
    let coordinates = format!("{partition}/{offset}");
    let name = format!("kafka/{}/{}/{coordinates}", poison.wire_topic, poison.message.group);
    let event_id = EventId(Uuid::new_v5(&DEAD_LETTER_NAMESPACE, name.as_bytes()));
    envelope(poison.message, coordinates, event_id, now)
}

fn envelope(
    poison: PoisonMessage<'_>,
    coordinates: String,
    event_id: EventId,
    now: DateTime<Utc>,
) -> Envelope<DeadLetter> {
    let dead_letter = DeadLetter {
        original_topic: poison.topic.name().to_owned(),
        consumer_group: poison.group.to_owned(),
        key: poison.key.to_owned(),
        payload: String::from_utf8_lossy(poison.payload).into_owned(),
        error: poison.error.to_owned(),
        attempts: poison.attempts,
        coordinates,
    };
    Envelope::new(event_id, project_of(poison.payload), now, dead_letter)
}

/// The deterministic event id of the dead letter for one delivery.
fn dead_letter_event_id(incarnation: Uuid, topic: Topic, group: &str, offset: u64) -> EventId {
    let name = format!("{incarnation}/{topic}/{group}/{offset}");
    EventId(Uuid::new_v5(&DEAD_LETTER_NAMESPACE, name.as_bytes()))
}

/// The `project_id` of a JSON payload, or `unknown` when the payload is not JSON or names no valid project.
fn project_of(payload: &[u8]) -> ProjectId {
    serde_json::from_slice::<serde_json::Value>(payload)
        .ok()
        .and_then(|value| value.get("project_id")?.as_str().map(str::to_owned))
        .and_then(|raw| ProjectId::parse(raw).ok())
        .unwrap_or_else(unknown_project)
}

fn unknown_project() -> ProjectId {
    // A constant, not outside input: the unit tests prove it parses.
    ProjectId::parse(UNKNOWN_PROJECT).expect("\"unknown\" is a valid project id")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn poison(payload: &[u8]) -> PoisonMessage<'_> {
        PoisonMessage {
            topic: Topic::TestFailed,
            group: "correlator",
            offset: 41,
            key: "shop",
            payload,
            attempts: 5,
            error: "decoding failed: missing field `test`",
        }
    }

    #[test]
    fn dead_letter_carries_the_original_message_and_its_history() {
        let now = Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).single().expect("valid time");
        let envelope =
            dead_letter_envelope(poison(br#"{"project_id":"shop","x":1}"#), Uuid::from_u128(1), now);

        assert_eq!(envelope.project_id.as_str(), "shop");
        assert_eq!(envelope.occurred_at, now);
        assert_eq!(envelope.partition_key(), "shop");
        let letter = &envelope.payload;
        assert_eq!(letter.original_topic, "argus.test.failed");
        assert_eq!(letter.consumer_group, "correlator");
        assert_eq!(letter.key, "shop");
        assert_eq!(letter.payload, r#"{"project_id":"shop","x":1}"#);
        assert_eq!(letter.error, "decoding failed: missing field `test`");
        assert_eq!(letter.attempts, 5);
        assert_eq!(letter.coordinates, "41");
    }

    #[test]
    fn payloads_without_a_valid_project_are_filed_under_unknown() {
        for payload in [&b"not json"[..], br#"{"project_id":"Not Valid"}"#, br#"{"other":1}"#, b"\xff\xfe"] {
            assert_eq!(project_of(payload).as_str(), "unknown", "payload {payload:?}");
        }
    }

    #[test]
    fn non_utf8_payloads_are_kept_lossily() {
        let envelope = dead_letter_envelope(poison(b"ok\xffok"), Uuid::from_u128(1), Utc::now());
        assert_eq!(envelope.payload.payload, "ok\u{fffd}ok");
    }

    #[test]
    fn dead_letter_ids_are_stable_per_delivery_and_distinct_across_deliveries_and_buses() {
        let bus = Uuid::from_u128(1);
        let id = dead_letter_event_id(bus, Topic::TestFailed, "correlator", 41);
        assert_eq!(id, dead_letter_event_id(bus, Topic::TestFailed, "correlator", 41));
        assert_ne!(id, dead_letter_event_id(bus, Topic::TestFailed, "correlator", 42));
        assert_ne!(id, dead_letter_event_id(bus, Topic::TestFailed, "healer", 41));
        assert_ne!(id, dead_letter_event_id(bus, Topic::TestExecuted, "correlator", 41));
        assert_ne!(id, dead_letter_event_id(Uuid::from_u128(2), Topic::TestFailed, "correlator", 41));
    }

    #[cfg(feature = "kafka")]
    fn kafka_poison(partition_offset: (i32, i64)) -> KafkaPoisonMessage<'static> {
        KafkaPoisonMessage {
            message: poison(br#"{"project_id":"shop"}"#),
            wire_topic: "staging.argus.test.failed",
            partition_offset,
        }
    }

    #[cfg(feature = "kafka")]
    #[test]
    fn kafka_dead_letters_carry_partition_and_offset_and_the_vocabulary_topic_name() {
        let envelope = kafka_dead_letter_envelope(kafka_poison((7, 41)), Utc::now());
        assert_eq!(envelope.payload.coordinates, "7/41");
        assert_eq!(envelope.payload.original_topic, "argus.test.failed");
        assert_eq!(envelope.project_id.as_str(), "shop");
        assert_eq!(envelope.partition_key(), "shop", "a dead letter keeps the original key");
    }

    #[cfg(feature = "kafka")]
    #[test]
    fn kafka_dead_letter_ids_are_stable_per_coordinates() {
        let id = |partition_offset| {
            kafka_dead_letter_envelope(kafka_poison(partition_offset), Utc::now()).event_id
        };
        assert_eq!(id((7, 41)), id((7, 41)));
        assert_ne!(id((7, 41)), id((7, 42)));
        assert_ne!(id((7, 41)), id((6, 41)));
    }
}
