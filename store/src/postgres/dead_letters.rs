//! Dead letters: what the pipeline gave up on, kept per project.

use super::{
    begin_read, database_error,
    encoding::{decode_count, decode_uuid, page_binds},
};
use crate::{Page, PageRequest, StoreError, StoredDeadLetter};
use argus_vocabulary::{DeadLetter, EventId, ProjectId, envelope::Envelope};
use chrono::{DateTime, Utc};
use sqlx::PgPool;

const INSERT_DEAD_LETTER: &str = "
    INSERT INTO dead_letters (
        event_id, project_id, original_topic, consumer_group, message_key, payload, error, attempts,
        coordinates, occurred_at, recorded_at
    ) VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
    ON CONFLICT (event_id) DO NOTHING";

const SELECT_DEAD_LETTERS: &str = "
    SELECT event_id::text AS event_id, original_topic, consumer_group, message_key, payload, error,
           attempts, coordinates, occurred_at
      FROM dead_letters WHERE project_id = $1
     ORDER BY occurred_at DESC, event_id LIMIT $2 OFFSET $3";

/// One dead letter as stored.
#[derive(sqlx::FromRow)]
struct DeadLetterRow {
    event_id: String,
    original_topic: String,
    consumer_group: String,
    message_key: String,
    payload: String,
    error: String,
    attempts: i64,
    coordinates: String,
    occurred_at: DateTime<Utc>,
}

impl TryFrom<DeadLetterRow> for StoredDeadLetter {
    type Error = StoreError;

    fn try_from(row: DeadLetterRow) -> Result<Self, Self::Error> {
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
            occurred_at: row.occurred_at,
        })
    }
}

pub(super) async fn record_dead_letter(
    pool: &PgPool,
    envelope: &Envelope<DeadLetter>,
) -> Result<bool, StoreError> {
    let letter = &envelope.payload;
    let inserted = sqlx::query(INSERT_DEAD_LETTER)
        .bind(envelope.event_id.to_string())
        .bind(envelope.project_id.as_str())
        .bind(&letter.original_topic)
        .bind(&letter.consumer_group)
        .bind(&letter.key)
        .bind(&letter.payload)
        .bind(&letter.error)
        .bind(i64::from(letter.attempts))
        .bind(&letter.coordinates)
        .bind(envelope.occurred_at)
        .bind(Utc::now())
        .execute(pool)
        .await
        .map_err(database_error("insert dead letter"))?
        .rows_affected();
    Ok(inserted == 1)
}

pub(super) async fn dead_letters(
    pool: &PgPool,
    project: &ProjectId,
    page: PageRequest,
) -> Result<Page<StoredDeadLetter>, StoreError> {
    let (limit, offset) = page_binds(page);
    let mut read = begin_read(pool).await?;
    let rows: Vec<DeadLetterRow> = sqlx::query_as(SELECT_DEAD_LETTERS)
        .bind(project.as_str())
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *read)
        .await
        .map_err(database_error("select dead letters"))?;
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dead_letters WHERE project_id = $1")
        .bind(project.as_str())
        .fetch_one(&mut *read)
        .await
        .map_err(database_error("count dead letters"))?;
    read.commit().await.map_err(database_error("end read transaction"))?;
    Ok(Page {
        items: rows.into_iter().map(StoredDeadLetter::try_from).collect::<Result<_, _>>()?,
        total: decode_count("dead letter total", total)?,
    })
}
