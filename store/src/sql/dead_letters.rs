//! Dead letters: the binds of their insert, and the row and its conversion.

use super::{Statement, StoredTime, values::decode_uuid};
use crate::{StoreError, StoredDeadLetter};
use argus_vocabulary::{DeadLetter, EventId, envelope::Envelope};
use sqlx::{Database, Encode, Type};

/// Binds `event_id`, `project_id`, `original_topic`, `consumer_group`, `message_key`, `payload`, `error`,
/// `attempts`, `coordinates` ($1–$9) of a dead-letter insert; the caller binds `occurred_at` and
/// `recorded_at` ($10, $11).
pub(crate) fn bind_dead_letter<'q, DB: Database>(
    statement: Statement<'q, DB>,
    envelope: &'q Envelope<DeadLetter>,
) -> Statement<'q, DB>
where
    String: Encode<'q, DB> + Type<DB>,
    &'q str: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
{
    let letter = &envelope.payload;
    statement
        .bind(envelope.event_id.to_string())
        .bind(envelope.project_id.as_str())
        .bind(letter.original_topic.as_str())
        .bind(letter.consumer_group.as_str())
        .bind(letter.key.as_str())
        .bind(letter.payload.as_str())
        .bind(letter.error.as_str())
        .bind(i64::from(letter.attempts))
        .bind(letter.coordinates.as_str())
}

/// One dead letter as both databases return it (`Time`: the adapter's timestamp column; the event id is
/// text in SQLite and a `uuid` Postgres selects as text).
#[derive(sqlx::FromRow)]
pub(crate) struct DeadLetterRow<Time> {
    event_id: String,
    original_topic: String,
    consumer_group: String,
    message_key: String,
    payload: String,
    error: String,
    attempts: i64,
    coordinates: String,
    occurred_at: Time,
}

impl<Time: StoredTime> TryFrom<DeadLetterRow<Time>> for StoredDeadLetter {
    type Error = StoreError;

    fn try_from(row: DeadLetterRow<Time>) -> Result<Self, Self::Error> {
        let event_id = EventId(decode_uuid("dead_letters.event_id", &row.event_id)?);
        let attempts = u32::try_from(row.attempts)
            .map_err(|_| StoreError::Corrupt(format!("dead_letters.attempts: {}", row.attempts)))?;
        Ok(StoredDeadLetter {
            event_id,
            dead_letter: DeadLetter {
                original_topic: row.original_topic,
                consumer_group: row.consumer_group,
                key: row.message_key,
                payload: row.payload,
                error: row.error,
                attempts,
                coordinates: row.coordinates,
            },
            occurred_at: row.occurred_at.into_utc("dead_letters.occurred_at")?,
        })
    }
}
